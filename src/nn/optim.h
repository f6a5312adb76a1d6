/* optim.h: the optimizers, walking the one flat parameter and gradient array:
 * RMSProp (char-rnn's default), Adam, Adagrad, SGD, each with PyTorch's update
 * rule, and gradient clipping (element-wise, as char-rnn, or by global norm). */
#ifndef CHARRNN_OPTIM_H
#define CHARRNN_OPTIM_H

#include "charrnn.h"
#include "optim_rules.h"
#include <stddef.h>

typedef struct optim {
    charrnn_optim kind;
    double alpha, beta1, beta2, eps;
    long step;      /* updates done (Adam's bias correction) */
    size_t n;
    float *m1, *m2; /* moments: RMSProp/Adagrad use m1; Adam m1 and m2; NULL if unused */
} optim;

int optim_init(optim *o, const charrnn_train_options *opt, size_t n, charrnn_error *err);
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

#endif
