/* test_hardening.c: what a break-it pass found, one test per finding, each closing the whole class
 * (the other findings: test_hard_options.c, options and messages; test_hard_limits.c, numbers and limits).
 * Here files and checkpoints: a checkpoint whose metadata was edited (checksum recomputed, as anyone can)
 * is validated like the command line, field by field; a run never overwrites another run or writes
 * through a planted link; a tensor that training cannot produce is refused wherever it is read; a
 * checkpoint is read once. And the helpers the three files share (test_hardening.h). Run under
 * ASan + UBSan by test.sh. */
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

/* ---- helpers (test_hardening.h) -------------------------------------------------------------- */

int hard_exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

const char *hcorpus(void) {
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
const char *hmodel(void) {
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
int hard_edit_checkpoint(const char *src, const char *dst, const char *key, const char *field, const char *repl) {
    char *js = meta_of(src, key);
    char *edited = js ? json_set(js, field, repl) : NULL;
    charrnn_error err = {0};
    int rc = edited ? checkpoint_rewrite(src, dst, 1, (const char *[]){key}, (const char *[]){edited}, NULL, NULL, &err) : -1;
    CHECKF(rc == 0, "editing %s.%s of %s: %s", key, field, src, err.msg);
    free(js);
    free(edited);
    return rc;
}

/* ---- what a checkpoint says is checked like the command line --------------------------------- */

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
        {"train_options", "lr_schedule", "\"linear\"", "lr_schedule"},
        {"train_options", "min_lr", "1", "\"min_lr\" is 1"},
        {"train_options", "warmup_iters", "-2", "warmup_iters"},
        {"train_options", "weight_decay", "-0.5", "\"weight_decay\" is -0.5"},
        {"train_options", "weight_decay", "\"0.1\"", "weight_decay"},
        {"train_state", "iteration", "4611686018427387904", "iteration"},
        {"train_state", "iteration", "12.5", "iteration"},
        {"train_state", "learning_rate", "-1", "learning_rate"},
        {"train_state", "schedule_lr", "0", "schedule_lr"},
        {"train_state", "schedule_lr", "-1e-3", "schedule_lr"},
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
        if (hard_edit_checkpoint(src, dst, cases[i].key, cases[i].field, cases[i].value)) continue;
        char *err, what[200];
        int rc = t_cli(NULL, &err, "train '%s' --resume '%s' --checkpoint-dir '%s' --max-iters 40 --threads 1", hcorpus(),
                       dst, cvdir);
        snprintf(what, sizeof what, "--resume with %s.%s = %s", cases[i].key, cases[i].field, cases[i].value);
        EXPECT_FAIL(what, rc, err, cases[i].needle);
        CHECKF(strstr(err, dst) != NULL, "%s: the message should name the file: %s", what, err);
        free(err);
    }
    /* the same validation when the file is only read */
    hard_edit_checkpoint(src, dst, "train_options", "train_frac", "7");
    char *err;
    int rc = t_cli(NULL, &err, "info '%s'", dst);
    EXPECT_FAIL("info on edited train_frac", rc, err, "train_frac");
    free(err);
}

/* ---- never overwrite a run ------------------------------------------------------------------- */

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
    CHECKF(!hard_exists(t_path("cv")), "the resumed run wrote into ./cv");
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
    for (int i = 0; i < 6000 && !hard_exists(t_path("runL/train.jsonl")); i++) usleep(10000);
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

/* ---- a checkpoint's tensors, read once ------------------------------------------------------- */

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
    t_register("hard_edited_options_refused", test_edited_options_refused);
    t_register("hard_resume_writes_own_dir", test_resume_writes_own_dir);
    t_register("hard_fresh_run_refuses_other_run", test_fresh_run_refuses_other_run);
    t_register("hard_lock_refuses_second_training", test_lock_refuses_second_training);
    t_register("hard_no_writes_through_links", test_no_writes_through_links);
    t_register("hard_nonfinite_tensors_refused", test_nonfinite_tensors_refused);
}
