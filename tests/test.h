/* test.h: the project's small test harness. A test is a void function that makes
 * checks; it passes when none fails. tests/test_main.c runs every registered test
 * (or those whose name contains argv[1]) and ends with "N passed, N failed". */
#ifndef CHARRNN_TEST_H
#define CHARRNN_TEST_H

#include <stdarg.h>
#include <stddef.h>

void t_register(const char *name, void (*fn)(void));
int t_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...);
#define CHECK(c) t_check(!!(c), __FILE__, __LINE__, #c, NULL)
#define CHECKF(c, ...) t_check(!!(c), __FILE__, __LINE__, #c, __VA_ARGS__)
/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol) t_check_close((a), (b), (atol), (rtol), __FILE__, __LINE__, #a)
int t_check_close(double a, double b, double atol, double rtol, const char *file, int line,
                  const char *expr);

/* The running test cannot run here (a tool or processor feature is missing): it is
 * counted as skipped, not passed, and named with why above the summary line. A
 * failed check in the same test still fails it. */
void t_skip(const char *why);

/* The backends the network's tests run through, float32 first (test_backends.c):
 * use(m) switches a fresh model onto it and returns 0, or -1 where this processor
 * or build does not run it; tol scales the tolerances of a comparison with
 * float32's (or PyTorch's) numbers to its rounding (1 for float32). */
struct model;
typedef struct t_backend { const char *name; int (*use)(struct model *m); double tol; } t_backend;
extern const t_backend t_backends[];
extern const int t_num_backends;

/* A fresh temporary directory for this test run (removed at exit). */
const char *t_tmpdir(void);
/* t_path("x.txt"): a path inside t_tmpdir(); the same string for the same name, valid for the whole run. */
const char *t_path(const char *name);
/* Writes len bytes to path; returns 0 on success. */
int t_write_file(const char *path, const void *data, size_t len);
/* Writes a safetensors file by hand: the 8-byte little-endian length of header,
 * header as given (not padded), then len bytes of data; returns 0 on success. */
int t_write_safetensors(const char *path, const char *header, const void *data, size_t len);
/* printf into a malloc'd string. */
char *t_fmt(const char *fmt, ...);
char *t_vfmt(const char *fmt, va_list ap);
/* The whole file, malloc'd and NUL-terminated (its length in *len, which may be
 * NULL), or NULL if it cannot be read. */
char *t_read_file(const char *path, size_t *len);
/* Runs a shell command, captures stdout and stderr (separately) into malloc'd
 * strings (caller frees), returns the exit status (or 128+signal). */
int t_run(const char *cmd, char **out, char **errout);
/* Runs "BIN ARGS" (ARGS a printf format) with t_run; out/err may be NULL. */
int t_cli(char **out, char **err, const char *fmt, ...);
/* Whether a command crashed: a signal (status 128 and up) or a sanitizer's
 * report in its stderr err (ASan and UBSan exit with 1 here). */
int t_crashed(int rc, const char *err);
/* Checks that a command failed cleanly: exit 1..123 (124 is timeout's, for a
 * hang), no crash, and a line "charrnn: error: ..." in err holding needle
 * (NULL: any). what names the command in the failure. */
void t_expect_fail_at(const char *file, int line, const char *what, int rc, const char *err, const char *needle);
#define EXPECT_FAIL(what, rc, err, needle) t_expect_fail_at(__FILE__, __LINE__, what, rc, err, needle)
/* A tiny model for the tests that need one, trained once per run: "charrnn train CORPUS ARGS
 * --checkpoint-dir t_path(dir)" (ARGS a printf format: the model's size, --max-iters, --threads 1, and
 * --precision fp32 where numbers matter). Returns its latest.safetensors, the same string for the same
 * dir; NULL when training failed, which is reported once as a failed check (later calls: NULL at once). */
const char *t_trained(const char *dir, const char *corpus, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The charrnn binary under test (env CHARRNN_BIN, default ./charrnn). */
const char *t_bin(void);
/* Directory holding the committed fixtures (env CHARRNN_FIXTURES, default tests/fixtures). */
const char *t_fixtures(void);

#endif
