/* test_cli_sample.c: `charrnn sample` end to end: reproducible with a seed, its options do what they
 * say (temperature 0, verbose and prime text, several samples, half precision); code-point mode
 * round-trips Chinese through train and sample. Numbers compared: --precision fp32. */
#include "test.h"
#include "test_cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- 4. sampling -------------------------------------------------------------------------- */

static void test_sample_seed(void) {
    const char *m = small_model();
    if (!m) return;
    char *a, *b, *c, *e;
    int r1 = t_cli(&a, &e, "sample '%s' --length 200 --seed 1 --precision fp32 --verbose 0", m);
    free(e);
    int r2 = t_cli(&b, &e, "sample '%s' --length 200 --seed 1 --precision fp32 --verbose 0", m);
    free(e);
    int r3 = t_cli(&c, &e, "sample '%s' --length 200 --seed 2 --precision fp32 --verbose 0", m);
    free(e);
    CHECKF(r1 == 0 && r2 == 0 && r3 == 0, "exits %d %d %d", r1, r2, r3);
    CHECKF(strcmp(a, b) == 0, "the same seed gave different samples:\n%s\n---\n%s", a, b);
    /* whatever the weights: with no prime the first character is drawn uniformly, and seeds 1 and 2 draw
     * different ones from cat.txt's vocabulary of 26 */
    CHECKF(strcmp(a, c) != 0, "seeds 1 and 2 gave the same sample:\n%s", a);
    /* the model only knows cat.txt's characters, --length counts characters */
    CHECKF(strlen(a) == 201 && a[200] == '\n', "expected 200 characters and a newline, got %zu bytes", strlen(a));
    for (size_t i = 0; i < 200 && a[i]; i++)
        if (!memchr(cat_text, a[i], cat_len)) { CHECKF(0, "sample character 0x%02x is not in the corpus", (unsigned char)a[i]); break; }
    free(a);
    free(b);
    free(c);
}

/* Temperature 0 takes the likeliest character: with a prime text nothing is
 * random, so every seed gives the same text. (Without a prime the first character
 * is drawn uniformly, as char-rnn does, so that one depends on the seed.) The
 * smallest temperature allowed, 1e-6, picks the same: a rival within 1e-5 of
 * the likeliest logit (a near-tie no trained model can be counted on to avoid at
 * a larger temperature) is all that could tell them apart. */
static void test_sample_temperature0(void) {
    const char *m = small_model();
    if (!m) return;
    char *s[3], *e;
    int rc[3];
    for (int i = 0; i < 3; i++) {
        rc[i] = t_cli(&s[i], &e, "sample '%s' --length 100 --temperature 0 --seed %d --primetext 'the ' --precision fp32 "
                    "--verbose 0", m, 1 + 1000 * i);
        free(e);
    }
    CHECKF(rc[0] == 0 && rc[1] == 0 && rc[2] == 0, "exits %d %d %d", rc[0], rc[1], rc[2]);
    CHECKF(!strcmp(s[0], s[1]) && !strcmp(s[1], s[2]), "temperature 0 depends on the seed:\n%s\n%s\n%s", s[0], s[1],
           s[2]);
    CHECKF(strncmp(s[0], "the ", 4) == 0 && strlen(s[0]) == 4 + 100 + 1, "prime + 100 + newline expected: [%s]", s[0]);
    for (int i = 0; i < 3; i++) free(s[i]);
    /* a tiny positive temperature is as sharp (no underflow into garbage) */
    char *t, *z;
    t_cli(&t, &e, "sample '%s' --length 100 --temperature 1e-6 --seed 5 --primetext 'the ' --precision fp32 --verbose 0", m);
    free(e);
    t_cli(&z, &e, "sample '%s' --length 100 --temperature 0 --seed 5 --primetext 'the ' --precision fp32 --verbose 0", m);
    free(e);
    CHECKF(!strcmp(t, z), "temperature 1e-6 should pick what temperature 0 picks:\n%s\n%s", t, z);
    free(t);
    free(z);
}

static void test_sample_verbose_and_prime(void) {
    const char *m = small_model();
    if (!m) return;
    char *out, *err;
    int rc = t_cli(&out, &err, "sample '%s' --length 50 --verbose 0", m);
    CHECKF(rc == 0 && err[0] == 0, "--verbose 0 wrote to stderr (exit %d): [%s]", rc, err);
    CHECKF(strlen(out) == 51, "--verbose 0: expected only the 50 characters and a newline, got [%s]", out);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample '%s' --length 50", m);
    CHECKF(rc == 0 && strstr(err, "vocabulary") && strstr(err, "lstm"), "--verbose 1 should describe the model: %s", err);
    CHECKF(strlen(out) == 51, "the description must not go to stdout: [%s]", out);
    free(out);
    free(err);

    rc = t_cli(&out, &err, "sample '%s' --length 40 --primetext 'a dog sat on' --seed 9", m);
    CHECKF(rc == 0 && strncmp(out, "a dog sat on", 12) == 0 && strlen(out) == 12 + 40 + 1,
           "the output should start with the prime text: exit %d [%s] %s", rc, out, err);
    CHECKF(!strstr(err, "warning"), "a known prime text gave a warning: %s", err);
    free(out);
    free(err);

    /* --prime-file works like --primetext */
    const char *pf = t_path("prime.txt");
    write_str(pf, "a dog sat on");
    char *out2;
    rc = t_cli(&out2, &err, "sample '%s' --length 40 --prime-file '%s' --seed 9 --precision fp32", m, pf);
    CHECKF(rc == 0, "--prime-file: exit %d %s", rc, err);
    free(err);
    char *out1;
    t_cli(&out1, &err, "sample '%s' --length 40 --primetext 'a dog sat on' --seed 9 --precision fp32", m);
    free(err);
    CHECKF(!strcmp(out1, out2), "--prime-file and --primetext differ:\n%s\n%s", out1, out2);
    free(out1);
    free(out2);

    /* --length 0: only the prime and the newline */
    rc = t_cli(&out, &err, "sample '%s' --length 0 --primetext 'the' --verbose 0", m);
    CHECKF(rc == 0 && !strcmp(out, "the\n"), "--length 0: exit %d [%s] %s", rc, out, err);
    free(out);
    free(err);
}

static void test_sample_num_samples(void) {
    const char *m = small_model();
    if (!m) return;
    char *out, *err;
    const int L = 30;
    int rc = t_cli(&out, &err, "sample '%s' --length %d --num-samples 3 --seed 4", m, L);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(out, "--- sample 1 ---\n") == out, "stdout should start with the first header: [%s]", out);
    const char *h[4] = {strstr(out, "--- sample 1 ---\n"), strstr(out, "\n--- sample 2 ---\n"),
                        strstr(out, "\n--- sample 3 ---\n"), strstr(out, "--- sample 4 ---")};
    CHECKF(h[0] && h[1] && h[2] && !h[3], "expected exactly 3 samples: [%s]", out);
    if (h[0] && h[1] && h[2]) {
        size_t l1 = (size_t)(h[1] - (h[0] + 17)), l2 = (size_t)(h[2] - (h[1] + 18)), l3 = strlen(h[2] + 18);
        CHECKF(l1 == (size_t)L && l2 == (size_t)L && l3 == (size_t)L + 1, "sample lengths %zu %zu %zu, expected %d: [%s]",
               l1, l2, l3, L, out);
        CHECKF(strncmp(h[0] + 17, h[1] + 18, L) || strncmp(h[1] + 18, h[2] + 18, L),
               "the three samples are identical: [%s]", out);
    }
    free(out);
    free(err);
}

/* --half 1: same length, reproducible with a seed, close to but not always the
 * same as full precision. */
static void test_sample_half(void) {
    const char *m = small_model();
    if (!m) return;
    char *a, *b, *e1, *e2;
    int r1 = t_cli(&a, &e1, "sample '%s' --length 200 --seed 5 --half 1 --precision fp32 --verbose 0 --primetext 'the '", m);
    if (r1 == 2 && strstr(e1, "needs a build")) { /* this build has no half kernels: the refusal is the behaviour */
        t_skip("no AVX-512F/F16C in this build");
        free(a); free(e1);
        return;
    }
    int r2 = t_cli(&b, &e2, "sample '%s' --length 200 --seed 5 --half 1 --precision fp32 --verbose 0 --primetext 'the '", m);
    CHECKF(r1 == 0 && r2 == 0, "exit %d %d: %s", r1, r2, e1);
    CHECKF(!strcmp(a, b), "--half with a seed is not reproducible");
    CHECKF(strlen(a) == 4 + 200 + 1, "length %zu", strlen(a));
    free(a); free(b); free(e1); free(e2);
    int rc = t_cli(NULL, &e1, "sample '%s' --half 2", m);
    EXPECT_ERROR("sample --half 2", rc, e1, "--half 2", "out of range");
    free(e1);
}

/* ---- 5. Chinese in code-point mode ------------------------------------------------------------ */

static void test_chinese_codepoints(void) {
    const char *corpus = zh_corpus();
    uint32_t *cps = malloc(sizeof(uint32_t) * zh_len);
    long n = u8_all(zh_text, zh_len, cps, (long)zh_len);
    if (!CHECK(n > 0)) { free(cps); return; }
    int V = count_distinct(cps, n); /* 6 lines x 10 characters, repeats, '，', '。', '\n': 58 */
    const char *dir = t_path("cv_zh");
    char *out, *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 150 "
                 "--eval-val-every 150 --threads 1 --checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "training on Chinese: exit %d: %s", rc, err);
    char want[128];
    snprintf(want, sizeof want, "corpus: %ld characters (code points), vocabulary %d", n, V);
    CHECKF(strstr(err, want), "expected \"%s\" in: %s", want, err);
    free(err);

    char *ck = t_fmt("%s/latest.safetensors", dir);
    rc = t_cli(&out, &err, "info '%s'", ck);
    snprintf(want, sizeof want, "vocabulary:     %d code points", V);
    CHECKF(rc == 0 && strstr(out, want), "info should report \"%s\": %s %s", want, out, err);
    for (int i = 0; i < NZH; i++) { /* every character is listed */
        const char *l = ZH_LINES[i];
        for (size_t k = 0; l[k];) {
            uint32_t c;
            int kk = u8dec((const unsigned char *)l + k, strlen(l + k), &c);
            if (!kk) break;
            char ch[5] = {0};
            memcpy(ch, l + k, (size_t)kk);
            if (!strstr(out, ch)) { CHECKF(0, "info's character list lacks %s: %s", ch, out); break; }
            k += (size_t)kk;
        }
    }
    free(out);
    free(err);

    /* a sample is valid UTF-8 made of the corpus's characters only */
    rc = t_cli(&out, &err, "sample '%s' --length 300 --seed 11 --verbose 0", ck);
    CHECKF(rc == 0, "sample: exit %d: %s", rc, err);
    size_t olen = strlen(out);
    uint32_t *sc = malloc(sizeof(uint32_t) * (olen + 1));
    long sn = u8_all(out, olen, sc, (long)olen + 1);
    CHECKF(sn == 301, "the sample should be valid UTF-8 of 300 characters and a newline: %ld: [%s]", sn, out);
    for (long i = 0; i < sn; i++) {
        int found = 0;
        for (long j = 0; j < n && !found; j++) found = cps[j] == sc[i];
        if (!found) { CHECKF(0, "sample character U+%04X is not in the corpus: [%s]", sc[i], out); break; }
    }
    free(sc);
    free(out);
    free(err);

    /* a Chinese prime text */
    rc = t_cli(&out, &err, "sample '%s' --length 20 --primetext '床前' --seed 2", ck);
    CHECKF(rc == 0 && strncmp(out, "床前", strlen("床前")) == 0, "Chinese prime: exit %d [%s] %s", rc, out, err);
    CHECKF(u8_all(out, strlen(out), NULL, 0) == 2 + 20 + 1, "prime + 20 characters + newline expected: [%s]", out);
    CHECKF(!strstr(err, "warning"), "a known Chinese prime gave a warning: %s", err);
    free(out);
    free(err);
    /* with an unknown character among them: the warning names it */
    rc = t_cli(&out, &err, "sample '%s' --length 5 --primetext '床X前' --seed 2", ck);
    CHECKF(rc == 0 && strstr(err, "warning") && strstr(err, "'X' (U+0058)"), "mixed prime: exit %d %s", rc, err);
    free(out);
    free(err);

    /* eval on the corpus: every character known */
    rc = t_cli(&out, &err, "eval '%s' '%s'", ck, corpus);
    snprintf(want, sizeof want, "over %ld predicted characters (0 unknown skipped;", n - 1);
    CHECKF(rc == 0 && strstr(out, want), "eval of the Chinese corpus: expected \"%s\": %s %s", want, out, err);
    free(out);
    free(err);
    free(ck);
    free(cps);
}

void register_cli_sample_tests(void) {
    t_register("cli_sample_half", test_sample_half);
    t_register("cli_sample_seed", test_sample_seed);
    t_register("cli_sample_temperature0", test_sample_temperature0);
    t_register("cli_sample_verbose_and_prime", test_sample_verbose_and_prime);
    t_register("cli_sample_num_samples", test_sample_num_samples);
    t_register("cli_chinese_codepoints", test_chinese_codepoints);
}
