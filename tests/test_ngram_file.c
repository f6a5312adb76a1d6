/* test_ngram_file.c: the n-gram baseline's files (src/baseline/ngram_file.c): a saved model loads
 * back the same, and damaged, truncated or edited files are refused, naming what is wrong. */
#include "test.h"
#include "charrnn.h"
#include "safetensors.h"
#include "test_ngram.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- files ---------------------------------------------------------------------------- */

static void test_save_load_roundtrip(void) {
    char *text = ngram_make_text(3000);
    for (int u = 0; u < 2; u++) {
        charrnn_unit unit = u ? CHARRNN_UNIT_BYTE : CHARRNN_UNIT_CODEPOINT;
        charrnn_ngram *g = ngram_build(text, 4, unit, 0.8, 0.1), *h = NULL;
        if (!g) continue;
        const char *path = t_path(u ? "rt_byte.safetensors" : "rt_cp.safetensors");
        charrnn_error err = {0};
        CHECKF(charrnn_ngram_save(g, path, &err) == 0, "%s", err.msg);
        CHECKF(charrnn_ngram_load(&h, path, &err) == 0, "%s", err.msg);
        if (!h) { charrnn_ngram_close(g); continue; }
        charrnn_ngram_info a, b;
        charrnn_ngram_get_info(g, &a);
        charrnn_ngram_get_info(h, &b);
        CHECK(a.order == b.order && a.unit == b.unit && a.vocab_size == b.vocab_size && a.num_ngrams == b.num_ngrams);
        CHECK(a.corpus_chars == b.corpus_chars && a.train_chars == b.train_chars && a.val_chars == b.val_chars &&
              a.test_chars == b.test_chars && a.train_frac == b.train_frac && a.val_frac == b.val_frac);
        CHECK(a.has_corpus && !b.has_corpus);
        for (int k = 1; k <= a.order; k++) {
            double d1[3], d2[3];
            CHECK(charrnn_ngram_order_info(g, k, d1) == charrnn_ngram_order_info(h, k, d2));
            CHECK(!memcmp(d1, d2, sizeof d1));
        }
        for (int i = 0; i < a.vocab_size; i++) CHECK(charrnn_ngram_vocab(g, i) == charrnn_ngram_vocab(h, i));
        size_t n;
        int *ids = ngram_ids_of(g, text, unit, &n);
        double *p = malloc(sizeof *p * (size_t)a.vocab_size), *q = malloc(sizeof *q * (size_t)a.vocab_size);
        int same = 1;
        for (size_t t = 0; t < n; t += 7) {
            charrnn_ngram_probs(g, ids, t, p, &err);
            charrnn_ngram_probs(h, ids, t, q, &err);
            same &= !memcmp(p, q, sizeof *p * (size_t)a.vocab_size);
        }
        CHECK(same);
        /* the val block scored by the handle that counted it, and by the file, as a text */
        charrnn_eval_result r1, r2;
        CHECK(charrnn_ngram_evaluate_block(g, CHARRNN_BLOCK_VAL, NULL, NULL, &r1, &err) == 0);
        CHECK(charrnn_ngram_evaluate_block(h, CHARRNN_BLOCK_VAL, NULL, NULL, &r2, &err) == CHARRNN_EINVAL);
        size_t off = 0, k = 0; /* the bytes of the val block: its first character is the train_chars-th */
        while (k < a.train_chars) {
            uint32_t c;
            off += unit == CHARRNN_UNIT_BYTE ? 1 : (size_t)utf8_decode((const unsigned char *)text + off, strlen(text) - off, &c);
            k++;
        }
        size_t end = off;
        for (k = 0; k < a.val_chars; k++) {
            uint32_t c;
            end += unit == CHARRNN_UNIT_BYTE ? 1 : (size_t)utf8_decode((const unsigned char *)text + end, strlen(text) - end, &c);
        }
        CHECK(charrnn_ngram_evaluate(h, text + off, end - off, "val", 0, NULL, NULL, &r2, &err) == 0);
        CHECKF(r1.nats == r2.nats && r1.predicted == r2.predicted, "val block %.17g over %ld, as a text %.17g over %ld",
               r1.nats, r1.predicted, r2.nats, r2.predicted);
        /* the network loader and the n-gram loader tell each other's files apart */
        charrnn_model *m = NULL;
        CHECK(charrnn_model_load(&m, path, &err) == CHARRNN_EMISMATCH && strstr(err.msg, "n-gram model"));
        charrnn_model_config mc;
        charrnn_train_options o;
        charrnn_model_config_default(&mc);
        charrnn_train_options_default(&o);
        mc.num_layers = 1;
        mc.rnn_size = 8;
        o.batch_size = 2;
        o.seq_length = 8;
        o.unit = unit;
        charrnn_trainer *tr = NULL;
        const char *net = t_path("net.safetensors");
        CHECKF(charrnn_trainer_open(&tr, NULL, text, strlen(text), &mc, &o, &err) == 0 &&
               charrnn_trainer_save(tr, net, &err) == 0, "%s", err.msg);
        charrnn_trainer_close(tr);
        charrnn_ngram *x = NULL;
        CHECK(charrnn_ngram_load(&x, net, &err) == CHARRNN_EMISMATCH && strstr(err.msg, "network checkpoint"));
        free(p);
        free(q);
        free(ids);
        charrnn_ngram_close(g);
        charrnn_ngram_close(h);
    }
    free(text);
}

static unsigned char *slurp(const char *path, size_t *len) {
    return (unsigned char *)t_read_file(path, len);
}

/* One refusal: an error code other than OK, and a one-line message naming the file. */
static int refused(const char *path, const char *why) {
    charrnn_ngram *g = NULL;
    charrnn_error err = {0};
    int rc = charrnn_ngram_load(&g, path, &err);
    int ok = rc != CHARRNN_OK && !g && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, path);
    if (!ok) fprintf(stderr, "    (%s: rc %d, message: %s)\n", why, rc, err.msg);
    charrnn_ngram_close(g);
    return ok;
}

/* Rewrites src with one tensor edited (tensor NULL: none) and, when field is
 * given, that field of the "corpus" metadata set to the JSON text repl, with a
 * checksum that matches: what someone who edits the file on purpose can do. */
static void write_edited_meta(const char *src, const char *dst, const char *tensor, size_t at, int32_t value,
                              const char *field, const char *repl) {
    char msg[600];
    st_file *f = st_open(src, msg, sizeof msg);
    if (!CHECKF(f, "%s", msg)) return;
    int nm = st_num_meta(f), nt = st_num_tensors(f);
    st_meta meta[16];
    st_tensor ts[8];
    unsigned char *copy[8] = {0};
    char *corp = strdup(st_get_meta(f, "corpus"));
    if (field) { /* "field":VALUE -> "field":repl */
        char *key = t_fmt("\"%s\":", field), *at_key = strstr(corp, key);
        if (CHECKF(at_key, "no field %s in %s", field, corp)) {
            char *v = at_key + strlen(key), *end = v + strcspn(v, ",}");
            char *edited = t_fmt("%.*s%s%s", (int)(v - corp), corp, repl, end);
            free(corp);
            corp = edited;
        }
        free(key);
    }
    uint64_t h = 14695981039346656037ULL;
    const char *keys[] = {"format", "format_version", "config", "vocab", "corpus"};
    for (int i = 0; i < 5; i++)
        for (const unsigned char *p = (const unsigned char *)(i == 4 ? corp : st_get_meta(f, keys[i])); p && *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
    for (int i = 0; i < nt && i < 8; i++) {
        ts[i] = *st_tensor_at(f, i);
        if (tensor && !strcmp(ts[i].name, tensor)) {
            copy[i] = malloc(ts[i].nbytes);
            memcpy(copy[i], ts[i].data, ts[i].nbytes);
            size_t es = st_dtype_size(ts[i].dtype);
            if (es == 1) copy[i][at] = (unsigned char)value;
            else memcpy(copy[i] + at * es, &value, 4);
            ts[i].data = copy[i];
        }
        for (size_t b = 0; b < ts[i].nbytes; b++) h = (h ^ ((const unsigned char *)ts[i].data)[b]) * 1099511628211ULL;
    }
    char sum[40];
    snprintf(sum, sizeof sum, "fnv1a64:%016" PRIx64, h);
    int k = 0;
    for (int i = 0; i < nm && k < 15; i++) {
        const st_meta *e = st_meta_at(f, i);
        if (!strcmp(e->key, "corpus")) meta[k++] = (st_meta){"corpus", corp};
        else if (strcmp(e->key, "checksum")) meta[k++] = *e;
    }
    meta[k++] = (st_meta){"checksum", sum};
    CHECKF(st_write(dst, meta, k, ts, nt, msg, sizeof msg) == 0, "%s", msg);
    for (int i = 0; i < 8; i++) free(copy[i]);
    free(corp);
    st_close(f);
}

static void write_edited(const char *src, const char *dst, const char *tensor, size_t at, int32_t value) {
    write_edited_meta(src, dst, tensor, at, value, NULL, NULL);
}

/* Refused, as damaged, with a message naming what is wrong. */
static int refused_naming(const char *path, const char *needle) {
    charrnn_ngram *g = NULL;
    charrnn_error err = {0};
    int rc = charrnn_ngram_load(&g, path, &err);
    int ok = rc == CHARRNN_EFORMAT && !g && strstr(err.msg, path) && strstr(err.msg, needle) && strstr(err.msg, "damaged");
    if (!ok) fprintf(stderr, "    (expected a refusal naming %s: rc %d, message: %s)\n", needle, rc, err.msg);
    charrnn_ngram_close(g);
    return ok;
}

static void test_damaged_files_refused(void) {
    charrnn_ngram *g = ngram_build("the cat sat on the mat. the cat ran. a dog sat on a cat.\n", 3, CHARRNN_UNIT_CODEPOINT, 0.9, 0.1);
    if (!g) return;
    const char *path = t_path("small.safetensors"), *bad = t_path("bad.safetensors");
    charrnn_error err = {0};
    CHECK(charrnn_ngram_save(g, path, &err) == 0);
    charrnn_ngram_info in;
    charrnn_ngram_get_info(g, &in);
    charrnn_ngram_close(g);
    size_t len;
    unsigned char *file = slurp(path, &len);
    if (!CHECK(file && len > 100)) return;
    int truncs = 0, flips = 0;
    for (size_t cut = 0; cut < len; cut += 3) {
        t_write_file(bad, file, cut);
        truncs += refused(bad, "truncated");
    }
    CHECKF(truncs == (int)((len + 2) / 3), "%d of %zu truncations refused", truncs, (len + 2) / 3);
    for (size_t at = 0; at < len; at++) {
        file[at] ^= 0x04;
        t_write_file(bad, file, len);
        flips += refused(bad, "a flipped bit");
        file[at] ^= 0x04;
    }
    CHECKF(flips == (int)len, "%d of %zu single-bit flips refused", flips, len);
    free(file);
    /* edited with a checksum to match: the table itself is checked */
    write_edited(path, bad, "ngram.counts", 0, 0);
    CHECK(refused(bad, "a count of 0"));
    write_edited(path, bad, "ngram.symbols", 1, 0);
    CHECK(refused(bad, "children out of order"));
    write_edited(path, bad, "ngram.symbols", 0, in.vocab_size);
    CHECK(refused(bad, "a character outside the vocabulary"));
    write_edited(path, bad, "ngram.children", 0, in.vocab_size + 1);
    CHECK(refused(bad, "too many children"));
    write_edited(path, bad, "ngram.children", 1, 0);
    CHECK(refused(bad, "children that do not add up"));
    write_edited(path, bad, "ngram.counts", 3, -5);
    CHECK(refused(bad, "a negative count"));
    write_edited(path, bad, "ngram.level_sizes", 0, 2);
    CHECK(refused(bad, "no root"));
    /* an unedited rewrite loads: the edits below are what is refused */
    write_edited(path, bad, NULL, 0, 0);
    charrnn_ngram *h = NULL;
    CHECKF(charrnn_ngram_load(&h, bad, &err) == 0, "an unedited rewrite: %s", err.msg);
    charrnn_ngram_close(h);
    /* every count is the one the table implies: raising or lowering any one by one is refused */
    size_t nodes = 0;
    char msg[600];
    st_file *f = st_open(path, msg, sizeof msg);
    const st_tensor *ct = f ? st_find(f, "ngram.counts") : NULL;
    nodes = ct ? ct->nbytes / 4 : 0;
    int32_t *counts = nodes ? malloc(ct->nbytes) : NULL;
    if (counts) memcpy(counts, ct->data, ct->nbytes);
    if (f) st_close(f);
    int edits = 0, refusals = 0;
    for (size_t i = 0; i < nodes; i++)
        for (int delta = -1; delta <= 1; delta += 2) {
            if (counts[i] + delta < 1) continue; /* a count below 1 is refused above */
            write_edited(path, bad, "ngram.counts", i, counts[i] + delta);
            edits++;
            refusals += refused_naming(bad, "ngram.counts");
        }
    CHECKF(edits > 20 && refusals == edits, "%d of %d count edits refused", refusals, edits);
    free(counts);
    /* the corpus description: each field what a build could write, named when it is not */
    static const struct { const char *field, *value; } fields[] = {
        {"train_frac", "-5"}, {"train_frac", "0"}, {"train_frac", "1.5"}, {"train_frac", "0.5"}, {"train_frac", "\"x\""},
        {"val_frac", "-0.1"}, {"val_frac", "1"}, {"val_frac", "0.3"}, {"val_frac", "0.2"},
        {"checksum", "\"zz00000000000000\""}, {"checksum", "\"123\""}, {"checksum", "\"0123456789abcdef0\""},
        {"checksum", "7"}, {"chars", "0"}, {"chars", "-3"}, {"chars", "99999999"},
        {"train_chars", "1"}, {"val_chars", "0"}, {"test_chars", "1000"},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        write_edited_meta(path, bad, NULL, 0, 0, fields[k].field, fields[k].value);
        char needle[64];
        snprintf(needle, sizeof needle, "\"%s\"", fields[k].field);
        int named = refused_naming(bad, needle) || refused_naming(bad, "_chars\""); /* a fraction edit shows in the blocks */
        CHECKF(named, "corpus field %s = %s was not refused naming it", fields[k].field, fields[k].value);
    }
}

/* A key twice (here "format" in the metadata, which a reader that takes the
 * first and one that takes the last would read differently) is refused, as in
 * a checkpoint: both are read by the same JSON parser. */
static void test_duplicate_keys_refused(void) {
    charrnn_ngram *g = ngram_build("the cat sat on the mat.\n", 2, CHARRNN_UNIT_CODEPOINT, 0.9, 0.1);
    if (!g) return;
    const char *path = t_path("dup.safetensors"), *bad = t_path("dup_bad.safetensors");
    charrnn_error err = {0};
    CHECK(charrnn_ngram_save(g, path, &err) == 0);
    charrnn_ngram_close(g);
    size_t len;
    unsigned char *file = slurp(path, &len);
    static const char head[] = "{\"__metadata__\":{", extra[] = "\"format\":\"charrnn-ngram\",";
    const size_t hn = sizeof head - 1;
    if (!CHECK(file && len > 8 + hn && memcmp(file + 8, head, hn) == 0)) { free(file); return; }
    size_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | file[i];
    char *header = t_fmt("%s%s%.*s", head, extra, (int)(hl - hn), (const char *)file + 8 + hn);
    t_write_safetensors(bad, header, file + 8 + hl, len - 8 - hl);
    charrnn_ngram *h = NULL;
    CHECKF(charrnn_ngram_load(&h, bad, &err) != 0 && strstr(err.msg, "duplicate key \"format\"") && strstr(err.msg, bad),
           "%s", err.msg);
    charrnn_ngram_close(h);
    free(header);
    free(file);
}

void register_ngram_file_tests(void) {
    t_register("ngram_save_load_roundtrip", test_save_load_roundtrip);
    t_register("ngram_damaged_files_refused", test_damaged_files_refused);
    t_register("ngram_duplicate_keys_refused", test_duplicate_keys_refused);
}
