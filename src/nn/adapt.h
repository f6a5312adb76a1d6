/* adapt.h: a model that keeps learning from the text it reads, one segment at
 * a time: dynamic evaluation (Krause et al. 2018) and the adaptive compressor
 * (as NNCP and lstm-compress do) share it. Each segment is predicted with the
 * weights as they are, then the weights take one RMS-normalised gradient step
 * on it, pulled back toward the weights they started from:
 *   ms    <- rho ms + (1 - rho) g^2      (rho = 1: ms stays as given)
 *   theta <- theta - lr g / (sqrt(ms) + eps) + decay (theta0 - theta)
 * Everything is deterministic: an encoder and a decoder that feed the same
 * characters hold the same weights, bit for bit. */
#ifndef CHARRNN_ADAPT_H
#define CHARRNN_ADAPT_H

#include "charrnn.h"
#include "model.h"

typedef struct adapt_config {
    int segment;      /* characters per update */
    double lr;        /* step size */
    double decay;     /* pull toward the starting weights per update (0: none) */
    double rho;       /* running mean of squared gradients (1: the given ms is kept) */
    double eps;
    double clip;      /* element-wise gradient clip (0: none) */
} adapt_config;

typedef struct adapter {
    model net;        /* its own weights; activations and gradients for (streams, segment steps) */
    float *theta0;    /* the starting weights (NULL when decay is 0) */
    float *ms;        /* mean squared gradient per parameter */
    adapt_config cfg;
    long updates;
} adapter;

/* A copy of src's weights that will adapt, on src's device, learning from up to
 * `streams` texts side by side (compression's lanes; 1 for one text). ms0: the
 * initial mean squared gradients (num_params), e.g. RMSProp's second moment from
 * training; NULL: start from the first segment's own gradient. */
int adapter_init(adapter *a, const model *src, const float *ms0, const adapt_config *cfg, int streams,
                 charrnn_error *err);
void adapter_free(adapter *a);
/* The carried state the next segment of the first n streams starts from: h and c
 * of every layer as (L, n, H) (model_set_states). */
void adapter_set_state(adapter *a, int n, const float *h, const float *c);
/* One segment of t <= segment characters in each of b <= streams streams (x
 * inputs, y targets, (t, b) time-major) from the carried state: one update from
 * them all. Returns their mean loss in nats with the weights before the update;
 * the carried state moves to the segment's end. */
double adapter_step(adapter *a, const int32_t *x, const int32_t *y, int b, int t);

#endif
