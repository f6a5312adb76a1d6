/* model.h: the network: parameters in one allocation (PyTorch's names, shapes and
 * gate order), gradients in another, activations for (T, B) sized once, and the
 * forward and backward passes of the stacked cells plus decoder and softmax loss.
 * Layout of every activation tensor is time-major: (T, B, ...). */
#ifndef CHARRNN_MODEL_H
#define CHARRNN_MODEL_H

#include "bf16.h"
#include "charrnn.h"
#include "defaults.h"
#include "rng.h"
#include <stddef.h>
#include <stdint.h>

#define MAX_PARAM_TENSORS (4 * MAX_LAYERS + 2)

typedef struct param_view {
    char name[32];     /* PyTorch name, e.g. "weight_ih_l0", "decoder.weight" */
    int ndim;
    int shape[2];
    size_t offset;     /* into params / grads, in floats */
    size_t size;       /* floats */
} param_view;

typedef struct layer_params { float *w_ih, *w_hh, *b_ih, *b_hh; } layer_params;

typedef struct layer_acts {
    float *gates;  /* (T, B, G*H): input projection + biases, then the activated gates */
    float *h;      /* (T+1, B, H): h[0] is the carried state */
    float *c;      /* (T+1, B, H): LSTM cell state, c[0] carried; NULL otherwise */
    float *tc;     /* (T, B, H): LSTM tanh(c[t+1]), kept for backward */
    float *bias;   /* (G*H): b_ih + b_hh (GRU: b_hh only for r, z), summed once per forward */
    float *hn;     /* (T, B, H): GRU only, W_hn h + b_hn */
    float *mask;   /* (T, B, H): dropout mask of this layer's output (0 or 1/(1-p)), or NULL */
    float *out;    /* (T, B, H): this layer's output after dropout; NULL without dropout (the output is h[1..]) */
} layer_acts;

typedef struct model {
    charrnn_model_config cfg;
    int V, H, L, G;          /* vocabulary, hidden, layers, gates per cell */
    int B, T;                /* capacity the activations were sized for */
    size_t num_params;
    float *params, *grads;   /* grads NULL until model_alloc_train */
    param_view views[MAX_PARAM_TENSORS];
    int num_views;
    layer_params p[MAX_LAYERS], g[MAX_LAYERS];
    float *dec_w, *dec_b, *ddec_w, *ddec_b; /* (V, H), (V) */

    /* activations, one allocation */
    float *act_mem;
    size_t act_floats;
    layer_acts a[MAX_LAYERS];
    float *logits;           /* (T, B, V): decoder output */
    float *probs;            /* (T, B, V): softmax; in backward, d logits */
    float *state_h, *state_c;/* (L, B, H): carried between batches */
    float *w0t;              /* (V, G*H): layer 0 input weights transposed, for a row gather */
    float *scratch;          /* (B, G*H): per-step hidden projection (GRU) */
    float *ones;             /* (T*B): for bias gradients as one GEMV */
    /* backward scratch (train only) */
    float *dgates;           /* (T, B, G*H) */
    float *dgates_h;         /* (T, B, G*H): GRU's hidden-side gate gradients */
    float *dseq[2];          /* (T, B, H): gradient into a layer's output, ping-pong */
    float *dh, *dc;          /* (B, H) carried backwards through time */
    const float *dout_cur;   /* backward: the gradient into the current layer's output */
    /* Weights versions. The owner counts every change of its weights
     * (model_weights_changed); a view (model_view) keeps copies derived from the
     * owner's weights (w0t, half) and refreshes them when the owner's count moves,
     * so a sampler opened on a model that is still training sees the current weights. */
    uint64_t weights_version;
    const uint64_t *version_src; /* a view: the owner's weights_version; NULL for an owner */
    int params_frozen;       /* a view: w0t is kept between forwards while the version holds */
    uint16_t *half;          /* optional half-precision copy of params (same offsets): one-row products use it */
    int w0t_ready;
    uint64_t w0t_version, half_version;
    /* bf16 products (model_set_bf16): the weight matrices packed for bf16_gemm, per
     * tensor: [0] op W^T (the forward products), [1] op W (backward's products into
     * the inputs); refreshed when the weights version moves. bact: a packed
     * activation, the right operand of a weight gradient. */
    int bf16, bf16_ready;
    uint64_t bf16_version;
    bf16_mat bw[2][MAX_PARAM_TENSORS];
    bf16_mat bact;
} model;

/* Computes the parameter layout and allocates parameters (zeroed). */
int model_init(model *m, const charrnn_model_config *cfg, int vocab_size, charrnn_error *err);
/* Allocates gradients and activations for up to B streams of T steps; train=0
 * allocates only what evaluation needs (no gradients, no backward scratch). */
int model_alloc(model *m, int B, int T, int train, charrnn_error *err);
void model_free(model *m);
/* A view that shares m's parameters but has its own activations (b streams, t
 * steps, no gradients): for sampling and evaluation beside a live model. */
int model_view(model *view, const model *m, int b, int t, charrnn_error *err);
void model_view_free(model *view);
/* The owner's weights changed (an optimizer step, loaded weights): views refresh. */
void model_weights_changed(model *m);
/* The number of parameters of a config with V symbols, as a double: callers
 * check sizes that come from files or options before anything is allocated. */
double model_param_count(const charrnn_model_config *cfg, int V);
/* Bytes model_alloc would take (for the memory estimate before allocating). */
size_t model_alloc_bytes(const charrnn_model_config *cfg, int V, int B, int T, int train);
/* char-rnn's initialisation: uniform(-0.08, 0.08), LSTM forget-gate input bias 1. */
void model_init_weights(model *m, rng *r);
const param_view *model_find_param(const model *m, const char *name);

/* Zeroes the carried hidden (and cell) state of all b streams. */
void model_reset_state(model *m);

/* Forward over b <= B streams and t <= T steps. x, y: (t, b) vocabulary ids
 * (y may be NULL: then no loss, probs are computed). train: apply dropout with
 * masks drawn from r. Returns the mean cross-entropy in nats (0 if y is NULL);
 * the carried state is advanced to the last step. */
double model_forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r);
/* Backward of the last forward (which must have had y): accumulates (+=) into
 * m->grads. The activations stay as they were. */
void model_backward(model *m, const int32_t *x, const int32_t *y, int b, int t);
void model_zero_grad(model *m);
/* on 1: the matrix products round their operands to bfloat16 and sum in float32
 * (bf16.h); weights, gradients, optimizer and cell math stay float32. An error
 * where the processor has no AVX512-BF16. */
int model_set_bf16(model *m, int on, charrnn_error *err);

#endif
