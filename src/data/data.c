/* data.c: the corpus in memory. Strict UTF-8 decoding, loading a text file
 * through a chunked read in two passes (which the token cache, tokcache.c,
 * drives too), building the sorted vocabulary and encoding the text once into
 * the narrowest index type (uint8/16/32); also encoding with a fixed vocabulary. */
#include "data.h"
#include "common.h"
#include "files.h"
#include "mapped.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define HIGH_BITS 0x8080808080808080ull
#define LOW_BITS 0x0101010101010101ull

/* ---- helpers ------------------------------------------------------------------ */

static const char *display_name(const char *name) { return name ? name : "<text>"; }

static int elem_bytes_for(int vocab_size) {
    if (vocab_size <= 256) return 1;
    if (vocab_size <= 65536) return 2;
    return 4;
}

static int has_zero_byte(uint64_t w) { return ((w - LOW_BITS) & ~w & HIGH_BITS) != 0; }

static int fail_utf8(charrnn_error *err, const char *name, size_t off, unsigned char byte, const char *hint) {
    return cr_fail(err, CHARRNN_EFORMAT, "'%s' is not valid UTF-8 at byte offset %zu (byte 0x%02X); %s",
                   display_name(name), off, (unsigned)byte, hint);
}

#define HINT_TRAIN "use --unit byte to train on raw bytes"
#define HINT_MODEL "this model reads UTF-8 text (it was trained on code points); convert the text to UTF-8"

static int fail_nul(charrnn_error *err, const char *name, size_t off) {
    return cr_fail(err, CHARRNN_EFORMAT,
                   "'%s' contains a NUL byte at offset %zu: binary data? "
                   "use --unit byte to train on raw bytes",
                   display_name(name), off);
}

int corpus_fail_changed(charrnn_error *err, const char *name) {
    return cr_fail(err, CHARRNN_EIO, "'%s': corpus changed while being read (another program wrote or truncated "
                   "it); try again once it is complete", display_name(name));
}

/* Allocates c->ids for c->n indices of c->elem_bytes each, in one block. */
static int alloc_ids(corpus *c, const char *name, charrnn_error *err) {
    size_t eb = (size_t)c->elem_bytes;
    if (c->n > SIZE_MAX / eb)
        return cr_fail(err, CHARRNN_ENOMEM, "'%s' is too large to encode (%zu characters)",
                       display_name(name), c->n);
    c->ids = cr_calloc(c->n ? c->n : 1, eb);
    if (!c->ids)
        return cr_fail(err, CHARRNN_ENOMEM,
                       "out of memory: cannot allocate %zu bytes for the encoded text of '%s'",
                       c->n * eb, display_name(name));
    return CHARRNN_OK;
}

/* A lookup table code point -> vocabulary index + 1 (0: not in the vocabulary),
 * covering 0..vocab[last]. */
static uint32_t *build_table(const uint32_t *vocab, int vocab_size, size_t *table_len) {
    size_t len = vocab_size > 0 ? (size_t)vocab[vocab_size - 1] + 1 : 1;
    uint32_t *t = cr_calloc(len, sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < vocab_size; i++) t[vocab[i]] = (uint32_t)i + 1;
    *table_len = len;
    return t;
}

/* ---- pass 1: validate, collect the symbol set, count, checksum ----------------- */
/* A corpus is read in chunks (a file with read(), never mapped: a file that
 * another program truncates must give a message, not SIGBUS), twice: pass 1
 * finds the symbols, pass 2 encodes them. Memory stays at the encoded text plus
 * one chunk. */

typedef struct scan_state {
    uint64_t *bitset;          /* CP_LIMIT bits: the symbols seen */
    unsigned char ascii[128];
    uint64_t hash;             /* FNV-1a 64 of the bytes so far */
    size_t n;                  /* symbols so far */
    size_t off;                /* bytes so far */
} scan_state;

/* The length of the prefix of s that ends on a character boundary: a UTF-8
 * sequence cut by the end of a chunk waits for the next one. */
static size_t complete_prefix(const unsigned char *s, size_t len) {
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char b = s[len - back];
        if ((b & 0xC0) == 0x80) continue; /* continuation byte: look further back */
        size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        return need > back ? len - back : len;
    }
    return len;
}

/* Code-point mode: the symbols, count and checksum of s[0..len), which ends on a
 * character boundary unless it is the end of the text. Fails on invalid UTF-8
 * or NUL, naming the offset in the whole text. */
static int scan_codepoints(scan_state *st, const unsigned char *s, size_t len, const char *name, charrnn_error *err) {
    uint64_t h = st->hash;
    size_t n = st->n, i = 0;
    while (i < len) {
        /* Fast path: eight ASCII bytes, none of them NUL. */
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & HIGH_BITS) && !has_zero_byte(w)) {
                for (int k = 0; k < 8; k++) {
                    unsigned char b = s[i + k];
                    st->ascii[b] = 1;
                    h = (h ^ b) * FNV_PRIME;
                }
                i += 8;
                n += 8;
                continue;
            }
        }
        unsigned char b = s[i];
        if (b < 0x80) {
            if (b == 0) return fail_nul(err, name, st->off + i);
            st->ascii[b] = 1;
            h = (h ^ b) * FNV_PRIME;
            i++;
            n++;
            continue;
        }
        uint32_t cp;
        int k = utf8_decode(s + i, len - i, &cp);
        if (!k) return fail_utf8(err, name, st->off + i, s[i], HINT_TRAIN);
        st->bitset[cp >> 6] |= 1ull << (cp & 63);
        for (int j = 0; j < k; j++) h = (h ^ s[i + j]) * FNV_PRIME;
        i += (size_t)k;
        n++;
    }
    st->hash = h;
    st->n = n;
    st->off += len;
    return CHARRNN_OK;
}

/* Byte mode: every byte is a symbol. */
static void scan_bytes(scan_state *st, const unsigned char *s, size_t len) {
    uint64_t h = st->hash;
    for (size_t i = 0; i < len; i++) {
        st->bitset[s[i] >> 6] |= 1ull << (s[i] & 63);
        h = (h ^ s[i]) * FNV_PRIME;
    }
    st->hash = h;
    st->n += len;
    st->off += len;
}

static int scan_chunk(scan_state *st, const unsigned char *s, size_t len, charrnn_unit unit, const char *name,
                      charrnn_error *err) {
    if (unit == CHARRNN_UNIT_BYTE) {
        scan_bytes(st, s, len);
        return CHARRNN_OK;
    }
    return scan_codepoints(st, s, len, name, err);
}

/* ---- pass 2: encode ------------------------------------------------------------ */

/* Writes the index of every symbol of s that is in the table into out[k..cap);
 * symbols outside the table are skipped. Returns the new k, or -1 if the text
 * does not match what pass 1 saw (more symbols, or invalid UTF-8 now). */
#define DEFINE_ENCODE(FN, T)                                                              \
    static long FN(const unsigned char *s, size_t len, charrnn_unit unit,                 \
                   const uint32_t *table, size_t table_len, T *out, size_t k, size_t cap) { \
        size_t i = 0;                                                                     \
        if (unit == CHARRNN_UNIT_BYTE) {                                                  \
            for (; i < len; i++) {                                                        \
                uint32_t v = s[i] < table_len ? table[s[i]] : 0;                          \
                if (!v) continue;                                                         \
                if (k == cap) return -1;                                                  \
                out[k++] = (T)(v - 1);                                                    \
            }                                                                             \
            return (long)k;                                                               \
        }                                                                                 \
        while (i < len) {                                                                 \
            uint32_t cp;                                                                  \
            if (s[i] < 0x80) {                                                            \
                cp = s[i++];                                                              \
            } else {                                                                      \
                int len1 = utf8_decode(s + i, len - i, &cp);                              \
                if (!len1) return -1;                                                     \
                i += (size_t)len1;                                                        \
            }                                                                             \
            uint32_t v = cp < table_len ? table[cp] : 0;                                  \
            if (!v) continue;                                                             \
            if (k == cap) return -1;                                                      \
            out[k++] = (T)(v - 1);                                                        \
        }                                                                                 \
        return (long)k;                                                                   \
    }
DEFINE_ENCODE(encode_u8, uint8_t)
DEFINE_ENCODE(encode_u16, uint16_t)
DEFINE_ENCODE(encode_u32, uint32_t)

static long encode_chunk(corpus *c, const unsigned char *s, size_t len, const uint32_t *table, size_t table_len,
                         size_t k) {
    switch (c->elem_bytes) {
    case 1: return encode_u8(s, len, c->unit, table, table_len, c->ids, k, c->n);
    case 2: return encode_u16(s, len, c->unit, table, table_len, c->ids, k, c->n);
    default: return encode_u32(s, len, c->unit, table, table_len, c->ids, k, c->n);
    }
}

/* ---- building a corpus ---------------------------------------------------------- */

/* Calls fn on the whole text, chunk by chunk, each ending on a character
 * boundary (but the last). Returns 0, -1 if the file is not what it was (a
 * short or long read), or fn's error code. */
typedef int (*chunk_fn)(void *ctx, const unsigned char *s, size_t len);
static int for_each_chunk(corpus_source *src, charrnn_unit unit, chunk_fn fn, void *ctx) {
    if (src->fd < 0) return fn(ctx, src->mem, src->len);
    if (lseek(src->fd, 0, SEEK_SET) != 0) return -1;
    size_t carry = 0, total = 0;
    for (;;) {
        ssize_t r = read(src->fd, src->buf + carry, CORPUS_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        total += (size_t)r;
        if (total > src->len) return -1; /* it grew */
        size_t have = carry + (size_t)r;
        int last = r == 0;
        size_t use = last || unit == CHARRNN_UNIT_BYTE ? have : complete_prefix(src->buf, have);
        int rc = use ? fn(ctx, src->buf, use) : 0;
        if (rc) return rc;
        src->done += (size_t)r;
        if (src->progress && src->progress(src->ctx, (long)src->done, (long)(2 * src->len))) return CHARRNN_ECANCELED;
        carry = have - use;
        memmove(src->buf, src->buf + use, carry);
        if (last) break;
    }
    return total == src->len ? 0 : -1;
}

typedef struct scan_ctx { scan_state *st; charrnn_unit unit; const char *name; charrnn_error *err; } scan_ctx;
static int scan_cb(void *ctx, const unsigned char *s, size_t len) {
    scan_ctx *c = ctx;
    return scan_chunk(c->st, s, len, c->unit, c->name, c->err);
}

typedef struct encode_ctx {
    corpus *c;
    const uint32_t *table;
    size_t table_len, k;
    uint64_t hash;
    file_out *out;             /* non-NULL: the ids go to this file, through scratch, instead of c->ids */
    corpus scratch;
    int write_failed;
} encode_ctx;
static int encode_cb(void *ctx, const unsigned char *s, size_t len) {
    encode_ctx *e = ctx;
    if (e->out) {
        long k = encode_chunk(&e->scratch, s, len, e->table, e->table_len, 0);
        if (k < 0 || e->k + (size_t)k > e->c->n) return -1;
        if (file_out_write(e->out, e->scratch.ids, (size_t)k * (size_t)e->scratch.elem_bytes)) {
            e->write_failed = errno;
            return -1;
        }
        e->k += (size_t)k;
    } else {
        long k = encode_chunk(e->c, s, len, e->table, e->table_len, e->k);
        if (k < 0) return -1;
        e->k = (size_t)k;
    }
    uint64_t h = e->hash;
    for (size_t i = 0; i < len; i++) h = (h ^ s[i]) * FNV_PRIME;
    e->hash = h;
    return 0;
}

int corpus_scan(corpus *c, corpus_source *src, charrnn_unit unit, const char *name, charrnn_error *err) {
    memset(c, 0, sizeof *c);
    if (unit != CHARRNN_UNIT_CODEPOINT && unit != CHARRNN_UNIT_BYTE)
        return cr_fail(err, CHARRNN_EINVAL, "unknown text unit %d", (int)unit);
    if (src->len == 0)
        return cr_fail(err, CHARRNN_EDATA,
                       "'%s' is empty; give a text file with at least a few hundred characters",
                       display_name(name));
    size_t nwords = CP_LIMIT / 64;
    scan_state st;
    memset(&st, 0, sizeof st);
    st.hash = FNV_OFFSET;
    st.bitset = cr_calloc(nwords, sizeof *st.bitset);
    if (!st.bitset)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory: cannot allocate %zu bytes", nwords * sizeof *st.bitset);
    scan_ctx sc = {&st, unit, name, err};
    int rc = for_each_chunk(src, unit, scan_cb, &sc);
    if (rc) {
        if (rc < 0) rc = corpus_fail_changed(err, name);
        else if (rc == CHARRNN_ECANCELED) rc = cr_fail(err, CHARRNN_ECANCELED, "reading '%s' was stopped", display_name(name));
        free(st.bitset);
        return rc;
    }
    for (int b = 0; b < 128; b++)
        if (st.ascii[b]) st.bitset[b >> 6] |= 1ull << (b & 63);
    size_t count = 0;
    for (size_t w = 0; w < nwords; w++) count += (size_t)__builtin_popcountll(st.bitset[w]);
    c->vocab = cr_calloc(count, sizeof *c->vocab);
    if (!c->vocab) {
        free(st.bitset);
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory: cannot allocate the vocabulary");
    }
    int v = 0;
    for (size_t w = 0; w < nwords; w++)
        for (uint64_t bits = st.bitset[w]; bits; bits &= bits - 1)
            c->vocab[v++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
    free(st.bitset);
    c->vocab_size = v;
    c->n = st.n;
    c->unit = unit;
    c->elem_bytes = elem_bytes_for(v);
    c->checksum = st.hash;
    c->file_bytes = src->len;
    return CHARRNN_OK;
}

int corpus_encode(corpus *c, corpus_source *src, file_out *out, const char *name, charrnn_error *err) {
    size_t table_len = 0;
    uint32_t *table = build_table(c->vocab, c->vocab_size, &table_len);
    if (!table) return cr_fail(err, CHARRNN_ENOMEM, "out of memory: cannot allocate the lookup table");
    int rc = CHARRNN_OK;
    encode_ctx ec = {c, table, table_len, 0, FNV_OFFSET, out, {0}, 0};
    if (out) {
        ec.scratch.elem_bytes = c->elem_bytes;
        ec.scratch.n = CORPUS_CHUNK + 4;
        ec.scratch.unit = c->unit;
        ec.scratch.ids = cr_malloc(CORPUS_CHUNK + 4, (size_t)c->elem_bytes);
        if (!ec.scratch.ids) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    } else {
        rc = alloc_ids(c, name, err);
    }
    if (!rc) {
        int r = for_each_chunk(src, c->unit, encode_cb, &ec);
        if (r == CHARRNN_ECANCELED) rc = cr_fail(err, CHARRNN_ECANCELED, "reading '%s' was stopped", display_name(name));
        else if (ec.write_failed)
            rc = cr_fail(err, CHARRNN_EIO, "cannot write the token cache of '%s': %s", display_name(name),
                         strerror(ec.write_failed));
        else if (r != 0 || ec.k != c->n || ec.hash != c->checksum) rc = corpus_fail_changed(err, name);
    }
    free(ec.scratch.ids);
    free(table);
    return rc;
}

static int build_corpus(corpus *c, corpus_source *src, charrnn_unit unit, const char *name, charrnn_error *err) {
    int rc = corpus_scan(c, src, unit, name, err);
    if (!rc) rc = corpus_encode(c, src, NULL, name, err);
    if (rc) corpus_free(c);
    return rc;
}

int corpus_from_memory(corpus *c, const char *buf, size_t len, charrnn_unit unit,
                       const char *name, charrnn_error *err) {
    if (!buf && len) {
        memset(c, 0, sizeof *c);
        return cr_fail(err, CHARRNN_EINVAL, "no text given");
    }
    corpus_source src = {(const unsigned char *)buf, len, -1, NULL, NULL, NULL, 0};
    return build_corpus(c, &src, unit, name, err);
}

int corpus_load(corpus *c, const char *path, charrnn_unit unit, charrnn_error *err) {
    memset(c, 0, sizeof *c);
    struct stat st;
    int fd = file_open_read(path, &st); /* a FIFO or a device is refused, never waited on */
    if (fd == -2 && S_ISDIR(st.st_mode)) return cr_fail(err, CHARRNN_EIO, "'%s' is a directory; give a text file", path);
    if (fd == -2)
        return cr_fail(err, CHARRNN_EIO, "'%s' is %s, not a regular file; give a text file (or - for standard input)",
                       path, file_kind(st.st_mode));
    if (fd < 0) return cr_fail(err, CHARRNN_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (st.st_size == 0) {
        close(fd);
        return cr_fail(err, CHARRNN_EDATA,
                       "'%s' is empty; give a text file with at least a few hundred characters",
                       path);
    }
    if ((uintmax_t)st.st_size > SIZE_MAX / 2) {
        close(fd);
        return cr_fail(err, CHARRNN_ENOMEM, "'%s' is too large to read", path);
    }
    corpus_source src = {NULL, (size_t)st.st_size, fd, malloc(CORPUS_CHUNK + 4), NULL, NULL, 0};
    int rc;
    if (!src.buf) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory reading '%s'", path);
    else rc = build_corpus(c, &src, unit, path, err);
    free(src.buf);
    close(fd);
    return rc;
}

int corpus_encode_prime(corpus *c, const char *buf, size_t len, charrnn_unit unit, const uint32_t *vocab,
                        int vocab_size, long *skipped, uint32_t *examples, int max_examples, int *num_examples,
                        charrnn_error *err) {
    long unknown = 0;
    int nex = 0;
    int rc = corpus_encode_with_vocab(c, buf, len, unit, vocab, vocab_size, "the prime text", &unknown, examples,
                                      max_examples, &nex, err);
    if (rc) return rc;
    if (skipped) *skipped = unknown;
    if (num_examples) *num_examples = nex;
    if (c->n == 0 && len > 0) {
        corpus_free(c);
        return cr_fail(err, CHARRNN_EINVAL, "none of the prime text's %ld characters is in the model's vocabulary; "
                       "prime with text like the training data", unknown);
    }
    return CHARRNN_OK;
}

int corpus_encode_with_vocab(corpus *c, const char *buf, size_t len, charrnn_unit unit,
                             const uint32_t *vocab, int vocab_size, const char *name,
                             long *unknown, uint32_t *examples, int max_examples,
                             int *num_examples, charrnn_error *err) {
    memset(c, 0, sizeof *c);
    if (unknown) *unknown = 0;
    if (num_examples) *num_examples = 0;
    if (unit != CHARRNN_UNIT_CODEPOINT && unit != CHARRNN_UNIT_BYTE)
        return cr_fail(err, CHARRNN_EINVAL, "unknown text unit %d", (int)unit);
    if (!vocab || vocab_size <= 0)
        return cr_fail(err, CHARRNN_EINVAL, "empty vocabulary");
    if (!buf && len) return cr_fail(err, CHARRNN_EINVAL, "no text given");
    uint32_t limit = unit == CHARRNN_UNIT_BYTE ? 256 : CP_LIMIT;
    for (int i = 0; i < vocab_size; i++) {
        if (vocab[i] >= limit || (i > 0 && vocab[i] <= vocab[i - 1]))
            return cr_fail(err, CHARRNN_EINVAL,
                           "invalid vocabulary: entry %d (0x%X) is out of range or not ascending",
                           i, (unsigned)vocab[i]);
    }
    const unsigned char *s = (const unsigned char *)buf;
    size_t table_len;
    uint32_t *table = build_table(vocab, vocab_size, &table_len);
    if (!table) return cr_fail(err, CHARRNN_ENOMEM, "out of memory: cannot allocate the lookup table");
    int rc;
    int nex = 0;
    long unk = 0;
    size_t n = 0;
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = 1;
        if (unit == CHARRNN_UNIT_BYTE || s[i] < 0x80) {
            cp = s[i];
        } else {
            int k1 = utf8_decode(s + i, len - i, &cp);
            if (!k1) {
                rc = fail_utf8(err, name, i, s[i], HINT_MODEL);
                goto fail;
            }
            k = (size_t)k1;
        }
        for (size_t j = 0; j < k; j++) h = (h ^ s[i + j]) * FNV_PRIME;
        i += k;
        if (cp < table_len && table[cp]) {
            n++;
            continue;
        }
        unk++;
        if (examples && nex < max_examples) {
            int seen = 0;
            for (int e = 0; e < nex && !seen; e++) seen = examples[e] == cp;
            if (!seen) examples[nex++] = cp;
        }
    }
    if (unknown) *unknown = unk;
    if (num_examples) *num_examples = nex;

    c->vocab = cr_calloc((size_t)vocab_size, sizeof *c->vocab);
    if (!c->vocab) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory: cannot allocate the vocabulary");
        goto fail;
    }
    memcpy(c->vocab, vocab, (size_t)vocab_size * sizeof *vocab);
    c->vocab_size = vocab_size;
    c->n = n;
    c->unit = unit;
    c->elem_bytes = elem_bytes_for(vocab_size);
    c->checksum = h;
    c->file_bytes = len;
    rc = alloc_ids(c, name, err);
    if (rc) goto fail;
    if (encode_chunk(c, s, len, table, table_len, 0) != (long)c->n) {
        rc = corpus_fail_changed(err, name);
        goto fail;
    }
    free(table);
    return CHARRNN_OK;
fail:
    free(table);
    corpus_free(c);
    return rc;
}

void corpus_free(corpus *c) {
    if (!c) return;
    if (c->map) {
        mapped_unregister(c->map_slot);
        munmap(c->map, c->map_len);
        close(c->map_fd);
        free(c->map_name);
    } else {
        free(c->ids);
    }
    free(c->lut);
    free(c->vocab);
    memset(c, 0, sizeof *c);
}

void corpus_split(size_t n, double train_frac, double val_frac, size_t *train_n, size_t *val_n, size_t *test_n) {
    size_t train = (size_t)floor((double)n * train_frac), val = (size_t)floor((double)n * val_frac);
    if (train > n) train = n;
    if (train + val > n) val = n - train;
    *train_n = train;
    *val_n = val;
    *test_n = n - train - val;
}

int vocab_index(const uint32_t *vocab, int vocab_size, uint32_t cp) {
    int lo = 0, hi = vocab_size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (vocab[mid] < cp) lo = mid + 1;
        else if (vocab[mid] > cp) hi = mid - 1;
        else return mid;
    }
    return -1;
}
