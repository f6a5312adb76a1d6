/* api.c: the model handle (open a checkpoint, describe it, close it),
 * evaluation of a text, and sampling, one character per stream per call. */
#include "cells.h"
#include "common.h"
#include "half.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int charrnn_model_load(charrnn_model **out, const char *path, charrnn_error *err) {
    return checkpoint_load(path, out, err);
}

void charrnn_model_close(charrnn_model *m) {
    if (!m) return;
    model_free(&m->net);
    free(m->vocab);
    free(m->history);
    for (int i = 0; i < m->num_meta; i++) { free(m->meta_keys[i]); free(m->meta_values[i]); }
    free(m->meta_keys);
    free(m->meta_values);
    free(m);
}

void charrnn_model_get_info(const charrnn_model *m, charrnn_model_info *info) {
    memset(info, 0, sizeof *info);
    info->config = m->net.cfg;
    info->unit = m->unit;
    info->vocab_size = m->vocab_size;
    info->num_params = m->net.num_params;
    info->iteration = m->iteration;
    info->epoch = m->epoch;
    info->learning_rate = m->learning_rate;
    info->train_loss = m->train_loss;
    info->val_loss = NAN;
    for (int i = 0; i < m->num_history; i++)
        if (isnan(info->val_loss) || m->history[i].loss < info->val_loss) info->val_loss = m->history[i].loss;
    info->num_history = m->num_history;
}

uint32_t charrnn_model_vocab(const charrnn_model *m, int i) {
    return i >= 0 && i < m->vocab_size ? m->vocab[i] : 0;
}

void charrnn_model_history(const charrnn_model *m, int i, long *iteration, double *val_loss) {
    if (i < 0 || i >= m->num_history) { *iteration = -1; *val_loss = NAN; return; }
    *iteration = m->history[i].iteration;
    *val_loss = m->history[i].loss;
}

const char *charrnn_model_metadata(const charrnn_model *m, const char *key) {
    for (int i = 0; i < m->num_meta; i++)
        if (!strcmp(m->meta_keys[i], key)) return m->meta_values[i];
    return NULL;
}

/* ---- evaluation ------------------------------------------------------------------- */

int charrnn_evaluate(charrnn_model *m, const char *text, size_t len, const char *name, charrnn_progress_fn progress,
                     void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    memset(res, 0, sizeof *res);
    corpus c;
    int rc = corpus_encode_with_vocab(&c, text, len, m->unit, m->vocab, m->vocab_size, name ? name : "the text", &res->unknown,
                                      res->unknown_examples, 8, &res->num_unknown_examples, err);
    if (rc) return rc;
    if (c.n < 2) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EDATA, "%s has %zu characters the model knows; at least 2 are needed to measure a loss",
                       name ? name : "the text", c.n);
    }
    int T = m->eval_seq_length > 0 ? m->eval_seq_length : 50;
    size_t streams = (c.n - 1) / (size_t)T;
    int B = streams > 50 ? 50 : streams < 1 ? 1 : (int)streams;
    model run;
    if ((rc = model_view(&run, &m->net, B, T, err))) { corpus_free(&c); return rc; }
    int32_t *x = malloc(sizeof(int32_t) * (size_t)B * T), *y = malloc(sizeof(int32_t) * (size_t)B * T);
    if (!x || !y) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    else {
        long cnt;
        res->nats = eval_ids(&run, &c, 0, c.n, x, y, &cnt, progress, ctx);
        res->bpc = res->nats / log(2.0);
        res->predicted = cnt;
    }
    free(x);
    free(y);
    model_view_free(&run);
    corpus_free(&c);
    return rc;
}

/* ---- sampling --------------------------------------------------------------------- */

struct charrnn_sampler {
    charrnn_model *m;
    model run;         /* shares m's weights; activations for (n, 1) */
    rng r;
    int n;
    int32_t *cur;      /* (n) the last character fed */
    float *q;          /* (V) scratch for the tempered distribution */
    int have_pred;     /* run.probs holds the next-character distribution */
};

int charrnn_sampler_open(charrnn_sampler **out, charrnn_model *m, int num_streams, uint64_t seed, charrnn_error *err) {
    *out = NULL;
    if (num_streams < 1 || num_streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "--num-samples %d is out of range; use 1 to 100000", num_streams);
    charrnn_sampler *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    s->m = m;
    s->n = num_streams;
    int rc = model_view(&s->run, &m->net, num_streams, 1, err);
    if (rc) { free(s); return rc; }
    s->cur = calloc((size_t)num_streams, sizeof(int32_t));
    s->q = calloc((size_t)m->vocab_size, sizeof(float));
    if (!s->cur || !s->q) { charrnn_sampler_close(s); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    model_reset_state(&s->run);
    rng_seed(&s->r, seed, 3);
    *out = s;
    return CHARRNN_OK;
}

void charrnn_sampler_close(charrnn_sampler *s) {
    if (!s) return;
    model_view_free(&s->run);
    free(s->cur);
    free(s->q);
    free(s);
}

int charrnn_sampler_use_half(charrnn_sampler *s, charrnn_error *err) {
    if (!half_supported())
        return cr_fail(err, CHARRNN_EINVAL, "--half needs a build for a processor with AVX-512F and F16C; sample without it");
    if (s->run.half) return CHARRNN_OK;
    s->run.half = malloc(sizeof(uint16_t) * s->run.num_params);
    if (!s->run.half) return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the half-precision weights");
    half_from_float(s->run.half, s->run.params, s->run.num_params);
    return CHARRNN_OK;
}

static void feed(charrnn_sampler *s) {
    model_forward(&s->run, s->cur, NULL, s->n, 1, 0, NULL);
    s->have_pred = 1;
}

int charrnn_sampler_prime(charrnn_sampler *s, const char *text, size_t len, long *skipped, uint32_t *examples,
                          int max_examples, charrnn_error *err) {
    corpus c;
    long unknown = 0;
    int nex = 0;
    int rc = corpus_encode_with_vocab(&c, text, len, s->m->unit, s->m->vocab, s->m->vocab_size, "the prime text",
                                      &unknown, examples, max_examples, &nex, err);
    if (rc) return rc;
    if (skipped) *skipped = unknown;
    if (c.n == 0 && len > 0) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EINVAL, "none of the prime text's %ld characters is in the model's vocabulary; "
                       "prime with text like the training data", unknown);
    }
    for (size_t i = 0; i < c.n; i++) {
        for (int j = 0; j < s->n; j++) s->cur[j] = (int32_t)corpus_id(&c, i);
        feed(s);
    }
    corpus_free(&c);
    return CHARRNN_OK;
}

int charrnn_sampler_next(charrnn_sampler *s, float temperature, uint32_t *out, charrnn_error *err) {
    if (!(temperature >= 0) || !isfinite(temperature))
        return cr_fail(err, CHARRNN_EINVAL, "--temperature %g is out of range; use 0 (argmax) or a positive value such as 1", temperature);
    const int V = s->m->vocab_size;
    for (int j = 0; j < s->n; j++) {
        int pick = 0;
        if (!s->have_pred) {
            pick = (int)(rng_uniform_double(&s->r) * V); /* no prime: a uniform first character, as char-rnn */
        } else {
            const float *p = s->run.probs + (size_t)j * V;
            if (temperature == 0) {
                for (int v = 1; v < V; v++) if (p[v] > p[pick]) pick = v;
            } else {
                /* q ~ p^(1/temperature) = exp((logits - max) / temperature), unnormalised */
                const float *q = p;
                double sum = 1.0;
                if (temperature != 1.0f) {
                    sum = tempered_exp(s->q, s->run.logits + (size_t)j * V, V, temperature);
                    q = s->q;
                }
                double u = rng_uniform_double(&s->r) * sum, acc = 0;
                pick = V - 1;
                for (int v = 0; v < V; v++) {
                    acc += q[v];
                    if (u < acc) { pick = v; break; }
                }
                while (q[pick] == 0 && pick > 0) pick--; /* never draw a zero-probability tail */
            }
        }
        s->cur[j] = pick;
        out[j] = s->m->vocab[pick];
    }
    feed(s);
    return CHARRNN_OK;
}

/* ---- tracing ---------------------------------------------------------------------- */

void charrnn_trace_free(charrnn_trace *t) {
    if (!t) return;
    free(t->chars);
    free(t->h);
    free(t->c);
    free(t->top_chars);
    free(t->top_probs);
    free(t->p_next);
    free(t);
}

int charrnn_trace_text(charrnn_model *m, const char *text, size_t len, const char *name, int max_chars,
                       charrnn_progress_fn progress, void *ctx, charrnn_trace **out, charrnn_error *err) {
    *out = NULL;
    corpus c;
    long unknown = 0;
    uint32_t ex[1];
    int nex = 0;
    int rc = corpus_encode_with_vocab(&c, text, len, m->unit, m->vocab, m->vocab_size, name ? name : "the text",
                                      &unknown, ex, 1, &nex, err);
    if (rc) return rc;
    size_t n = c.n;
    if (max_chars > 0 && n > (size_t)max_chars) n = (size_t)max_chars;
    if (n == 0) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EDATA, "%s has no character the model knows", name ? name : "the text");
    }
    const model *net = &m->net;
    const int L = net->L, H = net->H, V = net->V, T = 64;
    const size_t state = (size_t)L * H;
    if (n > SIZE_MAX / 8 / state) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_ENOMEM, "%zu characters are too many to trace", n);
    }
    charrnn_trace *t = calloc(1, sizeof *t);
    model run;
    int have_run = 0;
    if (!t) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory"); goto done; }
    t->n = (int)n;
    t->num_layers = L;
    t->hidden = H;
    t->cell = net->cfg.cell;
    t->unknown = unknown;
    t->chars = malloc(sizeof(uint32_t) * n);
    t->h = malloc(sizeof(float) * n * state);
    t->c = net->cfg.cell == CHARRNN_LSTM ? malloc(sizeof(float) * n * state) : NULL;
    t->top_chars = malloc(sizeof(uint32_t) * n * CHARRNN_TOPK);
    t->top_probs = malloc(sizeof(float) * n * CHARRNN_TOPK);
    t->p_next = malloc(sizeof(float) * n);
    if (!t->chars || !t->h || (net->cfg.cell == CHARRNN_LSTM && !t->c) || !t->top_chars || !t->top_probs || !t->p_next) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory tracing %zu characters (%.0f MB); trace fewer", n,
                     n * state * 8.0 / 1e6);
        goto done;
    }
    if ((rc = model_view(&run, net, 1, T, err))) goto done;
    have_run = 1;
    model_reset_state(&run);
    int32_t x[64];
    for (size_t pos = 0; pos < n; pos += T) {
        int tt = n - pos < (size_t)T ? (int)(n - pos) : T;
        for (int s = 0; s < tt; s++) x[s] = (int32_t)corpus_id(&c, pos + s);
        model_forward(&run, x, NULL, 1, tt, 0, NULL);
        for (int s = 0; s < tt; s++) {
            size_t i = pos + s;
            t->chars[i] = m->vocab[x[s]];
            for (int l = 0; l < L; l++) {
                memcpy(t->h + (i * L + l) * H, run.a[l].h + (size_t)(s + 1) * H, sizeof(float) * H);
                if (t->c) memcpy(t->c + (i * L + l) * H, run.a[l].c + (size_t)(s + 1) * H, sizeof(float) * H);
            }
            const float *p = run.probs + (size_t)s * V;
            int best[CHARRNN_TOPK] = {0};
            int k = 0;
            for (int v = 0; v < V; v++) { /* insertion into a sorted top-k */
                int at = k < CHARRNN_TOPK ? k++ : CHARRNN_TOPK;
                while (at > 0 && p[v] > p[best[at - 1]]) {
                    if (at < CHARRNN_TOPK) best[at] = best[at - 1];
                    at--;
                }
                if (at < CHARRNN_TOPK) best[at] = v;
            }
            for (int q = 0; q < CHARRNN_TOPK; q++) {
                int v = q < k ? best[q] : best[0];
                t->top_chars[i * CHARRNN_TOPK + q] = m->vocab[v];
                t->top_probs[i * CHARRNN_TOPK + q] = q < k ? p[v] : 0.0f;
            }
            t->p_next[i] = i + 1 < c.n ? p[corpus_id(&c, i + 1)] : NAN;
        }
        if (progress) progress(ctx, (long)(pos + tt), (long)n);
    }
done:
    if (have_run) model_view_free(&run);
    corpus_free(&c);
    if (rc) charrnn_trace_free(t);
    else *out = t;
    return rc;
}
