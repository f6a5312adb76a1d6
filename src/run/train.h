/* train.h: the one piece of the trainer that tests drive directly. */
#ifndef CHARRNN_TRAIN_H
#define CHARRNN_TRAIN_H

#include "charrnn.h"
#include "model.h"
#include "optim.h"

/* One training iteration on a batch: zero grads, forward (with dropout),
 * backward, clip, update. Returns 0, or 1 if the loss, 2 if the gradient was not
 * finite (then the weights are untouched). */
int train_on_batch(model *net, optim *o, const charrnn_train_options *opt, const int32_t *x, const int32_t *y,
                   int b, int t, double lr, rng *r, double *loss, double *norm);

#endif
