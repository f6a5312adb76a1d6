/* optim.c: RMSProp, Adam, Adagrad and SGD over flat arrays, PyTorch's formulas
 * (torch.optim, 1.13), so trajectories match the reference fixtures, with
 * AdamW's decoupled weight decay for any of them; and the learning rate's
 * schedule. The update of one element is in optim_rules.h, which the GPU's
 * kernels share. */
#include "optim.h"
#include "common.h"

#include <math.h>
#include <stdlib.h>

int optim_init(optim *o, const charrnn_train_options *opt, size_t n, charrnn_error *err) {
    o->kind = opt->optim;
    o->alpha = opt->decay_rate;
    o->beta1 = opt->beta1;
    o->beta2 = opt->beta2;
    o->eps = o->kind == CHARRNN_ADAGRAD ? 1e-10 : 1e-8;
    o->weight_decay = opt->weight_decay;
    o->step = 0;
    o->n = n;
    o->num_decay = 0;
    o->m1 = o->m2 = NULL;
    int k = optim_num_moments(o);
    if (k >= 1 && !(o->m1 = cr_calloc(n, sizeof(float)))) goto oom;
    if (k >= 2 && !(o->m2 = cr_calloc(n, sizeof(float)))) goto oom;
    return CHARRNN_OK;
oom:
    optim_free(o);
    return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating optimizer state (%.1f MB)", n * 4.0 * k / 1e6);
}

int optim_decay_range(optim *o, size_t offset, size_t size) {
    if (o->num_decay > 0 && o->decay_at[o->num_decay - 1][0] + o->decay_at[o->num_decay - 1][1] == offset) {
        o->decay_at[o->num_decay - 1][1] += size;
        return 0;
    }
    if (o->num_decay >= OPTIM_MAX_DECAY_RANGES) return -1;
    o->decay_at[o->num_decay][0] = offset;
    o->decay_at[o->num_decay][1] = size;
    o->num_decay++;
    return 0;
}

void optim_free(optim *o) {
    free(o->m1);
    free(o->m2);
    o->m1 = o->m2 = NULL;
}

int optim_num_moments(const optim *o) {
    switch (o->kind) {
    case CHARRNN_ADAM: return 2;
    case CHARRNN_SGD: return 0;
    default: return 1;
    }
}

/* The loops below run over every parameter: split across the OpenMP threads once
 * there are enough of them (static schedule: the same threads, the same sums). */
#define PARALLEL_OVER_PARAMS _Pragma("omp parallel for simd schedule(static) if (n >= 262144)")

double grad_norm(const float *g, size_t n) {
    double s = 0.0;
#pragma omp parallel for simd schedule(static) reduction(+:s) if (n >= 262144)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

void grad_clip(float *g, size_t n, double clip, charrnn_clip_mode mode, double norm) {
    if (clip <= 0) return;
    if (mode == CHARRNN_CLIP_VALUE) {
        const float c = (float)clip;
        for (size_t i = 0; i < n; i++) g[i] = clip_value_rule(g[i], c);
    } else {
        const double coef = clip_norm_coef(clip, norm);
        if (coef < 1.0)
            for (size_t i = 0; i < n; i++) g[i] *= (float)coef;
    }
}

optim_coefs optim_begin_step(optim *o, double lr) {
    o->step++;
    optim_coefs k = {.lr = (float)lr, .eps = (float)o->eps, .a = (float)o->alpha, .b = 1.0f - (float)o->alpha,
                     .b1 = (float)o->beta1, .b2 = (float)o->beta2, .keep = (float)(1.0 - lr * o->weight_decay)};
    if (o->kind == CHARRNN_ADAM) {
        const double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
        k.step_size = (float)(lr / bc1);
        k.sqrt_bc2 = (float)sqrt(bc2);
    }
    return k;
}

void optim_update(optim *o, float *p, const float *g, double lr) {
    const optim_coefs k = optim_begin_step(o, lr);
    size_t n;
    for (int r = 0; o->weight_decay > 0 && r < o->num_decay; r++) {
        float *w = p + o->decay_at[r][0];
        n = o->decay_at[r][1];
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) decay_rule(&k, w + i);
    }
    n = o->n;
    float *m1 = o->m1, *m2 = o->m2;
    switch (o->kind) {
    case CHARRNN_RMSPROP:
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) rmsprop_rule(&k, p + i, m1 + i, g[i]);
        break;
    case CHARRNN_ADAM:
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) adam_rule(&k, p + i, m1 + i, m2 + i, g[i]);
        break;
    case CHARRNN_ADAGRAD:
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) adagrad_rule(&k, p + i, m1 + i, g[i]);
        break;
    case CHARRNN_SGD:
        for (size_t i = 0; i < n; i++) sgd_rule(&k, p + i, g[i]);
        break;
    }
}

double optim_schedule_lr(const charrnn_train_options *opt, double step_lr, long i, long total) {
    const long w = opt->warmup_iters;
    double lr = step_lr;
    if (opt->lr_schedule == CHARRNN_LR_COSINE) {
        const double p = i <= w ? 0.0 : i >= total ? 1.0 : (double)(i - w) / (double)(total - w);
        lr = opt->min_lr + (opt->learning_rate - opt->min_lr) * 0.5 * (1.0 + cos(acos(-1.0) * p));
    }
    if (i < w) lr *= (double)(i + 1) / (double)w;
    return lr;
}
