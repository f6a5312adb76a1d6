/* sample.c: the model reading text one character at a time (charrnn_stream),
 * and sampling on top of it (charrnn_sampler): draw a character from the
 * next-character distribution, feed it back. */
#include "cells.h"
#include "common.h"
#include "data.h"
#include "half.h"
#include "handle.h"
#include "threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- streams ---------------------------------------------------------------------- */

struct charrnn_stream {
    charrnn_model *m;
    model run;         /* shares m's weights; activations for (n, 1) */
    int n;
    int32_t *cur;      /* (n) scratch: the ids being fed */
};

static void set_uniform(charrnn_stream *s, int j) {
    const int V = s->m->vocab_size;
    float *z = s->run.logits + (size_t)j * V, *p = s->run.probs + (size_t)j * V;
    for (int v = 0; v < V; v++) { z[v] = 0.0f; p[v] = 1.0f / (float)V; }
}

int charrnn_stream_open(charrnn_stream **out, charrnn_model *m, int num_streams, charrnn_error *err) {
    *out = NULL;
    if (num_streams < 1 || num_streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d streams is out of range; use 1 to 100000", num_streams);
    charrnn_stream *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    s->m = m;
    s->n = num_streams;
    int rc = model_view(&s->run, &m->net, num_streams, 1, err);
    if (rc) { free(s); return rc; }
    s->cur = cr_calloc((size_t)num_streams, sizeof(int32_t));
    if (!s->cur) { charrnn_stream_close(s); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    charrnn_stream_reset(s);
    *out = s;
    return CHARRNN_OK;
}

void charrnn_stream_close(charrnn_stream *s) {
    if (!s) return;
    model_view_free(&s->run);
    free(s->cur);
    free(s);
}

int charrnn_stream_count(const charrnn_stream *s) { return s->n; }
int charrnn_stream_vocab_size(const charrnn_stream *s) { return s->m->vocab_size; }

void charrnn_stream_reset(charrnn_stream *s) {
    model_reset_state(&s->run);
    for (int j = 0; j < s->n; j++) set_uniform(s, j);
}

static void forward_one(charrnn_stream *s) {
    thread_scope ts;
    threads_enter(&ts, s->m->threads);
    model_forward(&s->run, s->cur, NULL, s->n, 1, 0, NULL);
    threads_leave(&ts);
}

int charrnn_stream_feed(charrnn_stream *s, const int *ids, charrnn_error *err) {
    for (int j = 0; j < s->n; j++) {
        if (ids[j] < 0 || ids[j] >= s->m->vocab_size)
            return cr_fail(err, CHARRNN_EINVAL, "character index %d (stream %d) is outside the vocabulary of %d",
                           ids[j], j, s->m->vocab_size);
        s->cur[j] = ids[j];
    }
    forward_one(s);
    return CHARRNN_OK;
}

int charrnn_stream_feed_text(charrnn_stream *s, const char *text, size_t len, long *unknown, charrnn_error *err) {
    corpus c;
    long unk = 0;
    int rc = corpus_encode_with_vocab(&c, text, len, s->m->unit, s->m->vocab, s->m->vocab_size, "the text", &unk,
                                      NULL, 0, NULL, err);
    if (rc) return rc;
    if (unknown) *unknown = unk;
    for (size_t i = 0; i < c.n; i++) {
        for (int j = 0; j < s->n; j++) s->cur[j] = (int32_t)corpus_id(&c, i);
        forward_one(s);
    }
    corpus_free(&c);
    return CHARRNN_OK;
}

const float *charrnn_stream_probs(const charrnn_stream *s, int j) {
    return j >= 0 && j < s->n ? s->run.probs + (size_t)j * s->m->vocab_size : NULL;
}

void charrnn_stream_logprobs(const charrnn_stream *s, int j, float *out) {
    if (j < 0 || j >= s->n) return;
    const int V = s->m->vocab_size;
    const float *z = s->run.logits + (size_t)j * V;
    float mx = z[0];
    for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
    double sum = 0;
    for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
    const double lse = (double)mx + log(sum);
    for (int v = 0; v < V; v++) out[v] = (float)((double)z[v] - lse);
}

size_t charrnn_stream_state_size(const charrnn_stream *s) {
    const model *r = &s->run;
    return (size_t)r->L * r->H * (r->cfg.cell == CHARRNN_LSTM ? 2 : 1) + (size_t)s->m->vocab_size;
}

void charrnn_stream_get_state(const charrnn_stream *s, int j, float *out) {
    const model *r = &s->run;
    const size_t H = (size_t)r->H, V = (size_t)s->m->vocab_size;
    for (int l = 0; l < r->L; l++) {
        memcpy(out, r->state_h + ((size_t)l * r->B + j) * H, H * sizeof(float));
        out += H;
        if (r->cfg.cell == CHARRNN_LSTM) {
            memcpy(out, r->state_c + ((size_t)l * r->B + j) * H, H * sizeof(float));
            out += H;
        }
    }
    memcpy(out, r->logits + (size_t)j * V, V * sizeof(float));
}

void charrnn_stream_set_state(charrnn_stream *s, int j, const float *in) {
    model *r = &s->run;
    const size_t H = (size_t)r->H, V = (size_t)s->m->vocab_size;
    for (int l = 0; l < r->L; l++) {
        memcpy(r->state_h + ((size_t)l * r->B + j) * H, in, H * sizeof(float));
        in += H;
        if (r->cfg.cell == CHARRNN_LSTM) {
            memcpy(r->state_c + ((size_t)l * r->B + j) * H, in, H * sizeof(float));
            in += H;
        }
    }
    memcpy(r->logits + (size_t)j * V, in, V * sizeof(float));
    softmax_xent_forward(r->probs + (size_t)j * V, r->logits + (size_t)j * V, NULL, 1, (int)V);
}

/* ---- sampling --------------------------------------------------------------------- */

struct charrnn_sampler {
    charrnn_stream *st;
    rng r;
    int have_pred;     /* a character was fed: the distribution is the model's */
    int *cur;          /* (n) the characters drawn */
    float *q;          /* (V) scratch for the tempered distribution */
};

int charrnn_sampler_open(charrnn_sampler **out, charrnn_model *m, int num_streams, uint64_t seed, charrnn_error *err) {
    *out = NULL;
    if (num_streams < 1 || num_streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d samples at once is out of range; use 1 to 100000", num_streams);
    charrnn_sampler *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    int rc = charrnn_stream_open(&s->st, m, num_streams, err);
    if (rc) { free(s); return rc; }
    s->cur = cr_calloc((size_t)num_streams, sizeof(int));
    s->q = cr_calloc((size_t)m->vocab_size, sizeof(float));
    if (!s->cur || !s->q) { charrnn_sampler_close(s); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    rng_seed(&s->r, seed, 3);
    *out = s;
    return CHARRNN_OK;
}

void charrnn_sampler_close(charrnn_sampler *s) {
    if (!s) return;
    charrnn_stream_close(s->st);
    free(s->cur);
    free(s->q);
    free(s);
}

int charrnn_sampler_use_half(charrnn_sampler *s, charrnn_error *err) {
    model *run = &s->st->run;
    if (!half_supported())
        return cr_fail(err, CHARRNN_EINVAL, "half-precision sampling needs a build for a processor with AVX-512F and F16C; sample in full precision");
    if (run->half) return CHARRNN_OK;
    run->half = cr_malloc(run->num_params, sizeof(uint16_t));
    if (!run->half) return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the half-precision weights");
    half_from_float(run->half, run->params, run->num_params);
    run->half_version = run->version_src ? *run->version_src : run->weights_version;
    return CHARRNN_OK;
}

int charrnn_sampler_prime(charrnn_sampler *s, const char *text, size_t len, long *skipped, uint32_t *examples,
                          int max_examples, int *num_examples, charrnn_error *err) {
    corpus c;
    long unknown = 0;
    int nex = 0;
    charrnn_model *m = s->st->m;
    int rc = corpus_encode_with_vocab(&c, text, len, m->unit, m->vocab, m->vocab_size, "the prime text", &unknown,
                                      examples, max_examples, &nex, err);
    if (rc) return rc;
    if (skipped) *skipped = unknown;
    if (num_examples) *num_examples = nex;
    if (c.n == 0 && len > 0) {
        corpus_free(&c);
        return cr_fail(err, CHARRNN_EINVAL, "none of the prime text's %ld characters is in the model's vocabulary; "
                       "prime with text like the training data", unknown);
    }
    for (size_t i = 0; i < c.n; i++) {
        for (int j = 0; j < s->st->n; j++) s->cur[j] = (int)corpus_id(&c, i);
        charrnn_stream_feed(s->st, s->cur, NULL);
        s->have_pred = 1;
    }
    corpus_free(&c);
    return CHARRNN_OK;
}

int charrnn_sampler_next(charrnn_sampler *s, float temperature, uint32_t *out, charrnn_error *err) {
    if (!(temperature == 0 || (temperature >= 1e-6f && temperature <= 1e6f)))
        return cr_fail(err, CHARRNN_EINVAL, "temperature %g is out of range; use 0 (argmax) or a value from 1e-6 to 1e6",
                       temperature);
    charrnn_model *m = s->st->m;
    const int V = m->vocab_size;
    for (int j = 0; j < s->st->n; j++) {
        int pick = 0;
        if (!s->have_pred) {
            pick = (int)(rng_uniform_double(&s->r) * V); /* no prime: a uniform first character, as char-rnn */
        } else {
            const float *p = s->st->run.probs + (size_t)j * V;
            if (temperature == 0) {
                for (int v = 1; v < V; v++) if (p[v] > p[pick]) pick = v;
                if (!isfinite(p[pick])) goto nonfinite;
            } else {
                /* q ~ p^(1/temperature) = exp((logits - max) / temperature), unnormalised */
                const float *q = p;
                double sum = 1.0;
                if (temperature != 1.0f) {
                    sum = tempered_exp(s->q, s->st->run.logits + (size_t)j * V, V, temperature);
                    q = s->q;
                }
                if (!(isfinite(sum) && sum > 0) || !isfinite(q[0])) goto nonfinite;
                double u = rng_uniform_double(&s->r) * sum, acc = 0;
                pick = V - 1;
                for (int v = 0; v < V; v++) {
                    acc += q[v];
                    if (u < acc) { pick = v; break; }
                }
                if (!isfinite(acc)) goto nonfinite;
                while (q[pick] == 0 && pick > 0) pick--; /* never draw a zero-probability tail */
            }
        }
        s->cur[j] = pick;
        out[j] = m->vocab[pick];
    }
    charrnn_stream_feed(s->st, s->cur, NULL);
    s->have_pred = 1;
    return CHARRNN_OK;
nonfinite:
    return cr_fail(err, CHARRNN_ENONFINITE, "the model's next-character probabilities are not finite (its weights "
                   "are so large that its numbers overflow); this checkpoint cannot be sampled");
}
