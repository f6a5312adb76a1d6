/* compress.c: lossless compression with the model: the arithmetic coder
 * (arith.c) driven by the model's next-character probabilities, quantised to
 * integer frequencies (every symbol at least 1) so that the encoder and the
 * decoder agree exactly. A character outside the vocabulary, or a byte that is
 * not valid UTF-8, is coded as an escape symbol and then the raw byte, so any
 * file round-trips. With adapt the model also learns the text as it codes it
 * (adapt.c), so it needs no training first.
 *
 * Lanes (as NNCP codes): the input cut into N contiguous pieces of nearly equal
 * characters, coded side by side as the N rows of one batch, each with its own
 * coder and its own coded bits; one forward step gives every lane its next
 * probabilities, so the products are matrix-matrix ones that keep the cores (or
 * the GPU) busy. A lane that has ended is fed a pad and ignored. With adapt, one
 * learning step every segment of steps learns from every lane that got that far.
 *
 * The file: "CHARRNNZ", a format version, the flags, the original length and its
 * CRC-32, the payload's length, a fingerprint of the model (its weights and
 * vocabulary), what exact decoding needs (the build: compiler and flags, the
 * kernels, the device (the CPU, or the GPU with its CUDA runtime, driver and
 * cuBLAS), BLAS core and thread count that computed the probabilities), the
 * adaptation settings and, for a model made fresh, its shape and seed; in version
 * 2, the lane count and each lane's length and coded length; then the header's
 * CRC and the coded bits (lane after lane). One lane is written as version 1 (no
 * lane fields), byte for byte what charrnn wrote before lanes.
 *
 * A file is checked before any work: its header against its CRC, its adaptation
 * settings and fresh model against what compress accepts, its lanes against its
 * lengths, and the length it claims for each lane against what that lane's coded
 * bits can hold (decoding stops, too, the moment it reads past them), so a
 * crafted file cannot make a decoder run for hours or ask for more memory than
 * its payload could ever fill. */
#include "adapt.h"
#include "arith.h"
#include "cells.h"
#include "common.h"
#include "data.h"
#include "defaults.h"
#include "handle.h"
#include "threads.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "CHARRNNZ"
#define FORMAT 2                      /* 2: lanes; a one-lane file is still written as version 1 */
#define TOTAL_BITS 24                 /* frequencies add up to at most 2^24 */
#define FLAG_ADAPT 1u
#define FLAG_FRESH 2u
#define MAX_BUILD 1024                /* the longest build string a file may hold (with its NUL) */
#define MAX_LANES 4096
#define PAD 0                         /* what a lane that has ended feeds the network */

/* ---- what the file says about how it was made -------------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}


static uint64_t fingerprint(const charrnn_model *m) {
    uint64_t h = cr_fnv1a(CR_FNV_OFFSET, model_params(&m->net), sizeof(float) * m->net.num_params);
    h = cr_fnv1a(h, m->vocab, sizeof(uint32_t) * (size_t)m->vocab_size);
    return cr_fnv1a(h, &m->unit, sizeof m->unit);
}

/* What decides the probabilities bit for bit, besides the model: the compiler and
 * the flags that change float results (CHARRNN_CFLAGS, from the Makefile: -O level,
 * -march, -ffast-math, sanitizers), the instruction sets compiled for, the cells'
 * kernels, float32 products (the coder never uses bf16), the device that computed
 * them ("device cpu", or "device cuda " and the GPU, CUDA runtime, driver and
 * cuBLAS), the BLAS core and the threads. Parts are separated by "; ", the thread
 * count last. */
#ifndef CHARRNN_CFLAGS
#define CHARRNN_CFLAGS "(flags unknown)"
#endif
#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "cc"
#endif
#if defined(__AVX512F__)
#define ISA_BASE "avx512f"
#elif defined(__AVX2__)
#define ISA_BASE "avx2"
#elif defined(__AVX__)
#define ISA_BASE "avx"
#else
#define ISA_BASE "baseline"
#endif
#if defined(__FMA__)
#define ISA ISA_BASE " fma"
#else
#define ISA ISA_BASE
#endif
/* The i-th "; "-separated part of s[0..n), its length into *len (0 past the last). */
static const char *build_part(const char *s, size_t n, int i, size_t *len) {
    const char *end = s + n, *sep;
    for (; i > 0 && s < end; i--) s = (sep = memmem(s, (size_t)(end - s), "; ", 2)) ? sep + 2 : end;
    sep = memmem(s, (size_t)(end - s), "; ", 2);
    *len = (size_t)((sep ? sep : end) - s);
    return s;
}

static void build_string(char *out, size_t cap, const model *net, int threads) {
    char dev[300] = "cpu";
    const int gpu = model_device(net);
    if (gpu >= 0) {
        snprintf(dev, sizeof dev, "cuda ");
        if (model_cuda_describe(gpu, 2, dev + 5, sizeof dev - 5)) snprintf(dev, sizeof dev, "cuda (unknown GPU)");
    }
    snprintf(out, cap, "charrnn %s; %s %s; isa %s; kernels %s; fp32; device %s; openblas %s, %s; threads %d",
             CHARRNN_VERSION, COMPILER, CHARRNN_CFLAGS, ISA, cells_kernel_name(), dev, openblas_get_corename(),
             openblas_get_config(), threads);
}

/* The "device ..." part of a build string s[0..n) (its length into *len), or NULL. */
static const char *device_part(const char *s, size_t n, size_t *len) {
    for (int i = 0; i < 64; i++) {
        const char *p = build_part(s, n, i, len);
        if (*len == 0 && p == s + n) return NULL;
        if (*len >= 7 && !memcmp(p, "device ", 7)) return p;
    }
    return NULL;
}

/* A file whose probabilities came from another device than this run's: the refusal,
 * naming both (CHARRNN_OK where the devices agree, or the file names none). */
static int device_mismatch(charrnn_error *err, const char *name, const char *theirs, size_t bl, const char *ours) {
    size_t tl, ol;
    const char *tp = device_part(theirs, bl, &tl), *op = device_part(ours, strlen(ours), &ol);
    if (!tp || !op || (tl == ol && !memcmp(tp, op, tl))) return CHARRNN_OK;
    char a[300];
    const int was_cpu = tl == 10 && !memcmp(tp, "device cpu", 10);
    return cr_fail(err, CHARRNN_EMISMATCH, "%s was compressed on %s, but this run computes on %.*s: exact decoding "
                   "needs the device that made the probabilities; decompress it %s", name,
                   cr_esc(a, sizeof a, tp + 7, tl - 7), (int)(ol - 7), op + 7,
                   was_cpu ? "on the CPU (--device cpu)" : "on that GPU with the same CUDA and cuBLAS (--device cuda)");
}


/* The refusal of a file made by another build than this one (theirs: bl bytes from
 * the file, quoted escaped): another thread count alone says so; otherwise the first
 * part that differs is named, both ways. */
static int build_mismatch(charrnn_error *err, const char *name, const char *theirs, size_t bl, const char *ours) {
    const char *tt = NULL, *ot = strstr(ours, "; threads ");
    for (const char *p = theirs; (p = memmem(p, bl - (size_t)(p - theirs), "; threads ", 10)); p++) tt = p;
    char a[300], b[300];
    if (tt && ot && (size_t)(tt - theirs) == (size_t)(ot - ours) && !memcmp(theirs, ours, (size_t)(ot - ours)))
        return cr_fail(err, CHARRNN_EMISMATCH, "%s was compressed with %s, but this is %s: exact decoding needs the same "
                       "thread count (pass --threads as it was)", name,
                       cr_esc(a, sizeof a, tt + 2, bl - (size_t)(tt + 2 - theirs)), ot + 2);
    size_t tl = 0, ol = 0;
    const char *tp = theirs, *op = ours;
    for (int i = 0; i < 64; i++) {
        tp = build_part(theirs, bl, i, &tl);
        op = build_part(ours, strlen(ours), i, &ol);
        if (tl != ol || memcmp(tp, op, tl)) break;
    }
    return cr_fail(err, CHARRNN_EMISMATCH, "%s was made by another build (it says \"%s\", this one is \"%s\"): exact "
                   "decoding needs the charrnn build that compressed it, with the same kernels, BLAS core and threads",
                   name, cr_esc(a, sizeof a, tp, tl), cr_esc(b, sizeof b, op, ol));
}

typedef struct header {
    uint32_t flags;
    uint64_t length, payload;
    uint32_t crc;
    uint64_t model;
    char build[MAX_BUILD];     /* NUL-terminated, but a crafted one may hold a NUL: build_len is its length */
    size_t build_len;
    int32_t segment;
    double lr, decay, rho, eps;
    int32_t cell, layers, size; /* a fresh model */
    uint64_t seed;
    int lanes;                  /* 1 in a version-1 file */
    uint64_t *lane;             /* each lane's length and coded length (2 x lanes, malloc'd) */
} header;

static void header_free(header *h) {
    free(h->lane);
    h->lane = NULL;
}

static void put_le(ac_bitbuf *b, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) ac_put_byte(b, (unsigned char)(v >> (8 * i)));
}
static void put_u32(ac_bitbuf *b, uint32_t v) { put_le(b, v, 4); }
static void put_u64(ac_bitbuf *b, uint64_t v) { put_le(b, v, 8); }
static void put_f64(ac_bitbuf *b, double d) { uint64_t v; memcpy(&v, &d, 8); put_u64(b, v); }

static void write_header(ac_bitbuf *b, const header *h) {
    for (int i = 0; i < 8; i++) ac_put_byte(b, (unsigned char)MAGIC[i]);
    put_u32(b, h->lanes > 1 ? FORMAT : 1);
    put_u32(b, h->flags);
    put_u64(b, h->length);
    put_u32(b, h->crc);
    put_u64(b, h->payload);
    put_u64(b, h->model);
    size_t bl = strlen(h->build);
    put_u32(b, (uint32_t)bl);
    for (size_t i = 0; i < bl; i++) ac_put_byte(b, (unsigned char)h->build[i]);
    put_u32(b, (uint32_t)h->segment);
    put_f64(b, h->lr);
    put_f64(b, h->decay);
    put_f64(b, h->rho);
    put_f64(b, h->eps);
    put_u32(b, (uint32_t)h->cell);
    put_u32(b, (uint32_t)h->layers);
    put_u32(b, (uint32_t)h->size);
    put_u64(b, h->seed);
    if (h->lanes > 1) {
        put_u32(b, (uint32_t)h->lanes);
        for (int i = 0; i < 2 * h->lanes; i++) put_u64(b, h->lane[i]);
    }
    put_u32(b, crc32_of(b->buf, b->len)); /* the header's own CRC: no field can be flipped unnoticed */
}

typedef struct reader { const unsigned char *p; size_t n, at; int short_read; } reader;
static uint64_t get_le(reader *r, int bytes) {
    uint64_t v = 0;
    if (r->at + (size_t)bytes > r->n) { r->short_read = 1; return 0; }
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)bytes;
    return v;
}
static double get_f64(reader *r) { uint64_t v = get_le(r, 8); double d; memcpy(&d, &v, 8); return d; }

/* One setting out of range: "--adapt-lr 2 is out of range; use 0 < r < 1, such as
 * 1e-2" when compressing (file NULL), "FILE is damaged or was edited: its header's
 * adaptation learning rate is 2, out of range (0 < r < 1)" when a file's header says it.
 * The value as given: an integer as one, a fraction in full (charrnn_num). */
static int bad(charrnn_error *err, const char *file, const char *option, const char *field, double v, const char *range,
               const char *example) {
    if (file)
        return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was edited: its header's %s is %s, out of range (%s)",
                       file, field, CR_NUM(v), range);
    return cr_fail(err, CHARRNN_EINVAL, "%s %s is out of range; use %s%s", option, CR_NUM(v), range, example);
}

/* The adaptation settings and the fresh model a header (or compress's options) holds,
 * within what compress accepts; file NULL: they are compress's options. */
static int check_settings(const header *h, const char *file, charrnn_error *err) {
    if (h->flags & FLAG_ADAPT) {
        if (h->segment < 1 || h->segment > 4096)
            return bad(err, file, "--segment", "adaptation segment", h->segment, "1 to 4096 characters", "");
        if (!(h->lr > 0 && h->lr < 1))
            return bad(err, file, "--adapt-lr", "adaptation learning rate", h->lr, "0 < r < 1", ", such as 1e-2");
        if (!(h->rho > 0 && h->rho < 1))
            return bad(err, file, "--adapt-rms-decay", "adaptation RMS decay", h->rho, "0 < d < 1", ", such as 0.99");
        if (!(h->decay >= 0 && h->decay < 1))
            return bad(err, file, "--adapt-decay", "adaptation decay", h->decay, "0 <= d < 1", " (0: none)");
        if (!(h->eps > 0 && h->eps < 1)) /* not an option: compress writes 1e-8 */
            return bad(err, file, "eps", "adaptation eps", h->eps, "0 < eps < 1", "");
    }
    if (h->flags & FLAG_FRESH) {
        if (h->cell < 0 || h->cell > 2)
            return bad(err, file, "--model", "fresh model's cell", h->cell, "lstm, gru or rnn", "");
        if (h->layers < 1 || h->layers > MAX_LAYERS)
            return bad(err, file, "--num-layers", "fresh model's layers", h->layers, "1 to " LIMIT_STR(MAX_LAYERS), "");
        if (h->size < 1 || h->size > MAX_RNN_SIZE)
            return bad(err, file, "--rnn-size", "fresh model's size", h->size, "1 to " LIMIT_STR(MAX_RNN_SIZE), "");
    }
    return CHARRNN_OK;
}

static int read_header(const unsigned char *p, size_t n, const char *name, header *h, size_t *payload_at, charrnn_error *err) {
    memset(h, 0, sizeof *h);
    if (n < 8 || memcmp(p, MAGIC, 8))
        return cr_fail(err, CHARRNN_EFORMAT, "%s is not a charrnn compressed file (no CHARRNNZ magic)", name);
    reader r = {p, n, 8, 0};
    uint32_t version = (uint32_t)get_le(&r, 4);
    if (!r.short_read && (version < 1 || version > FORMAT))
        return cr_fail(err, CHARRNN_EFORMAT, "%s was written in compressed format version %u, but this charrnn (%s) reads "
                       "versions 1 to %d; use the charrnn that wrote it", name, version, CHARRNN_VERSION, FORMAT);
    h->flags = (uint32_t)get_le(&r, 4);
    h->length = get_le(&r, 8);
    h->crc = (uint32_t)get_le(&r, 4);
    h->payload = get_le(&r, 8);
    h->model = get_le(&r, 8);
    uint32_t bl = (uint32_t)get_le(&r, 4);
    if (r.short_read || bl >= sizeof h->build || r.at + bl > n)
        return cr_fail(err, CHARRNN_EFORMAT, "%s is truncated or damaged (its header is incomplete)", name);
    memcpy(h->build, p + r.at, bl);
    h->build[bl] = 0;
    h->build_len = bl;
    r.at += bl;
    h->segment = (int32_t)get_le(&r, 4);
    h->lr = get_f64(&r);
    h->decay = get_f64(&r);
    h->rho = get_f64(&r);
    h->eps = get_f64(&r);
    h->cell = (int32_t)get_le(&r, 4);
    h->layers = (int32_t)get_le(&r, 4);
    h->size = (int32_t)get_le(&r, 4);
    h->seed = get_le(&r, 8);
    h->lanes = 1;
    size_t table = 0; /* where the lane table is (version 2) */
    if (version >= 2) {
        const uint32_t lanes = (uint32_t)get_le(&r, 4);
        if (!r.short_read && (lanes < 1 || lanes > MAX_LANES))
            return bad(err, name, NULL, "lane count", lanes, "1 to " LIMIT_STR(MAX_LANES), "");
        h->lanes = (int)lanes;
        table = r.at;
        if (r.at + 16 * (size_t)lanes > n) r.short_read = 1;
        else r.at += 16 * (size_t)lanes;
    }
    size_t header_len = r.at;
    uint32_t hcrc = (uint32_t)get_le(&r, 4);
    if (r.short_read) return cr_fail(err, CHARRNN_EFORMAT, "%s is truncated or damaged (its header is incomplete)", name);
    if (hcrc != crc32_of(p, header_len)) return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged: its header fails its CRC-32 check", name);
    if (h->flags & ~(FLAG_ADAPT | FLAG_FRESH) || ((h->flags & FLAG_FRESH) && !(h->flags & FLAG_ADAPT)))
        return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged (unknown flags %u)", name, h->flags);
    if (h->payload != n - r.at)
        return cr_fail(err, CHARRNN_EFORMAT, "%s is %s: its header says %llu bytes of coded data, it holds %zu", name,
                       h->payload > n - r.at ? "truncated" : "damaged or has trailing bytes",
                       (unsigned long long)h->payload, n - r.at);
    if (h->length > ((uint64_t)1 << 40) || h->payload > h->length * 8 + 64 + 32 * h->length)
        return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged (an impossible length)", name);
    int rc = check_settings(h, name, err);
    if (rc) return rc;
    if (!(h->lane = cr_malloc(2 * (size_t)h->lanes, sizeof(uint64_t)))) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    if (!table) {
        h->lane[0] = h->length;
        h->lane[1] = h->payload;
    }
    uint64_t held = 0, coded = 0; /* no overflow: at most 4096 lanes of at most 2^40 bytes each */
    reader t = {p, n, table, 0};
    for (int i = 0; table && i < h->lanes; i++) {
        const uint64_t len = get_le(&t, 8), pay = get_le(&t, 8);
        if (len < 1 || len > h->length || pay < 1 || pay > h->payload)
            rc = cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was edited: its header's lane %d decodes to %llu bytes "
                         "from %llu bytes of coded data, out of range (each at least 1, at most the file's %llu and "
                         "%llu)", name, i + 1, (unsigned long long)len, (unsigned long long)pay,
                         (unsigned long long)h->length, (unsigned long long)h->payload);
        if (rc) {
            header_free(h);
            return rc;
        }
        h->lane[2 * i] = len;
        h->lane[2 * i + 1] = pay;
        held += len;
        coded += pay;
    }
    if (table && (held != h->length || coded != h->payload)) {
        header_free(h);
        return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was edited: its %d lanes hold %llu bytes from %llu bytes "
                       "of coded data, but its header says %llu from %llu", name, h->lanes, (unsigned long long)held,
                       (unsigned long long)coded, (unsigned long long)h->length, (unsigned long long)h->payload);
    }
    *payload_at = r.at;
    return CHARRNN_OK;
}

/* ---- frequencies ----------------------------------------------------------------------------- */

/* Integer frequencies for the V model symbols and the escape (index V), from
 * the probabilities p; the escape's share follows how often escapes came. */
static uint32_t quantise(uint32_t *cum, const float *p, int V, long escapes, long coded) {
    const double room = (double)((1u << TOTAL_BITS) - (unsigned)V - 1);
    double pe = (double)(escapes + 1) / (double)(coded + 2);
    if (pe > 0.5) pe = 0.5;
    const double scale = room * (1.0 - pe);
    uint32_t acc = 0;
    for (int v = 0; v < V; v++) {
        cum[v] = acc;
        double f = (double)p[v] * scale;
        acc += 1 + (uint32_t)(f > 0 ? f : 0);
    }
    cum[V] = acc;
    acc += 1 + (uint32_t)(pe * room);
    cum[V + 1] = acc;
    return acc;
}

/* ---- the lanes and the coding loop, shared by both directions -------------------------------------- */

/* One lane: its bytes [begin, begin + len) of the original, at of them done, and its coder. */
typedef struct lane {
    size_t begin, len, at;
    long coded, escapes;       /* model symbols and escapes coded so far */
    ac_coder c;
} lane;

typedef struct job {
    charrnn_model *m;
    model view;                /* N lanes, one step: the probabilities */
    adapter ad;
    int adapt, N, V;
    lane *lanes;
    int32_t *ids;              /* this step's input of every lane (PAD for one that has ended) */
    long steps;                /* forward steps taken */
    int32_t *ring;             /* adapt: the last segment + 1 steps' ids, (S + 1, N) */
    float *snap;               /* adapt: every lane's state at the current segment's start: h (L, N, H), then c */
    float *pack;               /* adapt: those of the lanes that learn, packed: h (L, b, H), then c */
    int32_t *x, *y;            /* adapt: a learning step's inputs and targets, (S, b) */
    uint32_t *cum;
} job;

/* A model's characters (unit): the length in bytes of the one at s[i..n) (a byte that is not UTF-8 is one). */
static size_t char_len(charrnn_unit unit, const unsigned char *s, size_t n, size_t i) {
    uint32_t cp;
    const int k = unit == CHARRNN_UNIT_BYTE ? 1 : utf8_decode(s + i, n - i, &cp);
    return k > 0 ? (size_t)k : 1;
}

/* s[0..n) cut into at most want lanes of nearly equal characters (the first ones one
 * more), on character boundaries: each lane's length in bytes into len[2 * lane].
 * Returns the lanes: fewer than want for fewer characters, 1 for none. */
static int split_lanes(charrnn_unit unit, const unsigned char *s, size_t n, int want, uint64_t *len) {
    size_t chars = 0;
    for (size_t i = 0; i < n; i += char_len(unit, s, n, i)) chars++;
    const int N = chars < (size_t)want ? (int)chars : want;
    if (N <= 1) {
        len[0] = n;
        return 1;
    }
    for (size_t l = 0, i = 0; l < (size_t)N; l++) {
        const size_t start = i, take = chars / (size_t)N + (l < chars % (size_t)N);
        for (size_t c = 0; c < take; c++) i += char_len(unit, s, n, i);
        len[2 * l] = i - start;
    }
    return N;
}

/* The job for h's settings and lanes (h->lane: their lengths). */
static int job_init(job *j, charrnn_model *m, const header *h, charrnn_error *err) {
    memset(j, 0, sizeof *j);
    j->m = m;
    j->V = m->vocab_size;
    j->N = h->lanes;
    j->adapt = (h->flags & FLAG_ADAPT) != 0;
    const int N = j->N;
    int rc;
    const model *src = &m->net;
    if (j->adapt) {
        adapt_config c = {h->segment, h->lr, h->decay, h->rho, h->eps, 5.0};
        if ((rc = adapter_init(&j->ad, src, NULL, &c, N, err))) return rc;
        src = &j->ad.net; /* the view reads the adapting weights */
    }
    if ((rc = model_view(&j->view, src, N, 1, err))) return rc;
    model_set_bf16(&j->view, 0, err); /* the coder's probabilities: float32, as the file's build string says */
    model_reset_state(&j->view);
    const size_t state = (size_t)src->L * src->H * (size_t)N, S = j->adapt ? (size_t)h->segment : 0;
    j->cum = cr_malloc((size_t)j->V + 2, sizeof(uint32_t));
    j->lanes = cr_calloc((size_t)N, sizeof(lane));
    j->ids = cr_calloc((size_t)N, sizeof(int32_t));
    if (j->adapt) {
        j->ring = cr_malloc((S + 1) * (size_t)N, sizeof(int32_t));
        j->snap = cr_calloc(2 * state, sizeof(float));
        j->pack = cr_malloc(2 * state, sizeof(float));
        j->x = cr_malloc(S * (size_t)N, sizeof(int32_t));
        j->y = cr_malloc(S * (size_t)N, sizeof(int32_t));
    }
    if (!j->cum || !j->lanes || !j->ids || (j->adapt && (!j->ring || !j->snap || !j->pack || !j->x || !j->y)))
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    for (int l = 0; l < N; l++) {
        j->lanes[l].begin = l ? j->lanes[l - 1].begin + j->lanes[l - 1].len : 0;
        j->lanes[l].len = (size_t)h->lane[2 * l];
    }
    /* before anything is read the prediction is uniform: 1/V, the softmax of zeros */
    float *zeros = cr_calloc((size_t)j->V, sizeof(float));
    if (!zeros) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    for (int l = 0; l < N; l++) model_set_logits(&j->view, (size_t)l, zeros);
    free(zeros);
    return CHARRNN_OK;
}

static void job_free(job *j) {
    model_view_free(&j->view);
    if (j->adapt) adapter_free(&j->ad);
    free(j->cum);
    free(j->lanes);
    free(j->ids);
    free(j->ring);
    free(j->snap);
    free(j->pack);
    free(j->x);
    free(j->y);
}

/* Every lane has coded its character of this step (j->ids): learn (at a segment's
 * end) and read them, one step of the batch. */
static void job_step(job *j) {
    const long k = j->steps++;
    const int N = j->N;
    if (j->adapt) {
        const int S = j->ad.cfg.segment;
        const size_t L = (size_t)j->view.L, H = (size_t)j->view.H, state = L * (size_t)N * H;
        memcpy(j->ring + (size_t)(k % (S + 1)) * (size_t)N, j->ids, sizeof(int32_t) * (size_t)N);
        if (k >= S && k % S == 0) { /* targets k-S+1 .. k, inputs k-S .. k-1, from the state before k-S */
            int b = 0;              /* of the lanes that reached step k: those that ended before have nothing to learn */
            for (int l = 0; l < N; l++) b += j->lanes[l].coded > k;
            float *ph = j->pack, *pc = j->pack + L * (size_t)b * H;
            for (int l = 0, r = 0; l < N; l++) {
                if (j->lanes[l].coded <= k) continue;
                for (int t = 0; t < S; t++) {
                    j->x[(size_t)t * (size_t)b + (size_t)r] = j->ring[(size_t)((k - S + t) % (S + 1)) * (size_t)N + (size_t)l];
                    j->y[(size_t)t * (size_t)b + (size_t)r] = j->ring[(size_t)((k - S + t + 1) % (S + 1)) * (size_t)N + (size_t)l];
                }
                for (size_t i = 0; i < L; i++) {
                    memcpy(ph + (i * (size_t)b + (size_t)r) * H, j->snap + (i * (size_t)N + (size_t)l) * H, sizeof(float) * H);
                    memcpy(pc + (i * (size_t)b + (size_t)r) * H, j->snap + state + (i * (size_t)N + (size_t)l) * H,
                           sizeof(float) * H);
                }
                r++;
            }
            adapter_set_state(&j->ad, b, ph, pc);
            adapter_step(&j->ad, j->x, j->y, b, S);
        }
        if (k % S == 0) model_get_states(&j->view, 0, N, j->snap, j->snap + state);
    }
    model_forward(&j->view, j->ids, NULL, N, 1, 0, NULL);
}

/* What the input's bytes at s[i..] are: a model symbol (its length in bytes), or -1 for an escape. */
static int next_symbol(const charrnn_model *m, const unsigned char *s, size_t n, size_t i, int *id) {
    uint32_t cp;
    int k = 1;
    if (m->unit == CHARRNN_UNIT_BYTE) cp = s[i];
    else if ((k = utf8_decode(s + i, n - i, &cp)) == 0) return -1;
    *id = vocab_index(m->vocab, m->vocab_size, cp);
    return *id < 0 ? -1 : k;
}

/* A progress report each time the bytes done pass a multiple of 4096: nonzero to stop. */
static int report(charrnn_progress_fn progress, void *ctx, size_t *next, size_t done, size_t total) {
    if (!progress || done < *next) return 0;
    *next = (done / 4096 + 1) * 4096;
    return progress(ctx, (long)done, (long)total);
}

/* ---- the public face -------------------------------------------------------------------------- */

void charrnn_compress_options_default(charrnn_compress_options *o) {
    memset(o, 0, sizeof *o);
    o->segment = 32;
    o->learning_rate = 1e-2;
    o->rms_decay = 0.99;
    o->cell = CHARRNN_LSTM;
    o->num_layers = 1;
    o->rnn_size = 256;
    o->seed = 1;
    o->lanes = 1;
}

/* A fresh byte-level model for --adapt without a checkpoint (its shape checked by check_settings),
 * on the device the library's own models go to (charrnn_set_device). */
static int fresh_model(charrnn_model **out, const header *h, charrnn_error *err) {
    charrnn_model_config c;
    charrnn_model_config_default(&c);
    c.cell = (charrnn_cell)h->cell;
    c.num_layers = h->layers;
    c.rnn_size = h->size;
    uint32_t vocab[256];
    for (int i = 0; i < 256; i++) vocab[i] = (uint32_t)i;
    int rc = charrnn_model_new(out, &c, CHARRNN_UNIT_BYTE, vocab, 256, h->seed, err);
    if (!rc && (rc = handle_set_device(*out, handle_default_device(), err))) {
        charrnn_model_close(*out);
        *out = NULL;
    }
    return rc;
}

/* More memory than the machine has for the job (m's shape, or the fresh model h describes:
 * its weights, the probabilities of every lane and, with adapt, the learning copy with its
 * statistics and its activations for lanes x segment steps) is refused before any of it is
 * taken: the options to change when compressing (file NULL), the file's claims when not. */
static int check_memory(const charrnn_model *m, const header *h, const char *file, charrnn_error *err) {
    charrnn_model_config c;
    charrnn_model_config_default(&c);
    if (m) c = m->net.cfg;
    else { c.cell = (charrnn_cell)h->cell; c.num_layers = h->layers; c.rnn_size = h->size; }
    const int V = m ? m->vocab_size : 256, adapt = (h->flags & FLAG_ADAPT) != 0;
    const double params = model_param_count(&c, V);
    double need = 1e18;
    if (params * 4.0 * 4 < 1e15) /* model_alloc_bytes' size_t arithmetic cannot overflow below this */
        need = (m ? 0 : params * 4.0) + (double)model_alloc_bytes(&c, V, h->lanes, 1, 0) +
               (adapt ? params * 4.0 * (2 + (h->decay > 0)) + (double)model_alloc_bytes(&c, V, h->lanes, h->segment, 1) : 0);
    const double avail = (double)cr_available_memory();
    if (avail <= 0 || need <= avail) return CHARRNN_OK;
    char what[96];
    snprintf(what, sizeof what, "%d lane%s%s", h->lanes, h->lanes == 1 ? "" : "s", adapt ? "" : ", no adapt");
    if (adapt) snprintf(what + strlen(what), sizeof what - strlen(what), " x segment %d", h->segment);
    if (file)
        return cr_fail(err, CHARRNN_ENOMEM, "%s needs about %.1f GB to decode (%.0f M parameters, %s) but %.1f GB are "
                       "available; decompress it on a machine with more memory", file, need / 1e9, params / 1e6, what,
                       avail / 1e9);
    return cr_fail(err, CHARRNN_ENOMEM, "compressing needs about %.1f GB (%.0f M parameters, %s) but %.1f GB are "
                   "available; use fewer --lanes%s", need / 1e9, params / 1e6, what, avail / 1e9,
                   adapt ? ", a smaller --segment or a smaller model" : " or a smaller model");
}

/* A failure of the device computing the probabilities (model_check), as the error. */
static int job_check(const job *j, charrnn_error *err) {
    int rc = model_check(&j->view, err);
    return rc || !j->adapt ? rc : model_check(&j->ad.net, err);
}

/* The probabilities of lane l, or NULL (the error filled) where they are not finite. */
static const float *lane_probs(const job *j, int l, charrnn_error *err) {
    const float *p = model_probs(&j->view, (size_t)l);
    if (isfinite(p[0])) return p;
    cr_fail(err, CHARRNN_ENONFINITE, "the model's probabilities are not finite; it cannot compress");
    return NULL;
}

int charrnn_compress(charrnn_model *m, const void *in, size_t n, const charrnn_compress_options *o, void **out,
                     size_t *out_len, charrnn_progress_fn progress, void *ctx, charrnn_error *err) {
    *out = NULL;
    *out_len = 0;
    charrnn_compress_options defaults;
    if (!o) { charrnn_compress_options_default(&defaults); o = &defaults; }
    header h;
    memset(&h, 0, sizeof h);
    charrnn_model *own = NULL;
    if (o->lanes < 0 || o->lanes > MAX_LANES)
        return bad(err, NULL, "--lanes", NULL, o->lanes, "1 to " LIMIT_STR(MAX_LANES), "");
    if (o->adapt) {
        h.flags |= FLAG_ADAPT;
        h.segment = o->segment;
        h.lr = o->learning_rate;
        h.decay = o->decay;
        h.rho = o->rms_decay;
        h.eps = 1e-8;
    }
    if (!m) {
        if (!o->adapt) return cr_fail(err, CHARRNN_EINVAL, "compressing without a checkpoint needs adapt (a fresh model that learns)");
        h.flags |= FLAG_FRESH;
        h.cell = o->cell;
        h.layers = o->num_layers;
        h.size = o->rnn_size;
        h.seed = o->seed;
    }
    int rc = check_settings(&h, NULL, err);
    if (rc) return rc;
    const int want = o->lanes ? o->lanes : 1;
    if (!(h.lane = cr_calloc(2 * (size_t)want, sizeof(uint64_t)))) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    h.lanes = split_lanes(m ? m->unit : CHARRNN_UNIT_BYTE, in, n, want, h.lane); /* a fresh model reads bytes */
    if (!(rc = check_memory(m, &h, NULL, err)) && !m && !(rc = fresh_model(&own, &h, err))) m = own;
    if (rc) {
        header_free(&h);
        return rc;
    }
    thread_scope ts;
    threads_enter(&ts, m->threads);
    h.length = n;
    h.crc = crc32_of(in, n);
    h.model = fingerprint(m);
    build_string(h.build, sizeof h.build, &m->net, charrnn_get_threads());
    job j;
    rc = job_init(&j, m, &h, err);
    const int N = h.lanes, V = j.V;
    for (int l = 0; !rc && l < N; l++) ac_encode_start(&j.lanes[l].c);
    const unsigned char *s = in;
    size_t done = 0, next = 4096;
    while (!rc) { /* one step: every lane that has not ended codes its escapes and one model symbol */
        int any = 0;
        if ((rc = job_check(&j, err))) break;
        for (int l = 0; !rc && l < N; l++) {
            lane *ln = &j.lanes[l];
            const unsigned char *ls = s + ln->begin;
            j.ids[l] = PAD;
            if (ln->at == ln->len) continue;
            const float *p = lane_probs(&j, l, err);
            if (!p) { rc = CHARRNN_ENONFINITE; break; }
            while (ln->at < ln->len) {
                uint32_t total = quantise(j.cum, p, V, ln->escapes, ln->coded);
                int id, k = next_symbol(m, ls, ln->len, ln->at, &id);
                if (k < 0) { /* escape, then the raw byte */
                    ac_encode(&ln->c, j.cum[V], j.cum[V + 1], total);
                    ac_encode(&ln->c, ls[ln->at], ls[ln->at] + 1u, 256);
                    ln->escapes++;
                    ln->at++;
                    done++;
                    continue;
                }
                ac_encode(&ln->c, j.cum[id], j.cum[id + 1], total);
                j.ids[l] = id;
                ln->coded++;
                ln->at += (size_t)k;
                done += (size_t)k;
                any = 1;
                break;
            }
            if (ln->c.out.oom) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for the compressed output");
        }
        if (rc || !any) break;
        job_step(&j);
        if (report(progress, ctx, &next, done, n)) rc = cr_fail(err, CHARRNN_ECANCELED, "compression was stopped");
    }
    size_t payload = 0;
    for (int l = 0; !rc && l < N; l++) {
        ac_encode_finish(&j.lanes[l].c);
        h.lane[2 * l + 1] = j.lanes[l].c.out.len;
        payload += j.lanes[l].c.out.len;
        if (j.lanes[l].c.out.oom) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for the compressed output");
    }
    threads_leave(&ts);
    if (!rc) {
        h.payload = payload;
        ac_bitbuf file = {0};
        write_header(&file, &h);
        for (int l = 0; l < N; l++)
            for (size_t i = 0; i < j.lanes[l].c.out.len && !file.oom; i++) ac_put_byte(&file, j.lanes[l].c.out.buf[i]);
        if (file.oom) {
            free(file.buf);
            rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for the compressed output");
        } else {
            *out = file.buf;
            *out_len = file.len;
        }
    }
    for (int l = 0; j.lanes && l < N; l++) free(j.lanes[l].c.out.buf);
    job_free(&j);
    header_free(&h);
    charrnn_model_close(own);
    return rc;
}

/* The most bytes `payload` bytes of coded data can decode to with m (NULL: a fresh byte model).
 * Every symbol decoded keeps at most the share 1 - V/T of the coder's interval (the V other
 * symbols have at least 1 count each of a total T below 2^25), plus 2^-37 for rounding (the
 * interval is wider than 2^37), and every halving of the interval is one of the payload's 8P
 * bits: at most 8P / -log2(1 - V/2^25 + 2^-37) symbols, each at most as long as the longest
 * vocabulary entry (an escape: 1 byte for 8 bits and more). */
static double most_decoded(const charrnn_model *m, uint64_t payload) {
    const int nv = m ? m->vocab_size : 256;
    const double min_bits = -log2(1.0 - (double)nv / 33554432.0 + 0x1p-37);
    const int longest = !m || m->unit == CHARRNN_UNIT_BYTE ? 1 : charrnn_utf8_encode(m->vocab[nv - 1], (char[4]){0});
    return longest * (8.0 * (double)payload + 64) / min_bits;
}

/* A lane (all of them, 0) that claims more than its coded data can hold, as the refusal. */
static int claims_too_much(const charrnn_model *m, const header *h, const char *name, charrnn_error *err) {
    for (int l = 0; l < h->lanes; l++) {
        const double most = most_decoded(m, h->lane[2 * l + 1]);
        if ((double)h->lane[2 * l] <= most) continue;
        if (h->lanes == 1)
            return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was crafted: its header says it decodes to %llu bytes, "
                           "but its %llu bytes of coded data can hold at most %.0f with this model", name,
                           (unsigned long long)h->length, (unsigned long long)h->payload, floor(most));
        return cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was crafted: its header says lane %d decodes to %llu bytes, "
                       "but its %llu bytes of coded data can hold at most %.0f with this model", name, l + 1,
                       (unsigned long long)h->lane[2 * l], (unsigned long long)h->lane[2 * l + 1], floor(most));
    }
    return CHARRNN_OK;
}

int charrnn_decompress(charrnn_model *m, const void *in, size_t n, const char *name, void **out, size_t *out_len,
                       charrnn_progress_fn progress, void *ctx, charrnn_error *err) {
    *out = NULL;
    *out_len = 0;
    if (!name) name = "the compressed data";
    header h;
    size_t at = 0;
    int rc = read_header(in, n, name, &h, &at, err);
    if (rc) return rc;
    if ((h.flags & FLAG_FRESH) && m)
        rc = cr_fail(err, CHARRNN_EINVAL, "%s made its own fresh model as it was compressed (--adapt without a "
                     "checkpoint): decompress it without a checkpoint", name);
    else if (!(h.flags & FLAG_FRESH) && !m)
        rc = cr_fail(err, CHARRNN_EINVAL, "%s was compressed with a trained model: give its checkpoint", name);
    if (!rc) rc = claims_too_much(m, &h, name, err);
    if (!rc) rc = check_memory(m, &h, name, err);
    if (rc) {
        header_free(&h);
        return rc;
    }
    charrnn_model *own = NULL;
    thread_scope ts;
    threads_enter(&ts, m ? m->threads : 0);
    char build[MAX_BUILD];
    if ((h.flags & FLAG_FRESH) && !(rc = fresh_model(&own, &h, err))) m = own;
    if (!rc) build_string(build, sizeof build, &m->net, charrnn_get_threads());
    if (!rc && (h.build_len != strlen(build) || memcmp(build, h.build, h.build_len)) &&
        !(rc = device_mismatch(err, name, h.build, h.build_len, build)))
        rc = build_mismatch(err, name, h.build, h.build_len, build);
    if (!rc && fingerprint(m) != h.model)
        rc = cr_fail(err, CHARRNN_EMISMATCH, "%s was compressed with another model than %s (its weights or vocabulary "
                     "differ); decompress with the checkpoint that compressed it", name,
                     own ? "the fresh one it describes" : "this checkpoint");
    unsigned char *buf = NULL;
    job j;
    int have_job = 0;
    if (!rc && !(buf = cr_malloc((size_t)h.length, 1)))
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for the %llu bytes %s decodes to", (unsigned long long)h.length,
                     name);
    if (!rc) { rc = job_init(&j, m, &h, err); have_job = 1; }
    const int N = h.lanes;
    for (size_t l = 0, from = at; !rc && l < (size_t)N; from += (size_t)h.lane[2 * l + 1], l++)
        ac_decode_start(&j.lanes[l].c, (const unsigned char *)in + from, (size_t)h.lane[2 * l + 1]);
    int bad_lane = 0;
    size_t done = 0, next = 4096;
    while (!rc) { /* one step, as the encoder took it */
        int any = 0;
        if ((rc = job_check(&j, err))) break;
        const int V = j.V;
        for (int l = 0; !rc && l < N; l++) {
            lane *ln = &j.lanes[l];
            j.ids[l] = PAD;
            if (ln->at == ln->len) continue;
            const float *p = lane_probs(&j, l, err);
            if (!p) { rc = CHARRNN_ENONFINITE; break; }
            while (ln->at < ln->len) {
                if (ac_decode_overrun(&ln->c)) { rc = -2; bad_lane = l; break; }
                uint32_t total = quantise(j.cum, p, V, ln->escapes, ln->coded);
                uint32_t cnt = ac_decode_count(&ln->c, total);
                int lo = 0, hi = V + 1; /* the symbol whose interval holds cnt: binary search over cum */
                if (cnt >= total) { rc = -1; break; }
                while (hi - lo > 1) {
                    int mid = (lo + hi) / 2;
                    if (j.cum[mid] <= cnt) lo = mid; else hi = mid;
                }
                ac_decode_consume(&ln->c, j.cum[lo], j.cum[lo + 1], total);
                if (lo == V) {
                    uint32_t b = ac_decode_count(&ln->c, 256);
                    if (b >= 256) { rc = -1; break; }
                    ac_decode_consume(&ln->c, b, b + 1, 256);
                    buf[ln->begin + ln->at++] = (unsigned char)b;
                    ln->escapes++;
                    done++;
                    continue;
                }
                uint32_t ch = m->vocab[lo];
                char u[4];
                int k = 1;
                if (m->unit == CHARRNN_UNIT_BYTE) u[0] = (char)ch;
                else k = charrnn_utf8_encode(ch, u);
                if (ln->at + (size_t)k > ln->len) { rc = -1; break; }
                memcpy(buf + ln->begin + ln->at, u, (size_t)k);
                ln->at += (size_t)k;
                done += (size_t)k;
                j.ids[l] = lo;
                ln->coded++;
                any = 1;
                break;
            }
        }
        if (rc || !any) break;
        job_step(&j);
        if (report(progress, ctx, &next, done, (size_t)h.length))
            rc = cr_fail(err, CHARRNN_ECANCELED, "decompression was stopped");
    }
    if (rc == -2 && N == 1)
        rc = cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was crafted: its %llu bytes of coded data ran out after %zu "
                     "of the %llu bytes its header says it decodes to", name, (unsigned long long)h.payload, done,
                     (unsigned long long)h.length);
    else if (rc == -2)
        rc = cr_fail(err, CHARRNN_EFORMAT, "%s is damaged or was crafted: the %llu bytes of coded data of its lane %d ran "
                     "out after %zu of the %llu bytes its header gives that lane", name,
                     (unsigned long long)h.lane[2 * bad_lane + 1], bad_lane + 1, j.lanes[bad_lane].at,
                     (unsigned long long)h.lane[2 * bad_lane]);
    for (int l = 0; !rc && l < N; l++)
        if (!ac_decode_tail_ok(&j.lanes[l].c)) {
            char which[32] = "";
            if (N > 1) snprintf(which, sizeof which, " (lane %d)", l + 1);
            rc = cr_fail(err, CHARRNN_EFORMAT, "%s is damaged: its coded data%s does not end as the coder wrote it", name,
                         which);
        }
    if (rc == -1 || (!rc && crc32_of(buf, (size_t)h.length) != h.crc))
        rc = cr_fail(err, CHARRNN_EFORMAT, "%s is damaged: what it decodes to fails its CRC-32 check", name);
    if (have_job) job_free(&j);
    threads_leave(&ts);
    charrnn_model_close(own);
    header_free(&h);
    if (rc) { free(buf); return rc; }
    *out = buf;
    *out_len = (size_t)h.length;
    return CHARRNN_OK;
}
