/* test_cli.c: end-to-end tests of the `charrnn` command line, run as a separate
 * process (t_run): (1) every bad input gives a non-zero exit, no crash, and one
 * "charrnn: error:" line that says what is wrong and what to do; (2) training on
 * a small generated corpus reaches a stated validation loss for LSTM, GRU and RNN;
 * (3) --resume continues bit for bit (RMSProp across an epoch boundary with lr
 * decay, dropout, Adam); (4) sampling is reproducible and its options do what
 * they say; (5) code-point mode round-trips Chinese; (6) eval reports nats, bpc
 * and unknown characters; (7) info's parameter count matches the formula; (8) the
 * built-in corpus trains and writes a JSON-lines log; (9) checkpoints are standard
 * safetensors. Corpora are generated here; models are tiny so the file stays fast
 * (a few seconds at -O2, well under a minute with ASan + UBSan). Wherever numbers
 * are compared (a loss against a threshold, two runs or two samples against each
 * other) the commands run with --precision fp32: what --precision auto picks
 * depends on the processor (and, measured, on its load), and two processes must
 * not differ in it. */
#include "test.h"
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------ */

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int write_str(const char *path, const char *s) { return t_write_file(path, s, strlen(s)); }

/* The first stderr line holding "error:" (malloc'd, "" if none), and how many there are. */
static char *error_line(const char *err, int *count) {
    int n = 0;
    const char *first = NULL;
    for (const char *p = err; (p = strstr(p, "error:")); p += 6) {
        if (!first) first = p;
        n++;
    }
    if (count) *count = n;
    if (!first) return strdup("");
    const char *b = first;
    while (b > err && b[-1] != '\n') b--;
    const char *e = strchr(first, '\n');
    size_t len = e ? (size_t)(e - b) : strlen(b);
    char *s = malloc(len + 1);
    memcpy(s, b, len);
    s[len] = 0;
    return s;
}

/* Expects a clean failure: exit status 1..127, no crash, exactly one line
 * "charrnn: error: ..." holding every needle (NULL-terminated). */
static void expect_error_at(const char *file, int line, const char *what, int rc, const char *err,
                            const char *const *needles) {
    t_check(!t_crashed(rc, err), file, line, "no crash", "%s: exit %d, stderr: %s", what, rc, err);
    t_check(rc != 0, file, line, "rc != 0", "%s: exit 0, stderr: %s", what, err);
    int count;
    char *el = error_line(err, &count);
    t_check(count == 1 && strncmp(el, "charrnn: error: ", 16) == 0, file, line, "one 'charrnn: error:' line",
            "%s: %d error lines, stderr: %s", what, count, err);
    for (const char *const *n = needles; *n; n++)
        t_check(strstr(el, *n) != NULL, file, line, "message content", "%s: error line lacks \"%s\": %s", what, *n,
                el);
    free(el);
}
#define EXPECT_ERROR(what, rc, err, ...) \
    expect_error_at(__FILE__, __LINE__, (what), (rc), (err), (const char *const[]){__VA_ARGS__, NULL})

/* The number after the last occurrence of key in s, or NAN. */
static double last_number_after(const char *s, const char *key) {
    const char *last = NULL;
    for (const char *p = s; (p = strstr(p, key)); p++) last = p;
    if (!last) return NAN;
    char *end;
    double v = strtod(last + strlen(key), &end);
    return end == last + strlen(key) ? NAN : v;
}

/* A deterministic generator for corpora and random bytes (PCG-like LCG). */
static uint64_t lcg_state;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

/* Strict UTF-8 decoding (independent of the library's): returns the length of the
 * sequence at s (n bytes left), 0 if invalid. */
static int u8dec(const unsigned char *s, size_t n, uint32_t *cp) {
    if (!n) return 0;
    if (s[0] < 0x80) { *cp = s[0]; return 1; }
    int k = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (!k || s[0] > 0xF4 || (size_t)k > n) return 0;
    uint32_t c = s[0] & (0x7F >> k);
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t minv[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < minv[k] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return k;
}

/* Decodes all of s into cps (cap entries); returns the count or -1 if invalid. */
static long u8_all(const char *s, size_t len, uint32_t *cps, long cap) {
    long n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int k = u8dec((const unsigned char *)s + i, len - i, &c);
        if (!k) return -1;
        if (cps && n < cap) cps[n] = c;
        n++;
        i += (size_t)k;
    }
    return n;
}

/* Distinct values of cps[0..n) (sorts a copy). */
static int count_distinct(const uint32_t *cps, long n) {
    uint32_t *c = malloc(sizeof *c * (size_t)(n ? n : 1));
    memcpy(c, cps, sizeof *c * (size_t)n);
    /* shell sort */
    for (long gap = n / 2; gap > 0; gap /= 2)
        for (long i = gap; i < n; i++) {
            uint32_t v = c[i];
            long j = i;
            for (; j >= gap && c[j - gap] > v; j -= gap) c[j] = c[j - gap];
            c[j] = v;
        }
    int d = 0;
    for (long i = 0; i < n; i++) if (i == 0 || c[i] != c[i - 1]) d++;
    free(c);
    return d;
}

/* ---- generated corpora ------------------------------------------------------------------ */

static const char *SUBJ[] = {"the cat", "a dog", "the bird", "my friend", "the old man", "a girl"};
static const char *VERB[] = {"sat on", "looked at", "ran to", "slept near", "jumped over"};
static const char *OBJ[] = {"the mat.", "a tree.", "the house.", "the red box.", "a small hill."};
#define NSUBJ 6
#define NVERB 5
#define NOBJ 5

/* cat.txt: lines "SUBJ VERB OBJ\n", each part drawn uniformly, until >= 20000 bytes.
 * Its entropy rate is ln(150) nats per line of mean length 29.07: 0.172 nats/char. */
static char cat_text[21000];
static size_t cat_len;
static int cat_vocab;
static double cat_entropy_floor; /* nats per character of the generating process */

static const char *cat_corpus(void) {
    static int done;
    const char *path = t_path("cat.txt");
    if (done) return path;
    lcg_state = 1;
    cat_len = 0;
    while (cat_len < 20000) {
        int n = snprintf(cat_text + cat_len, sizeof cat_text - cat_len, "%s %s %s\n", SUBJ[lcg() % NSUBJ],
                         VERB[lcg() % NVERB], OBJ[lcg() % NOBJ]);
        cat_len += (size_t)n;
    }
    int seen[256] = {0};
    cat_vocab = 0;
    for (size_t i = 0; i < cat_len; i++)
        if (!seen[(unsigned char)cat_text[i]]++) cat_vocab++;
    double ls = 0, lv = 0, lo = 0;
    for (int i = 0; i < NSUBJ; i++) ls += strlen(SUBJ[i]) / (double)NSUBJ;
    for (int i = 0; i < NVERB; i++) lv += strlen(VERB[i]) / (double)NVERB;
    for (int i = 0; i < NOBJ; i++) lo += strlen(OBJ[i]) / (double)NOBJ;
    cat_entropy_floor = log((double)NSUBJ * NVERB * NOBJ) / (ls + lv + lo + 3);
    if (t_write_file(path, cat_text, cat_len) == 0) done = 1;
    return path;
}

/* The first 2100 bytes of cat.txt: with batch 8 x seq 16 and train-frac 0.95
 * that is (1995 - 1) / 128 = 15 iterations per epoch. */
static const char *cat2k_corpus(void) {
    cat_corpus();
    const char *path = t_path("cat2k.txt");
    if (!file_exists(path)) t_write_file(path, cat_text, 2100);
    return path;
}

static const char *ZH_LINES[] = {"床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "白日依山尽，黄河入海流。",
                                 "欲穷千里目，更上一层楼。", "春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"};
#define NZH 6
static char zh_text[24000];
static size_t zh_len;

/* zh.txt: the six lines above in random order, ~6000 code points. */
static const char *zh_corpus(void) {
    static int done;
    const char *path = t_path("zh.txt");
    if (done) return path;
    lcg_state = 7;
    zh_len = 0;
    for (int i = 0; i < 460; i++) {
        int n = snprintf(zh_text + zh_len, sizeof zh_text - zh_len, "%s\n", ZH_LINES[lcg() % NZH]);
        zh_len += (size_t)n;
    }
    if (t_write_file(path, zh_text, zh_len) == 0) done = 1;
    return path;
}

/* A small trained LSTM (1 x 32, 150 iterations on cat.txt, float32: the same
 * model whatever the processor) shared by the sampling, eval and checkpoint
 * tests; NULL if training failed (reported once). */
static const char *small_model(void) {
    static int state; /* 0 untried, 1 ok, -1 failed */
    const char *dir = t_path("small_cv");
    static char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/latest.safetensors", dir);
    if (state == 0) {
        char *err;
        int rc = t_cli(NULL, &err,
                     "train '%s' --rnn-size 32 --num-layers 1 --batch-size 16 --seq-length 32 --max-iters 150 "
                     "--eval-val-every 150 --train-frac 0.9 --val-frac 0.1 --threads 1 --precision fp32 --checkpoint-dir '%s'",
                     cat_corpus(), dir);
        state = rc == 0 && file_exists(ckpt) ? 1 : -1;
        CHECKF(state == 1, "training the shared model failed: exit %d: %s", rc, err);
        free(err);
    }
    return state == 1 ? ckpt : NULL;
}

/* ---- 1. bad input ----------------------------------------------------------------------- */

static void test_missing_file(void) {
    char *err;
    const char *p = t_path("no-such-file.txt");
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", p, t_path("cv_missing"));
    EXPECT_ERROR("missing file", rc, err, p, "No such file");
    CHECKF(!file_exists(t_path("cv_missing")), "a failed run created its checkpoint directory");
    free(err);
}

static void test_directory_input(void) {
    const char *d = t_path("a_directory");
    mkdir(d, 0755);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", d, t_path("cv_dir"));
    EXPECT_ERROR("directory as corpus", rc, err, d, "directory");
    free(err);
}

static void test_empty_file(void) {
    const char *p = t_path("empty.txt");
    t_write_file(p, "", 0);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", p, t_path("cv_empty"));
    EXPECT_ERROR("empty corpus", rc, err, p, "empty");
    free(err);
}

/* The message states the minimum size, and the size it states is exact: one
 * character less fails, that size trains; the suggested --batch-size works. */
static void test_too_small(void) {
    cat_corpus();
    const char *p = t_path("small300.txt");
    t_write_file(p, cat_text, 300);
    char *err;
    /* defaults: batch 50 x seq 50, train-frac 0.95: needs 2501 training characters,
     * a file of ceil(2501 / 0.95) = 2633; 285 training characters allow batch <= 5 */
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", p, t_path("cv_small"));
    EXPECT_ERROR("corpus too small", rc, err, p, "300 characters", "--batch-size 50", "--seq-length 50",
                 "at least 2633 characters", "smaller --batch-size", "at most 5");
    free(err);

    rc = t_cli(NULL, &err, "train '%s' --batch-size 5 --rnn-size 8 --num-layers 1 --max-iters 2 --checkpoint-dir '%s'",
             p, t_path("cv_small5"));
    CHECKF(rc == 0, "the suggested --batch-size 5 should train: exit %d: %s", rc, err);
    free(err);

    const char *p1 = t_path("small2632.txt"), *p2 = t_path("small2633.txt");
    t_write_file(p1, cat_text, 2632);
    t_write_file(p2, cat_text, 2633);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --max-iters 1 --checkpoint-dir '%s'", p1,
             t_path("cv_2632"));
    EXPECT_ERROR("2632 characters (one below the stated minimum)", rc, err, "at least 2633 characters");
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --max-iters 1 --checkpoint-dir '%s'", p2,
             t_path("cv_2633"));
    CHECKF(rc == 0, "a file of the stated minimum (2633 characters) should train: exit %d: %s", rc, err);
    free(err);
}

static void test_nul_in_codepoint_mode(void) {
    char buf[600];
    memcpy(buf, "hello", 5);
    buf[5] = 0;
    cat_corpus();
    memcpy(buf + 6, cat_text, sizeof buf - 6);
    const char *p = t_path("nul.txt");
    t_write_file(p, buf, sizeof buf);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --batch-size 2 --seq-length 10 --checkpoint-dir '%s'", p, t_path("cv_nul"));
    EXPECT_ERROR("NUL byte", rc, err, p, "NUL", "offset 5", "--unit byte");
    free(err);
    /* byte mode takes any bytes */
    rc = t_cli(NULL, &err, "train '%s' --unit byte --batch-size 2 --seq-length 10 --rnn-size 8 --num-layers 1 "
             "--max-iters 2 --checkpoint-dir '%s'", p, t_path("cv_nul_byte"));
    CHECKF(rc == 0, "--unit byte should train on a file with NUL bytes: exit %d: %s", rc, err);
    free(err);
}

static void test_invalid_utf8(void) {
    static const struct { const char *bad; size_t badlen; const char *byte; } cases[] = {
        {"\xff", 1, "0xFF"},             /* never valid */
        {"\xc0\x80", 2, "0xC0"},         /* overlong NUL */
        {"\xed\xa0\x80", 3, "0xED"},     /* surrogate U+D800 */
        {"\x80", 1, "0x80"},             /* stray continuation byte */
        {"\xe5\xba", 2, "0xE5"},         /* 床 cut short (followed by ASCII) */
        {"\xf4\x90\x80\x80", 4, "0xF4"}, /* above U+10FFFF */
    };
    cat_corpus();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[700];
        memcpy(buf, cat_text, 300);
        memcpy(buf + 300, cases[i].bad, cases[i].badlen);
        memcpy(buf + 300 + cases[i].badlen, cat_text + 300, 300);
        size_t n = 600 + cases[i].badlen;
        char name[64];
        snprintf(name, sizeof name, "bad_utf8_%zu.txt", i);
        const char *p = t_path(name);
        t_write_file(p, buf, n);
        char *err, what[64];
        snprintf(what, sizeof what, "invalid UTF-8 case %zu", i);
        int rc = t_cli(NULL, &err, "train '%s' --batch-size 2 --seq-length 10 --checkpoint-dir '%s'", p,
                     t_path("cv_bad_utf8"));
        EXPECT_ERROR(what, rc, err, p, "not valid UTF-8", "byte offset 300", cases[i].byte, "--unit byte");
        free(err);
    }
    /* the suggested --unit byte trains, and the checkpoint says bytes */
    const char *p = t_path("bad_utf8_0.txt"), *dir = t_path("cv_utf8_byte");
    char *err, *out;
    int rc = t_cli(NULL, &err, "train '%s' --unit byte --batch-size 2 --seq-length 10 --rnn-size 8 --num-layers 1 "
                 "--max-iters 3 --checkpoint-dir '%s'", p, dir);
    CHECKF(rc == 0, "--unit byte should train on invalid UTF-8: exit %d: %s", rc, err);
    free(err);
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
    CHECKF(rc == 0 && strstr(out, "bytes"), "info of the byte-mode model: exit %d: %s %s", rc, out, err);
    free(out);
    free(err);
}

static void test_bad_numeric_options(void) {
    static const struct { const char *args; const char *n1, *n2; } cases[] = {
        {"--num-layers 0", "--num-layers 0", "out of range"},
        {"--num-layers 1000", "--num-layers 1000", "out of range"},
        {"--rnn-size -5", "--rnn-size -5", "out of range"},
        {"--rnn-size 0", "--rnn-size 0", "out of range"},
        {"--rnn-size 99999999999", "--rnn-size", "too large: the most it can hold is 2147483647"},
        {"--learning-rate 0", "--learning-rate 0", "out of range"},
        {"--learning-rate -1", "--learning-rate -1", "out of range"},
        {"--batch-size 0", "--batch-size 0", "out of range"},
        {"--batch-size -3", "--batch-size -3", "out of range"},
        {"--seq-length -1", "--seq-length -1", "out of range"},
        {"--seq-length 0", "--seq-length 0", "out of range"},
        {"--train-frac 0.9 --val-frac 0.2", "--train-frac 0.9", "--val-frac 0.2"},
        {"--train-frac 0", "--train-frac 0", "out of range"},
        {"--train-frac 1.5", "--train-frac 1.5", "out of range"},
        {"--val-frac -0.1", "--val-frac -0.1", "out of range"},
        {"--dropout 1.5", "--dropout 1.5", "out of range"},
        {"--dropout 1", "--dropout 1", "out of range"},
        {"--dropout -0.1", "--dropout -0.1", "out of range"},
        {"--grad-clip -1", "--grad-clip -1", "out of range"},
        {"--max-iters -1", "--max-iters -1", "out of range"},
        {"--max-epochs 0", "--max-epochs 0", "out of range"},
        {"--eval-val-every 0", "--eval-val-every 0", "out of range"},
        {"--print-every 0", "--print-every 0", "out of range"},
        {"--decay-rate 1", "--decay-rate 1", "out of range"},
        {"--threads -2", "--threads -2", "out of range"},
        {"--rnn-size abc", "--rnn-size", "'abc'"},
        {"--rnn-size 1e3", "--rnn-size", "'1e3'"},
        {"--rnn-size 12x", "--rnn-size", "'12x'"},
        {"--learning-rate fast", "--learning-rate", "'fast'"},
        {"--learning-rate nan", "--learning-rate", "'nan'"},
        {"--learning-rate inf", "--learning-rate", "'inf'"},
        {"--max-iters ''", "--max-iters", "''"},
        {"--seed -1", "--seed", "'-1'"},
        {"--model lsmt", "--model", "lstm|gru|rnn"},
        {"--unit word", "--unit", "codepoint|byte"},
        {"--optim adamw", "--optim", "rmsprop|adam|adagrad|sgd"},
        {"--max-iters", "--max-iters", "needs a value"},
        {"--resume a --init-from b", "--resume", "--init-from"},
    };
    const char *corpus = cat_corpus(), *dir = t_path("cv_badopt");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s' %s", corpus, dir, cases[i].args);
        char what[128];
        snprintf(what, sizeof what, "train %s", cases[i].args);
        EXPECT_ERROR(what, rc, err, cases[i].n1, cases[i].n2);
        CHECKF(rc == 2, "%s: a bad option is a usage error, exit 2, got %d", what, rc);
        free(err);
    }
    CHECKF(!file_exists(dir), "a run refused for its options created %s", dir);

    const char *m = small_model();
    if (!m) return;
    static const struct { const char *args; const char *n1, *n2; } scases[] = {
        {"--temperature -1", "--temperature -1", "out of range"},
        {"--temperature nan", "--temperature", "'nan'"},
        {"--temperature hot", "--temperature", "'hot'"},
        {"--length -3", "--length -3", "out of range"},
        {"--length ten", "--length", "'ten'"},
        {"--num-samples 0", "--num-samples 0", "out of range"},
        {"--num-samples -4", "--num-samples -4", "out of range"},
        {"--seed x", "--seed", "'x'"},
        {"--threads -1", "--threads -1", "out of range"},
        {"--primetext a --prime-file b", "--primetext", "--prime-file"},
    };
    for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
        char *out, *err;
        int rc = t_cli(&out, &err, "sample '%s' --length 5 %s", m, scases[i].args);
        char what[128];
        snprintf(what, sizeof what, "sample %s", scases[i].args);
        EXPECT_ERROR(what, rc, err, scases[i].n1, scases[i].n2);
        CHECKF(rc == 2, "%s: a bad option is a usage error, exit 2, got %d", what, rc);
        CHECKF(out[0] == 0, "%s printed a sample although it failed: %s", what, out);
        free(out);
        free(err);
    }
}

static void test_unknown_option_suggests(void) {
    static const struct { const char *cmd, *args, *bad, *suggest; } cases[] = {
        {"train", "--rnn_sise 16", "--rnn_sise", "did you mean --rnn-size"},
        {"train", "--learning-rat 0.1", "--learning-rat", "did you mean --learning-rate"},
        {"train", "--num-layer 1", "--num-layer", "did you mean --num-layers"},
        {"train", "--max_iter 1", "--max_iter", "did you mean --max-iters"},
        {"train", "--chekpoint-dir x", "--chekpoint-dir", "did you mean --checkpoint-dir"},
        {"sample", "--temprature 1", "--temprature", "did you mean --temperature"},
        {"sample", "--prime-text a", "--prime-text", "did you mean --primetext"},
    };
    const char *corpus = cat_corpus();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "%s '%s' %s", cases[i].cmd, corpus, cases[i].args);
        char what[128];
        snprintf(what, sizeof what, "%s %s", cases[i].cmd, cases[i].args);
        EXPECT_ERROR(what, rc, err, cases[i].bad, cases[i].suggest);
        free(err);
    }
    /* nothing near: no wrong suggestion, a pointer to --help instead */
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --zzzzzzzzzzzz 3", corpus);
    EXPECT_ERROR("train --zzzzzzzzzzzz", rc, err, "--zzzzzzzzzzzz", "--help");
    CHECKF(!strstr(err, "did you mean"), "a far-off option got a suggestion: %s", err);
    free(err);
}

static void test_unknown_command_suggests(void) {
    static const struct { const char *cmd, *suggest; } cases[] = {
        {"trian", "did you mean 'train'"},
        {"smaple", "did you mean 'sample'"},
        {"evl", "did you mean 'eval'"},
        {"inf", "did you mean 'info'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "%s x", cases[i].cmd);
        EXPECT_ERROR(cases[i].cmd, rc, err, cases[i].cmd, cases[i].suggest);
        free(err);
    }
    char *err;
    int rc = t_cli(NULL, &err, "frobnicate");
    EXPECT_ERROR("frobnicate", rc, err, "frobnicate", "train, sample, eval, info");
    free(err);
    /* no command at all: usage on stderr, non-zero */
    char *out;
    rc = t_cli(&out, &err, "");
    CHECKF(rc != 0 && rc < 128 && strstr(err, "usage"), "no command: exit %d, stderr %s", rc, err);
    free(out);
    free(err);
}

static void test_prime_unknown_chars(void) {
    const char *m = small_model();
    if (!m) return;
    char *out, *err;
    /* no character of the prime text is in the vocabulary (a-y, space, '.', '\n') */
    int rc = t_cli(&out, &err, "sample '%s' --length 20 --primetext 'ZZQ@@#' ", m);
    EXPECT_ERROR("prime text with no known character", rc, err, "prime text", "vocabulary");
    CHECKF(out[0] == 0, "a failed sample printed: %s", out);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample '%s' --length 20 --primetext '床前'", m);
    EXPECT_ERROR("Chinese prime text for an English model", rc, err, "prime text", "vocabulary");
    free(out);
    free(err);

    /* some unknown: a warning naming them, exit 0, the sample on stdout */
    rc = t_cli(&out, &err, "sample '%s' --length 30 --primetext 'the QZ cat' --seed 3", m);
    CHECKF(rc == 0, "partly unknown prime text: exit %d: %s", rc, err);
    CHECKF(strstr(err, "warning") && strstr(err, "'Q' (U+0051)") && strstr(err, "'Z' (U+005A)") &&
               strstr(err, "2 character"),
           "the warning should count and list Q and Z: %s", err);
    CHECKF(!strstr(err, "error"), "a warning only, not an error: %s", err);
    CHECKF(strncmp(out, "the QZ cat", 10) == 0 && strlen(out) == 10 + 30 + 1,
           "stdout should be the prime text and 30 characters: [%s]", out);
    free(out);
    free(err);
}

/* A GRU checkpoint and one trained on another vocabulary, for --init-from. */
static void test_init_from_mismatch(void) {
    const char *corpus = cat_corpus();
    const char *gdir = t_path("cv_gru_src");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
                 "--max-iters 2 --checkpoint-dir '%s'", corpus, gdir);
    CHECKF(rc == 0, "training the GRU source: exit %d: %s", rc, err);
    free(err);
    char *gckpt = t_fmt("%s/latest.safetensors", gdir);

    rc = t_cli(NULL, &err, "train '%s' --model lstm --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, gckpt, t_path("cv_init_lstm"));
    EXPECT_ERROR("--init-from a GRU into an LSTM run", rc, err, "--init-from", "gru", "lstm");
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 32 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, gckpt, t_path("cv_init_size"));
    EXPECT_ERROR("--init-from a 1 x 16 into a 1 x 32 run", rc, err, "--init-from", "16", "32");
    free(err);

    /* a corpus with one more character ('!') */
    char *alt = malloc(cat_len + 2);
    memcpy(alt, cat_text, cat_len);
    memcpy(alt + cat_len, "!\n", 2);
    const char *altp = t_path("cat_bang.txt");
    t_write_file(altp, alt, cat_len + 2);
    free(alt);
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", altp, gckpt, t_path("cv_init_vocab"));
    char vs[64], vs1[64];
    snprintf(vs, sizeof vs, "%d", cat_vocab);
    snprintf(vs1, sizeof vs1, "%d", cat_vocab + 1);
    EXPECT_ERROR("--init-from with another vocabulary", rc, err, "--init-from", "vocabulary", vs, vs1);
    free(err);

    /* the matching shape and vocabulary works */
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, gckpt, t_path("cv_init_ok"));
    CHECKF(rc == 0, "--init-from a matching checkpoint: exit %d: %s", rc, err);
    free(err);
    /* --init-from a file that is not a checkpoint */
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, corpus, t_path("cv_init_txt"));
    EXPECT_ERROR("--init-from a text file", rc, err, corpus);
    free(err);
    free(gckpt);
}

/* Files that are not checkpoints, given to sample, eval and info (and --resume). */
static void test_not_a_checkpoint(void) {
    const char *m = small_model();
    if (!m) return;
    size_t len;
    char *real = t_read_file(m, &len);
    if (!CHECK(real && len > 1000)) { free(real); return; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)real[i];

    typedef struct { const char *name; size_t n; const char *data; const char *needle; } bad_file;
    bad_file files[12];
    int nf = 0;
    const char *txt = "this is just some text, not a checkpoint\n";
    files[nf++] = (bad_file){"text.safetensors", strlen(txt), txt, "not a safetensors file"};
    files[nf++] = (bad_file){"empty.safetensors", 0, "", "empty"};
    static char rnd[4096];
    lcg_state = 99;
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (char)(lcg() >> 8);
    files[nf++] = (bad_file){"random.safetensors", sizeof rnd, rnd, "not a safetensors file"};
    /* truncated copies: inside the length, inside the header, inside the data, one byte short */
    files[nf++] = (bad_file){"trunc4.safetensors", 4, real, "not a safetensors file"};
    files[nf++] = (bad_file){"trunc8.safetensors", 8, real, "not a safetensors file"};
    files[nf++] = (bad_file){"trunc_header.safetensors", (size_t)(8 + hlen / 2), real, "not a safetensors file"};
    files[nf++] = (bad_file){"trunc_half.safetensors", len / 2, real, "truncated"};
    files[nf++] = (bad_file){"trunc_1.safetensors", len - 1, real, "truncated"};
    /* a well-formed safetensors file that charrnn did not write */
    static char other[128];
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    size_t hl = strlen(hdr);
    memset(other, 0, sizeof other);
    other[0] = (char)hl;
    memcpy(other + 8, hdr, hl);
    files[nf++] = (bad_file){"foreign.safetensors", 8 + hl + 4, other, "not a charrnn checkpoint"};

    const char *corpus = cat_corpus();
    for (int i = 0; i < nf; i++) {
        const char *p = t_path(files[i].name);
        t_write_file(p, files[i].data, files[i].n);
        const char *cmds[3] = {"info '%s'", "sample '%s' --length 5", "eval '%s' '%s'"};
        for (int c = 0; c < 3; c++) {
            char *args = t_fmt(cmds[c], p, corpus);
            char *out, *err;
            int rc = t_cli(&out, &err, "%s", args);
            char what[200];
            snprintf(what, sizeof what, "%s (%s)", args, files[i].name);
            EXPECT_ERROR(what, rc, err, p, files[i].needle);
            CHECKF(out[0] == 0, "%s printed on stdout: %s", what, out);
            free(out);
            free(err);
            free(args);
        }
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 200 --checkpoint-dir '%s'", corpus, p,
                     t_path("cv_resume_bad"));
        char what[200];
        snprintf(what, sizeof what, "train --resume %s", files[i].name);
        EXPECT_ERROR(what, rc, err, p);
        free(err);
    }
    /* a directory and a missing file */
    const char *d = t_path("ckpt_dir");
    mkdir(d, 0755);
    char *out, *err;
    int rc = t_cli(&out, &err, "info '%s'", d);
    EXPECT_ERROR("info DIRECTORY", rc, err, d, "directory");
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample '%s'", t_path("missing.safetensors"));
    EXPECT_ERROR("sample MISSING", rc, err, "missing.safetensors", "No such file");
    free(out);
    free(err);
    free(real);
}

/* Random changes to bytes of the header of a real checkpoint: every run ends with
 * exit 0 or a clean error, never a crash or a sanitizer report. */
static void test_corrupt_header_no_crash(void) {
    const char *m = small_model();
    if (!m) return;
    size_t len;
    char *real = t_read_file(m, &len);
    if (!CHECK(real && len > 1000)) { free(real); return; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)real[i];
    const char *p = t_path("mutant.safetensors");
    const unsigned char repl[] = {'9', '"', '-', '{', '}', '0', 'e', '[', ',', '\\', 0xff, 0};
    lcg_state = 1234;
    int clean_errors = 0;
    for (int i = 0; i < 40; i++) {
        char *e = malloc(len);
        memcpy(e, real, len);
        int k = 1 + (int)(lcg() % 3);
        for (int j = 0; j < k; j++) {
            size_t at = (size_t)(lcg() % (8 + hlen));
            e[at] = (char)(lcg() % 2 ? repl[lcg() % sizeof repl] : lcg() & 0xff);
        }
        t_write_file(p, e, len);
        free(e);
        char *out, *err;
        int rc = t_cli(&out, &err, i % 4 == 3 ? "sample '%s' --length 3 --verbose 0" : "info '%s'", p);
        CHECKF(!t_crashed(rc, err), "mutant %d: exit %d: %s", i, rc, err);
        if (rc) {
            int count;
            char *el = error_line(err, &count);
            CHECKF(count >= 1 && strstr(el, "mutant.safetensors"), "mutant %d: exit %d without a clean message: %s", i,
                   rc, err);
            clean_errors++;
            free(el);
        }
        free(out);
        free(err);
    }
    CHECKF(clean_errors >= 20, "only %d of 40 mutants were refused; the header is not checked", clean_errors);
    free(real);
}

static void test_resume_other_corpus(void) {
    const char *corpus = cat_corpus();
    const char *dir = t_path("cv_resume_src");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 3 "
                 "--checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "training: exit %d: %s", rc, err);
    free(err);
    char *ck = t_fmt("%s/latest.safetensors", dir);
    /* the same size, one character changed */
    char *alt = malloc(cat_len);
    memcpy(alt, cat_text, cat_len);
    alt[100] = alt[100] == 'a' ? 'e' : 'a';
    const char *altp = t_path("cat_changed.txt");
    t_write_file(altp, alt, cat_len);
    free(alt);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", altp, ck,
             t_path("cv_resume_other"));
    EXPECT_ERROR("--resume with a changed corpus", rc, err, ck, "different corpus", "--init-from");
    free(err);
    /* another file altogether, and the built-in corpus */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", cat2k_corpus(), ck,
             t_path("cv_resume_other"));
    EXPECT_ERROR("--resume with a shorter corpus", rc, err, ck, "different corpus");
    free(err);
    rc = t_cli(NULL, &err, "train --resume '%s' --max-iters 6 --checkpoint-dir '%s'", ck, t_path("cv_resume_other"));
    EXPECT_ERROR("--resume with the built-in corpus", rc, err, ck, "different corpus");
    free(err);
    /* the right corpus resumes */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", corpus, ck, dir);
    CHECKF(rc == 0 && strstr(err, "at iteration 3"), "resume with the same corpus: exit %d: %s", rc, err);
    free(err);
    /* resuming a finished run without raising --max-iters says so, with the right numbers */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", corpus, ck, dir);
    CHECKF(rc == 0 && strstr(err, "nothing to do"), "resuming a finished run: exit %d: %s", rc, err);
    CHECKF(strstr(err, "iteration 6 of 6"), "the 'nothing to do' line should say 'iteration 6 of 6': %s", err);
    free(err);
    free(ck);
}

/* --checkpoint-dir that cannot be a directory: refused before any training. */
static void test_checkpoint_dir_is_file(void) {
    const char *f = t_path("plain_file");
    write_str(f, "x");
    char *sub = t_fmt("%s/sub", f), *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
                 "--checkpoint-dir '%s'", cat_corpus(), f);
    EXPECT_ERROR("--checkpoint-dir naming a file", rc, err, f, "--checkpoint-dir");
    CHECKF(!strstr(err, "1/2"), "it trained before failing: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
             "--checkpoint-dir '%s'", cat_corpus(), sub);
    EXPECT_ERROR("--checkpoint-dir below a file", rc, err, sub, "--checkpoint-dir");
    free(err);
    free(sub);
}

/* A model too big for the machine is refused before anything large is allocated. */
static void test_too_big_for_memory(void) {
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16384 --num-layers 16 --max-iters 1 --checkpoint-dir '%s'",
                 cat_corpus(), t_path("cv_huge"));
    EXPECT_ERROR("a 16 x 16384 LSTM", rc, err, "GB", "available", "--rnn-size");
    free(err);
}

/* A resumed run keeps its saved settings: --max-iters and --eval-val-every come
 * from the checkpoint unless given again, and other training options given with
 * --resume are reported as ignored. */
static void test_resume_keeps_settings(void) {
    const char *dir = t_path("cv_keep");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 6 "
                 "--eval-val-every 3 --threads 1 --checkpoint-dir '%s'", cat_corpus(), dir);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s/latest.safetensors' --rnn-size 999 --learning-rate 0.5 "
             "--checkpoint-dir '%s'", cat_corpus(), dir, dir);
    CHECKF(rc == 0 && strstr(err, "nothing to do") && strstr(err, "iteration 6 of 6"),
           "resume without --max-iters should keep the saved 6: exit %d: %s", rc, err);
    CHECKF(strstr(err, "--rnn-size is ignored") && strstr(err, "--learning-rate is ignored"),
           "options given with --resume should be reported as ignored: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s/latest.safetensors' --max-iters 9 --print-every 1 --checkpoint-dir '%s'",
             cat_corpus(), dir, dir);
    CHECKF(rc == 0 && strstr(err, "9/9") && strstr(err, "validation at 9") && !strstr(err, "validation at 7"),
           "resume to 9 with the saved --eval-val-every 3: exit %d: %s", rc, err);
    free(err);
}

/* ---- 2. training reaches a validation loss ------------------------------------------------ */

/* 1 x 64, batch 16 x seq 32, 400 iterations (11.4 epochs) of RMSProp on cat.txt
 * (20021 bytes, V = 26: chance is ln 26 = 3.26 nats), validation on the last 10%.
 * The generating process has 0.172 nats/char (ln 150 per line of mean length
 * 29.07), so a correct model cannot go much below that on held-out text: the lower
 * bound 0.75x of it catches a loss that peeks at its targets.
 * Observed val_loss at -O2: lstm 0.354, gru 0.239, rnn 0.279 (at 200: 1.04, 0.60, 0.56).
 * In float32 (pinned): the thresholds are about a trajectory, not a precision. */
static void converge(const char *cell, double threshold) {
    const char *corpus = cat_corpus();
    char name[64];
    snprintf(name, sizeof name, "cv_conv_%s", cell);
    const char *dir = t_path(name);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --model %s --rnn-size 64 --num-layers 1 --batch-size 16 --seq-length 32 "
                 "--max-iters 400 --eval-val-every 200 --print-every 100 --train-frac 0.9 --val-frac 0.1 --threads 1 "
                 "--precision fp32 --checkpoint-dir '%s'", corpus, cell, dir);
    CHECKF(rc == 0, "%s training: exit %d: %s", cell, rc, err);
    double val = last_number_after(err, "val_loss = ");
    double val200 = NAN;
    const char *v200 = strstr(err, "validation at 200: val_loss = ");
    if (v200) val200 = strtod(v200 + strlen("validation at 200: val_loss = "), NULL);
    CHECKF(strstr(err, "validation at 400"), "%s: no validation at 400: %s", cell, err);
    CHECKF(val < threshold, "%s: final val_loss %.4f nats, expected < %.2f (chance ln %d = %.2f)", cell, val,
           threshold, cat_vocab, log(cat_vocab));
    CHECKF(val > 0.75 * cat_entropy_floor, "%s: val_loss %.4f is below the corpus entropy %.3f nats/char: "
           "the loss must be seeing its targets", cell, val, cat_entropy_floor);
    CHECKF(val < val200, "%s: val_loss did not fall from iteration 200 (%.4f) to 400 (%.4f)", cell, val200, val);
    free(err);

    /* train.jsonl's last validation record says the same */
    char *log = t_fmt("%s/train.jsonl", dir);
    char *j = t_read_file(log, NULL);
    CHECKF(j, "no %s", log);
    if (j) {
        double jv = last_number_after(j, "\"val_loss\":");
        CHECK_CLOSE(jv, val, 6e-5, 0);
    }
    free(j);
    free(log);

    /* info reports the same best val loss, eval on the training file works */
    char *out;
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
    double best = last_number_after(out, "best val loss:  ");
    CHECKF(rc == 0, "info: %s", err);
    CHECK_CLOSE(best, val, 6e-5, 0);
    free(out);
    free(err);
}

static void test_converge_lstm(void) { converge("lstm", 0.70); } /* observed 0.354 */
static void test_converge_gru(void) { converge("gru", 0.50); }   /* observed 0.239 */
static void test_converge_rnn(void) { converge("rnn", 0.60); }   /* observed 0.279 */

/* ---- 3. resume equals uninterrupted training ----------------------------------------------- */

/* train.jsonl lines without the timing field. */
static char *jsonl_without_timing(const char *path, int *ntrain) {
    char *s = t_read_file(path, NULL);
    if (!s) return NULL;
    char *o = malloc(strlen(s) + 1), *w = o;
    *ntrain = 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *t = strstr(p, ",\"ms_per_iter\":");
        if (t && t < p + n) {
            memcpy(w, p, (size_t)(t - p));
            w += t - p;
            *w++ = '}';
        } else {
            memcpy(w, p, n);
            w += n;
        }
        if (strstr(p, "\"train_loss\"") && strstr(p, "\"train_loss\"") < p + n) (*ntrain)++;
        *w++ = '\n';
        p += n + (e ? 1 : 0);
    }
    *w = 0;
    free(s);
    return o;
}

/* The tensor bytes of a safetensors file (everything after the header). */
static char *tensor_bytes(const char *path, size_t *n) {
    size_t len;
    char *s = t_read_file(path, &len);
    *n = 0;
    if (!s || len < 8) { free(s); return NULL; }
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = (h << 8) | (unsigned char)s[i];
    if (h > len - 8) { free(s); return NULL; }
    *n = len - 8 - (size_t)h;
    char *d = malloc(*n + 1);
    memcpy(d, s + 8 + h, *n);
    free(s);
    return d;
}

static void resume_case(const char *tag, const char *corpus, const char *opts, const char *expect_in_log) {
    char *da = t_fmt("%s", t_path(tag)), *db = t_fmt("%s_b", da);
    /* float32 pinned: the three runs must not differ in what auto would pick */
    const char *common = "--eval-val-every 20 --print-every 1 --threads 1 --precision fp32";
    char *ea, *eb, *ec;
    int ra = t_cli(NULL, &ea, "train '%s' %s %s --max-iters 40 --checkpoint-dir '%s'", corpus, opts, common, da);
    int rb = t_cli(NULL, &eb, "train '%s' %s %s --max-iters 20 --checkpoint-dir '%s'", corpus, opts, common, db);
    int rc = t_cli(NULL, &ec, "train '%s' --resume '%s/latest.safetensors' %s --max-iters 40 --checkpoint-dir '%s'", corpus,
                 db, common, db);
    CHECKF(ra == 0 && rb == 0 && rc == 0, "%s: exits %d %d %d: %s | %s | %s", tag, ra, rb, rc, ea, eb, ec);
    CHECKF(strstr(ec, "resuming") && strstr(ec, "at iteration 20"), "%s: no 'resuming ... at iteration 20': %s", tag, ec);
    free(ea);
    free(eb);
    free(ec);

    /* the same losses at every iteration (printed to 6 decimals), the same validations */
    char *la = t_fmt("%s/train.jsonl", da), *lb = t_fmt("%s/train.jsonl", db);
    int na = 0, nb = 0;
    char *ja = jsonl_without_timing(la, &na), *jb = jsonl_without_timing(lb, &nb);
    CHECKF(ja && jb && na == 40 && nb == 40, "%s: %d and %d train lines, expected 40", tag, na, nb);
    CHECKF(!expect_in_log || (ja && strstr(ja, expect_in_log)), "%s: the log lacks %s", tag, expect_in_log);
    if (ja && jb && strcmp(ja, jb)) {
        const char *p = ja, *q = jb;
        while (*p && *p == *q) p++, q++;
        while (p > ja && p[-1] != '\n') p--, q--;
        CHECKF(0, "%s: the resumed log differs from the uninterrupted one at\n      A: %.160s\n      B: %.160s", tag, p, q);
    }
    free(ja);
    free(jb);
    free(la);
    free(lb);

    /* bitwise the same tensors: weights, optimizer moments, carried state, loss history */
    char *ca = t_fmt("%s/latest.safetensors", da), *cb = t_fmt("%s/latest.safetensors", db);
    size_t sa, sb;
    char *ta = tensor_bytes(ca, &sa), *tb = tensor_bytes(cb, &sb);
    CHECKF(ta && tb && sa == sb && sa > 0 && memcmp(ta, tb, sa) == 0,
           "%s: the tensors of the resumed checkpoint differ from the uninterrupted run's (%zu vs %zu bytes)", tag, sa, sb);
    free(ta);
    free(tb);

    /* and eval of both prints the same numbers */
    char *oa, *ob;
    ra = t_cli(&oa, &ea, "eval '%s' '%s' --precision fp32", ca, corpus);
    rb = t_cli(&ob, &eb, "eval '%s' '%s' --precision fp32", cb, corpus);
    const char *pa = strchr(oa, ':'), *pb = strchr(ob, ':');
    CHECKF(ra == 0 && rb == 0 && pa && pb && strcmp(pa, pb) == 0, "%s: eval differs: A %s %s | B %s %s", tag, oa, ea, ob,
           eb);
    free(oa);
    free(ob);
    free(ea);
    free(eb);
    free(ca);
    free(cb);
    free(da);
    free(db);
}

/* RMSProp on a corpus of 15 iterations per epoch: the resume at 20 is mid-epoch,
 * the epoch ends at 30 reset the state and decay the learning rate (decay after 1). */
static void test_resume_rmsprop_epochs(void) {
    resume_case("cv_res_rms", cat2k_corpus(),
                "--model lstm --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 "
                "--learning-rate-decay 0.5 --learning-rate-decay-after 1",
                "\"learning_rate\":0.0005}"); /* decayed at iterations 15 and 30 */
}

/* Dropout: the dropout RNG must be restored. */
static void test_resume_dropout(void) {
    resume_case("cv_res_drop", cat_corpus(),
                "--model gru --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 --dropout 0.3", NULL);
}

/* Adam: both moments and the step count must be restored. */
static void test_resume_adam(void) {
    resume_case("cv_res_adam", cat_corpus(),
                "--model lstm --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 --optim adam "
                "--dropout 0.1 --clip-mode norm", NULL);
}

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

/* ---- 6. eval ------------------------------------------------------------------------------------ */

static void test_eval(void) {
    const char *m = small_model();
    if (!m) return;
    const char *corpus = cat_corpus();
    char *out, *err;
    int rc = t_cli(&out, &err, "eval '%s' '%s'", m, corpus);
    CHECKF(rc == 0, "eval: exit %d: %s", rc, err);
    double nats = NAN, bpc = NAN;
    long pred = -1, unk = -1;
    const char *p = strstr(out, ": ");
    int got = p ? sscanf(p, ": %lf nats, %lf bpc over %ld predicted characters (%ld unknown skipped;", &nats, &bpc,
                         &pred, &unk)
                : 0;
    CHECKF(got == 4, "eval's line should read 'FILE: X nats, Y bpc over N predicted characters (U unknown skipped)': %s",
           out);
    /* both printed to 4 decimals: |bpc - nats / ln 2| <= 5e-5 + 5e-5 / ln 2 */
    CHECK_CLOSE(bpc, nats / log(2.0), 1.3e-4, 0);
    CHECKF(nats > 0.2 && nats < log(cat_vocab), "nats %.4f should be between the entropy and chance", nats);
    CHECKF(pred == (long)cat_len - 1 && unk == 0, "predicted %ld (expected %zu), unknown %ld", pred, cat_len - 1, unk);
    CHECKF(!strstr(err, "warning"), "no warning expected: %s", err);
    free(out);
    free(err);

    /* characters outside the vocabulary are counted, listed and skipped */
    const char *mix = t_path("mixed.txt");
    write_str(mix, "the cat sat on the mat.\nthe QUIZ dog ran 2 the 床.\n");
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, mix);
    CHECKF(rc == 0, "eval with unknown characters: exit %d: %s", rc, err);
    got = (p = strstr(out, ": ")) ? sscanf(p, ": %lf nats, %lf bpc over %ld predicted characters (%ld unknown skipped;",
                                           &nats, &bpc, &pred, &unk)
                                  : 0;
    /* Q U I Z 2 床 are unknown; 50 code points - 6 = 44 known, 43 predictions */
    CHECKF(got == 4 && unk == 6 && pred == 43, "expected 43 predicted, 6 unknown: %s", out);
    CHECKF(strstr(err, "warning") && strstr(err, "'Q' (U+0051)") && strstr(err, "'床' (U+5E8A)") &&
               strstr(err, "'2' (U+0032)"),
           "the warning should list the unknown characters: %s", err);
    CHECKF(isfinite(nats) && isfinite(bpc), "non-finite loss: %s", out);
    free(out);
    free(err);

    /* nothing known: a clear error */
    const char *none = t_path("unknown_only.txt");
    write_str(none, "QQQZZZ床前明月光");
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, none);
    EXPECT_ERROR("eval of text with no known character", rc, err, "at least 2");
    free(out);
    free(err);
    /* an empty file, a missing one, a directory */
    const char *empty = t_path("eval_empty.txt");
    t_write_file(empty, "", 0);
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, empty);
    EXPECT_ERROR("eval of an empty file", rc, err, "at least 2");
    free(out);
    free(err);
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, t_path("eval_missing.txt"));
    EXPECT_ERROR("eval of a missing file", rc, err, "eval_missing.txt", "No such file");
    free(out);
    free(err);
    rc = t_cli(&out, &err, "eval '%s'", m);
    EXPECT_ERROR("eval without a text file", rc, err, "eval needs");
    free(out);
    free(err);
    /* invalid UTF-8: the message names the file (not a placeholder) and the offset */
    const char *bad = t_path("eval_bad.txt");
    t_write_file(bad, "the cat\xff sat", 12);
    rc = t_cli(&out, &err, "eval '%s' '%s'", m, bad);
    EXPECT_ERROR("eval of invalid UTF-8", rc, err, "byte offset 7", "0xFF", "eval_bad.txt");
    free(out);
    free(err);
}

/* ---- 7. info's parameter count ----------------------------------------------------------------- */

static void test_info_params(void) {
    const char *corpus = cat_corpus();
    const int V = cat_vocab, H = 16;
    static const struct { const char *cell; int layers, gates; } cases[] = {
        {"lstm", 1, 4}, {"gru", 1, 3}, {"rnn", 1, 1}, {"lstm", 2, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* PyTorch's layout: per layer G*H x (in + H) weights and two G*H biases; the decoder V x (H + 1) */
        long g = cases[i].gates, want = g * H * (V + H + 2) + (long)V * (H + 1);
        for (int l = 1; l < cases[i].layers; l++) want += g * H * (H + H + 2);
        char name[64];
        snprintf(name, sizeof name, "cv_info_%s%d", cases[i].cell, cases[i].layers);
        const char *dir = t_path(name);
        char *out, *err;
        int rc = t_cli(NULL, &err, "train '%s' --model %s --num-layers %d --rnn-size %d --batch-size 4 --seq-length 8 "
                     "--max-iters 1 --checkpoint-dir '%s'", corpus, cases[i].cell, cases[i].layers, H, dir);
        CHECKF(rc == 0, "%s: exit %d: %s", name, rc, err);
        char w[128];
        snprintf(w, sizeof w, "%ld parameters", want);
        CHECKF(strstr(err, w), "%s: train should report \"%s\": %s", name, w, err);
        free(err);
        rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
        long got = (long)last_number_after(out, "parameters:");
        CHECKF(rc == 0 && got == want, "%s (V = %d): info says %ld parameters, expected %ld: %s %s", name, V, got, want,
               out, err);
        snprintf(w, sizeof w, "vocabulary:     %d code points", V);
        CHECKF(strstr(out, w), "%s: expected \"%s\": %s", name, w, out);
        snprintf(w, sizeof w, "%s, %d layers x %d", cases[i].cell, cases[i].layers, H);
        CHECKF(strstr(out, w), "%s: expected \"%s\": %s", name, w, out);
        CHECKF(last_number_after(out, "trained:") == 1, "%s: should be trained 1 iteration: %s", name, out);
        free(out);
        free(err);
    }
}

/* ---- 8. the built-in corpus --------------------------------------------------------------------- */

static void test_builtin_corpus(void) {
    const char *dir = t_path("cv_builtin");
    char *err;
    int rc = t_cli(NULL, &err, "train --max-iters 3 --checkpoint-dir '%s'", dir);
    CHECKF(rc == 0, "train on the built-in corpus: exit %d: %s", rc, err);
    CHECKF(strstr(err, "built-in corpus"), "stderr should say it uses the built-in corpus: %s", err);
    free(err);
    char *ck = t_fmt("%s/latest.safetensors", dir), *lg = t_fmt("%s/train.jsonl", dir);
    CHECKF(file_exists(ck), "no %s", ck);
    size_t len;
    char *j = t_read_file(lg, &len);
    CHECKF(j && len > 0, "no or empty %s", lg);
    int lines = 0, val = 0, last_iter3 = 0;
    for (char *p = j; j && *p;) {
        char *e = strchr(p, '\n');
        CHECKF(e != NULL, "the last line of train.jsonl is not terminated: %s", p);
        if (!e) break;
        *e = 0;
        lines++;
        size_t n = strlen(p);
        CHECKF(n >= 2 && p[0] == '{' && p[n - 1] == '}', "line %d is not one JSON object: [%s]", lines, p);
        char msg[128];
        json_doc *d = json_parse(p, n, msg, sizeof msg);
        CHECKF(d != NULL, "line %d does not parse as JSON (%s): [%s]", lines, msg, p);
        if (d) {
            const json_value *r = json_root(d);
            double it;
            CHECKF(r->type == JSON_OBJECT && json_get_number(r, "iteration", &it) == 0, "line %d lacks iteration: %s",
                   lines, p);
            if (json_get(r, "val_loss")) val++;
            if (json_get(r, "train_loss") && it == 3) last_iter3 = 1;
            json_free(d);
        }
        p = e + 1;
    }
    CHECKF(lines >= 3 && val == 1 && last_iter3, "expected train lines up to iteration 3 and one validation: %d lines",
           lines);
    free(j);
    /* and the checkpoint samples */
    char *out;
    rc = t_cli(&out, &err, "sample '%s' --length 20 --verbose 0", ck);
    CHECKF(rc == 0 && strlen(out) >= 21, "sampling the built-in model: exit %d: %s", rc, err);
    free(out);
    free(err);
    free(ck);
    free(lg);
}

/* ---- 9. checkpoints are safetensors --------------------------------------------------------------- */

static void test_safetensors_layout(void) {
    const char *m = small_model();
    if (!m) return;
    size_t len;
    char *s = t_read_file(m, &len);
    if (!CHECK(s && len > 8)) { free(s); return; }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (unsigned char)s[i];
    CHECKF(n > 2 && n <= len - 8, "header length %llu, file %zu bytes", (unsigned long long)n, len);
    if (n > len - 8) { free(s); return; }
    const char *h = s + 8;
    CHECKF(h[0] == '{', "the header does not start with '{'");
    char *hdr = malloc((size_t)n + 1);
    memcpy(hdr, h, (size_t)n);
    hdr[n] = 0;
    static const char *keys[] = {"\"weight_ih_l0\"", "\"weight_hh_l0\"", "\"bias_ih_l0\"", "\"bias_hh_l0\"",
                                 "\"decoder.weight\"", "\"decoder.bias\"", "\"__metadata__\"", "\"format_version\""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECKF(strstr(hdr, keys[i]), "the header lacks %s", keys[i]);

    char msg[200];
    json_doc *d = json_parse(hdr, (size_t)n, msg, sizeof msg);
    CHECKF(d != NULL, "the header is not JSON: %s", msg);
    if (d) {
        const json_value *r = json_root(d);
        const json_value *meta = json_get(r, "__metadata__");
        CHECKF(meta && meta->type == JSON_OBJECT, "__metadata__ is not an object");
        /* safetensors metadata is a string -> string map */
        for (size_t i = 0; meta && i < meta->len; i++)
            CHECKF(meta->items[i].type == JSON_STRING, "__metadata__.%s is not a string", meta->keys[i]);
        const char *fv;
        CHECKF(meta && json_get_string(meta, "format_version", &fv) == 0 && !strcmp(fv, "1"),
               "format_version should be the string \"1\"");
        /* every tensor: a known dtype, data_offsets inside the data block, consistent with its shape;
         * together they cover the data block */
        size_t data = len - 8 - (size_t)n, covered = 0;
        for (size_t i = 0; i < r->len; i++) {
            if (!strcmp(r->keys[i], "__metadata__")) continue;
            const json_value *t = &r->items[i];
            const char *dt;
            const json_value *shape = json_get(t, "shape"), *off = json_get(t, "data_offsets");
            int ok = t->type == JSON_OBJECT && json_get_string(t, "dtype", &dt) == 0 && !strcmp(dt, "F32") && shape &&
                     shape->type == JSON_ARRAY && off && off->type == JSON_ARRAY && off->len == 2;
            CHECKF(ok, "tensor %s is malformed", r->keys[i]);
            if (!ok) continue;
            double elems = 1;
            for (size_t k = 0; k < shape->len; k++) elems *= shape->items[k].number;
            double b = off->items[0].number, e = off->items[1].number;
            CHECKF(b >= 0 && e >= b && e <= (double)data && e - b == 4 * elems,
                   "tensor %s: data_offsets [%g, %g] do not fit its shape (%g elements) or the %zu data bytes", r->keys[i],
                   b, e, elems, data);
            covered += (size_t)(e - b);
        }
        CHECKF(covered == data, "the tensors cover %zu of %zu data bytes", covered, data);
        /* PyTorch's shapes: weight_ih_l0 is [4H, V], decoder.weight [V, H] */
        const json_value *w = json_get(r, "weight_ih_l0"), *dw = json_get(r, "decoder.weight");
        const json_value *ws = w ? json_get(w, "shape") : NULL, *ds = dw ? json_get(dw, "shape") : NULL;
        CHECKF(ws && ws->len == 2 && ws->items[0].number == 4 * 32 && ws->items[1].number == cat_vocab,
               "weight_ih_l0 should be [128, %d]", cat_vocab);
        CHECKF(ds && ds->len == 2 && ds->items[0].number == cat_vocab && ds->items[1].number == 32,
               "decoder.weight should be [%d, 32]", cat_vocab);
        json_free(d);
    }
    free(hdr);
    free(s);
}

void register_cli_tests(void) {
    t_register("cli_missing_file", test_missing_file);
    t_register("cli_directory_input", test_directory_input);
    t_register("cli_empty_file", test_empty_file);
    t_register("cli_too_small", test_too_small);
    t_register("cli_nul_codepoint_mode", test_nul_in_codepoint_mode);
    t_register("cli_invalid_utf8", test_invalid_utf8);
    t_register("cli_bad_numeric_options", test_bad_numeric_options);
    t_register("cli_unknown_option_suggests", test_unknown_option_suggests);
    t_register("cli_unknown_command_suggests", test_unknown_command_suggests);
    t_register("cli_prime_unknown_chars", test_prime_unknown_chars);
    t_register("cli_init_from_mismatch", test_init_from_mismatch);
    t_register("cli_not_a_checkpoint", test_not_a_checkpoint);
    t_register("cli_corrupt_header_no_crash", test_corrupt_header_no_crash);
    t_register("cli_resume_other_corpus", test_resume_other_corpus);
    t_register("cli_resume_keeps_settings", test_resume_keeps_settings);
    t_register("cli_sample_half", test_sample_half);
    t_register("cli_too_big_for_memory", test_too_big_for_memory);
    t_register("cli_checkpoint_dir_is_file", test_checkpoint_dir_is_file);
    t_register("cli_converge_lstm", test_converge_lstm);
    t_register("cli_converge_gru", test_converge_gru);
    t_register("cli_converge_rnn", test_converge_rnn);
    t_register("cli_resume_rmsprop_epochs", test_resume_rmsprop_epochs);
    t_register("cli_resume_dropout", test_resume_dropout);
    t_register("cli_resume_adam", test_resume_adam);
    t_register("cli_sample_seed", test_sample_seed);
    t_register("cli_sample_temperature0", test_sample_temperature0);
    t_register("cli_sample_verbose_and_prime", test_sample_verbose_and_prime);
    t_register("cli_sample_num_samples", test_sample_num_samples);
    t_register("cli_chinese_codepoints", test_chinese_codepoints);
    t_register("cli_eval", test_eval);
    t_register("cli_info_params", test_info_params);
    t_register("cli_builtin_corpus", test_builtin_corpus);
    t_register("cli_safetensors_layout", test_safetensors_layout);
}
