/* sam.c: the suffix automaton of a string and its matching statistics against a
 * streamed text (see sam.h).
 *
 * The automaton (Blumer et al. 1985) has a state for every class of substrings
 * of s with the same set of end positions; a state's strings are suffixes of
 * one another, of lengths len(link)+1 .. len, where link is the state of the
 * next shorter suffix. Feeding the text keeps the longest suffix of what was fed
 * that is a substring of s (a state and a length); best[v] is the longest match
 * seen in state v. Afterwards, a string of v occurs in the text iff it is at most
 * best[v] long, or some state below v in the link tree was matched (then all of
 * v's strings did, as suffixes of that match). That gives, for every end position
 * e of s, the longest substring ending at e that occurs (ml[e]); and since
 * e - ml[e] never decreases, one sweep turns ends into starts (ms[i]).
 * Transitions live in one edge pool, found by a hash of (state, symbol) and
 * chained per state (cloning a state copies its edges). The public face,
 * charrnn_novelty_*, is at the end. */
#include "sam.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

typedef struct { uint32_t len, link, first, edges; } sam_node; /* first: end of the first occurrence in s */
typedef struct { uint32_t from, sym, to, next; } sam_edge;

struct charrnn_novelty {
    size_t n;
    sam_node *nodes;
    uint32_t num_nodes;
    sam_edge *edges;
    uint32_t num_edges;
    uint32_t *table; /* edge index + 1, 0: empty */
    size_t mask;
    int shift;       /* 64 - log2(table size): the hash's top bits pick a slot */
    uint32_t *prefix; /* prefix[e]: the state of s[0..e), e = 1..n */
    uint32_t *best;   /* per state: the longest match of the text seen there */
    /* the run over the text */
    uint32_t cur, cur_len, longest, longest_node;
    uint64_t fed, longest_end;
};

static size_t slot(const sam *a, uint32_t from, uint32_t sym) {
    uint64_t k = ((uint64_t)from << 32 | sym) * 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> a->shift);
}

/* The edge (from, sym), or NONE. */
static uint32_t find_edge(const sam *a, uint32_t from, uint32_t sym) {
    for (size_t i = slot(a, from, sym);; i = (i + 1) & a->mask) {
        uint32_t e = a->table[i];
        if (!e) return NONE;
        const sam_edge *d = &a->edges[e - 1];
        if (d->from == from && d->sym == sym) return e - 1;
    }
}

static void add_edge(sam *a, uint32_t from, uint32_t sym, uint32_t to) {
    uint32_t e = a->num_edges++;
    a->edges[e] = (sam_edge){from, sym, to, a->nodes[from].edges};
    a->nodes[from].edges = e;
    size_t i = slot(a, from, sym);
    while (a->table[i]) i = (i + 1) & a->mask;
    a->table[i] = e + 1;
}

static uint32_t new_node(sam *a, uint32_t len, uint32_t link, uint32_t first) {
    uint32_t v = a->num_nodes++;
    a->nodes[v] = (sam_node){len, link, first, NONE};
    return v;
}

/* Appends symbol c (the one at position pos of s) to the automaton whose last
 * state is last; returns the new last state. */
static uint32_t extend(sam *a, uint32_t last, uint32_t c, uint32_t pos) {
    uint32_t cur = new_node(a, a->nodes[last].len + 1, NONE, pos);
    uint32_t p = last, e = NONE;
    while (p != NONE && (e = find_edge(a, p, c)) == NONE) {
        add_edge(a, p, c, cur);
        p = a->nodes[p].link;
    }
    if (p == NONE) {
        a->nodes[cur].link = 0;
        return cur;
    }
    uint32_t q = a->edges[e].to;
    if (a->nodes[p].len + 1 == a->nodes[q].len) {
        a->nodes[cur].link = q;
        return cur;
    }
    uint32_t clone = new_node(a, a->nodes[p].len + 1, a->nodes[q].link, a->nodes[q].first);
    for (uint32_t f = a->nodes[q].edges; f != NONE; f = a->edges[f].next)
        add_edge(a, clone, a->edges[f].sym, a->edges[f].to);
    while (p != NONE && (e = find_edge(a, p, c)) != NONE && a->edges[e].to == q) {
        a->edges[e].to = clone;
        p = a->nodes[p].link;
    }
    a->nodes[q].link = a->nodes[cur].link = clone;
    return cur;
}

sam *sam_build(const uint32_t *s, size_t n) {
    if (n < 1 || n > SAM_MAX_LENGTH) return NULL;
    sam *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->n = n;
    /* at most 2n states and 3n edges (Blumer et al.); the table at most half full */
    size_t max_nodes = 2 * n + 1, max_edges = 3 * n + 1, cap = 1;
    int bits = 0;
    for (; cap < 2 * max_edges; bits++) cap *= 2;
    a->mask = cap - 1;
    a->shift = 64 - bits;
    a->nodes = cr_malloc(max_nodes, sizeof *a->nodes);
    a->edges = cr_malloc(max_edges, sizeof *a->edges);
    a->table = cr_calloc(cap, sizeof *a->table);
    a->prefix = cr_malloc(n + 1, sizeof *a->prefix);
    if (!a->nodes || !a->edges || !a->table || !a->prefix) {
        sam_free(a);
        return NULL;
    }
    uint32_t last = new_node(a, 0, NONE, 0);
    a->prefix[0] = 0;
    for (size_t i = 0; i < n; i++) a->prefix[i + 1] = last = extend(a, last, s[i], (uint32_t)i);
    a->best = cr_calloc(a->num_nodes, sizeof *a->best);
    if (!a->best) {
        sam_free(a);
        return NULL;
    }
    return a;
}

void sam_free(sam *a) {
    if (!a) return;
    free(a->nodes);
    free(a->edges);
    free(a->table);
    free(a->prefix);
    free(a->best);
    free(a);
}

void sam_feed(sam *a, const uint32_t *text, size_t k) {
    uint32_t v = a->cur, len = a->cur_len;
    for (size_t j = 0; j < k; j++, a->fed++) {
        uint32_t e;
        while ((e = find_edge(a, v, text[j])) == NONE && v != 0) {
            v = a->nodes[v].link;
            len = a->nodes[v].len;
        }
        if (e == NONE) {
            len = 0; /* at the root, and the symbol is not in s */
            continue;
        }
        v = a->edges[e].to;
        len++;
        if (len > a->best[v]) a->best[v] = len;
        if (len > a->longest) {
            a->longest = len;
            a->longest_node = v;
            a->longest_end = a->fed;
        }
    }
    a->cur = v;
    a->cur_len = len;
}

int sam_matching_statistics(const sam *a, size_t *ms) {
    uint32_t nn = a->num_nodes;
    uint32_t *order = cr_malloc(nn, sizeof *order), *occ = cr_malloc(nn, sizeof *occ);
    size_t *count = cr_calloc(a->n + 2, sizeof *count);
    if (!order || !occ || !count) {
        free(order);
        free(occ);
        free(count);
        return -1;
    }
    /* states by length (a link is always shorter) */
    for (uint32_t v = 0; v < nn; v++) count[a->nodes[v].len + 1]++;
    for (size_t l = 1; l <= a->n + 1; l++) count[l] += count[l - 1];
    for (uint32_t v = 0; v < nn; v++) order[count[a->nodes[v].len]++] = v;
    memcpy(occ, a->best, nn * sizeof *occ);
    /* upwards: a matched state makes every string of its link occur */
    for (uint32_t k = nn; k-- > 1;) {
        uint32_t v = order[k], up = a->nodes[v].link;
        if (occ[v] && occ[up] < a->nodes[up].len) occ[up] = a->nodes[up].len;
    }
    /* downwards: the longest occurring suffix of a state's strings */
    for (uint32_t k = 1; k < nn; k++) {
        uint32_t v = order[k], up = a->nodes[v].link;
        if (occ[up] > occ[v]) occ[v] = occ[up];
    }
    /* ends to starts: s[i..e) occurs iff e - ml[e] <= i, and e - ml[e] never decreases */
    size_t e = 0;
    for (size_t i = 0; i < a->n; i++) {
        while (e < a->n && e + 1 - occ[a->prefix[e + 1]] <= i) e++;
        ms[i] = e - i;
    }
    free(order);
    free(occ);
    free(count);
    return 0;
}

void sam_longest(const sam *a, size_t *len, size_t *s_start, size_t *text_start) {
    *len = a->longest;
    *s_start = a->longest ? a->nodes[a->longest_node].first + 1 - (size_t)a->longest : 0;
    *text_start = a->longest ? (size_t)(a->longest_end + 1 - a->longest) : 0;
}

/* ---- the public face (charrnn.h): the same automaton, with errors ------------------- */

int charrnn_novelty_open(charrnn_novelty **out, const uint32_t *sample, size_t n, charrnn_error *err) {
    *out = NULL;
    if (n < 1 || n > SAM_MAX_LENGTH)
        return cr_fail(err, CHARRNN_EINVAL, "a sample of %zu symbols cannot be indexed: novelty takes 1 to %zu; "
                       "give %s sample", n, SAM_MAX_LENGTH, n ? "a shorter" : "a non-empty");
    if (!(*out = sam_build(sample, n)))
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory indexing a sample of %zu symbols (about %zu MB); give a "
                       "shorter sample", n, n / 1000000 * 150 + 1);
    return CHARRNN_OK;
}

void charrnn_novelty_close(charrnn_novelty *nv) { sam_free(nv); }

void charrnn_novelty_feed(charrnn_novelty *nv, const uint32_t *text, size_t k) { sam_feed(nv, text, k); }

int charrnn_novelty_matches(const charrnn_novelty *nv, size_t *matches, charrnn_error *err) {
    if (sam_matching_statistics(nv, matches))
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the matches of a sample of %zu symbols; give a shorter "
                       "sample", nv->n);
    return CHARRNN_OK;
}

void charrnn_novelty_longest(const charrnn_novelty *nv, size_t *len, size_t *sample_start, size_t *text_start) {
    sam_longest(nv, len, sample_start, text_start);
}
