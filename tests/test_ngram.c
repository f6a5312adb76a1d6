/* test_ngram.c: the n-gram baseline (src/baseline/, cli/cmd_ngram.c), its numbers. (1) Its
 * next-character distributions sum to 1 at every context, orders 1..6, both
 * units, and agree with its evaluation; (2) its loss on tiny corpora equals
 * the modified Kneser-Ney formulas worked out by hand; (3) it equals a slow,
 * obvious reference written here from the definition; and it measures a text in
 * the same frame as a network. Its files: test_ngram_file.c; its command line:
 * test_ngram_cli.c; what they share: test_ngram.h. Corpora are made here. */
#include "test.h"
#include "charrnn.h"
#include "safetensors.h"
#include "test_cli.h"
#include "test_ngram.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers (test_ngram.h) ------------------------------------------------------------------ */

charrnn_ngram *ngram_build(const char *text, int order, charrnn_unit unit, double train_frac, double val_frac) {
    charrnn_ngram_options o;
    charrnn_ngram_options_default(&o);
    o.order = order;
    o.unit = unit;
    o.train_frac = train_frac;
    o.val_frac = val_frac;
    charrnn_error err = {0};
    charrnn_ngram *g = NULL;
    int rc = charrnn_ngram_build(&g, "test text", text, strlen(text), &o, NULL, NULL, &err);
    CHECKF(rc == CHARRNN_OK, "build order %d: %s", order, err.msg);
    return g;
}

/* The vocabulary indices of text (code points or bytes); -1 for a character the model lacks. */
int *ngram_ids_of(const charrnn_ngram *g, const char *text, charrnn_unit unit, size_t *n) {
    size_t len = strlen(text), k = 0;
    int *ids = malloc(sizeof *ids * (len + 1));
    for (size_t i = 0; i < len;) {
        uint32_t c = (unsigned char)text[i];
        int step = 1;
        if (unit == CHARRNN_UNIT_CODEPOINT) step = utf8_decode((const unsigned char *)text + i, len - i, &c);
        if (step < 1) break;
        ids[k++] = charrnn_ngram_char_index(g, c);
        i += (size_t)step;
    }
    *n = k;
    return ids;
}

/* A text of words with some structure (and, in code-point mode, characters of
 * 2 to 4 bytes); "Ω" only in the last tenth, so the model knows it from the
 * vocabulary but never counted it. */
char *ngram_make_text(size_t target) {
    static const char *WORDS[] = {"the ", "cat ", "sat ", "on ", "a ", "mat", ". ", "naïve ", "café ", "日本 ", "🙂 ",
                                  "and ", "then ", "ran\n"};
    char *s = malloc(target + 64);
    size_t n = 0;
    lcg_state = 7;
    while (n < target) {
        const char *w = WORDS[lcg() % 14];
        if (n > target * 95 / 100 && lcg() % 3 == 0) w = "Ω ";
        memcpy(s + n, w, strlen(w));
        n += strlen(w);
    }
    s[n] = 0;
    return s;
}

/* ---- (1) distributions ------------------------------------------------------------------- */

static void test_probs_sum_to_one(void) {
    char *text = ngram_make_text(700);
    for (int u = 0; u < 2; u++) {
        charrnn_unit unit = u ? CHARRNN_UNIT_BYTE : CHARRNN_UNIT_CODEPOINT;
        for (int order = 1; order <= 6; order++) {
            charrnn_ngram *g = ngram_build(text, order, unit, 0.9, 0.1);
            if (!g) continue;
            charrnn_ngram_info in;
            charrnn_ngram_get_info(g, &in);
            size_t n;
            int *ids = ngram_ids_of(g, text, unit, &n);
            double *p = malloc(sizeof *p * (size_t)in.vocab_size), nll = 0, worst = 0, least = 1;
            int bad_ids = 0;
            for (size_t t = 0; t < n; t++) {
                bad_ids += ids[t] < 0;
                charrnn_error err = {0};
                if (!CHECKF(charrnn_ngram_probs(g, ids, t, p, &err) == 0, "%s", err.msg)) break;
                double sum = 0;
                for (int v = 0; v < in.vocab_size; v++) {
                    sum += p[v];
                    if (p[v] < least) least = p[v];
                }
                if (fabs(sum - 1) > worst) worst = fabs(sum - 1);
                if (t > 0) nll -= log(p[ids[t]]);
            }
            CHECKF(bad_ids == 0, "unit %d order %d: %d characters outside the vocabulary", u, order, bad_ids);
            CHECKF(worst <= 1e-9, "unit %d order %d: a distribution sums to 1 %+.3g", u, order, worst);
            CHECKF(least > 0, "unit %d order %d: a probability is %g", u, order, least);
            /* the evaluation scores the same probabilities */
            charrnn_eval_result r;
            charrnn_error err = {0};
            CHECKF(charrnn_ngram_evaluate(g, text, strlen(text), "text", 0, NULL, NULL, &r, &err) == 0, "%s", err.msg);
            CHECK(r.predicted == (long)n - 1 && r.unknown == 0 && r.streams == 1);
            CHECK_CLOSE(r.nats, nll / (double)(n - 1), 0, 1e-12);
            CHECK_CLOSE(r.bpc, r.nats / log(2.0), 0, 1e-15);
            free(p);
            free(ids);
            charrnn_ngram_close(g);
        }
    }
    free(text);
}

/* ---- (2) by hand ------------------------------------------------------------------------- */

/* Order 1 on "abbcccddddeeeee" (train-frac 1: all of it counted). The raw
 * counts are a:1 b:2 c:3 d:4 e:5, total 15, so n1 = n2 = n3 = n4 = 1:
 *   Y = n1/(n1+2n2) = 1/3, D1 = 1-2Y n2/n1 = 1/3, D2 = 2-3Y n3/n2 = 1, D3+ = 3-4Y n4/n3 = 5/3
 *   gamma = (D1 N1 + D2 N2 + D3+ N3+) / 15 = (1/3 + 1 + 3 * 5/3) / 15 = 19/45
 *   p(w) = (c(w) - D(c(w))) / 15 + gamma / V, V = 5:
 *   p(a) = (2/3)/15 + 19/225 = 29/225, p(b) = 34/225, p(c) = 39/225, p(d) = 54/225, p(e) = 69/225.
 * "abcde" predicts b, c, d, e: nats = -(ln 34 + ln 39 + ln 54 + ln 69 - 4 ln 225) / 4.
 *
 * Order 2 on "aab". Bigram raw counts aa:1 ab:1 (n1 = 2, n2 = 0: no formula),
 * unigram continuation counts a:2 (after the start and after a) b:1 (n3 = 0:
 * no formula): both orders use the fallback discounts 0.5, 1, 1.5. V = 2.
 *   order 1: denominator 2 + 1 = 3, gamma = (D1 * 1 + D2 * 1) / 3 = 1.5/3
 *            p1(a) = (2-1)/3 + 1.5/3 * 1/2 = 7/12, p1(b) = (1-0.5)/3 + 1/4 = 5/12
 *   order 2 after a: denominator c(aa) + c(ab) = 2, gamma = 2 * 0.5 / 2 = 1/2
 *            p(a|a) = 0.5/2 + 1/2 * 7/12 = 13/24, p(b|a) = 0.5/2 + 1/2 * 5/12 = 11/24
 *   after b: b is never followed by anything (denominator 0): p(.|b) = p1.
 * "aabba" predicts a|a, b|a, b|b, a|b: nats = -(ln 13/24 + ln 11/24 + ln 5/12 + ln 7/12) / 4. */
static void test_hand_computed(void) {
    charrnn_error err = {0};
    charrnn_eval_result r;
    charrnn_ngram *g = ngram_build("abbcccddddeeeee", 1, CHARRNN_UNIT_CODEPOINT, 1.0, 0.0);
    if (g) {
        double D[3];
        CHECK(charrnn_ngram_order_info(g, 1, D) == 5);
        CHECK_CLOSE(D[0], 1.0 / 3, 1e-15, 0);
        CHECK_CLOSE(D[1], 1.0, 1e-15, 0);
        CHECK_CLOSE(D[2], 5.0 / 3, 1e-15, 0);
        CHECK(charrnn_ngram_evaluate(g, "abcde", 5, "abcde", 1, NULL, NULL, &r, &err) == 0);
        double want = -(log(34.0) + log(39.0) + log(54.0) + log(69.0) - 4 * log(225.0)) / 4;
        CHECK_CLOSE(r.nats, want, 1e-9, 0);
        CHECK_CLOSE(r.bpc, want / log(2.0), 1e-9, 0);
        CHECK(r.predicted == 4);
        double p[5];
        CHECK(charrnn_ngram_probs(g, NULL, 0, p, &err) == 0);
        const double num[5] = {29, 34, 39, 54, 69};
        for (int i = 0; i < 5; i++) CHECK_CLOSE(p[i], num[i] / 225, 1e-15, 0);
        charrnn_ngram_close(g);
    }
    g = ngram_build("aab", 2, CHARRNN_UNIT_CODEPOINT, 1.0, 0.0);
    if (g) {
        double D[3];
        for (int k = 1; k <= 2; k++) {
            charrnn_ngram_order_info(g, k, D);
            CHECKF(D[0] == 0.5 && D[1] == 1.0 && D[2] == 1.5, "order %d: discounts %g %g %g, expected the fallback", k,
                   D[0], D[1], D[2]);
        }
        CHECK(charrnn_ngram_evaluate(g, "aabba", 5, "aabba", 0, NULL, NULL, &r, &err) == 0);
        double want = -(log(13.0 / 24) + log(11.0 / 24) + log(5.0 / 12) + log(7.0 / 12)) / 4;
        CHECK_CLOSE(r.nats, want, 1e-9, 0);
        CHECK_CLOSE(r.bpc, want / log(2.0), 1e-9, 0);
        charrnn_ngram_close(g);
    }
}

/* ---- (3) the slow, obvious reference ------------------------------------------------------ */
/* Everything by scanning the training ids x[0..n): the definition in
 * src/baseline/ngram.c's opening comment, nothing shared with it. */

static long ref_raw(const int *x, long n, const int *s, int k) {
    long c = 0;
    for (long i = 0; i + k <= n; i++) c += !memcmp(x + i, s, sizeof *s * (size_t)k);
    return c;
}

/* c_k of the k-gram s: raw at the top order, else the distinct characters seen
 * before it, the start of the text counting as one. */
static long ref_count(const int *x, long n, int N, int V, const int *s, int k) {
    if (k == N) return ref_raw(x, n, s, k);
    int t[64];
    long c = n >= k && !memcmp(x, s, sizeof *s * (size_t)k);
    memcpy(t + 1, s, sizeof *s * (size_t)k);
    for (int v = 0; v < V; v++) {
        t[0] = v;
        c += ref_raw(x, n, t, k + 1) > 0;
    }
    return c;
}

static void ref_discounts(const int *x, long n, int N, int V, int k, double D[3]) {
    long cc[4] = {0};
    for (long i = 0; i + k <= n; i++) {
        long first = i;
        for (long j = 0; j < i && first == i; j++)
            if (!memcmp(x + j, x + i, sizeof *x * (size_t)k)) first = j;
        if (first != i) continue; /* each distinct k-gram once */
        long c = ref_count(x, n, N, V, x + i, k);
        if (c >= 1 && c <= 4) cc[c - 1]++;
    }
    D[0] = 0.5, D[1] = 1.0, D[2] = 1.5;
    if (cc[0] && cc[1] && cc[2]) {
        double Y = (double)cc[0] / (cc[0] + 2.0 * cc[1]);
        double d1 = 1 - 2 * Y * cc[1] / cc[0], d2 = 2 - 3 * Y * cc[2] / cc[1], d3 = 3 - 4 * Y * cc[3] / cc[2];
        if (d1 > 0 && d1 <= 1 && d2 > 0 && d2 <= 2 && d3 > 0 && d3 <= 3) D[0] = d1, D[1] = d2, D[2] = d3;
    }
}

static void ref_probs(const int *x, long n, int N, int V, double D[][3], const int *ctx, int L, double *p) {
    for (int w = 0; w < V; w++) p[w] = 1.0 / V;
    long *c = malloc(sizeof *c * (size_t)V);
    int s[64];
    for (int k = 1; k <= L + 1; k++) {
        memcpy(s, ctx + L - (k - 1), sizeof *s * (size_t)(k - 1)); /* the k-1 characters before w */
        long den = 0, nj[3] = {0};
        for (int w = 0; w < V; w++) {
            s[k - 1] = w;
            c[w] = ref_raw(x, n, s, k) ? ref_count(x, n, N, V, s, k) : 0;
            den += c[w];
            if (c[w]) nj[c[w] >= 3 ? 2 : c[w] - 1]++;
        }
        if (!den) continue;
        double gamma = D[k][0] * nj[0] + D[k][1] * nj[1] + D[k][2] * nj[2];
        for (int w = 0; w < V; w++) {
            double d = c[w] == 0 ? 0 : D[k][c[w] >= 3 ? 2 : c[w] - 1];
            p[w] = (c[w] - d + gamma * p[w]) / den;
        }
    }
    free(c);
}

static void test_matches_reference(void) {
    /* 500 characters over 6 letters with structure (a letter often repeats the
     * one two back), then 60 more to score */
    char text[600];
    lcg_state = 11;
    int len = 560;
    for (int i = 0; i < len; i++)
        text[i] = (char)(i >= 2 && lcg() % 3 ? text[i - 2] + (lcg() % 4 == 0) : 'a' + (char)(lcg() % 6));
    for (int i = 0; i < len; i++)
        if (text[i] > 'f') text[i] = 'a';
    text[len] = 0;
    for (int N = 1; N <= 5; N++) {
        charrnn_ngram *g = ngram_build(text, N, CHARRNN_UNIT_BYTE, 500.0 / 560, 0.0);
        if (!g) continue;
        charrnn_ngram_info in;
        charrnn_ngram_get_info(g, &in);
        CHECK(in.train_chars == 500);
        size_t n;
        int *ids = ngram_ids_of(g, text, CHARRNN_UNIT_BYTE, &n);
        const int V = in.vocab_size;
        double D[8][3];
        for (int k = 1; k <= N; k++) {
            double mine[3];
            ref_discounts(ids, 500, N, V, k, D[k]);
            charrnn_ngram_order_info(g, k, mine);
            for (int j = 0; j < 3; j++) CHECKF(fabs(mine[j] - D[k][j]) < 1e-12, "order %d of %d: D%d %.12g, reference %.12g", k, N, j + 1, mine[j], D[k][j]);
        }
        double p[8], q[8], worst = 0;
        for (size_t t = 480; t < n; t++) { /* contexts inside and after the counted text */
            int L = (int)t < N - 1 ? (int)t : N - 1;
            charrnn_error err = {0};
            CHECK(charrnn_ngram_probs(g, ids, t, p, &err) == 0);
            ref_probs(ids, 500, N, V, D, ids + t - L, L, q);
            for (int w = 0; w < V; w++)
                if (fabs(p[w] - q[w]) > worst) worst = fabs(p[w] - q[w]);
        }
        CHECKF(worst < 1e-12, "order %d: probabilities differ from the reference by %.3g", N, worst);
        free(ids);
        charrnn_ngram_close(g);
    }
}

/* ---- one frame with a network ---------------------------------------------------------------- */

/* A network and an n-gram model measure a text in one frame: the same
 * characters left out as unknown, the same streams, the same refusals. */
static void test_eval_frame_shared(void) {
    const char *corpus = "abcabcabdabcaabbcc\nabcabc\n";
    charrnn_error err = {0};
    charrnn_ngram_options o;
    charrnn_ngram_options_default(&o);
    o.order = 3;
    o.train_frac = 1;
    o.val_frac = 0;
    charrnn_ngram *g = NULL;
    if (!CHECKF(charrnn_ngram_build(&g, "c", corpus, strlen(corpus), &o, NULL, NULL, &err) == 0, "%s", err.msg)) return;
    charrnn_ngram_info info;
    charrnn_ngram_get_info(g, &info);
    int V = info.vocab_size;
    uint32_t vocab[16];
    for (int i = 0; i < V && i < 16; i++) vocab[i] = charrnn_ngram_vocab(g, i);
    charrnn_model_config mc;
    charrnn_model_config_default(&mc);
    mc.num_layers = 1;
    mc.rnn_size = 8;
    charrnn_model *m = NULL;
    if (!CHECKF(V <= 16 && charrnn_model_new(&m, &mc, CHARRNN_UNIT_CODEPOINT, vocab, V, 1, &err) == 0, "%s", err.msg)) {
        charrnn_ngram_close(g);
        return;
    }
    static const struct { const char *text; int streams; int rc; const char *needle; } cases[] = {
        {"abcXabcYYabca\nbc", 3, 0, NULL},          /* three unknown characters left out */
        {"abcabcabcabcabcabcabc", 0, 0, NULL},
        {"aZZZ", 2, CHARRNN_EDATA, "1 character the model knows"},
        {"abcabc", -1, CHARRNN_EINVAL, "streams is out of range"},
        {"ab\xff", 1, CHARRNN_EDATA, NULL},          /* not UTF-8 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        charrnn_eval_result rn, rg;
        charrnn_error en = {0}, eg = {0};
        const char *t = cases[k].text;
        int a = charrnn_evaluate(m, t, strlen(t), "x", cases[k].streams, NULL, NULL, &rn, &en);
        int b = charrnn_ngram_evaluate(g, t, strlen(t), "x", cases[k].streams, NULL, NULL, &rg, &eg);
        CHECKF(a == b && !strcmp(en.msg, eg.msg), "case %zu: network %d (%s), n-gram %d (%s)", k, a, en.msg, b, eg.msg);
        if (cases[k].rc) CHECKF(a != 0 && (!cases[k].needle || strstr(en.msg, cases[k].needle)), "case %zu: %d %s", k, a, en.msg);
        if (a || b) continue;
        CHECKF(rn.unknown == rg.unknown && rn.predicted == rg.predicted && rn.num_unknown_examples == rg.num_unknown_examples,
               "case %zu: unknown %ld / %ld, predicted %ld / %ld", k, rn.unknown, rg.unknown, rn.predicted, rg.predicted);
        if (cases[k].streams) CHECKF(rn.streams == rg.streams, "case %zu: streams %d / %d", k, rn.streams, rg.streams);
        CHECK(isfinite(rg.nats) && rg.bpc == rg.nats / log(2.0) && rn.bpc == rn.nats / log(2.0));
    }
    charrnn_model_close(m);
    charrnn_ngram_close(g);
}

void register_ngram_tests(void) {
    t_register("ngram_eval_frame_shared", test_eval_frame_shared);
    t_register("ngram_probs_sum_to_one", test_probs_sum_to_one);
    t_register("ngram_hand_computed", test_hand_computed);
    t_register("ngram_matches_reference", test_matches_reference);
}
