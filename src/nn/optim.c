/* optim.c: RMSProp, Adam, Adagrad and SGD over flat arrays, PyTorch's formulas
 * (torch.optim, 1.13), so trajectories match the reference fixtures. */
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
    o->step = 0;
    o->n = n;
    o->m1 = o->m2 = NULL;
    int k = optim_num_moments(o);
    if (k >= 1 && !(o->m1 = cr_calloc(n, sizeof(float)))) goto oom;
    if (k >= 2 && !(o->m2 = cr_calloc(n, sizeof(float)))) goto oom;
    return CHARRNN_OK;
oom:
    optim_free(o);
    return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating optimizer state (%.1f MB)", n * 4.0 * k / 1e6);
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
        float c = (float)clip;
        for (size_t i = 0; i < n; i++) g[i] = g[i] > c ? c : g[i] < -c ? -c : g[i];
    } else {
        double coef = clip / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < n; i++) g[i] *= (float)coef;
    }
}

void optim_update(optim *o, float *p, const float *g, double lr) {
    o->step++;
    const size_t n = o->n;
    const float flr = (float)lr, eps = (float)o->eps;
    switch (o->kind) {
    case CHARRNN_RMSPROP: {
        const float a = (float)o->alpha, b = 1.0f - a;
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) {
            o->m1[i] = a * o->m1[i] + b * g[i] * g[i];
            p[i] -= flr * g[i] / (sqrtf(o->m1[i]) + eps);
        }
        break;
    }
    case CHARRNN_ADAM: {
        const float b1 = (float)o->beta1, b2 = (float)o->beta2;
        const double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
        const float step_size = (float)(lr / bc1), sqrt_bc2 = (float)sqrt(bc2);
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) {
            o->m1[i] = b1 * o->m1[i] + (1.0f - b1) * g[i];
            o->m2[i] = b2 * o->m2[i] + (1.0f - b2) * g[i] * g[i];
            p[i] -= step_size * o->m1[i] / (sqrtf(o->m2[i]) / sqrt_bc2 + eps);
        }
        break;
    }
    case CHARRNN_ADAGRAD:
        PARALLEL_OVER_PARAMS
        for (size_t i = 0; i < n; i++) {
            o->m1[i] += g[i] * g[i];
            p[i] -= flr * g[i] / (sqrtf(o->m1[i]) + eps);
        }
        break;
    case CHARRNN_SGD:
        for (size_t i = 0; i < n; i++) p[i] -= flr * g[i];
        break;
    }
}
