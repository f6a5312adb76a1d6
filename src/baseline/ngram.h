/* ngram.h: the n-gram baseline behind charrnn_ngram (public API in charrnn.h):
 * an interpolated modified Kneser-Ney character model (Chen & Goodman 1998)
 * counted on the training block of a corpus. No network, no gradients: counts
 * in sorted arrays, probabilities from them, a safetensors file to keep them.
 *
 * The counts live in one trie read right to left: a node is a string of 1 to
 * n characters, reached from the root by its LAST character, then the one
 * before it, and so on. The children of the node for g are the strings vg, so
 * g's continuation count N1+(.g) (the distinct characters seen before g) is its
 * number of children: Kneser-Ney's lower orders come for free. Nodes are
 * stored level by level (all strings of length 1, then 2, ...), each level in
 * sorted order, so the children of a node are contiguous and sorted by
 * character: one array of first-child indices, found by binary search. */
#ifndef CHARRNN_NGRAM_H
#define CHARRNN_NGRAM_H

#include "charrnn.h"

#define NGRAM_FORMAT "charrnn-ngram"   /* the "format" metadata of an n-gram file */
#define NGRAM_FORMAT_VERSION 1

/* ---- inside the baseline: ngram.c (counting, the statistics), ngram_prob.c
 * (probabilities, evaluation, sampling), ngram_file.c (the file) ---------------------- */

#include "data.h"

#include <stdatomic.h>

#define MAXN CHARRNN_NGRAM_MAX_ORDER
#define MAX_TRAIN_CHARS 2147483647u   /* counts and positions are 32-bit (I32 in the file) */
#define MAX_NODES 4294967295u         /* node indices are 32-bit */
#define BUCKET_BITS 21                /* N1, N2, N3+ of a context, packed; each <= V <= 0x110000 < 2^21 */
#define BUCKET_MASK ((1ull << BUCKET_BITS) - 1)

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

/* A new, empty model with one reference. */
charrnn_ngram *ngram_new(void);
/* From the trie (sym, cnt, first_child): every context's c(g.) and N1, N2, N3+,
 * the count-of-counts and the discounts. Fails on a trie that is not one (a
 * loaded file that was edited); name names it in messages. */
int ngram_derive(charrnn_ngram *g, const char *name, charrnn_error *err);

static inline int ngram_report(charrnn_progress_fn progress, void *ctx, size_t done, size_t total) {
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

#endif
