/* test_faults.c: the previous checkpoint survives every failure of a checkpoint
 * write. The test binary is linked with -Wl,--wrap for open, write, fsync, close
 * and rename (see the Makefile), so the library's own calls go through the
 * wrappers below; a test arms "fail the k-th call" (or "write only half at the
 * k-th call, then fail"), saves over a good checkpoint for every k until a save
 * goes through untouched, and checks each time that the file at the path is a
 * complete, loadable checkpoint (the old one, or the new one once a save
 * reported success) and that no temporary file is left behind. Checksums in
 * checkpoints and the loader's refusal of damaged files are tested here too. */
#include "test.h"

#include "charrnn.h"
#include "handle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the wrappers ------------------------------------------------------------------- */

static int armed;       /* count calls only while a save is under test */
static int fail_at;     /* the call number that fails (1-based) */
static int short_write; /* that call, if a write, first writes half */
static int calls;
static const char *count_path; /* opens of this path are counted in opens */
static int opens;

int __real_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_close(int fd);
int __real_rename(const char *a, const char *b);

static int should_fail(void) { return armed && ++calls == fail_at; }

int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (count_path && !strcmp(path, count_path)) opens++;
    if (should_fail()) { errno = EACCES; return -1; }
    return __real_open(path, flags, mode);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n) {
    if (should_fail()) {
        if (short_write && n > 1) return __real_write(fd, buf, n / 2); /* the next call fails */
        errno = ENOSPC;
        return -1;
    }
    if (armed && short_write && calls == fail_at + 1) { errno = ENOSPC; return -1; }
    return __real_write(fd, buf, n);
}

int __wrap_fsync(int fd) {
    if (should_fail()) { errno = EIO; return -1; }
    return __real_fsync(fd);
}

int __wrap_close(int fd) {
    if (should_fail()) { __real_close(fd); errno = EIO; return -1; }
    return __real_close(fd);
}

int __wrap_rename(const char *a, const char *b) {
    if (should_fail()) { errno = EXDEV; return -1; }
    return __real_rename(a, b);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static char text[6000];
static const char *const FOX = "the quick brown fox jumps over the lazy dog.\n";

/* A 1 x 8 LSTM on `line` repeated, batch 4 x seq 8. */
static charrnn_trainer *small_trainer(const char *line, long iters, long skip_nonfinite) {
    size_t n = 0;
    while (n + strlen(line) < sizeof text) { memcpy(text + n, line, strlen(line)); n += strlen(line); }
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.num_layers = 1;
    mc.rnn_size = 8;
    o.batch_size = 4;
    o.seq_length = 8;
    o.max_iters = iters;
    o.skip_nonfinite = skip_nonfinite;
    charrnn_error err;
    charrnn_trainer *t = NULL;
    CHECKF(charrnn_trainer_open(&t, NULL, text, n, &mc, &o, &err) == 0, "%s", err.msg);
    return t;
}

static long iteration_of(const char *path) {
    charrnn_model *m;
    charrnn_error err;
    if (charrnn_model_load(&m, path, &err)) return -1;
    charrnn_model_info info;
    charrnn_model_get_info(m, &info);
    charrnn_model_close(m);
    return info.iteration;
}

static int count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) n++;
    if (d) closedir(d);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void fault_sweep(int shorts) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/faults%d", t_tmpdir(), shorts);
    mkdir(dir, 0755);
    char path[600];
    snprintf(path, sizeof path, "%s/latest.safetensors", dir);
    charrnn_trainer *t = small_trainer(FOX, 10, 0);
    if (!t) return;
    charrnn_error err;
    charrnn_step_stats st;
    CHECK(charrnn_trainer_step(t, &st, &err) == 0);
    CHECKF(charrnn_trainer_save(t, path, &err) == 0, "%s", err.msg);
    long good = 1;
    int k, succeeded = 0;
    for (k = 1; k < 200 && !succeeded; k++) {
        CHECK(charrnn_trainer_step(t, &st, &err) == 0);
        calls = 0;
        fail_at = k;
        short_write = shorts;
        armed = 1;
        int rc = charrnn_trainer_save(t, path, &err);
        armed = 0;
        int hit = calls >= k; /* the fault was reached during this save */
        long it = iteration_of(path);
        if (rc == 0) {
            CHECKF(it == st.iteration, "save reported success at fault %d but the file holds iteration %ld", k, it);
            good = it;
            succeeded = !hit;
        } else {
            CHECKF(strlen(err.msg) > 10 && strstr(err.msg, path), "fault %d: the message should name the file: %s", k, err.msg);
            /* a failure after the rename (directory fsync) leaves the new, complete file */
            CHECKF(it == good || it == st.iteration, "fault %d (%s): the file holds iteration %ld, expected %ld", k,
                   err.msg, it, good);
            if (it == st.iteration) good = it;
        }
        CHECKF(count_tmp_files(dir) == 0, "fault %d left a temporary file in %s", k, dir);
    }
    CHECKF(k > 5, "only %d calls were faulted: the wrappers are not reached", k);
    CHECK(succeeded);
    charrnn_trainer_close(t);
}

static void test_fault_fail_each_call(void) { fault_sweep(0); }
static void test_fault_short_write(void) { fault_sweep(1); }

/* Flipping any byte of the data block, of a metadata value, or cutting the file
 * short is refused with a message naming the file. */
static void test_checksum_refuses_damage(void) {
    charrnn_trainer *t = small_trainer(FOX, 3, 0);
    if (!t) return;
    charrnn_error err;
    charrnn_step_stats st;
    CHECK(charrnn_trainer_step(t, &st, &err) == 0);
    const char *path = t_path("good.safetensors");
    CHECK(charrnn_trainer_save(t, path, &err) == 0);
    charrnn_trainer_close(t);
    size_t len;
    char *raw = t_read_file(path, &len);
    if (!CHECK(raw && len > 100)) return;
    uint64_t hl = 0;
    memcpy(&hl, raw, 8);
    size_t data = 8 + (size_t)hl;
    const char *bad = t_path("bad.safetensors");
    /* a byte in the middle of the tensors, the last byte, a digit inside the train_state metadata */
    size_t spots[3] = {data + (len - data) / 2, len - 1, 0};
    const char *needle = "\\\"iteration\\\":";
    char *ts = memmem(raw, len, needle, strlen(needle));
    if (CHECK(ts != NULL)) spots[2] = (size_t)(ts - raw) + 14;
    for (int i = 0; i < 3; i++) {
        raw[spots[i]] ^= 0x01;
        t_write_file(bad, raw, len);
        raw[spots[i]] ^= 0x01;
        charrnn_model *m = NULL;
        int rc = charrnn_model_load(&m, bad, &err);
        CHECKF(rc != 0 && strstr(err.msg, bad), "flipping byte %zu was not detected: %s", spots[i], rc ? err.msg : "loaded");
        if (!rc) charrnn_model_close(m);
    }
    /* an edited checksum: the message quotes it (a use-after-free the fuzzer found) */
    char *sum = memmem(raw, len, "fnv1a64:", 8);
    if (CHECK(sum != NULL)) {
        sum[8] = sum[8] == '0' ? '1' : '0';
        t_write_file(bad, raw, len);
        sum[8] = sum[8] == '0' ? '1' : '0';
        charrnn_model *m2 = NULL;
        int rc2 = charrnn_model_load(&m2, bad, &err);
        CHECKF(rc2 != 0 && strstr(err.msg, "corrupted") && strstr(err.msg, "fnv1a64:"), "%s", rc2 ? err.msg : "loaded");
        if (!rc2) charrnn_model_close(m2);
    }
    t_write_file(bad, raw, len - 4);
    charrnn_model *m = NULL;
    int rc = charrnn_model_load(&m, bad, &err);
    CHECKF(rc != 0 && strstr(err.msg, bad), "a truncated file was not refused: %s", rc ? err.msg : "loaded");
    if (!rc) charrnn_model_close(m);
    CHECK(iteration_of(path) == 1);
    free(raw);
}

/* --skip-nonfinite: a step whose loss is NaN is skipped within the budget, then
 * refused; the weights are untouched either way. A NaN decoder bias makes every
 * loss NaN. */
static void test_skip_nonfinite(void) {
    charrnn_error err;
    charrnn_trainer *t = small_trainer("abcabcabd\n", 200, 3);
    if (!t) return;
    model *net = &charrnn_trainer_model(t)->net;
    model_params(net)[model_find_param(net, "decoder.bias")->offset] = NAN;
    model_weights_changed(net);
    float *before = malloc(sizeof(float) * net->num_params);
    memcpy(before, model_params(net), sizeof(float) * net->num_params);
    charrnn_step_stats st = {0};
    int rc = 0, steps = 0;
    long skipped = 0;
    while (!charrnn_trainer_done(t) && (rc = charrnn_trainer_step(t, &st, &err)) == 0) {
        steps++;
        skipped += st.skipped;
    }
    CHECKF(rc == CHARRNN_ENONFINITE && steps == 3, "a NaN bias should end training after 3 skipped steps, got %d after %d", rc, steps);
    CHECKF(skipped == 3 && st.skipped_total == 3, "skipped %ld steps, expected the budget of 3", skipped);
    CHECKF(strstr(err.msg, "--skip-nonfinite") != NULL, "%s", err.msg);
    CHECK(memcmp(before, model_params(net), sizeof(float) * net->num_params) == 0); /* NaN compares bitwise here */
    free(before);
    charrnn_trainer_close(t);
}

/* A checkpoint is read once however many parts of it a caller needs: resuming
 * (its options, model and run), loading, and the run id (the header only). */
static void test_one_read_per_checkpoint(void) {
    charrnn_trainer *t = small_trainer(FOX, 6, 0);
    if (!t) return;
    charrnn_error err;
    charrnn_step_stats st;
    CHECK(charrnn_trainer_step(t, &st, &err) == 0);
    const char *path = t_path("once.safetensors");
    CHECK(charrnn_trainer_save(t, path, &err) == 0);
    charrnn_trainer_close(t);
    size_t n = strlen(text);
    count_path = path;
    static const char *const WHAT[] = {"charrnn_trainer_resume", "charrnn_model_load", "charrnn_checkpoint_run_id"};
    for (int k = 0; k < 3; k++) {
        opens = 0;
        int rc;
        uint64_t id = 0;
        charrnn_model *m = NULL;
        charrnn_trainer *r = NULL;
        if (k == 0) rc = charrnn_trainer_resume(&r, path, NULL, text, n, NULL, &err);
        else if (k == 1) rc = charrnn_model_load(&m, path, &err);
        else rc = charrnn_checkpoint_run_id(path, &id, &err);
        CHECKF(rc == 0 && opens == 1, "%s opened the checkpoint %d times (rc %d: %s)", WHAT[k], opens, rc, rc ? err.msg : "");
        charrnn_trainer_close(r);
        charrnn_model_close(m);
    }
    count_path = NULL;
}

void register_fault_tests(void) {
    t_register("faults_one_read_per_checkpoint", test_one_read_per_checkpoint);
    t_register("faults_fail_each_call", test_fault_fail_each_call);
    t_register("faults_short_write", test_fault_short_write);
    t_register("faults_checksum_refuses_damage", test_checksum_refuses_damage);
    t_register("faults_skip_nonfinite", test_skip_nonfinite);
}
