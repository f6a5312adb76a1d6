/* model.h: the network: its parameters in PyTorch's names, shapes and gate order
 * (one flat array, gradients alike), activations for (T, B) sized once, and the
 * forward and backward passes of the stacked cells plus decoder and softmax loss.
 * model.c describes the network (layout, sizes, initialisation) and hands every
 * pass and every touch of the network's memory to its backend (backend.h), the
 * CPU's unless told otherwise; callers use only the functions below, never the
 * backend's memory. Activations are time-major: row = step * b + stream. */
#ifndef CHARRNN_MODEL_H
#define CHARRNN_MODEL_H

#include "backend.h"
#include "charrnn.h"
#include "optim.h"
#include "rng.h"
#include <stddef.h>
#include <stdint.h>

/* ---- the network: layout, memory, versions ---- */

/* Computes the parameter layout and allocates parameters (zeroed), on the CPU backend. */
int model_init(model *m, const charrnn_model_config *cfg, int vocab_size, charrnn_error *err);
/* Allocates gradients and activations for up to B streams of T steps; train=0
 * allocates only what evaluation needs (no gradients, no backward scratch). */
int model_alloc(model *m, int B, int T, int train, charrnn_error *err);
void model_free(model *m);
/* A view that shares m's parameters but has its own activations (b streams, t
 * steps, no gradients): for sampling and evaluation beside a live model. */
int model_view(model *view, const model *m, int b, int t, charrnn_error *err);
void model_view_free(model *view);
/* The owner's weights changed (an optimizer step, weights written through
 * model_params): the backend takes them, views refresh. */
void model_weights_changed(model *m);
/* The number of parameters of a config with V symbols, as a double: callers
 * check sizes that come from files or options before anything is allocated. */
double model_param_count(const charrnn_model_config *cfg, int V);
/* Bytes model_init and model_alloc would take (for the memory estimate before allocating). */
size_t model_alloc_bytes(const charrnn_model_config *cfg, int V, int B, int T, int train);
/* char-rnn's initialisation: uniform(-0.08, 0.08), LSTM forget-gate input bias 1. */
void model_init_weights(model *m, rng *r);
const param_view *model_find_param(const model *m, const char *name);
/* The backend's name ("cpu-fp32", "cpu-bf16"). */
const char *model_backend_name(const model *m);

/* on 1: the matrix products round their operands to bfloat16 and sum in float32
 * (bf16.h); weights, gradients, optimizer and cell math stay float32. An error
 * where the processor has no AVX512-BF16. */
int model_set_bf16(model *m, int on, charrnn_error *err);
int model_bf16(const model *m);
/* TF32 products on a GPU (the cuda-tf32 variant; off: cuda-fp32); on the CPU an error. */
int model_set_tf32(model *m, int on, charrnn_error *err);
int model_tf32(const model *m);
/* One-row products (sampling) from a half-precision copy of the weights (half.h);
 * an error where this build or processor has no half kernels. */
int model_use_half(model *m, charrnn_error *err);

/* Whether this build has the CUDA backend (make CUDA=1). */
int model_cuda_built(void);
/* The GPUs this build and machine can use (0 without a CUDA build, driver or device). */
int model_cuda_devices(void);
/* Moves m (an owner, not a view) onto the CUDA backend on GPU `device`: its
 * parameters, carried state and activations' size go along. An error (m stays
 * where it was) in a build without CUDA (make CUDA=1) or without that GPU. */
int model_use_cuda(model *m, int device, charrnn_error *err);
/* Moves m (an owner) back onto the CPU backend (float32), as model_use_cuda moves
 * it there; nothing to do on the CPU. */
int model_use_cpu(model *m, charrnn_error *err);
/* The GPU m (or the owner of view m) computes on, cuda:N, or -1 on the CPU. */
int model_device(const model *m);
/* GPU `device` in words into out (what: 0 its name, 1 a summary with its memory,
 * 2 what decides its float results: GPU, CUDA runtime and driver, cuBLAS); -1 and
 * "" in a build without CUDA or without that GPU. */
int model_cuda_describe(int device, int what, char *out, size_t cap);
/* The first failure of a device operation since m moved there (the passes and the
 * other operations return no code; a failed one leaves NaN and is recorded here):
 * CHARRNN_OK, or the error's code with err filled. */
int model_check(const model *m, charrnn_error *err);

/* ---- the passes ---- */

/* Forward over b <= B streams and t <= T steps. x, y: (t, b) vocabulary ids
 * (y may be NULL: then no loss, probs are computed). train: apply dropout with
 * masks drawn from r. Returns the mean cross-entropy in nats (0 if y is NULL);
 * the carried state is advanced to the last step. */
double model_forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r);
/* Backward of the last forward (which must have had y): accumulates (+=) into
 * the gradients. The activations stay as they were, but for the probabilities. */
void model_backward(model *m, const int32_t *x, const int32_t *y, int b, int t);

/* ---- the carried state and the outputs, through host arrays ---- */

/* Zeroes the carried hidden (and cell) state of all streams. */
void model_reset_state(model *m);
/* Layer l's carried state of streams [j0, j0 + n): h and c as (n, H) each; c
 * may be NULL (a cell without one: c is carried but unused). */
void model_get_state(const model *m, int l, int j0, int n, float *h, float *c);
void model_set_state(model *m, int l, int j0, int n, const float *h, const float *c);
/* Layer l's h and c (as model_get_state) after step s < t of the last forward. */
void model_step_state(const model *m, int l, int s, int j0, int n, float *h, float *c);
/* All layers at once: h and c as (L, n, H). */
void model_get_states(const model *m, int j0, int n, float *h, float *c);
void model_set_states(model *m, int j0, int n, const float *h, const float *c);
/* Row `row` of the last forward's probabilities / logits (V floats, valid until
 * the next pass), and new logits for a row, whose probabilities follow. */
const float *model_probs(const model *m, size_t row);
const float *model_logits(const model *m, size_t row);
void model_set_logits(model *m, size_t row, const float *z);

/* ---- gradients and the optimizer ---- */

void model_zero_grad(model *m);
void model_scale_grad(model *m, float w);
/* sum(x, n) adds x over the processes in place: the gradients' allreduce. */
void model_sum_grad(model *m, void (*sum)(float *x, size_t n));
/* Global L2 norm of the gradients; clipping as grad_clip (optim.h). */
double model_grad_norm(model *m);
void model_clip_grad(model *m, double clip, charrnn_clip_mode mode, double norm);
/* One optimizer update from the gradients (the weights change: views refresh). */
void model_optim_step(model *m, optim *o, double lr);
/* The optimizer's moments, o->m1 and o->m2, to and from the backend's copies. */
void model_moments_to_host(model *m, optim *o);
void model_moments_from_host(model *m, optim *o);

/* ---- host copies ---- */

/* The parameters, num_params floats in the layout's order (the views' offsets):
 * read them, or write them and then call model_weights_changed. */
float *model_params(const model *m);
/* The gradients (num_params floats; NULL before model_alloc with train). */
const float *model_grads(const model *m);

#endif
