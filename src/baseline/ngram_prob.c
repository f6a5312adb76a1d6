/* ngram_prob.c: what an n-gram model (ngram.h) says: the probability of a
 * character after a context, the loss on a text or a block of its corpus,
 * samples, and the model described. The arithmetic is ngram.c's formula. */
#include "ngram.h"
#include "common.h"
#include "data.h"
#include "rng.h"
#include "score.h"
#include "threads.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_SPAN 16384               /* predictions per unit of parallel work */
#define EVAL_ROUND 64                 /* spans between progress calls */

struct charrnn_ngram_sampler {
    charrnn_ngram *g;           /* a reference: the model lives while the sampler does */
    rng r;
    uint32_t ctx[MAXN];         /* the last nctx characters, oldest first */
    int nctx;
    double *p;                  /* (V) the distribution being drawn from */
    uint32_t *alive;            /* (V) scratch */
};

static inline double discount(const charrnn_ngram *g, int k, uint32_t c) {
    return c == 0 ? 0.0 : g->D[k][c < 3 ? c - 1 : 2];
}

static inline double gamma_num(const charrnn_ngram *g, int k, uint32_t h) {
    uint64_t b = g->buckets[h];
    return g->D[k][0] * (double)(b & BUCKET_MASK) + g->D[k][1] * (double)((b >> BUCKET_BITS) & BUCKET_MASK) +
           g->D[k][2] * (double)(b >> (2 * BUCKET_BITS));
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
        if (ngram_report(progress, ctx, done, targets)) {
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

/* The n-gram pass for score_text: the streams of charrnn_evaluate, b slices of
 * per predictions, the rest as one more. */
static int ngram_loss(void *self, const corpus *c, size_t begin, size_t n, const char *name, int streams,
                      charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    const charrnn_ngram *g = self;
    size_t targets = n - 1, b, per;
    score_cut(n, streams, &b, &per);
    size_t *a = cr_malloc(b + 1, sizeof *a), *m = cr_malloc(b + 1, sizeof *m);
    int rc;
    if (!a || !m) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    } else {
        int ns = 0;
        for (size_t j = 0; j < b; j++, ns++) { a[ns] = begin + j * per; m[ns] = per; }
        if (targets > b * per) { a[ns] = begin + b * per; m[ns] = targets - b * per; ns++; }
        double nats = NAN;
        long predicted = 0;
        rc = eval_streams(g, c, a, m, ns, progress, ctx, &nats, &predicted, err);
        rc = finish_result(rc, nats, predicted, name, res, err);
        res->streams = (int)b;
    }
    free(a);
    free(m);
    return rc;
}

int charrnn_ngram_evaluate(const charrnn_ngram *g, const char *text, size_t len, const char *name, int streams,
                           charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    return score_text(text, len, name, NULL, streams, g->unit, g->vocab, g->V, ngram_loss, (void *)g, progress, ctx, res,
                      err);
}

int charrnn_ngram_evaluate_split(const charrnn_ngram *g, const char *text, size_t len, const char *name,
                                 charrnn_block block, int streams, charrnn_progress_fn progress, void *ctx,
                                 charrnn_eval_result *res, charrnn_error *err) {
    score_block part = {block, g->train_frac, g->val_frac};
    return score_text(text, len, name, &part, streams, g->unit, g->vocab, g->V, ngram_loss, (void *)g, progress, ctx,
                      res, err);
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
    int rc = corpus_encode_prime(&c, text, len, s->g->unit, s->g->vocab, s->g->V, skipped, examples, max_examples,
                                 num_examples, err);
    if (rc) return rc;
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
