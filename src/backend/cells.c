/* cells.c: fused elementwise forward and backward of LSTM, GRU and tanh-RNN
 * steps (see cells.h for the formulas). Row-major (b, gates*H) blocks. */
#include "cells.h"

#include <math.h>
#include <stddef.h>

/* A PORTABLE build compiles this file once per instruction-set level with
 * -DCELLS_VARIANT=v1|v3|v4 (names get that suffix) and cells_dispatch.c picks
 * one at run time; otherwise the names are plain, for -march=native. */
#ifdef CELLS_VARIANT
#define CELL_CAT2(a, b) a##_##b
#define CELL_CAT(a, b) CELL_CAT2(a, b)
#define CELL_FN(name) CELL_CAT(name, CELLS_VARIANT)
#else
#define CELL_FN(name) name
#endif

/* glibc's libmvec has vector expf/tanhf, but math.h only declares them under
 * full -ffast-math; this file keeps NaN/Inf semantics (-fno-finite-math-only) and
 * declares them itself so the loops below vectorise. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__FAST_MATH__) && defined(__GLIBC__)
__attribute__((__simd__("notinbranch"))) float expf(float);
__attribute__((__simd__("notinbranch"))) float tanhf(float);
#endif

#ifndef CHARRNN_PORTABLE
const char *cells_kernel_name(void) { return "native"; }
#endif

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Rows are split across the OpenMP threads (the same pool as OpenBLAS's) once a
 * step is big enough to pay for the fork; below that one thread does it all. */
#define PARALLEL_ROWS _Pragma("omp parallel for schedule(static) if ((size_t)b * H >= 1024)")

void CELL_FN(lstm_cell_forward)(float *g, const float *bias, const float *c_prev, float *c, float *tc, float *h, int b, int H) {
    const float *bi = bias, *bf = bias + H, *bg = bias + 2 * H, *bo = bias + 3 * H;
    PARALLEL_ROWS
    for (int r = 0; r < b; r++) {
        float *gi = g + (size_t)r * 4 * H, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        const float *cp = c_prev + (size_t)r * H;
        float *cr = c + (size_t)r * H, *tr = tc + (size_t)r * H, *hr = h + (size_t)r * H;
        _Pragma("omp simd")
        for (int j = 0; j < H; j++) {
            float i = sigmoidf(gi[j] + bi[j]), f = sigmoidf(gf[j] + bf[j]), gt = tanhf(gg[j] + bg[j]),
                  o = sigmoidf(go[j] + bo[j]);
            gi[j] = i; gf[j] = f; gg[j] = gt; go[j] = o;
            float cn = f * cp[j] + i * gt, t = tanhf(cn);
            cr[j] = cn;
            tr[j] = t;
            hr[j] = o * t;
        }
    }
}

void CELL_FN(lstm_cell_backward)(float *dgates, const float *dh, float *dc, const float *dout,
                        const float *g, const float *c_prev, const float *tc, int b, int H) {
    PARALLEL_ROWS
    for (int r = 0; r < b; r++) {
        const float *gi = g + (size_t)r * 4 * H, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        float *di = dgates + (size_t)r * 4 * H, *df = di + H, *dg = di + 2 * H, *dgo = di + 3 * H;
        const float *cp = c_prev + (size_t)r * H, *tr = tc + (size_t)r * H;
        const float *dhr = dh + (size_t)r * H, *dor = dout + (size_t)r * H;
        float *dcr = dc + (size_t)r * H;
        _Pragma("omp simd")
        for (int j = 0; j < H; j++) {
            float i = gi[j], f = gf[j], gt = gg[j], o = go[j];
            float dht = dor[j] + dhr[j];
            float t = tr[j];
            float dct = dcr[j] + dht * o * (1.0f - t * t);
            di[j] = dct * gt * i * (1.0f - i);
            df[j] = dct * cp[j] * f * (1.0f - f);
            dg[j] = dct * i * (1.0f - gt * gt);
            dgo[j] = dht * t * o * (1.0f - o);
            dcr[j] = dct * f;
        }
    }
}

void CELL_FN(gru_cell_forward)(float *gx, const float *bias, const float *gh, const float *b_hn, const float *h_prev,
                      float *hn, float *h, int b, int H) {
    const float *br = bias, *bz = bias + H, *bn = bias + 2 * H;
    PARALLEL_ROWS
    for (int r = 0; r < b; r++) {
        float *xr = gx + (size_t)r * 3 * H, *xz = xr + H, *xn = xr + 2 * H;
        const float *hr_ = gh + (size_t)r * 3 * H, *hz = hr_ + H, *hnn = hr_ + 2 * H;
        const float *hp = h_prev + (size_t)r * H;
        float *hnr = hn + (size_t)r * H, *ho = h + (size_t)r * H;
        _Pragma("omp simd")
        for (int j = 0; j < H; j++) {
            float rg = sigmoidf(xr[j] + br[j] + hr_[j]);
            float z = sigmoidf(xz[j] + bz[j] + hz[j]);
            float hnj = hnn[j] + b_hn[j];
            float n = tanhf(xn[j] + bn[j] + rg * hnj);
            xr[j] = rg; xz[j] = z; xn[j] = n;
            hnr[j] = hnj;
            ho[j] = (1.0f - z) * n + z * hp[j];
        }
    }
}

void CELL_FN(gru_cell_backward)(float *dgx, float *dgh, float *dh, const float *dout, const float *g,
                       const float *hn, const float *h_prev, int b, int H) {
    PARALLEL_ROWS
    for (int r = 0; r < b; r++) {
        const float *gr = g + (size_t)r * 3 * H, *gz = gr + H, *gn = gr + 2 * H;
        float *dxr = dgx + (size_t)r * 3 * H, *dxz = dxr + H, *dxn = dxr + 2 * H;
        float *dhr = dgh + (size_t)r * 3 * H, *dhz = dhr + H, *dhn = dhr + 2 * H;
        const float *hp = h_prev + (size_t)r * H, *hnr = hn + (size_t)r * H, *dor = dout + (size_t)r * H;
        float *dhrow = dh + (size_t)r * H;
        _Pragma("omp simd")
        for (int j = 0; j < H; j++) {
            float rg = gr[j], z = gz[j], n = gn[j];
            float dht = dor[j] + dhrow[j];
            float dn_pre = dht * (1.0f - z) * (1.0f - n * n);
            float dz_pre = dht * (hp[j] - n) * z * (1.0f - z);
            float dr_pre = dn_pre * hnr[j] * rg * (1.0f - rg);
            dxr[j] = dr_pre; dxz[j] = dz_pre; dxn[j] = dn_pre;
            dhr[j] = dr_pre; dhz[j] = dz_pre; dhn[j] = dn_pre * rg;
            dhrow[j] = dht * z;
        }
    }
}

void CELL_FN(rnn_cell_forward)(const float *g, const float *bias, float *h, int b, int H) {
    PARALLEL_ROWS
    for (int r = 0; r < b; r++) {
        const float *gr = g + (size_t)r * H;
        float *hr = h + (size_t)r * H;
        _Pragma("omp simd")
        for (int j = 0; j < H; j++) hr[j] = tanhf(gr[j] + bias[j]);
    }
}

void CELL_FN(rnn_cell_backward)(float *dgates, const float *dh, const float *dout, const float *h, int b, int H) {
    _Pragma("omp simd")
    for (size_t i = 0; i < (size_t)b * H; i++) dgates[i] = (dout[i] + dh[i]) * (1.0f - h[i] * h[i]);
}

double CELL_FN(softmax_xent_forward)(float *probs, const float *logits, const int32_t *y, size_t rows, int V) {
    double loss = 0.0;
    for (size_t row = 0; row < rows; row++) {
        const float *z = logits + row * V;
        float *p = probs + row * V;
        float mx = z[0];
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        float sum = 0.0f;
        _Pragma("omp simd reduction(+:sum)")
        for (int v = 0; v < V; v++) { p[v] = expf(z[v] - mx); sum += p[v]; }
        float inv = 1.0f / sum;
        _Pragma("omp simd")
        for (int v = 0; v < V; v++) p[v] *= inv;
        /* (max - z_y) first: exact for extreme logits, where max + log(sum) would drop the log;
         * volatile, so that -ffast-math cannot reassociate it away */
        if (y) {
            volatile double gap = (double)mx - (double)z[y[row]];
            loss += gap + log((double)sum);
        }
    }
    return loss;
}

void CELL_FN(softmax_xent_backward)(float *dlogits, const float *probs, const int32_t *y, size_t rows, int V) {
    const float scale = 1.0f / (float)rows;
    for (size_t row = 0; row < rows; row++) {
        const float *p = probs + row * V;
        float *d = dlogits + row * V;
        _Pragma("omp simd")
        for (int v = 0; v < V; v++) d[v] = p[v] * scale;
        d[y[row]] -= scale;
    }
}

float CELL_FN(tempered_exp)(float *q, const float *logits, int V, float temperature) {
    float mx = logits[0];
    for (int v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    const float inv_t = 1.0f / temperature;
    float sum = 0.0f;
    _Pragma("omp simd reduction(+:sum)")
    for (int v = 0; v < V; v++) { q[v] = expf((logits[v] - mx) * inv_t); sum += q[v]; }
    return sum;
}
