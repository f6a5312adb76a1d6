/* test_hard_limits.c: break-it findings about numbers and limits (test_hardening.c has the others):
 * sizes from the command line and from files are overflow-checked and nothing is sized from --length;
 * a network's size has one limit; a corpus that changes while it is read gives a message; a model whose
 * numbers overflow is an error, never a result; output errors (a full disk, a closed pipe) are
 * reported. Run under ASan + UBSan by test.sh. */
#include "test.h"
#include "cells.h"
#include "checkpoint.h"
#include "ckpt_edit.h"
#include "common.h"
#include "data.h"
#include "defaults.h"
#include "json.h"
#include "safetensors.h"
#include "test_hardening.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- sizes: nothing sized from --length, every product checked, one limit on a network's size --- */

static void test_sample_huge_length(void) {
    /* 2 samples of 2^62 characters: the sample streams (bounded memory); head ends it */
    char *cmd = t_fmt("(%s sample '%s' --num-samples 2 --length 4611686018427387904 --verbose 0 2>'%s'; echo $? >'%s') "
                      "| head -c 3000 >/dev/null", t_bin(), hmodel(), t_path("huge.err"), t_path("huge.rc"));
    char *out, *err;
    t_run(cmd, &out, &err);
    char *e = t_read_file(t_path("huge.err"), NULL), *r = t_read_file(t_path("huge.rc"), NULL);
    int rc = r ? atoi(r) : -1;
    CHECKF(e && !strstr(e, "Sanitizer") && !strstr(e, "runtime error") && (rc == 141 || rc == 1),
           "sample --length 2^62 --num-samples 2 ended with %d: %s", rc, e ? e : "");
    free(cmd); free(out); free(err); free(e); free(r);
    /* and the same with one sample, and with many */
    cmd = t_fmt("(%s sample '%s' --num-samples 3000 --length 9223372036854775807 --verbose 0 2>'%s'; echo $? >'%s') "
                "| head -c 3000 >/dev/null", t_bin(), hmodel(), t_path("huge.err"), t_path("huge.rc"));
    t_run(cmd, &out, &err);
    e = t_read_file(t_path("huge.err"), NULL);
    CHECKF(e && !strstr(e, "Sanitizer") && !strstr(e, "runtime error"), "3000 samples of LONG_MAX: %s", e ? e : "");
    free(cmd); free(out); free(err); free(e);
}

static void test_checked_allocation(void) {
    size_t out = 7;
    CHECK(cr_mul(SIZE_MAX / 2 + 1, 2, &out) == -1 && out == 7);
    CHECK(cr_mul(1u << 20, 1u << 20, &out) == 0 && out == (size_t)1 << 40);
    CHECK(cr_malloc(SIZE_MAX / 4 + 1, 8) == NULL);
    CHECK(cr_calloc(SIZE_MAX / 2 + 1, 4) == NULL);
    void *p = malloc(16);
    CHECK(cr_realloc(p, SIZE_MAX / 2 + 1, 4) == NULL); /* refused: p stays valid */
    void *q = cr_realloc(p, 0, 4);                     /* never realloc(p, 0), which would free p */
    CHECK(q != NULL);
    free(q);
}

/* The hidden-size limit is one (MAX_RNN_SIZE, defaults.h) wherever a size comes
 * in: training's option, a checkpoint's config, charrnn_model_new and compress's
 * fresh model refuse one unit more, and each message says the limit. */
static void test_rnn_size_one_limit(void) {
    const int over = MAX_RNN_SIZE + 1;
    const char *limit = "1 to " LIMIT_STR(MAX_RNN_SIZE);
    char *err, what[64];
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size %d --max-iters 1 --checkpoint-dir '%s'", hcorpus(), over,
                   t_path("limit_cv"));
    EXPECT_FAIL("train --rnn-size over the limit", rc, err, limit);
    free(err);
    char dst[600], value[32];
    snprintf(dst, sizeof dst, "%s", t_path("limit.safetensors"));
    snprintf(value, sizeof value, "%d", over);
    if (CHECK(hard_edit_checkpoint(hmodel(), dst, "config", "rnn_size", value) == 0)) {
        rc = t_cli(NULL, &err, "info '%s'", dst);
        EXPECT_FAIL("a checkpoint's config.rnn_size over the limit", rc, err, limit);
        CHECKF(strstr(err, "rnn_size") && strstr(err, dst), "the message names the field and the file: %s", err);
        free(err);
    }
    charrnn_model_config mc;
    charrnn_model_config_default(&mc);
    mc.rnn_size = over;
    charrnn_model *m = NULL;
    charrnn_error e = {0};
    uint32_t vocab[2] = {'a', 'b'};
    snprintf(what, sizeof what, "charrnn_model_new of %d units", over);
    CHECKF(charrnn_model_new(&m, &mc, CHARRNN_UNIT_CODEPOINT, vocab, 2, 1, &e) == CHARRNN_EINVAL && !m &&
           strstr(e.msg, "--rnn-size") && strstr(e.msg, limit), "%s: %s", what, e.msg);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    o.adapt = 1;
    o.rnn_size = over;
    void *out = NULL;
    size_t on = 0;
    memset(&e, 0, sizeof e);
    CHECKF(charrnn_compress(NULL, "abc", 3, &o, &out, &on, NULL, NULL, &e) == CHARRNN_EINVAL && !out &&
           strstr(e.msg, "--rnn-size") && strstr(e.msg, limit), "compress's fresh model of %d units: %s", over, e.msg);
}

/* ---- a corpus that changes while it is read -------------------------------------------------- */

/* The test binary wraps read(): armed, it ends the file early (a truncation) or
 * flips a byte (a rewrite) on the Nth call. */
ssize_t __real_read(int fd, void *buf, size_t n);
static int read_mode, read_calls, read_at;
ssize_t __wrap_read(int fd, void *buf, size_t n) {
    if (read_mode && ++read_calls == read_at) {
        if (read_mode == 1) return 0; /* the file ends here now */
        ssize_t r = __real_read(fd, buf, n);
        if (r > 0) ((unsigned char *)buf)[r / 2] ^= 0x01; /* 'a' <-> '`': same UTF-8 length */
        return r;
    }
    return __real_read(fd, buf, n);
}

static void test_corpus_changes_while_read(void) {
    char p[600];
    snprintf(p, sizeof p, "%s", t_path("big.txt"));
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 60000; i++) fprintf(f, "a line of plain text number %d, all ascii\n", i); /* > 2 chunks */
    fclose(f);
    /* 2.7 MB: pass 1 reads 3 chunks and the end (reads 1-4), pass 2 the same again (5-8) */
    static const int ats[] = {1, 2, 3, 5, 6, 7};
    for (int mode = 1; mode <= 2; mode++)
        for (int ai = 0; ai < 6; ai++) {
            int at = ats[ai];
            corpus c;
            charrnn_error err = {0};
            read_mode = mode;
            read_calls = 0;
            read_at = at;
            int rc = corpus_load(&c, p, CHARRNN_UNIT_CODEPOINT, &err);
            read_mode = 0;
            CHECKF(rc != 0 && strstr(err.msg, "corpus changed while being read") && strstr(err.msg, p),
                   "mode %d at read %d: rc %d: %s", mode, at, rc, err.msg);
            if (!rc) corpus_free(&c);
        }
    corpus c;
    charrnn_error err = {0};
    CHECK(corpus_load(&c, p, CHARRNN_UNIT_CODEPOINT, &err) == 0 && c.vocab_size > 10); /* unarmed: it loads */
    corpus_free(&c);
    /* and for real: another process truncates the file while train reads it, many times; never a signal */
    int bad = 0;
    for (int k = 0; k < 10 && !bad; k++) {
        f = fopen(p, "w");
        for (int i = 0; i < 120000; i++) fprintf(f, "a line of plain text number %d, all ascii\n", i);
        fclose(f);
        char *cmd = t_fmt("%s train '%s' --max-iters 1 --checkpoint-dir '%s' --force --threads 1 & p=$!; "
                          "sleep 0.0%d; truncate -s %d '%s'; wait $p", t_bin(), p, t_path("trunc_cv"), k % 10, k * 1000, p);
        char *out, *e;
        int rc = t_run(cmd, &out, &e);
        if (t_crashed(rc, e) || (rc != 0 && !strstr(e, "charrnn: error:"))) bad = 1;
        CHECKF(!bad, "a corpus truncated while read: exit %d: %s", rc, e);
        free(cmd); free(out); free(e);
    }
}

/* ---- numbers that overflow are errors -------------------------------------------------------- */

static void test_huge_weights(void) {
    const char *src = hmodel(), *dst = t_path("huge_w.safetensors");
    char msg[600];
    st_file *f = st_open(src, msg, sizeof msg);
    if (!CHECKF(f, "%s", msg)) return;
    const st_tensor *t = st_find(f, "weight_hh_l0");
    size_t n = t->nbytes / 4;
    float *w = malloc(t->nbytes);
    for (size_t i = 0; i < n; i++) w[i] = (i % 2 ? -3e38f : 3e38f);
    const st_tensor *d = st_find(f, "decoder.weight");
    size_t nd = d->nbytes / 4;
    float *dw = malloc(d->nbytes);
    for (size_t i = 0; i < nd; i++) dw[i] = (i % 3 ? 3e38f : -3e38f);
    st_close(f);
    charrnn_error err = {0};
    const char *mid = t_path("huge_w0.safetensors");
    CHECK(checkpoint_rewrite(src, mid, 0, NULL, NULL, "weight_hh_l0", w, &err) == 0);
    CHECK(checkpoint_rewrite(mid, dst, 0, NULL, NULL, "decoder.weight", dw, &err) == 0);
    free(w);
    free(dw);
    char *out, *e;
    int rc = t_cli(&out, &e, "eval '%s' '%s'", dst, hcorpus());
    EXPECT_FAIL("eval with weights of 3e38", rc, e, "not finite");
    CHECKF(!strstr(out, "nats"), "no loss may be printed: %s", out);
    free(out); free(e);
    rc = t_cli(&out, &e, "sample '%s' --length 20 --primetext the", dst);
    EXPECT_FAIL("sample with weights of 3e38", rc, e, "not finite");
    free(out); free(e);
    rc = t_cli(&out, &e, "viz '%s' '%s' -o '%s'", dst, hcorpus(), t_path("huge.html"));
    EXPECT_FAIL("viz with weights of 3e38", rc, e, "overflow");
    CHECK(!hard_exists(t_path("huge.html")));
    free(out); free(e);
}

static void test_softmax_extreme_logits(void) {
    const float z[6] = {3e38f, -3e38f, 0.0f, 1e30f, 1e30f, -1e30f};
    float p[6];
    int32_t y[2] = {0, 0};
    double loss = softmax_xent_forward(p, z, y, 1, 3);
    CHECKF(p[0] == 1.0f && p[1] == 0.0f && p[2] == 0.0f && loss == 0.0, "extreme logits: %g %g %g loss %g", p[0], p[1],
           p[2], loss);
    loss = softmax_xent_forward(p, z + 3, y + 1, 1, 3);
    CHECK_CLOSE(p[0], 0.5, 1e-7, 0);
    CHECK_CLOSE(p[1], 0.5, 1e-7, 0);
    CHECK_CLOSE(loss, log(2.0), 1e-7, 0);
    /* a loss of one extreme wrong prediction is huge but finite */
    int32_t wrong = 1;
    loss = softmax_xent_forward(p, z, &wrong, 1, 3);
    CHECKF(isfinite(loss) && loss > 5e38, "loss %g", loss);
}

/* A run never points at a checkpoint that is not its own or not there: one
 * that fails at its first step in a directory holding another run's latest
 * (--force) says that it saved none, and names no file to resume from. */
static void test_no_claimed_checkpoint(void) {
    const char *huge = t_path("huge_w.safetensors"), *dir = t_path("claims_cv");
    if (!hard_exists(huge)) test_huge_weights(); /* makes it */
    mkdir(dir, 0755);
    char *cmd = t_fmt("cp '%s' '%s/latest.safetensors'", hmodel(), dir), *err;
    t_run(cmd, NULL, NULL);
    free(cmd);
    int rc = t_cli(NULL, &err, "train '%s' --init-from '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 "
                   "--max-iters 5 --precision fp32 --threads 1 --checkpoint-dir '%s' --force", hcorpus(), huge, dir);
    EXPECT_FAIL("a first step that is not finite", rc, err, "became");
    CHECKF(strstr(err, "no checkpoint of this run was saved") && !strstr(err, "last good checkpoint is") &&
           !strstr(err, "resume with"), "a run that saved nothing named a checkpoint: %s", err);
    free(err);
}

/* ---- errors that must not be swallowed ------------------------------------------------------- */

static void test_write_errors_reported(void) {
    if (!hard_exists("/dev/full")) { t_skip("no /dev/full"); return; }
    const char *cmds[] = {"sample '%s' --length 5000 --verbose 0", "info '%s'", "eval '%s' '%s'", "cells '%s' '%s' --length 500"};
    for (int i = 0; i < 4; i++) {
        char *args = t_fmt(cmds[i], hmodel(), hcorpus());
        char *err;
        int rc = t_cli(NULL, &err, "%s >/dev/full", args);
        EXPECT_FAIL(args, rc, err, "cannot write output: No space left on device");
        free(err);
        free(args);
    }
    /* SIGPIPE ignored: a closed pipe ends the command at once */
    char *cmd = t_fmt("trap '' PIPE; %s sample '%s' --length 100000000 --verbose 0 2>'%s' | head -c 100 >/dev/null; "
                      "cat '%s'", t_bin(), hmodel(), t_path("pipe.err"), t_path("pipe.err"));
    char *out, *err;
    t_run(cmd, &out, &err);
    CHECKF(strstr(out, "cannot write output") && strstr(out, "Broken pipe"), "EPIPE: %s", out);
    free(cmd); free(out); free(err);
}

static void test_eval_long_seq_bounded(void) {
    /* a run trained with --seq-length 20000: eval plans from a bounded chunk, not 50 x 20000 */
    const char *p = t_path("long.txt"), *d = t_path("runLong");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 1200; i++) fprintf(f, "abc def %d\n", i % 10);
    fclose(f);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 1 --seq-length 10000 --max-iters 1 "
                   "--threads 1 --checkpoint-dir '%s'", p, d);
    CHECKF(rc == 0, "%s", err);
    free(err);
    char *out;
    rc = t_cli(&out, &err, "eval '%s/latest.safetensors' '%s'", d, p);
    CHECKF(rc == 0 && strstr(out, "nats"), "eval of a --seq-length 10000 model: %s %s", out, err);
    free(out); free(err);
    /* messages suggest only the printing command's options */
    rc = t_cli(NULL, &err, "eval '%s' /dev/zero", hmodel());
    EXPECT_FAIL("eval on /dev/zero", rc, err, "not a regular file");
    free(err);
    rc = t_cli(NULL, &err, "viz '%s' /dev/zero -o '%s'", hmodel(), t_path("z.html"));
    EXPECT_FAIL("viz on /dev/zero", rc, err, "not a regular file");
    free(err);
    rc = t_cli(NULL, &err, "cells '%s' /dev/zero", hmodel());
    EXPECT_FAIL("cells on /dev/zero", rc, err, "not a regular file");
    free(err);
    rc = t_cli(NULL, &err, "sample '%s' --prime-file /dev/zero", hmodel());
    EXPECT_FAIL("--prime-file /dev/zero", rc, err, "not a regular file");
    free(err);
}

void register_hard_limit_tests(void) {
    t_register("hard_sample_huge_length", test_sample_huge_length);
    t_register("hard_checked_allocation", test_checked_allocation);
    t_register("hard_rnn_size_one_limit", test_rnn_size_one_limit);
    t_register("hard_corpus_changes_while_read", test_corpus_changes_while_read);
    t_register("hard_huge_weights", test_huge_weights);
    t_register("hard_softmax_extreme_logits", test_softmax_extreme_logits);
    t_register("hard_write_errors_reported", test_write_errors_reported);
    t_register("hard_eval_long_seq_bounded", test_eval_long_seq_bounded);
    t_register("hard_no_claimed_checkpoint", test_no_claimed_checkpoint);
}
