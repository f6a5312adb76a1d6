/* half.h: weights in IEEE half precision for batch-1 sampling, which streams every
 * weight from memory once per character: half the bytes, about twice the speed on
 * large models, at a relative rounding of 2^-11 per weight. Opt-in (sample --half). */
#ifndef CHARRNN_HALF_H
#define CHARRNN_HALF_H

#include <stddef.h>
#include <stdint.h>

/* Whether this build has the half-precision kernels (x86-64 with AVX-512F and F16C). */
int half_supported(void);
/* dst[i] = src[i] rounded to half precision. */
void half_from_float(uint16_t *dst, const float *src, size_t n);
float half_to_float(uint16_t h);
/* y (M) = W x + beta y, with W (M x N) row-major in half precision, x in float,
 * products accumulated in float. */
void gemv_half(float *y, const uint16_t *W, const float *x, int M, int N, float beta);

#endif
