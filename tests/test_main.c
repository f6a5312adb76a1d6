/* test_main.c: runs every registered test (or those whose name holds any of the
 * arguments: run_tests backend_ device_), names the skipped ones, and prints
 * "N passed, N failed". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>

#define MAX_TESTS 512
static struct { const char *name; void (*fn)(void); } tests[MAX_TESTS];
static int ntests;
static int cur_failed;
static const char *cur_skip;
static char tmpdir[256];

void t_register(const char *name, void (*fn)(void)) {
    if (ntests < MAX_TESTS) { tests[ntests].name = name; tests[ntests].fn = fn; ntests++; }
}

void t_skip(const char *why) { cur_skip = why; }

int t_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...) {
    if (ok) return 1;
    cur_failed++;
    fprintf(stderr, "    FAIL %s:%d: %s", file, line, expr);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, " -- ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "\n");
    return 0;
}

int t_check_close(double a, double b, double atol, double rtol, const char *file, int line,
                  const char *expr) {
    int ok = isfinite(a) && isfinite(b) && fabs(a - b) <= atol + rtol * fabs(b);
    if (!ok) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s = %.9g, expected %.9g (atol %g, rtol %g)", expr, a, b, atol, rtol);
        return t_check(0, file, line, msg, NULL);
    }
    return 1;
}

const char *t_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/charrnn-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(2); }
    }
    return tmpdir;
}

const char *t_path(const char *name) {
    /* one stable string per name, kept for the whole run (reachable: not a leak) */
    static char *names[2048], *paths[2048];
    static int n;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return paths[i];
    char *b = t_fmt("%s/%s", t_tmpdir(), name);
    if (n < 2048) { names[n] = strdup(name); paths[n] = b; n++; }
    return b;
}

const char *t_trained(const char *dir, const char *corpus, const char *fmt, ...) {
    static struct { const char *dir; char *ckpt; } runs[32]; /* kept for the whole run; ckpt NULL: failed */
    static int n;
    for (int i = 0; i < n; i++)
        if (!strcmp(runs[i].dir, dir)) return runs[i].ckpt;
    va_list ap;
    va_start(ap, fmt);
    char *args = t_vfmt(fmt, ap);
    va_end(ap);
    const char *cv = t_path(dir);
    char *ckpt = t_fmt("%s/latest.safetensors", cv), *err = NULL;
    int rc = t_cli(NULL, &err, "train '%s' %s --checkpoint-dir '%s'", corpus, args, cv);
    struct stat st;
    if (!CHECKF(rc == 0 && stat(ckpt, &st) == 0, "training the test model in %s failed: exit %d: %s", dir, rc, err)) {
        free(ckpt);
        ckpt = NULL;
    }
    free(args);
    free(err);
    if (n < 32) { runs[n].dir = strdup(dir); runs[n].ckpt = ckpt; n++; }
    return ckpt;
}

int t_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int t_write_safetensors(const char *path, const char *header, const void *data, size_t len) {
    size_t hl = strlen(header);
    unsigned char *b = malloc(8 + hl + len + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (len) memcpy(b + 8 + hl, data, len);
    int rc = t_write_file(path, b, 8 + hl + len);
    free(b);
    return rc;
}

char *t_vfmt(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *t_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = t_vfmt(fmt, ap);
    va_end(ap);
    return s;
}

char *t_read_file(const char *path, size_t *len) {
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = fread(s, 1, (size_t)(n > 0 ? n : 0), f);
    fclose(f);
    s[got] = 0;
    if (len) *len = got;
    return s;
}

static char *slurp(const char *path) {
    char *s = t_read_file(path, NULL);
    return s ? s : strdup("");
}

int t_run(const char *cmd, char **out, char **errout) {
    char o[512], e[512], full[8192];
    snprintf(o, sizeof o, "%s/.stdout", t_tmpdir());
    snprintf(e, sizeof e, "%s/.stderr", t_tmpdir());
    snprintf(full, sizeof full, "( %s ) >%s 2>%s </dev/null", cmd, o, e);
    int st = system(full);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (out) *out = slurp(o);
    if (errout) *errout = slurp(e);
    return code;
}

int t_cli(char **out, char **err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *args = t_vfmt(fmt, ap);
    va_end(ap);
    char *cmd = t_fmt("%s %s", t_bin(), args);
    char *o = NULL, *e = NULL;
    int rc = t_run(cmd, &o, &e);
    free(cmd);
    free(args);
    if (out) *out = o; else free(o);
    if (err) *err = e; else free(e);
    return rc;
}

int t_crashed(int rc, const char *err) {
    return rc >= 128 || strstr(err, "Sanitizer") || strstr(err, "runtime error:");
}

void t_expect_fail_at(const char *file, int line, const char *what, int rc, const char *err, const char *needle) {
    t_check(rc != 0 && rc < 124 && !t_crashed(rc, err), file, line, "a clean failure", "%s: exit %d%s: %s", what, rc,
            rc == 124 || rc == 137 ? " (it hung: timeout)" : "", err);
    const char *e = strstr(err, "charrnn: error: ");
    if (!t_check(e != NULL, file, line, "an error line", "%s: %s", what, err) || !needle) return;
    const char *nl = strchr(e, '\n');
    char *l = strndup(e, nl ? (size_t)(nl - e) : strlen(e));
    t_check(strstr(l, needle) != NULL, file, line, "message content", "%s: the error lacks \"%s\": %s", what, needle, l);
    free(l);
}

const char *t_bin(void) {
    const char *b = getenv("CHARRNN_BIN");
    return b ? b : "./charrnn";
}

const char *t_fixtures(void) {
    const char *f = getenv("CHARRNN_FIXTURES");
    return f ? f : "tests/fixtures";
}

static void cleanup(void) {
    if (tmpdir[0] && !getenv("CHARRNN_KEEP_TMP")) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    }
}

#define X(name) void name(void);
#include "test_list.h"
#undef X

int main(int argc, char **argv) {
#define X(name) name();
#include "test_list.h"
#undef X
    atexit(cleanup);
    int passed = 0, failed = 0, skipped = 0;
    static const char *skip_name[MAX_TESTS], *skip_why[MAX_TESTS];
    for (int i = 0; i < ntests; i++) {
        int wanted = argc < 2; /* the tests whose name holds any of the arguments (none: all) */
        for (int a = 1; a < argc && !wanted; a++) wanted = strstr(tests[i].name, argv[a]) != NULL;
        if (!wanted) continue;
        cur_failed = 0;
        cur_skip = NULL;
        fprintf(stderr, "  %-44s ", tests[i].name);
        fflush(stderr);
        tests[i].fn();
        if (cur_failed) { failed++; fprintf(stderr, "  -> FAILED %s\n", tests[i].name); }
        else if (cur_skip) {
            skip_name[skipped] = tests[i].name;
            skip_why[skipped++] = cur_skip;
            fprintf(stderr, "skipped (%s)\n", cur_skip);
        } else { passed++; fprintf(stderr, "ok\n"); }
    }
    fflush(stderr);
    /* what was skipped, named, then the one summary line (test.sh collects both) */
    for (int i = 0; i < skipped; i++) printf("skipped: %s (%s)\n", skip_name[i], skip_why[i]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
