/* cpu_backend.c: the CPU backend (backend.h): its memory (the parameters, the
 * activation plan, gradients), the carried state, the gradients' and the
 * optimizer's operations, and its two operation tables, float32 and bfloat16,
 * which share everything but their matrix products (cpu_passes.c). */
#include "cells.h"
#include "common.h"
#include "cpu_backend.h"
#include "half.h"

#include <stdlib.h>
#include <string.h>

/* Points lp (per layer) and the decoder's weight and bias into base, a flat array in the layout's order. */
static void point_params(const model *m, float *base, layer_params *lp, float **dw, float **db) {
    for (int l = 0; l < m->L; l++) {
        lp[l].w_ih = base + m->views[4 * l + 0].offset;
        lp[l].w_hh = base + m->views[4 * l + 1].offset;
        lp[l].b_ih = base + m->views[4 * l + 2].offset;
        lp[l].b_hh = base + m->views[4 * l + 3].offset;
    }
    *dw = base + m->views[4 * m->L].offset;
    *db = base + m->views[4 * m->L + 1].offset;
}

static int cpu_init(model *m, charrnn_error *err) {
    cpu_state *s = cr_calloc(1, sizeof *s);
    if (s) s->params = cr_calloc(m->num_params, sizeof(float));
    if (!s || !s->params) {
        free(s);
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating %zu parameters (%.1f MB)", m->num_params,
                       m->num_params * 4.0 / 1e6);
    }
    s->owns_params = 1;
    point_params(m, s->params, s->p, &s->dec_w, &s->dec_b);
    m->be = s;
    return CHARRNN_OK;
}

static int cpu_view(model *view, const model *src, charrnn_error *err) {
    cpu_state *s = cr_calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    s->params = cpu_of(src)->params;
    point_params(view, s->params, s->p, &s->dec_w, &s->dec_b);
    view->be = s;
    return CHARRNN_OK;
}

/* The activation plan, in floats: computed in one place for both the estimate
 * and the allocation. With base NULL only the size is computed. */
static float *take(float *base, size_t *off, size_t n) {
    float *p = base ? base + *off : NULL;
    *off += n;
    return p;
}

static size_t plan_acts(const model *m, cpu_state *s, int B, int T, int train, float *base) {
    size_t off = 0;
    size_t H = (size_t)m->H, GH = (size_t)m->G * H, TB = (size_t)T * B;
    int dropout = train && m->cfg.dropout > 0;
    for (int l = 0; l < m->L; l++) {
        layer_acts *a = &s->a[l];
        a->gates = take(base, &off, TB * GH);
        a->h = take(base, &off, TB * H + (size_t)B * H);
        a->c = m->cfg.cell == CHARRNN_LSTM ? take(base, &off, TB * H + (size_t)B * H) : NULL;
        a->tc = m->cfg.cell == CHARRNN_LSTM ? take(base, &off, TB * H) : NULL;
        a->bias = take(base, &off, GH);
        a->hn = m->cfg.cell == CHARRNN_GRU ? take(base, &off, TB * H) : NULL;
        a->mask = dropout ? take(base, &off, TB * H) : NULL;
        a->out = dropout ? take(base, &off, TB * H) : NULL;
    }
    s->logits = take(base, &off, TB * (size_t)m->V);
    s->probs = take(base, &off, TB * (size_t)m->V);
    s->state_h = take(base, &off, (size_t)m->L * B * H);
    s->state_c = take(base, &off, (size_t)m->L * B * H);
    s->w0t = take(base, &off, (size_t)m->V * GH);
    s->scratch = take(base, &off, (size_t)B * GH);
    s->ones = train ? take(base, &off, TB) : NULL;
    s->dgates = train ? take(base, &off, TB * GH) : NULL;
    s->dgates_h = train && m->cfg.cell == CHARRNN_GRU ? take(base, &off, TB * GH) : NULL;
    s->dseq[0] = train ? take(base, &off, TB * H) : NULL;
    s->dseq[1] = train ? take(base, &off, TB * H) : NULL;
    s->dh = train ? take(base, &off, (size_t)B * H) : NULL;
    s->dc = train ? take(base, &off, (size_t)B * H) : NULL;
    return off;
}

static size_t cpu_alloc_bytes(const model *m, int B, int T, int train) {
    cpu_state s;
    memset(&s, 0, sizeof s);
    return (m->num_params + plan_acts(m, &s, B, T, train, NULL) + (train ? m->num_params : 0)) * sizeof(float);
}

/* The bf16 products' buffers, allocated with the activations (never in the training loop): each
 * weight matrix packed both ways (backward's way only when training), and the activation operand
 * of a weight gradient (t*b x H). Layer 0's W_ih is a row gather, never a product. */
static int reserve_packed(const model *m, cpu_state *s) {
    for (int i = 1; i < m->num_views; i++) {
        const param_view *v = &m->views[i];
        if (v->ndim != 2) continue;
        if (bf16_reserve(&s->bw[0][i], v->shape[1], v->shape[0])) return -1;
        if (s->grads && bf16_reserve(&s->bw[1][i], v->shape[0], v->shape[1])) return -1;
    }
    return s->grads ? bf16_reserve(&s->bact, m->T * m->B, m->H) : 0;
}

static void free_packed(cpu_state *s) {
    for (int i = 0; i < MAX_PARAM_TENSORS; i++) {
        bf16_mat_free(&s->bw[0][i]);
        bf16_mat_free(&s->bw[1][i]);
    }
    bf16_mat_free(&s->bact);
    s->bf16_ready = 0;
}

static int cpu_alloc(model *m, int B, int T, int train, charrnn_error *err) {
    cpu_state *s = cpu_of(m);
    free(s->act_mem);
    free(s->grads);
    s->act_mem = NULL;
    s->grads = NULL;
    s->act_floats = plan_acts(m, s, B, T, train, NULL);
    s->act_mem = cr_calloc(s->act_floats, sizeof(float));
    if (!s->act_mem)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating activations for %d streams x %d steps (%.1f MB)",
                       B, T, s->act_floats * 4.0 / 1e6);
    plan_acts(m, s, B, T, train, s->act_mem);
    s->w0t_ready = 0;
    if (s->ones)
        for (size_t i = 0; i < (size_t)T * B; i++) s->ones[i] = 1.0f;
    if (train) {
        s->grads = cr_calloc(m->num_params, sizeof(float));
        if (!s->grads) return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating gradients (%.1f MB)", m->num_params * 4.0 / 1e6);
        point_params(m, s->grads, s->g, &s->ddec_w, &s->ddec_b);
    }
    if (m->ops->bf16 && reserve_packed(m, s))
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the bf16 copies of the weights");
    return CHARRNN_OK;
}

static void cpu_free(model *m) {
    cpu_state *s = cpu_of(m);
    if (!s) return;
    free_packed(s);
    if (s->owns_params) free(s->params);
    free(s->grads);
    free(s->act_mem);
    free(s->half);
    free(s);
    m->be = NULL;
}

/* The variants share the state: switching is a change of table (the bf16 copies,
 * once made, are kept while the table is float32's, so a switch back is cheap). */
static int cpu_set_bf16(model *m, int on, charrnn_error *err) {
    if (on && !bf16_supported())
        return cr_fail(err, CHARRNN_EINVAL, "--precision bf16 needs a processor with AVX512-BF16 (this one has none); "
                                            "use --precision fp32 or auto");
    cpu_state *s = cpu_of(m);
    m->ops = on ? &cpu_bf16_ops : &cpu_fp32_ops;
    if (on && s->act_mem && reserve_packed(m, s)) {
        free_packed(s);
        m->ops = &cpu_fp32_ops;
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the bf16 copies of the weights; use --precision fp32");
    }
    return CHARRNN_OK;
}

static int cpu_use_half(model *m, charrnn_error *err) {
    cpu_state *s = cpu_of(m);
    if (!half_supported())
        return cr_fail(err, CHARRNN_EINVAL, "half-precision sampling needs a build for a processor with AVX-512F and F16C; sample in full precision");
    if (s->half) return CHARRNN_OK;
    s->half = cr_malloc(m->num_params, sizeof(uint16_t));
    if (!s->half) return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the half-precision weights");
    half_from_float(s->half, s->params, m->num_params);
    s->half_version = cpu_version(m);
    return CHARRNN_OK;
}

static double forward_fp32(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r) {
    return cpu_forward(m, &cpu_fp32_products, x, y, b, t, train, r);
}
static double forward_bf16(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r) {
    return cpu_forward(m, &cpu_bf16_products, x, y, b, t, train, r);
}
static void backward_fp32(model *m, const int32_t *x, const int32_t *y, int b, int t) {
    cpu_backward(m, &cpu_fp32_products, x, y, b, t);
}
static void backward_bf16(model *m, const int32_t *x, const int32_t *y, int b, int t) {
    cpu_backward(m, &cpu_bf16_products, x, y, b, t);
}

/* ---- the carried state and the outputs ---- */

static void cpu_reset_state(model *m) {
    cpu_state *s = cpu_of(m);
    if (!s->state_h) return;
    memset(s->state_h, 0, sizeof(float) * (size_t)m->L * m->B * m->H);
    memset(s->state_c, 0, sizeof(float) * (size_t)m->L * m->B * m->H);
}

static void cpu_get_state(const model *m, int l, int j0, int n, float *h, float *c) {
    const cpu_state *s = cpu_of(m);
    const size_t at = ((size_t)l * m->B + (size_t)j0) * m->H, len = sizeof(float) * (size_t)n * m->H;
    memcpy(h, s->state_h + at, len);
    if (c) memcpy(c, s->state_c + at, len);
}

static void cpu_set_state(model *m, int l, int j0, int n, const float *h, const float *c) {
    cpu_state *s = cpu_of(m);
    const size_t at = ((size_t)l * m->B + (size_t)j0) * m->H, len = sizeof(float) * (size_t)n * m->H;
    memcpy(s->state_h + at, h, len);
    if (c) memcpy(s->state_c + at, c, len);
}

/* the activations of the last forward of b streams: row s * b + j of layer l's h[s + 1] (and c) */
static void cpu_step_state(const model *m, int l, int s, int j0, int n, float *h, float *c) {
    const cpu_state *st = cpu_of(m);
    const size_t at = ((size_t)(s + 1) * st->last_b + (size_t)j0) * m->H, len = sizeof(float) * (size_t)n * m->H;
    memcpy(h, st->a[l].h + at, len);
    if (c && st->a[l].c) memcpy(c, st->a[l].c + at, len);
}

static const float *cpu_probs(const model *m, size_t row) { return cpu_of(m)->probs + row * (size_t)m->V; }
static const float *cpu_logits(const model *m, size_t row) { return cpu_of(m)->logits + row * (size_t)m->V; }

static void cpu_set_logits(model *m, size_t row, const float *z) {
    cpu_state *s = cpu_of(m);
    const size_t V = (size_t)m->V;
    memcpy(s->logits + row * V, z, sizeof(float) * V);
    softmax_xent_forward(s->probs + row * V, s->logits + row * V, NULL, 1, (int)V);
}

/* ---- gradients, the optimizer, host copies ---- */

static void cpu_zero_grad(model *m) {
    cpu_state *s = cpu_of(m);
    if (s->grads) memset(s->grads, 0, sizeof(float) * m->num_params);
}

static void cpu_scale_grad(model *m, float w) {
    float *g = cpu_of(m)->grads;
    for (size_t i = 0; i < m->num_params; i++) g[i] *= w;
}

static void cpu_sum_grad(model *m, void (*sum)(float *x, size_t n)) { sum(cpu_of(m)->grads, m->num_params); }
static double cpu_grad_norm(model *m) { return grad_norm(cpu_of(m)->grads, m->num_params); }

static void cpu_clip_grad(model *m, double clip, charrnn_clip_mode mode, double norm) {
    grad_clip(cpu_of(m)->grads, m->num_params, clip, mode, norm);
}

static void cpu_optim_step(model *m, optim *o, double lr) {
    cpu_state *s = cpu_of(m);
    optim_update(o, s->params, s->grads, lr);
}

/* the optimizer's moments are o's own arrays, on the host already */
static void cpu_moments(model *m, optim *o) { (void)m; (void)o; }
static float *cpu_params_host(const model *m) { return cpu_of(m)->params; }
static void cpu_weights_changed(model *m) { (void)m; } /* the derived copies follow the version */
static const float *cpu_grads_host(const model *m) { return cpu_of(m)->grads; }

/* The two variants: everything shared but the passes' products. */
#define CPU_OPS(NAME, BF16, FORWARD, BACKWARD)                                                                         \
    {                                                                                                                  \
        .name = NAME, .bf16 = BF16,                                                                                    \
        .init = cpu_init, .view = cpu_view, .alloc = cpu_alloc, .free = cpu_free, .alloc_bytes = cpu_alloc_bytes,      \
        .set_bf16 = cpu_set_bf16, .use_half = cpu_use_half,                                                            \
        .forward = FORWARD, .backward = BACKWARD,                                                                      \
        .reset_state = cpu_reset_state, .get_state = cpu_get_state, .set_state = cpu_set_state,                        \
        .step_state = cpu_step_state, .probs = cpu_probs, .logits = cpu_logits, .set_logits = cpu_set_logits,          \
        .zero_grad = cpu_zero_grad, .scale_grad = cpu_scale_grad, .sum_grad = cpu_sum_grad,                            \
        .grad_norm = cpu_grad_norm, .clip_grad = cpu_clip_grad,                                                        \
        .optim_step = cpu_optim_step, .moments_to_host = cpu_moments, .moments_from_host = cpu_moments,                \
        .params_host = cpu_params_host, .weights_changed = cpu_weights_changed, .grads_host = cpu_grads_host,          \
    }

const backend_ops cpu_fp32_ops = CPU_OPS("cpu-fp32", 0, forward_fp32, backward_fp32);
const backend_ops cpu_bf16_ops = CPU_OPS("cpu-bf16", 1, forward_bf16, backward_bf16);
