/* test_ngram_cli.c: the n-gram baseline from the command line: charrnn ngram prints val and test
 * losses, charrnn eval of the saved model gives the same, charrnn sample generates reproducible text,
 * the network's options are refused, bad options and files are refused. */
#include "test.h"
#include "charrnn.h"
#include "safetensors.h"
#include "test_cli.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the command line ----------------------------------------------------------------- */

/* exit status code, no crash, one "charrnn: error:" line holding needle */
static void expect_refusal_at(int line, const char *what, int rc, int code, const char *err, const char *needle) {
    int lines = 0;
    for (const char *p = err; (p = strstr(p, "error:")); p++) lines++;
    t_check(!t_crashed(rc, err) && rc == code, __FILE__, line, what, "exit %d (expected %d), stderr: %s", rc, code, err);
    t_check(lines == 1 && !strncmp(err, "charrnn: error: ", 16) && strstr(err, needle), __FILE__, line, what,
            "expected one error line with \"%s\", stderr: %s", needle, err);
}
#define EXPECT_REFUSAL(what, rc, code, err, needle) expect_refusal_at(__LINE__, what, rc, code, err, needle)

/* The "X nats, Y bpc" text after "label: " on its line in out, or "" (static buffer). */
static const char *loss_text(const char *out, const char *label) {
    static char buf[128];
    buf[0] = 0;
    const char *p = strstr(out, label);
    if (!p) return buf;
    p += strlen(label);
    const char *e = strstr(p, " over ");
    if (!e || e - p >= (long)sizeof buf) return buf;
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = 0;
    return buf;
}

static const char *cli_corpus(char **text, size_t *len) {
    static const char *S[] = {"the cat", "a dog", "my friend", "the old man"};
    static const char *V[] = {" sat on", " looked at", " ran to"};
    static const char *O[] = {" the mat.\n", " a tree.\n", " the red box.\n"};
    static char buf[12100];
    size_t n = 0;
    lcg_state = 3;
    while (n < 12000) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", S[lcg() % 4], V[lcg() % 3], O[lcg() % 3]);
    const char *path = t_path("ngram_corpus.txt");
    t_write_file(path, buf, n);
    *text = buf;
    *len = n;
    return path;
}

static void test_cli_ngram_eval(void) {
    char *text;
    size_t n;
    const char *corpus = cli_corpus(&text, &n), *model = t_path("cli.safetensors");
    char *out = NULL, *err = NULL;
    int rc = t_cli(&out, &err, "ngram %s --order 3 --train-frac 0.8 --val-frac 0.1 --save %s", corpus, model);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    char val[128], test[128];
    snprintf(val, sizeof val, "%s", loss_text(out, "val: "));
    snprintf(test, sizeof test, "%s", loss_text(out, "test: "));
    double vn, vb, tn, tb;
    CHECKF(sscanf(val, "%lf nats, %lf bpc", &vn, &vb) == 2 && fabs(vb - vn / log(2.0)) < 2e-4, "val line: %s", out);
    CHECKF(sscanf(test, "%lf nats, %lf bpc", &tn, &tb) == 2 && fabs(tb - tn / log(2.0)) < 2e-4, "test line: %s", out);
    CHECKF(vn > 0.05 && vn < 1.5, "val loss %g nats on a corpus this regular", vn);
    free(out);
    free(err);
    /* the blocks, cut as training cuts them (ASCII: characters are bytes) */
    size_t tr = (size_t)floor((double)n * 0.8), va = (size_t)floor((double)n * 0.1);
    const char *vpath = t_path("ngram_val.txt"), *tpath = t_path("ngram_test.txt");
    t_write_file(vpath, text + tr, va);
    t_write_file(tpath, text + tr + va, n - tr - va);
    rc = t_cli(&out, &err, "eval %s %s", model, vpath);
    CHECKF(rc == 0, "eval exit %d: %s", rc, err);
    CHECKF(!strcmp(loss_text(out, ": "), val), "eval of the val block says \"%s\", ngram said \"%s\"", loss_text(out, ": "), val);
    CHECKF(strstr(out, "(0 unknown skipped; 1 stream)") != NULL, "%s", out);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "eval %s %s", model, tpath);
    CHECKF(rc == 0 && !strcmp(loss_text(out, ": "), test), "eval of the test block: %s, ngram said \"%s\"", out, test);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "info %s", model);
    CHECKF(rc == 0 && strstr(out, "order 3") && strstr(out, "interpolated modified Kneser-Ney"), "info: %s %s", out, err);
    free(out);
    free(err);
    /* the default split leaves no test block: said so, not a crash */
    rc = t_cli(&out, &err, "ngram %s --order 2", corpus);
    CHECKF(rc == 0 && strstr(out, "val: ") && strstr(out, "test: none"), "exit %d: %s %s", rc, out, err);
    free(out);
    free(err);
}

static void test_cli_sample(void) {
    char *text;
    size_t n;
    const char *corpus = cli_corpus(&text, &n), *model = t_path("cli_s.safetensors");
    char *out = NULL, *err = NULL, *out2 = NULL;
    int rc = t_cli(NULL, &err, "ngram %s --order 4 --save %s", corpus, model);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(&out, &err, "sample %s --length 300 --seed 5 --verbose 0", model);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strlen(out) == 301 && out[300] == '\n', "%zu bytes: %s", strlen(out), out);
    int outside = 0;
    for (size_t i = 0; i < 300 && out[i]; i++) outside += !memchr(text, out[i], n);
    CHECKF(outside == 0, "%d characters outside the vocabulary", outside);
    free(err);
    rc = t_cli(&out2, &err, "sample %s --length 300 --seed 5 --verbose 0", model);
    CHECKF(rc == 0 && !strcmp(out, out2), "same seed, another text:\n%s\n%s", out, out2);
    free(out2);
    free(err);
    rc = t_cli(&out2, &err, "sample %s --length 300 --seed 6 --verbose 0", model);
    CHECKF(rc == 0 && strcmp(out, out2), "another seed, the same text");
    free(out2);
    free(err);
    free(out);
    rc = t_cli(&out, &err, "sample %s --length 40 --primetext 'the old' --temperature 0 --verbose 0", model);
    CHECKF(rc == 0 && !strncmp(out, "the old", 7) && strlen(out) == 48, "exit %d: [%s] %s", rc, out, err);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample %s --length 20 --num-samples 2 --verbose 0", model);
    CHECKF(rc == 0 && strstr(out, "--- sample 1 ---\n") && strstr(out, "--- sample 2 ---\n"), "exit %d: %s %s", rc, out, err);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "ngram %s --order 4 --sample 100 --seed 9", corpus);
    const char *s = strstr(out, "--- sample: 100 characters, temperature 1, seed 9 ---\n");
    CHECKF(rc == 0 && s && strlen(strchr(s, '\n') + 1) == 101, "exit %d: %s %s", rc, out, err);
    free(out);
    free(err);
}

static void test_cli_refusals(void) {
    char *text;
    size_t n;
    const char *corpus = cli_corpus(&text, &n), *model = t_path("cli_r.safetensors"), *bad = t_path("cli_bad.safetensors");
    char *err = NULL;
    int rc = t_cli(NULL, &err, "ngram %s --order 0", corpus);
    EXPECT_REFUSAL("order 0", rc, 2, err, "--order 0 is out of range");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --order 100", corpus);
    EXPECT_REFUSAL("order 100", rc, 2, err, "--order 100 is out of range");
    free(err);
    rc = t_cli(NULL, &err, "ngram");
    EXPECT_REFUSAL("no file", rc, 2, err, "ngram needs a text file");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --train-frac 0", corpus);
    EXPECT_REFUSAL("train-frac 0", rc, 2, err, "--train-frac");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --train-frac 0.9 --val-frac 0.2", corpus);
    EXPECT_REFUSAL("fractions over 1", rc, 2, err, "more than 1");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --unit word", corpus);
    EXPECT_REFUSAL("unit", rc, 2, err, "--unit");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --temperature -1 --sample 5", corpus);
    EXPECT_REFUSAL("temperature", rc, 2, err, "--temperature");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s/missing.txt", t_tmpdir());
    EXPECT_REFUSAL("missing file", rc, 1, err, "missing.txt");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --order 3 --save %s", corpus, model);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "sample %s --half 1", model);
    EXPECT_REFUSAL("--half", rc, 2, err, "n-gram model");
    free(err);
    rc = t_cli(NULL, &err, "train %s --init-from %s --checkpoint-dir %s/cv_ngram", corpus, model, t_tmpdir());
    EXPECT_REFUSAL("init-from an n-gram model", rc, 1, err, "is an n-gram model");
    free(err);
    size_t len;
    char *file = t_read_file(model, &len);
    if (!CHECK(file && len > 200)) return;
    t_write_file(bad, file, len / 2);
    rc = t_cli(NULL, &err, "eval %s %s", bad, corpus);
    EXPECT_REFUSAL("eval of a truncated model", rc, 1, err, bad);
    free(err);
    rc = t_cli(NULL, &err, "sample %s", bad);
    EXPECT_REFUSAL("sample of a truncated model", rc, 1, err, bad);
    free(err);
    file[len - 10] ^= 0x10;
    t_write_file(bad, file, len);
    rc = t_cli(NULL, &err, "eval %s %s", bad, corpus);
    EXPECT_REFUSAL("eval of a damaged model", rc, 1, err, "corrupted");
    free(err);
    rc = t_cli(NULL, &err, "sample %s", bad);
    EXPECT_REFUSAL("sample of a damaged model", rc, 1, err, "corrupted");
    free(err);
    free(file);
}

/* The options of eval and sample that only a network uses are never silently
 * ignored with an n-gram model: those that would change the result are
 * refused (exit 2, before any output), the others noted; an option that
 * applies to a switch that is off is noted for networks too. */
static void test_cli_network_options(void) {
    char *text;
    size_t n;
    const char *corpus = cli_corpus(&text, &n), *model = t_path("cli_opts.safetensors"), *net = t_path("cli_opts_cv");
    char *out, *err = NULL;
    int rc = t_cli(NULL, &err, "ngram %s --order 3 --save %s", corpus, model);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    static const char *refused[] = {
        "eval %s %s --dynamic", "eval %s %s --dynamic --dynamic-lr 0.1",
        "sample %s --top-k 3", "sample %s --top-p 0.5", "sample %s --min-p 0.1", "sample %s --repetition-penalty 1.2",
        "sample %s --repetition-window 8", "sample %s --beam 2", "sample %s --stop x", "sample %s --max-lines 2",
        "sample %s --interactive", "sample %s --dynamic --primetext a", "sample %s --dynamic-lr 0.1", "sample %s --half 1",
    };
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        char *args = t_fmt(refused[k], model, corpus);
        rc = t_cli(&out, &err, "%s", args);
        EXPECT_REFUSAL(args, rc, 2, err, "n-gram model");
        CHECKF(!out[0], "%s: output before the refusal: %s", args, out);
        free(out); free(err); free(args);
    }
    static const char *noted[][2] = {
        {"eval %s %s --dynamic-lr 0.1", "--dynamic-lr is ignored"}, {"eval %s %s --dynamic-segment 9", "--dynamic-segment is ignored"},
        {"eval %s %s --dynamic-decay 0.1", "--dynamic-decay is ignored"}, {"eval %s %s --precision fp32", "--precision is ignored"},
        {"sample %s --length 5 --precision fp32", "--precision is ignored"},
    };
    for (size_t k = 0; k < sizeof noted / sizeof noted[0]; k++) {
        char *args = t_fmt(noted[k][0], model, corpus);
        rc = t_cli(&out, &err, "%s", args);
        CHECKF(rc == 0 && strstr(err, noted[k][1]) && out[0], "%s: exit %d: %s", args, rc, err);
        free(out); free(err); free(args);
    }
    /* a network: the options of a switch that is off are noted */
    rc = t_cli(NULL, &err, "train %s --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 1 --precision fp32 "
               "--threads 1 --checkpoint-dir %s", corpus, net);
    CHECKF(rc == 0, "%s", err);
    free(err);
    static const char *net_noted[][2] = {
        {"eval %s/latest.safetensors %s --dynamic-lr 0.1 --precision fp32", "--dynamic-lr is ignored"},
        {"sample %s/latest.safetensors --length 5 --dynamic-lr 0.1 --precision fp32", "--dynamic-lr is ignored"},
        {"sample %s/latest.safetensors --length 5 --repetition-window 8 --precision fp32", "--repetition-window is ignored"},
    };
    for (size_t k = 0; k < sizeof net_noted / sizeof net_noted[0]; k++) {
        char *args = t_fmt(net_noted[k][0], net, corpus);
        rc = t_cli(&out, &err, "%s", args);
        CHECKF(rc == 0 && strstr(err, net_noted[k][1]) && out[0], "%s: exit %d: %s", args, rc, err);
        free(out); free(err); free(args);
    }
}

void register_ngram_cli_tests(void) {
    t_register("ngram_cli_ngram_eval", test_cli_ngram_eval);
    t_register("ngram_cli_network_options", test_cli_network_options);
    t_register("ngram_cli_sample", test_cli_sample);
    t_register("ngram_cli_refusals", test_cli_refusals);
}
