/* evaluate.c: what a model makes of a text: its loss (charrnn_evaluate) and,
 * character by character, its states and guesses (charrnn_trace_text). */
#include "adapt.h"
#include "checkpoint.h"
#include "common.h"
#include "data.h"
#include "handle.h"
#include "loss.h"
#include "threads.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation ------------------------------------------------------------------- */

/* Rows per forward call: enough for efficient products, few enough that the
 * activations stay small whatever the run's seq_length was. */
#define EVAL_ROWS 3200

/* The network's pass for score_text: the streams from a zero state, about
 * EVAL_ROWS predictions per forward call. */
static int network_loss(void *self, const corpus *c, size_t begin, size_t n, const char *name, int streams,
                        charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    charrnn_model *m = self;
    int rc;
    int B = streams ? streams : loss_default_streams(n, m->eval_seq_length > 0 ? m->eval_seq_length : 50, 50);
    if ((size_t)B > n - 1) B = (int)(n - 1);
    int T = EVAL_ROWS / B;
    if (T > 1024) T = 1024;
    if (T < 16) T = 16;
    size_t per_stream = (n - 1) / (size_t)B + 1;
    if ((size_t)T > per_stream) T = (int)per_stream;
    model run;
    if ((rc = model_view(&run, &m->net, B, T, err))) return rc;
    int32_t *x = cr_malloc((size_t)B * T, sizeof(int32_t)), *y = cr_malloc((size_t)B * T, sizeof(int32_t));
    if (!x || !y) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    else {
        long cnt;
        int stopped;
        thread_scope ts;
        threads_enter(&ts, m->threads);
        res->nats = corpus_loss(&run, c, begin, n, B, x, y, &cnt, progress, ctx, &stopped);
        threads_leave(&ts);
        res->predicted = cnt;
        res->streams = B;
        rc = model_check(&run, err); /* a device's failure, before what it left is judged */
        if (!rc && stopped) rc = cr_fail(err, CHARRNN_ECANCELED, "evaluation was stopped");
        else if (!rc && !isfinite(res->nats))
            rc = cr_fail(err, CHARRNN_ENONFINITE, "the loss on %s is not finite (%g): the model's numbers overflow "
                         "(its weights are too large); this checkpoint cannot be evaluated", name, res->nats);
    }
    free(x);
    free(y);
    model_view_free(&run);
    return rc;
}

int charrnn_evaluate(charrnn_model *m, const char *text, size_t len, const char *name, int streams,
                     charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err) {
    return score_text(text, len, name, NULL, streams, m->unit, m->vocab, m->vocab_size, network_loss, m, progress, ctx,
                      res, err);
}

int charrnn_evaluate_split(charrnn_model *m, const char *text, size_t len, const char *name, charrnn_block block,
                           int streams, charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res,
                           charrnn_error *err) {
    memset(res, 0, sizeof *res);
    if (!(m->train_frac > 0))
        return cr_fail(err, CHARRNN_EINVAL, "%s records no training run, so no split to cut the text by; evaluate all "
                       "of the text", m->path ? m->path : "this model");
    score_block part = {block, m->train_frac, m->val_frac};
    return score_text(text, len, name, &part, streams, m->unit, m->vocab, m->vocab_size, network_loss, m, progress,
                      ctx, res, err);
}

/* ---- dynamic evaluation ------------------------------------------------------------------ */

void charrnn_dynamic_options_default(charrnn_dynamic_options *o) {
    o->segment = 50;
    o->learning_rate = 3e-5;
    o->decay = 1e-3;
}

int charrnn_model_adapt(charrnn_model *m, const char *text, size_t len, const char *name,
                        const charrnn_dynamic_options *o, charrnn_progress_fn progress, void *ctx,
                        charrnn_eval_result *res, charrnn_error *err) {
    memset(res, 0, sizeof *res);
    if (!name) name = "the text";
    charrnn_dynamic_options defaults;
    if (!o) { charrnn_dynamic_options_default(&defaults); o = &defaults; }
    if (o->segment < 1 || o->segment > 10000 || !(o->learning_rate >= 0 && o->learning_rate < 1) ||
        !(o->decay >= 0 && o->decay < 1))
        return cr_fail(err, CHARRNN_EINVAL, "dynamic evaluation settings out of range: segment 1 to 10000, learning "
                       "rate in [0, 1), decay in [0, 1)");
    corpus c;
    int rc = corpus_encode_with_vocab(&c, text, len, m->unit, m->vocab, m->vocab_size, name, &res->unknown,
                                      res->unknown_examples, 8, &res->num_unknown_examples, err);
    if (rc) return rc;
    if (c.n < 2) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EDATA, "%s has %zu character%s the model knows; at least 2 are needed", name, c.n,
                       c.n == 1 ? "" : "s");
    }
    /* the training's gradient statistics (kept at load) scale the steps; a checkpoint without them (SGD)
     * adapts without; damaged ones (NaN, negative) are an error, not a reason to diverge */
    if (m->grad_ms_err.code) {
        corpus_free(&c);
        return cr_fail(err, m->grad_ms_err.code, "%s", m->grad_ms_err.msg);
    }
    const float *ms = m->grad_ms;
    int have_ms = ms != NULL;
    adapt_config cfg = {o->segment, o->learning_rate, o->decay, have_ms ? 1.0 : 0.99, 1e-8, 0};
    adapter a;
    int32_t *x = cr_malloc((size_t)o->segment, sizeof(int32_t)), *y = cr_malloc((size_t)o->segment, sizeof(int32_t));
    if (!x || !y) rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    else rc = adapter_init(&a, &m->net, ms, &cfg, 1, err);
    if (!rc) {
        thread_scope ts;
        threads_enter(&ts, m->threads);
        double total = 0;
        long cnt = 0;
        for (size_t pos = 0; pos + 1 < c.n && !rc; pos += (size_t)o->segment) {
            int t = (int)(c.n - 1 - pos < (size_t)o->segment ? c.n - 1 - pos : (size_t)o->segment);
            for (int k = 0; k < t; k++) {
                x[k] = (int32_t)corpus_id(&c, pos + (size_t)k);
                y[k] = (int32_t)corpus_id(&c, pos + (size_t)k + 1);
            }
            double l = adapter_step(&a, x, y, 1, t);
            if ((rc = model_check(&a.net, err))) break;
            if (!isfinite(l)) {
                rc = cr_fail(err, CHARRNN_ENONFINITE, "the loss on %s became %g during dynamic evaluation; use a lower "
                             "learning rate", name, l);
                break;
            }
            total += l * t;
            cnt += t;
            if (progress && progress(ctx, cnt, (long)(c.n - 1))) rc = cr_fail(err, CHARRNN_ECANCELED, "evaluation was stopped");
        }
        threads_leave(&ts);
        if (!rc) {
            res->nats = total / (double)cnt;
            res->bpc = res->nats / log(2.0);
            res->predicted = cnt;
            res->streams = 1;
            memcpy(model_params(&m->net), model_params(&a.net), sizeof(float) * m->net.num_params);
            model_weights_changed(&m->net);
        }
        adapter_free(&a);
    }
    free(x);
    free(y);
    corpus_free(&c);
    return rc;
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
    int have_run = 0, have_threads = 0;
    thread_scope ts;
    if (!t) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory"); goto done; }
    t->n = (int)n;
    t->num_layers = L;
    t->hidden = H;
    t->cell = net->cfg.cell;
    t->unknown = unknown;
    t->chars = cr_malloc(n, sizeof(uint32_t));
    t->h = cr_malloc(n * state, sizeof(float));
    t->c = net->cfg.cell == CHARRNN_LSTM ? cr_malloc(n * state, sizeof(float)) : NULL;
    t->top_chars = cr_malloc(n * CHARRNN_TOPK, sizeof(uint32_t));
    t->top_probs = cr_malloc(n * CHARRNN_TOPK, sizeof(float));
    t->p_next = cr_malloc(n, sizeof(float));
    if (!t->chars || !t->h || (net->cfg.cell == CHARRNN_LSTM && !t->c) || !t->top_chars || !t->top_probs || !t->p_next) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory tracing %zu characters (%.0f MB); trace fewer", n,
                     n * state * 8.0 / 1e6);
        goto done;
    }
    if ((rc = model_view(&run, net, 1, T, err))) goto done;
    have_run = 1;
    threads_enter(&ts, m->threads);
    have_threads = 1;
    model_reset_state(&run);
    int32_t x[64];
    for (size_t pos = 0; pos < n; pos += T) {
        int tt = n - pos < (size_t)T ? (int)(n - pos) : T;
        for (int s = 0; s < tt; s++) x[s] = (int32_t)corpus_id(&c, pos + s);
        model_forward(&run, x, NULL, 1, tt, 0, NULL);
        if ((rc = model_check(&run, err))) goto done;
        for (int s = 0; s < tt; s++) {
            size_t i = pos + s;
            t->chars[i] = m->vocab[x[s]];
            for (int l = 0; l < L; l++)
                model_step_state(&run, l, s, 0, 1, t->h + (i * L + l) * H, t->c ? t->c + (i * L + l) * H : NULL);
            const float *p = model_probs(&run, (size_t)s);
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
        if (!isfinite(model_logits(&run, 0)[0])) {
            rc = cr_fail(err, CHARRNN_ENONFINITE, "the model's numbers overflow on %s (its weights are too large); "
                         "this checkpoint cannot be traced", name ? name : "the text");
            goto done;
        }
        if (progress && progress(ctx, (long)(pos + tt), (long)n)) {
            rc = cr_fail(err, CHARRNN_ECANCELED, "tracing was stopped");
            goto done;
        }
    }
done:
    if (have_threads) threads_leave(&ts);
    if (have_run) model_view_free(&run);
    corpus_free(&c);
    if (rc) charrnn_trace_free(t);
    else *out = t;
    return rc;
}
