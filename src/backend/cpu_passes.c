/* cpu_passes.c: the CPU backend's forward and backward passes over a stack of
 * LSTM, GRU or tanh-RNN layers with a linear decoder and softmax cross-entropy,
 * and the two variants' matrix products. The per-step elementwise cell math lives
 * in cells.c; here are the large products: the input projection of a whole
 * sequence and every weight gradient are single GEMMs over all T*B rows; only
 * h(t-1) W_hh^T (forward) and dgates W_hh (backward) are per step. */
#include "cells.h"
#include "cpu_backend.h"
#include "half.h"
#include "philox.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>

/* ---- the products of the float32 variant ---- */

/* A single row (sampling, batch 1) is a matrix-vector product, which OpenBLAS
 * does several times faster than a one-row GEMM; with a half-precision copy of
 * the weights, a half one. */
static void wt_fp32(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    const cpu_state *s = cpu_of(m);
    if (M == 1 && s->half)
        gemv_half(C, s->half + (W - s->params), A, N, K, beta);
    else if (M == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, W, K, A, 1, beta, C, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, W, K, beta, C, N);
}

static void w_fp32(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    (void)m;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, W, N, beta, C, N);
}

static void at_fp32(model *m, int M, int N, int K, const float *A, const float *B, float *C) {
    (void)m;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 1.0f, C, N);
}

static void prepare_fp32(model *m) { (void)m; }

const cpu_products cpu_fp32_products = {prepare_fp32, wt_fp32, w_fp32, at_fp32, 0};

/* ---- the products of the bf16 variant ---- */

/* The packed bf16 copy of weight matrix W: op W^T (nn 0) or op W (nn 1). */
static const bf16_mat *packed(const model *m, const float *W, int nn) {
    const cpu_state *s = cpu_of(m);
    const size_t off = (size_t)(W - s->params);
    for (int i = 0; i < m->num_views; i++)
        if (m->views[i].offset == off) return &s->bw[nn][i];
    return NULL;
}

static void wt_bf16(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    const cpu_state *s = cpu_of(m);
    if (M == 1 && s->half)
        gemv_half(C, s->half + (W - s->params), A, N, K, beta);
    else
        bf16_gemm(M, N, K, A, K, 0, packed(m, W, 0), beta, C, N);
}

static void w_bf16(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    bf16_gemm(M, N, K, A, K, 0, packed(m, W, 1), beta, C, N);
}

/* B, an activation, is packed into the room the backend reserved for it */
static void at_bf16(model *m, int M, int N, int K, const float *A, const float *B, float *C) {
    cpu_state *s = cpu_of(m);
    bf16_pack(&s->bact, B, N, 0, K, N);
    bf16_gemm(M, N, K, A, M, 1, &s->bact, 1.0f, C, N);
}

/* Packs the weight matrices (all but layer 0's W_ih, a row gather) once per weights version. */
static void prepare_bf16(model *m) {
    cpu_state *s = cpu_of(m);
    const uint64_t version = cpu_version(m);
    if (s->bf16_ready && s->bf16_version == version) return;
    for (int i = 1; i < m->num_views; i++) {
        const param_view *v = &m->views[i];
        if (v->ndim != 2) continue;
        const float *W = s->params + v->offset;
        const int rows = v->shape[0], cols = v->shape[1];
        bf16_pack(&s->bw[0][i], W, cols, 1, cols, rows);
        if (s->grads) bf16_pack(&s->bw[1][i], W, cols, 0, rows, cols);
    }
    s->bf16_ready = 1;
    s->bf16_version = version;
}

const cpu_products cpu_bf16_products = {prepare_bf16, wt_bf16, w_bf16, at_bf16, 1};

/* ---- the passes ---- */

/* Where layer l's output (the next layer's input) lives for b streams: after
 * dropout, or the hidden states h[1..t] themselves. */
static const float *layer_output(const model *m, int l, int b, int dropout) {
    const cpu_state *s = cpu_of(m);
    return dropout ? s->a[l].out : s->a[l].h + (size_t)b * m->H;
}

/* The recurrence is sequential in time but independent across the b streams:
 * with several threads, each can run its own contiguous block of streams through
 * all t steps (its per-step products single-threaded, its rows staying in its
 * cache) instead of every step forking and joining the pool. But then every
 * thread packs the whole W_hh for every product: that pays only while W_hh is
 * small (measured: 1-3% faster at 2 x 128, up to 4% slower at 2 x 512, where
 * OpenBLAS's own threading of each product wins). */
typedef struct step_args { model *m; const cpu_products *pr; int l, b, t; } step_args;
#define SPLIT_MAX_WHH_BYTES (512 * 1024)

static void by_streams(int b, void (*fn)(const step_args *, int, int), const step_args *args) {
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    if (nt > b / 8) nt = b / 8; /* at least 8 streams a thread, or it does not pay */
    const model *m = args->m;
    if (!args->pr->packs_once && (size_t)m->G * m->H * m->H * sizeof(float) > SPLIT_MAX_WHH_BYTES) nt = 1;
    if (nt > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(nt)
        {
            int id = omp_get_thread_num(), n = omp_get_num_threads();
            int j0 = (int)((long)b * id / n), j1 = (int)((long)b * (id + 1) / n);
            fn(args, j0, j1 - j0);
        }
        return;
    }
#endif
    fn(args, 0, b);
}

/* Forward through time of layer l for streams [j0, j0+nb). */
static void forward_streams(const step_args *sa, int j0, int nb) {
    model *m = sa->m;
    cpu_state *st = cpu_of(m);
    const int l = sa->l, b = sa->b, t = sa->t, H = m->H, GH = m->G * H;
    layer_acts *a = &st->a[l];
    const layer_params *p = &st->p[l];
    const size_t bh = (size_t)b * H, off = (size_t)j0 * H, goff = (size_t)j0 * GH;
    for (int s = 0; s < t; s++) {
        const float *hprev = a->h + s * bh + off;
        float *hnext = a->h + (s + 1) * bh + off;
        float *g = a->gates + (size_t)s * b * GH + goff;
        switch (m->cfg.cell) {
        case CHARRNN_LSTM:
            sa->pr->wt(m, nb, GH, H, hprev, p->w_hh, 1.0f, g);
            lstm_cell_forward(g, a->bias, a->c + s * bh + off, a->c + (s + 1) * bh + off, a->tc + s * bh + off, hnext, nb, H);
            break;
        case CHARRNN_GRU:
            sa->pr->wt(m, nb, GH, H, hprev, p->w_hh, 0.0f, st->scratch + goff);
            gru_cell_forward(g, a->bias, st->scratch + goff, p->b_hh + 2 * H, hprev, a->hn + s * bh + off, hnext, nb, H);
            break;
        case CHARRNN_RNN:
            sa->pr->wt(m, nb, GH, H, hprev, p->w_hh, 1.0f, g);
            rnn_cell_forward(g, a->bias, hnext, nb, H);
            break;
        }
    }
}

/* Backward through time of layer l for streams [j0, j0+nb): dgates (and GRU's
 * hidden-side dgates_h) for every step, from dout (the gradient into the layer's
 * output, in dout_cur). */
static void backward_streams(const step_args *sa, int j0, int nb) {
    model *m = sa->m;
    cpu_state *st = cpu_of(m);
    const int l = sa->l, b = sa->b, t = sa->t, H = m->H, GH = m->G * H;
    layer_acts *a = &st->a[l];
    const layer_params *p = &st->p[l];
    const size_t bh = (size_t)b * H, off = (size_t)j0 * H;
    const float *dout = st->dout_cur;
    float *dh = st->dh + off, *dc = st->dc + off;
    memset(dh, 0, sizeof(float) * (size_t)nb * H);
    memset(dc, 0, sizeof(float) * (size_t)nb * H);
    float *dgh = m->cfg.cell == CHARRNN_GRU ? st->dgates_h : st->dgates;
    for (int s = t - 1; s >= 0; s--) {
        const size_t goff = (size_t)s * b * GH + (size_t)j0 * GH;
        switch (m->cfg.cell) {
        case CHARRNN_LSTM:
            lstm_cell_backward(st->dgates + goff, dh, dc, dout + s * bh + off, a->gates + goff, a->c + s * bh + off,
                               a->tc + s * bh + off, nb, H);
            break;
        case CHARRNN_GRU:
            gru_cell_backward(st->dgates + goff, st->dgates_h + goff, dh, dout + s * bh + off, a->gates + goff,
                              a->hn + s * bh + off, a->h + s * bh + off, nb, H);
            break;
        case CHARRNN_RNN:
            rnn_cell_backward(st->dgates + goff, dh, dout + s * bh + off, a->h + (s + 1) * bh + off, nb, H);
            break;
        }
        /* dh(t-1) = dgates_h W_hh (+ the direct path GRU put in dh already) */
        float beta = m->cfg.cell == CHARRNN_GRU ? 1.0f : 0.0f;
        if (s > 0) sa->pr->w(m, nb, H, GH, dgh + goff, p->w_hh, beta, dh);
    }
}

double cpu_forward(model *m, const cpu_products *pr, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r) {
    cpu_state *st = cpu_of(m);
    const int H = m->H, GH = m->G * H, V = m->V;
    const size_t TB = (size_t)t * b;
    const int dropout = train && m->cfg.dropout > 0;
    const float keep = 1.0f - m->cfg.dropout, scale = dropout ? 1.0f / keep : 1.0f;
    st->last_dropout = dropout;
    const uint64_t key = dropout ? dropout_key(r) : 0; /* one draw per forward: the masks' key */

    /* layer 0's input projection is a row gather of W_ih^T (one-hot input) */
    const uint64_t version = cpu_version(m);
    if (!(m->params_frozen && st->w0t_ready && st->w0t_version == version)) {
        const float *w0 = st->p[0].w_ih;
        for (int j = 0; j < GH; j++)
            for (int v = 0; v < V; v++) st->w0t[(size_t)v * GH + j] = w0[(size_t)j * V + v];
        st->w0t_ready = 1;
        st->w0t_version = version;
    }
    if (st->half && st->half_version != version) {
        half_from_float(st->half, st->params, m->num_params);
        st->half_version = version;
    }
    pr->prepare(m);
    st->last_b = b;

    for (int l = 0; l < m->L; l++) {
        layer_acts *a = &st->a[l];
        const layer_params *p = &st->p[l];
        /* gates = input W_ih^T + b_ih (+ b_hh except GRU's n block, which r gates) */
        if (l == 0) {
#pragma omp parallel for schedule(static) if (TB * GH >= 65536)
            for (size_t row = 0; row < TB; row++)
                memcpy(a->gates + row * GH, st->w0t + (size_t)x[row] * GH, sizeof(float) * GH);
        } else {
            pr->wt(m, (int)TB, GH, H, layer_output(m, l - 1, b, dropout), p->w_ih, 0.0f, a->gates);
        }
        const int nb_hh = m->cfg.cell == CHARRNN_GRU ? 2 * H : GH; /* GRU's b_hn sits inside r * (.) */
        for (int j = 0; j < GH; j++) a->bias[j] = p->b_ih[j] + (j < nb_hh ? p->b_hh[j] : 0.0f);
        memcpy(a->h, st->state_h + (size_t)l * m->B * H, sizeof(float) * (size_t)b * H);
        if (a->c) memcpy(a->c, st->state_c + (size_t)l * m->B * H, sizeof(float) * (size_t)b * H);
        by_streams(b, forward_streams, &(step_args){m, pr, l, b, t});
        memcpy(st->state_h + (size_t)l * m->B * H, a->h + (size_t)t * b * H, sizeof(float) * (size_t)b * H);
        if (a->c) memcpy(st->state_c + (size_t)l * m->B * H, a->c + (size_t)t * b * H, sizeof(float) * (size_t)b * H);
        if (dropout) { /* the masks from Philox (philox.h), as the GPU draws them */
            const float *h = a->h + (size_t)b * H;
            const size_t n = TB * H, quads = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n >= 262144)
            for (size_t q = 0; q < quads; q++) {
                float mk[4];
                dropout_mask4(key, l, q, keep, scale, mk);
                for (size_t i = 4 * q; i < 4 * q + 4 && i < n; i++) {
                    a->mask[i] = mk[i - 4 * q];
                    a->out[i] = h[i] * a->mask[i];
                }
            }
        }
    }

    /* decoder and softmax over all t*b rows at once */
    float *logits = st->logits;
    for (size_t row = 0; row < TB; row++) memcpy(logits + row * V, st->dec_b, sizeof(float) * V);
    pr->wt(m, (int)TB, V, H, layer_output(m, m->L - 1, b, dropout), st->dec_w, 1.0f, logits);
    double loss = softmax_xent_forward(st->probs, logits, y, TB, V);
    return y ? loss / (double)TB : 0.0;
}

void cpu_backward(model *m, const cpu_products *pr, const int32_t *x, const int32_t *y, int b, int t) {
    cpu_state *st = cpu_of(m);
    const int H = m->H, GH = m->G * H, V = m->V, L = m->L;
    const size_t TB = (size_t)t * b;
    const int dropout = st->last_dropout; /* as the forward it differentiates, not as memory was planned */

    /* d logits = (softmax - onehot(y)) / (t*b), in place of probs */
    float *dlogits = st->probs;
    softmax_xent_backward(dlogits, st->probs, y, TB, V);
    const float *top = layer_output(m, L - 1, b, dropout);
    pr->at(m, V, H, (int)TB, dlogits, top, st->ddec_w);
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)TB, V, 1.0f, dlogits, V, st->ones, 1, 1.0f, st->ddec_b, 1);
    float *dout = st->dseq[0];
    pr->w(m, (int)TB, H, V, dlogits, st->dec_w, 0.0f, dout);

    for (int l = L - 1; l >= 0; l--) {
        layer_acts *a = &st->a[l];
        const layer_params *p = &st->p[l];
        layer_params *g = &st->g[l];
        if (dropout)
            for (size_t i = 0; i < TB * H; i++) dout[i] *= a->mask[i];
        st->dout_cur = dout;
        by_streams(b, backward_streams, &(step_args){m, pr, l, b, t});
        float *dgh = m->cfg.cell == CHARRNN_GRU ? st->dgates_h : st->dgates;
        /* weight gradients: one GEMM each over all t*b rows */
        pr->at(m, GH, H, (int)TB, dgh, a->h, g->w_hh);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)TB, GH, 1.0f, st->dgates, GH, st->ones, 1, 1.0f, g->b_ih, 1);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)TB, GH, 1.0f, dgh, GH, st->ones, 1, 1.0f, g->b_hh, 1);
        if (l == 0) {
            /* one-hot input: dW_ih[:, x] += dgates row, accumulated transposed (rows
             * contiguous) in the w0t buffer, which forward recomputes anyway */
            float *dw0t = st->w0t;
            memset(dw0t, 0, sizeof(float) * (size_t)V * GH);
            /* threads own disjoint column ranges, so rows with the same x never race */
#pragma omp parallel if (TB * GH >= 65536)
            {
                int j0 = 0, j1 = GH;
#ifdef _OPENMP
                int id = omp_get_thread_num(), n = omp_get_num_threads();
                j0 = (int)((long)GH * id / n);
                j1 = (int)((long)GH * (id + 1) / n);
#endif
                for (size_t row = 0; row < TB; row++) {
                    const float *dx = st->dgates + row * GH;
                    float *d = dw0t + (size_t)x[row] * GH;
                    for (int j = j0; j < j1; j++) d[j] += dx[j];
                }
            }
            for (int j = 0; j < GH; j++)
                for (int v = 0; v < V; v++) g->w_ih[(size_t)j * V + v] += dw0t[(size_t)v * GH + j];
            st->w0t_ready = 0;
        } else {
            const float *in = layer_output(m, l - 1, b, dropout);
            pr->at(m, GH, H, (int)TB, st->dgates, in, g->w_ih);
            float *dnext = st->dseq[(L - l) & 1];
            pr->w(m, (int)TB, H, GH, st->dgates, p->w_ih, 0.0f, dnext);
            dout = dnext;
        }
    }
}
