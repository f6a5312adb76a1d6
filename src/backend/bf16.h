/* bf16.h: matrix products with bfloat16 inputs and float32 accumulation, for
 * mixed-precision training on processors with AVX512-BF16 (Intel Cooper Lake
 * and Sapphire Rapids on, AMD Zen 4 on). Each product rounds its two operands to
 * bf16 (8 bits of mantissa, round to nearest even) and sums the products in
 * float32 with VDPBF16PS, two bf16 pairs a lane, twice the work per instruction
 * of a float32 FMA. Everything else (weights, optimizer, cell math, softmax)
 * stays float32: this module only multiplies.
 *
 * The right operand is packed once into the kernel's layout (bf16_pack): a model
 * packs its weight matrices once per weights version and reuses them for every
 * time step, which is what the per-step h W_hh products need; the left operand
 * is rounded and packed inside the product, a cache-sized block at a time. */
#ifndef CHARRNN_BF16_H
#define CHARRNN_BF16_H

#include <stddef.h>
#include <stdint.h>

/* Whether this processor and build run the bf16 kernels (CPUID and the OS's
 * AVX-512 state; CHARRNN_NO_BF16=1 in the environment says no, for tests). */
int bf16_supported(void);
/* How many times float32's multiply-add rate this processor's bf16 dot products
 * reach, measured once (about 2 ms, on registers: the compute limit of either
 * kind of product); 0 without bf16. Intel's cores up to Sapphire Rapids run
 * VDPBF16PS at half the rate of FMA (about 0.5 here), AMD's Zen 4 at twice it.
 * Shown by `charrnn info`; --precision auto times the run's own products instead
 * (precision.h). */
double bf16_speedup(void);
/* x rounded to bfloat16 (nearest even) and back: what the products see. */
float bf16_round(float x);

/* op(B), K x N, packed: pairs of consecutive k of 32 columns at a time, in
 * blocks of BF16_KC rows of k. */
typedef struct bf16_mat {
    uint16_t *data;
    size_t cap;  /* allocated elements */
    int K, N;
} bf16_mat;

/* Room in p for a packed K x N (and anything smaller): 0, or -1 out of memory. */
int bf16_reserve(bf16_mat *p, int K, int N);
/* Packs op(B) (K x N): trans 0: B is K x N row-major with row stride ld;
 * trans 1: B is stored N x K (op(B) = B^T), row stride ld. Allocates only
 * where bf16_reserve did not make room; returns 0, or -1 out of memory. */
int bf16_pack(bf16_mat *p, const float *B, int ld, int trans, int K, int N);
void bf16_mat_free(bf16_mat *p);

/* C (M x N, row stride ldc) = op(A) B + beta C, op(A) M x K: transA 0: A is
 * M x K (row stride lda); transA 1: A is stored K x M. beta 0 ignores what C
 * held. Large products split across the OpenMP threads (not inside a parallel
 * region); every element of C is summed in the same order whatever the number
 * of threads, so results do not depend on it. Needs bf16_supported(). */
void bf16_gemm(int M, int N, int K, const float *A, int lda, int transA, const bf16_mat *B, float beta, float *C,
               int ldc);

#endif
