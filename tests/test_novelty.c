/* test_novelty.c: `charrnn novelty` and the library's novelty index under it
 * (charrnn_novelty_*, the suffix automaton of src/data/sam.h). Its matches are
 * compared with a brute-force search on random strings, and a sample of no symbols
 * or too many is refused with CHARRNN_EINVAL and a message; the command's table with shares worked out by hand ("abcxyz"
 * against "abcdefgh"), with a copied sample (nothing new), and with a brute-force
 * count for Chinese text read as code points and as bytes; line novelty on a
 * crafted names list; errors give one line and a non-zero exit; a 2 MB training
 * text runs to the end (no timing asserted). All data is made here. */
#include "test.h"
#include "charrnn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

/* Does s[i..i+len) occur in t[0..nt)? */
static int occurs(const uint32_t *s, size_t i, size_t len, const uint32_t *t, size_t nt) {
    for (size_t j = 0; j + len <= nt; j++)
        if (!memcmp(s + i, t + j, len * sizeof *s)) return 1;
    return 0;
}

/* The longest prefix of s[i..m) that occurs in t, by trying every length. */
static size_t brute_ms(const uint32_t *s, size_t m, size_t i, const uint32_t *t, size_t nt) {
    size_t len = 0;
    while (i + len < m && occurs(s, i, len + 1, t, nt)) len++;
    return len;
}

/* Symbols of a string: its bytes, or its code points (valid UTF-8 assumed). */
static size_t symbols(const char *str, int bytes, uint32_t *out) {
    const unsigned char *s = (const unsigned char *)str;
    size_t k = 0;
    for (size_t i = 0; s[i];) {
        uint32_t c = s[i];
        int n = bytes || c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (n > 1) c &= 0x3Fu >> (n - 1);
        for (int j = 1; j < n; j++) c = c << 6 | (s[i + j] & 0x3Fu);
        out[k++] = c;
        i += (size_t)n;
    }
    return k;
}

static int write_str(const char *path, const char *s) { return t_write_file(path, s, strlen(s)); }

/* The table row for n in the command's output: n-grams, new ones, share; 0 if found. */
static int row(const char *out, size_t n, size_t *grams, size_t *fresh, double *share) {
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        size_t k, g, f;
        double s;
        if (sscanf(p, " %zu %zu %zu %lf", &k, &g, &f, &s) == 4 && k == n) {
            *grams = g;
            *fresh = f;
            *share = s;
            return 0;
        }
    }
    return -1;
}

#define CHECK_ROW(out, n, g, f, s)                                                                                     \
    do {                                                                                                               \
        size_t g_, f_;                                                                                                 \
        double s_;                                                                                                     \
        CHECKF(!row(out, n, &g_, &f_, &s_) && g_ == (g) && f_ == (f) && s_ == (s),                                     \
               "row n = %d: expected %zu n-grams, %zu new, %.2f%%; output:\n%s", (int)(n), (size_t)(g), (size_t)(f), \
               (double)(s), out);                                                                                      \
    } while (0)

/* The length in "longest copied span: N ...", or 0. */
static size_t last_span(const char *out) {
    const char *p = strstr(out, "longest copied span: ");
    return p ? strtoul(p + strlen("longest copied span: "), NULL, 10) : 0;
}

/* A clean failure: non-zero exit, no crash, one line "charrnn: error: ..." holding needle. */
static void expect_error_at(const char *file, int line, const char *what, int rc, const char *err, const char *needle) {
    t_check(!t_crashed(rc, err) && rc != 0, file, line, "a clean failure", "%s: exit %d: %s", what, rc, err);
    int lines = 0;
    for (const char *p = err; *p; p++) lines += *p == '\n';
    t_check(lines == 1 && !strncmp(err, "charrnn: error: ", 16), file, line, "one error line", "%s: %s", what, err);
    t_check(strstr(err, needle) != NULL, file, line, "message content", "%s: the error lacks \"%s\": %s", what, needle,
            err);
}
#define EXPECT_ERROR(what, rc, err, needle) expect_error_at(__FILE__, __LINE__, what, rc, err, needle)

/* ---- the automaton ----------------------------------------------------------------------- */

/* Random strings over small and large alphabets; the text fed in random pieces. */
static void test_novelty_matches_brute_force(void) {
    charrnn_error err;
    rng_state = 7;
    for (int trial = 0; trial < 400; trial++) {
        uint32_t alpha = trial % 4 == 0 ? 2 : trial % 4 == 1 ? 3 : trial % 4 == 2 ? 5 : 40;
        size_t m = 1 + rnd(40), nt = rnd(120);
        uint32_t s[40], t[120];
        for (size_t i = 0; i < m; i++) s[i] = rnd(alpha) * 0x10001u; /* large symbol values too */
        for (size_t j = 0; j < nt; j++) t[j] = rnd(alpha + 1) * 0x10001u; /* and some not in s */
        charrnn_novelty *a;
        if (!CHECKF(charrnn_novelty_open(&a, s, m, &err) == CHARRNN_OK, "trial %d: %s", trial, err.msg)) return;
        for (size_t j = 0; j < nt;) {
            size_t k = 1 + rnd(10);
            if (k > nt - j) k = nt - j;
            charrnn_novelty_feed(a, t + j, k);
            j += k;
        }
        size_t ms[40], best = 0;
        CHECK(charrnn_novelty_matches(a, ms, &err) == CHARRNN_OK);
        int bad = 0;
        for (size_t i = 0; i < m; i++) {
            size_t want = brute_ms(s, m, i, t, nt);
            if (ms[i] != want && !bad++) CHECKF(0, "trial %d, position %zu: %zu, brute force %zu", trial, i, ms[i], want);
            if (want > best) best = want;
        }
        size_t len, ss, ts;
        charrnn_novelty_longest(a, &len, &ss, &ts);
        CHECKF(len == best, "trial %d: longest %zu, brute force %zu", trial, len, best);
        if (len)
            CHECKF(ss + len <= m && ts + len <= nt && !memcmp(s + ss, t + ts, len * sizeof *s) &&
                       !occurs(s, ss, len, s, ss + len - 1),
                   "trial %d: the longest span at %zu of s / %zu of t is not a first occurrence of a common string",
                   trial, ss, ts);
        charrnn_novelty_close(a);
    }
}

/* No symbols, or more than the index takes: CHARRNN_EINVAL, a message, no handle. */
static void test_novelty_refuses_sizes(void) {
    const size_t sizes[] = {0, CHARRNN_NOVELTY_MAX_LENGTH + 1};
    static int sentinel; /* *out is set to NULL on failure, not left as it was */
    for (int i = 0; i < 2; i++) {
        charrnn_novelty *a = (charrnn_novelty *)&sentinel;
        charrnn_error err = {0};
        int rc = charrnn_novelty_open(&a, (const uint32_t[1]){'a'}, sizes[i], &err);
        CHECKF(rc == CHARRNN_EINVAL && err.code == CHARRNN_EINVAL && a == NULL, "%zu symbols: rc %d, handle %p", sizes[i],
               rc, (void *)a);
        CHECKF(strstr(err.msg, "give a") != NULL, "%zu symbols: the message says nothing to do: %s", sizes[i], err.msg);
    }
}

/* ---- the command --------------------------------------------------------------------------- */

/* TRAIN "abcdefgh", SAMPLE "abcxyz": the 1-grams a b c x y z, 3 of 6 new; the
 * 2-grams ab bc cx xy yz, 3 of 5 (cx xy yz); 3-grams abc bcx cxy xyz, 3 of 4;
 * 4-grams abcx bcxy cxyz, 3 of 3. The longest copied span is "abc". */
static void test_hand_computed(void) {
    const char *tr = t_path("nov_abc_train.txt"), *sa = t_path("nov_abc_sample.txt");
    write_str(tr, "abcdefgh");
    write_str(sa, "abcxyz");
    char *out, *err;
    int rc = t_cli(&out, &err, "novelty '%s' '%s'", sa, tr);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECK_ROW(out, 1, 6, 3, 50.00);
    CHECK_ROW(out, 2, 5, 3, 60.00);
    CHECK_ROW(out, 3, 4, 3, 75.00);
    CHECK_ROW(out, 4, 3, 3, 100.00);
    CHECK_ROW(out, 6, 1, 1, 100.00);
    size_t g, f;
    double s;
    CHECKF(row(out, 7, &g, &f, &s) == -1 && strstr(out, "stops at n = 6"), "rows beyond the sample's length: %s", out);
    CHECKF(strstr(out, "n = 2 is the smallest n at which more than half") != NULL, "summary: %s", out);
    CHECKF(strstr(out, "longest copied span: 3 characters at line 1, column 1") && strstr(out, "\"abc\""),
           "the longest span: %s", out);
    CHECKF(!strstr(out, "lines:"), "a one-line text is not one item per line: %s", out);
    free(out);
    free(err);
    /* the same from standard input */
    char *cmd = t_fmt("printf abcxyz | '%s' novelty - '%s' --max-n 3", t_bin(), tr);
    rc = t_run(cmd, &out, &err);
    free(cmd);
    CHECKF(rc == 0 && strstr(out, "novelty of standard input (6 characters)"), "stdin: exit %d: %s %s", rc, out, err);
    CHECK_ROW(out, 3, 4, 3, 75.00);
    CHECKF(row(out, 4, &g, &f, &s) == -1, "--max-n 3 printed a row for n = 4: %s", out);
    free(out);
    free(err);
}

/* A generated text of words and numbers on lines of about 60 characters. */
static char *make_text(size_t len, uint64_t seed) {
    static const char *words[] = {"the", "cat", "sat", "on", "mat", "while", "dog", "ran", "far", "away", "int", "x",
                                  "return", "{", "}", "if", "(", ")", ";", "static", "void", "*p", "=", "0"};
    char *t = malloc(len + 64);
    size_t n = 0, col = 0;
    rng_state = seed;
    while (n < len) {
        const char *w = words[rnd(sizeof words / sizeof *words)];
        size_t k = strlen(w);
        memcpy(t + n, w, k);
        n += k;
        col += k;
        if (rnd(7) == 0) n += (size_t)sprintf(t + n, "%u", rnd(1000));
        t[n++] = col > 60 ? '\n' : ' ';
        if (col > 60) col = 0;
    }
    t[len] = 0;
    return t;
}

/* A sample that is a piece of the training text has nothing new at any n. */
static void test_copy_is_not_new(void) {
    char *text = make_text(20000, 11);
    const char *tr = t_path("nov_copy_train.txt"), *sa = t_path("nov_copy_sample.txt"), *sh = t_path("nov_copy_short.txt");
    t_write_file(tr, text, strlen(text));
    t_write_file(sa, text + 5003, 700);
    t_write_file(sh, text + 12345, 30);
    char *out, *err;
    int rc = t_cli(&out, &err, "novelty '%s' '%s'", sa, tr);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    for (size_t n = 1; n <= 50; n++) CHECK_ROW(out, n, 700 - n + 1, 0, 0.00);
    CHECKF(strstr(out, "at no n up to 50 are more than half") && strstr(out, "longest copied span: 700 characters"),
           "summary: %s", out);
    CHECKF(strstr(out, "(the first 80 shown)") != NULL, "a long span is shown in part: %s", out);
    size_t line = 1;
    for (size_t i = 0; i < 5003; i++) line += text[i] == '\n';
    char *where = t_fmt("also at line %zu of", line);
    CHECKF(strstr(out, where) != NULL, "expected \"%s\": %s", where, out);
    free(where);
    free(out);
    free(err);
    /* shorter than --max-n: every row up to its length */
    rc = t_cli(&out, &err, "novelty '%s' '%s' --unit byte", sh, tr);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    for (size_t n = 1; n <= 30; n++) CHECK_ROW(out, n, 30 - n + 1, 0, 0.00);
    CHECKF(strstr(out, "stops at n = 30") && strstr(out, "longest copied span: 30 bytes"), "a short copy: %s", out);
    free(out);
    free(err);
    free(text);
}

/* Every row of the command's table against a brute-force count over the symbols. */
static void check_table(const char *out, const char *sample, const char *train, int bytes, size_t max_n) {
    uint32_t s[256], t[256];
    size_t m = symbols(sample, bytes, s), nt = symbols(train, bytes, t);
    for (size_t n = 1; n <= max_n && n <= m; n++) {
        size_t fresh = 0;
        for (size_t i = 0; i + n <= m; i++) fresh += !occurs(s, i, n, t, nt);
        double share = (double)(long)(100.0 * (double)fresh / (double)(m - n + 1) * 100.0 + 0.5) / 100.0;
        size_t g, f;
        double sh;
        CHECKF(!row(out, n, &g, &f, &sh) && g == m - n + 1 && f == fresh && sh > share - 0.006 && sh < share + 0.006,
               "%s, n = %zu: expected %zu n-grams, %zu new (%.2f%%): %s", bytes ? "bytes" : "code points", n,
               m - n + 1, fresh, share, out);
    }
}

static void test_chinese_units(void) {
    const char *train = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n";
    const char *sample = "明月光照地上，低头思故乡。";
    const char *tr = t_path("nov_zh_train.txt"), *sa = t_path("nov_zh_sample.txt");
    write_str(tr, train);
    write_str(sa, sample);
    char *out, *err;
    int rc = t_cli(&out, &err, "novelty '%s' '%s'", sa, tr);
    CHECKF(rc == 0 && strstr(out, "(13 characters)") && strstr(out, "(25 characters)"), "code points: exit %d: %s %s",
           rc, out, err);
    /* 照 is the one new character; 明月光 and 地上 and 低头思故乡。 are copied */
    CHECK_ROW(out, 1, 13, 1, 7.69);
    check_table(out, sample, train, 0, 13);
    CHECKF(strstr(out, "longest copied span: 7 characters at line 1, column 7") && strstr(out, "\"，低头思故乡。\""),
           "the longest span in characters: %s", out);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "novelty '%s' '%s' --unit byte", sa, tr);
    CHECKF(rc == 0 && strstr(out, "(39 bytes)") && strstr(out, "(73 bytes)"), "bytes: exit %d: %s %s", rc, out, err);
    check_table(out, sample, train, 1, 39);
    CHECKF(strstr(out, "longest copied span: 21 bytes at line 1, column 19") && strstr(out, "\"\\xef\\xbc\\x8c\\xe4"),
           "the longest span in bytes, escaped: %s", out);
    free(out);
    free(err);
}

/* Names: 12 short lines make TRAIN look like one item per line. */
static void test_lines(void) {
    const char *tr = t_path("nov_names.txt"), *sa = t_path("nov_names_sample.txt"), *sb = t_path("nov_names_b.txt");
    const char *prose = t_path("nov_prose.txt");
    write_str(tr, "anna\nbob\ncarl\ndave\neve\nfred\ngina\nhal\nivy\njon\nkim\nlee");
    /* complete lines: anna zoe anna bob xavier (5; zoe and xavier new), lee (the
     * training text's last line has no newline; still a line), one empty, "ja" partial */
    write_str(sa, "anna\nzoe\nanna\nbob\nxavier\n\nlee\nja");
    char *out, *err;
    int rc = t_cli(&out, &err, "novelty '%s' '%s'", sa, tr);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(out, "lines: 2 of 6 sampled lines (33.33%) are not lines of") &&
               strstr(out, "distinct lines: 2 of 5 new (40.00%)"),
           "line novelty: %s", out);
    CHECKF(strstr(out, "not counted: the partial final line \"ja\" (no newline after it), 1 empty line"),
           "the partial and empty lines are said: %s", out);
    CHECKF(strstr(out, "looks like one item per line: 100.0% of its 12 lines") != NULL, "why: %s", out);
    free(out);
    free(err);
    /* a sample that ends with a newline has no partial line */
    write_str(sb, "zoe\nzoe\nkim\n");
    rc = t_cli(&out, &err, "novelty '%s' '%s' --lines", sb, tr);
    CHECKF(rc == 0 && strstr(out, "lines: 2 of 3 sampled lines (66.67%)") && strstr(out, "1 of 2 new (50.00%)") &&
               !strstr(out, "not counted") && !strstr(out, "shown because"),
           "exit %d: %s %s", rc, out, err);
    free(out);
    free(err);
    /* long lines: no line report unless asked */
    char *text = make_text(4000, 3);
    t_write_file(prose, text, strlen(text));
    rc = t_cli(&out, &err, "novelty '%s' '%s'", sb, prose);
    CHECKF(rc == 0 && !strstr(out, "lines:"), "prose is not one item per line: %s %s", out, err);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "novelty '%s' '%s' --lines", sb, prose);
    CHECKF(rc == 0 && strstr(out, "lines: 3 of 3 sampled lines (100.00%)"), "--lines on prose: %s %s", out, err);
    free(out);
    free(err);
    free(text);
}

static void test_errors(void) {
    const char *tr = t_path("nov_err_train.txt"), *sa = t_path("nov_err_sample.txt"), *em = t_path("nov_empty.txt");
    const char *bad = t_path("nov_bad_utf8.txt"), *missing = t_path("nov_missing.txt");
    write_str(tr, "hello world\n");
    write_str(sa, "hello\n");
    write_str(em, "");
    t_write_file(bad, "ab\xc3\x28zz", 6);
    char *err;
    int rc = t_cli(NULL, &err, "novelty '%s' '%s'", missing, tr);
    EXPECT_ERROR("a missing sample", rc, err, "cannot open");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s'", sa, missing);
    EXPECT_ERROR("a missing training text", rc, err, "nov_missing.txt");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s'", em, tr);
    EXPECT_ERROR("an empty sample", rc, err, "is empty");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s'", sa, em);
    EXPECT_ERROR("an empty training text", rc, err, "is empty");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s'", bad, tr);
    EXPECT_ERROR("invalid UTF-8 in the sample", rc, err, "not valid UTF-8 at byte offset 2 (byte 0xC3); use --unit byte");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s'", sa, bad);
    EXPECT_ERROR("invalid UTF-8 in the training text", rc, err, "nov_bad_utf8.txt' is not valid UTF-8 at byte offset 2");
    free(err);
    char *out;
    rc = t_cli(&out, &err, "novelty '%s' '%s' --unit byte", bad, tr);
    CHECKF(rc == 0 && strstr(out, "(6 bytes)"), "bytes need no UTF-8: exit %d: %s", rc, err);
    free(out);
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s'", sa);
    EXPECT_ERROR("one file", rc, err, "needs a sample and the training text");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s' --max-n 0", sa, tr);
    EXPECT_ERROR("--max-n 0", rc, err, "--max-n 0 is out of range");
    free(err);
    rc = t_cli(NULL, &err, "novelty - - < '%s'", sa);
    EXPECT_ERROR("both standard input", rc, err, "cannot both be standard input");
    free(err);
    rc = t_cli(NULL, &err, "novelty '%s' '%s' --unit word", sa, tr);
    CHECKF(rc == 2 && strstr(err, "charrnn: error:"), "a bad --unit: exit %d: %s", rc, err);
    free(err);
    rc = t_cli(&out, &err, "novelty --help");
    CHECKF(rc == 0 && strstr(out, "--max-n") && strstr(out, "--lines"), "--help: %s", out);
    free(out);
    free(err);
}

/* A 2 MB training text and a 20 KB sample, half copied and half made up: it runs
 * to the end and says the copied part is copied. */
static void test_two_megabytes(void) {
    char *text = make_text(2u << 20, 5);
    char *other = make_text(10240, 99);
    const char *tr = t_path("nov_2mb.txt"), *sa = t_path("nov_2mb_sample.txt");
    t_write_file(tr, text, strlen(text));
    char *sample = malloc(20480 + 1);
    memcpy(sample, other, 10240);
    memcpy(sample + 10240, text + 777777, 10240);
    t_write_file(sa, sample, 20480);
    char *out, *err;
    int rc = t_cli(&out, &err, "novelty '%s' '%s'", sa, tr);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    size_t g, f;
    double s;
    CHECKF(!row(out, 50, &g, &f, &s) && g == 20431 && f <= 10240 && f > 5000, "n = 50: %s", out);
    CHECKF(!row(out, 1, &g, &f, &s) && f == 0, "every character is in the training text: %s", out);
    CHECKF(last_span(out) >= 10240, "the copied half is one span: %s", out);
    free(out);
    free(err);
    free(sample);
    free(other);
    free(text);
}

void register_novelty_tests(void) {
    t_register("novelty_matches_brute_force", test_novelty_matches_brute_force);
    t_register("novelty_refuses_sizes", test_novelty_refuses_sizes);
    t_register("novelty_hand_computed", test_hand_computed);
    t_register("novelty_copy", test_copy_is_not_new);
    t_register("novelty_chinese_units", test_chinese_units);
    t_register("novelty_lines", test_lines);
    t_register("novelty_errors", test_errors);
    t_register("novelty_two_megabytes", test_two_megabytes);
}
