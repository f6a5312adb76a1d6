/* cuda_table.c: the CUDA backend's tables of operations (backend.h), in C beside
 * the CPU's; the operations are in cuda_backend.cu. Three variants, the same but
 * for their products' arithmetic (cuda_set_variant): float32, TF32 and bf16. */
#include "cuda_backend.h"

#define CUDA_OPS(NAME, BF16)                                                                                           \
    {                                                                                                                  \
        .name = NAME, .bf16 = BF16,                                                                                    \
        .init = cuda_init, .view = cuda_view, .alloc = cuda_alloc, .free = cuda_free, .alloc_bytes = cuda_alloc_bytes, \
        .set_bf16 = cuda_set_bf16, .use_half = cuda_use_half,                                                          \
        .forward = cuda_forward, .backward = cuda_backward,                                                            \
        .reset_state = cuda_reset_state, .get_state = cuda_get_state, .set_state = cuda_set_state,                     \
        .step_state = cuda_step_state, .probs = cuda_probs, .logits = cuda_logits, .set_logits = cuda_set_logits,      \
        .zero_grad = cuda_zero_grad, .scale_grad = cuda_scale_grad, .sum_grad = cuda_sum_grad,                         \
        .grad_norm = cuda_grad_norm, .clip_grad = cuda_clip_grad,                                                      \
        .optim_step = cuda_optim_step, .moments_to_host = cuda_moments_to_host,                                        \
        .moments_from_host = cuda_moments_from_host,                                                                   \
        .params_host = cuda_params_host, .weights_changed = cuda_weights_changed, .grads_host = cuda_grads_host,       \
        .check = cuda_check,                                                                                           \
    }

const backend_ops cuda_fp32_ops = CUDA_OPS("cuda-fp32", 0);
const backend_ops cuda_tf32_ops = CUDA_OPS("cuda-tf32", 0);
const backend_ops cuda_bf16_ops = CUDA_OPS("cuda-bf16", 1);
