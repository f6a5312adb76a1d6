/* bf16.c: bfloat16 matrix products with float32 accumulation (see bf16.h).
 *
 * The classic blocked GEMM: op(B) is packed once into panels of 32 columns by
 * pairs of k (the pair VDPBF16PS multiplies in each float lane), in blocks of
 * BF16_KC k; the product walks tiles of up to MC rows of op(A) x a range of
 * panels, rounding and packing each MC x KC block of op(A) into panels of 8 rows
 * on the stack (32 KB, in L1/L2), and runs an 8 x 32 micro-kernel (16 zmm
 * accumulators, two panel loads and one broadcast per pair of k) over each
 * panel. The kernels are compiled for AVX512-BF16 with target attributes and
 * run only where CPUID says the processor has it, so one build runs anywhere. */
#include "bf16.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_BF16 1
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define HAVE_BF16 0
#endif

enum { KC = 256, MC = 64, MR = 8, NR = 32 };

static int detect(void) {
#if HAVE_BF16
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0; /* the OS saves the SSE, AVX and AVX-512 state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((b >> 16) & 1) || !((b >> 30) & 1) || !((b >> 31) & 1) || a < 1) return 0; /* F, BW, VL */
    __get_cpuid_count(7, 1, &a, &b, &c, &d);
    return (a >> 5) & 1; /* AVX512_BF16 */
#else
    return 0;
#endif
}

int bf16_supported(void) {
    static int cpu = -1;
    if (cpu < 0) cpu = detect();
    const char *no = getenv("CHARRNN_NO_BF16");
    return cpu && !(no && *no && strcmp(no, "0"));
}

#if HAVE_BF16
/* Seconds for n rounds of 16 independent VDPBF16PS (bf16: 1) or VFMADD231PS (0)
 * on zmm registers; written in assembly so that no build (a sanitizer's -O1
 * included) changes what is timed. */
#define R16(op) op " %%zmm1, %%zmm0, %%zmm2\n\t" op " %%zmm1, %%zmm0, %%zmm3\n\t" op " %%zmm1, %%zmm0, %%zmm4\n\t"   \
    op " %%zmm1, %%zmm0, %%zmm5\n\t" op " %%zmm1, %%zmm0, %%zmm6\n\t" op " %%zmm1, %%zmm0, %%zmm7\n\t"               \
    op " %%zmm1, %%zmm0, %%zmm8\n\t" op " %%zmm1, %%zmm0, %%zmm9\n\t" op " %%zmm1, %%zmm0, %%zmm10\n\t"              \
    op " %%zmm1, %%zmm0, %%zmm11\n\t" op " %%zmm1, %%zmm0, %%zmm12\n\t" op " %%zmm1, %%zmm0, %%zmm13\n\t"             \
    op " %%zmm1, %%zmm0, %%zmm14\n\t" op " %%zmm1, %%zmm0, %%zmm15\n\t" op " %%zmm1, %%zmm0, %%zmm16\n\t"             \
    op " %%zmm1, %%zmm0, %%zmm17\n\t"
BF16_TARGET __attribute__((noinline)) static double time_units(int bf16, long n) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (bf16)
        __asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1\n\t"
                         "1:\n\t" R16("vdpbf16ps") "dec %0\n\tjnz 1b"
                         : "+r"(n)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                           "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "cc");
    else
        __asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1\n\t"
                         "1:\n\t" R16("vfmadd231ps") "dec %0\n\tjnz 1b"
                         : "+r"(n)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                           "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "cc");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
}
#endif

double bf16_speedup(void) {
#if HAVE_BF16
    static double ratio = -1;
    if (ratio >= 0) return ratio;
    if (!detect()) return ratio = 0;
    double best16 = 1e30, best32 = 1e30;
    for (int rep = 0; rep < 5; rep++) { /* alternating, best of 5: about 2 ms */
        double t16 = time_units(1, 20000), t32 = time_units(0, 20000);
        if (t16 < best16) best16 = t16;
        if (t32 < best32) best32 = t32;
    }
    return ratio = (64.0 / best16) / (32.0 / best32); /* flops per second, bf16 over float32 */
#else
    return 0;
#endif
}

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    if (!(u & 0x7F800000u)) return (uint16_t)((u >> 16) & 0x8000);           /* subnormals to zero, as VCVTNE2PS2BF16 */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float bf16_round(float x) { return from_bf16(to_bf16(x)); }

/* The two ways operands are rounded into pairs: n contiguous floats into
 * ceil(n/2) pairs, pair j at dst[j * stride] (32-bit units); and two rows of n
 * floats (r1 NULL: zeros) interleaved into n contiguous pairs (n <= 32). */
#if HAVE_BF16
BF16_TARGET static void row_to_pairs(const float *a, int n, int32_t *dst, int stride) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(stride));
    for (int f = 0; f < n; f += 32) {
        const int left = n - f;
        const __mmask16 lo = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
        const __mmask16 hi = left >= 32 ? 0xFFFF : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
        const int pairs = left >= 32 ? 16 : (left + 1) / 2;
        const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, a + f + 16), _mm512_maskz_loadu_ps(lo, a + f));
        _mm512_mask_i32scatter_epi32(dst + (size_t)(f / 2) * stride, (__mmask16)(pairs >= 16 ? 0xFFFF : (1u << pairs) - 1),
                                     idx, (__m512i)v, 4);
    }
}

BF16_TARGET static void rows_to_pairs(const float *r0, const float *r1, int n, uint16_t *dst) {
    static const int16_t order[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i mix = _mm512_loadu_si512(order);
    for (int c = 0; c < n; c += 16) {
        const int left = n - c;
        const __mmask16 m = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
        const __m512 x0 = _mm512_maskz_loadu_ps(m, r0 + c);
        const __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1 + c) : _mm512_setzero_ps();
        const __m512i v = _mm512_permutexvar_epi16(mix, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
        _mm512_mask_storeu_epi32(dst + 2 * c, m, v);
    }
}
#else
static void row_to_pairs(const float *a, int n, int32_t *dst, int stride) {
    for (int j = 0; 2 * j < n; j++) {
        uint16_t p[2] = {to_bf16(a[2 * j]), 2 * j + 1 < n ? to_bf16(a[2 * j + 1]) : 0};
        memcpy(dst + (size_t)j * stride, p, sizeof p);
    }
}

static void rows_to_pairs(const float *r0, const float *r1, int n, uint16_t *dst) {
    for (int c = 0; c < n; c++) {
        dst[2 * c] = to_bf16(r0[c]);
        dst[2 * c + 1] = r1 ? to_bf16(r1[c]) : 0;
    }
}
#endif

/* Where block q (k from q*KC) and panel jp of a packed K x N start. */
static size_t panel_at(int K, int N, int q, int jp) {
    const size_t npad = (size_t)(N + NR - 1) / NR * NR;
    const int k0 = q * KC, kc = K - k0 < KC ? K - k0 : KC, pairs = (kc + 1) / 2;
    return (size_t)k0 * npad + (size_t)jp * pairs * 2 * NR;
}

int bf16_reserve(bf16_mat *p, int K, int N) {
    const size_t need = K > 0 && N > 0 ? panel_at(K, N, (K + KC - 1) / KC - 1, (N + NR - 1) / NR) : 1;
    if (need <= p->cap) return 0;
    uint16_t *d = realloc(p->data, need * sizeof *d);
    if (!d) return -1;
    p->data = d;
    p->cap = need;
    return 0;
}

int bf16_pack(bf16_mat *p, const float *B, int ld, int trans, int K, int N) {
    const int nq = (K + KC - 1) / KC, njp = (N + NR - 1) / NR;
    if (bf16_reserve(p, K, N)) return -1;
    p->K = K;
    p->N = N;
#pragma omp parallel for schedule(static) if ((long)K * N >= 1 << 18)
    for (int q = 0; q < nq; q++) {
        const int k0 = q * KC, kc = K - k0 < KC ? K - k0 : KC, pairs = (kc + 1) / 2;
        for (int jp = 0; jp < njp; jp++) {
            uint16_t *d = p->data + panel_at(K, N, q, jp);
            const int n0 = jp * NR, cols = N - n0 < NR ? N - n0 : NR;
            if (cols < NR) memset(d, 0, sizeof(uint16_t) * 2 * NR * (size_t)pairs);
            if (trans) /* column n of op(B) is row n of B: its k run contiguous */
                for (int c = 0; c < cols; c++)
                    row_to_pairs(B + (size_t)(n0 + c) * ld + k0, kc, (int32_t *)(void *)d + c, NR);
            else       /* rows k, k+1 interleaved */
                for (int j = 0; j < pairs; j++) {
                    const float *r0 = B + (size_t)(k0 + 2 * j) * ld + n0;
                    rows_to_pairs(r0, 2 * j + 1 < kc ? r0 + ld : NULL, cols, d + (size_t)j * 2 * NR);
                }
        }
    }
    return 0;
}

void bf16_mat_free(bf16_mat *p) {
    free(p->data);
    memset(p, 0, sizeof *p);
}

/* Rounds rows [m0, m0+mc) x k [k0, k0+kc) of op(A) into panels of MR rows:
 * panel i, pair j, row r, half h at i*pairs*2*MR + j*2*MR + 2*r + h. */
static void pack_a(uint16_t *dst, const float *A, int lda, int transA, int m0, int mc, int k0, int kc) {
    const int pairs = (kc + 1) / 2, panels = (mc + MR - 1) / MR;
    for (int i = 0; i < panels; i++) {
        uint16_t *d = dst + (size_t)i * pairs * 2 * MR;
        const int rows = mc - i * MR < MR ? mc - i * MR : MR, mi = m0 + i * MR;
        if (rows < MR) memset(d, 0, sizeof(uint16_t) * 2 * MR * (size_t)pairs);
        if (!transA) /* row m's k run is contiguous */
            for (int r = 0; r < rows; r++) row_to_pairs(A + (size_t)(mi + r) * lda + k0, kc, (int32_t *)(void *)d + r, MR);
        else         /* rows k, k+1 of the stored A hold row m's pair */
            for (int j = 0; j < pairs; j++) {
                const float *r0 = A + (size_t)(k0 + 2 * j) * lda + mi;
                rows_to_pairs(r0, 2 * j + 1 < kc ? r0 + lda : NULL, rows, d + (size_t)j * 2 * MR);
            }
    }
}

#if HAVE_BF16
/* rows (<= R) x cols (<= 32) of C (+)= the panel product; first: the first k
 * block, where C is scaled by beta (beta 0: not read). */
BF16_TARGET static inline __attribute__((always_inline)) void kernel(const int R, int pairs, const uint16_t *ap,
                                                                      const uint16_t *bp, float *C, int ldc, int rows,
                                                                      int cols, int first, float beta) {
    __m512 c0[MR], c1[MR];
    for (int r = 0; r < R; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int j = 0; j < pairs; j++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + (size_t)j * 2 * NR);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + (size_t)j * 2 * NR + NR);
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, ap + (size_t)j * 2 * MR + 2 * r, sizeof pair);
            const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
        }
    }
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
    const __m512 vb = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        if (r >= rows) break;
        float *c = C + (size_t)r * ldc;
        __m512 x0 = c0[r], x1 = c1[r];
        if (!first) {
            x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, c));
            x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, c + 16));
        } else if (beta != 0.0f) {
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), x0);
            x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), x1);
        }
        _mm512_mask_storeu_ps(c, m0, x0);
        _mm512_mask_storeu_ps(c + 16, m1, x1);
    }
}

BF16_TARGET static void panel(int pairs, const uint16_t *ap, const uint16_t *bp, float *C, int ldc, int rows,
                              int cols, int first, float beta) {
    if (rows > 4)
        kernel(8, pairs, ap, bp, C, ldc, rows, cols, first, beta);
    else if (rows > 2)
        kernel(4, pairs, ap, bp, C, ldc, rows, cols, first, beta);
    else if (rows == 2)
        kernel(2, pairs, ap, bp, C, ldc, rows, cols, first, beta);
    else
        kernel(1, pairs, ap, bp, C, ldc, rows, cols, first, beta);
}
#else
static void panel(int pairs, const uint16_t *ap, const uint16_t *bp, float *C, int ldc, int rows, int cols,
                  int first, float beta) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float s = 0;
            for (int j = 0; j < pairs; j++)
                for (int h = 0; h < 2; h++)
                    s += from_bf16(ap[j * 2 * MR + 2 * r + h]) * from_bf16(bp[j * 2 * NR + 2 * c + h]);
            float *x = C + (size_t)r * ldc + c;
            *x = first ? (beta != 0.0f ? beta * *x : 0.0f) + s : *x + s;
        }
}
#endif

/* One tile: rows [m0, m0+MC) of C and panels [jp0, jp1), through every k block. */
static void tile(int M, int N, int K, const float *A, int lda, int transA, const bf16_mat *B, float beta, float *C,
                 int ldc, int m0, int jp0, int jp1) {
    uint16_t abuf[MC * KC] __attribute__((aligned(64)));
    const int mc = M - m0 < MC ? M - m0 : MC, nq = (K + KC - 1) / KC;
    for (int q = 0; q < nq; q++) {
        const int k0 = q * KC, kc = K - k0 < KC ? K - k0 : KC, pairs = (kc + 1) / 2;
        pack_a(abuf, A, lda, transA, m0, mc, k0, kc);
        for (int jp = jp0; jp < jp1; jp++) {
            const uint16_t *bp = B->data + panel_at(K, N, q, jp);
            const int cols = N - jp * NR < NR ? N - jp * NR : NR;
            for (int i = 0; i * MR < mc; i++) {
                const int rows = mc - i * MR < MR ? mc - i * MR : MR;
                panel(pairs, abuf + (size_t)i * pairs * 2 * MR, bp, C + (size_t)(m0 + i * MR) * ldc + jp * NR, ldc,
                      rows, cols, q == 0, beta);
            }
        }
    }
}

void bf16_gemm(int M, int N, int K, const float *A, int lda, int transA, const bf16_mat *B, float beta, float *C,
               int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta != 0.0f ? beta * C[(size_t)i * ldc + j] : 0.0f;
        return;
    }
    const int njp = (N + NR - 1) / NR, nic = (M + MC - 1) / MC;
    int nt = 1;
#ifdef _OPENMP
    /* large products, and few rows of a large matrix (sampling: memory-bound, split by columns) */
    if (!omp_in_parallel() && ((double)M * N * K >= 4e6 || (double)N * K >= 1 << 19)) nt = omp_get_max_threads();
#endif
    int njc = 1; /* column ranges: enough tiles for every thread */
    while (nt > 1 && nic * njc < 2 * nt && njc < njp) njc++;
    const int tiles = nic * njc;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int t = 0; t < tiles; t++) {
        const int ic = t / njc, jc = t % njc;
        tile(M, N, K, A, lda, transA, B, beta, C, ldc, ic * MC, (int)((long)njp * jc / njc),
             (int)((long)njp * (jc + 1) / njc));
    }
}
