/* fuzz_ngram.c: libFuzzer target for the n-gram model loader. An input whose
 * first byte is odd is the whole file, as `charrnn eval` would open it; an even
 * one is a list of edits to the tensors of a real n-gram model of a tiny
 * corpus, re-checksummed afterwards (the checksum is not a signature): records
 * of 9 bytes, a tensor (1 byte), a byte offset (4) and a 32-bit value (4)
 * written there. A loaded model is then evaluated and sampled. Every outcome
 * must be a clean refusal with a message, or a model that works. */
#include "charrnn.h"
#include "safetensors.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char text[2048];
static size_t text_len;
static char base[64], path[64];

static void make_base(void) {
    for (int i = 0; text_len + 40 < sizeof text; i++)
        text_len += (size_t)snprintf(text + text_len, sizeof text - text_len, "the %s sat on the mat %d.\n",
                                     i % 3 ? "cat" : "dog", i % 7);
    snprintf(base, sizeof base, "/tmp/charrnn-fuzz-ngram-base.%ld", (long)getpid());
    snprintf(path, sizeof path, "/tmp/charrnn-fuzz-ngram.%ld", (long)getpid());
    charrnn_ngram_options o;
    charrnn_ngram_options_default(&o);
    o.order = 3;
    charrnn_ngram *g;
    charrnn_error err;
    if (charrnn_ngram_build(&g, NULL, text, text_len, &o, NULL, NULL, &err) || charrnn_ngram_save(g, base, &err)) abort();
    charrnn_ngram_close(g);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

/* The base model with the edits applied, re-checksummed, written to path. */
static int write_edited(const uint8_t *data, size_t size) {
    char msg[600];
    st_file *f = st_open(base, msg, sizeof msg);
    if (!f) abort();
    int nt = st_num_tensors(f), nm = st_num_meta(f);
    if (nt > 8 || nm > 16) abort();
    st_tensor ts[8];
    unsigned char *copy[8] = {0};
    for (int i = 0; i < nt; i++) {
        ts[i] = *st_tensor_at(f, i);
        copy[i] = malloc(ts[i].nbytes ? ts[i].nbytes : 1);
        memcpy(copy[i], ts[i].data, ts[i].nbytes);
        ts[i].data = copy[i];
    }
    for (size_t r = 1; r + 9 <= size; r += 9) {
        int t = data[r] % nt;
        uint32_t off, val;
        memcpy(&off, data + r + 1, 4);
        memcpy(&val, data + r + 5, 4);
        if (!ts[t].nbytes) continue;
        off %= (uint32_t)ts[t].nbytes;
        size_t n = ts[t].nbytes - off < 4 ? ts[t].nbytes - off : 4;
        memcpy(copy[t] + off, &val, n);
    }
    const char *keys[] = {"format", "format_version", "config", "vocab", "corpus"};
    uint64_t h = 14695981039346656037ULL;
    for (int i = 0; i < 5; i++) {
        const char *v = st_get_meta(f, keys[i]);
        if (v) h = fnv(h, v, strlen(v));
    }
    for (int i = 0; i < nt; i++) h = fnv(h, ts[i].data, ts[i].nbytes);
    char sum[40];
    snprintf(sum, sizeof sum, "fnv1a64:%016" PRIx64, h);
    st_meta meta[16];
    int k = 0;
    for (int i = 0; i < nm; i++)
        if (strcmp(st_meta_at(f, i)->key, "checksum")) meta[k++] = *st_meta_at(f, i);
    meta[k++] = (st_meta){"checksum", sum};
    int rc = st_write(path, meta, k, ts, nt, msg, sizeof msg);
    for (int i = 0; i < nt; i++) free(copy[i]);
    st_close(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!base[0]) make_base();
    if (size && (data[0] & 1)) {
        FILE *f = fopen(path, "wb");
        if (!f) return 0;
        fwrite(data + 1, 1, size - 1, f);
        fclose(f);
    } else if (write_edited(data, size)) {
        return 0;
    }
    charrnn_ngram *g = NULL;
    charrnn_error err;
    err.msg[0] = 0;
    if (charrnn_ngram_load(&g, path, &err) == 0) {
        charrnn_eval_result r;
        charrnn_ngram_evaluate(g, text, 200, "text", 0, NULL, NULL, &r, &err);
        charrnn_ngram_sampler *s = NULL;
        if (charrnn_ngram_sampler_open(&s, g, 1, &err) == 0) {
            uint32_t out;
            for (int i = 0; i < 8; i++) charrnn_ngram_sampler_next(s, 1.0f, &out, &err);
            charrnn_ngram_sampler_close(s);
        }
        charrnn_ngram_close(g);
    } else if (!err.msg[0]) {
        abort(); /* a refusal must say why */
    }
    return 0;
}
