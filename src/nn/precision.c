/* precision.c: --precision auto, decided by timing the run's own work (see
 * precision.h). A pass's time is fitted as a + b * steps from passes of s and
 * 4s steps, so that the per-pass costs (packing the weights into bf16 after
 * every optimizer step, the decoder's setup) weigh as they do in the run's
 * longer passes, while the measurement itself stays short: s steps of about
 * TARGET_FLOPS, and 4s (or the run's length, if shorter). */
#include "precision.h"
#include "bf16.h"
#include "common.h"
#include "model.h"
#include "threads.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* flops of the shorter timed pass: a few milliseconds of float32 work on two cores */
#define TARGET_FLOPS 3e8
/* a timed repetition runs at least this long (short passes are repeated inside it) */
#define MIN_REP_S 5e-4
/* the whole measurement stops adding rounds after this long */
#define BUDGET_S 0.5

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct scratch {
    model net;
    int32_t *x, *y;
    int b, training;
    rng r;
} scratch;

static void pass(scratch *s, int steps) {
    if (s->training) {
        model_weights_changed(&s->net); /* an optimizer step happened: bf16 repacks, as in the run */
        model_forward(&s->net, s->x, s->y, s->b, steps, 1, &s->r);
        model_backward(&s->net, s->x, s->y, s->b, steps);
    } else {
        model_forward(&s->net, s->x, steps > 1 ? s->y : NULL, s->b, steps, 0, &s->r);
    }
}

/* Seconds of one pass of `steps` steps in the precision set on s->net: `reps`
 * is how many passes one repetition runs (calibrated by the caller). */
static double time_passes(scratch *s, int steps, int reps) {
    double t0 = now_s();
    for (int i = 0; i < reps; i++) pass(s, steps);
    return (now_s() - t0) / reps;
}

/* The decisions made so far in this process: shape, work and thread count. */
typedef struct cached { charrnn_model_config cfg; int V, batch, steps, training, threads; precision_choice c; } cached;
static cached cache[16];
static int cache_n;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int same(const cached *k, const charrnn_model_config *cfg, int V, int batch, int steps, int training, int threads) {
    return k->cfg.cell == cfg->cell && k->cfg.num_layers == cfg->num_layers && k->cfg.rnn_size == cfg->rnn_size &&
           (k->cfg.dropout > 0) == (cfg->dropout > 0) && k->V == V && k->batch == batch && k->steps == steps &&
           k->training == training && k->threads == threads;
}

static void measure(const charrnn_model_config *cfg, int V, int batch, int steps, int training, precision_choice *c) {
    /* the steps of the shorter timed pass: about TARGET_FLOPS of products */
    const int G = cfg->cell == CHARRNN_LSTM ? 4 : cfg->cell == CHARRNN_GRU ? 3 : 1;
    const double products = model_param_count(cfg, V) - (double)V * G * cfg->rnn_size; /* layer 0's input is a gather */
    const double flops_step = 2.0 * batch * products * (training ? 3 : 1);
    int s1 = (int)ceil(TARGET_FLOPS / (flops_step > 1 ? flops_step : 1));
    if (s1 < 1) s1 = 1;
    if (s1 > steps) s1 = steps;
    const int s2 = 4 * s1 <= steps ? 4 * s1 : steps; /* the run's own length when it is that short */
    const double need = (double)model_alloc_bytes(cfg, V, batch, s2, training) + model_param_count(cfg, V) * 4 * 3;
    const double avail = (double)cr_available_memory();
    if (avail > 0 && need > avail / 4) {
        snprintf(c->note, sizeof c->note, "fp32 (auto: not measured, a scratch network of this shape would need %.0f MB)",
                 need / 1e6);
        return;
    }
    /* best[prec][len]: 0 fp32, 1 bf16; 0 the s1 pass, 1 the s2 pass */
    double best[2][2] = {{1e30, 1e30}, {1e30, 1e30}};
    const int lens[2] = {s1, s2}, nlen = s2 > s1 ? 2 : 1; /* nlen 1: the run's passes are s1 steps */
    scratch s = {.b = batch, .training = training};
    charrnn_error err = {0};
    rng_seed(&s.r, 1, 7);
    s.x = cr_malloc((size_t)batch * s2, sizeof(int32_t));
    s.y = cr_malloc((size_t)batch * s2, sizeof(int32_t));
    if (!s.x || !s.y) cr_fail(&err, CHARRNN_ENOMEM, "out of memory");
    /* the bf16 buffers are made once and kept while the passes alternate: a forward-only run packs its
     * weights once (a training pass repacks after every step, as the run does: pass() bumps the version) */
    else if (!model_init(&s.net, cfg, V, &err) && !model_alloc(&s.net, batch, s2, training, &err) &&
             !model_set_bf16(&s.net, 1, &err)) {
        model_init_weights(&s.net, &s.r);
        s.net.params_frozen = !training; /* inference: weights fixed, as a sampler's or evaluator's view */
        for (size_t i = 0; i < (size_t)batch * s2; i++) {
            s.x[i] = (int32_t)(rng_u32(&s.r) % V);
            s.y[i] = (int32_t)(rng_u32(&s.r) % V);
        }
        int reps[2][2];
        const double start = now_s();
        for (int round = 0; round < 7; round++) {
            for (int p = 0; p < 2; p++) {
                model_set_bf16(&s.net, p, &err); /* a change of table: the bf16 copies are kept */
                for (int li = 0; li < nlen; li++) {
                    if (round == 0) { /* warm-up (first touches, packing), and how many passes make a repetition */
                        double t = time_passes(&s, lens[li], 1);
                        reps[p][li] = t >= MIN_REP_S ? 1 : (int)(MIN_REP_S / (t > 1e-7 ? t : 1e-7)) + 1;
                        continue;
                    }
                    double t = time_passes(&s, lens[li], reps[p][li]);
                    if (t < best[p][li]) best[p][li] = t;
                }
            }
            if (round >= 3 && now_s() - start > BUDGET_S) break;
        }
    }
    free(s.x);
    free(s.y);
    model_free(&s.net);
    if (best[0][0] >= 1e30 || best[1][0] >= 1e30) {
        snprintf(c->note, sizeof c->note, "fp32 (auto: not measured: %.150s)", err.msg);
        return;
    }
    /* each precision's pass of the run's length: a + b * steps through the two timed lengths */
    double t[2];
    for (int p = 0; p < 2; p++) {
        const double per_step = nlen == 2 ? fmax(0, (best[p][1] - best[p][0]) / (s2 - s1)) : 0;
        t[p] = best[p][0] + per_step * (steps - s1);
    }
    c->measured = 1;
    c->t32 = t[0];
    c->t16 = t[1];
    c->steps = steps;
    c->bf16 = t[1] <= PRECISION_BF16_MARGIN * t[0];
    snprintf(c->note, sizeof c->note,
             "%s (auto: a %s pass of %d x %d steps timed here at %.3g ms in bf16, %.3g ms in fp32: bf16 %.2fx as fast%s)",
             c->bf16 ? "bf16" : "fp32", training ? "training" : "forward", batch, steps, 1e3 * t[1], 1e3 * t[0],
             t[0] / t[1], c->bf16 ? "" : ", not enough to pay for its rounding");
}

void precision_choose(const charrnn_model_config *cfg, int V, int batch, int steps, int training, int threads,
                      precision_choice *out) {
    memset(out, 0, sizeof *out);
    if (batch < 1) batch = 1;
    if (steps < 1) steps = 1;
    const char *force = getenv("CHARRNN_AUTO_PRECISION");
    if (!bf16_supported()) {
        snprintf(out->note, sizeof out->note, "fp32 (auto: this processor has no AVX512-BF16)");
        return;
    }
    if (force && (!strcmp(force, "fp32") || !strcmp(force, "bf16"))) {
        out->bf16 = !strcmp(force, "bf16");
        snprintf(out->note, sizeof out->note, "%s (auto: CHARRNN_AUTO_PRECISION=%s)", force, force);
        return;
    }
    int found = 0;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < cache_n && !found; i++)
        if (same(&cache[i], cfg, V, batch, steps, training, threads)) { *out = cache[i].c; found = 1; }
    pthread_mutex_unlock(&cache_lock);
    if (found) return;
    thread_scope ts;
    threads_enter(&ts, threads);
    measure(cfg, V, batch, steps, training, out);
    threads_leave(&ts);
    pthread_mutex_lock(&cache_lock);
    cache[cache_n < 16 ? cache_n++ : 15] = (cached){*cfg, V, batch, steps, training, threads, *out};
    pthread_mutex_unlock(&cache_lock);
}
