/* half.c: half-precision weight copies and the matrix-vector product over them
 * (see half.h). Each row is a dot product of 16-wide float lanes, the weights
 * widened from half with one instruction per 16; rows split across threads. */
#include "half.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__F16C__)
#include <immintrin.h>
#define HAVE_HALF 1
#else
#define HAVE_HALF 0
#endif

/* A PORTABLE build compiles this file with AVX-512 enabled and asks the
 * processor at run time; a native build knows at compile time. */
int half_supported(void) {
#if HAVE_HALF && defined(CHARRNN_PORTABLE)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c");
#else
    return HAVE_HALF;
#endif
}

#if HAVE_HALF
void half_from_float(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

void gemv_half(float *y, const uint16_t *W, const float *x, int M, int N, float beta) {
    const int full = N & ~15;
    const __mmask16 tail = (__mmask16)((1u << (N - full)) - 1);
#pragma omp parallel for schedule(static) if ((long)M * N >= 262144)
    for (int i = 0; i < M; i++) {
        const uint16_t *w = W + (size_t)i * N;
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < full; j += 16) {
            __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + j)));
            acc = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + j), acc);
        }
        if (tail) {
            __m512 wv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w + full));
            acc = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(tail, x + full), acc);
        }
        float dot = _mm512_reduce_add_ps(acc);
        y[i] = beta == 0.0f ? dot : dot + beta * y[i];
    }
}
#else
void half_from_float(uint16_t *dst, const float *src, size_t n) { (void)dst; (void)src; (void)n; }
float half_to_float(uint16_t h) { (void)h; return 0.0f; }
void gemv_half(float *y, const uint16_t *W, const float *x, int M, int N, float beta) {
    (void)y; (void)W; (void)x; (void)M; (void)N; (void)beta;
}
#endif
