/* tokcache.h: a corpus of any size at bounded memory: the text file mapped
 * (byte mode), or encoded once into a token cache file that is mapped
 * (code-point mode); and what a run asks of a mapped corpus while it reads it. */
#ifndef CHARRNN_TOKCACHE_H
#define CHARRNN_TOKCACHE_H

#include "data.h"

/* A corpus of any size at bounded memory. Byte mode maps the file itself (no
 * copy); code-point mode encodes it once, in streaming passes, into a token
 * cache file in cache_dir (corpus-KEY.ids, KEY from the file's size, mtime and
 * a hash of its head and tail, so an unchanged file reuses it and a changed one
 * rebuilds it) and maps that. The vocabulary and the file's checksum are kept
 * in the cache too (byte mode: corpus-KEY.meta), so reopening a known file reads
 * no more than its head and tail. cache_dir NULL: corpus_load. *reused: whether
 * a cache was found. progress: bytes of two passes. corpus_free frees it. */
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

#endif
