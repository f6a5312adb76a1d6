/* cpu_backend.h: the CPU backend's own state, shared by its two files:
 * cpu_backend.c (memory, state, gradients, optimizer, the operation tables) and
 * cpu_passes.c (forward and backward). The variants differ only in their matrix
 * products (cpu_products): float32 through OpenBLAS, or bfloat16 (bf16.h). */
#ifndef CHARRNN_CPU_BACKEND_H
#define CHARRNN_CPU_BACKEND_H

#include "backend.h"
#include "bf16.h"

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

typedef struct cpu_state {
    float *params, *grads;   /* grads NULL until alloc with train */
    int owns_params;         /* 0: a view's, the owner's */
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
    int last_b;              /* the streams of the last forward (its activations' row count per step) */
    int last_dropout;        /* the last forward applied dropout: backward goes through its masks */

    /* copies derived from the weights, refreshed when the weights version moves */
    int w0t_ready;
    uint64_t w0t_version;
    uint16_t *half;          /* optional half-precision copy of params (same offsets): one-row products use it */
    uint64_t half_version;
    /* bf16 products: the weight matrices packed for bf16_gemm, per tensor: [0] op
     * W^T (the forward products), [1] op W (backward's products into the inputs).
     * bact: a packed activation, the right operand of a weight gradient. */
    int bf16_ready;
    uint64_t bf16_version;
    bf16_mat bw[2][MAX_PARAM_TENSORS];
    bf16_mat bact;
} cpu_state;

static inline cpu_state *cpu_of(const model *m) { return (cpu_state *)m->be; }
static inline uint64_t cpu_version(const model *m) { return m->version_src ? *m->version_src : m->weights_version; }

/* A variant's matrix products (W is a weight matrix inside the parameters):
 *   wt: C (M x N) = A (M x K) W^T + beta C, W (N x K): the forward products;
 *   w:  C (M x N) = A (M x K) W + beta C, W (K x N): backward's products into the inputs;
 *   at: C (M x N) += A^T B, A (K x M), B (K x N) an activation: the weight gradients.
 * prepare brings the variant's copies of the weights up to date before a forward;
 * packs_once: W_hh is packed once per pass (so streams split across threads cheaply). */
typedef struct cpu_products {
    void (*prepare)(model *m);
    void (*wt)(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C);
    void (*w)(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C);
    void (*at)(model *m, int M, int N, int K, const float *A, const float *B, float *C);
    int packs_once;
} cpu_products;

extern const cpu_products cpu_fp32_products, cpu_bf16_products;

/* The passes (cpu_passes.c), the same for both variants but for the products. */
double cpu_forward(model *m, const cpu_products *pr, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r);
void cpu_backward(model *m, const cpu_products *pr, const int32_t *x, const int32_t *y, int b, int t);

#endif
