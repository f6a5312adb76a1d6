/* cuda_backend.h: the CUDA backend's operations (cuda_backend.cu, C++ through
 * nvcc), declared for C so that its table (cuda_table.c) is written in C beside
 * the CPU's. Each is the backend_ops entry of the same name (backend.h). */
#ifndef CHARRNN_CUDA_BACKEND_H
#define CHARRNN_CUDA_BACKEND_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

int cuda_init(model *m, charrnn_error *err);
int cuda_view(model *view, const model *src, charrnn_error *err);
int cuda_alloc(model *m, int B, int T, int train, charrnn_error *err);
void cuda_free(model *m);
size_t cuda_alloc_bytes(const model *m, int B, int T, int train);
int cuda_set_bf16(model *m, int on, charrnn_error *err);
int cuda_use_half(model *m, charrnn_error *err);
double cuda_forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r);
void cuda_backward(model *m, const int32_t *x, const int32_t *y, int b, int t);
void cuda_reset_state(model *m);
void cuda_get_state(const model *m, int l, int j0, int n, float *h, float *c);
void cuda_set_state(model *m, int l, int j0, int n, const float *h, const float *c);
void cuda_step_state(const model *m, int l, int s, int j0, int n, float *h, float *c);
const float *cuda_probs(const model *m, size_t row);
const float *cuda_logits(const model *m, size_t row);
void cuda_set_logits(model *m, size_t row, const float *z);
void cuda_zero_grad(model *m);
void cuda_scale_grad(model *m, float w);
void cuda_sum_grad(model *m, void (*sum)(float *x, size_t n));
double cuda_grad_norm(model *m);
void cuda_clip_grad(model *m, double clip, charrnn_clip_mode mode, double norm);
void cuda_optim_step(model *m, optim *o, double lr);
void cuda_moments_to_host(model *m, optim *o);
void cuda_moments_from_host(model *m, optim *o);
float *cuda_params_host(const model *m);
void cuda_weights_changed(model *m);
const float *cuda_grads_host(const model *m);
int cuda_check(const model *m, charrnn_error *err);

#ifdef __cplusplus
}
#endif

#endif
