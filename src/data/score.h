/* score.h: the frame of measuring a model's loss on a text, one for the
 * networks (src/run/evaluate.c) and the n-gram baseline (src/baseline): the
 * text encoded with the model's vocabulary (unknown characters counted and
 * left out), at least two characters, the predictions cut into streams, the
 * result in nats and bits. The model's own pass is a callback. */
#ifndef CHARRNN_SCORE_H
#define CHARRNN_SCORE_H

#include "charrnn.h"
#include "data.h"

/* The n - 1 predictions of n characters cut into streams: *b slices of *len
 * predictions each (streams of them, at least 1, at most n - 1), the rest
 * (n - 1 - b * len) read as one more stream. */
void score_cut(size_t n, int streams, size_t *b, size_t *len);

/* A model's loss on ids [begin, begin + n) of c (n >= 2; name: the text's, for
 * messages) read as its own text in `streams` streams (0: the model's default):
 * res->nats, res->predicted and res->streams; a charrnn_* code and message. */
typedef int (*score_fn)(void *self, const corpus *c, size_t begin, size_t n, const char *name, int streams,
                        charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err);

/* Which part of a text is scored: one block of the split training makes
 * (corpus_split with these fractions). */
typedef struct score_block {
    charrnn_block block;
    double train_frac, val_frac;
} score_block;

/* The loss of the model behind fn on text (len bytes; name names it in
 * messages, NULL: "the text"), for a model of vocabulary vocab[0..V) read in
 * unit: all of it (part NULL) or one block of it, cut from the characters the
 * model knows. streams: 0 (the model's default) or 1 to 100000. res->bpc
 * follows from res->nats. */
int score_text(const char *text, size_t len, const char *name, const score_block *part, int streams,
               charrnn_unit unit, const uint32_t *vocab, int V, score_fn fn, void *self, charrnn_progress_fn progress,
               void *ctx, charrnn_eval_result *res, charrnn_error *err);

#endif
