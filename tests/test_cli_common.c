/* test_cli_common.c: what the end-to-end tests of the command line share (test_cli.h): one-line error
 * checks, a deterministic generator, strict UTF-8 decoding, the generated corpora, and the small trained
 * model of the sampling, eval and checkpoint tests. */
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

/* ---- helpers ------------------------------------------------------------------------ */

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int write_str(const char *path, const char *s) { return t_write_file(path, s, strlen(s)); }

/* The first stderr line holding "error:" (malloc'd, "" if none), and how many there are. */
char *error_line(const char *err, int *count) {
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
void expect_error_at(const char *file, int line, const char *what, int rc, const char *err,
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

/* The number after the last occurrence of key in s, or NAN. */
double last_number_after(const char *s, const char *key) {
    const char *last = NULL;
    for (const char *p = s; (p = strstr(p, key)); p++) last = p;
    if (!last) return NAN;
    char *end;
    double v = strtod(last + strlen(key), &end);
    return end == last + strlen(key) ? NAN : v;
}

/* A deterministic generator for corpora and random bytes (PCG-like LCG). */
uint64_t lcg_state;
uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

/* Strict UTF-8 decoding (independent of the library's): returns the length of the
 * sequence at s (n bytes left), 0 if invalid. */
int u8dec(const unsigned char *s, size_t n, uint32_t *cp) {
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
long u8_all(const char *s, size_t len, uint32_t *cps, long cap) {
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
int count_distinct(const uint32_t *cps, long n) {
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
char cat_text[21000];
size_t cat_len;
int cat_vocab;
double cat_entropy_floor; /* nats per character of the generating process */

const char *cat_corpus(void) {
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
const char *cat2k_corpus(void) {
    cat_corpus();
    const char *path = t_path("cat2k.txt");
    if (!file_exists(path)) t_write_file(path, cat_text, 2100);
    return path;
}

const char *const ZH_LINES[NZH] = {"床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "白日依山尽，黄河入海流。",
                                 "欲穷千里目，更上一层楼。", "春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"};
char zh_text[24000];
size_t zh_len;

/* zh.txt: the six lines above in random order, ~6000 code points. */
const char *zh_corpus(void) {
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
const char *small_model(void) {
    return t_trained("small_cv", cat_corpus(), "--rnn-size 32 --num-layers 1 --batch-size 16 --seq-length 32 --max-iters 150 "
                     "--eval-val-every 150 --train-frac 0.9 --val-frac 0.1 --threads 1 --precision fp32");
}
