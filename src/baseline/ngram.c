/* ngram.c: the n-gram baseline (see ngram.h for the trie): counting a corpus's
 * training block and the modified Kneser-Ney statistics derived from the
 * counts; probabilities, evaluation and sampling are ngram_prob.c's, the file
 * ngram_file.c's. No network code lives here and nothing here prints.
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

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_STEP (1u << 20)

/* ---- small helpers ------------------------------------------------------------------ */

void charrnn_ngram_options_default(charrnn_ngram_options *o) {
    memset(o, 0, sizeof *o);
    o->order = 10;
    o->unit = CHARRNN_UNIT_CODEPOINT;
    o->train_frac = 0.95;
    o->val_frac = 0.05;
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

charrnn_ngram *ngram_new(void) {
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
int ngram_derive(charrnn_ngram *g, const char *name, charrnn_error *err) {
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
        if (ngram_report(progress, ctx, *done, work)) return CHARRNN_ECANCELED;
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
        if ((j & (PROGRESS_STEP - 1)) == PROGRESS_STEP - 1 && ngram_report(progress, ctx, done + j, work)) goto cancel;
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
        if ((j & (PROGRESS_STEP - 1)) == PROGRESS_STEP - 1 && ngram_report(progress, ctx, done + j, work)) goto cancel;
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
    if ((rc = ngram_derive(g, name, err))) goto done;
    done += n;
    if (ngram_report(progress, ctx, work, work)) goto cancel;
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

