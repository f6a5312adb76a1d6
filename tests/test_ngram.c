/* test_ngram.c: the n-gram baseline (src/baseline/ngram.c, cli/cmd_ngram.c). (1) Its
 * next-character distributions sum to 1 at every context, orders 1..6, both
 * units, and agree with its evaluation; (2) its loss on tiny corpora equals
 * the modified Kneser-Ney formulas worked out by hand; (3) it equals a slow,
 * obvious reference written here from the definition; (4) a saved model
 * loads back the same, and damaged, truncated or edited files are refused;
 * (5) the command line: charrnn ngram prints val and test losses, charrnn eval
 * of the saved model gives the same, charrnn sample generates reproducible
 * text, bad options and files are refused. Corpora are made here. */
#include "test.h"
#include "charrnn.h"
#include "safetensors.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t lcg_state;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

static charrnn_ngram *build(const char *text, int order, charrnn_unit unit, double train_frac, double val_frac) {
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
static int *ids_of(const charrnn_ngram *g, const char *text, charrnn_unit unit, size_t *n) {
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
static char *make_text(size_t target) {
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
    char *text = make_text(700);
    for (int u = 0; u < 2; u++) {
        charrnn_unit unit = u ? CHARRNN_UNIT_BYTE : CHARRNN_UNIT_CODEPOINT;
        for (int order = 1; order <= 6; order++) {
            charrnn_ngram *g = build(text, order, unit, 0.9, 0.1);
            if (!g) continue;
            charrnn_ngram_info in;
            charrnn_ngram_get_info(g, &in);
            size_t n;
            int *ids = ids_of(g, text, unit, &n);
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
    charrnn_ngram *g = build("abbcccddddeeeee", 1, CHARRNN_UNIT_CODEPOINT, 1.0, 0.0);
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
    g = build("aab", 2, CHARRNN_UNIT_CODEPOINT, 1.0, 0.0);
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
        charrnn_ngram *g = build(text, N, CHARRNN_UNIT_BYTE, 500.0 / 560, 0.0);
        if (!g) continue;
        charrnn_ngram_info in;
        charrnn_ngram_get_info(g, &in);
        CHECK(in.train_chars == 500);
        size_t n;
        int *ids = ids_of(g, text, CHARRNN_UNIT_BYTE, &n);
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

/* ---- (4) files ---------------------------------------------------------------------------- */

static void test_save_load_roundtrip(void) {
    char *text = make_text(3000);
    for (int u = 0; u < 2; u++) {
        charrnn_unit unit = u ? CHARRNN_UNIT_BYTE : CHARRNN_UNIT_CODEPOINT;
        charrnn_ngram *g = build(text, 4, unit, 0.8, 0.1), *h = NULL;
        if (!g) continue;
        const char *path = t_path(u ? "rt_byte.safetensors" : "rt_cp.safetensors");
        charrnn_error err = {0};
        CHECKF(charrnn_ngram_save(g, path, &err) == 0, "%s", err.msg);
        CHECKF(charrnn_ngram_load(&h, path, &err) == 0, "%s", err.msg);
        if (!h) { charrnn_ngram_close(g); continue; }
        charrnn_ngram_info a, b;
        charrnn_ngram_get_info(g, &a);
        charrnn_ngram_get_info(h, &b);
        CHECK(a.order == b.order && a.unit == b.unit && a.vocab_size == b.vocab_size && a.num_ngrams == b.num_ngrams);
        CHECK(a.corpus_chars == b.corpus_chars && a.train_chars == b.train_chars && a.val_chars == b.val_chars &&
              a.test_chars == b.test_chars && a.train_frac == b.train_frac && a.val_frac == b.val_frac);
        CHECK(a.has_corpus && !b.has_corpus);
        for (int k = 1; k <= a.order; k++) {
            double d1[3], d2[3];
            CHECK(charrnn_ngram_order_info(g, k, d1) == charrnn_ngram_order_info(h, k, d2));
            CHECK(!memcmp(d1, d2, sizeof d1));
        }
        for (int i = 0; i < a.vocab_size; i++) CHECK(charrnn_ngram_vocab(g, i) == charrnn_ngram_vocab(h, i));
        size_t n;
        int *ids = ids_of(g, text, unit, &n);
        double *p = malloc(sizeof *p * (size_t)a.vocab_size), *q = malloc(sizeof *q * (size_t)a.vocab_size);
        int same = 1;
        for (size_t t = 0; t < n; t += 7) {
            charrnn_ngram_probs(g, ids, t, p, &err);
            charrnn_ngram_probs(h, ids, t, q, &err);
            same &= !memcmp(p, q, sizeof *p * (size_t)a.vocab_size);
        }
        CHECK(same);
        /* the val block scored by the handle that counted it, and by the file, as a text */
        charrnn_eval_result r1, r2;
        CHECK(charrnn_ngram_evaluate_block(g, CHARRNN_BLOCK_VAL, NULL, NULL, &r1, &err) == 0);
        CHECK(charrnn_ngram_evaluate_block(h, CHARRNN_BLOCK_VAL, NULL, NULL, &r2, &err) == CHARRNN_EINVAL);
        size_t off = 0, k = 0; /* the bytes of the val block: its first character is the train_chars-th */
        while (k < a.train_chars) {
            uint32_t c;
            off += unit == CHARRNN_UNIT_BYTE ? 1 : (size_t)utf8_decode((const unsigned char *)text + off, strlen(text) - off, &c);
            k++;
        }
        size_t end = off;
        for (k = 0; k < a.val_chars; k++) {
            uint32_t c;
            end += unit == CHARRNN_UNIT_BYTE ? 1 : (size_t)utf8_decode((const unsigned char *)text + end, strlen(text) - end, &c);
        }
        CHECK(charrnn_ngram_evaluate(h, text + off, end - off, "val", 0, NULL, NULL, &r2, &err) == 0);
        CHECKF(r1.nats == r2.nats && r1.predicted == r2.predicted, "val block %.17g over %ld, as a text %.17g over %ld",
               r1.nats, r1.predicted, r2.nats, r2.predicted);
        /* the network loader and the n-gram loader tell each other's files apart */
        charrnn_model *m = NULL;
        CHECK(charrnn_model_load(&m, path, &err) == CHARRNN_EMISMATCH && strstr(err.msg, "n-gram model"));
        charrnn_model_config mc;
        charrnn_train_options o;
        charrnn_model_config_default(&mc);
        charrnn_train_options_default(&o);
        mc.num_layers = 1;
        mc.rnn_size = 8;
        o.batch_size = 2;
        o.seq_length = 8;
        o.unit = unit;
        charrnn_trainer *tr = NULL;
        const char *net = t_path("net.safetensors");
        CHECKF(charrnn_trainer_open(&tr, NULL, text, strlen(text), &mc, &o, &err) == 0 &&
               charrnn_trainer_save(tr, net, &err) == 0, "%s", err.msg);
        charrnn_trainer_close(tr);
        charrnn_ngram *x = NULL;
        CHECK(charrnn_ngram_load(&x, net, &err) == CHARRNN_EMISMATCH && strstr(err.msg, "network checkpoint"));
        free(p);
        free(q);
        free(ids);
        charrnn_ngram_close(g);
        charrnn_ngram_close(h);
    }
    free(text);
}

static unsigned char *slurp(const char *path, size_t *len) {
    return (unsigned char *)t_read_file(path, len);
}

/* One refusal: an error code other than OK, and a one-line message naming the file. */
static int refused(const char *path, const char *why) {
    charrnn_ngram *g = NULL;
    charrnn_error err = {0};
    int rc = charrnn_ngram_load(&g, path, &err);
    int ok = rc != CHARRNN_OK && !g && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, path);
    if (!ok) fprintf(stderr, "    (%s: rc %d, message: %s)\n", why, rc, err.msg);
    charrnn_ngram_close(g);
    return ok;
}

/* Rewrites src with one tensor edited (tensor NULL: none) and, when field is
 * given, that field of the "corpus" metadata set to the JSON text repl, with a
 * checksum that matches: what someone who edits the file on purpose can do. */
static void write_edited_meta(const char *src, const char *dst, const char *tensor, size_t at, int32_t value,
                              const char *field, const char *repl) {
    char msg[600];
    st_file *f = st_open(src, msg, sizeof msg);
    if (!CHECKF(f, "%s", msg)) return;
    int nm = st_num_meta(f), nt = st_num_tensors(f);
    st_meta meta[16];
    st_tensor ts[8];
    unsigned char *copy[8] = {0};
    char *corp = strdup(st_get_meta(f, "corpus"));
    if (field) { /* "field":VALUE -> "field":repl */
        char *key = t_fmt("\"%s\":", field), *at_key = strstr(corp, key);
        if (CHECKF(at_key, "no field %s in %s", field, corp)) {
            char *v = at_key + strlen(key), *end = v + strcspn(v, ",}");
            char *edited = t_fmt("%.*s%s%s", (int)(v - corp), corp, repl, end);
            free(corp);
            corp = edited;
        }
        free(key);
    }
    uint64_t h = 14695981039346656037ULL;
    const char *keys[] = {"format", "format_version", "config", "vocab", "corpus"};
    for (int i = 0; i < 5; i++)
        for (const unsigned char *p = (const unsigned char *)(i == 4 ? corp : st_get_meta(f, keys[i])); p && *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
    for (int i = 0; i < nt && i < 8; i++) {
        ts[i] = *st_tensor_at(f, i);
        if (tensor && !strcmp(ts[i].name, tensor)) {
            copy[i] = malloc(ts[i].nbytes);
            memcpy(copy[i], ts[i].data, ts[i].nbytes);
            size_t es = st_dtype_size(ts[i].dtype);
            if (es == 1) copy[i][at] = (unsigned char)value;
            else memcpy(copy[i] + at * es, &value, 4);
            ts[i].data = copy[i];
        }
        for (size_t b = 0; b < ts[i].nbytes; b++) h = (h ^ ((const unsigned char *)ts[i].data)[b]) * 1099511628211ULL;
    }
    char sum[40];
    snprintf(sum, sizeof sum, "fnv1a64:%016" PRIx64, h);
    int k = 0;
    for (int i = 0; i < nm && k < 15; i++) {
        const st_meta *e = st_meta_at(f, i);
        if (!strcmp(e->key, "corpus")) meta[k++] = (st_meta){"corpus", corp};
        else if (strcmp(e->key, "checksum")) meta[k++] = *e;
    }
    meta[k++] = (st_meta){"checksum", sum};
    CHECKF(st_write(dst, meta, k, ts, nt, msg, sizeof msg) == 0, "%s", msg);
    for (int i = 0; i < 8; i++) free(copy[i]);
    free(corp);
    st_close(f);
}

static void write_edited(const char *src, const char *dst, const char *tensor, size_t at, int32_t value) {
    write_edited_meta(src, dst, tensor, at, value, NULL, NULL);
}

/* Refused, as damaged, with a message naming what is wrong. */
static int refused_naming(const char *path, const char *needle) {
    charrnn_ngram *g = NULL;
    charrnn_error err = {0};
    int rc = charrnn_ngram_load(&g, path, &err);
    int ok = rc == CHARRNN_EFORMAT && !g && strstr(err.msg, path) && strstr(err.msg, needle) && strstr(err.msg, "damaged");
    if (!ok) fprintf(stderr, "    (expected a refusal naming %s: rc %d, message: %s)\n", needle, rc, err.msg);
    charrnn_ngram_close(g);
    return ok;
}

static void test_damaged_files_refused(void) {
    charrnn_ngram *g = build("the cat sat on the mat. the cat ran. a dog sat on a cat.\n", 3, CHARRNN_UNIT_CODEPOINT, 0.9, 0.1);
    if (!g) return;
    const char *path = t_path("small.safetensors"), *bad = t_path("bad.safetensors");
    charrnn_error err = {0};
    CHECK(charrnn_ngram_save(g, path, &err) == 0);
    charrnn_ngram_info in;
    charrnn_ngram_get_info(g, &in);
    charrnn_ngram_close(g);
    size_t len;
    unsigned char *file = slurp(path, &len);
    if (!CHECK(file && len > 100)) return;
    int truncs = 0, flips = 0;
    for (size_t cut = 0; cut < len; cut += 3) {
        t_write_file(bad, file, cut);
        truncs += refused(bad, "truncated");
    }
    CHECKF(truncs == (int)((len + 2) / 3), "%d of %zu truncations refused", truncs, (len + 2) / 3);
    for (size_t at = 0; at < len; at++) {
        file[at] ^= 0x04;
        t_write_file(bad, file, len);
        flips += refused(bad, "a flipped bit");
        file[at] ^= 0x04;
    }
    CHECKF(flips == (int)len, "%d of %zu single-bit flips refused", flips, len);
    free(file);
    /* edited with a checksum to match: the table itself is checked */
    write_edited(path, bad, "ngram.counts", 0, 0);
    CHECK(refused(bad, "a count of 0"));
    write_edited(path, bad, "ngram.symbols", 1, 0);
    CHECK(refused(bad, "children out of order"));
    write_edited(path, bad, "ngram.symbols", 0, in.vocab_size);
    CHECK(refused(bad, "a character outside the vocabulary"));
    write_edited(path, bad, "ngram.children", 0, in.vocab_size + 1);
    CHECK(refused(bad, "too many children"));
    write_edited(path, bad, "ngram.children", 1, 0);
    CHECK(refused(bad, "children that do not add up"));
    write_edited(path, bad, "ngram.counts", 3, -5);
    CHECK(refused(bad, "a negative count"));
    write_edited(path, bad, "ngram.level_sizes", 0, 2);
    CHECK(refused(bad, "no root"));
    /* an unedited rewrite loads: the edits below are what is refused */
    write_edited(path, bad, NULL, 0, 0);
    charrnn_ngram *h = NULL;
    CHECKF(charrnn_ngram_load(&h, bad, &err) == 0, "an unedited rewrite: %s", err.msg);
    charrnn_ngram_close(h);
    /* every count is the one the table implies: raising or lowering any one by one is refused */
    size_t nodes = 0;
    char msg[600];
    st_file *f = st_open(path, msg, sizeof msg);
    const st_tensor *ct = f ? st_find(f, "ngram.counts") : NULL;
    nodes = ct ? ct->nbytes / 4 : 0;
    int32_t *counts = nodes ? malloc(ct->nbytes) : NULL;
    if (counts) memcpy(counts, ct->data, ct->nbytes);
    if (f) st_close(f);
    int edits = 0, refusals = 0;
    for (size_t i = 0; i < nodes; i++)
        for (int delta = -1; delta <= 1; delta += 2) {
            if (counts[i] + delta < 1) continue; /* a count below 1 is refused above */
            write_edited(path, bad, "ngram.counts", i, counts[i] + delta);
            edits++;
            refusals += refused_naming(bad, "ngram.counts");
        }
    CHECKF(edits > 20 && refusals == edits, "%d of %d count edits refused", refusals, edits);
    free(counts);
    /* the corpus description: each field what a build could write, named when it is not */
    static const struct { const char *field, *value; } fields[] = {
        {"train_frac", "-5"}, {"train_frac", "0"}, {"train_frac", "1.5"}, {"train_frac", "0.5"}, {"train_frac", "\"x\""},
        {"val_frac", "-0.1"}, {"val_frac", "1"}, {"val_frac", "0.3"}, {"val_frac", "0.2"},
        {"checksum", "\"zz00000000000000\""}, {"checksum", "\"123\""}, {"checksum", "\"0123456789abcdef0\""},
        {"checksum", "7"}, {"chars", "0"}, {"chars", "-3"}, {"chars", "99999999"},
        {"train_chars", "1"}, {"val_chars", "0"}, {"test_chars", "1000"},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        write_edited_meta(path, bad, NULL, 0, 0, fields[k].field, fields[k].value);
        char needle[64];
        snprintf(needle, sizeof needle, "\"%s\"", fields[k].field);
        int named = refused_naming(bad, needle) || refused_naming(bad, "_chars\""); /* a fraction edit shows in the blocks */
        CHECKF(named, "corpus field %s = %s was not refused naming it", fields[k].field, fields[k].value);
    }
}

/* A key twice (here "format" in the metadata, which a reader that takes the
 * first and one that takes the last would read differently) is refused, as in
 * a checkpoint: both are read by the same JSON parser. */
static void test_duplicate_keys_refused(void) {
    charrnn_ngram *g = build("the cat sat on the mat.\n", 2, CHARRNN_UNIT_CODEPOINT, 0.9, 0.1);
    if (!g) return;
    const char *path = t_path("dup.safetensors"), *bad = t_path("dup_bad.safetensors");
    charrnn_error err = {0};
    CHECK(charrnn_ngram_save(g, path, &err) == 0);
    charrnn_ngram_close(g);
    size_t len;
    unsigned char *file = slurp(path, &len);
    static const char head[] = "{\"__metadata__\":{", extra[] = "\"format\":\"charrnn-ngram\",";
    const size_t hn = sizeof head - 1;
    if (!CHECK(file && len > 8 + hn && memcmp(file + 8, head, hn) == 0)) { free(file); return; }
    size_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | file[i];
    char *header = t_fmt("%s%s%.*s", head, extra, (int)(hl - hn), (const char *)file + 8 + hn);
    t_write_safetensors(bad, header, file + 8 + hl, len - 8 - hl);
    charrnn_ngram *h = NULL;
    CHECKF(charrnn_ngram_load(&h, bad, &err) != 0 && strstr(err.msg, "duplicate key \"format\"") && strstr(err.msg, bad),
           "%s", err.msg);
    charrnn_ngram_close(h);
    free(header);
    free(file);
}

/* ---- (5) the command line ----------------------------------------------------------------- */

/* exit status code, no crash, one "charrnn: error:" line holding needle */
static void expect_error_at(int line, const char *what, int rc, int code, const char *err, const char *needle) {
    int lines = 0;
    for (const char *p = err; (p = strstr(p, "error:")); p++) lines++;
    t_check(!t_crashed(rc, err) && rc == code, __FILE__, line, what, "exit %d (expected %d), stderr: %s", rc, code, err);
    t_check(lines == 1 && !strncmp(err, "charrnn: error: ", 16) && strstr(err, needle), __FILE__, line, what,
            "expected one error line with \"%s\", stderr: %s", needle, err);
}
#define EXPECT_ERROR(what, rc, code, err, needle) expect_error_at(__LINE__, what, rc, code, err, needle)

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
    EXPECT_ERROR("order 0", rc, 2, err, "--order 0 is out of range");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --order 100", corpus);
    EXPECT_ERROR("order 100", rc, 2, err, "--order 100 is out of range");
    free(err);
    rc = t_cli(NULL, &err, "ngram");
    EXPECT_ERROR("no file", rc, 2, err, "ngram needs a text file");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --train-frac 0", corpus);
    EXPECT_ERROR("train-frac 0", rc, 2, err, "--train-frac");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --train-frac 0.9 --val-frac 0.2", corpus);
    EXPECT_ERROR("fractions over 1", rc, 2, err, "more than 1");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --unit word", corpus);
    EXPECT_ERROR("unit", rc, 2, err, "--unit");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --temperature -1 --sample 5", corpus);
    EXPECT_ERROR("temperature", rc, 2, err, "--temperature");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s/missing.txt", t_tmpdir());
    EXPECT_ERROR("missing file", rc, 1, err, "missing.txt");
    free(err);
    rc = t_cli(NULL, &err, "ngram %s --order 3 --save %s", corpus, model);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "sample %s --half 1", model);
    EXPECT_ERROR("--half", rc, 2, err, "n-gram model");
    free(err);
    rc = t_cli(NULL, &err, "train %s --init-from %s --checkpoint-dir %s/cv_ngram", corpus, model, t_tmpdir());
    EXPECT_ERROR("init-from an n-gram model", rc, 1, err, "is an n-gram model");
    free(err);
    size_t len;
    char *file = t_read_file(model, &len);
    if (!CHECK(file && len > 200)) return;
    t_write_file(bad, file, len / 2);
    rc = t_cli(NULL, &err, "eval %s %s", bad, corpus);
    EXPECT_ERROR("eval of a truncated model", rc, 1, err, bad);
    free(err);
    rc = t_cli(NULL, &err, "sample %s", bad);
    EXPECT_ERROR("sample of a truncated model", rc, 1, err, bad);
    free(err);
    file[len - 10] ^= 0x10;
    t_write_file(bad, file, len);
    rc = t_cli(NULL, &err, "eval %s %s", bad, corpus);
    EXPECT_ERROR("eval of a damaged model", rc, 1, err, "corrupted");
    free(err);
    rc = t_cli(NULL, &err, "sample %s", bad);
    EXPECT_ERROR("sample of a damaged model", rc, 1, err, "corrupted");
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
        EXPECT_ERROR(args, rc, 2, err, "n-gram model");
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
    t_register("ngram_save_load_roundtrip", test_save_load_roundtrip);
    t_register("ngram_damaged_files_refused", test_damaged_files_refused);
    t_register("ngram_duplicate_keys_refused", test_duplicate_keys_refused);
    t_register("ngram_cli_ngram_eval", test_cli_ngram_eval);
    t_register("ngram_cli_network_options", test_cli_network_options);
    t_register("ngram_cli_sample", test_cli_sample);
    t_register("ngram_cli_refusals", test_cli_refusals);
}
