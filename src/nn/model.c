/* model.c: parameter layout, memory plan, and the forward / backward passes of a
 * stack of LSTM, GRU or tanh-RNN layers with a linear decoder and softmax
 * cross-entropy. The per-step elementwise cell math lives in cells.c; here are the
 * large products: the input projection of a whole sequence and every weight
 * gradient are single GEMMs over all T*B rows; only h(t-1) W_hh^T (forward) and
 * dgates W_hh (backward) are per step. */
#include "model.h"
#include "cells.h"
#include "common.h"
#include "half.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The packed bf16 copy of weight matrix W: op W^T (nn 0) or op W (nn 1). */
static const bf16_mat *packed(const model *m, const float *W, int nn) {
    const size_t off = (size_t)(W - m->params);
    for (int i = 0; i < m->num_views; i++)
        if (m->views[i].offset == off) return &m->bw[nn][i];
    return NULL;
}

/* C (M x N) = A (M x K) W^T + beta C, with W (N x K) row-major: the forward
 * products. A single row (sampling, batch 1) is a matrix-vector product, which
 * OpenBLAS does several times faster than a one-row GEMM. */
static void matmul_wt(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    if (m->bf16 && !(M == 1 && m->half))
        bf16_gemm(M, N, K, A, K, 0, packed(m, W, 0), beta, C, N);
    else if (M == 1 && m->half)
        gemv_half(C, m->half + (W - m->params), A, N, K, beta);
    else if (M == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, W, K, A, 1, beta, C, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, W, K, beta, C, N);
}

/* C (M x N) = A (M x K) W + beta C, W (K x N) row-major: backward's products into the inputs. */
static void matmul_w(const model *m, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    if (m->bf16)
        bf16_gemm(M, N, K, A, K, 0, packed(m, W, 1), beta, C, N);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, W, N, beta, C, N);
}

/* C (M x N) += A^T B, A (K x M) and B (K x N) row-major: the weight gradients, summed over K = t*b rows
 * (B, an activation, packed into the room reserve_packed made). */
static void matmul_at(model *m, int M, int N, int K, const float *A, const float *B, float *C) {
    if (m->bf16) {
        bf16_pack(&m->bact, B, N, 0, K, N);
        bf16_gemm(M, N, K, A, M, 1, &m->bact, 1.0f, C, N);
    } else {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 1.0f, C, N);
    }
}

/* The bf16 products' buffers, allocated with the activations (never in the training loop): each
 * weight matrix packed both ways (backward's way only when training), and the activation operand
 * of a weight gradient (t*b x H). Layer 0's W_ih is a row gather, never a product. */
static int reserve_packed(model *m) {
    for (int i = 1; i < m->num_views; i++) {
        const param_view *v = &m->views[i];
        if (v->ndim != 2) continue;
        if (bf16_reserve(&m->bw[0][i], v->shape[1], v->shape[0])) return -1;
        if (m->grads && bf16_reserve(&m->bw[1][i], v->shape[0], v->shape[1])) return -1;
    }
    return m->grads ? bf16_reserve(&m->bact, m->T * m->B, m->H) : 0;
}

/* Packs the weight matrices for the bf16 products, into the room reserve_packed made. */
static void pack_weights(model *m) {
    for (int i = 1; i < m->num_views; i++) {
        const param_view *v = &m->views[i];
        if (v->ndim != 2) continue;
        const float *W = m->params + v->offset;
        const int rows = v->shape[0], cols = v->shape[1];
        bf16_pack(&m->bw[0][i], W, cols, 1, cols, rows);
        if (m->grads) bf16_pack(&m->bw[1][i], W, cols, 0, rows, cols);
    }
}

static void free_packed(model *m) {
    for (int i = 0; i < MAX_PARAM_TENSORS; i++) {
        bf16_mat_free(&m->bw[0][i]);
        bf16_mat_free(&m->bw[1][i]);
    }
    bf16_mat_free(&m->bact);
    m->bf16_ready = 0;
}

int model_set_bf16(model *m, int on, charrnn_error *err) {
    if (on && !bf16_supported())
        return cr_fail(err, CHARRNN_EINVAL, "--precision bf16 needs a processor with AVX512-BF16 (this one has none); "
                                            "use --precision fp32 or auto");
    free_packed(m);
    m->bf16 = on;
    if (on && m->act_mem && reserve_packed(m)) {
        free_packed(m);
        m->bf16 = 0;
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the bf16 copies of the weights; use --precision fp32");
    }
    return CHARRNN_OK;
}

static int gates_per_cell(charrnn_cell c) { return c == CHARRNN_LSTM ? 4 : c == CHARRNN_GRU ? 3 : 1; }

static void add_view(model *m, size_t *off, const char *name, int ndim, int d0, int d1) {
    param_view *v = &m->views[m->num_views++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->ndim = ndim;
    v->shape[0] = d0;
    v->shape[1] = ndim > 1 ? d1 : 1;
    v->offset = *off;
    v->size = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
    *off += v->size;
}

static void point_params(model *m, float *base, layer_params *lp, float **dw, float **db) {
    for (int l = 0; l < m->L; l++) {
        lp[l].w_ih = base + m->views[4 * l + 0].offset;
        lp[l].w_hh = base + m->views[4 * l + 1].offset;
        lp[l].b_ih = base + m->views[4 * l + 2].offset;
        lp[l].b_hh = base + m->views[4 * l + 3].offset;
    }
    *dw = base + m->views[4 * m->L].offset;
    *db = base + m->views[4 * m->L + 1].offset;
}

int model_init(model *m, const charrnn_model_config *cfg, int vocab_size, charrnn_error *err) {
    memset(m, 0, sizeof *m);
    if (cfg->num_layers < 1 || cfg->num_layers > MAX_LAYERS)
        return cr_fail(err, CHARRNN_EINVAL, "--num-layers %d is out of range; use 1 to %d", cfg->num_layers, MAX_LAYERS);
    if (cfg->rnn_size < 1 || cfg->rnn_size > MAX_RNN_SIZE)
        return cr_fail(err, CHARRNN_EINVAL, "--rnn-size %d is out of range; use 1 to %d", cfg->rnn_size, MAX_RNN_SIZE);
    if (vocab_size < 1 || vocab_size > 0x110000)
        return cr_fail(err, CHARRNN_EINVAL, "vocabulary size %d is out of range", vocab_size);
    m->cfg = *cfg;
    m->V = vocab_size;
    m->H = cfg->rnn_size;
    m->L = cfg->num_layers;
    m->G = gates_per_cell(cfg->cell);
    size_t off = 0;
    int GH = m->G * m->H;
    for (int l = 0; l < m->L; l++) {
        char name[32];
        snprintf(name, sizeof name, "weight_ih_l%d", l);
        add_view(m, &off, name, 2, GH, l == 0 ? m->V : m->H);
        snprintf(name, sizeof name, "weight_hh_l%d", l);
        add_view(m, &off, name, 2, GH, m->H);
        snprintf(name, sizeof name, "bias_ih_l%d", l);
        add_view(m, &off, name, 1, GH, 0);
        snprintf(name, sizeof name, "bias_hh_l%d", l);
        add_view(m, &off, name, 1, GH, 0);
    }
    add_view(m, &off, "decoder.weight", 2, m->V, m->H);
    add_view(m, &off, "decoder.bias", 1, m->V, 0);
    m->num_params = off;
    m->params = cr_calloc(off, sizeof(float));
    if (!m->params)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating %zu parameters (%.1f MB)", off, off * 4.0 / 1e6);
    point_params(m, m->params, m->p, &m->dec_w, &m->dec_b);
    return CHARRNN_OK;
}

/* The activation plan, in floats: computed in one place for both the estimate
 * and the allocation. With base NULL only the size is computed. */
static float *take(float *base, size_t *off, size_t n) {
    float *p = base ? base + *off : NULL;
    *off += n;
    return p;
}

static size_t plan_acts(model *m, int B, int T, int train, float *base) {
    size_t off = 0;
    size_t H = (size_t)m->H, GH = (size_t)m->G * H, TB = (size_t)T * B;
    int dropout = train && m->cfg.dropout > 0;
    for (int l = 0; l < m->L; l++) {
        layer_acts *a = &m->a[l];
        a->gates = take(base, &off, TB * GH);
        a->h = take(base, &off, TB * H + (size_t)B * H);
        a->c = m->cfg.cell == CHARRNN_LSTM ? take(base, &off, TB * H + (size_t)B * H) : NULL;
        a->tc = m->cfg.cell == CHARRNN_LSTM ? take(base, &off, TB * H) : NULL;
        a->bias = take(base, &off, GH);
        a->hn = m->cfg.cell == CHARRNN_GRU ? take(base, &off, TB * H) : NULL;
        a->mask = dropout ? take(base, &off, TB * H) : NULL;
        a->out = dropout ? take(base, &off, TB * H) : NULL;
    }
    m->logits = take(base, &off, TB * (size_t)m->V);
    m->probs = take(base, &off, TB * (size_t)m->V);
    m->state_h = take(base, &off, (size_t)m->L * B * H);
    m->state_c = take(base, &off, (size_t)m->L * B * H);
    m->w0t = take(base, &off, (size_t)m->V * GH);
    m->scratch = take(base, &off, (size_t)B * GH);
    m->ones = train ? take(base, &off, TB) : NULL;
    m->dgates = train ? take(base, &off, TB * GH) : NULL;
    m->dgates_h = train && m->cfg.cell == CHARRNN_GRU ? take(base, &off, TB * GH) : NULL;
    m->dseq[0] = train ? take(base, &off, TB * H) : NULL;
    m->dseq[1] = train ? take(base, &off, TB * H) : NULL;
    m->dh = train ? take(base, &off, (size_t)B * H) : NULL;
    m->dc = train ? take(base, &off, (size_t)B * H) : NULL;
    return off;
}

double model_param_count(const charrnn_model_config *cfg, int V) {
    const double H = cfg->rnn_size, GH = gates_per_cell(cfg->cell) * H;
    double n = (double)V * (H + 1); /* decoder */
    for (int l = 0; l < cfg->num_layers; l++) n += GH * ((l == 0 ? V : H) + H + 2);
    return n;
}

size_t model_alloc_bytes(const charrnn_model_config *cfg, int V, int B, int T, int train) {
    model m;
    memset(&m, 0, sizeof m);
    m.cfg = *cfg;
    m.V = V;
    m.H = cfg->rnn_size;
    m.L = cfg->num_layers;
    m.G = gates_per_cell(cfg->cell);
    size_t nparams = (size_t)model_param_count(cfg, V);
    return (plan_acts(&m, B, T, train, NULL) + nparams * (train ? 2 : 1)) * sizeof(float);
}

int model_alloc(model *m, int B, int T, int train, charrnn_error *err) {
    if (B < 1 || T < 1) return cr_fail(err, CHARRNN_EINVAL, "batch size and sequence length must be at least 1");
    free(m->act_mem);
    free(m->grads);
    m->act_mem = NULL;
    m->grads = NULL;
    m->B = B;
    m->T = T;
    m->act_floats = plan_acts(m, B, T, train, NULL);
    m->act_mem = cr_calloc(m->act_floats, sizeof(float));
    if (!m->act_mem)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating activations for %d streams x %d steps (%.1f MB)",
                       B, T, m->act_floats * 4.0 / 1e6);
    plan_acts(m, B, T, train, m->act_mem);
    if (m->ones)
        for (size_t i = 0; i < (size_t)T * B; i++) m->ones[i] = 1.0f;
    if (train) {
        m->grads = cr_calloc(m->num_params, sizeof(float));
        if (!m->grads) return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating gradients (%.1f MB)", m->num_params * 4.0 / 1e6);
        point_params(m, m->grads, m->g, &m->ddec_w, &m->ddec_b);
    }
    if (m->bf16 && reserve_packed(m)) return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the bf16 copies of the weights");
    return CHARRNN_OK;
}

void model_free(model *m) {
    free_packed(m);
    free(m->params);
    free(m->grads);
    free(m->act_mem);
    memset(m, 0, sizeof *m);
}

int model_view(model *view, const model *m, int b, int t, charrnn_error *err) {
    *view = *m;
    view->act_mem = NULL;
    view->grads = NULL;
    view->params_frozen = 1;
    view->half = NULL;
    view->w0t_ready = 0;
    memset(view->bw, 0, sizeof view->bw);
    memset(&view->bact, 0, sizeof view->bact);
    view->bf16_ready = 0;
    view->version_src = m->version_src ? m->version_src : &m->weights_version;
    return model_alloc(view, b, t, 0, err);
}

void model_weights_changed(model *m) { m->weights_version++; }

void model_view_free(model *view) {
    free(view->act_mem);
    free(view->half);
    free_packed(view);
    view->act_mem = NULL;
    view->half = NULL;
}

void model_init_weights(model *m, rng *r) {
    for (size_t i = 0; i < m->num_params; i++) m->params[i] = (rng_uniform(r) * 2.0f - 1.0f) * 0.08f;
    if (m->cfg.cell == CHARRNN_LSTM) /* PyTorch gate order i, f, g, o: forget is the 2nd block */
        for (int l = 0; l < m->L; l++)
            for (int j = 0; j < m->H; j++) m->p[l].b_ih[m->H + j] = 1.0f;
}

const param_view *model_find_param(const model *m, const char *name) {
    for (int i = 0; i < m->num_views; i++)
        if (!strcmp(m->views[i].name, name)) return &m->views[i];
    return NULL;
}

void model_reset_state(model *m) {
    if (!m->state_h) return;
    memset(m->state_h, 0, sizeof(float) * (size_t)m->L * m->B * m->H);
    memset(m->state_c, 0, sizeof(float) * (size_t)m->L * m->B * m->H);
}

void model_zero_grad(model *m) {
    if (m->grads) memset(m->grads, 0, sizeof(float) * m->num_params);
}

/* Where layer l's output (the next layer's input) lives for b streams: after
 * dropout, or the hidden states h[1..t] themselves. */
static const float *layer_output(const model *m, int l, int b, int dropout) {
    return dropout ? m->a[l].out : m->a[l].h + (size_t)b * m->H;
}

/* The recurrence is sequential in time but independent across the b streams:
 * with several threads, each can run its own contiguous block of streams through
 * all t steps (its per-step products single-threaded, its rows staying in its
 * cache) instead of every step forking and joining the pool. But then every
 * thread packs the whole W_hh for every product: that pays only while W_hh is
 * small (measured: 1-3% faster at 2 x 128, up to 4% slower at 2 x 512, where
 * OpenBLAS's own threading of each product wins). */
typedef struct step_args { model *m; int l, b, t; } step_args;
#define SPLIT_MAX_WHH_BYTES (512 * 1024)

static void by_streams(int b, void (*fn)(const step_args *, int, int), const step_args *args) {
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    if (nt > b / 8) nt = b / 8; /* at least 8 streams a thread, or it does not pay */
    const model *m = args->m;
    if (!m->bf16 && (size_t)m->G * m->H * m->H * sizeof(float) > SPLIT_MAX_WHH_BYTES) nt = 1; /* bf16: packed once */
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
    const int l = sa->l, b = sa->b, t = sa->t, H = m->H, GH = m->G * H;
    layer_acts *a = &m->a[l];
    const layer_params *p = &m->p[l];
    const size_t bh = (size_t)b * H, off = (size_t)j0 * H, goff = (size_t)j0 * GH;
    for (int s = 0; s < t; s++) {
        const float *hprev = a->h + s * bh + off;
        float *hnext = a->h + (s + 1) * bh + off;
        float *g = a->gates + (size_t)s * b * GH + goff;
        switch (m->cfg.cell) {
        case CHARRNN_LSTM:
            matmul_wt(m, nb, GH, H, hprev, p->w_hh, 1.0f, g);
            lstm_cell_forward(g, a->bias, a->c + s * bh + off, a->c + (s + 1) * bh + off, a->tc + s * bh + off, hnext, nb, H);
            break;
        case CHARRNN_GRU:
            matmul_wt(m, nb, GH, H, hprev, p->w_hh, 0.0f, m->scratch + goff);
            gru_cell_forward(g, a->bias, m->scratch + goff, p->b_hh + 2 * H, hprev, a->hn + s * bh + off, hnext, nb, H);
            break;
        case CHARRNN_RNN:
            matmul_wt(m, nb, GH, H, hprev, p->w_hh, 1.0f, g);
            rnn_cell_forward(g, a->bias, hnext, nb, H);
            break;
        }
    }
}

/* Backward through time of layer l for streams [j0, j0+nb): dgates (and GRU's
 * hidden-side dgates_h) for every step, from dout (the gradient into the layer's
 * output, in m->dout_cur). */
static void backward_streams(const step_args *sa, int j0, int nb) {
    model *m = sa->m;
    const int l = sa->l, b = sa->b, t = sa->t, H = m->H, GH = m->G * H;
    layer_acts *a = &m->a[l];
    const layer_params *p = &m->p[l];
    const size_t bh = (size_t)b * H, off = (size_t)j0 * H;
    const float *dout = m->dout_cur;
    float *dh = m->dh + off, *dc = m->dc + off;
    memset(dh, 0, sizeof(float) * (size_t)nb * H);
    memset(dc, 0, sizeof(float) * (size_t)nb * H);
    float *dgh = m->cfg.cell == CHARRNN_GRU ? m->dgates_h : m->dgates;
    for (int s = t - 1; s >= 0; s--) {
        const size_t goff = (size_t)s * b * GH + (size_t)j0 * GH;
        switch (m->cfg.cell) {
        case CHARRNN_LSTM:
            lstm_cell_backward(m->dgates + goff, dh, dc, dout + s * bh + off, a->gates + goff, a->c + s * bh + off,
                               a->tc + s * bh + off, nb, H);
            break;
        case CHARRNN_GRU:
            gru_cell_backward(m->dgates + goff, m->dgates_h + goff, dh, dout + s * bh + off, a->gates + goff,
                              a->hn + s * bh + off, a->h + s * bh + off, nb, H);
            break;
        case CHARRNN_RNN:
            rnn_cell_backward(m->dgates + goff, dh, dout + s * bh + off, a->h + (s + 1) * bh + off, nb, H);
            break;
        }
        /* dh(t-1) = dgates_h W_hh (+ the direct path GRU put in dh already) */
        float beta = m->cfg.cell == CHARRNN_GRU ? 1.0f : 0.0f;
        if (s > 0) matmul_w(m, nb, H, GH, dgh + goff, p->w_hh, beta, dh);
    }
}

double model_forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r) {
    const int H = m->H, GH = m->G * H, V = m->V;
    const size_t TB = (size_t)t * b;
    const int dropout = train && m->cfg.dropout > 0;
    const float keep = 1.0f - m->cfg.dropout, scale = dropout ? 1.0f / keep : 1.0f;

    /* layer 0's input projection is a row gather of W_ih^T (one-hot input) */
    const uint64_t version = m->version_src ? *m->version_src : m->weights_version;
    if (!(m->params_frozen && m->w0t_ready && m->w0t_version == version)) {
        const float *w0 = m->p[0].w_ih;
        for (int j = 0; j < GH; j++)
            for (int v = 0; v < V; v++) m->w0t[(size_t)v * GH + j] = w0[(size_t)j * V + v];
        m->w0t_ready = 1;
        m->w0t_version = version;
    }
    if (m->half && m->half_version != version) {
        half_from_float(m->half, m->params, m->num_params);
        m->half_version = version;
    }
    if (m->bf16 && !(m->bf16_ready && m->bf16_version == version)) {
        pack_weights(m);
        m->bf16_ready = 1;
        m->bf16_version = version;
    }

    for (int l = 0; l < m->L; l++) {
        layer_acts *a = &m->a[l];
        const layer_params *p = &m->p[l];
        /* gates = input W_ih^T + b_ih (+ b_hh except GRU's n block, which r gates) */
        if (l == 0) {
#pragma omp parallel for schedule(static) if (TB * GH >= 65536)
            for (size_t row = 0; row < TB; row++)
                memcpy(a->gates + row * GH, m->w0t + (size_t)x[row] * GH, sizeof(float) * GH);
        } else {
            matmul_wt(m, (int)TB, GH, H, layer_output(m, l - 1, b, dropout), p->w_ih, 0.0f, a->gates);
        }
        const int nb_hh = m->cfg.cell == CHARRNN_GRU ? 2 * H : GH; /* GRU's b_hn sits inside r * (.) */
        for (int j = 0; j < GH; j++) a->bias[j] = p->b_ih[j] + (j < nb_hh ? p->b_hh[j] : 0.0f);
        memcpy(a->h, m->state_h + (size_t)l * m->B * H, sizeof(float) * (size_t)b * H);
        if (a->c) memcpy(a->c, m->state_c + (size_t)l * m->B * H, sizeof(float) * (size_t)b * H);
        by_streams(b, forward_streams, &(step_args){m, l, b, t});
        memcpy(m->state_h + (size_t)l * m->B * H, a->h + (size_t)t * b * H, sizeof(float) * (size_t)b * H);
        if (a->c) memcpy(m->state_c + (size_t)l * m->B * H, a->c + (size_t)t * b * H, sizeof(float) * (size_t)b * H);
        if (dropout) {
            const float *h = a->h + (size_t)b * H;
            for (size_t i = 0; i < TB * H; i++) {
                a->mask[i] = rng_uniform(r) < keep ? scale : 0.0f;
                a->out[i] = h[i] * a->mask[i];
            }
        }
    }

    /* decoder and softmax over all t*b rows at once */
    float *logits = m->logits;
    for (size_t row = 0; row < TB; row++) memcpy(logits + row * V, m->dec_b, sizeof(float) * V);
    matmul_wt(m, (int)TB, V, H, layer_output(m, m->L - 1, b, dropout), m->dec_w, 1.0f, logits);
    double loss = softmax_xent_forward(m->probs, logits, y, TB, V);
    return y ? loss / (double)TB : 0.0;
}

void model_backward(model *m, const int32_t *x, const int32_t *y, int b, int t) {
    const int H = m->H, GH = m->G * H, V = m->V, L = m->L;
    const size_t TB = (size_t)t * b;
    const int dropout = m->a[0].mask != NULL;

    /* d logits = (softmax - onehot(y)) / (t*b), in place of probs */
    float *dlogits = m->probs;
    softmax_xent_backward(dlogits, m->probs, y, TB, V);
    const float *top = layer_output(m, L - 1, b, dropout);
    matmul_at(m, V, H, (int)TB, dlogits, top, m->ddec_w);
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)TB, V, 1.0f, dlogits, V, m->ones, 1, 1.0f, m->ddec_b, 1);
    float *dout = m->dseq[0];
    matmul_w(m, (int)TB, H, V, dlogits, m->dec_w, 0.0f, dout);

    for (int l = L - 1; l >= 0; l--) {
        layer_acts *a = &m->a[l];
        const layer_params *p = &m->p[l];
        layer_params *g = &m->g[l];
        if (dropout)
            for (size_t i = 0; i < TB * H; i++) dout[i] *= a->mask[i];
        m->dout_cur = dout;
        by_streams(b, backward_streams, &(step_args){m, l, b, t});
        float *dgh = m->cfg.cell == CHARRNN_GRU ? m->dgates_h : m->dgates;
        /* weight gradients: one GEMM each over all t*b rows */
        matmul_at(m, GH, H, (int)TB, dgh, a->h, g->w_hh);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)TB, GH, 1.0f, m->dgates, GH, m->ones, 1, 1.0f, g->b_ih, 1);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)TB, GH, 1.0f, dgh, GH, m->ones, 1, 1.0f, g->b_hh, 1);
        if (l == 0) {
            /* one-hot input: dW_ih[:, x] += dgates row, accumulated transposed (rows
             * contiguous) in the w0t buffer, which forward recomputes anyway */
            float *dw0t = m->w0t;
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
                    const float *dx = m->dgates + row * GH;
                    float *d = dw0t + (size_t)x[row] * GH;
                    for (int j = j0; j < j1; j++) d[j] += dx[j];
                }
            }
            for (int j = 0; j < GH; j++)
                for (int v = 0; v < V; v++) g->w_ih[(size_t)j * V + v] += dw0t[(size_t)v * GH + j];
            m->w0t_ready = 0;
        } else {
            const float *in = layer_output(m, l - 1, b, dropout);
            matmul_at(m, GH, H, (int)TB, m->dgates, in, g->w_ih);
            float *dnext = m->dseq[(L - l) & 1];
            matmul_w(m, (int)TB, H, GH, m->dgates, p->w_ih, 0.0f, dnext);
            dout = dnext;
        }
    }
}
