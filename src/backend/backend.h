/* backend.h: the seam between the network and where its arithmetic runs. The
 * network (model) is described here the same for every backend: its shape and
 * its parameters' layout in PyTorch's names (model.c fills it). A backend owns
 * everything else: the parameters, gradients, activations and carried state, in
 * whatever memory it computes in, and offers the table of operations below, each
 * at the level of a whole pass over the network (a device pays one launch per
 * operation, never one per small product). Nothing outside the model reaches a
 * backend's memory except through these operations: host arrays in, host arrays
 * out. The CPU backend (cpu_backend.c, in a float32 and a bfloat16 variant) is
 * one such table. */
#ifndef CHARRNN_BACKEND_H
#define CHARRNN_BACKEND_H

#include "charrnn.h"
#include "defaults.h"
#include "optim.h"
#include "rng.h"
#include <stddef.h>
#include <stdint.h>

#define MAX_PARAM_TENSORS (4 * MAX_LAYERS + 2)

typedef struct param_view {
    char name[32];     /* PyTorch name, e.g. "weight_ih_l0", "decoder.weight" */
    int ndim;
    int shape[2];
    size_t offset;     /* into the flat parameters / gradients, in floats */
    size_t size;       /* floats */
} param_view;

typedef struct backend_ops backend_ops;

typedef struct model {
    charrnn_model_config cfg;
    int V, H, L, G;          /* vocabulary, hidden, layers, gates per cell */
    int B, T;                /* capacity the activations were sized for (0 before model_alloc) */
    size_t num_params;
    param_view views[MAX_PARAM_TENSORS]; /* per layer w_ih, w_hh, b_ih, b_hh; then decoder weight, bias */
    int num_views;
    int train;               /* gradients and backward's memory were allocated */
    /* Weights versions. The owner counts every change of its weights
     * (model_weights_changed); a view (model_view) keeps copies derived from the
     * owner's weights and refreshes them when the owner's count moves, so a
     * sampler opened on a model that is still training sees the current weights. */
    uint64_t weights_version;
    const uint64_t *version_src; /* a view: the owner's weights_version; NULL for an owner */
    int params_frozen;       /* a view: derived copies are kept between forwards while the version holds */
    const backend_ops *ops;  /* where the arithmetic runs */
    int gpu;                 /* a CUDA backend's device, cuda:gpu (model_device; unused on the CPU) */
    void *be;                /* the backend's own state */
} model;

/* The operations of a backend. model.h says what each model_* function that
 * dispatches to one does; host arrays are the caller's, in float32. */
struct backend_ops {
    const char *name;        /* "cpu-fp32", "cpu-bf16", "cuda-fp32", "cuda-tf32", "cuda-bf16" */
    int bf16;                /* the products round their operands to bfloat16 */
    /* Memory. init: zeroed parameters for m's layout. view: a state that shares
     * src's parameters (read only) and has nothing else yet. alloc: activations
     * for B streams of T steps, and with train the gradients and backward's
     * memory (replacing what was allocated). free: all of it. */
    int (*init)(model *m, charrnn_error *err);
    int (*view)(model *view, const model *src, charrnn_error *err);
    int (*alloc)(model *m, int B, int T, int train, charrnn_error *err);
    void (*free)(model *m);
    /* The bytes init and alloc would take for m's layout (the estimate before allocating). */
    size_t (*alloc_bytes)(const model *m, int B, int T, int train);
    /* The variant of this backend whose products are bf16 (on) or float32. */
    int (*set_bf16)(model *m, int on, charrnn_error *err);
    /* One-row products from a half-precision copy of the weights (sampling). */
    int (*use_half)(model *m, charrnn_error *err);
    /* The passes. */
    double (*forward)(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r);
    void (*backward)(model *m, const int32_t *x, const int32_t *y, int b, int t);
    /* The carried state of layer l, streams [j0, j0 + n): h and c as (n, H); c may be NULL. */
    void (*reset_state)(model *m);
    void (*get_state)(const model *m, int l, int j0, int n, float *h, float *c);
    void (*set_state)(model *m, int l, int j0, int n, const float *h, const float *c);
    /* Layer l's h and c after step s of the last forward, streams [j0, j0 + n). */
    void (*step_state)(const model *m, int l, int s, int j0, int n, float *h, float *c);
    /* Row `row` (step * b + stream) of the last forward's outputs (V floats), and
     * new logits for a row, whose probabilities follow. */
    const float *(*probs)(const model *m, size_t row);
    const float *(*logits)(const model *m, size_t row);
    void (*set_logits)(model *m, size_t row, const float *z);
    /* Gradients. sum: sum(x, n) adds x over the processes in place (the allreduce). */
    void (*zero_grad)(model *m);
    void (*scale_grad)(model *m, float w);
    void (*sum_grad)(model *m, void (*sum)(float *x, size_t n));
    double (*grad_norm)(model *m);
    void (*clip_grad)(model *m, double clip, charrnn_clip_mode mode, double norm);
    /* The optimizer's update of the parameters from the gradients; its moments
     * stay with the backend between moments_to_host and moments_from_host (o's
     * arrays are the host copy). */
    void (*optim_step)(model *m, optim *o, double lr);
    void (*moments_to_host)(model *m, optim *o);
    void (*moments_from_host)(model *m, optim *o);
    /* Host copies: the parameters (writable; weights_changed takes what was
     * written) and the gradients. */
    float *(*params_host)(const model *m);
    void (*weights_changed)(model *m);
    const float *(*grads_host)(const model *m);
    /* The first failure of an operation that returns nothing (a device's error):
     * CHARRNN_OK, or its code with err filled. NULL: this backend cannot fail so. */
    int (*check)(const model *m, charrnn_error *err);
};

/* The CPU backend: float32 products (OpenBLAS), and bfloat16 products where the
 * processor has AVX512-BF16. */
extern const backend_ops cpu_fp32_ops, cpu_bf16_ops;

/* The CUDA backend (src/backend/cuda, in a build with make CUDA=1) on device
 * `cuda_select_device` chose, in three variants whose weights, gradients,
 * optimizer moments, cell math and loss are all float32 and whose products are
 * float32 (TF32 off: the CPU's numbers), TF32 or bf16 (tensor cores, summed in
 * float32). A model arrives on cuda-fp32 (model_use_cuda); cuda_set_variant
 * switches it among the three (set_bf16 between fp32 and bf16). cuda_device_count:
 * the GPUs this process sees, 0 where there is no driver or device (never an error). */
extern const backend_ops cuda_fp32_ops, cuda_tf32_ops, cuda_bf16_ops;
int cuda_device_count(void);
int cuda_select_device(int device, charrnn_error *err);
/* GPU `device` in words (cuda_info.c, 0 on success, -1 where it cannot be asked):
 * CUDA_NAME "NVIDIA H200"; CUDA_SUMMARY "NVIDIA H200, sm_90, 139.8 GB"; CUDA_BUILD
 * what decides its float results besides the model: "NVIDIA H200 sm_90, CUDA
 * runtime 13.0, driver 13.0, cuBLAS 13.1.0" (a compressed file records it). */
typedef enum { CUDA_NAME, CUDA_SUMMARY, CUDA_BUILD } cuda_what;
int cuda_describe(int device, cuda_what what, char *out, size_t cap);
int cuda_set_variant(model *m, const backend_ops *variant, charrnn_error *err);

#endif
