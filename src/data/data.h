/* data.h: the corpus: reading a text file (read in chunks, or mapped), decoding UTF-8 into
 * code points (or taking raw bytes), building the sorted vocabulary and encoding
 * the text once into the smallest integer type that holds a vocabulary index. */
#ifndef CHARRNN_DATA_H
#define CHARRNN_DATA_H

#include "charrnn.h"
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
    int map_slot;        /* with map: its entry in the table charrnn_corpus_fault reads */
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
/* A corpus of any size at bounded memory. Byte mode maps the file itself (no
 * copy); code-point mode encodes it once, in streaming passes, into a token
 * cache file in cache_dir (corpus-KEY.ids, KEY from the file's size, mtime and
 * a hash of its head and tail, so an unchanged file reuses it and a changed one
 * rebuilds it) and maps that. The vocabulary and the file's checksum are kept
 * in the cache too (byte mode: corpus-KEY.meta), so reopening a known file reads
 * no more than its head and tail. cache_dir NULL: corpus_load. *reused: whether
 * a cache was found. progress: bytes of two passes. */
int corpus_open(corpus *c, const char *path, charrnn_unit unit, const char *cache_dir, charrnn_progress_fn progress,
                void *ctx, int *reused, charrnn_error *err);
/* A mapped corpus whose file another program truncated: reading the lost
 * pages raises SIGBUS, which the command turns (charrnn_corpus_fault) into
 * zero pages and a note; this says whether that happened, or whether the file
 * is now shorter than the mapping: then CHARRNN_EIO with a message naming the
 * file, and what was read since the last check must not be used. 0 for a
 * corpus in memory. */
int corpus_check(const corpus *c, charrnn_error *err);
/* Lets the kernel take back the mapped pages already read (they come back from
 * the page cache when read again): keeps a long run's resident memory small. */
void corpus_release_pages(const corpus *c);
/* Same from memory (name used in messages). */
int corpus_from_memory(corpus *c, const char *buf, size_t len, charrnn_unit unit,
                       const char *name, charrnn_error *err);
/* Same, but with a fixed vocabulary (e.g. from a checkpoint): characters not in
 * vocab are dropped and counted into *unknown (first distinct ones into examples). */
int corpus_encode_with_vocab(corpus *c, const char *buf, size_t len, charrnn_unit unit,
                             const uint32_t *vocab, int vocab_size, const char *name,
                             long *unknown, uint32_t *examples, int max_examples,
                             int *num_examples, charrnn_error *err);
void corpus_free(corpus *c);

/* The contiguous train / val / test blocks of a corpus of n characters, as
 * training cuts them: train = floor(n * train_frac), val = floor(n * val_frac)
 * (cut to what is left), test the rest. Training and the n-gram baseline share
 * it, so both see the same blocks. */
void corpus_split(size_t n, double train_frac, double val_frac, size_t *train_n, size_t *val_n, size_t *test_n);

/* Index of code point cp in a sorted vocabulary, or -1. */
int vocab_index(const uint32_t *vocab, int vocab_size, uint32_t cp);

#endif
