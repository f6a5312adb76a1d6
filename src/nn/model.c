/* model.c: the network's description and its face. The description: the
 * parameter layout in PyTorch's names and shapes, the sizes, char-rnn's
 * initialisation. The face: every pass, and every touch of the parameters,
 * gradients, activations and carried state, goes to the model's backend
 * (backend.h), one call per whole operation. */
#include "model.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The shape and the parameter views of cfg with V symbols, into a zeroed m:
 * per layer weight_ih, weight_hh, bias_ih, bias_hh, then the decoder's. */
static void layout(model *m, const charrnn_model_config *cfg, int V) {
    m->cfg = *cfg;
    m->V = V;
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
}

int model_init(model *m, const charrnn_model_config *cfg, int vocab_size, charrnn_error *err) {
    memset(m, 0, sizeof *m);
    if (cfg->num_layers < 1 || cfg->num_layers > MAX_LAYERS)
        return cr_fail(err, CHARRNN_EINVAL, "--num-layers %d is out of range; use 1 to %d", cfg->num_layers, MAX_LAYERS);
    if (cfg->rnn_size < 1 || cfg->rnn_size > MAX_RNN_SIZE)
        return cr_fail(err, CHARRNN_EINVAL, "--rnn-size %d is out of range; use 1 to %d", cfg->rnn_size, MAX_RNN_SIZE);
    if (vocab_size < 1 || vocab_size > 0x110000)
        return cr_fail(err, CHARRNN_EINVAL, "vocabulary size %d is out of range", vocab_size);
    layout(m, cfg, vocab_size);
    m->ops = &cpu_fp32_ops;
    int rc = m->ops->init(m, err);
    if (rc) m->ops = NULL;
    return rc;
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
    layout(&m, cfg, V);
    return cpu_fp32_ops.alloc_bytes(&m, B, T, train); /* the backend model_init picks */
}

int model_alloc(model *m, int B, int T, int train, charrnn_error *err) {
    if (B < 1 || T < 1) return cr_fail(err, CHARRNN_EINVAL, "batch size and sequence length must be at least 1");
    m->B = B;
    m->T = T;
    m->train = train;
    return m->ops->alloc(m, B, T, train, err);
}

void model_free(model *m) {
    if (m->ops) m->ops->free(m);
    memset(m, 0, sizeof *m);
}

int model_view(model *view, const model *m, int b, int t, charrnn_error *err) {
    *view = *m;
    view->be = NULL;
    view->train = 0;
    view->params_frozen = 1;
    view->version_src = m->version_src ? m->version_src : &m->weights_version;
    int rc = m->ops->view(view, m, err);
    if (!rc && (rc = model_alloc(view, b, t, 0, err))) view->ops->free(view);
    return rc;
}

void model_view_free(model *view) {
    if (view->ops) view->ops->free(view);
}

void model_weights_changed(model *m) {
    m->weights_version++;
    m->ops->weights_changed(m);
}

void model_init_weights(model *m, rng *r) {
    float *p = model_params(m);
    for (size_t i = 0; i < m->num_params; i++) p[i] = (rng_uniform(r) * 2.0f - 1.0f) * 0.08f;
    if (m->cfg.cell == CHARRNN_LSTM) /* PyTorch gate order i, f, g, o: forget is the 2nd block */
        for (int l = 0; l < m->L; l++)
            for (int j = 0; j < m->H; j++) p[m->views[4 * l + 2].offset + (size_t)m->H + j] = 1.0f;
    model_weights_changed(m);
}

const param_view *model_find_param(const model *m, const char *name) {
    for (int i = 0; i < m->num_views; i++)
        if (!strcmp(m->views[i].name, name)) return &m->views[i];
    return NULL;
}

const char *model_backend_name(const model *m) { return m->ops->name; }
int model_set_bf16(model *m, int on, charrnn_error *err) { return m->ops->set_bf16(m, on, err); }
int model_bf16(const model *m) { return m->ops->bf16; }

int model_set_tf32(model *m, int on, charrnn_error *err) {
#ifdef CHARRNN_CUDA
    if (model_device(m) >= 0) return cuda_set_variant(m, on ? &cuda_tf32_ops : &cuda_fp32_ops, err);
#endif
    if (!on) return model_set_bf16(m, 0, err);
    return cr_fail(err, CHARRNN_EINVAL, "tf32 is a GPU's number format (tensor cores): on the CPU use fp32 or bf16");
}

int model_tf32(const model *m) {
#ifdef CHARRNN_CUDA
    return m->ops == &cuda_tf32_ops;
#else
    (void)m;
    return 0;
#endif
}
int model_use_half(model *m, charrnn_error *err) { return m->ops->use_half(m, err); }

double model_forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r) {
    return m->ops->forward(m, x, y, b, t, train, r);
}

void model_backward(model *m, const int32_t *x, const int32_t *y, int b, int t) { m->ops->backward(m, x, y, b, t); }

void model_reset_state(model *m) { m->ops->reset_state(m); }

void model_get_state(const model *m, int l, int j0, int n, float *h, float *c) { m->ops->get_state(m, l, j0, n, h, c); }

void model_set_state(model *m, int l, int j0, int n, const float *h, const float *c) {
    m->ops->set_state(m, l, j0, n, h, c);
}

void model_step_state(const model *m, int l, int s, int j0, int n, float *h, float *c) {
    m->ops->step_state(m, l, s, j0, n, h, c);
}

void model_get_states(const model *m, int j0, int n, float *h, float *c) {
    const size_t step = (size_t)n * m->H;
    for (int l = 0; l < m->L; l++) m->ops->get_state(m, l, j0, n, h + l * step, c ? c + l * step : NULL);
}

void model_set_states(model *m, int j0, int n, const float *h, const float *c) {
    const size_t step = (size_t)n * m->H;
    for (int l = 0; l < m->L; l++) m->ops->set_state(m, l, j0, n, h + l * step, c ? c + l * step : NULL);
}

const float *model_probs(const model *m, size_t row) { return m->ops->probs(m, row); }
const float *model_logits(const model *m, size_t row) { return m->ops->logits(m, row); }
void model_set_logits(model *m, size_t row, const float *z) { m->ops->set_logits(m, row, z); }

void model_zero_grad(model *m) { m->ops->zero_grad(m); }
void model_scale_grad(model *m, float w) { m->ops->scale_grad(m, w); }
void model_sum_grad(model *m, void (*sum)(float *x, size_t n)) { m->ops->sum_grad(m, sum); }
double model_grad_norm(model *m) { return m->ops->grad_norm(m); }

void model_clip_grad(model *m, double clip, charrnn_clip_mode mode, double norm) {
    m->ops->clip_grad(m, clip, mode, norm);
}

void model_optim_step(model *m, optim *o, double lr) {
    m->ops->optim_step(m, o, lr);
    m->weights_version++;
}

void model_moments_to_host(model *m, optim *o) { m->ops->moments_to_host(m, o); }
void model_moments_from_host(model *m, optim *o) { m->ops->moments_from_host(m, o); }
float *model_params(const model *m) { return m->ops->params_host(m); }
const float *model_grads(const model *m) { return m->ops->grads_host(m); }

int model_check(const model *m, charrnn_error *err) { return m->ops->check ? m->ops->check(m, err) : CHARRNN_OK; }

int model_cuda_built(void) {
#ifdef CHARRNN_CUDA
    return 1;
#else
    return 0;
#endif
}

int model_cuda_devices(void) {
#ifdef CHARRNN_CUDA
    return cuda_device_count();
#else
    return 0;
#endif
}

/* A fresh state of backend ops with m's layout, parameters and carried state (and
 * activations of m's size where m has them); then m's old backend goes. On a
 * failure m stays as it was. The optimizer's moments are the caller's to move
 * (model_moments_to_host before, model_moments_from_host after). */
static int move_to(model *m, const backend_ops *ops, int gpu, charrnn_error *err) {
    if (m->version_src) return cr_fail(err, CHARRNN_EINVAL, "a view of a model cannot move to another device; move its owner");
    model g = *m;
    g.be = NULL;
    g.ops = ops;
    g.gpu = gpu;
    int rc = g.ops->init(&g, err);
    if (rc) return rc;
    memcpy(g.ops->params_host(&g), m->ops->params_host(m), sizeof(float) * m->num_params);
    g.ops->weights_changed(&g);
    if (m->B > 0 && !(rc = g.ops->alloc(&g, m->B, m->T, m->train, err))) {
        const size_t n = (size_t)m->L * m->B * m->H;
        float *h = cr_malloc(n, sizeof(float)), *c = cr_malloc(n, sizeof(float));
        if (!h || !c) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
        else {
            model_get_states(m, 0, m->B, h, c);
            model_set_states(&g, 0, m->B, h, c);
        }
        free(h);
        free(c);
    }
    if (!rc) rc = model_check(&g, err);
    if (!rc) rc = model_check(m, err); /* what was read from the old one is what it held */
    if (rc) {
        g.ops->free(&g);
        return rc;
    }
    m->ops->free(m);
    *m = g;
    return CHARRNN_OK;
}

int model_use_cuda(model *m, int device, charrnn_error *err) {
#ifdef CHARRNN_CUDA
    if (model_device(m) == device) return CHARRNN_OK; /* already there, in whichever variant (fp32, tf32, bf16) */
    if (m->version_src) return cr_fail(err, CHARRNN_EINVAL, "a view of a model cannot move to the GPU; move its owner");
    int rc = cuda_select_device(device, err);
    return rc ? rc : move_to(m, &cuda_fp32_ops, device, err);
#else
    (void)m;
    (void)device;
    return cr_fail(err, CHARRNN_EINVAL, "this build has no CUDA backend: build with make CUDA=1");
#endif
}

int model_use_cpu(model *m, charrnn_error *err) {
    if (model_device(m) < 0) return CHARRNN_OK;
    return move_to(m, &cpu_fp32_ops, 0, err);
}

int model_device(const model *m) { return m->ops && !strncmp(m->ops->name, "cuda", 4) ? m->gpu : -1; }

int model_cuda_describe(int device, int what, char *out, size_t cap) {
    if (cap) out[0] = 0;
#ifdef CHARRNN_CUDA
    return cuda_describe(device, (cuda_what)what, out, cap);
#else
    (void)device;
    (void)what;
    return -1;
#endif
}
