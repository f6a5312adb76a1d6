/* fuzz_resume.c: libFuzzer target for resuming a run from a checkpoint whose
 * metadata an attacker edited and re-checksummed (the checksum is not a
 * signature). The input is up to four NUL-separated JSON texts that replace the
 * metadata "config", "vocab", "train_options" and "train_state" of a real
 * checkpoint of a tiny run (an empty part keeps the original); the result is
 * resumed on the run's own corpus and trained for two steps. Every outcome must
 * be a clean refusal with a message, or a run that works. */
#include "charrnn.h"
#include "checkpoint.h"
#include "../tests/ckpt_edit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char text[4096];
static size_t text_len;
static char base[64], path[64], out[64];

static void make_base(void) {
    for (int i = 0; text_len + 40 < sizeof text; i++)
        text_len += (size_t)snprintf(text + text_len, sizeof text - text_len, "the %s sat on the mat %d.\n",
                                     i % 3 ? "cat" : "dog", i % 7);
    snprintf(base, sizeof base, "/tmp/charrnn-fuzz-resume-base.%ld", (long)getpid());
    snprintf(path, sizeof path, "/tmp/charrnn-fuzz-resume.%ld", (long)getpid());
    snprintf(out, sizeof out, "/tmp/charrnn-fuzz-resume-out.%ld", (long)getpid());
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.num_layers = 1;
    mc.rnn_size = 8;
    o.batch_size = 2;
    o.seq_length = 4;
    o.max_iters = 100;
    charrnn_trainer *t;
    charrnn_error err;
    if (charrnn_trainer_open(&t, NULL, text, text_len, &mc, &o, &err)) abort();
    for (int i = 0; i < 3; i++) charrnn_trainer_step(t, NULL, &err);
    double v;
    charrnn_trainer_validate(t, NULL, NULL, &v, &err);
    if (charrnn_trainer_save(t, base, &err)) abort();
    charrnn_trainer_close(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!base[0]) make_base();
    static const char *const keys[4] = {"config", "vocab", "train_options", "train_state"};
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *ks[4], *vs[4];
    int n = 0;
    char *p = buf;
    for (int k = 0; k < 4 && p <= buf + size; k++) {
        size_t len = strlen(p);
        if (len) { ks[n] = keys[k]; vs[n] = p; n++; }
        p += len + 1;
    }
    charrnn_error err = {0};
    if (checkpoint_rewrite(base, path, n, ks, vs, NULL, NULL, &err) == 0) {
        charrnn_trainer *t = NULL;
        err.msg[0] = 0;
        if (charrnn_trainer_resume(&t, path, NULL, text, text_len, NULL, &err) == 0) {
            charrnn_step_stats st;
            for (int i = 0; i < 2 && !charrnn_trainer_done(t); i++) charrnn_trainer_step(t, &st, &err);
            double v;
            charrnn_trainer_validate(t, NULL, NULL, &v, &err);
            charrnn_trainer_save(t, out, &err);
            charrnn_trainer_close(t);
        } else if (!err.msg[0]) {
            abort(); /* a refusal must say why */
        }
    }
    free(buf);
    return 0;
}

/* With CHARRNN_FUZZ_WRITE_SEED=FILE set, the first call writes the base
 * checkpoint's own metadata as an input (the seed the fuzzer starts from). */
__attribute__((constructor)) static void write_seed(void) {
    const char *seed = getenv("CHARRNN_FUZZ_WRITE_SEED");
    if (!seed) return;
    make_base();
    charrnn_model *m;
    charrnn_error err;
    if (charrnn_model_load(&m, base, &err)) abort();
    FILE *f = fopen(seed, "wb");
    const char *keys[4] = {"config", "vocab", "train_options", "train_state"};
    for (int k = 0; k < 4; k++) {
        const char *v = charrnn_model_metadata(m, keys[k]);
        fwrite(v, 1, strlen(v), f);
        if (k < 3) fputc(0, f);
    }
    fclose(f);
    charrnn_model_close(m);
    exit(0);
}
