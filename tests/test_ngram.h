/* test_ngram.h: what the n-gram baseline's tests share (defined in tests/test_ngram.c); the tests:
 * test_ngram.c (its numbers), test_ngram_file.c (its files), test_ngram_cli.c (its command line). */
#ifndef CHARRNN_TEST_NGRAM_H
#define CHARRNN_TEST_NGRAM_H

#include "charrnn.h"

#include <stddef.h>

/* A model of text (the given order, unit and split); checks that it was built. */
charrnn_ngram *ngram_build(const char *text, int order, charrnn_unit unit, double train_frac, double val_frac);
/* The vocabulary indices of text (code points or bytes), *n of them; -1 for a character the model lacks. */
int *ngram_ids_of(const charrnn_ngram *g, const char *text, charrnn_unit unit, size_t *n);
/* About target bytes of words with some structure (and, in code-point mode, characters of 2 to 4
 * bytes); "Ω" only in the last tenth, so the model knows it from the vocabulary but never counted it. */
char *ngram_make_text(size_t target);

#endif
