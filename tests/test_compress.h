/* test_compress.h: what the compression tests share (defined in tests/test_compress.c); the tests:
 * test_compress.c (round trips, sizes, damage, the command line, the playground page),
 * test_compress_file.c (files crafted by hand) and test_compress_lanes.c (lanes coded side by side). */
#ifndef CHARRNN_TEST_COMPRESS_H
#define CHARRNN_TEST_COMPRESS_H

#include "charrnn.h"

#include <stddef.h>

/* n bytes of words and sentences from a small vocabulary, the same for the same seed (malloc'd). */
char *compress_make_text(size_t n, unsigned seed);
/* A 1 x 32 model trained (float32) for 300 steps on compress_make_text's words (close it). */
charrnn_trainer *compress_trained(void);
/* Compresses data[0..n) with m (NULL: a fresh model, o->adapt) and decompresses it, checking that the
 * bytes come back; the compressed size in *packed (may be NULL). 1 when it all worked. */
int compress_round_trip(charrnn_model *m, const void *data, size_t n, const charrnn_compress_options *o, size_t *packed,
                        const char *what);

#endif
