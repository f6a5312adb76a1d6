/* test_hardening.c: what a break-it pass found, one test per finding, each
 * closing the whole class: sizes from the command line and from files are
 * overflow-checked and nothing is sized from --length; a checkpoint whose
 * metadata was edited (checksum recomputed, as anyone can) is validated like
 * the command line, field by field, and a network's size has one limit; a corpus that changes while it is read
 * gives a message; a model whose numbers overflow is an error, never a result;
 * a run never overwrites another run or writes through a planted link; output
 * errors (a full disk, a closed pipe) are reported; messages say the right
 * thing. Run under ASan + UBSan by test.sh. */
#include "test.h"
#include "cells.h"
#include "checkpoint.h"
#include "ckpt_edit.h"
#include "common.h"
#include "data.h"
#include "defaults.h"
#include "json.h"
#include "safetensors.h"
#include "../cli/options.c" /* the strict number parser, tested directly */

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

/* ---- helpers ------------------------------------------------------------------------ */

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static const char *hcorpus(void) {
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s", t_path("hard.txt"));
        FILE *f = fopen(path, "w");
        for (int i = 0; i < 600; i++) fprintf(f, "the %s sat on the %s.\n", i % 3 ? "cat" : "dog", i % 5 ? "mat" : "log");
        fclose(f);
    }
    return path;
}

/* A tiny trained model (its latest.safetensors). */
static const char *hmodel(void) {
    return t_trained("hard_cv", hcorpus(), "--rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 30 "
                     "--eval-val-every 30 --threads 1");
}

/* The metadata value of key in a checkpoint (malloc'd), or NULL. */
static char *meta_of(const char *path, const char *key) {
    char msg[600];
    st_file *f = st_open(path, msg, sizeof msg);
    if (!f) return NULL;
    const char *v = st_get_meta(f, key);
    char *s = v ? strdup(v) : NULL;
    st_close(f);
    return s;
}

/* JSON text js with the value of "field" replaced by repl (a JSON value). */
static char *json_set(const char *js, const char *field, const char *repl) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", field);
    const char *at = strstr(js, pat);
    if (!at) return NULL;
    const char *v = at + strlen(pat), *e = v;
    if (*e == '"') { e++; while (*e && *e != '"') e++; e++; }
    else if (*e == '[') { int d = 0; do { d += *e == '['; d -= *e == ']'; e++; } while (*e && d); }
    else while (*e && *e != ',' && *e != '}') e++;
    return t_fmt("%.*s%s%s", (int)(v - js), js, repl, e);
}

/* dst: src with one field of one metadata object edited, the checksum recomputed. */
static int edit_checkpoint(const char *src, const char *dst, const char *key, const char *field, const char *repl) {
    char *js = meta_of(src, key);
    char *edited = js ? json_set(js, field, repl) : NULL;
    charrnn_error err = {0};
    int rc = edited ? checkpoint_rewrite(src, dst, 1, (const char *[]){key}, (const char *[]){edited}, NULL, NULL, &err) : -1;
    CHECKF(rc == 0, "editing %s.%s of %s: %s", key, field, src, err.msg);
    free(js);
    free(edited);
    return rc;
}

/* ---- 1. sizes: nothing sized from --length, every product checked ------------------- */

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

/* ---- 2, 3. what a checkpoint says is checked like the command line ------------------ */

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
    if (CHECK(edit_checkpoint(hmodel(), dst, "config", "rnn_size", value) == 0)) {
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

static void test_edited_options_refused(void) {
    static const struct { const char *key, *field, *value, *needle; } cases[] = {
        {"train_options", "train_frac", "7", "\"train_frac\" is 7"},
        {"train_options", "val_frac", "-3", "\"val_frac\" is -3"},
        {"train_options", "learning_rate", "-0.5", "\"learning_rate\" is -0.5"},
        {"train_options", "batch_size", "0", "batch_size"},
        {"train_options", "seq_length", "1e9", "seq_length"},
        {"train_options", "grad_clip", "-1", "grad_clip"},
        {"train_options", "decay_rate", "1.5", "decay_rate"},
        {"train_options", "max_iters", "-4", "max_iters"},
        {"train_options", "eval_val_every", "0", "eval_val_every"},
        {"train_options", "optim", "\"adamw\"", "optim"},
        {"train_options", "unit", "\"word\"", "unit"},
        {"train_options", "seed", "\"-5\"", "seed"},
        {"train_state", "iteration", "4611686018427387904", "iteration"},
        {"train_state", "iteration", "12.5", "iteration"},
        {"train_state", "learning_rate", "-1", "learning_rate"},
        {"train_state", "optim_step", "-1", "optim_step"},
        {"train_state", "optim_step", "1000000", "optim_step"},
        {"train_state", "rng_dropout", "[\"xyz\",\"1\"]", "rng_dropout"},
        {"train_state", "rng_dropout", "[\"1\",\"2\"]", "rng_dropout"},
        {"train_state", "corpus_chars", "-1", "corpus_chars"},
        {"train_state", "val_history", "[[1e18,1]]", "val_history"},
        {"train_state", "skipped_nonfinite", "99999", "skipped_nonfinite"},
        {"config", "rnn_size", "0", "rnn_size"},
        {"config", "num_layers", "17", "num_layers"},
        {"config", "dropout", "1", "dropout"},
        {"config", "dropout", "0.99999999999", "dropout"}, /* 1 as the float it is kept in */
        {"config", "model", "\"lstm\\u0000x\"", "model"},  /* read whole, not as "lstm" */
        {"config", "model", "\"gru\",\"model\":\"lstm\"", "duplicate key \"model\""},
        {"train_options", "seed", "\"123\\u0000\"", "seed"},
    };
    const char *src = hmodel();
    char dst[600], cvdir[600];
    snprintf(dst, sizeof dst, "%s", t_path("edited.safetensors")); /* t_path's buffers rotate */
    snprintf(cvdir, sizeof cvdir, "%s", t_path("edited_cv"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (edit_checkpoint(src, dst, cases[i].key, cases[i].field, cases[i].value)) continue;
        char *err, what[200];
        int rc = t_cli(NULL, &err, "train '%s' --resume '%s' --checkpoint-dir '%s' --max-iters 40 --threads 1", hcorpus(),
                       dst, cvdir);
        snprintf(what, sizeof what, "--resume with %s.%s = %s", cases[i].key, cases[i].field, cases[i].value);
        EXPECT_FAIL(what, rc, err, cases[i].needle);
        CHECKF(strstr(err, dst) != NULL, "%s: the message should name the file: %s", what, err);
        free(err);
    }
    /* the same validation when the file is only read */
    edit_checkpoint(src, dst, "train_options", "train_frac", "7");
    char *err;
    int rc = t_cli(NULL, &err, "info '%s'", dst);
    EXPECT_FAIL("info on edited train_frac", rc, err, "train_frac");
    free(err);
}

/* ---- 4. a corpus that changes while it is read -------------------------------------- */

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

/* ---- 5. numbers that overflow are errors -------------------------------------------- */

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
    CHECK(!exists(t_path("huge.html")));
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

/* ---- never overwrite a run ------------------------------------------------------------- */

static void test_resume_writes_own_dir(void) {
    const char *b = t_path("runB");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 10 "
                   "--eval-val-every 5 --threads 1 --checkpoint-dir '%s'", hcorpus(), b);
    CHECKF(rc == 0, "%s", err);
    free(err);
    /* resume from elsewhere, without --checkpoint-dir: it writes to runB, not ./cv */
    char *bin = realpath(t_bin(), NULL);
    char *cmd = t_fmt("cd '%s' && '%s' train '%s' --resume '%s/latest.safetensors' --max-iters 20 --threads 1",
                      t_tmpdir(), bin, hcorpus(), b);
    free(bin);
    char *out;
    rc = t_run(cmd, &out, &err);
    CHECKF(rc == 0, "resume: %s", err);
    CHECKF(!exists(t_path("cv")), "the resumed run wrote into ./cv");
    char *info;
    t_cli(&info, NULL, "info '%s/latest.safetensors'", b);
    CHECKF(strstr(info, "trained:        20 iterations"), "runB/latest should be at 20: %s", info);
    free(info); free(cmd); free(out); free(err);
}

static void test_fresh_run_refuses_other_run(void) {
    const char *d = t_path("runC");
    const char *args = "--rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --eval-val-every 5 --threads 1";
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' %s --max-iters 10 --checkpoint-dir '%s'", hcorpus(), args, d);
    CHECKF(rc == 0, "%s", err);
    free(err);
    const char *latest = t_path("runC/latest.safetensors");
    char *before = t_read_file(latest, NULL);
    rc = t_cli(NULL, &err, "train '%s' %s --max-iters 5 --learning-rate 0.5 --checkpoint-dir '%s'", hcorpus(), args, d);
    EXPECT_FAIL("a fresh run in a directory holding another run", rc, err, "already holds a run");
    CHECKF(strstr(err, "--force") && strstr(err, "--resume"), "the message should say what to do: %s", err);
    free(err);
    char *after = t_read_file(latest, NULL);
    CHECKF(before && after && !strcmp(before, after), "the refused run touched latest.safetensors");
    free(after);
    /* --force starts the new run there; "best" is the new run's own */
    rc = t_cli(NULL, &err, "train '%s' %s --max-iters 5 --learning-rate 0.05 --checkpoint-dir '%s' --force", hcorpus(), args, d);
    CHECKF(rc == 0 && strstr(err, "(best so far)"), "--force: %s", err);
    free(err);
    char *info;
    t_cli(&info, NULL, "info '%s/best.safetensors'", d);
    CHECKF(strstr(info, "trained:        5 iterations"), "best should now be the new run's: %s", info);
    free(info);
    free(before);
    /* resuming an old checkpoint of another run into this directory is refused too */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --checkpoint-dir '%s' --max-iters 40", hcorpus(), hmodel(), d);
    EXPECT_FAIL("resuming run A into run C's directory", rc, err, "holds another run");
    free(err);
}

static void test_lock_refuses_second_training(void) {
    const char *d = t_path("runL");
    char *cmd = t_fmt("%s train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 100000000 "
                      "--eval-val-every 100000 --threads 1 --checkpoint-dir '%s' >/dev/null 2>'%s' & echo $!",
                      t_bin(), hcorpus(), d, t_path("lock1.err"));
    char *out;
    t_run(cmd, &out, NULL);
    long pid = atol(out);
    free(out);
    free(cmd);
    /* the first run holds the directory once its log exists (however slow the build or busy the machine: 60 s) */
    for (int i = 0; i < 6000 && !exists(t_path("runL/train.jsonl")); i++) usleep(10000);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 5 "
                   "--threads 1 --checkpoint-dir '%s' --force", hcorpus(), d);
    char pidstr[32];
    snprintf(pidstr, sizeof pidstr, "process %ld", pid);
    EXPECT_FAIL("a second training in the same directory", rc, err, "in use by another training run");
    CHECKF(strstr(err, pidstr), "the message should name %s: %s", pidstr, err);
    free(err);
    kill((pid_t)pid, SIGKILL);
    for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++) usleep(10000);
}

static void test_no_writes_through_links(void) {
    const char *d = t_path("runS"), *target = t_path("precious.txt");
    mkdir(d, 0755);
    t_write_file(target, "precious\n", 9);
    char *log = t_fmt("%s/train.jsonl", d);
    CHECK(symlink(target, log) == 0);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 5 "
                   "--threads 1 --checkpoint-dir '%s'", hcorpus(), d);
    EXPECT_FAIL("train.jsonl planted as a link", rc, err, "symbolic link");
    free(err);
    unlink(log);
    /* a planted latest.safetensors link is replaced, its target untouched; so is a planted temporary file */
    char *latest = t_fmt("%s/latest.safetensors", d);
    CHECK(symlink(target, latest) == 0);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 5 "
               "--threads 1 --checkpoint-dir '%s' --force", hcorpus(), d);
    CHECKF(rc == 0, "%s", err);
    free(err);
    char *t = t_read_file(target, NULL);
    struct stat st;
    CHECKF(t && !strcmp(t, "precious\n") && lstat(latest, &st) == 0 && S_ISREG(st.st_mode),
           "the link's target was written, or latest is still a link");
    free(t); free(log); free(latest);
}

/* ---- errors that must not be swallowed --------------------------------------------------- */

static void test_write_errors_reported(void) {
    if (!exists("/dev/full")) { t_skip("no /dev/full"); return; }
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

/* ---- messages that were wrong ------------------------------------------------------------ */

static void test_messages(void) {
    char *out, *err;
    /* eval on a file with one known character */
    const char *one = t_path("one.txt");
    t_write_file(one, "t", 1);
    int rc = t_cli(&out, &err, "eval '%s' '%s'", hmodel(), one);
    EXPECT_FAIL("eval on one character", rc, err, "has 1 character the model knows");
    free(out); free(err);
    /* the unknown-prime warning lists exactly the unknown characters */
    rc = t_cli(&out, &err, "sample '%s' --length 5 --primetext '~the' --verbose 0", hmodel());
    CHECKF(rc == 0 && strstr(err, "'~' (U+007E)") && !strstr(err, "U+0000"), "prime warning: %s", err);
    free(out); free(err);
    /* --temperature out of range: refused before any output */
    rc = t_cli(&out, &err, "sample '%s' --temperature 1e39 --primetext 'the '", hmodel());
    CHECKF(rc == 2 && out[0] == 0, "--temperature 1e39: exit %d, stdout '%s'", rc, out);
    free(out); free(err);
    rc = t_cli(NULL, &err, "train '%s' --sample-every 5 --sample-temperature 1e39 --checkpoint-dir '%s'", hcorpus(),
               t_path("cv_st"));
    EXPECT_FAIL("--sample-temperature 1e39", rc, err, "--sample-temperature");
    CHECK(!exists(t_path("cv_st")));
    free(err);
    /* one strict number syntax */
    static const char *bad_seeds[] = {"' -5'", "' 5'", "'5 '", "-5", "+5", "0x10", "5.0", "''"};
    for (int i = 0; i < 8; i++) {
        rc = t_cli(NULL, &err, "sample '%s' --length 1 --seed %s", hmodel(), bad_seeds[i]);
        char what[64];
        snprintf(what, sizeof what, "--seed %s", bad_seeds[i]);
        EXPECT_FAIL(what, rc, err, "--seed");
        free(err);
    }
    static const char *bad_doubles[] = {"0x10", "' 1'", "'1 '", "1e", ".", "1..2", "inf", "nan", "1,5"};
    for (int i = 0; i < 9; i++) {
        rc = t_cli(NULL, &err, "sample '%s' --length 1 --temperature %s", hmodel(), bad_doubles[i]);
        char what[64];
        snprintf(what, sizeof what, "--temperature %s", bad_doubles[i]);
        EXPECT_FAIL(what, rc, err, "--temperature");
        free(err);
    }
    long l;
    double d;
    unsigned long long u;
    CHECK(parse_long_strict("-12", &l) == 0 && l == -12);
    CHECK(parse_long_strict(" 12", &l) == -1 && parse_long_strict("12 ", &l) == -1 && parse_long_strict("0x1", &l) == -1);
    CHECK(parse_u64_strict("18446744073709551615", &u) == 0 && parse_u64_strict("18446744073709551616", &u) == NUM_TOO_LARGE);
    CHECK(parse_u64_strict("-1", &u) == -1);
    CHECK(parse_double_strict("2e-3", &d) == 0 && d == 2e-3 && parse_double_strict(".5", &d) == 0 && d == 0.5);
    CHECK(parse_double_strict("0x1p3", &d) == -1 && parse_double_strict("1e400", &d) == NUM_TOO_LARGE);
    CHECK(parse_double_strict("1e-400", &d) == NUM_TOO_SMALL && parse_double_strict("0e-400", &d) == 0 && d == 0);
    CHECK(parse_duration("90m", &d) == 0 && d == 5400 && parse_duration("1h30m", &d) == 0 && d == 5400);
    CHECK(parse_duration("300", &d) == 0 && d == 300 && parse_duration("2d", &d) == 0 && d == 172800);
    CHECK(parse_duration("1.5h", &d) == 0 && d == 5400);
    CHECK(parse_duration("5x", &d) == -1 && parse_duration("m", &d) == -1 && parse_duration("0", &d) == NUM_TOO_SMALL &&
          parse_duration("10 m", &d) == -1 && parse_duration("1h30", &d) == -1);
    /* char-rnn's GPU options are accepted with a note */
    rc = t_cli(&out, &err, "sample '%s' --length 3 -gpuid -1 --verbose 0", hmodel());
    CHECKF(rc == 0 && strstr(err, "--gpuid is ignored") && strstr(err, "CPU"), "-gpuid -1: %d %s", rc, err);
    free(out); free(err);
    /* char-rnn's -sample 0 is argmax (two processes: the precision pinned, not left to auto) */
    char *a, *b;
    t_cli(&a, NULL, "sample '%s' --length 40 -sample 0 --precision fp32 --verbose 0 --primetext 'the '", hmodel());
    t_cli(&b, NULL, "sample '%s' --length 40 --temperature 0 --precision fp32 --verbose 0 --primetext 'the ' --seed 9",
          hmodel());
    CHECKF(!strcmp(a, b), "-sample 0 should be argmax: '%s' vs '%s'", a, b);
    free(a); free(b);
}

static void test_max_iters_huge(void) {
    char *err, *out;
    char *cmd = t_fmt("%s train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 1000000000000 "
                      "--eval-val-every 1000000 --threads 1 --checkpoint-dir '%s' --max-time 1", t_bin(), hcorpus(),
                      t_path("cv_1e12"));
    int rc = t_run(cmd, &out, &err);
    CHECKF(rc == 0 && strstr(err, "time budget") && !strstr(err, "out of memory"), "--max-iters 1e12: exit %d: %s", rc, err);
    free(cmd); free(out); free(err);
}

static void test_init_from_names_character(void) {
    const char *p = t_path("other_vocab.txt");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 600; i++) fprintf(f, "the %s sat on the %s!\n", i % 3 ? "cat" : "dog", i % 5 ? "mat" : "log");
    fclose(f);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 2 "
                   "--init-from '%s' --checkpoint-dir '%s'", p, hmodel(), t_path("cv_init"));
    EXPECT_FAIL("--init-from with another vocabulary", rc, err, "'!' (U+0021)");
    free(err);
}

static void test_info_escapes(void) {
    /* a byte-mode corpus with C1 controls, bidi overrides, separators and raw high bytes */
    const char *p = t_path("bytes.bin"), *d = t_path("cv_bytes");
    unsigned char buf[4096];
    for (int i = 0; i < 4096; i++) buf[i] = (unsigned char)("abc\x1b\x9b\xff\xe2\x80\xae\xe2\x80\xa8\x7f\n"[i % 14]);
    t_write_file(p, buf, sizeof buf);
    char *err, *out;
    int rc = t_cli(NULL, &err, "train '%s' --unit byte --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 "
                   "--max-iters 1 --checkpoint-dir '%s'", p, d);
    CHECKF(rc == 0, "%s", err);
    free(err);
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", d);
    const char *line = strstr(out, "characters:");
    char *l = line ? strndup(line, strcspn(line, "\n")) : strdup("");
    int raw = 0;
    for (const char *c = l; *c; c++) raw |= (unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20 || *c == 0x7f;
    CHECKF(rc == 0 && !raw && strstr(l, "\\x1b") && strstr(l, "\\x9b") && strstr(l, "\\xff") && strstr(l, "\\n"),
           "info's vocabulary line must be escaped: %s", l);
    free(l); free(out); free(err);
    /* code points: U+009B, U+202E, U+2028 escaped, ordinary letters as they are */
    const char *q = t_path("cps.txt"), *d2 = t_path("cv_cps");
    FILE *f = fopen(q, "w");
    for (int i = 0; i < 400; i++) fputs("ab\xc2\x9b\xe2\x80\xae\xe2\x80\xa8\xc3\xa9\n", f);
    fclose(f);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 1 "
               "--checkpoint-dir '%s'", q, d2);
    CHECKF(rc == 0, "%s", err);
    free(err);
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", d2);
    CHECKF(rc == 0 && strstr(out, "\\u{009B}") && strstr(out, "\\u{202E}") && strstr(out, "\\u{2028}") &&
           strstr(out, "\xc3\xa9") && !strstr(out, "\xe2\x80\xae"), "code-point escapes: %s", out);
    free(out); free(err);
}

static void test_resume_hint_quoted(void) {
    const char *dir = t_path("dir with spaces"), *p = t_path("it's a corpus.txt");
    char *cmd = t_fmt("cp '%s' \"%s\"", hcorpus(), p);
    t_run(cmd, NULL, NULL);
    free(cmd);
    cmd = t_fmt("%s train \"%s\" --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 1000000 "
                "--print-every 1 --threads 1 --checkpoint-dir \"%s\" 2>\"%s\" & p=$!; "
                "i=0; while ! grep -q '^3/' \"%s\" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; "
                "kill -INT $p; wait $p",
                t_bin(), p, dir, t_path("hint.err"), t_path("hint.err"));
    t_run(cmd, NULL, NULL);
    free(cmd);
    char *e = t_read_file(t_path("hint.err"), NULL);
    const char *hint = e ? strstr(e, "resume with: ") : NULL;
    CHECKF(hint, "no resume hint: %s", e ? e : "");
    if (hint) {
        /* run the printed command itself (briefly): the shell must read it as intended */
        char *line = strndup(hint + 13, strcspn(hint + 13, "\n"));
        char *bin = t_fmt("%s", t_bin());
        char *run = t_fmt("%s%s --max-iters 2 2>&1", bin, line + strlen("charrnn"));
        char *out;
        int rc = t_run(run, &out, NULL);
        CHECKF(rc == 0 && strstr(out, "resuming"), "the printed resume command fails: %s\n%s", line, out);
        free(line); free(bin); free(run); free(out);
    }
    free(e);
}

/* A number beyond what an option can hold is "too large" (or too small, too
 * long) with the limit, never "malformed"; every option message prints an
 * integer as an integer and a fraction as typed (not 2.14748e+09, not 1 for
 * 1.0000001), from the command line and from an edited checkpoint alike. */
static void test_numbers_in_messages(void) {
    int i32 = 0;
    long l = 0;
    uint64_t u = 0;
    double dv = 0, dur = 0;
    optdef opts[] = {
        {"i", O_INT, &i32, 0, "", 0}, {"l", O_LONG, &l, 0, "", 0}, {"u", O_U64, &u, 0, "", 0},
        {"d", O_DOUBLE, &dv, 0, "", 0}, {"t", O_DURATION, &dur, 0, "", 0}, {0, 0, 0, 0, 0, 0},
    };
    static const struct { const char *opt, *value, *needle, *limit; } beyond[] = {
        {"--i", "2147483648", "too large", "2147483647"},
        {"--i", "99999999999999999999999", "too large", "2147483647"},
        {"--i", "-2147483648", "too small", "-2147483647"},
        {"--l", "9223372036854775808", "too large", "9223372036854775807"},
        {"--l", "-99999999999999999999999", "too small", "-9223372036854775808"},
        {"--u", "18446744073709551616", "too large", "18446744073709551615"},
        {"--d", "1e400", "too large", "1.8e308"},
        {"--d", "-1e400", "too large", "1.8e308"},
        {"--d", "1e-400", "too close to 0", "4.9e-324"},
        {"--t", "99999999d", "too long", "100000d"},
        {"--t", "1h99999999999999999999999999999999999999999999999999999999999999999999999999999m", "too long", "100000d"},
        {"--t", "0s", "above 0", NULL},
    };
    for (size_t k = 0; k < sizeof beyond / sizeof beyond[0]; k++) {
        char *argv[] = {(char *)beyond[k].opt, (char *)beyond[k].value}, msg[512] = "";
        const char *pos[1];
        int rc = parse_args(2, argv, "x", "x", opts, pos, 1, msg, sizeof msg);
        CHECKF(rc == OPT_ERROR && strstr(msg, beyond[k].needle) && (!beyond[k].limit || strstr(msg, beyond[k].limit)) &&
               !strstr(msg, "expects"), "%s %s: %s", beyond[k].opt, beyond[k].value, msg);
    }
    static const char *malformed[][2] = {{"--i", "12a"}, {"--u", "-1"}, {"--d", "1e"}, {"--t", "5x"}, {"--t", "1e5d"}};
    for (size_t k = 0; k < sizeof malformed / sizeof malformed[0]; k++) {
        char *argv[] = {(char *)malformed[k][0], (char *)malformed[k][1]}, msg[512] = "";
        const char *pos[1];
        int rc = parse_args(2, argv, "x", "x", opts, pos, 1, msg, sizeof msg);
        CHECKF(rc == OPT_ERROR && strstr(msg, "expects"), "%s %s: %s", malformed[k][0], malformed[k][1], msg);
    }
    /* the range checks of the library and of every command print the value as given */
    static const struct { const char *args, *shown; } cli[] = {
        {"train --rnn-size 2147483647", "--rnn-size 2147483647 "},
        {"train --num-layers 2147483647", "--num-layers 2147483647 "},
        {"train --batch-size 2147483647", "--batch-size 2147483647 "},
        {"train --seq-length 2147483647", "--seq-length 2147483647 "},
        {"train --max-iters 9223372036854775807", "--max-iters 9223372036854775807 "},
        {"train --eval-val-every 9223372036854775807", "--eval-val-every 9223372036854775807 "},
        {"train --val-max-chars 9223372036854775807", "--val-max-chars 9223372036854775807 "},
        {"train --skip-nonfinite 9223372036854775807", "--skip-nonfinite 9223372036854775807 "},
        {"train --dropout 1.0000001", "--dropout 1.0000001 "},
        {"train --dropout -0.3", "--dropout -0.3 "},
        {"train --train-frac 1.0000001", "--train-frac 1.0000001 "},
        {"train --train-frac 0.7 --val-frac 0.3000001", "--val-frac 0.3000001 "},
        {"train --learning-rate 1000.0000001", "--learning-rate 1000.0000001 "},
        {"train --max-epochs 1000000000", "--max-epochs 1000000000 "},
        {"train --sample-temperature 1000000.5", "--sample-temperature 1000000.5 "},
        {"sample x --top-p 1.0000001", "--top-p 1.0000001 "},
        {"sample x --min-p 1", "--min-p 1 "},
        {"sample x --temperature 2000000", "--temperature 2000000 "},
        {"sample x --repetition-penalty 0.99999999", "--repetition-penalty 0.99999999 "},
        {"sample x --primetext a --dynamic --dynamic-lr 1.0000001", "--dynamic-lr 1.0000001 "},
        {"eval x y --dynamic --dynamic-decay 1.0000001", "--dynamic-decay 1.0000001 "},
        {"ngram x --temperature 2000000 --sample 1", "--temperature 2000000 "},
    };
    for (size_t k = 0; k < sizeof cli / sizeof cli[0]; k++) {
        char *err;
        int rc = t_cli(NULL, &err, "%s --checkpoint-dir '%s'", cli[k].args, t_path("numbers_cv"));
        if (strncmp(cli[k].args, "train", 5)) { /* the other commands take no --checkpoint-dir */
            free(err);
            rc = t_cli(NULL, &err, "%s", cli[k].args);
        }
        CHECKF(rc == 2 && strstr(err, cli[k].shown) && (strstr(err, "out of range") || strstr(err, "more than 1")) &&
               !strstr(err, "e+") && !strstr(err, "training on"),
               "charrnn %s: exit %d: %s", cli[k].args, rc, err);
        free(err);
    }
    /* compress checks its adaptation options and fresh model once it has its input */
    static const char *zip[] = {"--rnn-size 2147483647", "--num-layers 2147483647", "--segment 2147483647",
                                "--adapt-lr 1.0000001", "--adapt-rms-decay 1.0000001", "--adapt-decay 1.0000001"};
    for (size_t k = 0; k < sizeof zip / sizeof zip[0]; k++) {
        char *err, shown[64];
        snprintf(shown, sizeof shown, "%s is out of range", zip[k]);
        int rc = t_cli(NULL, &err, "compress --adapt %s '%s' -o '%s'", zip[k], hcorpus(), t_path("numbers.z"));
        CHECKF(rc == 2 && strstr(err, shown), "charrnn compress --adapt %s: exit %d: %s", zip[k], rc, err);
        free(err);
    }
    /* and the values the commands report: a float as typed (dropout 0.3, not 0.300000011920929), an integer as one */
    char *out, *err;
    int rc = t_cli(NULL, &err, "train '%s' --dropout 0.3 --learning-rate 0.001 --rnn-size 8 --num-layers 2 --batch-size 4 "
                   "--seq-length 8 --max-iters 1 --precision fp32 --threads 1 --checkpoint-dir '%s'", hcorpus(),
                   t_path("numbers_d_cv"));
    CHECKF(rc == 0 && strstr(err, "dropout 0.3,") && strstr(err, "lr 0.001\n"), "train's model line: %s", err);
    free(err);
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", t_path("numbers_d_cv"));
    CHECKF(rc == 0 && strstr(out, "dropout 0.3\n"), "info: %s", out);
    free(out); free(err);
    rc = t_cli(&out, &err, "sample '%s/latest.safetensors' --length 1 --temperature 1000000 --precision fp32",
               t_path("numbers_d_cv"));
    CHECKF(rc == 0 && strstr(err, "temperature 1000000,"), "sample's model line: %s", err);
    free(out); free(err);
    /* an edited checkpoint's fields, too */
    const char *dst = t_path("numbers.safetensors");
    static const char *fields[][2] = {{"max_epochs", "1000000000"}, {"train_frac", "1.0000001"},
                                      {"learning_rate", "1000.0000001"}};
    for (int k = 0; k < 3; k++) {
        if (edit_checkpoint(hmodel(), dst, "train_options", fields[k][0], fields[k][1])) continue;
        char *shown = t_fmt("\"%s\" is %s,", fields[k][0], fields[k][1]);
        rc = t_cli(NULL, &err, "info '%s'", dst);
        CHECKF(rc != 0 && strstr(err, shown) && !strstr(err, "e+"), "info on %s = %s: %s", fields[k][0], fields[k][1], err);
        free(shown);
        free(err);
    }
}

/* A run never points at a checkpoint that is not its own or not there: one
 * that fails at its first step in a directory holding another run's latest
 * (--force) says that it saved none, and names no file to resume from. */
static void test_no_claimed_checkpoint(void) {
    const char *huge = t_path("huge_w.safetensors"), *dir = t_path("claims_cv");
    if (!exists(huge)) test_huge_weights(); /* makes it */
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

/* A checkpoint tensor that holds what training cannot produce (NaN, infinity;
 * a negative mean of squares) is refused as damaged, naming the tensor,
 * wherever it is read: eval --dynamic reads the optimizer's moments, a resume
 * reads them and the carried state, every command the weights. Never "use a
 * lower learning rate". The loss history may hold NaN (a skipped step). */
static const char *adam_model(void) {
    return t_trained("adam_cv", hcorpus(), "--optim adam --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 "
                     "--max-iters 3 --precision fp32 --threads 1");
}

/* src with element 0 of tensor set to v, into dst. */
static int with_value(const char *src, const char *dst, const char *tensor, float v) {
    char msg[600];
    st_file *f = st_open(src, msg, sizeof msg);
    if (!CHECKF(f, "%s", msg)) return -1;
    const st_tensor *t = st_find(f, tensor);
    if (!CHECKF(t, "%s has no %s", src, tensor)) { st_close(f); return -1; }
    float *data = malloc(t->nbytes);
    memcpy(data, t->data, t->nbytes);
    data[0] = v;
    st_close(f);
    charrnn_error err = {0};
    int rc = checkpoint_rewrite(src, dst, 0, NULL, NULL, tensor, data, &err);
    CHECKF(rc == 0, "%s", err.msg);
    free(data);
    return rc;
}

static void test_nonfinite_tensors_refused(void) {
    const char *dst = t_path("nonfinite.safetensors"), *cv = t_path("nonfinite_cv");
    static const struct { int adam; const char *tensor; float value; const char *cmd, *needle; } cases[] = {
        {0, "optim.m1", NAN, "eval '%s' '%s' --dynamic --precision fp32", "NaN or infinite"},
        {0, "optim.m1", INFINITY, "eval '%s' '%s' --dynamic --precision fp32", "NaN or infinite"},
        {0, "optim.m1", -1.0f, "eval '%s' '%s' --dynamic --precision fp32", "negative"},
        {1, "optim.m2", NAN, "eval '%s' '%s' --dynamic --precision fp32", "NaN or infinite"},
        {1, "optim.m2", -1.0f, "eval '%s' '%s' --dynamic --precision fp32", "negative"},
        {0, "optim.m1", NAN, "train '%s' --resume '%s' --max-iters 40 --precision fp32", "NaN or infinite"},
        {0, "optim.m1", -1.0f, "train '%s' --resume '%s' --max-iters 40 --precision fp32", "negative"},
        {1, "optim.m1", NAN, "train '%s' --resume '%s' --max-iters 40 --precision fp32", "NaN or infinite"},
        {1, "optim.m2", -1.0f, "train '%s' --resume '%s' --max-iters 40 --precision fp32", "negative"},
        {0, "state.h", NAN, "train '%s' --resume '%s' --max-iters 40 --precision fp32", "NaN or infinite"},
        {0, "state.c", INFINITY, "train '%s' --resume '%s' --max-iters 40 --precision fp32", "NaN or infinite"},
        {0, "decoder.weight", NAN, "info '%s'", "NaN or infinite"},
        {0, "weight_ih_l0", INFINITY, "sample '%s' --length 5", "NaN or infinite"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        if (with_value(cases[k].adam ? adam_model() : hmodel(), dst, cases[k].tensor, cases[k].value)) continue;
        char *args = !strncmp(cases[k].cmd, "train", 5) ? t_fmt(cases[k].cmd, hcorpus(), dst) : t_fmt(cases[k].cmd, dst, hcorpus());
        char *err, what[200];
        int rc = !strncmp(args, "train", 5) ? t_cli(NULL, &err, "%s --checkpoint-dir '%s' --threads 1", args, cv)
                                        : t_cli(NULL, &err, "%s", args);
        snprintf(what, sizeof what, "%s = %g: charrnn %.40s", cases[k].tensor, cases[k].value, args);
        EXPECT_FAIL(what, rc, err, cases[k].needle);
        CHECKF(strstr(err, cases[k].tensor) && strstr(err, "damaged") && !strstr(err, "learning rate"), "%s: %s", what, err);
        free(err);
        free(args);
    }
    /* a skipped step's NaN in the loss history is no damage: the run resumes */
    if (with_value(hmodel(), dst, "history.train_loss", NAN) == 0) {
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 31 --precision fp32 --threads 1 --checkpoint-dir '%s'",
                       hcorpus(), dst, t_path("nonfinite_cv2"));
        CHECKF(rc == 0, "a NaN in the loss history: exit %d: %s", rc, err);
        free(err);
    }
}

/* Option ranges live in the option tables (optdef.values): the spec's reading, and its words in messages. */
static void test_range_specs(void) {
    static const struct { const char *spec; double v; int in; } cases[] = {
        {"(0,1]", 0, 0}, {"(0,1]", 1e-300, 1}, {"(0,1]", 1, 1}, {"(0,1]", 1.0000001, 0},
        {"[0,1)", 0, 1}, {"[0,1)", 1, 0}, {"[1,inf)", 1, 1}, {"[1,inf)", 1e300, 1}, {"[1,inf)", 0.5, 0},
        {"0|[1e-6,1e6]", 0, 1}, {"0|[1e-6,1e6]", 1e-7, 0}, {"0|[1e-6,1e6]", 1e6, 1}, {"0|[1e-6,1e6]", -1, 0},
        {"0|1", 1, 1}, {"0|1", 2, 0}, {NULL, -1e300, 1},
        {"[1,", 1, -1}, {"1..2", 1, -1}, {"[1,2]x", 1, -1}, {"", 0, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        CHECKF(opt_in_range(cases[k].spec, cases[k].v) == cases[k].in, "opt_in_range(%s, %g) = %d, not %d", cases[k].spec,
               cases[k].v, opt_in_range(cases[k].spec, cases[k].v), cases[k].in);
    static const char *words[][2] = {{"(0,1]", "0 < N <= 1"}, {"[0,1)", "0 <= N < 1"}, {"[1,inf)", "1 or more"},
                                     {"(0,inf)", "more than 0"}, {"0|[1e-6,1e6]", "0 or 1e-6 to 1e6"}, {"0|1", "0 or 1"}};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        char out[128];
        opt_describe_range(words[k][0], out, sizeof out);
        CHECKF(!strcmp(out, words[k][1]), "%s in words: '%s', not '%s'", words[k][0], out, words[k][1]);
    }
    /* a table entry with a range: the parser refuses outside it in one line, accepts at the bound */
    int n = 0;
    double p = 0;
    optdef opts[] = {{"n", O_INT, &n, "[1,4096]", "", 0}, {"p", O_DOUBLE, &p, "(0,1]", "", 0}, {0, 0, 0, 0, 0, 0}};
    static const struct { const char *opt, *val, *msg; } refused[] = {
        {"--n", "0", "--n 0 is out of range; use 1 to 4096 (see 'charrnn x --help')"},
        {"--n", "4097", "--n 4097 is out of range; use 1 to 4096"},
        {"--p", "0", "--p 0 is out of range; use 0 < N <= 1"}, {"--p", "1.0000001", "--p 1.0000001 is out of range"},
    };
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        char *argv[] = {(char *)refused[k].opt, (char *)refused[k].val}, msg[512] = "";
        const char *pos[1];
        int rc = parse_args(2, argv, "x", "x", opts, pos, 1, msg, sizeof msg);
        CHECKF(rc == OPT_ERROR && strstr(msg, refused[k].msg) && !strchr(msg, '\n'), "%s %s: %s", refused[k].opt,
               refused[k].val, msg);
    }
    char *argv[] = {"--n", "4096", "--p", "1"}, msg[512] = "";
    const char *pos[1];
    CHECKF(parse_args(4, argv, "x", "x", opts, pos, 1, msg, sizeof msg) == 0 && n == 4096 && p == 1, "bounds refused: %s", msg);
}

/* Runs "charrnn CMD --NAME VAL --help": 0 when the value is taken (--help then exits 0), else the status,
 * and the message in *err. */
static int try_value(const char *cmd, const char *name, const char *val, char **err) {
    return t_cli(NULL, err, "%s --%s %s --help", cmd, name, val);
}

/* Every option of every command whose table gives a range (--help shows it: "; range SPEC"): each finite
 * bound of each piece is accepted, and the value just outside it (the bound itself where the end is open)
 * is refused with exit 2 and one line naming the option, the value as given and the range in words. */
static void test_option_ranges_every_command(void) {
    char *top;
    CHECK(t_cli(&top, NULL, "--help") == 0);
    int options = 0, tried = 0;
    for (char *line = top; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char cmd[32];
        if (sscanf(line, "  %31[a-z] ", cmd) != 1) continue;
        char *help;
        if (t_cli(&help, NULL, "%s --help", cmd) != 0) { free(help); continue; }
        for (char *l = help; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            char name[64], spec[128];
            const char *r = strstr(l, "; range ");
            const char *eol = strchr(l, '\n');
            if (sscanf(l, "  --%63[a-z0-9-] ", name) != 1 || !r || (eol && r > eol)) continue;
            snprintf(spec, sizeof spec, "%.*s", (int)strcspn(r + 8, "\n"), r + 8);
            options++;
            CHECKF(opt_in_range(spec, 0) >= 0, "%s --%s: its range '%s' does not parse", cmd, name, spec);
            char words[160];
            opt_describe_range(spec, words, sizeof words);
            for (const char *q = spec; *q;) {
                double lo, hi;
                int lo_open, hi_open, len = range_piece(q, &lo, &hi, &lo_open, &hi_open);
                if (len < 0) break;
                for (int end = 0; end < 2; end++) {
                    double b = end ? hi : lo;
                    int open = end ? hi_open : lo_open;
                    if (isinf(b)) continue;
                    char at[64], out[64], *err;
                    snprintf(at, sizeof at, "%.17g", b);
                    if (!open) {
                        int rc = try_value(cmd, name, at, &err);
                        CHECKF(rc == 0, "charrnn %s --%s %s (at the bound of %s): exit %d: %s", cmd, name, at, spec, rc, err);
                        free(err);
                        tried++;
                    }
                    /* just outside: the bound itself when open, else the next value beyond it (a whole
                     * number's next one where a fraction is not a value of the option) */
                    double o = open ? b : b + (end ? 1 : -1) * (b == 0 ? 1e-9 : fabs(b) * 1e-9);
                    snprintf(out, sizeof out, "%.17g", o);
                    int rc = try_value(cmd, name, out, &err);
                    if (rc == 2 && strstr(err, "whole number")) {
                        free(err);
                        o = b + (end ? 1 : -1);
                        snprintf(out, sizeof out, "%.17g", o);
                        rc = try_value(cmd, name, out, &err);
                    }
                    if (opt_in_range(spec, o) == 0) { /* not inside another piece */
                        char *shown = t_fmt("--%s %s is out of range; use %s", name, out, words);
                        CHECKF(rc == 2 && strstr(err, shown) && strchr(err, '\n') == err + strlen(err) - 1,
                               "charrnn %s --%s %s (outside %s): exit %d: %s", cmd, name, out, spec, rc, err);
                        free(shown);
                        tried++;
                    }
                    free(err);
                }
                q += len + (q[len] == '|');
            }
        }
        free(help);
    }
    free(top);
    CHECKF(options >= 25 && tried >= 2 * options, "%d options with a range, %d values tried", options, tried);
}

/* Dynamic evaluation takes the training's gradient statistics from the file as
 * it was when loaded: a file changed since is not read again. A model loaded
 * after the change sees the damage; one loaded before adapts as its twin does. */
static void test_adapt_uses_what_was_loaded(void) {
    const char *a = t_path("adapt_a.safetensors");
    charrnn_error err = {0};
    if (!CHECKF(checkpoint_rewrite(hmodel(), a, 0, NULL, NULL, NULL, NULL, &err) == 0, "%s", err.msg)) return;
    charrnn_model *before = NULL, *twin = NULL, *after = NULL;
    CHECKF(charrnn_model_load(&before, a, &err) == 0, "%s", err.msg);
    CHECKF(charrnn_model_load(&twin, a, &err) == 0, "%s", err.msg);
    if (with_value(hmodel(), a, "optim.m1", NAN) == 0) /* the file changes under the loaded models */
        CHECKF(charrnn_model_load(&after, a, &err) == 0, "a damaged moment fails dynamic evaluation, not loading: %s", err.msg);
    if (!before || !twin || !after) goto done;
    const char *text = "the cat sat on the mat.\nthe dog sat on the log.\n";
    charrnn_dynamic_options o;
    charrnn_dynamic_options_default(&o);
    o.learning_rate = 1e-3;
    charrnn_eval_result r1, r2, r3;
    charrnn_model_set_precision(before, CHARRNN_PRECISION_FP32, &err);
    charrnn_model_set_precision(twin, CHARRNN_PRECISION_FP32, &err);
    CHECKF(charrnn_model_adapt(before, text, strlen(text), "t", &o, NULL, NULL, &r1, &err) == 0,
           "loaded before the change: %s", err.msg);
    CHECKF(charrnn_model_adapt(twin, text, strlen(text), "t", &o, NULL, NULL, &r2, &err) == 0, "%s", err.msg);
    CHECKF(r1.nats == r2.nats, "the same statistics, the same steps: %.17g vs %.17g", r1.nats, r2.nats);
    int rc = charrnn_model_adapt(after, text, strlen(text), "t", &o, NULL, NULL, &r3, &err);
    CHECKF(rc == CHARRNN_EFORMAT && strstr(err.msg, "optim.m1") && strstr(err.msg, "NaN"),
           "loaded after the change: rc %d: %s", rc, err.msg);
done:
    charrnn_model_close(before);
    charrnn_model_close(twin);
    charrnn_model_close(after);
}

/* The run id comes from the header alone: a checkpoint whose data is damaged
 * still names its run (loading it is what refuses it), and what is not a
 * checkpoint is named as such. */
static void test_run_id_from_header(void) {
    charrnn_error err = {0};
    charrnn_model *m = NULL;
    if (!CHECKF(charrnn_model_load(&m, hmodel(), &err) == 0, "%s", err.msg)) return;
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    charrnn_model_close(m);
    size_t n;
    unsigned char *bytes = (unsigned char *)t_read_file(hmodel(), &n);
    if (!CHECK(bytes && n > 100)) { free(bytes); return; }
    bytes[n - 3] ^= 0x40; /* a weight's bit: the seal breaks, the header stands */
    const char *bad = t_path("runid_damaged.safetensors");
    t_write_file(bad, bytes, n);
    free(bytes);
    uint64_t id = 1;
    CHECKF(charrnn_checkpoint_run_id(bad, &id, &err) == 0 && id == in.run_id && id != 0,
           "run id %llx, want %llx: %s", (unsigned long long)id, (unsigned long long)in.run_id, err.msg);
    CHECKF(charrnn_model_load(&m, bad, &err) == CHARRNN_EFORMAT && strstr(err.msg, "checksum"), "%s", err.msg);
    const char *text = t_path("runid.txt");
    t_write_file(text, "0123456789abcdefghij", 20);
    CHECKF(charrnn_checkpoint_run_id(text, &id, &err) == CHARRNN_EFORMAT && id == 0 && strstr(err.msg, text),
           "a text file: %s", err.msg);
    CHECK(charrnn_file_kind(bad) == CHARRNN_FILE_NETWORK && charrnn_file_kind(text) == CHARRNN_FILE_UNKNOWN &&
          charrnn_file_kind(t_path("no such file")) == CHARRNN_FILE_UNKNOWN);
}

void register_hardening_tests(void) {
    t_register("hard_adapt_uses_what_was_loaded", test_adapt_uses_what_was_loaded);
    t_register("hard_run_id_from_header", test_run_id_from_header);
    t_register("hard_sample_huge_length", test_sample_huge_length);
    t_register("hard_checked_allocation", test_checked_allocation);
    t_register("hard_edited_options_refused", test_edited_options_refused);
    t_register("hard_rnn_size_one_limit", test_rnn_size_one_limit);
    t_register("hard_corpus_changes_while_read", test_corpus_changes_while_read);
    t_register("hard_huge_weights", test_huge_weights);
    t_register("hard_softmax_extreme_logits", test_softmax_extreme_logits);
    t_register("hard_resume_writes_own_dir", test_resume_writes_own_dir);
    t_register("hard_fresh_run_refuses_other_run", test_fresh_run_refuses_other_run);
    t_register("hard_lock_refuses_second_training", test_lock_refuses_second_training);
    t_register("hard_no_writes_through_links", test_no_writes_through_links);
    t_register("hard_write_errors_reported", test_write_errors_reported);
    t_register("hard_eval_long_seq_bounded", test_eval_long_seq_bounded);
    t_register("hard_messages", test_messages);
    t_register("hard_max_iters_huge", test_max_iters_huge);
    t_register("hard_init_from_names_character", test_init_from_names_character);
    t_register("hard_info_escapes", test_info_escapes);
    t_register("hard_resume_hint_quoted", test_resume_hint_quoted);
    t_register("hard_numbers_in_messages", test_numbers_in_messages);
    t_register("hard_range_specs", test_range_specs);
    t_register("hard_option_ranges_every_command", test_option_ranges_every_command);
    t_register("hard_no_claimed_checkpoint", test_no_claimed_checkpoint);
    t_register("hard_nonfinite_tensors_refused", test_nonfinite_tensors_refused);
}
