/* ngram_file.c: an n-gram model (ngram.h) as a sealed safetensors file
 * (sealed.h): writing it, and reading one back with every table checked to be
 * one that counting could have made. */
#include "ngram.h"
#include "common.h"
#include "data.h"
#include "defaults.h"
#include "json.h"
#include "safetensors.h"
#include "sealed.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the format -------------------------------------------------------------------------- */
/* __metadata__: format, format_version, config {order, unit, vocab_size,
 * smoothing}, vocab [code points], corpus {chars, checksum, fractions and
 * blocks}, checksum (FNV-1a 64 over those values and the data block, as a
 * checkpoint's). Tensors: ngram.level_sizes I64 [N+1] (nodes of every length,
 * 1 for the root), ngram.symbols U8 (vocabularies up to 256) or I32 and
 * ngram.counts I32, both [nodes - 1] in level order, ngram.children I32
 * [nodes shorter than N] (how many children each has). Everything else is
 * derived again on load. */

/* The file: sealed (sealed.h) as a checkpoint is. */
static const char *const SEALED_KEYS[] = {"config", "vocab", "corpus"};
static const sealed_format NGRAM_FILE = {
    .format = NGRAM_FORMAT, .version = NGRAM_FORMAT_VERSION, .what = "n-gram model",
    .keys = SEALED_KEYS, .nkeys = (int)(sizeof SEALED_KEYS / sizeof SEALED_KEYS[0]),
    .remedy = "build it again with charrnn ngram --save",
    .other_format = "charrnn", .other_is = "a network checkpoint, not an n-gram model; open it with charrnn_model_load",
};

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
    return ngram_derive(g, path, err);
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
