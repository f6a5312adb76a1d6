/* test_model.c: the network is proven, not assumed. (1) Finite-difference
 * gradient checks of every parameter for LSTM, GRU and RNN, 1 and 2 layers, with
 * and without dropout (decoder and loss included). (2) PyTorch reference
 * fixtures (tests/ref/make_fixtures.py): logits, loss, final state and every
 * gradient for fixed weights, and 10-step loss trajectories with RMSProp, Adam and
 * norm clipping, state carried between steps, on every backend this processor runs
 * (t_backends, test_backends.c). (3) Optimizer and clipping units. */
#include "test.h"

#include "cells.h"
#include "cells_ref.h"
#include "half.h"
#include "handle.h"
#include "train.h"
#include "safetensors.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- finite-difference gradient checks ----------------------------------------- */

/* Loss in double of a fixed batch; dropout masks are redrawn from the same seed so
 * every evaluation sees the same mask. */
static double loss_at(model *m, const int32_t *x, const int32_t *y, int b, int t, const float *h0, const float *c0) {
    model_set_states(m, 0, m->B, h0, c0);
    model_weights_changed(m); /* the caller moved a weight */
    rng r;
    rng_seed(&r, 99, 7);
    return model_forward(m, x, y, b, t, 1, &r);
}

static void gradcheck(charrnn_cell cell, int L, float dropout) {
    const int V = 5, H = 4, B = 3, T = 4;
    charrnn_model_config cfg = {.cell = cell, .num_layers = L, .rnn_size = H, .dropout = dropout};
    model m;
    charrnn_error err = {0};
    CHECK(model_init(&m, &cfg, V, &err) == 0);
    CHECK(model_alloc(&m, B, T, 1, &err) == 0);
    rng r;
    rng_seed(&r, 42, 0);
    /* larger weights than char-rnn's init so every path carries signal */
    float *params = model_params(&m);
    for (size_t i = 0; i < m.num_params; i++) params[i] = (rng_uniform(&r) - 0.5f) * 1.6f;
    int32_t x[T * B], y[T * B];
    for (int i = 0; i < T * B; i++) { x[i] = (int32_t)(rng_u32(&r) % V); y[i] = (int32_t)(rng_u32(&r) % V); }
    size_t sn = (size_t)L * B * H;
    float *h0 = malloc(sizeof(float) * sn), *c0 = malloc(sizeof(float) * sn);
    for (size_t i = 0; i < sn; i++) { h0[i] = rng_uniform(&r) - 0.5f; c0[i] = rng_uniform(&r) - 0.5f; }

    model_zero_grad(&m);
    loss_at(&m, x, y, B, T, h0, c0);
    model_backward(&m, x, y, B, T);
    /* Central differences in float32 parameters: eps 1e-2 keeps the rounding of the
     * loss (~1e-7) small against the step, the truncation error is O(eps^2).
     * Tolerance: |num - ana| <= 1e-4 + 2e-3 * |ana| for every parameter (observed
     * worst: 3.8e-5 absolute; 1.5e-3 relative where |ana| > 1e-3). */
    const float eps = 1e-2f;
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < m.num_params; i++) {
        float keep = params[i];
        params[i] = keep + eps;
        double lp = loss_at(&m, x, y, B, T, h0, c0);
        params[i] = keep - eps;
        double lm = loss_at(&m, x, y, B, T, h0, c0);
        params[i] = keep;
        double num = (lp - lm) / (2.0 * eps), ana = model_grads(&m)[i];
        double excess = fabs(num - ana) - (1e-4 + 2e-3 * fabs(ana));
        if (excess > worst) worst = excess;
        if (excess > 0 && bad++ < 5) {
            const char *name = "?";
            for (int v = 0; v < m.num_views; v++)
                if (i >= m.views[v].offset && i < m.views[v].offset + m.views[v].size) name = m.views[v].name;
            CHECKF(0, "%s L=%d dropout=%g: d/d %s[%zu]: numeric %.6g analytic %.6g", charrnn_cell_name(cell), L, dropout,
                   name, i, num, ana);
        }
    }
    CHECKF(bad == 0, "%d of %zu gradients off", bad, m.num_params);
    free(h0);
    free(c0);
    model_free(&m);
}

static void test_gradcheck_lstm(void) { gradcheck(CHARRNN_LSTM, 1, 0); gradcheck(CHARRNN_LSTM, 2, 0); }
static void test_gradcheck_gru(void) { gradcheck(CHARRNN_GRU, 1, 0); gradcheck(CHARRNN_GRU, 2, 0); }
static void test_gradcheck_rnn(void) { gradcheck(CHARRNN_RNN, 1, 0); gradcheck(CHARRNN_RNN, 2, 0); }
static void test_gradcheck_dropout(void) {
    gradcheck(CHARRNN_LSTM, 2, 0.3f);
    gradcheck(CHARRNN_GRU, 2, 0.3f);
    gradcheck(CHARRNN_RNN, 2, 0.3f);
}

/* ---- PyTorch reference fixtures ---------------------------------------------------- */

typedef struct fixture {
    st_file *f;
    model m;
    int V, H, L, B, T;
    charrnn_cell cell;
} fixture;

static void fixture_close(fixture *fx) {
    st_close(fx->f);
    model_free(&fx->m);
}

static const float *tensor_f32(const st_file *f, const char *name, size_t n) {
    const st_tensor *t = st_find(f, name);
    if (!CHECKF(t != NULL, "fixture tensor %s missing", name)) return NULL;
    if (!CHECKF(t->dtype == ST_F32 && t->nbytes == n * 4, "fixture tensor %s: dtype/size", name)) return NULL;
    return t->data; /* the harness copies data into aligned memory below when needed */
}

static void copy_f32(float *dst, const st_file *f, const char *name, size_t n) {
    const float *src = tensor_f32(f, name, n);
    if (src) memcpy(dst, src, n * 4);
    else memset(dst, 0, n * 4);
}

static void copy_i32(int32_t *dst, const st_file *f, const char *name, size_t n) {
    const st_tensor *t = st_find(f, name);
    if (CHECKF(t && t->dtype == ST_I32 && t->nbytes == n * 4, "fixture tensor %s", name)) memcpy(dst, t->data, n * 4);
    else memset(dst, 0, n * 4);
}

/* The fixture's network on backend bk: 1 where bk does not run here, -1 on a failure. */
static int fixture_open(fixture *fx, const char *cellname, const t_backend *bk) {
    char path[512], msg[512];
    snprintf(path, sizeof path, "%s/ref_%s.safetensors", t_fixtures(), cellname);
    fx->f = st_open(path, msg, sizeof msg);
    if (!CHECKF(fx->f != NULL, "%s", msg)) return -1;
    fx->V = atoi(st_get_meta(fx->f, "vocab_size"));
    fx->H = atoi(st_get_meta(fx->f, "hidden_size"));
    fx->L = atoi(st_get_meta(fx->f, "num_layers"));
    fx->B = atoi(st_get_meta(fx->f, "batch_size"));
    fx->T = atoi(st_get_meta(fx->f, "seq_length"));
    fx->cell = !strcmp(cellname, "lstm") ? CHARRNN_LSTM : !strcmp(cellname, "gru") ? CHARRNN_GRU : CHARRNN_RNN;
    charrnn_model_config cfg = {.cell = fx->cell, .num_layers = fx->L, .rnn_size = fx->H, .dropout = 0};
    charrnn_error err = {0};
    if (!CHECK(model_init(&fx->m, &cfg, fx->V, &err) == 0)) return -1;
    if (bk->use(&fx->m)) {
        fixture_close(fx);
        return 1;
    }
    if (!CHECK(model_alloc(&fx->m, fx->B, fx->T, 1, &err) == 0)) return -1;
    for (int i = 0; i < fx->m.num_views; i++) {
        const param_view *v = &fx->m.views[i];
        copy_f32(model_params(&fx->m) + v->offset, fx->f, v->name, v->size);
    }
    model_weights_changed(&fx->m);
    return 0;
}


/* Max |a-b| / (atol + rtol |b|) over n values: <= 1 passes. */
static void check_all_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(r <= worst)) { worst = r; at = i; }
    }
    CHECKF(worst <= 1.0, "%s: element %zu is %.9g, PyTorch %.9g (atol %g rtol %g)", what, at, a[at], b[at], atol, rtol);
}

/* Tolerances: forward values 1e-5 absolute + 1e-4 relative (float32 sums in a
 * different order than PyTorch's), gradients 1e-6 absolute + 1e-3 relative; on
 * another backend scaled by its tol. */
static void reference_single(const char *cellname, const t_backend *bk) {
    fixture fx;
    if (fixture_open(&fx, cellname, bk)) return;
    model *m = &fx.m;
    const double k = bk->tol;
    char what[96];
    const int TB = fx.T * fx.B;
    size_t sn = (size_t)fx.L * fx.B * fx.H;
    int32_t *x = malloc(sizeof(int32_t) * TB), *y = malloc(sizeof(int32_t) * TB);
    copy_i32(x, fx.f, "x", TB);
    copy_i32(y, fx.f, "y", TB);
    float *h = calloc(sn, sizeof(float)), *c = calloc(sn, sizeof(float));
    copy_f32(h, fx.f, "h0", sn);
    if (fx.cell == CHARRNN_LSTM) copy_f32(c, fx.f, "c0", sn);
    model_set_states(m, 0, fx.B, h, c);
    model_zero_grad(m);
    double loss = model_forward(m, x, y, fx.B, fx.T, 1, NULL);
    float ref_loss;
    copy_f32(&ref_loss, fx.f, "loss", 1);
    if (!CHECK_CLOSE(loss, ref_loss, 1e-6 * k, 1e-6 * k)) fprintf(stderr, "      (%s on %s)\n", cellname, bk->name);
    float *buf = malloc(sizeof(float) * (size_t)TB * fx.V + sizeof(float) * m->num_params);
    copy_f32(buf, fx.f, "logits", (size_t)TB * fx.V);
    snprintf(what, sizeof what, "%s on %s: logits", cellname, bk->name);
    check_all_close(what, model_logits(m, 0), buf, (size_t)TB * fx.V, 1e-5 * k, 1e-4 * k);
    model_get_states(m, 0, fx.B, h, c);
    copy_f32(buf, fx.f, "hT", sn);
    snprintf(what, sizeof what, "%s on %s: hT", cellname, bk->name);
    check_all_close(what, h, buf, sn, 1e-5 * k, 1e-4 * k);
    if (fx.cell == CHARRNN_LSTM) {
        copy_f32(buf, fx.f, "cT", sn);
        snprintf(what, sizeof what, "%s on %s: cT", cellname, bk->name);
        check_all_close(what, c, buf, sn, 1e-5 * k, 1e-4 * k);
    }
    model_backward(m, x, y, fx.B, fx.T);
    for (int i = 0; i < m->num_views; i++) {
        const param_view *v = &m->views[i];
        char name[64];
        snprintf(name, sizeof name, "grad.%s", v->name);
        copy_f32(buf, fx.f, name, v->size);
        snprintf(what, sizeof what, "%s on %s: %s", cellname, bk->name, name);
        check_all_close(what, model_grads(m) + v->offset, buf, v->size, 1e-6 * k, 1e-3 * k);
    }
    charrnn_error derr = {0};
    CHECKF(model_check(m, &derr) == 0, "%s on %s: %s", cellname, bk->name, derr.msg);
    free(buf);
    free(h);
    free(c);
    free(x);
    free(y);
    fixture_close(&fx);
}

/* Loss per step within 1e-5 absolute + 1e-5 relative; weights after 10 steps
 * within 1e-4 absolute + 1e-3 relative (the optimizers divide by small square
 * roots, so rounding differences grow step by step). */
static void reference_trajectory(const char *cellname, const char *traj, charrnn_optim kind, charrnn_clip_mode mode,
                                 const t_backend *bk) {
    fixture fx;
    if (fixture_open(&fx, cellname, bk)) return;
    const double k_tol = bk->tol;
    model *m = &fx.m;
    const int TB = fx.T * fx.B, steps = 10;
    charrnn_train_options o;
    charrnn_train_options_default(&o);
    o.optim = kind;
    o.learning_rate = atof(st_get_meta(fx.f, "lr"));
    o.decay_rate = atof(st_get_meta(fx.f, "rmsprop_alpha"));
    o.beta1 = atof(st_get_meta(fx.f, "beta1"));
    o.beta2 = atof(st_get_meta(fx.f, "beta2"));
    o.clip_mode = mode;
    o.grad_clip = atof(st_get_meta(fx.f, mode == CHARRNN_CLIP_NORM ? "clip_norm" : "grad_clip"));
    optim opt;
    charrnn_error err = {0};
    CHECK(optim_init(&opt, &o, m->num_params, &err) == 0);
    int32_t *xs = malloc(sizeof(int32_t) * TB * steps), *ys = malloc(sizeof(int32_t) * TB * steps);
    copy_i32(xs, fx.f, "traj.x", (size_t)TB * steps);
    copy_i32(ys, fx.f, "traj.y", (size_t)TB * steps);
    float ref[10];
    char name[96];
    snprintf(name, sizeof name, "%s.loss", traj);
    copy_f32(ref, fx.f, name, steps);
    model_reset_state(m);
    for (int k = 0; k < steps; k++) {
        double loss, norm;
        int rc = train_on_batch(m, &opt, &o, xs + k * TB, ys + k * TB, fx.B, fx.T, o.learning_rate, NULL, &loss, &norm);
        CHECK(rc == 0);
        if (!CHECK_CLOSE(loss, ref[k], 1e-5 * k_tol, 1e-5 * k_tol))
            fprintf(stderr, "      (%s %s step %d on %s)\n", cellname, traj, k, bk->name);
    }
    const char *finals[] = {"decoder.weight", "weight_hh_l0"};
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s.final.%s", traj, finals[i]);
        if (!st_find(fx.f, name)) continue;
        const param_view *v = model_find_param(m, finals[i]);
        float *buf = malloc(sizeof(float) * v->size);
        copy_f32(buf, fx.f, name, v->size);
        char what[160];
        snprintf(what, sizeof what, "%s on %s", name, bk->name);
        check_all_close(what, model_params(m) + v->offset, buf, v->size, 1e-4 * k_tol, 1e-3 * k_tol);
        free(buf);
    }
    charrnn_error derr = {0};
    CHECKF(model_check(m, &derr) == 0, "%s %s on %s: %s", cellname, traj, bk->name, derr.msg);
    optim_free(&opt);
    free(xs);
    free(ys);
    fixture_close(&fx);
}

/* every fixture once per backend this processor runs */
static void reference_all(const char *cellname) {
    for (int b = 0; b < t_num_backends; b++) reference_single(cellname, &t_backends[b]);
}
static void test_reference_lstm(void) { reference_all("lstm"); }
static void test_reference_gru(void) { reference_all("gru"); }
static void test_reference_rnn(void) { reference_all("rnn"); }
static void test_trajectory_all(void) {
    const char *cells[] = {"lstm", "gru", "rnn"};
    for (int b = 0; b < t_num_backends; b++)
        for (int c = 0; c < 3; c++) {
            reference_trajectory(cells[c], "traj_rmsprop", CHARRNN_RMSPROP, CHARRNN_CLIP_VALUE, &t_backends[b]);
            reference_trajectory(cells[c], "traj_adam", CHARRNN_ADAM, CHARRNN_CLIP_VALUE, &t_backends[b]);
            reference_trajectory(cells[c], "traj_rmsprop_clipnorm", CHARRNN_RMSPROP, CHARRNN_CLIP_NORM, &t_backends[b]);
        }
}

/* ---- units ----------------------------------------------------------------------- */

static void test_clip_value_and_norm(void) {
    float g[4] = {3, -7, 0.5f, 12};
    grad_clip(g, 4, 5, CHARRNN_CLIP_VALUE, 0);
    CHECK(g[0] == 3 && g[1] == -5 && g[2] == 0.5f && g[3] == 5);
    float h[2] = {3, 4}; /* norm 5 */
    grad_clip(h, 2, 1, CHARRNN_CLIP_NORM, grad_norm(h, 2));
    CHECK_CLOSE(grad_norm(h, 2), 1.0, 1e-5, 0);
    float k[2] = {0.3f, 0.4f}; /* norm 0.5 < 1: unchanged */
    grad_clip(k, 2, 1, CHARRNN_CLIP_NORM, grad_norm(k, 2));
    CHECK(k[0] == 0.3f && k[1] == 0.4f);
}

/* SGD and Adagrad are not in the PyTorch fixtures: check one step by hand. */
static void test_optim_sgd_adagrad(void) {
    charrnn_train_options o;
    charrnn_train_options_default(&o);
    charrnn_error err;
    optim opt;
    float p[2] = {1, -1}, g[2] = {0.5f, -2};
    o.optim = CHARRNN_SGD;
    CHECK(optim_init(&opt, &o, 2, &err) == 0);
    optim_update(&opt, p, g, 0.1);
    CHECK_CLOSE(p[0], 0.95, 1e-7, 0);
    CHECK_CLOSE(p[1], -0.8, 1e-7, 0);
    optim_free(&opt);
    o.optim = CHARRNN_ADAGRAD;
    CHECK(optim_init(&opt, &o, 2, &err) == 0);
    p[0] = 1; p[1] = -1;
    optim_update(&opt, p, g, 0.1); /* first step: p -= lr * g / |g| */
    CHECK_CLOSE(p[0], 0.9, 1e-6, 0);
    CHECK_CLOSE(p[1], -0.9, 1e-6, 0);
    optim_update(&opt, p, g, 0.1); /* second: accumulator 2 g^2 */
    CHECK_CLOSE(p[0], 0.9 - 0.1 / sqrt(2.0), 1e-6, 0);
    optim_free(&opt);
}

/* Evaluating with fewer streams/steps than allocated gives the same loss as a
 * model sized exactly (activations are laid out for the runtime b, t). */
static void test_partial_batch_matches(void) {
    charrnn_model_config cfg = {.cell = CHARRNN_LSTM, .num_layers = 2, .rnn_size = 8, .dropout = 0};
    model a, b;
    charrnn_error err;
    CHECK(model_init(&a, &cfg, 6, &err) == 0 && model_init(&b, &cfg, 6, &err) == 0);
    rng r;
    rng_seed(&r, 5, 0);
    model_init_weights(&a, &r);
    memcpy(model_params(&b), model_params(&a), sizeof(float) * a.num_params);
    model_weights_changed(&b);
    CHECK(model_alloc(&a, 7, 9, 0, &err) == 0 && model_alloc(&b, 2, 3, 0, &err) == 0);
    int32_t x[6] = {0, 1, 2, 3, 4, 5}, y[6] = {1, 2, 3, 4, 5, 0};
    model_reset_state(&a);
    model_reset_state(&b);
    double la = model_forward(&a, x, y, 2, 3, 0, NULL), lb = model_forward(&b, x, y, 2, 3, 0, NULL);
    CHECK(la == lb);
    model_free(&a);
    model_free(&b);
}

/* With several threads the recurrence runs blocks of streams on their own threads
 * (cpu_passes.c by_streams): the loss and every gradient must equal the one-thread run. */
static void test_stream_split_matches(void) {
#ifdef _OPENMP
    const charrnn_cell cells[3] = {CHARRNN_LSTM, CHARRNN_GRU, CHARRNN_RNN};
    for (int c = 0; c < 3; c++) {
        charrnn_model_config cfg = {.cell = cells[c], .num_layers = 2, .rnn_size = 24, .dropout = 0};
        const int V = 11, B = 32, T = 7;
        model m;
        charrnn_error err;
        CHECK(model_init(&m, &cfg, V, &err) == 0 && model_alloc(&m, B, T, 1, &err) == 0);
        rng r;
        rng_seed(&r, 9, 0);
        float *params = model_params(&m);
        for (size_t i = 0; i < m.num_params; i++) params[i] = (rng_uniform(&r) - 0.5f) * 0.8f;
        model_weights_changed(&m);
        int32_t x[B * T], y[B * T];
        for (int i = 0; i < B * T; i++) { x[i] = (int32_t)(rng_u32(&r) % V); y[i] = (int32_t)(rng_u32(&r) % V); }
        float *g1 = malloc(sizeof(float) * m.num_params);
        double loss[2];
        int saved = omp_get_max_threads();
        for (int k = 0; k < 2; k++) {
            omp_set_num_threads(k ? 4 : 1);
            model_reset_state(&m);
            model_zero_grad(&m);
            loss[k] = model_forward(&m, x, y, B, T, 1, NULL);
            model_backward(&m, x, y, B, T);
            if (k == 0) memcpy(g1, model_grads(&m), sizeof(float) * m.num_params);
        }
        omp_set_num_threads(saved);
        CHECK_CLOSE(loss[1], loss[0], 1e-7, 1e-6);
        check_all_close("gradients with streams split across threads", model_grads(&m), g1, m.num_params, 1e-7, 1e-5);
        free(g1);
        model_free(&m);
    }
#endif
}

/* The fused, vectorised kernels of cells.c against the element-by-element double
 * reference of cells_ref.c, on random inputs of odd sizes (vector tails), forward
 * and backward: within 2e-6 absolute + 2e-5 relative. */
static float *rnd(rng *r, size_t n, float scale) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = (rng_uniform(r) * 2 - 1) * scale;
    return v;
}
static float *dup(const float *v, size_t n) {
    float *d = malloc(sizeof(float) * n);
    memcpy(d, v, sizeof(float) * n);
    return d;
}
#define SAME(name, a, b, n) check_all_close(name, a, b, n, 2e-6, 2e-5)

static void test_cells_match_reference(void) {
    rng r;
    rng_seed(&r, 2024, 0);
    const int b = 5, H = 37;
    const size_t n = (size_t)b * H;
    /* LSTM */
    {
        float *g = rnd(&r, 4 * n, 3), *bias = rnd(&r, 4 * H, 1), *cp = rnd(&r, n, 2);
        float *g2 = dup(g, 4 * n), *c1 = rnd(&r, n, 1), *c2 = dup(c1, n), *t1 = rnd(&r, n, 1), *t2 = dup(t1, n);
        float *h1 = rnd(&r, n, 1), *h2 = dup(h1, n);
        lstm_cell_forward(g, bias, cp, c1, t1, h1, b, H);
        lstm_cell_forward_ref(g2, bias, cp, c2, t2, h2, b, H);
        SAME("lstm gates", g, g2, 4 * n);
        SAME("lstm c", c1, c2, n);
        SAME("lstm tanh(c)", t1, t2, n);
        SAME("lstm h", h1, h2, n);
        float *dh = rnd(&r, n, 1), *dc1 = rnd(&r, n, 1), *dc2 = dup(dc1, n), *dout = rnd(&r, n, 1);
        float *dg1 = rnd(&r, 4 * n, 1), *dg2 = rnd(&r, 4 * n, 1);
        lstm_cell_backward(dg1, dh, dc1, dout, g2, cp, t2, b, H);
        lstm_cell_backward_ref(dg2, dh, dc2, dout, g2, cp, t2, b, H);
        SAME("lstm dgates", dg1, dg2, 4 * n);
        SAME("lstm dc", dc1, dc2, n);
        float *all[] = {g, bias, cp, g2, c1, c2, t1, t2, h1, h2, dh, dc1, dc2, dout, dg1, dg2};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    }
    /* GRU */
    {
        float *gx = rnd(&r, 3 * n, 3), *gx2 = dup(gx, 3 * n), *bias = rnd(&r, 3 * H, 1), *gh = rnd(&r, 3 * n, 2);
        float *bhn = rnd(&r, H, 1), *hp = rnd(&r, n, 1), *hn1 = rnd(&r, n, 1), *hn2 = dup(hn1, n);
        float *h1 = rnd(&r, n, 1), *h2 = dup(h1, n);
        gru_cell_forward(gx, bias, gh, bhn, hp, hn1, h1, b, H);
        gru_cell_forward_ref(gx2, bias, gh, bhn, hp, hn2, h2, b, H);
        SAME("gru gates", gx, gx2, 3 * n);
        SAME("gru hn", hn1, hn2, n);
        SAME("gru h", h1, h2, n);
        float *dh1 = rnd(&r, n, 1), *dh2 = dup(dh1, n), *dout = rnd(&r, n, 1);
        float *dx1 = rnd(&r, 3 * n, 1), *dx2 = rnd(&r, 3 * n, 1), *dy1 = rnd(&r, 3 * n, 1), *dy2 = rnd(&r, 3 * n, 1);
        gru_cell_backward(dx1, dy1, dh1, dout, gx2, hn2, hp, b, H);
        gru_cell_backward_ref(dx2, dy2, dh2, dout, gx2, hn2, hp, b, H);
        SAME("gru dgates (input side)", dx1, dx2, 3 * n);
        SAME("gru dgates (hidden side)", dy1, dy2, 3 * n);
        SAME("gru dh", dh1, dh2, n);
        float *all[] = {gx, gx2, bias, gh, bhn, hp, hn1, hn2, h1, h2, dh1, dh2, dout, dx1, dx2, dy1, dy2};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    }
    /* RNN */
    {
        float *g = rnd(&r, n, 3), *bias = rnd(&r, H, 1), *h1 = rnd(&r, n, 1), *h2 = dup(h1, n);
        rnn_cell_forward(g, bias, h1, b, H);
        rnn_cell_forward_ref(g, bias, h2, b, H);
        SAME("rnn h", h1, h2, n);
        float *dh = rnd(&r, n, 1), *dout = rnd(&r, n, 1), *d1 = rnd(&r, n, 1), *d2 = rnd(&r, n, 1);
        rnn_cell_backward(d1, dh, dout, h2, b, H);
        rnn_cell_backward_ref(d2, dh, dout, h2, b, H);
        SAME("rnn dgates", d1, d2, n);
        float *all[] = {g, bias, h1, h2, dh, dout, d1, d2};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    }
}

/* The half-precision matrix-vector product against double sums over the same
 * rounded weights (odd sizes for the masked tails), and a sampling step with half
 * weights against full precision: probabilities within 2e-3. */
static void test_half_precision(void) {
    if (!half_supported()) { t_skip("no AVX-512F/F16C in this build"); return; }
    rng r;
    rng_seed(&r, 77, 0);
    const int sizes[3][2] = {{37, 53}, {512, 128}, {5, 16}};
    for (int k = 0; k < 3; k++) {
        int M = sizes[k][0], N = sizes[k][1];
        float *w = rnd(&r, (size_t)M * N, 1), *x = rnd(&r, (size_t)N, 1), *y = rnd(&r, (size_t)M, 1), *y0 = dup(y, (size_t)M);
        uint16_t *h = malloc(sizeof(uint16_t) * (size_t)M * N);
        half_from_float(h, w, (size_t)M * N);
        for (int i = 0; i < M * N; i++)
            if (!CHECK_CLOSE(half_to_float(h[i]), w[i], 0, 1.0 / 2048)) break;
        gemv_half(y, h, x, M, N, 0.5f);
        float *ref = malloc(sizeof(float) * (size_t)M);
        for (int i = 0; i < M; i++) {
            double acc = 0;
            for (int j = 0; j < N; j++) acc += (double)half_to_float(h[(size_t)i * N + j]) * x[j];
            ref[i] = (float)(acc + 0.5 * y0[i]);
        }
        check_all_close("gemv_half", y, ref, (size_t)M, 1e-5, 1e-5);
        free(w); free(x); free(y); free(y0); free(h); free(ref);
    }
    charrnn_model_config cfg = {.cell = CHARRNN_LSTM, .num_layers = 2, .rnn_size = 64, .dropout = 0};
    model m, full, half;
    charrnn_error err;
    CHECK(model_init(&m, &cfg, 30, &err) == 0);
    float *params = model_params(&m);
    for (size_t i = 0; i < m.num_params; i++) params[i] = (rng_uniform(&r) - 0.5f) * 0.6f;
    model_weights_changed(&m);
    CHECK(model_view(&full, &m, 1, 1, &err) == 0 && model_view(&half, &m, 1, 1, &err) == 0);
    CHECK(model_use_half(&half, &err) == 0);
    model_reset_state(&full);
    model_reset_state(&half);
    for (int step = 0; step < 20; step++) {
        int32_t x = (int32_t)(step * 7 % 30);
        model_forward(&full, &x, NULL, 1, 1, 0, NULL);
        model_forward(&half, &x, NULL, 1, 1, 0, NULL);
    }
    check_all_close("probabilities with half weights", model_probs(&half, 0), model_probs(&full, 0), 30, 2e-3, 0);
    model_view_free(&full);
    model_view_free(&half);
    model_free(&m);
}

void register_model_tests(void) {
    t_register("model_half_precision", test_half_precision);
    t_register("model_cells_match_reference", test_cells_match_reference);
    t_register("model_stream_split_matches", test_stream_split_matches);
    t_register("model_gradcheck_lstm", test_gradcheck_lstm);
    t_register("model_gradcheck_gru", test_gradcheck_gru);
    t_register("model_gradcheck_rnn", test_gradcheck_rnn);
    t_register("model_gradcheck_dropout", test_gradcheck_dropout);
    t_register("model_reference_lstm", test_reference_lstm);
    t_register("model_reference_gru", test_reference_gru);
    t_register("model_reference_rnn", test_reference_rnn);
    t_register("model_reference_trajectories", test_trajectory_all);
    t_register("model_clip", test_clip_value_and_norm);
    t_register("model_optim_sgd_adagrad", test_optim_sgd_adagrad);
    t_register("model_partial_batch", test_partial_batch_matches);
}
