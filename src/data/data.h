/* data.h: the corpus: reading a text file (read in chunks), decoding UTF-8 into
 * code points (or taking raw bytes), building the sorted vocabulary and encoding
 * the text once into the smallest integer type that holds a vocabulary index.
 * A corpus of any size, mapped through a token cache, is tokcache.h's. */
#ifndef CHARRNN_DATA_H
#define CHARRNN_DATA_H

#include "charrnn.h"
#include "files.h"
#include "utf8.h"
#include <stddef.h>
#include <stdint.h>


typedef struct corpus {
    size_t n;            /* characters */
    int elem_bytes;      /* 1, 2 or 4: bytes per encoded index in ids */
    void *ids;           /* n encoded vocabulary indices */
    int vocab_size;
    uint32_t *vocab;     /* vocab_size code points (or byte values), ascending */
    charrnn_unit unit;
    uint64_t checksum;   /* FNV-1a 64 over the raw file bytes */
    size_t file_bytes;
    void *map;           /* when ids are memory-mapped (corpus_open): the mapping, else NULL */
    size_t map_len;
    int map_fd;          /* with map: the mapped file, kept open to see it change */
    int map_slot;        /* with map: its entry in the table charrnn_corpus_fault reads (mapped.c) */
    char *map_name;      /* with map: the mapped file, as messages name it */
    uint8_t *lut;        /* byte mode on the mapped file itself: byte value -> vocabulary index */
} corpus;

static inline uint32_t corpus_id(const corpus *c, size_t i) {
    switch (c->elem_bytes) {
    case 1: return c->lut ? c->lut[((const uint8_t *)c->ids)[i]] : ((const uint8_t *)c->ids)[i];
    case 2: return ((const uint16_t *)c->ids)[i];
    default: return ((const uint32_t *)c->ids)[i];
    }
}

/* Loads path (mmap; the mapping is released once encoded) and builds the
 * vocabulary from it. Errors (each a one-line message in err): missing file,
 * a directory, unreadable, empty file, invalid UTF-8 in code-point mode (naming
 * the byte offset and suggesting --unit byte). */
int corpus_load(corpus *c, const char *path, charrnn_unit unit, charrnn_error *err);
/* Same from memory (name used in messages). */
int corpus_from_memory(corpus *c, const char *buf, size_t len, charrnn_unit unit,
                       const char *name, charrnn_error *err);
/* Same, but with a fixed vocabulary (e.g. from a checkpoint): characters not in
 * vocab are dropped and counted into *unknown (first distinct ones into examples). */
int corpus_encode_with_vocab(corpus *c, const char *buf, size_t len, charrnn_unit unit,
                             const uint32_t *vocab, int vocab_size, const char *name,
                             long *unknown, uint32_t *examples, int max_examples,
                             int *num_examples, charrnn_error *err);
/* A prime text in a fixed vocabulary, as every sampler takes it: as above (*skipped the
 * characters dropped), and a non-empty text none of whose characters is in the vocabulary
 * is an error (nothing to prime with), c left empty. */
int corpus_encode_prime(corpus *c, const char *buf, size_t len, charrnn_unit unit, const uint32_t *vocab,
                        int vocab_size, long *skipped, uint32_t *examples, int max_examples, int *num_examples,
                        charrnn_error *err);
void corpus_free(corpus *c);

/* The contiguous train / val / test blocks of a corpus of n characters, as
 * training cuts them: train = floor(n * train_frac), val = floor(n * val_frac)
 * (cut to what is left), test the rest. Training and the n-gram baseline share
 * it, so both see the same blocks. */
void corpus_split(size_t n, double train_frac, double val_frac, size_t *train_n, size_t *val_n, size_t *test_n);

/* Index of code point cp in a sorted vocabulary, or -1. */
int vocab_index(const uint32_t *vocab, int vocab_size, uint32_t cp);

/* ---- the two passes over a text, for the token cache (tokcache.c) -------------- */
/* A text is read in chunks of CORPUS_CHUNK bytes, twice (data.c): pass 1 finds
 * the symbols, pass 2 encodes them. */
#define CORPUS_CHUNK (1u << 20)
/* Where the text comes from: a memory buffer, or a file read in chunks. */
typedef struct corpus_source {
    const unsigned char *mem;
    size_t len;                /* bytes: of the buffer, or the file's size when it was opened */
    int fd;                    /* -1 for memory */
    unsigned char *buf;        /* a file's chunk buffer (CORPUS_CHUNK + 4 bytes) */
    charrnn_progress_fn progress; /* called after every chunk with bytes done of 2 x len (both passes) */
    void *ctx;
    size_t done;
} corpus_source;
/* Pass 1: the vocabulary, the count, the checksum, into c (no ids yet). */
int corpus_scan(corpus *c, corpus_source *src, charrnn_unit unit, const char *name, charrnn_error *err);
/* Pass 2 into memory (c->ids) or, with out, into that file. */
int corpus_encode(corpus *c, corpus_source *src, file_out *out, const char *name, charrnn_error *err);
/* The message for a text that changed while it was read (CHARRNN_EIO). */
int corpus_fail_changed(charrnn_error *err, const char *name);

#endif
