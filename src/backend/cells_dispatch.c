/* cells_dispatch.c: for PORTABLE builds (make PORTABLE=1), which must run on
 * any x86-64: cells.c is compiled three times, for the baseline (v1), for AVX2
 * + FMA (v3) and for AVX-512 (v4), and each cell function here forwards to the
 * best one this processor runs, chosen once. Not part of native builds. */
#ifdef CHARRNN_PORTABLE
#include "cells.h"

#define VARIANTS(X, XV, v)                                                                                               \
    XV(v, void, lstm_cell_forward, (float *g, const float *bias, const float *c_prev, float *c, float *tc, float *h,    \
                                   int b, int H), (g, bias, c_prev, c, tc, h, b, H))                                   \
    XV(v, void, lstm_cell_backward, (float *dgates, const float *dh, float *dc, const float *dout, const float *g,      \
                                    const float *c_prev, const float *tc, int b, int H),                               \
      (dgates, dh, dc, dout, g, c_prev, tc, b, H))                                                                     \
    XV(v, void, gru_cell_forward, (float *gx, const float *bias, const float *gh, const float *b_hn,                    \
                                  const float *h_prev, float *hn, float *h, int b, int H),                             \
      (gx, bias, gh, b_hn, h_prev, hn, h, b, H))                                                                       \
    XV(v, void, gru_cell_backward, (float *dgx, float *dgh, float *dh, const float *dout, const float *g,               \
                                   const float *hn, const float *h_prev, int b, int H),                                \
      (dgx, dgh, dh, dout, g, hn, h_prev, b, H))                                                                       \
    XV(v, void, rnn_cell_forward, (const float *g, const float *bias, float *h, int b, int H), (g, bias, h, b, H))      \
    XV(v, void, rnn_cell_backward, (float *dgates, const float *dh, const float *dout, const float *h, int b, int H),   \
      (dgates, dh, dout, h, b, H))                                                                                     \
    X(v, double, softmax_xent_forward, (float *probs, const float *logits, const int32_t *y, size_t rows, int V),      \
      (probs, logits, y, rows, V))                                                                                     \
    XV(v, void, softmax_xent_backward, (float *dlogits, const float *probs, const int32_t *y, size_t rows, int V),      \
      (dlogits, probs, y, rows, V))                                                                                    \
    X(v, float, tempered_exp, (float *q, const float *logits, int V, float temperature), (q, logits, V, temperature))

#define DECLARE(v, ret, name, params, args) ret name##_##v params;
VARIANTS(DECLARE, DECLARE, v1)
VARIANTS(DECLARE, DECLARE, v3)
VARIANTS(DECLARE, DECLARE, v4)

/* 4: AVX-512 (F, BW, DQ, VL: x86-64-v4), 3: AVX2 + FMA (x86-64-v3), 1: anything. */
static int level(void) {
    static int lv;
    if (!lv) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
            lv = 4;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            lv = 3;
        else
            lv = 1;
    }
    return lv;
}

const char *cells_kernel_name(void) {
    return level() == 4 ? "x86-64-v4" : level() == 3 ? "x86-64-v3" : "x86-64";
}

/* The chosen variant, as a function pointer (so void and value-returning
 * functions forward alike). */
#define FORWARD(v, ret, name, params, args)                                                                          \
    ret name params {                                                                                                  \
        ret(*fn) params = level() == 4 ? name##_v4 : level() == 3 ? name##_v3 : name##_v1;                             \
        return fn args;                                                                                                \
    }
#define FORWARD_VOID(v, ret, name, params, args)                                                                     \
    void name params {                                                                                                 \
        void(*fn) params = level() == 4 ? name##_v4 : level() == 3 ? name##_v3 : name##_v1;                            \
        fn args;                                                                                                       \
    }
VARIANTS(FORWARD, FORWARD_VOID, _)
#else
typedef int cells_dispatch_unused; /* an empty translation unit is not ISO C */
#endif
