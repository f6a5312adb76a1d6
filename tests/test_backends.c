/* test_backends.c: the backend seam (backend.h). The same steps run through two
 * backends and every tensor is compared: logits, loss, the state after forward,
 * every gradient, the parameters after an optimizer step, for LSTM, GRU and RNN
 * with dropout. Today CPU float32 against itself through the table (after a round
 * trip through the other variant: bit for bit) and against CPU bfloat16 (within
 * bf16's rounding); a new backend adds a line to t_backends and one comparison.
 * t_backends is also the list the PyTorch fixture tests (test_model.c) loop over.
 * The CUDA backend (make CUDA=1) against the CPU, against itself on a rerun, and
 * over 100 training steps, where a GPU is; a named skip elsewhere. */
#include "test.h"

#include "bf16.h"
#include "cpu_backend.h"
#include "model.h"
#include "philox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int use_fp32(model *m) {
    charrnn_error err;
    return model_set_bf16(m, 0, &err) ? -1 : 0;
}

static int use_bf16(model *m) {
    charrnn_error err;
    return bf16_supported() && !model_set_bf16(m, 1, &err) ? 0 : -1;
}

/* float32 there and back: the table switches, the state stays */
static int use_fp32_round_trip(model *m) {
    charrnn_error err;
    return use_bf16(m) || model_set_bf16(m, 0, &err) ? -1 : 0;
}

/* the CUDA backend on GPU 0: -1 where this build or machine has none (a named skip,
 * test_cuda_*); a GPU that is there but refuses the model is a failure */
static int use_cuda(model *m) {
    if (model_cuda_devices() == 0) return -1;
    charrnn_error err = {0};
    return CHECKF(model_use_cuda(m, 0, &err) == 0, "the model does not move to the GPU: %s", err.msg) ? 0 : -1;
}

/* the CUDA backend's variants: TF32 or bf16 products (tensor cores) */
static int use_cuda_bf16(model *m) {
    charrnn_error err = {0};
    if (use_cuda(m)) return -1;
    return CHECKF(model_set_bf16(m, 1, &err) == 0 && !strcmp(model_backend_name(m), "cuda-bf16"),
                  "the model does not switch to cuda-bf16: %s", err.msg) ? 0 : -1;
}

static int use_cuda_tf32(model *m) {
#ifdef CHARRNN_CUDA
    charrnn_error err = {0};
    if (use_cuda(m)) return -1;
    return CHECKF(cuda_set_variant(m, &cuda_tf32_ops, &err) == 0 && !strcmp(model_backend_name(m), "cuda-tf32"),
                  "the model does not switch to cuda-tf32: %s", err.msg) ? 0 : -1;
#else
    (void)m;
    return -1;
#endif
}

/* bf16 rounds each product's operands to 8 bits of mantissa: about 2^-9 relative
 * per product, against float32's 2^-24 summed in a different order; TF32 to 11 bits */
const t_backend t_backends[] = {
    {"cpu-fp32", use_fp32, 1},
    {"cpu-bf16", use_bf16, 300},
    /* float32 too, but every sum in another order (cuBLAS, tree reductions) and the GPU's expf and tanhf */
    {"cuda-fp32", use_cuda, 4},
    {"cuda-tf32", use_cuda_tf32, 150},
    {"cuda-bf16", use_cuda_bf16, 300},
};
const int t_num_backends = (int)(sizeof t_backends / sizeof t_backends[0]);

enum { V = 13, H = 24, L = 2, B = 5, T = 6 };

/* Everything one run of the steps leaves, on the host. */
typedef struct outputs {
    double loss;
    float logits[T * B * V], probs[T * B * V];
    float h[L * B * H], c[L * B * H];   /* the carried state after forward */
    float *grads, *params;             /* the gradients; the parameters after one clipped SGD step */
    size_t n;
} outputs;

/* On backend bk: fixed weights and starting state, one forward with dropout,
 * backward, one optimizer step. 1: bk does not run here. */
static int run_steps(const t_backend *bk, charrnn_cell cell, outputs *o) {
    charrnn_model_config cfg = {.cell = cell, .num_layers = L, .rnn_size = H, .dropout = 0.25f};
    model m;
    charrnn_error err = {0};
    if (!CHECK(model_init(&m, &cfg, V, &err) == 0)) return -1;
    if (bk->use(&m)) {
        model_free(&m);
        return 1;
    }
    CHECK(model_alloc(&m, B, T, 1, &err) == 0);
    rng r;
    rng_seed(&r, 31, 4);
    model_init_weights(&m, &r);
    float *p = model_params(&m);
    for (size_t i = 0; i < m.num_params; i++) p[i] += (rng_uniform(&r) - 0.5f) * 0.5f; /* every path carries signal */
    model_weights_changed(&m);
    float h0[L * B * H], c0[L * B * H];
    for (int i = 0; i < L * B * H; i++) { h0[i] = rng_uniform(&r) - 0.5f; c0[i] = rng_uniform(&r) - 0.5f; }
    model_set_states(&m, 0, B, h0, c0);
    int32_t x[T * B], y[T * B];
    for (int i = 0; i < T * B; i++) { x[i] = (int32_t)(rng_u32(&r) % V); y[i] = (int32_t)(rng_u32(&r) % V); }

    rng drop;
    rng_seed(&drop, 7, 7); /* the same masks on every backend */
    model_zero_grad(&m);
    o->loss = model_forward(&m, x, y, B, T, 1, &drop);
    for (size_t row = 0; row < (size_t)T * B; row++) {
        memcpy(o->logits + row * V, model_logits(&m, row), sizeof(float) * V);
        memcpy(o->probs + row * V, model_probs(&m, row), sizeof(float) * V);
    }
    model_get_states(&m, 0, B, o->h, o->c);
    model_backward(&m, x, y, B, T);
    charrnn_error derr = {0};
    CHECKF(model_check(&m, &derr) == 0, "%s: %s", bk->name, derr.msg);
    o->n = m.num_params;
    o->grads = malloc(sizeof(float) * m.num_params);
    o->params = malloc(sizeof(float) * m.num_params);
    memcpy(o->grads, model_grads(&m), sizeof(float) * m.num_params);
    /* SGD: the step is linear in the gradient (RMSProp's first step is its sign) */
    charrnn_train_options opt;
    charrnn_train_options_default(&opt);
    opt.optim = CHARRNN_SGD;
    optim sgd;
    CHECK(optim_init(&sgd, &opt, m.num_params, &err) == 0);
    model_moments_from_host(&m, &sgd);
    model_clip_grad(&m, 1.0, CHARRNN_CLIP_NORM, model_grad_norm(&m));
    model_optim_step(&m, &sgd, 0.5);
    memcpy(o->params, model_params(&m), sizeof(float) * m.num_params);
    CHECKF(model_check(&m, &derr) == 0, "%s: %s", bk->name, derr.msg);
    optim_free(&sgd);
    model_free(&m);
    return 0;
}

/* Max |a-b| / (atol + rtol |b|) over n values: <= 1 passes (0 and 0: bit for bit). */
static void close_all(const char *what, const float *a, const float *b, size_t n, double atol, double rtol) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int same = memcmp(&a[i], &b[i], sizeof(float)) == 0;
        double r = same ? 0 : atol + rtol == 0 ? INFINITY : fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(r <= worst)) { worst = r; at = i; }
    }
    CHECKF(worst <= 1.0, "%s: element %zu is %.9g against %.9g (atol %g rtol %g)", what, at, a[at], b[at], atol, rtol);
}

/* The same steps through backends a and b, every tensor compared; k scales the
 * tolerances (0: bit for bit). */
static void compare_backends(const t_backend *a, const t_backend *b, double k) {
    static const charrnn_cell cells[] = {CHARRNN_LSTM, CHARRNN_GRU, CHARRNN_RNN};
    for (int ci = 0; ci < 3; ci++) {
        outputs *oa = calloc(1, sizeof *oa), *ob = calloc(1, sizeof *ob);
        int ra = run_steps(a, cells[ci], oa), rb = run_steps(b, cells[ci], ob);
        if (ra > 0 || rb > 0) {
            static char why[96]; /* t_skip keeps the pointer */
            snprintf(why, sizeof why, "backend %s does not run here", ra > 0 ? a->name : b->name);
            t_skip(why);
        } else if (!ra && !rb) {
            char what[128];
#define COMPARE(label, field, n, atol, rtol)                                                                            \
    snprintf(what, sizeof what, "%s, %s against %s: %s", charrnn_cell_name(cells[ci]), b->name, a->name, label);        \
    close_all(what, ob->field, oa->field, n, (atol) * k, (rtol) * k)
            CHECKF(k ? fabs(ob->loss - oa->loss) <= 1e-5 * k * oa->loss : ob->loss == oa->loss,
                   "%s: loss %.9g on %s, %.9g on %s", charrnn_cell_name(cells[ci]), ob->loss, b->name, oa->loss, a->name);
            COMPARE("logits", logits, (size_t)T * B * V, 1e-5, 1e-4);
            COMPARE("probabilities", probs, (size_t)T * B * V, 1e-6, 1e-4);
            COMPARE("h after forward", h, (size_t)L * B * H, 1e-5, 1e-4);
            COMPARE("c after forward", c, (size_t)L * B * H, 1e-5, 1e-4);
            /* gradients: against the largest of each tensor (small ones are differences of
             * large products, which bf16 rounds), and as a direction */
            charrnn_model_config cfg = {.cell = cells[ci], .num_layers = L, .rnn_size = H};
            model shape;
            charrnn_error err;
            CHECK(model_init(&shape, &cfg, V, &err) == 0);
            for (int i = 0; i < shape.num_views; i++) {
                const param_view *v = &shape.views[i];
                double big = 0, dot = 0, na = 0, nb = 0;
                for (size_t j = 0; j < v->size; j++) {
                    const double ga = oa->grads[v->offset + j], gb = ob->grads[v->offset + j];
                    big = fmax(big, fabs(ga));
                    dot += ga * gb, na += ga * ga, nb += gb * gb;
                }
                CHECKF(na == nb && dot == na ? 1 : dot / sqrt(na * nb) > 1 - 2e-5 * k, "%s, %s: the gradient of %s "
                       "is at cosine %.6f of %s's", charrnn_cell_name(cells[ci]), b->name, v->name, dot / sqrt(na * nb),
                       a->name);
                snprintf(what, sizeof what, "%s, %s against %s: gradient of %s", charrnn_cell_name(cells[ci]), b->name,
                         a->name, v->name);
                close_all(what, ob->grads + v->offset, oa->grads + v->offset, v->size, 2e-4 * big * k, 1e-4 * k);
            }
            model_free(&shape);
            COMPARE("parameters after an optimizer step", params, oa->n, 1e-6, 1e-5);
#undef COMPARE
        }
        free(oa->grads);
        free(oa->params);
        free(ob->grads);
        free(ob->params);
        free(oa);
        free(ob);
    }
}

static void test_fp32_through_the_table(void) {
    compare_backends(&t_backends[0], &t_backends[0], 0); /* deterministic */
    if (bf16_supported()) /* a switch to the other variant and back changes nothing */
        compare_backends(&t_backends[0], &(t_backend){"cpu-fp32 after cpu-bf16", use_fp32_round_trip, 1}, 0);
}

static void test_fp32_against_bf16(void) {
    if (!bf16_supported()) { t_skip("this processor has no AVX512-BF16"); return; }
    compare_backends(&t_backends[0], &t_backends[1], t_backends[1].tol);
}

/* The entry points that move data across the seam: state in and out per layer and
 * range of streams, logits in (their probabilities follow, uniform for zeros,
 * exactly 1/V), and a view that reads the owner's weights after they change. */
static void test_entry_points(void) {
    for (int b = 0; b < t_num_backends; b++) {
        const t_backend *bk = &t_backends[b];
        charrnn_model_config cfg = {.cell = CHARRNN_LSTM, .num_layers = L, .rnn_size = H, .dropout = 0};
        model m, view;
        charrnn_error err;
        CHECK(model_init(&m, &cfg, V, &err) == 0);
        if (bk->use(&m)) { model_free(&m); continue; }
        CHECK(model_alloc(&m, B, T, 0, &err) == 0);
        rng r;
        rng_seed(&r, 3, 3);
        model_init_weights(&m, &r);
        float h[L * B * H], c[L * B * H], h2[H], c2[H];
        for (int i = 0; i < L * B * H; i++) { h[i] = (float)i; c[i] = -(float)i; }
        model_set_states(&m, 0, B, h, c);
        model_get_state(&m, 1, 3, 1, h2, c2); /* layer 1, stream 3: element (1, 3, 0) of (L, B, H) */
        CHECKF(h2[0] == (float)((1 * B + 3) * H) && c2[H - 1] == -(float)((1 * B + 3) * H + H - 1),
               "%s: a stream's state read back is %g, %g", bk->name, h2[0], c2[H - 1]);
        model_reset_state(&m);
        model_get_states(&m, 0, B, h, c);
        int zero = 1;
        for (int i = 0; i < L * B * H; i++) zero &= h[i] == 0 && c[i] == 0;
        CHECKF(zero, "%s: reset leaves a non-zero state", bk->name);
        float z[V] = {0};
        model_set_logits(&m, 2, z);
        const float *p = model_probs(&m, 2);
        int uniform = 1;
        for (int v = 0; v < V; v++) uniform &= p[v] == 1.0f / (float)V;
        CHECKF(uniform, "%s: the probabilities of zero logits are not exactly 1/V (%.9g)", bk->name, p[0]);
        /* a view follows its owner's weights */
        CHECK(model_view(&view, &m, 1, 1, &err) == 0);
        int32_t x = 4;
        model_reset_state(&view);
        model_forward(&view, &x, NULL, 1, 1, 0, NULL);
        float before[V];
        memcpy(before, model_probs(&view, 0), sizeof before);
        model_params(&m)[model_find_param(&m, "decoder.bias")->offset + 1] += 3.0f;
        model_weights_changed(&m);
        model_reset_state(&view);
        model_forward(&view, &x, NULL, 1, 1, 0, NULL);
        CHECKF(model_probs(&view, 0)[1] > before[1], "%s: a view did not see its owner's new weights", bk->name);
        model_view_free(&view);
        model_free(&m);
    }
}

/* Backward differentiates the forward before it: after a forward without dropout (train 0, as
 * dynamic evaluation runs) a network trained with dropout, whose masks are allocated, gets the
 * gradients of the same network without dropout, bit for bit, on every backend. */
static void test_backward_follows_forward(void) {
    for (int k = 0; k < t_num_backends; k++)
        for (int cell = 0; cell < 3; cell++) {
            const t_backend *bk = &t_backends[k];
            float *g[2] = {NULL, NULL};
            size_t n = 0;
            int ran = 1;
            for (int v = 0; v < 2 && ran; v++) {
                charrnn_model_config cfg = {.cell = (charrnn_cell)cell, .num_layers = L, .rnn_size = H, .dropout = v ? 0.5f : 0};
                model m;
                charrnn_error err = {0};
                if (!CHECK(model_init(&m, &cfg, V, &err) == 0)) return;
                if (bk->use(&m)) { model_free(&m); ran = 0; break; }
                CHECK(model_alloc(&m, B, T, 1, &err) == 0);
                rng r;
                rng_seed(&r, 5, 5);
                model_init_weights(&m, &r);
                model_weights_changed(&m);
                int32_t x[T * B], y[T * B];
                for (int i = 0; i < T * B; i++) { x[i] = (int32_t)(rng_u32(&r) % V); y[i] = (int32_t)(rng_u32(&r) % V); }
                rng drop;
                rng_seed(&drop, 9, 9);
                model_forward(&m, x, y, B, T, 1, &drop); /* a training step first: the masks hold something */
                model_zero_grad(&m);
                model_reset_state(&m);
                model_forward(&m, x, y, B, T, 0, NULL);
                model_backward(&m, x, y, B, T);
                n = m.num_params;
                g[v] = malloc(sizeof(float) * n);
                memcpy(g[v], model_grads(&m), sizeof(float) * n);
                model_free(&m);
            }
            if (ran) CHECKF(!memcmp(g[0], g[1], sizeof(float) * n), "%s, cell %d: backward after a forward without dropout "
                            "went through the dropout masks", bk->name, cell);
            free(g[0]);
            free(g[1]);
        }
}

/* ---- the optimizers and clipping, on every backend ---- */

/* model_sum_grad's hook, used to write chosen gradients: step g_step's values, of three
 * magnitudes (clipping at 5 clamps the largest) */
static int g_step;
static void chosen_grads(float *x, size_t n) {
    rng r;
    rng_seed(&r, (uint64_t)g_step, 3);
    static const float mag[3] = {1e-3f, 1.0f, 30.0f};
    for (size_t i = 0; i < n; i++) x[i] = (rng_uniform(&r) - 0.5f) * mag[i % 3];
}

typedef struct stepped { float *params2, *params, *m1, *m2; double norm; size_t n; } stepped;

/* Four steps of optimizer kind on backend bk from fixed weights and chosen gradients, clipped by
 * value (steps 1, 2, 4) or by norm (step 3), with weight decay wd on the weight matrices; the
 * fourth after the moments went to the host and back. 1: bk does not run here. */
static int optim_steps(const t_backend *bk, charrnn_optim kind, double wd, stepped *out) {
    charrnn_model_config cfg = {.cell = CHARRNN_LSTM, .num_layers = L, .rnn_size = H};
    model m;
    charrnn_error err = {0};
    if (!CHECK(model_init(&m, &cfg, V, &err) == 0)) return -1;
    if (bk->use(&m)) { model_free(&m); return 1; }
    CHECK(model_alloc(&m, B, T, 1, &err) == 0);
    rng r;
    rng_seed(&r, 2, 2);
    model_init_weights(&m, &r);
    charrnn_train_options opt;
    charrnn_train_options_default(&opt);
    opt.optim = kind;
    opt.weight_decay = wd;
    optim o;
    CHECK(optim_init(&o, &opt, m.num_params, &err) == 0);
    for (int i = 0; i < m.num_views; i++)
        if (m.views[i].ndim == 2) CHECK(optim_decay_range(&o, m.views[i].offset, m.views[i].size) == 0);
    for (g_step = 1; g_step <= 4; g_step++) {
        if (g_step == 4) {
            model_moments_to_host(&m, &o);
            for (size_t i = 0; o.m1 && i < o.n; i++) o.m1[i] *= 0.5f; /* what comes back is what the step uses */
            model_moments_from_host(&m, &o);
        }
        model_zero_grad(&m);
        model_sum_grad(&m, chosen_grads);
        const double norm = model_grad_norm(&m);
        if (g_step == 3) out->norm = norm;
        model_clip_grad(&m, g_step == 3 ? 1.0 : 5.0, g_step == 3 ? CHARRNN_CLIP_NORM : CHARRNN_CLIP_VALUE, norm);
        model_optim_step(&m, &o, 0.01);
        if (g_step == 2) {
            out->params2 = malloc(sizeof(float) * m.num_params);
            memcpy(out->params2, model_params(&m), sizeof(float) * m.num_params);
        }
    }
    model_moments_to_host(&m, &o);
    charrnn_error derr = {0};
    CHECKF(model_check(&m, &derr) == 0, "%s: %s", bk->name, derr.msg);
    out->n = m.num_params;
    out->params = malloc(sizeof(float) * out->n);
    memcpy(out->params, model_params(&m), sizeof(float) * out->n);
    out->m1 = o.m1;
    out->m2 = o.m2;
    model_free(&m);
    return 0;
}

/* Every backend steps as the CPU: the same update rule (optim_rules.h) on the same numbers gives
 * the same bits, moments included, with weight decay and without; the step clipped by norm only
 * within the norm's rounding (its sum runs in another order). */
static void test_optimizers_step_alike(void) {
    static const charrnn_optim kinds[] = {CHARRNN_RMSPROP, CHARRNN_ADAM, CHARRNN_ADAGRAD, CHARRNN_SGD};
    for (int b = 0; b < t_num_backends; b++)
        for (int k = 0; k < 8; k++) {
            stepped a = {0}, c = {0};
            const double wd = k < 4 ? 0 : 0.5;
            if (optim_steps(&t_backends[0], kinds[k % 4], wd, &a) || optim_steps(&t_backends[b], kinds[k % 4], wd, &c)) {
                free(a.params2), free(a.params), free(a.m1), free(a.m2);
                continue;
            }
            char what[128];
            snprintf(what, sizeof what, "optimizer %d, weight decay %g, on %s: parameters after 2 steps", (int)kinds[k % 4],
                     wd, t_backends[b].name);
            close_all(what, c.params2, a.params2, a.n, 0, 0);
            snprintf(what, sizeof what, "optimizer %d, weight decay %g, on %s: parameters after 4 steps", (int)kinds[k % 4],
                     wd, t_backends[b].name);
            close_all(what, c.params, a.params, a.n, 1e-7, 1e-6);
            if (a.m1) close_all(what, c.m1, a.m1, a.n, 1e-9, 1e-6);
            if (a.m2) close_all(what, c.m2, a.m2, a.n, 1e-9, 1e-6);
            CHECKF(fabs(c.norm - a.norm) <= 1e-12 * a.norm && a.norm > 1, "%s: the norm %.17g, the CPU's %.17g",
                   t_backends[b].name, c.norm, a.norm);
            free(a.params2), free(a.params), free(a.m1), free(a.m2), free(c.params2), free(c.params), free(c.m1), free(c.m2);
        }
}

/* ---- dropout masks: Philox4x32-10 (philox.h), the same on every backend ---- */

/* Random123's known answers (its tests/kat_vectors, "philox4x32 10": counter, key, result) */
static void test_philox_known_answers(void) {
    static const struct { uint32_t c[4], k[2], want[4]; } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int i = 0; i < 3; i++) {
        philox4 c = {{kat[i].c[0], kat[i].c[1], kat[i].c[2], kat[i].c[3]}};
        philox4 w = philox4x32_10(c, kat[i].k[0], kat[i].k[1]);
        for (int j = 0; j < 4; j++)
            CHECKF(w.v[j] == kat[i].want[j], "Philox4x32-10 known answer %d, word %d: %08x, not %08x", i, j, w.v[j], kat[i].want[j]);
    }
}

/* The masks' statistics: the kept share is 1 - p within 5 sigma, for each layer and key; the
 * layers' masks and two keys' masks are independent (both kept: (1 - p)^2); masks hold 0 or 1/(1 - p). */
static void test_dropout_mask_statistics(void) {
    enum { N = 1 << 18 };
    const float keep = 0.7f, scale = 1.0f / keep;
    static float mk[3][N];
    const uint64_t keys[2] = {0, 0x0123456789abcdefULL};
    for (int k = 0; k < 2; k++) {
        for (int l = 0; l < 2; l++)
            for (uint64_t q = 0; q < N / 4; q++) dropout_mask4(keys[k], l, q, keep, scale, mk[l] + 4 * q);
        for (uint64_t q = 0; q < N / 4; q++) dropout_mask4(keys[1 - k], 0, q, keep, scale, mk[2] + 4 * q);
        double kept[3] = {0}, both01 = 0, both02 = 0;
        int values_ok = 1;
        for (int i = 0; i < N; i++) {
            for (int l = 0; l < 3; l++) {
                kept[l] += mk[l][i] != 0;
                values_ok &= mk[l][i] == 0 || mk[l][i] == scale;
            }
            both01 += mk[0][i] != 0 && mk[1][i] != 0;
            both02 += mk[0][i] != 0 && mk[2][i] != 0;
        }
        CHECKF(values_ok, "key %d: a mask holds something other than 0 and 1/keep", k);
        const double sd1 = sqrt(keep * (1 - keep) / N), p2 = (double)keep * keep, sd2 = sqrt(p2 * (1 - p2) / N);
        for (int l = 0; l < 3; l++)
            CHECKF(fabs(kept[l] / N - keep) < 5 * sd1, "key %d, mask %d: %.5f kept, not %.2f", k, l, kept[l] / N, keep);
        CHECKF(fabs(both01 / N - p2) < 5 * sd2, "key %d: layers 0 and 1 both keep %.5f, not %.4f", k, both01 / N, p2);
        CHECKF(fabs(both02 / N - p2) < 5 * sd2, "key %d: two keys both keep %.5f, not %.4f", k, both02 / N, p2);
    }
}

/* The CPU's forward: each layer's mask is Philox's (element i: word i % 4 of counter {i / 4, l}, a
 * size that leaves a tail of one), from one key per forward: the generator moves by two draws,
 * whatever the sizes (a checkpoint's generator state resumes exactly) */
static void test_dropout_masks_from_philox(void) {
    enum { Vd = 11, Hd = 7, Ld = 2, Bd = 3, Td = 5 };
    charrnn_model_config cfg = {.cell = CHARRNN_GRU, .num_layers = Ld, .rnn_size = Hd, .dropout = 0.4f};
    model m;
    charrnn_error err;
    if (!CHECK(model_init(&m, &cfg, Vd, &err) == 0)) return;
    CHECK(model_alloc(&m, Bd, Td, 1, &err) == 0);
    rng r, after;
    rng_seed(&r, 1, 2);
    model_init_weights(&m, &r);
    model_weights_changed(&m);
    int32_t x[Td * Bd], y[Td * Bd];
    for (int i = 0; i < Td * Bd; i++) x[i] = y[i] = (int32_t)(rng_u32(&r) % Vd);
    for (int pass = 0; pass < 2; pass++) {
        after = r;
        const uint64_t key = dropout_key(&after);
        model_forward(&m, x, y, Bd, Td, 1, &r);
        CHECKF(r.state == after.state, "pass %d: a forward with dropout moved the generator by more than one key", pass);
        const float keep = 1.0f - cfg.dropout;
        const size_t n = (size_t)Td * Bd * Hd;
        int same = 1, dropped = 0;
        for (int l = 0; l < Ld; l++)
            for (size_t i = 0; i < n; i++) {
                float mk[4];
                dropout_mask4(key, l, i / 4, keep, 1.0f / keep, mk);
                same &= cpu_of(&m)->a[l].mask[i] == mk[i % 4];
                dropped += mk[i % 4] == 0;
            }
        CHECKF(same, "pass %d: the CPU's dropout masks are not Philox's", pass);
        CHECKF(dropped > 0 && dropped < Ld * (int)n, "pass %d: %d of %zu dropped", pass, dropped, Ld * n);
    }
    model_free(&m);
}

/* ---- the CUDA backend (a build with make CUDA=1, on a machine with a GPU) ---- */

static const t_backend *cuda_backend(void) {
    for (int b = 0; b < t_num_backends; b++)
        if (!strcmp(t_backends[b].name, "cuda-fp32")) return &t_backends[b];
    return NULL;
}

/* 1 when the CUDA cases cannot run here, with the skip named */
static int no_gpu(void) {
#ifndef CHARRNN_CUDA
    t_skip("this build has no CUDA backend (make CUDA=1): the GPU's cases did not run");
    return 1;
#else
    if (model_cuda_devices() == 0) {
        t_skip("no GPU: the CUDA backend's cases (against the CPU, reruns, the PyTorch fixtures) did not run");
        return 1;
    }
    return 0;
#endif
}

/* every tensor of the steps, LSTM, GRU and RNN with dropout (the same masks): CPU float32 against
 * each of the GPU's variants, within the variant's tolerance */
static void test_cuda_against_cpu(void) {
    if (no_gpu()) return;
    for (int b = 0; b < t_num_backends; b++)
        if (!strncmp(t_backends[b].name, "cuda-", 5)) compare_backends(&t_backends[0], &t_backends[b], t_backends[b].tol);
}

/* the same seed and steps twice on each of the GPU's variants: the same bits (no reduction whose order varies) */
static void test_cuda_rerun_identical(void) {
    if (no_gpu()) return;
    for (int b = 0; b < t_num_backends; b++)
        if (!strncmp(t_backends[b].name, "cuda-", 5)) compare_backends(&t_backends[b], &t_backends[b], 0);
}

/* 100 training steps (RMSProp, norm clipping, dropout, the state carried) on the CPU
 * and on the GPU from the same weights: the losses stay together */
static int train_steps(const t_backend *bk, charrnn_cell cell, int steps, float *loss_out, float *params_out,
                          size_t *n_out) {
    charrnn_model_config cfg = {.cell = cell, .num_layers = L, .rnn_size = H, .dropout = 0.25f};
    model m;
    charrnn_error err = {0};
    if (!CHECK(model_init(&m, &cfg, V, &err) == 0)) return -1;
    if (bk->use(&m)) { model_free(&m); return -1; }
    CHECK(model_alloc(&m, B, T, 1, &err) == 0);
    rng r, drop;
    rng_seed(&r, 5, 1);
    rng_seed(&drop, 9, 2);
    model_init_weights(&m, &r);
    model_reset_state(&m);
    charrnn_train_options opt;
    charrnn_train_options_default(&opt);
    opt.clip_mode = CHARRNN_CLIP_NORM;
    opt.grad_clip = 5;
    optim o;
    CHECK(optim_init(&o, &opt, m.num_params, &err) == 0);
    int32_t x[T * B], y[T * B];
    for (int k = 0; k < steps; k++) {
        for (int i = 0; i < T * B; i++) { /* a learnable sequence: y follows x */
            x[i] = (int32_t)(rng_u32(&r) % V);
            y[i] = (x[i] * 3 + 1) % V;
        }
        model_zero_grad(&m);
        loss_out[k] = (float)model_forward(&m, x, y, B, T, 1, &drop);
        model_backward(&m, x, y, B, T);
        double norm = model_grad_norm(&m);
        model_clip_grad(&m, opt.grad_clip, opt.clip_mode, norm);
        model_optim_step(&m, &o, 1e-2);
    }
    charrnn_error derr = {0};
    CHECKF(model_check(&m, &derr) == 0, "%s: %s", bk->name, derr.msg);
    *n_out = m.num_params;
    memcpy(params_out, model_params(&m), sizeof(float) * m.num_params);
    optim_free(&o);
    model_free(&m);
    return 0;
}

static void test_cuda_trains_as_cpu(void) {
    if (no_gpu()) return;
    static const charrnn_cell cells[] = {CHARRNN_LSTM, CHARRNN_GRU, CHARRNN_RNN};
    enum { STEPS = 100, MAXP = L * 4 * H * (V + 2 * H + 2) + V * (H + 1) };
    for (int ci = 0; ci < 3; ci++) {
        static float la[STEPS], lb[STEPS], pa[MAXP], pb[MAXP];
        size_t na = 0, nb = 0;
        if (train_steps(&t_backends[0], cells[ci], STEPS, la, pa, &na) || train_steps(cuda_backend(), cells[ci], STEPS, lb, pb, &nb))
            continue;
        double worst = 0;
        int at = 0;
        for (int k = 0; k < STEPS; k++) {
            double d = fabs((double)lb[k] - la[k]) / la[k];
            if (!(d <= worst)) { worst = d; at = k; }
        }
        fprintf(stderr, "      %s: 100 steps, CPU loss %.6f -> %.6f, GPU %.6f -> %.6f, worst relative gap %.3g at step %d\n",
                charrnn_cell_name(cells[ci]), la[0], la[STEPS - 1], lb[0], lb[STEPS - 1], worst, at);
        CHECKF(worst <= 1e-3, "%s: after %d steps the GPU's loss is %.9g, the CPU's %.9g", charrnn_cell_name(cells[ci]), at,
               lb[at], la[at]);
        CHECKF(la[STEPS - 1] < la[0] - 0.1, "%s: the CPU did not learn (%.6f -> %.6f)", charrnn_cell_name(cells[ci]), la[0],
               la[STEPS - 1]);
        /* the weights as a whole (a single weight whose gradient hovers near 0 may take RMSProp's
         * first, sign-sized steps either way) */
        double dd = 0, aa = 0;
        for (size_t i = 0; i < na && na == nb; i++) dd += ((double)pb[i] - pa[i]) * ((double)pb[i] - pa[i]), aa += (double)pa[i] * pa[i];
        fprintf(stderr, "      %s: the weights after 100 steps differ by %.3g relative (L2)\n", charrnn_cell_name(cells[ci]),
                sqrt(dd / aa));
        CHECKF(na == nb && sqrt(dd / aa) <= 1e-3, "%s: the weights after 100 steps differ by %.3g relative (L2), GPU against CPU",
               charrnn_cell_name(cells[ci]), sqrt(dd / aa));
    }
}

/* Without CUDA: a clear error, the model left as it was */
static void test_cuda_absent_is_an_error(void) {
    if (model_cuda_devices() > 0) return;
    charrnn_model_config cfg = {.cell = CHARRNN_LSTM, .num_layers = 1, .rnn_size = 8};
    model m;
    charrnn_error err = {0};
    CHECK(model_init(&m, &cfg, V, &err) == 0);
    int rc = model_use_cuda(&m, 0, &err);
    CHECKF(rc == CHARRNN_EINVAL && (strstr(err.msg, "make CUDA=1") || strstr(err.msg, "no CUDA GPU")),
           "model_use_cuda without a GPU: %d, '%s'", rc, err.msg);
    CHECK(!strcmp(model_backend_name(&m), "cpu-fp32"));
    model_free(&m);
}

void register_backend_tests(void) {
    t_register("backend_optimizers_step_alike", test_optimizers_step_alike);
    t_register("backend_philox_known_answers", test_philox_known_answers);
    t_register("backend_dropout_mask_statistics", test_dropout_mask_statistics);
    t_register("backend_dropout_masks_from_philox", test_dropout_masks_from_philox);
    t_register("backend_backward_follows_forward", test_backward_follows_forward);
    t_register("backend_fp32_through_the_table", test_fp32_through_the_table);
    t_register("backend_fp32_against_bf16", test_fp32_against_bf16);
    t_register("backend_entry_points", test_entry_points);
    t_register("backend_cuda_against_cpu", test_cuda_against_cpu);
    t_register("backend_cuda_rerun_identical", test_cuda_rerun_identical);
    t_register("backend_cuda_trains_as_cpu", test_cuda_trains_as_cpu);
    t_register("backend_cuda_absent_is_an_error", test_cuda_absent_is_an_error);
}
