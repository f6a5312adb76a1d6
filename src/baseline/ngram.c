/* ngram.c: the n-gram baseline (see ngram.h for the trie): counting a corpus's
 * training block, the modified Kneser-Ney statistics derived from the counts,
 * probabilities, evaluation, sampling, and the safetensors file. No network
 * code lives here and nothing here prints.
 *
 * The model, for order n, a character w and the k-1 characters h before it
 * (k = 1..n, h read within the text being scored):
 *
 *   p_0(w)     = 1 / V
 *   p_k(w | h) = ( max(c_k(hw) - D_k(c_k(hw)), 0) + gamma_k(h) * p_{k-1}(w | h') ) / c_k(h.)
 *   gamma_k(h) = D_k1 N1(h.) + D_k2 N2(h.) + D_k3 N3+(h.)
 *
 * h' is h without its first character; c_n is the raw count, c_k for k < n
 * the continuation count N1+(.hw) (distinct characters seen before hw, the
 * start of the training block counting as one); c_k(h.) = sum over w of
 * c_k(hw); Nj(h.) counts the w with c_k(hw) = j (3+: at least 3). When h was
 * never followed by anything (c_k(h.) = 0) p_k = p_{k-1}. The discounts of
 * order k come from n1..n4, the numbers of k-grams whose c_k is 1..4:
 *   Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1, D2 = 2 - 3Y n3/n2, D3+ = 3 - 4Y n4/n3,
 * and where those cannot be computed or fall outside 0 < Dj <= j (tiny
 * corpora) the order uses 0.5, 1, 1.5 instead (as KenLM's fallback). */
#include "ngram.h"
#include "common.h"
#include "data.h"
#include "defaults.h"
#include "json.h"
#include "rng.h"
#include "safetensors.h"
#include "sealed.h"
#include "threads.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN CHARRNN_NGRAM_MAX_ORDER
#define MAX_TRAIN_CHARS 2147483647u   /* counts and positions are 32-bit (I32 in the file) */
#define MAX_NODES 4294967295u         /* node indices are 32-bit */
#define BUCKET_BITS 21                /* N1, N2, N3+ of a context, packed; each <= V <= 0x110000 < 2^21 */
#define BUCKET_MASK ((1ull << BUCKET_BITS) - 1)
#define EVAL_SPAN 16384               /* predictions per unit of parallel work */
#define EVAL_ROUND 64                 /* spans between progress calls */
#define PROGRESS_STEP (1u << 20)

struct charrnn_ngram {
    atomic_int refs;            /* the opener's, plus one per sampler on it: the last close frees it */
    int order;                  /* N */
    charrnn_unit unit;
    int V;
    uint32_t *vocab;            /* (V) ascending */
    /* the trie: node 0 is the root (the empty string); the strings of length d
     * are nodes [off[d], off[d+1]), sorted; children of a node are contiguous */
    size_t off[MAXN + 2];
    size_t total;               /* nodes, the root included */
    size_t num_ctx;             /* off[N]: nodes that can be a context (depth < N) */
    uint32_t *sym;              /* (total) the character a node adds (its first, read left to right) */
    uint32_t *cnt;              /* (total) c_d of a node at depth d: raw for d = N, continuation below */
    uint32_t *first_child;      /* (num_ctx + 1) children of g: [first_child[g], first_child[g + 1]) */
    /* derived from the above (at build and at load): g as the context of order depth(g) + 1 */
    uint32_t *denom;            /* (num_ctx) c(g.) */
    uint64_t *buckets;          /* (num_ctx) N1 | N2 << 21 | N3+ << 42 */
    double D[MAXN + 1][3];      /* discounts of order k = 1..N */
    uint64_t coc[MAXN + 1][4];  /* n1..n4 of order k */
    int fallback[MAXN + 1];     /* order k uses the fallback discounts */
    /* the corpus it was counted on */
    corpus data;                /* kept after a build, for evaluating its blocks; empty after a load */
    int has_data;
    size_t corpus_chars, train_n, val_n, test_n;
    uint64_t corpus_checksum;
    double train_frac, val_frac;
    int threads;
};

struct charrnn_ngram_sampler {
    charrnn_ngram *g;           /* a reference: the model lives while the sampler does */
    rng r;
    uint32_t ctx[MAXN];         /* the last nctx characters, oldest first */
    int nctx;
    double *p;                  /* (V) the distribution being drawn from */
    uint32_t *alive;            /* (V) scratch */
};

/* ---- small helpers ------------------------------------------------------------------ */

void charrnn_ngram_options_default(charrnn_ngram_options *o) {
    memset(o, 0, sizeof *o);
    o->order = 10;
    o->unit = CHARRNN_UNIT_CODEPOINT;
    o->train_frac = 0.95;
    o->val_frac = 0.05;
}

/* The file: sealed (sealed.h) as a checkpoint is. */
static const char *const SEALED_KEYS[] = {"config", "vocab", "corpus"};
static const sealed_format NGRAM_FILE = {
    .format = NGRAM_FORMAT, .version = NGRAM_FORMAT_VERSION, .what = "n-gram model",
    .keys = SEALED_KEYS, .nkeys = (int)(sizeof SEALED_KEYS / sizeof SEALED_KEYS[0]),
    .remedy = "build it again with charrnn ngram --save",
    .other_format = "charrnn", .other_is = "a network checkpoint, not an n-gram model; open it with charrnn_model_load",
};

static int report(charrnn_progress_fn progress, void *ctx, size_t done, size_t total) {
    return progress && progress(ctx, (long)done, (long)total);
}

/* The child of context node g that adds character s, or 0 (the root is nobody's child). */
static inline uint32_t find_child(const charrnn_ngram *g, uint32_t node, uint32_t s) {
    uint32_t lo = g->first_child[node], hi = g->first_child[node + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t v = g->sym[mid];
        if (v < s) lo = mid + 1;
        else if (v > s) hi = mid;
        else return mid;
    }
    return 0;
}

static inline double discount(const charrnn_ngram *g, int k, uint32_t c) {
    return c == 0 ? 0.0 : g->D[k][c < 3 ? c - 1 : 2];
}

static inline double gamma_num(const charrnn_ngram *g, int k, uint32_t h) {
    uint64_t b = g->buckets[h];
    return g->D[k][0] * (double)(b & BUCKET_MASK) + g->D[k][1] * (double)((b >> BUCKET_BITS) & BUCKET_MASK) +
           g->D[k][2] * (double)(b >> (2 * BUCKET_BITS));
}

/* Chen & Goodman's discounts from n1..n4, or the fallback. */
static int set_discounts(const uint64_t n[4], double D[3]) {
    if (n[0] && n[1] && n[2]) {
        double n1 = (double)n[0], n2 = (double)n[1], n3 = (double)n[2], n4 = (double)n[3];
        double Y = n1 / (n1 + 2 * n2);
        D[0] = 1 - 2 * Y * n2 / n1;
        D[1] = 2 - 3 * Y * n3 / n2;
        D[2] = 3 - 4 * Y * n4 / n3;
        if (D[0] > 0 && D[0] <= 1 && D[1] > 0 && D[1] <= 2 && D[2] > 0 && D[2] <= 3) return 0;
    }
    D[0] = 0.5;
    D[1] = 1.0;
    D[2] = 1.5;
    return 1;
}

static charrnn_ngram *ngram_new(void) {
    charrnn_ngram *g = calloc(1, sizeof *g);
    if (g) atomic_init(&g->refs, 1);
    return g;
}

void charrnn_ngram_close(charrnn_ngram *g) {
    if (!g || atomic_fetch_sub(&g->refs, 1) > 1) return; /* a sampler still reads it */
    free(g->vocab);
    free(g->sym);
    free(g->cnt);
    free(g->first_child);
    free(g->denom);
    free(g->buckets);
    corpus_free(&g->data);
    free(g);
}

/* ---- the statistics of every context (build and load) -------------------------------- */

/* From the trie (sym, cnt, first_child): every node's context (itself less its
 * last character, which is the node of its parent's context plus its own
 * character), each context's c(g.) and N1, N2, N3+, the count-of-counts and the
 * discounts. Fails on a trie that is not one (a loaded file that was edited). */
static int derive(charrnn_ngram *g, const char *name, charrnn_error *err) {
    const int N = g->order;
    size_t maxlev = 1;
    for (int d = 1; d < N; d++)
        if (g->off[d + 1] - g->off[d] > maxlev) maxlev = g->off[d + 1] - g->off[d];
    g->denom = cr_calloc(g->num_ctx, sizeof *g->denom);
    g->buckets = cr_calloc(g->num_ctx, sizeof *g->buckets);
    uint32_t *prev = cr_malloc(maxlev, sizeof *prev), *cur = cr_malloc(maxlev, sizeof *cur);
    int rc = CHARRNN_OK;
    if (!g->denom || !g->buckets || !prev || !cur) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for the statistics of %zu n-gram contexts", g->num_ctx);
        goto done;
    }
    memset(g->coc, 0, sizeof g->coc);
    for (int d = 1; d <= N; d++) {
        for (size_t p = g->off[d - 1]; p < g->off[d]; p++) {
            uint32_t pctx = d >= 2 ? prev[p - g->off[d - 1]] : 0;
            for (uint32_t y = g->first_child[p]; y < g->first_child[p + 1]; y++) {
                uint32_t h = d == 1 ? 0 : find_child(g, pctx, g->sym[y]);
                uint32_t c = g->cnt[y];
                if (d >= 2 && !h) {
                    rc = cr_fail(err, CHARRNN_EFORMAT, "%s: the n-gram table is inconsistent (a %d-gram whose context "
                                 "was never counted); the file is damaged or was edited: build it again with charrnn ngram",
                                 name, d);
                    goto done;
                }
                if (g->denom[h] > UINT32_MAX - c) {
                    rc = cr_fail(err, CHARRNN_EFORMAT, "%s: the n-gram counts overflow; the file is damaged or was edited: "
                                 "build it again with charrnn ngram", name);
                    goto done;
                }
                if (d < N) cur[y - g->off[d]] = h;
                g->denom[h] += c;
                g->buckets[h] += 1ull << (BUCKET_BITS * (c >= 3 ? 2 : c - 1));
                if (c <= 4) g->coc[d][c - 1]++;
            }
        }
        uint32_t *t = prev;
        prev = cur;
        cur = t;
    }
    for (int k = 1; k <= N; k++) g->fallback[k] = set_discounts(g->coc[k], g->D[k]);
done:
    free(prev);
    free(cur);
    return rc;
}

/* ---- counting ---------------------------------------------------------------------- */

/* Key p of the string read leftwards from end position i: the character p
 * places back, +1; 0 past the start of the text (which sorts first). */
static inline size_t key_at(const corpus *c, size_t i, int p) {
    return i >= (size_t)p ? (size_t)corpus_id(c, i - (size_t)p) + 1 : 0;
}

/* sa: the end positions 0..n-1 sorted by the strings read leftwards from them
 * (at most N characters): N stable counting sorts, least significant key first. */
static int sort_ends(const corpus *c, size_t n, int N, uint32_t *sa, uint32_t *tmp, size_t *hist, size_t buckets,
                     charrnn_progress_fn progress, void *ctx, size_t *done, size_t work) {
    for (size_t j = 0; j < n; j++) sa[j] = (uint32_t)j;
    for (int p = N - 1; p >= 0; p--) {
        memset(hist, 0, buckets * sizeof *hist);
        for (size_t j = 0; j < n; j++) hist[key_at(c, sa[j], p)]++;
        size_t s = 0;
        for (size_t b = 0; b < buckets; b++) {
            size_t h = hist[b];
            hist[b] = s;
            s += h;
        }
        for (size_t j = 0; j < n; j++) tmp[hist[key_at(c, sa[j], p)]++] = sa[j];
        memcpy(sa, tmp, n * sizeof *sa);
        *done += n;
        if (report(progress, ctx, *done, work)) return CHARRNN_ECANCELED;
    }
    return CHARRNN_OK;
}

/* How many characters the strings read leftwards from a and b share (at most maxlen). */
static inline int common_len(const corpus *c, size_t a, size_t b, int maxlen) {
    int t = 0;
    while (t < maxlen && corpus_id(c, a - (size_t)t) == corpus_id(c, b - (size_t)t)) t++;
    return t;
}

static int fail_memory(charrnn_error *err, const char *name, int N, double need, double avail) {
    return cr_fail(err, CHARRNN_ENOMEM, "counting %s to order %d needs about %.1f GB but %.1f GB are available; use a "
                   "smaller --order or a smaller file", name, N, need / 1e9, avail / 1e9);
}

/* The trie of the training block ids[0, n). */
static int count_ngrams(charrnn_ngram *g, const char *name, charrnn_progress_fn progress, void *ctx, charrnn_error *err) {
    const corpus *c = &g->data;
    const size_t n = g->train_n;
    const int N = g->order;
    const size_t work = n * (size_t)(N + 3);
    size_t done = 0;
    double avail = (double)cr_available_memory();
    double need = 9.0 * (double)n + 8.0 * (g->V + 1.0);
    if (avail > 0 && need > avail) return fail_memory(err, name, N, need, avail);
    uint32_t *sa = cr_malloc(n, sizeof *sa), *tmp = cr_malloc(n, sizeof *tmp);
    unsigned char *lcp = cr_malloc(n, 1);
    size_t *hist = cr_calloc((size_t)g->V + 1, sizeof *hist);
    int rc = CHARRNN_OK;
    if (!sa || !tmp || !lcp || !hist) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory sorting the %zu characters of %s's training block", n, name);
        goto done;
    }
    if ((rc = sort_ends(c, n, N, sa, tmp, hist, (size_t)g->V + 1, progress, ctx, &done, work))) goto cancel;
    free(tmp);
    tmp = NULL;

    /* pass 1: how many distinct strings of every length. Entry j shares its
     * first lcp[j] characters with entry j-1: it opens new nodes below that. */
    size_t level[MAXN + 1] = {0};
    int prev_len = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = sa[j];
        int len = i + 1 < (size_t)N ? (int)(i + 1) : N;
        int l = j ? common_len(c, sa[j - 1], i, len < prev_len ? len : prev_len) : 0;
        lcp[j] = (unsigned char)l;
        for (int d = l + 1; d <= len; d++) level[d]++;
        prev_len = len;
        if ((j & (PROGRESS_STEP - 1)) == PROGRESS_STEP - 1 && report(progress, ctx, done + j, work)) goto cancel;
    }
    done += n;
    g->off[0] = 0;
    g->off[1] = 1;
    for (int d = 1; d <= N; d++) g->off[d + 1] = g->off[d] + level[d];
    g->total = g->off[N + 1];
    g->num_ctx = g->off[N];
    if (g->total > MAX_NODES) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "%s has %zu distinct n-grams of orders 1 to %d, more than the %u an n-gram model "
                     "can index; use a smaller --order or a smaller file", name, g->total - 1, N, MAX_NODES);
        goto done;
    }
    need = 8.0 * (double)g->total + 16.0 * (double)g->num_ctx + 8.0 * (double)g->total / N;
    avail = (double)cr_available_memory();
    if (avail > 0 && need > avail) {
        rc = fail_memory(err, name, N, need + 5.0 * (double)n, avail + 5.0 * (double)n);
        goto done;
    }
    g->sym = cr_calloc(g->total, sizeof *g->sym);
    g->cnt = cr_calloc(g->total, sizeof *g->cnt);
    g->first_child = cr_calloc(g->num_ctx + 1, sizeof *g->first_child);
    if (!g->sym || !g->cnt || !g->first_child) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for the %zu n-grams of %s", g->total - 1, name);
        goto done;
    }

    /* pass 2: the nodes, level by level in sorted order. cur[d] is the node of
     * length d on the current entry's path; first_child counts children first. */
    uint32_t *nchild = g->first_child;
    size_t next[MAXN + 2];
    uint32_t cur[MAXN + 1];
    for (int d = 1; d <= N; d++) next[d] = g->off[d];
    cur[0] = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = sa[j];
        int len = i + 1 < (size_t)N ? (int)(i + 1) : N;
        int l = lcp[j];
        if (l == N) g->cnt[cur[N]]++;
        for (int d = l + 1; d <= len; d++) {
            uint32_t y = (uint32_t)next[d]++;
            g->sym[y] = corpus_id(c, i - (size_t)(d - 1));
            g->cnt[y] = d == N;
            nchild[cur[d - 1]]++;
            cur[d] = y;
        }
        if (len < N) g->cnt[cur[len]]++; /* it opens the text: the start is one more left context */
        if ((j & (PROGRESS_STEP - 1)) == PROGRESS_STEP - 1 && report(progress, ctx, done + j, work)) goto cancel;
    }
    done += n;
    free(sa);
    free(lcp);
    free(hist);
    sa = NULL;
    lcp = NULL;
    hist = NULL;
    /* continuation counts below the top order; children counts into first-child offsets */
    for (size_t y = 1; y < g->num_ctx; y++) g->cnt[y] += nchild[y];
    uint32_t s = 1;
    for (size_t p = 0; p < g->num_ctx; p++) {
        uint32_t k = nchild[p];
        g->first_child[p] = s;
        s += k;
    }
    g->first_child[g->num_ctx] = s;
    if ((rc = derive(g, name, err))) goto done;
    done += n;
    if (report(progress, ctx, work, work)) goto cancel;
    goto done;
cancel:
    rc = cr_fail(err, CHARRNN_ECANCELED, "counting was stopped");
done:
    free(sa);
    free(tmp);
    free(lcp);
    free(hist);
    return rc;
}

int charrnn_ngram_build(charrnn_ngram **out, const char *corpus_path, const char *text, size_t len,
                        const charrnn_ngram_options *opt, charrnn_progress_fn progress, void *ctx, charrnn_error *err) {
    *out = NULL;
    charrnn_ngram_options defaults;
    if (!opt) { charrnn_ngram_options_default(&defaults); opt = &defaults; }
    if (opt->order < 1 || opt->order > MAXN)
        return cr_fail(err, CHARRNN_EINVAL, "--order %d is out of range; use 1 to %d (10 suits most text)",
                       opt->order, MAXN);
    charrnn_train_options o;
    charrnn_train_options_default(&o);
    o.unit = opt->unit;
    o.train_frac = opt->train_frac;
    o.val_frac = opt->val_frac;
    int rc = check_run_settings(NULL, &o, NULL, err);
    if (rc) return rc;
    if (!text && !corpus_path) return cr_fail(err, CHARRNN_EINVAL, "no corpus given: pass a file name or a text");
    const char *name = corpus_path ? corpus_path : "the text";
    charrnn_ngram *g = ngram_new();
    if (!g) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    g->order = opt->order;
    g->unit = opt->unit;
    g->train_frac = opt->train_frac;
    g->val_frac = opt->val_frac;
    rc = text ? corpus_from_memory(&g->data, text, len, opt->unit, name, err) : corpus_load(&g->data, corpus_path, opt->unit, err);
    if (rc) goto fail;
    g->has_data = 1;
    g->V = g->data.vocab_size;
    g->vocab = cr_malloc((size_t)g->V, sizeof *g->vocab);
    if (!g->vocab) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory"); goto fail; }
    memcpy(g->vocab, g->data.vocab, (size_t)g->V * sizeof *g->vocab);
    g->corpus_chars = g->data.n;
    g->corpus_checksum = g->data.checksum;
    corpus_split(g->data.n, opt->train_frac, opt->val_frac, &g->train_n, &g->val_n, &g->test_n);
    if (g->train_n < 1) {
        rc = cr_fail(err, CHARRNN_EDATA, "%s has %zu characters; its training block (--train-frac %s) is empty; use a "
                     "larger --train-frac or a larger file", name, g->data.n, CR_NUM(opt->train_frac));
        goto fail;
    }
    if (g->train_n > MAX_TRAIN_CHARS) {
        rc = cr_fail(err, CHARRNN_EDATA, "%s's training block has %zu characters; the n-gram model counts at most %u; use "
                     "a smaller --train-frac or a part of the file", name, g->train_n, MAX_TRAIN_CHARS);
        goto fail;
    }
    if ((rc = count_ngrams(g, name, progress, ctx, err))) goto fail;
    *out = g;
    return CHARRNN_OK;
fail:
    charrnn_ngram_close(g);
    return rc;
}

/* ---- probabilities ------------------------------------------------------------------ */

/* ych[k] (k = 1..ny): the nodes of the k characters ending at position t of c;
 * stops at the first string never counted, or at maxlen. ych[0] is the root. */
static inline int chain(const charrnn_ngram *g, const corpus *c, size_t t, int maxlen, uint32_t *ych) {
    uint32_t node = 0;
    int k = 0;
    ych[0] = 0;
    while (k < maxlen) {
        node = find_child(g, node, corpus_id(c, t - (size_t)k));
        if (!node) break;
        ych[++k] = node;
    }
    return k;
}

/* p(w | h) for the w that ends ych (its chain, ny long) after the context
 * whose chain is gch (ng long), using orders 1..maxk. */
static inline double prob(const charrnn_ngram *g, const uint32_t *gch, int ng, const uint32_t *ych, int ny, int maxk) {
    double p = 1.0 / g->V;
    for (int k = 1; k <= maxk && k - 1 <= ng; k++) {
        uint32_t h = gch[k - 1];
        uint32_t den = g->denom[h];
        if (!den) continue;
        uint32_t c = k <= ny ? g->cnt[ych[k]] : 0;
        p = (fmax((double)c - discount(g, k, c), 0.0) + gamma_num(g, k, h) * p) / (double)den;
    }
    return p;
}

/* The whole distribution after ctx[0..n) (vocabulary indices): the same
 * arithmetic as prob, for every w at once. alive: (V) scratch. */
static void distribution(const charrnn_ngram *g, const uint32_t *ctx, size_t n, double *p, uint32_t *alive) {
    const int N = g->order, V = g->V;
    int L = n < (size_t)(N - 1) ? (int)n : N - 1;
    uint32_t gch[MAXN + 1];
    int ng = 0;
    gch[0] = 0;
    while (ng < L) {
        uint32_t node = find_child(g, gch[ng], ctx[n - 1 - (size_t)ng]);
        if (!node) break;
        gch[++ng] = node;
    }
    for (int w = 0; w < V; w++) {
        p[w] = 1.0 / V;
        alive[w] = 0;
    }
    for (uint32_t y = g->first_child[0]; y < g->first_child[1]; y++) alive[g->sym[y]] = y;
    for (int k = 1; k <= L + 1 && k - 1 <= ng; k++) {
        if (k >= 2) {
            uint32_t s = ctx[n - (size_t)(k - 1)];
            for (int w = 0; w < V; w++)
                if (alive[w]) alive[w] = find_child(g, alive[w], s);
        }
        uint32_t h = gch[k - 1];
        uint32_t den = g->denom[h];
        if (!den) continue;
        double gam = gamma_num(g, k, h);
        for (int w = 0; w < V; w++) {
            uint32_t c = alive[w] ? g->cnt[alive[w]] : 0;
            p[w] = (fmax((double)c - discount(g, k, c), 0.0) + gam * p[w]) / (double)den;
        }
    }
}

int charrnn_ngram_probs(const charrnn_ngram *g, const int *context, size_t n, double *probs, charrnn_error *err) {
    uint32_t ctx[MAXN];
    size_t keep = n < (size_t)(g->order - 1) ? n : (size_t)(g->order - 1);
    for (size_t i = 0; i < keep; i++) {
        int v = context[n - keep + i];
        if (v < 0 || v >= g->V)
            return cr_fail(err, CHARRNN_EINVAL, "character index %d (context position %zu) is outside the vocabulary of %d",
                           v, n - keep + i, g->V);
        ctx[i] = (uint32_t)v;
    }
    uint32_t *alive = cr_malloc((size_t)g->V, sizeof *alive);
    if (!alive) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    distribution(g, ctx, keep, probs, alive);
    free(alive);
    return CHARRNN_OK;
}

/* ---- evaluation ----------------------------------------------------------------------- */

/* Predictions t in [t0, t1) of c, each from the characters since position a. */
typedef struct span { size_t a, t0, t1; } span;

static double span_loss(const charrnn_ngram *g, const corpus *c, span s) {
    const int N = g->order;
    uint32_t buf_a[MAXN + 1], buf_b[MAXN + 1], *prev = buf_a, *cur = buf_b;
    size_t t = s.t0;
    size_t avail = t - s.a; /* characters before t in this stream */
    int np = chain(g, c, t - 1, avail < (size_t)N ? (int)avail : N, prev);
    double total = 0;
    for (; t < s.t1; t++) {
        avail = t - s.a;
        int maxk = avail + 1 < (size_t)N ? (int)avail + 1 : N;
        int ny = chain(g, c, t, maxk, cur);
        total -= log(prob(g, prev, np < N - 1 ? np : N - 1, cur, ny, maxk));
        uint32_t *x = prev;
        prev = cur;
        cur = x;
        np = ny;
    }
    return total;
}

/* The loss of the streams (a_j, m_j): m_j predictions after position a_j. */
static int eval_streams(const charrnn_ngram *g, const corpus *c, const size_t *a, const size_t *m, int nstreams,
                        charrnn_progress_fn progress, void *ctx, double *nats, long *predicted, charrnn_error *err) {
    size_t nspans = 0, targets = 0;
    for (int j = 0; j < nstreams; j++) {
        nspans += (m[j] + EVAL_SPAN - 1) / EVAL_SPAN;
        targets += m[j];
    }
    span *spans = cr_malloc(nspans, sizeof *spans);
    double *part = cr_malloc(nspans, sizeof *part);
    if (!spans || !part) {
        free(spans);
        free(part);
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (int j = 0; j < nstreams; j++)
        for (size_t t0 = a[j] + 1; t0 < a[j] + 1 + m[j]; t0 += EVAL_SPAN) {
            size_t t1 = t0 + EVAL_SPAN < a[j] + 1 + m[j] ? t0 + EVAL_SPAN : a[j] + 1 + m[j];
            spans[k++] = (span){a[j], t0, t1};
        }
    int rc = CHARRNN_OK;
    size_t done = 0;
    thread_scope ts;
    threads_enter(&ts, g->threads);
    for (size_t r0 = 0; r0 < nspans; r0 += EVAL_ROUND) {
        long r1 = (long)(r0 + EVAL_ROUND < nspans ? r0 + EVAL_ROUND : nspans);
#pragma omp parallel for schedule(dynamic, 1)
        for (long i = (long)r0; i < r1; i++) part[i] = span_loss(g, c, spans[i]);
        for (long i = (long)r0; i < r1; i++) done += spans[i].t1 - spans[i].t0;
        if (report(progress, ctx, done, targets)) {
            rc = cr_fail(err, CHARRNN_ECANCELED, "evaluation was stopped");
            break;
        }
    }
    threads_leave(&ts);
    double total = 0;
    for (size_t i = 0; i < nspans; i++) total += part[i]; /* in order: the same sum whatever the threads */
    *nats = targets ? total / (double)targets : NAN;
    *predicted = (long)(rc ? done : targets);
    free(spans);
    free(part);
    return rc;
}

static int finish_result(int rc, double nats, long predicted, const char *name, charrnn_eval_result *res,
                         charrnn_error *err) {
    res->nats = nats;
    res->bpc = nats / log(2.0);
    res->predicted = predicted;
    if (!rc && !isfinite(nats))
        rc = cr_fail(err, CHARRNN_ENONFINITE, "the n-gram loss on %s is not finite (%g)", name, nats);
    return rc;
}

int charrnn_ngram_evaluate(const charrnn_ngram *g, const char *text, size_t len, const char *name, int streams,
                           charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    memset(res, 0, sizeof *res);
    if (!name) name = "the text";
    if (streams < 0 || streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d streams is out of range; use 1 to 100000, or 0 for the default", streams);
    corpus c;
    int rc = corpus_encode_with_vocab(&c, text, len, g->unit, g->vocab, g->V, name, &res->unknown,
                                      res->unknown_examples, 8, &res->num_unknown_examples, err);
    if (rc) return rc;
    if (c.n < 2) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EDATA, "%s has %zu character%s the model knows; at least 2 are needed to measure a loss",
                       name, c.n, c.n == 1 ? "" : "s");
    }
    /* the streams of charrnn_evaluate: b slices of len predictions, the rest as one more */
    size_t targets = c.n - 1, b = streams > 1 ? (size_t)streams : 1;
    if (b > targets) b = targets;
    size_t per = targets / b, *a = cr_malloc(b + 1, sizeof *a), *m = cr_malloc(b + 1, sizeof *m);
    if (!a || !m) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    } else {
        int ns = 0;
        for (size_t j = 0; j < b; j++, ns++) { a[ns] = j * per; m[ns] = per; }
        if (targets > b * per) { a[ns] = b * per; m[ns] = targets - b * per; ns++; }
        double nats = NAN;
        long predicted = 0;
        rc = eval_streams(g, &c, a, m, ns, progress, ctx, &nats, &predicted, err);
        rc = finish_result(rc, nats, predicted, name, res, err);
        res->streams = (int)b;
    }
    free(a);
    free(m);
    corpus_free(&c);
    return rc;
}

int charrnn_ngram_evaluate_block(const charrnn_ngram *g, charrnn_block block, charrnn_progress_fn progress, void *ctx,
                                 charrnn_eval_result *res, charrnn_error *err) {
    memset(res, 0, sizeof *res);
    static const char *const NAMES[] = {"training", "validation", "test"};
    if ((unsigned)block > 2) return cr_fail(err, CHARRNN_EINVAL, "unknown block %d", (int)block);
    if (!g->has_data)
        return cr_fail(err, CHARRNN_EINVAL, "this n-gram model was loaded from a file and holds no corpus; evaluate it "
                       "on a text instead");
    size_t begin = block == CHARRNN_BLOCK_TRAIN ? 0 : block == CHARRNN_BLOCK_VAL ? g->train_n : g->train_n + g->val_n;
    size_t n = block == CHARRNN_BLOCK_TRAIN ? g->train_n : block == CHARRNN_BLOCK_VAL ? g->val_n : g->test_n;
    if (n < 2)
        return cr_fail(err, CHARRNN_EDATA, "the %s block has %zu character%s; at least 2 are needed to measure a loss",
                       NAMES[block], n, n == 1 ? "" : "s");
    size_t m = n - 1;
    double nats = NAN;
    long predicted = 0;
    int rc = eval_streams(g, &g->data, &begin, &m, 1, progress, ctx, &nats, &predicted, err);
    rc = finish_result(rc, nats, predicted, NAMES[block], res, err);
    res->streams = 1;
    return rc;
}

/* ---- sampling ------------------------------------------------------------------------ */

int charrnn_ngram_sampler_open(charrnn_ngram_sampler **out, const charrnn_ngram *g, uint64_t seed, charrnn_error *err) {
    *out = NULL;
    charrnn_ngram_sampler *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    s->g = (charrnn_ngram *)g; /* made by ngram_new, never const itself: its count may change */
    atomic_fetch_add(&s->g->refs, 1);
    s->p = cr_malloc((size_t)g->V, sizeof *s->p);
    s->alive = cr_malloc((size_t)g->V, sizeof *s->alive);
    if (!s->p || !s->alive) {
        charrnn_ngram_sampler_close(s);
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    rng_seed(&s->r, seed, 3);
    *out = s;
    return CHARRNN_OK;
}

void charrnn_ngram_sampler_close(charrnn_ngram_sampler *s) {
    if (!s) return;
    free(s->p);
    free(s->alive);
    charrnn_ngram_close(s->g);
    free(s);
}

static void push_char(charrnn_ngram_sampler *s, uint32_t id) {
    const int keep = s->g->order - 1;
    if (keep == 0) return;
    if (s->nctx == keep) {
        memmove(s->ctx, s->ctx + 1, (size_t)(keep - 1) * sizeof *s->ctx);
        s->nctx--;
    }
    s->ctx[s->nctx++] = id;
}

int charrnn_ngram_sampler_prime(charrnn_ngram_sampler *s, const char *text, size_t len, long *skipped,
                                uint32_t *examples, int max_examples, int *num_examples, charrnn_error *err) {
    corpus c;
    long unknown = 0;
    int nex = 0;
    int rc = corpus_encode_with_vocab(&c, text, len, s->g->unit, s->g->vocab, s->g->V, "the prime text", &unknown,
                                      examples, max_examples, &nex, err);
    if (rc) return rc;
    if (skipped) *skipped = unknown;
    if (num_examples) *num_examples = nex;
    if (c.n == 0 && len > 0) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EINVAL, "none of the prime text's %ld characters is in the model's vocabulary; "
                       "prime with text like the training data", unknown);
    }
    for (size_t i = 0; i < c.n; i++) push_char(s, corpus_id(&c, i));
    corpus_free(&c);
    return CHARRNN_OK;
}

int charrnn_ngram_sampler_next(charrnn_ngram_sampler *s, float temperature, uint32_t *out, charrnn_error *err) {
    if (!(temperature == 0 || (temperature >= 1e-6f && temperature <= 1e6f)))
        return cr_fail(err, CHARRNN_EINVAL, "temperature %s is out of range; use 0 (argmax) or a value from 1e-6 to 1e6",
                       CR_NUMF(temperature));
    const int V = s->g->V;
    double *p = s->p;
    distribution(s->g, s->ctx, (size_t)s->nctx, p, s->alive);
    int pick = 0;
    for (int v = 1; v < V; v++)
        if (p[v] > p[pick]) pick = v;
    if (temperature != 0) {
        double sum = 0;
        if (temperature != 1.0f) { /* p^(1/T), scaled by the largest */
            const double lmax = log(p[pick]), inv = 1.0 / temperature;
            for (int v = 0; v < V; v++) p[v] = exp((log(p[v]) - lmax) * inv);
        }
        for (int v = 0; v < V; v++) sum += p[v];
        double u = rng_uniform_double(&s->r) * sum, acc = 0;
        pick = V - 1;
        for (int v = 0; v < V; v++) {
            acc += p[v];
            if (u < acc) { pick = v; break; }
        }
        while (p[pick] == 0 && pick > 0) pick--; /* never a zero-probability tail */
    }
    push_char(s, (uint32_t)pick);
    *out = s->g->vocab[pick];
    return CHARRNN_OK;
}

/* ---- describing ---------------------------------------------------------------------- */

void charrnn_ngram_get_info(const charrnn_ngram *g, charrnn_ngram_info *info) {
    memset(info, 0, sizeof *info);
    info->order = g->order;
    info->unit = g->unit;
    info->vocab_size = g->V;
    info->num_ngrams = g->total - 1;
    info->corpus_chars = g->corpus_chars;
    info->train_chars = g->train_n;
    info->val_chars = g->val_n;
    info->test_chars = g->test_n;
    info->train_frac = g->train_frac;
    info->val_frac = g->val_frac;
    info->memory_bytes = g->total * 8 + g->num_ctx * 16 + 4 + (size_t)g->V * 4 +
                         (g->has_data ? g->data.n * (size_t)g->data.elem_bytes : 0);
    info->has_corpus = g->has_data;
}

size_t charrnn_ngram_order_info(const charrnn_ngram *g, int k, double discounts[3]) {
    if (k < 1 || k > g->order) return 0;
    if (discounts) memcpy(discounts, g->D[k], sizeof g->D[k]);
    return g->off[k + 1] - g->off[k];
}

uint32_t charrnn_ngram_vocab(const charrnn_ngram *g, int i) { return i >= 0 && i < g->V ? g->vocab[i] : 0; }
int charrnn_ngram_char_index(const charrnn_ngram *g, uint32_t c) { return vocab_index(g->vocab, g->V, c); }
void charrnn_ngram_set_threads(charrnn_ngram *g, int n) { g->threads = n > 0 ? n : 0; }

/* ---- the file -------------------------------------------------------------------------- */
/* __metadata__: format, format_version, config {order, unit, vocab_size,
 * smoothing}, vocab [code points], corpus {chars, checksum, fractions and
 * blocks}, checksum (FNV-1a 64 over those values and the data block, as a
 * checkpoint's). Tensors: ngram.level_sizes I64 [N+1] (nodes of every length,
 * 1 for the root), ngram.symbols U8 (vocabularies up to 256) or I32 and
 * ngram.counts I32, both [nodes - 1] in level order, ngram.children I32
 * [nodes shorter than N] (how many children each has). Everything else is
 * derived again on load. */

int charrnn_ngram_save(const charrnn_ngram *g, const char *path, charrnn_error *err) {
    const int N = g->order;
    const size_t nodes = g->total - 1;
    jbuf cfg, voc, corp;
    jb_init(&cfg);
    jb_init(&voc);
    jb_init(&corp);
    jb_printf(&cfg, "{\"order\":%d,\"unit\":\"%s\",\"vocab_size\":%d,\"smoothing\":\"interpolated modified Kneser-Ney\"}",
              N, unit_name(g->unit), g->V);
    jb_raw(&voc, "[");
    for (int i = 0; i < g->V; i++) jb_printf(&voc, i ? ",%u" : "%u", g->vocab[i]);
    jb_raw(&voc, "]");
    jb_printf(&corp, "{\"chars\":%zu,\"checksum\":\"%016" PRIx64 "\",\"train_frac\":", g->corpus_chars, g->corpus_checksum);
    jb_number(&corp, g->train_frac);
    jb_raw(&corp, ",\"val_frac\":");
    jb_number(&corp, g->val_frac);
    jb_printf(&corp, ",\"train_chars\":%zu,\"val_chars\":%zu,\"test_chars\":%zu}", g->train_n, g->val_n, g->test_n);
    const char *values[] = {cfg.buf, voc.buf, corp.buf};
    int64_t levels[MAXN + 1];
    for (int d = 0; d <= N; d++) levels[d] = (int64_t)(g->off[d + 1] - g->off[d]);
    levels[0] = 1;
    int narrow = g->V <= 256;
    unsigned char *sym8 = narrow ? cr_malloc(nodes, 1) : NULL;
    int32_t *children = cr_malloc(g->num_ctx, sizeof *children);
    int rc = CHARRNN_OK;
    if ((narrow && !sym8) || !children || cfg.oom || voc.oom || corp.oom) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory writing the n-gram model %s", path);
        goto done;
    }
    if (narrow)
        for (size_t i = 0; i < nodes; i++) sym8[i] = (unsigned char)g->sym[i + 1];
    for (size_t p = 0; p < g->num_ctx; p++) children[p] = (int32_t)(g->first_child[p + 1] - g->first_child[p]);
    st_tensor ts[] = {
        {.name = "ngram.level_sizes", .dtype = ST_I64, .ndim = 1, .shape = {N + 1}, .data = levels,
         .nbytes = (size_t)(N + 1) * sizeof *levels},
        {.name = "ngram.symbols", .dtype = narrow ? ST_U8 : ST_I32, .ndim = 1, .shape = {(int64_t)nodes},
         .data = narrow ? (const void *)sym8 : (const void *)(g->sym + 1), .nbytes = nodes * (narrow ? 1 : 4)},
        {.name = "ngram.counts", .dtype = ST_I32, .ndim = 1, .shape = {(int64_t)nodes}, .data = g->cnt + 1,
         .nbytes = nodes * 4},
        {.name = "ngram.children", .dtype = ST_I32, .ndim = 1, .shape = {(int64_t)g->num_ctx}, .data = children,
         .nbytes = g->num_ctx * 4},
    };
    rc = sealed_write(path, 0, &NGRAM_FILE, values, ts, (int)(sizeof ts / sizeof ts[0]), err);
done:
    free(sym8);
    free(children);
    jb_free(&cfg);
    jb_free(&voc);
    jb_free(&corp);
    return rc;
}

static int damaged(charrnn_error *err, const char *path, const char *what) {
    return cr_fail(err, CHARRNN_EFORMAT, "%s: %s; the n-gram model is damaged or was edited: build it again with "
                   "charrnn ngram --save", path, what);
}

static int parse_meta(const st_file *f, const char *path, const char *key, json_doc **out, charrnn_error *err) {
    const char *s = st_get_meta(f, key);
    if (!s) return cr_fail(err, CHARRNN_EFORMAT, "%s is not a complete n-gram model: metadata \"%s\" is missing", path, key);
    char msg[300];
    *out = json_parse(s, strlen(s), msg, sizeof msg);
    if (!*out) return cr_fail(err, CHARRNN_EFORMAT, "%s: metadata \"%s\" is not valid JSON: %s", path, key, msg);
    return CHARRNN_OK;
}

static int get_count(const json_value *obj, const char *key, double hi, double *out) {
    double v;
    if (json_get_number(obj, key, &v) || v != floor(v) || !(v >= 0 && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* The corpus description, field by field: each a value the build could have
 * written (the blocks are the ones corpus_split gives for the fractions). */
static int read_corpus_fields(charrnn_ngram *g, const json_value *r, const char *path, charrnn_error *err) {
    double chars, tr, va, te;
    const char *cs;
    char what[200];
    const char *field = NULL;
    if (get_count(r, "chars", 9007199254740992.0, &chars) || chars < 1) field = "chars";
    else if (json_get_number(r, "train_frac", &g->train_frac) || !(g->train_frac > 0 && g->train_frac <= 1)) field = "train_frac";
    else if (json_get_number(r, "val_frac", &g->val_frac) || !(g->val_frac >= 0 && g->val_frac < 1) ||
             g->train_frac + g->val_frac > 1 + 1e-9)
        field = "val_frac";
    else if (json_get_string(r, "checksum", &cs) || strlen(cs) != 16 || strspn(cs, "0123456789abcdefABCDEF") != 16)
        field = "checksum";
    if (field) {
        const json_value *v = json_get(r, field);
        if (v && v->type == JSON_NUMBER && strcmp(field, "checksum"))
            snprintf(what, sizeof what, "corpus field \"%s\" is %s, which no build writes", field, CR_NUM(v->number));
        else if (!strcmp(field, "checksum"))
            snprintf(what, sizeof what, "corpus field \"checksum\" is not 16 hexadecimal digits");
        else
            snprintf(what, sizeof what, "corpus field \"%s\" is missing or not a number", field);
        return damaged(err, path, what);
    }
    size_t split[3];
    corpus_split((size_t)chars, g->train_frac, g->val_frac, &split[0], &split[1], &split[2]);
    static const char *const blocks[3] = {"train_chars", "val_chars", "test_chars"};
    double *got[3] = {&tr, &va, &te};
    for (int k = 0; k < 3; k++)
        if (get_count(r, blocks[k], chars, got[k]) || *got[k] != (double)split[k]) {
            snprintf(what, sizeof what, "corpus field \"%s\" is not the %zu characters that \"chars\" %.0f, "
                     "\"train_frac\" %s and \"val_frac\" %s give", blocks[k], split[k], chars, CR_NUM(g->train_frac),
                     CR_NUM(g->val_frac));
            return damaged(err, path, what);
        }
    if (tr < 1 || tr > MAX_TRAIN_CHARS) return damaged(err, path, "corpus field \"train_chars\" is out of range");
    g->corpus_chars = (size_t)chars;
    g->train_n = (size_t)tr;
    g->val_n = (size_t)va;
    g->test_n = (size_t)te;
    g->corpus_checksum = strtoull(cs, NULL, 16);
    return CHARRNN_OK;
}

/* The file's config, vocabulary and corpus description (sealed_open checked
 * its format, version and checksum). */
static int read_header(charrnn_ngram *g, const st_file *f, const char *path, charrnn_error *err) {
    json_doc *d;
    int rc = parse_meta(f, path, "config", &d, err);
    if (rc) return rc;
    const json_value *r = json_root(d);
    double order = 0, vs = 0;
    const char *u;
    int unit = 0;
    if (get_count(r, "order", MAXN, &order) || order < 1) rc = damaged(err, path, "config field \"order\" is missing or invalid");
    else if (json_get_string(r, "unit", &u) || (unit = parse_unit(u)) < 0) rc = damaged(err, path, "config field \"unit\" is missing or invalid");
    else if (get_count(r, "vocab_size", unit == CHARRNN_UNIT_BYTE ? 256 : 0x110000, &vs) || vs < 1)
        rc = damaged(err, path, "config field \"vocab_size\" is missing or invalid");
    json_free(d);
    if (rc) return rc;
    g->order = (int)order;
    g->unit = (charrnn_unit)unit;
    g->V = (int)vs;

    if ((rc = parse_meta(f, path, "vocab", &d, err))) return rc;
    r = json_root(d);
    if (r->type != JSON_ARRAY || r->len != (size_t)g->V) {
        json_free(d);
        return damaged(err, path, "its vocabulary does not hold vocab_size entries");
    }
    g->vocab = cr_malloc((size_t)g->V, sizeof *g->vocab);
    if (!g->vocab) { json_free(d); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    double limit = g->unit == CHARRNN_UNIT_BYTE ? 255 : 0x10FFFF;
    for (int i = 0; i < g->V; i++) {
        const json_value *e = &r->items[i];
        if (e->type != JSON_NUMBER || e->number < 0 || e->number > limit || e->number != floor(e->number) ||
            (e->number >= 0xD800 && e->number <= 0xDFFF && g->unit != CHARRNN_UNIT_BYTE) ||
            (i > 0 && (uint32_t)e->number <= g->vocab[i - 1])) {
            json_free(d);
            return damaged(err, path, "its vocabulary is not strictly ascending character codes");
        }
        g->vocab[i] = (uint32_t)e->number;
    }
    json_free(d);

    if ((rc = parse_meta(f, path, "corpus", &d, err))) return rc;
    rc = read_corpus_fields(g, json_root(d), path, err);
    json_free(d);
    return rc;
}

/* A 1-D tensor of the given dtype and length into *out, or a message. */
static int tensor_1d(const st_file *f, const char *path, const char *name, st_dtype dt, size_t len,
                     const st_tensor **out, charrnn_error *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) return cr_fail(err, CHARRNN_EFORMAT, "%s: tensor \"%s\" is missing; the n-gram model is damaged", path, name);
    if (t->dtype != dt || t->ndim != 1 || (uint64_t)t->shape[0] != (uint64_t)len)
        return cr_fail(err, CHARRNN_EFORMAT, "%s: tensor \"%s\" is %s [%" PRId64 "%s], expected %s [%zu] for its level "
                       "sizes; the n-gram model is damaged", path, name, st_dtype_name(t->dtype),
                       t->ndim ? t->shape[0] : 0, t->ndim > 1 ? ", ..." : "", st_dtype_name(dt), len);
    *out = t;
    return CHARRNN_OK;
}

/* The counts are the ones the training block implies: below the top order a
 * node's (continuation) count is its number of children, plus one for the one
 * string of each length that opens the text; the top order's raw counts add
 * up to the positions that have N characters. */
static int check_counts(const charrnn_ngram *g, const char *path, charrnn_error *err) {
    const int N = g->order;
    char what[200];
    for (int d = 1; d < N; d++) {
        size_t starts = 0;
        for (size_t y = g->off[d]; y < g->off[d + 1]; y++) {
            uint32_t kids = g->first_child[y + 1] - g->first_child[y];
            if (g->cnt[y] != kids && g->cnt[y] != kids + 1) {
                snprintf(what, sizeof what, "tensor \"ngram.counts\" gives an n-gram of order %d the count %u, but it "
                         "has %u longer n-grams (its count must be %u or %u)", d, g->cnt[y], kids, kids, kids + 1);
                return damaged(err, path, what);
            }
            starts += g->cnt[y] - kids;
        }
        if (starts != (g->train_n >= (size_t)d)) {
            snprintf(what, sizeof what, "tensor \"ngram.counts\" marks %zu n-grams of order %d as opening the text, "
                     "where the text has %d", starts, d, g->train_n >= (size_t)d);
            return damaged(err, path, what);
        }
    }
    size_t total = 0, want = g->train_n >= (size_t)N ? g->train_n - (size_t)N + 1 : 0;
    for (size_t y = g->off[N]; y < g->off[N + 1]; y++) total += g->cnt[y];
    if (total != want) {
        snprintf(what, sizeof what, "tensor \"ngram.counts\" counts %zu n-grams of order %d, but a training block of "
                 "%zu characters holds %zu", total, N, g->train_n, want);
        return damaged(err, path, what);
    }
    return CHARRNN_OK;
}

/* The trie from the file's tensors, checked to be one. */
static int read_trie(charrnn_ngram *g, const st_file *f, const char *path, charrnn_error *err) {
    const int N = g->order;
    const st_tensor *lt, *st, *ct, *ht;
    int rc = tensor_1d(f, path, "ngram.level_sizes", ST_I64, (size_t)N + 1, &lt, err);
    if (rc) return rc;
    int64_t levels[MAXN + 1];
    memcpy(levels, lt->data, (size_t)(N + 1) * sizeof *levels);
    if (levels[0] != 1) return damaged(err, path, "tensor \"ngram.level_sizes\" does not start with the root (1)");
    g->off[0] = 0;
    g->off[1] = 1;
    for (int d = 1; d <= N; d++) {
        if (levels[d] < 0 || (uint64_t)levels[d] > MAX_NODES || g->off[d] + (size_t)levels[d] > MAX_NODES)
            return damaged(err, path, "tensor \"ngram.level_sizes\" holds an impossible size");
        g->off[d + 1] = g->off[d] + (size_t)levels[d];
    }
    if (levels[1] < 1) return damaged(err, path, "it holds no characters of order 1");
    g->total = g->off[N + 1];
    g->num_ctx = g->off[N];
    const size_t nodes = g->total - 1;
    /* every size below is backed by the file's own bytes: the shapes are checked first */
    if ((rc = tensor_1d(f, path, "ngram.symbols", g->V <= 256 ? ST_U8 : ST_I32, nodes, &st, err))) return rc;
    if ((rc = tensor_1d(f, path, "ngram.counts", ST_I32, nodes, &ct, err))) return rc;
    if ((rc = tensor_1d(f, path, "ngram.children", ST_I32, g->num_ctx, &ht, err))) return rc;
    g->sym = cr_malloc(g->total, sizeof *g->sym);
    g->cnt = cr_malloc(g->total, sizeof *g->cnt);
    g->first_child = cr_malloc(g->num_ctx + 1, sizeof *g->first_child);
    if (!g->sym || !g->cnt || !g->first_child)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory reading the %zu n-grams of %s", nodes, path);
    g->sym[0] = 0;
    g->cnt[0] = 0;
    if (g->V <= 256) {
        const unsigned char *s8 = st->data;
        for (size_t i = 0; i < nodes; i++) g->sym[i + 1] = s8[i];
    } else {
        memcpy(g->sym + 1, st->data, nodes * sizeof *g->sym);
    }
    memcpy(g->cnt + 1, ct->data, nodes * sizeof *g->cnt);
    for (size_t i = 1; i < g->total; i++) {
        if (g->sym[i] >= (uint32_t)g->V) return damaged(err, path, "an n-gram holds a character outside the vocabulary");
        if (g->cnt[i] < 1 || g->cnt[i] > INT32_MAX) return damaged(err, path, "an n-gram has a count below 1");
    }
    const unsigned char *hc = ht->data;
    size_t s = 1;
    for (int d = 0; d < N; d++) {
        for (size_t p = g->off[d]; p < g->off[d + 1]; p++) {
            int32_t k;
            memcpy(&k, hc + p * 4, 4);
            if (k < 0 || k > g->V || s + (size_t)k > g->off[d + 2])
                return damaged(err, path, "tensor \"ngram.children\" does not match the level sizes");
            g->first_child[p] = (uint32_t)s;
            for (size_t y = s + 1; y < s + (size_t)k; y++)
                if (g->sym[y] <= g->sym[y - 1]) return damaged(err, path, "the children of an n-gram are not sorted");
            s += (size_t)k;
        }
        if (s != g->off[d + 2]) return damaged(err, path, "tensor \"ngram.children\" does not match the level sizes");
    }
    g->first_child[g->num_ctx] = (uint32_t)s;
    if ((rc = check_counts(g, path, err))) return rc;
    return derive(g, path, err);
}

int charrnn_ngram_load(charrnn_ngram **out, const char *path, charrnn_error *err) {
    *out = NULL;
    st_file *f;
    int rc = sealed_open(path, &NGRAM_FILE, &f, err);
    if (rc) return rc;
    charrnn_ngram *g = ngram_new();
    if (!g) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    else if (!(rc = read_header(g, f, path, err))) rc = read_trie(g, f, path, err);
    st_close(f);
    if (rc) {
        charrnn_ngram_close(g);
        return rc;
    }
    *out = g;
    return CHARRNN_OK;
}
