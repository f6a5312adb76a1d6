/* optim.h: the optimizers, walking the one flat parameter and gradient array:
 * RMSProp (char-rnn's default), Adam, Adagrad, SGD, each with PyTorch's update
 * rule, decoupled weight decay on the ranges that hold weight matrices, gradient
 * clipping (element-wise, as char-rnn, or by global norm), and the learning
 * rate's schedule (char-rnn's step decay or cosine, with a linear warm-up). */
#ifndef CHARRNN_OPTIM_H
#define CHARRNN_OPTIM_H

#include "charrnn.h"
#include "optim_rules.h"
#include <stddef.h>

#define OPTIM_MAX_DECAY_RANGES 40

typedef struct optim {
    charrnn_optim kind;
    double alpha, beta1, beta2, eps;
    double weight_decay; /* decoupled: each update first multiplies the decay ranges by 1 - lr wd */
    long step;      /* updates done (Adam's bias correction) */
    size_t n;
    float *m1, *m2; /* moments: RMSProp/Adagrad use m1; Adam m1 and m2; NULL if unused */
    int num_decay;  /* [offset, offset + size) of the parameters weight decay applies to (the weight matrices) */
    size_t decay_at[OPTIM_MAX_DECAY_RANGES][2];
} optim;

int optim_init(optim *o, const charrnn_train_options *opt, size_t n, charrnn_error *err);
/* Adds [offset, offset + size) to the parameters weight decay applies to
 * (joined to the last range where they touch); -1 when there are too many. */
int optim_decay_range(optim *o, size_t offset, size_t size);
void optim_free(optim *o);
/* Number of moment arrays the optimizer keeps (0, 1 or 2). */
int optim_num_moments(const optim *o);
/* Global L2 norm of g. */
double grad_norm(const float *g, size_t n);
/* Clips in place: CHARRNN_CLIP_VALUE clamps each element to [-clip, clip];
 * CHARRNN_CLIP_NORM scales g by clip / (norm + 1e-6) when that is below 1
 * (PyTorch's clip_grad_norm_). norm is the precomputed grad_norm. */
void grad_clip(float *g, size_t n, double clip, charrnn_clip_mode mode, double norm);
void optim_update(optim *o, float *p, const float *g, double lr);
/* Counts one update and returns its scalars (optim_rules.h): what optim_update
 * does before its loop, for a backend that runs the loop elsewhere. */
optim_coefs optim_begin_step(optim *o, double lr);

/* The learning rate of the update made after i updates of a run of total:
 * step_lr is the step schedule's running rate (char-rnn's decay, which the
 * trainer applies at each epoch's end), used as it is by STEP; COSINE computes
 * min_lr + (learning_rate - min_lr) (1 + cos(pi p)) / 2, p = (i - warmup) /
 * (total - warmup) held to [0, 1]; then either is scaled by (i + 1) / warmup
 * during the warm-up (i < warmup_iters). */
double optim_schedule_lr(const charrnn_train_options *opt, double step_lr, long i, long total);

#endif
