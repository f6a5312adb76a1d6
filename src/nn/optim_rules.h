/* optim_rules.h: the optimizers' update of one element, shared by the CPU's loops
 * (optim.c) and the GPU's kernels (src/backend/cuda): the same float operations
 * in the same order, so both backends step alike. Plain C that nvcc compiles for
 * the device too. Each operation is spelled out (OR_ADD, OR_MUL...): on the
 * device they are the round-to-nearest intrinsics, which nvcc never fuses into a
 * multiply-add, as the CPU's ISO C (-std=c17: no contraction) never does either.
 * The per-step scalars (learning rate, Adam's bias corrections) are computed once
 * on the host in double (optim_coefs, optim.c) and handed to both. */
#ifndef CHARRNN_OPTIM_RULES_H
#define CHARRNN_OPTIM_RULES_H

#include <math.h>

#ifdef __CUDACC__
#define OPTIM_FN __host__ __device__ static inline
#else
#define OPTIM_FN static inline
#endif

#ifdef __CUDA_ARCH__
#define OR_ADD(a, b) __fadd_rn(a, b)
#define OR_SUB(a, b) __fsub_rn(a, b)
#define OR_MUL(a, b) __fmul_rn(a, b)
#define OR_DIV(a, b) __fdiv_rn(a, b)
#define OR_SQRT(a) __fsqrt_rn(a)
#else
#define OR_ADD(a, b) ((a) + (b))
#define OR_SUB(a, b) ((a) - (b))
#define OR_MUL(a, b) ((a) * (b))
#define OR_DIV(a, b) ((a) / (b))
#define OR_SQRT(a) sqrtf(a)
#endif

/* One step's scalars, as floats. */
typedef struct optim_coefs {
    float lr, eps;
    float a, b;               /* RMSProp: alpha and 1 - alpha */
    float b1, b2;             /* Adam: beta1, beta2 */
    float step_size, sqrt_bc2;/* Adam: lr / (1 - beta1^t), sqrt(1 - beta2^t) */
    float keep;               /* weight decay: 1 - lr weight_decay */
} optim_coefs;

/* Decoupled weight decay (PyTorch's AdamW: p *= 1 - lr wd), on the weight
 * matrices, before the optimizer's own update of the same step */
OPTIM_FN void decay_rule(const optim_coefs *k, float *p) { *p = OR_MUL(*p, k->keep); }

/* RMSProp: m1 = a m1 + b g g; p -= lr g / (sqrt(m1) + eps) */
OPTIM_FN void rmsprop_rule(const optim_coefs *k, float *p, float *m1, float g) {
    *m1 = OR_ADD(OR_MUL(k->a, *m1), OR_MUL(OR_MUL(k->b, g), g));
    *p = OR_SUB(*p, OR_DIV(OR_MUL(k->lr, g), OR_ADD(OR_SQRT(*m1), k->eps)));
}

/* Adam: m1 = b1 m1 + (1 - b1) g; m2 = b2 m2 + (1 - b2) g g;
 * p -= step_size m1 / (sqrt(m2) / sqrt_bc2 + eps) */
OPTIM_FN void adam_rule(const optim_coefs *k, float *p, float *m1, float *m2, float g) {
    *m1 = OR_ADD(OR_MUL(k->b1, *m1), OR_MUL(OR_SUB(1.0f, k->b1), g));
    *m2 = OR_ADD(OR_MUL(k->b2, *m2), OR_MUL(OR_MUL(OR_SUB(1.0f, k->b2), g), g));
    *p = OR_SUB(*p, OR_DIV(OR_MUL(k->step_size, *m1), OR_ADD(OR_DIV(OR_SQRT(*m2), k->sqrt_bc2), k->eps)));
}

/* Adagrad: m1 += g g; p -= lr g / (sqrt(m1) + eps) */
OPTIM_FN void adagrad_rule(const optim_coefs *k, float *p, float *m1, float g) {
    *m1 = OR_ADD(*m1, OR_MUL(g, g));
    *p = OR_SUB(*p, OR_DIV(OR_MUL(k->lr, g), OR_ADD(OR_SQRT(*m1), k->eps)));
}

/* SGD: p -= lr g */
OPTIM_FN void sgd_rule(const optim_coefs *k, float *p, float g) { *p = OR_SUB(*p, OR_MUL(k->lr, g)); }

/* Clipping, element-wise to [-c, c] */
OPTIM_FN float clip_value_rule(float g, float c) { return g > c ? c : g < -c ? -c : g; }

/* Clipping by norm: the factor (PyTorch's clip_grad_norm_), applied where below 1 */
OPTIM_FN double clip_norm_coef(double clip, double norm) { return clip / (norm + 1e-6); }

#endif
