/* loss.h: the loss of a network on a slice of an encoded corpus, read as
 * contiguous streams from a fresh state: validation and evaluation alike. */
#ifndef CHARRNN_LOSS_H
#define CHARRNN_LOSS_H

#include "charrnn.h"
#include "data.h"
#include "model.h"
#include "score.h"

/* How many streams evaluating n characters uses by default: one per seq_length
 * predictions, at most max_streams, at least 1. */
int loss_default_streams(size_t n, int seq_length, int max_streams);

/* Mean cross-entropy (nats) over ids [begin, begin + n) of c. The n - 1
 * predictions are cut into `streams` contiguous slices of equal length (the
 * remainder is one more stream), each read from a zero state, net->T steps at a
 * time; so every character after the first is predicted once. Needs
 * net->B >= streams; uses and clobbers the net's carried state. x, y: (T, B)
 * buffers. *count: predictions made. Returns NaN if progress asked to stop
 * (*stopped = 1); a non-finite result means the network's numbers overflowed. */
double corpus_loss(model *net, const corpus *c, size_t begin, size_t n, int streams, int32_t *x, int32_t *y,
                   long *count, charrnn_progress_fn progress, void *ctx, int *stopped);

/* One rank's share of corpus_loss: of the same cut into `streams` slices, the
 * slices [first, first + count) (net->B at a time) and, with with_rest, the
 * remainder; *sum and *cnt are its summed loss and predictions, to be added
 * over the ranks. With first 0, count = streams and with_rest it is
 * corpus_loss itself. Returns the share's mean. */
double corpus_loss_part(model *net, const corpus *c, size_t begin, size_t n, int streams, int first, int count,
                        int with_rest, int32_t *x, int32_t *y, double *sum, long *cnt, charrnn_progress_fn progress,
                        void *ctx, int *stopped);

#endif
