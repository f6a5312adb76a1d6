/* test_hard_options.c: break-it findings about the command line (test_hardening.c has the others):
 * the strict number parser, tested directly; messages that said the wrong thing, named the wrong
 * character or quoted a path unsafely; and every option range of every command refused in one line at
 * its bounds. Run under ASan + UBSan by test.sh. */
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

/* ---- messages that were wrong ---------------------------------------------------------------- */

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
    CHECK(!hard_exists(t_path("cv_st")));
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
    /* char-rnn's -gpuid -1 is the CPU (its mapping: test_device.c); -opencl is accepted with a note */
    rc = t_cli(&out, &err, "sample '%s' --length 3 -gpuid -1 --verbose 0", hmodel());
    CHECKF(rc == 0 && !strstr(err, "ignored"), "-gpuid -1: %d %s", rc, err);
    free(out); free(err);
    rc = t_cli(&out, &err, "sample '%s' --length 3 -opencl 1 --verbose 0", hmodel());
    CHECKF(rc == 0 && strstr(err, "--opencl is ignored") && strstr(err, "OpenCL"), "-opencl 1: %d %s", rc, err);
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
        if (hard_edit_checkpoint(hmodel(), dst, "train_options", fields[k][0], fields[k][1])) continue;
        char *shown = t_fmt("\"%s\" is %s,", fields[k][0], fields[k][1]);
        rc = t_cli(NULL, &err, "info '%s'", dst);
        CHECKF(rc != 0 && strstr(err, shown) && !strstr(err, "e+"), "info on %s = %s: %s", fields[k][0], fields[k][1], err);
        free(shown);
        free(err);
    }
}

/* ---- option ranges in the option tables ------------------------------------------------------ */

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

void register_hard_option_tests(void) {
    t_register("hard_messages", test_messages);
    t_register("hard_max_iters_huge", test_max_iters_huge);
    t_register("hard_init_from_names_character", test_init_from_names_character);
    t_register("hard_info_escapes", test_info_escapes);
    t_register("hard_resume_hint_quoted", test_resume_hint_quoted);
    t_register("hard_numbers_in_messages", test_numbers_in_messages);
    t_register("hard_range_specs", test_range_specs);
    t_register("hard_option_ranges_every_command", test_option_ranges_every_command);
}
