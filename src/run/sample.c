/* sample.c: the model reading text one character at a time (charrnn_stream),
 * and sampling on top of it (charrnn_sampler): draw a character from the
 * next-character distribution, feed it back. A sampler's streams can also be
 * driven one by one (reset, primed and configured each with its own seed, then
 * stepped together as one batch): continuous batching for a server. */
#include "cells.h"
#include "common.h"
#include "data.h"
#include "handle.h"
#include "threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- streams ---------------------------------------------------------------------- */

struct charrnn_stream {
    charrnn_model *m;  /* a reference: the model lives while the stream does */
    model run;         /* shares m's weights; activations for (n, 1) */
    int n;
    int32_t *cur;      /* (n) scratch: the ids being fed */
    float *zeros;      /* (V) zeros: a fresh stream's logits */
};

/* logits 0, probabilities 1/V (exactly: the softmax of zeros) */
static void set_uniform(charrnn_stream *s, int j) { model_set_logits(&s->run, (size_t)j, s->zeros); }

int charrnn_stream_open(charrnn_stream **out, charrnn_model *m, int num_streams, charrnn_error *err) {
    *out = NULL;
    if (num_streams < 1 || num_streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d streams is out of range; use 1 to 100000", num_streams);
    charrnn_stream *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    s->n = num_streams;
    int rc = model_view(&s->run, &m->net, num_streams, 1, err);
    if (rc) { free(s); return rc; }
    s->m = model_retain(m);
    s->cur = cr_calloc((size_t)num_streams, sizeof(int32_t));
    s->zeros = cr_calloc((size_t)m->vocab_size, sizeof(float));
    if (!s->cur || !s->zeros) { charrnn_stream_close(s); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    charrnn_stream_reset(s);
    *out = s;
    return CHARRNN_OK;
}

void charrnn_stream_close(charrnn_stream *s) {
    if (!s) return;
    model_view_free(&s->run);
    free(s->cur);
    free(s->zeros);
    charrnn_model_close(s->m);
    free(s);
}

int charrnn_stream_count(const charrnn_stream *s) { return s->n; }
int charrnn_stream_vocab_size(const charrnn_stream *s) { return s->m->vocab_size; }

void charrnn_stream_reset(charrnn_stream *s) {
    model_reset_state(&s->run);
    for (int j = 0; j < s->n; j++) set_uniform(s, j);
}

/* One step of every stream; a device's failure (model_check) is the error */
static int forward_one(charrnn_stream *s, charrnn_error *err) {
    thread_scope ts;
    threads_enter(&ts, s->m->threads);
    model_forward(&s->run, s->cur, NULL, s->n, 1, 0, NULL);
    threads_leave(&ts);
    return model_check(&s->run, err);
}

int charrnn_stream_feed(charrnn_stream *s, const int *ids, charrnn_error *err) {
    for (int j = 0; j < s->n; j++) {
        if (ids[j] < 0 || ids[j] >= s->m->vocab_size)
            return cr_fail(err, CHARRNN_EINVAL, "character index %d (stream %d) is outside the vocabulary of %d",
                           ids[j], j, s->m->vocab_size);
        s->cur[j] = ids[j];
    }
    return forward_one(s, err);
}

int charrnn_stream_feed_text(charrnn_stream *s, const char *text, size_t len, long *unknown, charrnn_error *err) {
    corpus c;
    long unk = 0;
    int rc = corpus_encode_with_vocab(&c, text, len, s->m->unit, s->m->vocab, s->m->vocab_size, "the text", &unk,
                                      NULL, 0, NULL, err);
    if (rc) return rc;
    if (unknown) *unknown = unk;
    for (size_t i = 0; i < c.n && !rc; i++) {
        for (int j = 0; j < s->n; j++) s->cur[j] = (int32_t)corpus_id(&c, i);
        rc = forward_one(s, err);
    }
    corpus_free(&c);
    return rc;
}

const float *charrnn_stream_probs(const charrnn_stream *s, int j) {
    return j >= 0 && j < s->n ? model_probs(&s->run, (size_t)j) : NULL;
}

void charrnn_stream_logprobs(const charrnn_stream *s, int j, float *out) {
    if (j < 0 || j >= s->n) return;
    const int V = s->m->vocab_size;
    const float *z = model_logits(&s->run, (size_t)j);
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
    const int lstm = r->cfg.cell == CHARRNN_LSTM;
    for (int l = 0; l < r->L; l++) {
        model_get_state(r, l, j, 1, out, lstm ? out + H : NULL);
        out += lstm ? 2 * H : H;
    }
    memcpy(out, model_logits(r, (size_t)j), V * sizeof(float));
}

void charrnn_stream_set_state(charrnn_stream *s, int j, const float *in) {
    model *r = &s->run;
    const size_t H = (size_t)r->H;
    const int lstm = r->cfg.cell == CHARRNN_LSTM;
    for (int l = 0; l < r->L; l++) {
        model_set_state(r, l, j, 1, in, lstm ? in + H : NULL);
        in += lstm ? 2 * H : H;
    }
    model_set_logits(r, (size_t)j, in);
}

/* ---- sampling --------------------------------------------------------------------- */

#define MAX_WINDOW 4096

/* One stream's own part: what charrnn_sampler_stream_reset gives it, and its
 * place in the repetition ring. The whole-sampler calls keep every lane alike. */
typedef struct lane {
    rng r;                     /* its generator, once reset on its own */
    charrnn_sample_config cfg; /* its configuration, for charrnn_sampler_step */
    int have_pred;             /* a character was fed: the distribution is the model's */
    int hist_len, hist_pos;
} lane;

struct charrnn_sampler {
    charrnn_stream *st;
    rng r;
    lane *lanes;       /* (n) */
    charrnn_stream *one; /* a 1-stream reader that primes a single stream (opened on first use) */
    float *state;      /* (state size) scratch: the primed state on its way into the batch */
    float *parked;     /* (n, state size) idle streams' states while a step runs past them */
    int *cur;          /* (n) the characters drawn */
    float *q;          /* (V) scratch: the distribution being shaped */
    float *z;          /* (V) scratch: penalised logits */
    int *order;        /* (V) scratch: vocabulary indices by probability */
    charrnn_sample_config cfg;
    int *hist;         /* (n, MAX_WINDOW) ring of each stream's recent characters */
    uint32_t *stamp;   /* (V) marks characters already penalised in this draw */
    uint32_t stamp_now;
};

void charrnn_sample_config_default(charrnn_sample_config *c) {
    c->temperature = 1.0f;
    c->top_k = 0;
    c->top_p = 1.0f;
    c->min_p = 0.0f;
    c->repetition_penalty = 1.0f;
    c->repetition_window = 64;
}

int charrnn_sample_config_check(const charrnn_sample_config *c, charrnn_error *err) {
    if (!c) return CHARRNN_OK; /* the defaults */
    if (!(c->temperature == 0 || (c->temperature >= 1e-6f && c->temperature <= 1e6f)))
        return cr_fail(err, CHARRNN_EINVAL, "temperature %s is out of range; use 0 (argmax) or a value from 1e-6 to 1e6",
                       CR_NUMF(c->temperature));
    if (c->top_k < 0) return cr_fail(err, CHARRNN_EINVAL, "top-k %d is out of range; use 0 (off) or a positive count", c->top_k);
    if (!(c->top_p > 0 && c->top_p <= 1))
        return cr_fail(err, CHARRNN_EINVAL, "top-p %s is out of range; use 0 < p <= 1 (1: off)", CR_NUMF(c->top_p));
    if (!(c->min_p >= 0 && c->min_p < 1))
        return cr_fail(err, CHARRNN_EINVAL, "min-p %s is out of range; use 0 <= p < 1 (0: off)", CR_NUMF(c->min_p));
    if (!(c->repetition_penalty >= 1 && c->repetition_penalty <= 1e6))
        return cr_fail(err, CHARRNN_EINVAL, "repetition penalty %s is out of range; use 1 (off) or more, such as 1.3",
                       CR_NUMF(c->repetition_penalty));
    if (c->repetition_window < 1 || c->repetition_window > MAX_WINDOW)
        return cr_fail(err, CHARRNN_EINVAL, "repetition window %d is out of range; use 1 to %d characters",
                       c->repetition_window, MAX_WINDOW);
    return CHARRNN_OK;
}

int charrnn_sampler_open(charrnn_sampler **out, charrnn_model *m, int num_streams, uint64_t seed, charrnn_error *err) {
    *out = NULL;
    if (num_streams < 1 || num_streams > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "%d samples at once is out of range; use 1 to 100000", num_streams);
    charrnn_sampler *s = calloc(1, sizeof *s);
    if (!s) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    int rc = charrnn_stream_open(&s->st, m, num_streams, err);
    if (rc) { free(s); return rc; }
    const size_t V = (size_t)m->vocab_size;
    s->cur = cr_calloc((size_t)num_streams, sizeof(int));
    s->q = cr_calloc(V, sizeof(float));
    s->z = cr_calloc(V, sizeof(float));
    s->order = cr_calloc(V, sizeof(int));
    s->stamp = cr_calloc(V, sizeof(uint32_t));
    s->lanes = cr_calloc((size_t)num_streams, sizeof(lane));
    if (!s->cur || !s->q || !s->z || !s->order || !s->stamp || !s->lanes) {
        charrnn_sampler_close(s);
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    charrnn_sample_config_default(&s->cfg);
    for (int j = 0; j < num_streams; j++) s->lanes[j].cfg = s->cfg;
    rng_seed(&s->r, seed, 3);
    *out = s;
    return CHARRNN_OK;
}

void charrnn_sampler_close(charrnn_sampler *s) {
    if (!s) return;
    charrnn_stream_close(s->st);
    free(s->cur);
    free(s->q);
    free(s->z);
    free(s->order);
    free(s->stamp);
    free(s->hist);
    free(s->lanes);
    charrnn_stream_close(s->one);
    free(s->state);
    free(s->parked);
    free(s);
}

int charrnn_sampler_configure(charrnn_sampler *s, const charrnn_sample_config *c, charrnn_error *err) {
    charrnn_sample_config defaults;
    if (!c) { charrnn_sample_config_default(&defaults); c = &defaults; }
    int rc = charrnn_sample_config_check(c, err);
    if (rc) return rc;
    if (c->repetition_penalty != 1 && !s->hist) {
        s->hist = cr_calloc((size_t)s->st->n * MAX_WINDOW, sizeof(int));
        if (!s->hist) return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the repetition window");
    }
    s->cfg = *c;
    for (int j = 0; j < s->st->n; j++) s->lanes[j].cfg = *c;
    return CHARRNN_OK;
}

int charrnn_sampler_use_half(charrnn_sampler *s, charrnn_error *err) {
    return model_use_half(&s->st->run, err);
}

/* Stream j's newest character goes into its ring (for the repetition penalty). */
static void remember_one(charrnn_sampler *s, int j, int id) {
    lane *l = &s->lanes[j];
    l->have_pred = 1;
    if (!s->hist) return;
    s->hist[(size_t)j * MAX_WINDOW + l->hist_pos] = id;
    l->hist_pos = (l->hist_pos + 1) % MAX_WINDOW;
    if (l->hist_len < MAX_WINDOW) l->hist_len++;
}

static void remember(charrnn_sampler *s) {
    for (int j = 0; j < s->st->n; j++) remember_one(s, j, s->cur[j]);
}

int charrnn_sampler_prime(charrnn_sampler *s, const char *text, size_t len, long *skipped, uint32_t *examples,
                          int max_examples, int *num_examples, charrnn_error *err) {
    corpus c;
    charrnn_model *m = s->st->m;
    int rc = corpus_encode_prime(&c, text, len, m->unit, m->vocab, m->vocab_size, skipped, examples, max_examples,
                                 num_examples, err);
    if (rc) return rc;
    for (size_t i = 0; i < c.n && !rc; i++) {
        for (int j = 0; j < s->st->n; j++) s->cur[j] = (int)corpus_id(&c, i);
        rc = charrnn_stream_feed(s->st, s->cur, err);
        remember(s);
    }
    corpus_free(&c);
    return rc;
}

/* Probabilities q descending, ties by vocabulary index: a deterministic order.
 * q comes as qsort_r's argument, never a global, so samplers on two threads sort apart. */
static int by_prob(const void *a, const void *b, void *q_) {
    const float *q = q_;
    int i = *(const int *)a, j = *(const int *)b;
    if (q[i] != q[j]) return q[i] > q[j] ? -1 : 1;
    return i - j;
}

/* Stream j's next character under configuration c, its uniform numbers from r
 * (see charrnn.h for the order). */
static int draw_one(charrnn_sampler *s, int j, const charrnn_sample_config *c, rng *r, float temperature,
                    int *pick_out) {
    const int V = s->st->m->vocab_size;
    const lane *l = &s->lanes[j];
    const float *logits = model_logits(&s->st->run, (size_t)j), *p = model_probs(&s->st->run, (size_t)j);
    int penalise = c->repetition_penalty != 1 && s->hist && l->hist_len > 0;
    if (penalise) {
        memcpy(s->z, logits, sizeof(float) * (size_t)V);
        if (++s->stamp_now == 0) { memset(s->stamp, 0, sizeof(uint32_t) * (size_t)V); s->stamp_now = 1; }
        int w = c->repetition_window < l->hist_len ? c->repetition_window : l->hist_len;
        for (int k = 1; k <= w; k++) {
            int id = s->hist[(size_t)j * MAX_WINDOW + (size_t)((l->hist_pos - k + MAX_WINDOW) % MAX_WINDOW)];
            if (s->stamp[id] == s->stamp_now) continue;
            s->stamp[id] = s->stamp_now;
            s->z[id] = s->z[id] > 0 ? s->z[id] / c->repetition_penalty : s->z[id] * c->repetition_penalty;
        }
        logits = s->z;
    }
    int pick = 0;
    if (temperature == 0) {
        const float *a = penalise ? logits : p;
        for (int v = 1; v < V; v++) if (a[v] > a[pick]) pick = v;
        if (!isfinite(a[pick])) return -1;
        *pick_out = pick;
        return 0;
    }
    int filter = (c->top_k > 0 && c->top_k < V) || c->top_p < 1 || c->min_p > 0;
    const float *q = p;
    double sum = 1.0;
    if (temperature != 1.0f || penalise || filter) { /* the plain case keeps the model's own softmax */
        sum = tempered_exp(s->q, logits, V, temperature);
        q = s->q;
    }
    if (!(isfinite(sum) && sum > 0) || !isfinite(q[0])) return -1;
    if (filter) {
        for (int v = 0; v < V; v++) s->order[v] = v;
        qsort_r(s->order, (size_t)V, sizeof(int), by_prob, s->q);
        int keep = c->top_k > 0 && c->top_k < V ? c->top_k : V;
        if (c->top_p < 1) {
            double acc = 0, want = (double)c->top_p * sum;
            int k = 0;
            while (k < keep && acc < want) acc += s->q[s->order[k++]];
            keep = k > 0 ? k : 1;
        }
        if (c->min_p > 0) {
            float floor_q = c->min_p * s->q[s->order[0]];
            int k = 1;
            while (k < keep && s->q[s->order[k]] >= floor_q) k++;
            keep = k;
        }
        sum = 0;
        for (int k = 0; k < V; k++) {
            if (k < keep) sum += s->q[s->order[k]];
            else s->q[s->order[k]] = 0.0f;
        }
    }
    double u = rng_uniform_double(r) * sum, acc = 0;
    pick = V - 1;
    for (int v = 0; v < V; v++) {
        acc += q[v];
        if (u < acc) { pick = v; break; }
    }
    if (!isfinite(acc)) return -1;
    while (q[pick] == 0 && pick > 0) pick--; /* never draw a zero-probability tail */
    while (q[pick] == 0 && pick < V - 1) pick++;
    *pick_out = pick;
    return 0;
}

#define NONFINITE_MSG "the model's next-character probabilities are not finite (its weights are so large that its " \
                      "numbers overflow); this checkpoint cannot be sampled"

static int next_with(charrnn_sampler *s, float temperature, uint32_t *out, charrnn_error *err) {
    if (!(temperature == 0 || (temperature >= 1e-6f && temperature <= 1e6f)))
        return cr_fail(err, CHARRNN_EINVAL, "temperature %s is out of range; use 0 (argmax) or a value from 1e-6 to 1e6",
                       CR_NUMF(temperature));
    charrnn_model *m = s->st->m;
    const int V = m->vocab_size;
    for (int j = 0; j < s->st->n; j++) {
        int pick = 0;
        if (!s->lanes[j].have_pred) {
            pick = (int)(rng_uniform_double(&s->r) * V); /* no prime: a uniform first character, as char-rnn */
        } else if (draw_one(s, j, &s->cfg, &s->r, temperature, &pick)) {
            return cr_fail(err, CHARRNN_ENONFINITE, NONFINITE_MSG);
        }
        s->cur[j] = pick;
        out[j] = m->vocab[pick];
    }
    int rc = charrnn_stream_feed(s->st, s->cur, err);
    remember(s);
    return rc;
}

int charrnn_sampler_next(charrnn_sampler *s, float temperature, uint32_t *out, charrnn_error *err) {
    return next_with(s, temperature, out, err);
}

int charrnn_sampler_draw(charrnn_sampler *s, uint32_t *out, charrnn_error *err) {
    return next_with(s, s->cfg.temperature, out, err);
}

/* ---- streams one by one: continuous batching ------------------------------------------ */

int charrnn_sampler_stream_reset(charrnn_sampler *s, int j, uint64_t seed, const charrnn_sample_config *c,
                                 charrnn_error *err) {
    if (j < 0 || j >= s->st->n)
        return cr_fail(err, CHARRNN_EINVAL, "stream %d is out of range; the sampler has %d", j, s->st->n);
    charrnn_sample_config defaults;
    if (!c) { charrnn_sample_config_default(&defaults); c = &defaults; }
    int rc = charrnn_sample_config_check(c, err);
    if (rc) return rc;
    if (c->repetition_penalty != 1 && !s->hist) {
        s->hist = cr_calloc((size_t)s->st->n * MAX_WINDOW, sizeof(int));
        if (!s->hist) return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the repetition window");
    }
    if (!s->one) {
        if ((rc = charrnn_stream_open(&s->one, s->st->m, 1, err))) return rc;
        s->state = cr_calloc(charrnn_stream_state_size(s->one), sizeof(float));
        if (!s->state) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    lane *l = &s->lanes[j];
    memset(l, 0, sizeof *l);
    l->cfg = *c;
    rng_seed(&l->r, seed, 3); /* as charrnn_sampler_open seeds: one stream reset with seed S draws as a sampler of S */
    charrnn_stream_reset(s->one); /* a zero state, uniform distribution */
    charrnn_stream_get_state(s->one, 0, s->state);
    charrnn_stream_set_state(s->st, j, s->state);
    return CHARRNN_OK;
}

int charrnn_sampler_stream_prime(charrnn_sampler *s, int j, const char *text, size_t len, long *skipped,
                                 uint32_t *examples, int max_examples, int *num_examples, charrnn_error *err) {
    if (j < 0 || j >= s->st->n || !s->one)
        return cr_fail(err, CHARRNN_EINVAL, "stream %d cannot be primed: reset it first (charrnn_sampler_stream_reset)", j);
    corpus c;
    charrnn_model *m = s->st->m;
    int rc = corpus_encode_prime(&c, text, len, m->unit, m->vocab, m->vocab_size, skipped, examples, max_examples,
                                 num_examples, err);
    if (rc) return rc;
    /* read in a 1-stream reader from stream j's state (the numbers of a 1-stream sampler), then moved into row j */
    charrnn_stream_get_state(s->st, j, s->state);
    charrnn_stream_set_state(s->one, 0, s->state);
    for (size_t i = 0; i < c.n && !rc; i++) {
        int id = (int)corpus_id(&c, i);
        rc = charrnn_stream_feed(s->one, &id, err); /* a device's failure is the error */
        remember_one(s, j, id);
    }
    corpus_free(&c);
    if (rc) return rc;
    charrnn_stream_get_state(s->one, 0, s->state);
    charrnn_stream_set_state(s->st, j, s->state);
    return CHARRNN_OK;
}

int charrnn_sampler_step(charrnn_sampler *s, const unsigned char *active, uint32_t *out, charrnn_error *err) {
    charrnn_model *m = s->st->m;
    const int V = m->vocab_size;
    int rows = 0;
    for (int j = 0; j < s->st->n; j++) {
        s->cur[j] = 0;
        if (!active[j]) continue;
        lane *l = &s->lanes[j];
        int pick = 0;
        if (!l->have_pred) pick = (int)(rng_uniform_double(&l->r) * V); /* no prime: as charrnn_sampler_next */
        else if (draw_one(s, j, &l->cfg, &l->r, l->cfg.temperature, &pick))
            return cr_fail(err, CHARRNN_ENONFINITE, NONFINITE_MSG);
        s->cur[j] = pick;
        out[j] = m->vocab[pick];
        rows = j + 1;
    }
    if (!rows) return CHARRNN_OK;
    /* only the rows up to the last active one go through the network; idle ones among them keep their state */
    const size_t ns = charrnn_stream_state_size(s->st);
    int idle = 0;
    for (int j = 0; j < rows; j++) idle += !active[j];
    if (idle && !s->parked) {
        s->parked = cr_malloc((size_t)s->st->n * ns, sizeof(float));
        if (!s->parked) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    for (int j = 0; j < rows; j++)
        if (!active[j]) charrnn_stream_get_state(s->st, j, s->parked + (size_t)j * ns);
    thread_scope ts;
    threads_enter(&ts, m->threads);
    model_forward(&s->st->run, s->cur, NULL, rows, 1, 0, NULL);
    threads_leave(&ts);
    int rc = model_check(&s->st->run, err); /* a device's failure is the error */
    if (rc) return rc;
    for (int j = 0; j < rows; j++)
        if (!active[j]) charrnn_stream_set_state(s->st, j, s->parked + (size_t)j * ns);
    for (int j = 0; j < rows; j++)
        if (active[j]) remember_one(s, j, s->cur[j]);
    return CHARRNN_OK;
}

/* ---- beam search ------------------------------------------------------------------- */

typedef struct cand { double score; int beam, ch; } cand;

static int by_score(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->beam != y->beam) return x->beam - y->beam;
    return x->ch - y->ch;
}

/* Beam search of width W from the state the stream is in (every stream the
 * same); out and *logprob as charrnn_beam_search. */
static int beam_run(charrnn_stream *st, int W, long length, int *out, double *logprob, charrnn_error *err) {
    const int V = st->m->vocab_size;
    const size_t ns = charrnn_stream_state_size(st);
    double *score = cr_calloc((size_t)W, sizeof(double)), *next_score = cr_calloc((size_t)W, sizeof(double));
    float *lp = cr_malloc((size_t)V, sizeof(float)), *states = cr_malloc((size_t)W * ns, sizeof(float));
    int *back = cr_malloc((size_t)length * W, sizeof(int)), *chr = cr_malloc((size_t)length * W, sizeof(int));
    cand *cands = cr_malloc((size_t)W * V, sizeof(cand));
    int *ids = cr_malloc((size_t)W, sizeof(int));
    int rc = CHARRNN_OK;
    if (!score || !next_score || !lp || !states || !back || !chr || !cands || !ids) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory for a beam of %d over %ld characters", W, length);
        goto done;
    }
    int live = 1; /* all streams start alike: expand one */
    for (long t = 0; t < length; t++) {
        size_t nc = 0;
        for (int b = 0; b < live; b++) {
            charrnn_stream_logprobs(st, b, lp);
            for (int v = 0; v < V; v++) cands[nc++] = (cand){score[b] + lp[v], b, v};
        }
        size_t keep = nc < (size_t)W ? nc : (size_t)W;
        qsort(cands, nc, sizeof *cands, by_score);
        if (!isfinite(cands[0].score)) {
            rc = cr_fail(err, CHARRNN_ENONFINITE, "the model's probabilities are not finite; beam search stopped");
            goto done;
        }
        for (int b = 0; b < live; b++) charrnn_stream_get_state(st, b, states + (size_t)b * ns);
        for (size_t k = 0; k < keep; k++) {
            charrnn_stream_set_state(st, (int)k, states + (size_t)cands[k].beam * ns);
            back[t * W + (long)k] = cands[k].beam;
            chr[t * W + (long)k] = cands[k].ch;
            next_score[k] = cands[k].score;
            ids[k] = cands[k].ch;
        }
        for (int k = (int)keep; k < W; k++) ids[k] = ids[0]; /* idle streams just follow */
        live = (int)keep;
        memcpy(score, next_score, sizeof(double) * (size_t)live);
        if ((rc = charrnn_stream_feed(st, ids, err))) goto done;
    }
    int best = 0;
    for (int b = 1; b < live; b++) if (score[b] > score[best]) best = b;
    *logprob = score[best];
    for (long t = length - 1; t >= 0; t--) {
        out[t] = chr[t * W + best];
        best = back[t * W + best];
    }
done:
    free(score); free(next_score); free(lp); free(states); free(back); free(chr); free(cands); free(ids);
    return rc;
}

int charrnn_beam_search(charrnn_model *m, const char *prime, size_t prime_len, int beam, long length, uint32_t *out,
                        double *logprob, charrnn_error *err) {
    if (beam < 1 || beam > 256) return cr_fail(err, CHARRNN_EINVAL, "beam %d is out of range; use 1 to 256", beam);
    if (length < 0 || length > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "beam search over %ld characters is out of range; use 0 to 100000", length);
    *logprob = 0;
    if (length == 0) return CHARRNN_OK;
    int *best = cr_malloc((size_t)length, sizeof(int)), *greedy = cr_malloc((size_t)length, sizeof(int));
    if (!best || !greedy) { free(best); free(greedy); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    charrnn_stream *st = NULL;
    double lp_beam = 0, lp_greedy = -INFINITY;
    int rc = charrnn_stream_open(&st, m, beam, err);
    if (!rc && prime_len) rc = charrnn_stream_feed_text(st, prime, prime_len, NULL, err);
    if (!rc) rc = beam_run(st, beam, length, best, &lp_beam, err);
    /* never less likely than greedy decoding: beam search can prune the greedy path */
    if (!rc && beam > 1) {
        charrnn_stream_close(st);
        st = NULL;
        rc = charrnn_stream_open(&st, m, 1, err);
        if (!rc && prime_len) rc = charrnn_stream_feed_text(st, prime, prime_len, NULL, err);
        if (!rc) rc = beam_run(st, 1, length, greedy, &lp_greedy, err);
    }
    if (!rc) {
        const int *pick = lp_greedy > lp_beam ? greedy : best;
        *logprob = lp_greedy > lp_beam ? lp_greedy : lp_beam;
        for (long t = 0; t < length; t++) out[t] = m->vocab[pick[t]];
    }
    charrnn_stream_close(st);
    free(best);
    free(greedy);
    return rc;
}
