/* train.c: the training run behind charrnn_trainer: option checks, the
 * contiguous train/val/test split, char-rnn's batching (B streams, T-step
 * chunks, state carried between batches and reset each epoch), one iteration
 * (forward, backward, clip, update, learning-rate decay) and validation. */
#include "common.h"
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void charrnn_model_config_default(charrnn_model_config *c) {
    c->cell = CHARRNN_LSTM;
    c->num_layers = 2;
    c->rnn_size = 128;
    c->dropout = 0.0f;
}

void charrnn_train_options_default(charrnn_train_options *o) {
    memset(o, 0, sizeof *o);
    o->unit = CHARRNN_UNIT_CODEPOINT;
    o->batch_size = 50;
    o->seq_length = 50;
    o->train_frac = 0.95;
    o->val_frac = 0.05;
    o->optim = CHARRNN_RMSPROP;
    o->learning_rate = 2e-3;
    o->decay_rate = 0.95;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->learning_rate_decay = 0.97;
    o->learning_rate_decay_after = 10;
    o->grad_clip = 5;
    o->clip_mode = CHARRNN_CLIP_VALUE;
    o->max_epochs = 50;
    o->max_iters = 0;
    o->eval_val_every = 1000;
    o->seed = 123;
}

const char *charrnn_cell_name(charrnn_cell c) {
    return c == CHARRNN_LSTM ? "lstm" : c == CHARRNN_GRU ? "gru" : "rnn";
}

const char *charrnn_optim_name(charrnn_optim o) {
    static const char *names[] = {"rmsprop", "adam", "adagrad", "sgd"};
    return (unsigned)o < 4 ? names[o] : "?";
}

const char *unit_name(charrnn_unit u) { return u == CHARRNN_UNIT_BYTE ? "byte" : "codepoint"; }

void charrnn_set_threads(int n) {
    if (n <= 0) return;
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int charrnn_get_threads(void) { return openblas_get_num_threads(); }

static int check_options(const charrnn_model_config *mc, const charrnn_train_options *o, charrnn_error *err) {
    if (mc->num_layers < 1 || mc->num_layers > MAX_LAYERS)
        return cr_fail(err, CHARRNN_EINVAL, "--num-layers %d is out of range; use 1 to %d", mc->num_layers, MAX_LAYERS);
    if (mc->rnn_size < 1 || mc->rnn_size > 16384)
        return cr_fail(err, CHARRNN_EINVAL, "--rnn-size %d is out of range; use 1 to 16384", mc->rnn_size);
    if (!(mc->dropout >= 0 && mc->dropout < 1))
        return cr_fail(err, CHARRNN_EINVAL, "--dropout %g is out of range; use 0 <= p < 1", mc->dropout);
    if (o->batch_size < 1 || o->batch_size > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "--batch-size %d is out of range; use 1 to 100000", o->batch_size);
    if (o->seq_length < 1 || o->seq_length > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "--seq-length %d is out of range; use 1 to 100000", o->seq_length);
    if (!(o->train_frac > 0 && o->train_frac <= 1))
        return cr_fail(err, CHARRNN_EINVAL, "--train-frac %g is out of range; use 0 < f <= 1", o->train_frac);
    if (!(o->val_frac >= 0 && o->val_frac < 1))
        return cr_fail(err, CHARRNN_EINVAL, "--val-frac %g is out of range; use 0 <= f < 1", o->val_frac);
    if (o->train_frac + o->val_frac > 1 + 1e-9)
        return cr_fail(err, CHARRNN_EINVAL, "--train-frac %g plus --val-frac %g is more than 1; the rest is the test block",
                       o->train_frac, o->val_frac);
    if (!(o->learning_rate > 0 && o->learning_rate < 1e3))
        return cr_fail(err, CHARRNN_EINVAL, "--learning-rate %g is out of range; use a positive value such as 2e-3", o->learning_rate);
    if (!(o->decay_rate > 0 && o->decay_rate < 1))
        return cr_fail(err, CHARRNN_EINVAL, "--decay-rate %g is out of range; use 0 < r < 1 (char-rnn: 0.95)", o->decay_rate);
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        return cr_fail(err, CHARRNN_EINVAL, "--beta1/--beta2 must be in [0, 1)");
    if (!(o->learning_rate_decay > 0 && o->learning_rate_decay <= 1))
        return cr_fail(err, CHARRNN_EINVAL, "--learning-rate-decay %g is out of range; use 0 < d <= 1", o->learning_rate_decay);
    if (!(o->learning_rate_decay_after >= 0))
        return cr_fail(err, CHARRNN_EINVAL, "--learning-rate-decay-after must be >= 0");
    if (!(o->grad_clip >= 0 && isfinite(o->grad_clip)))
        return cr_fail(err, CHARRNN_EINVAL, "--grad-clip %g is out of range; use 0 (off) or a positive value", o->grad_clip);
    if (!(o->max_epochs > 0 && o->max_epochs < 1e9))
        return cr_fail(err, CHARRNN_EINVAL, "--max-epochs %g is out of range; use a positive value", o->max_epochs);
    if (o->max_iters < 0)
        return cr_fail(err, CHARRNN_EINVAL, "--max-iters %ld is negative; use 0 (run --max-epochs) or a positive count", o->max_iters);
    if (o->skip_nonfinite < 0)
        return cr_fail(err, CHARRNN_EINVAL, "--skip-nonfinite %ld is negative; use 0 (stop at the first) or a count", o->skip_nonfinite);
    if (o->eval_val_every < 1)
        return cr_fail(err, CHARRNN_EINVAL, "--eval-val-every %ld is out of range; use a positive count", o->eval_val_every);
    return CHARRNN_OK;
}

int model_handle_new(charrnn_model **out, const charrnn_model_config *cfg, charrnn_unit unit,
                     const uint32_t *vocab, int vocab_size, charrnn_error *err) {
    charrnn_model *m = calloc(1, sizeof *m);
    if (!m) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    int rc = model_init(&m->net, cfg, vocab_size, err);
    if (rc) { free(m); return rc; }
    m->vocab = malloc(sizeof(uint32_t) * (size_t)vocab_size);
    if (!m->vocab) { charrnn_model_close(m); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    memcpy(m->vocab, vocab, sizeof(uint32_t) * (size_t)vocab_size);
    m->vocab_size = vocab_size;
    m->unit = unit;
    m->train_loss = NAN;
    m->eval_seq_length = 50;
    *out = m;
    return CHARRNN_OK;
}

int history_push(charrnn_model *m, long iteration, double loss) {
    if (m->num_history == m->cap_history) {
        int cap = m->cap_history ? 2 * m->cap_history : 16;
        val_record *h = realloc(m->history, sizeof *h * (size_t)cap);
        if (!h) return CHARRNN_ENOMEM;
        m->history = h;
        m->cap_history = cap;
    }
    m->history[m->num_history].iteration = iteration;
    m->history[m->num_history].loss = loss;
    m->num_history++;
    return CHARRNN_OK;
}

static void setup_split(charrnn_trainer *t) {
    size_t n = t->data.n;
    t->train_n = (size_t)floor((double)n * t->opt.train_frac);
    t->val_n = (size_t)floor((double)n * t->opt.val_frac);
    if (t->train_n + t->val_n > n) t->val_n = n - t->train_n;
    t->test_n = n - t->train_n - t->val_n;
}

static int check_corpus_size(const charrnn_trainer *t, const char *name, charrnn_error *err) {
    size_t need = (size_t)t->opt.batch_size * t->opt.seq_length + 1;
    if (t->train_n < need) {
        size_t min_total = (size_t)ceil((double)need / t->opt.train_frac);
        int max_b = t->train_n > (size_t)t->opt.seq_length ? (int)((t->train_n - 1) / t->opt.seq_length) : 0;
        char hint[160];
        if (max_b >= 1)
            snprintf(hint, sizeof hint, "use a smaller --batch-size (at most %d with --seq-length %d) or a larger file",
                     max_b, t->opt.seq_length);
        else
            snprintf(hint, sizeof hint, "use a smaller --seq-length and --batch-size, or a larger file");
        return cr_fail(err, CHARRNN_EDATA,
                       "%s has %zu characters; its training block (%.0f%%: %zu) is too small for --batch-size %d x --seq-length %d "
                       "(needs %zu, so a file of at least %zu characters); %s",
                       name, t->data.n, t->opt.train_frac * 100, t->train_n, t->opt.batch_size,
                       t->opt.seq_length, need, min_total, hint);
    }
    return CHARRNN_OK;
}

/* Refuses a run whose memory would exceed what the machine has, before
 * allocating anything large: better a clear message now than the OOM killer later. */
static int check_memory(const charrnn_model_config *mc, const charrnn_train_options *o, int V, charrnn_error *err) {
    double params = model_param_count(mc, V);
    int moments = o->optim == CHARRNN_ADAM ? 2 : o->optim == CHARRNN_SGD ? 0 : 1;
    double need = params * 4.0 * moments;
    if (params * 4.0 * 3 < 1e15) /* model_alloc_bytes' size_t arithmetic cannot overflow below this */
        need += (double)model_alloc_bytes(mc, V, o->batch_size, o->seq_length, 1);
    else
        need = 1e18;
    double avail = (double)cr_available_memory();
    if (avail > 0 && need > avail)
        return cr_fail(err, CHARRNN_ENOMEM,
                       "this run needs about %.1f GB (%.0f M parameters, batch %d x seq %d) but %.1f GB are available; "
                       "use a smaller --rnn-size, --num-layers, --batch-size or --seq-length",
                       need / 1e9, params / 1e6, o->batch_size, o->seq_length, avail / 1e9);
    return CHARRNN_OK;
}

static long compute_total_iters(const charrnn_trainer *t) {
    if (t->opt.max_iters > 0) return t->opt.max_iters;
    double total = t->opt.max_epochs * (double)t->iters_per_epoch;
    return total < 1 ? 1 : (long)floor(total);
}

static int load_corpus(charrnn_trainer *t, const char *path, const char *text, size_t len,
                       charrnn_unit unit, charrnn_error *err) {
    if (path) return corpus_load(&t->data, path, unit, err);
    return corpus_from_memory(&t->data, text, len, unit, "the built-in corpus", err);
}

/* Allocates everything a run needs once the corpus and the model handle exist. */
static int trainer_alloc(charrnn_trainer *t, charrnn_error *err) {
    const int B = t->opt.batch_size, T = t->opt.seq_length;
    model *net = &t->m->net;
    int rc = model_alloc(net, B, T, 1, err);
    if (rc) return rc;
    if ((rc = optim_init(&t->opt_state, &t->opt, net->num_params, err))) return rc;
    t->x = malloc(sizeof(int32_t) * (size_t)B * T);
    t->y = malloc(sizeof(int32_t) * (size_t)B * T);
    t->saved_state = malloc(sizeof(float) * 2 * (size_t)net->L * B * net->H);
    t->cap_loss_history = t->total_iters > 0 ? t->total_iters : 1;
    t->loss_history = calloc((size_t)t->cap_loss_history, sizeof(float));
    if (!t->x || !t->y || !t->saved_state || !t->loss_history)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating batch buffers");
    t->m->eval_seq_length = T;
    return CHARRNN_OK;
}

int charrnn_trainer_open(charrnn_trainer **out, const char *corpus_path, const char *text, size_t len,
                         const charrnn_model_config *mc, const charrnn_train_options *opt,
                         charrnn_error *err) {
    *out = NULL;
    int rc = check_options(mc, opt, err);
    if (rc) return rc;
    charrnn_trainer *t = calloc(1, sizeof *t);
    if (!t) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    t->opt = *opt;
    if ((rc = load_corpus(t, corpus_path, text, len, opt->unit, err))) goto fail;
    setup_split(t);
    if ((rc = check_corpus_size(t, corpus_path ? corpus_path : "the built-in corpus", err))) goto fail;
    t->iters_per_epoch = (long)((t->train_n - 1) / ((size_t)opt->batch_size * opt->seq_length));
    t->total_iters = compute_total_iters(t);
    t->lr = opt->learning_rate;
    if ((rc = check_memory(mc, opt, t->data.vocab_size, err))) goto fail;
    if ((rc = model_handle_new(&t->m, mc, opt->unit, t->data.vocab, t->data.vocab_size, err))) goto fail;
    rng init;
    rng_seed(&init, opt->seed, 1);
    model_init_weights(&t->m->net, &init);
    rng_seed(&t->drop_rng, opt->seed, 2);
    if ((rc = trainer_alloc(t, err))) goto fail;
    t->m->learning_rate = t->lr;
    *out = t;
    return CHARRNN_OK;
fail:
    charrnn_trainer_close(t);
    return rc;
}

int charrnn_trainer_resume(charrnn_trainer **out, const char *ckpt_path, const char *corpus_path,
                           const char *text, size_t len, const charrnn_train_options *opt_override,
                           charrnn_error *err) {
    *out = NULL;
    charrnn_model_config mc;
    charrnn_train_options opt;
    int rc = checkpoint_read_options(ckpt_path, &mc, &opt, err);
    if (rc) return rc;
    if (opt_override) {
        if (opt_override->max_epochs > 0) {
            opt.max_epochs = opt_override->max_epochs;
            opt.max_iters = 0;
        }
        if (opt_override->max_iters > 0) opt.max_iters = opt_override->max_iters;
        if (opt_override->eval_val_every > 0) opt.eval_val_every = opt_override->eval_val_every;
        if (opt_override->skip_nonfinite > 0) opt.skip_nonfinite = opt_override->skip_nonfinite;
    }
    charrnn_trainer *t = calloc(1, sizeof *t);
    if (!t) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    t->opt = opt;
    if ((rc = load_corpus(t, corpus_path, text, len, opt.unit, err))) goto fail;
    setup_split(t);
    if ((rc = check_corpus_size(t, corpus_path ? corpus_path : "the built-in corpus", err))) goto fail;
    t->iters_per_epoch = (long)((t->train_n - 1) / ((size_t)opt.batch_size * opt.seq_length));
    t->total_iters = compute_total_iters(t);
    if ((rc = checkpoint_load(ckpt_path, &t->m, err))) goto fail;
    if ((rc = check_memory(&t->m->net.cfg, &opt, t->m->vocab_size, err))) goto fail;
    if ((rc = trainer_alloc(t, err))) goto fail;
    if ((rc = checkpoint_restore_trainer(t, ckpt_path, err))) goto fail;
    *out = t;
    return CHARRNN_OK;
fail:
    charrnn_trainer_close(t);
    return rc;
}

int charrnn_trainer_init_from(charrnn_trainer *t, const char *ckpt_path, charrnn_error *err) {
    charrnn_model *src;
    int rc = charrnn_model_load(&src, ckpt_path, err);
    if (rc) return rc;
    const model *a = &src->net, *b = &t->m->net;
    if (a->cfg.cell != b->cfg.cell || a->L != b->L || a->H != b->H) {
        rc = cr_fail(err, CHARRNN_EMISMATCH,
                     "--init-from %s holds a %d x %d %s, but this run asks for a %d x %d %s; "
                     "pass the same --model, --num-layers and --rnn-size (or drop --init-from)",
                     ckpt_path, a->L, a->H, charrnn_cell_name(a->cfg.cell), b->L, b->H, charrnn_cell_name(b->cfg.cell));
    } else if (src->unit != t->m->unit || src->vocab_size != t->m->vocab_size ||
               memcmp(src->vocab, t->m->vocab, sizeof(uint32_t) * (size_t)src->vocab_size)) {
        rc = cr_fail(err, CHARRNN_EMISMATCH,
                     "--init-from %s has a different vocabulary (%d %s characters) from this corpus (%d %s characters); "
                     "train on text with the same character set, or start without --init-from",
                     ckpt_path, src->vocab_size, unit_name(src->unit), t->m->vocab_size, unit_name(t->m->unit));
    } else {
        memcpy(t->m->net.params, src->net.params, sizeof(float) * a->num_params);
    }
    charrnn_model_close(src);
    return rc;
}

void charrnn_trainer_close(charrnn_trainer *t) {
    if (!t) return;
    charrnn_model_close(t->m);
    corpus_free(&t->data);
    optim_free(&t->opt_state);
    free(t->x);
    free(t->y);
    free(t->saved_state);
    free(t->loss_history);
    free(t);
}

int train_on_batch(model *net, optim *o, const charrnn_train_options *opt, const int32_t *x, const int32_t *y,
                   int b, int t, double lr, rng *r, double *loss, double *norm) {
    model_zero_grad(net);
    *loss = model_forward(net, x, y, b, t, 1, r);
    *norm = NAN;
    if (!isfinite(*loss)) return 1;
    model_backward(net, x, y, b, t);
    *norm = grad_norm(net->grads, net->num_params);
    if (!isfinite(*norm)) return 2;
    grad_clip(net->grads, net->num_params, opt->grad_clip, opt->clip_mode, *norm);
    optim_update(o, net->params, net->grads, lr);
    return 0;
}

int charrnn_trainer_done(const charrnn_trainer *t) { return t->iter >= t->total_iters; }

int charrnn_trainer_step(charrnn_trainer *t, charrnn_step_stats *st, charrnn_error *err) {
    model *net = &t->m->net;
    const int B = t->opt.batch_size, T = t->opt.seq_length;
    const long k = t->iter % t->iters_per_epoch;
    if (k == 0) model_reset_state(net);
    /* stream j is the contiguous slice [j*S, (j+1)*S) of the training block */
    const size_t S = (size_t)t->iters_per_epoch * T;
    for (int s = 0; s < T; s++)
        for (int j = 0; j < B; j++) {
            size_t pos = (size_t)j * S + (size_t)k * T + s;
            t->x[s * B + j] = (int32_t)corpus_id(&t->data, pos);
            t->y[s * B + j] = (int32_t)corpus_id(&t->data, pos + 1);
        }
    double loss, norm;
    int rc = train_on_batch(net, &t->opt_state, &t->opt, t->x, t->y, B, T, t->lr, &t->drop_rng, &loss, &norm);
    int skipped = 0;
    if (rc && t->skipped < t->opt.skip_nonfinite) {
        /* skip this batch: no update; the carried state may hold NaN, so start afresh */
        t->skipped++;
        skipped = 1;
        model_reset_state(net);
    } else if (rc == 1) {
        return cr_fail(err, CHARRNN_ENONFINITE,
                       "the training loss became %g at iteration %ld; the weights were left as they were. "
                       "Try a lower --learning-rate or --grad-clip, --skip-nonfinite N, or resume from the last checkpoint",
                       loss, t->iter + 1);
    } else if (rc == 2) {
        return cr_fail(err, CHARRNN_ENONFINITE,
                       "the gradient became non-finite at iteration %ld; the weights were left as they were. "
                       "Try a lower --learning-rate or --grad-clip, --skip-nonfinite N, or resume from the last checkpoint",
                       t->iter + 1);
    }
    if (t->iter >= t->cap_loss_history) { /* stepping past the planned end (an API user may) */
        long cap = 2 * t->cap_loss_history + 16;
        float *h = realloc(t->loss_history, sizeof(float) * (size_t)cap);
        if (!h) return cr_fail(err, CHARRNN_ENOMEM, "out of memory recording the loss history");
        t->loss_history = h;
        t->cap_loss_history = cap;
    }
    t->loss_history[t->iter] = skipped ? NAN : (float)loss;
    t->iter++;
    int epoch_end = t->iter % t->iters_per_epoch == 0;
    double epoch = (double)t->iter / (double)t->iters_per_epoch;
    if (epoch_end && t->opt.learning_rate_decay < 1 && epoch >= t->opt.learning_rate_decay_after)
        t->lr *= t->opt.learning_rate_decay;
    t->m->iteration = t->iter;
    t->m->epoch = epoch;
    t->m->train_loss = loss;
    t->m->learning_rate = t->lr;
    if (st) {
        st->iteration = t->iter;
        st->total_iters = t->total_iters;
        st->epoch = epoch;
        st->loss = loss;
        st->grad_norm = norm;
        st->learning_rate = t->lr;
        st->epoch_end = epoch_end;
        st->skipped = skipped;
        st->skipped_total = t->skipped;
    }
    return CHARRNN_OK;
}

double eval_ids(model *net, const corpus *c, size_t begin, size_t n, int32_t *x, int32_t *y, long *count,
                charrnn_progress_fn progress, void *ctx) {
    double total = 0.0;
    long cnt = 0;
    if (n >= 2) {
        const size_t targets = n - 1, T = (size_t)net->T;
        size_t b = targets / T;
        if (b > (size_t)net->B) b = (size_t)net->B;
        if (b < 1) b = 1;
        const size_t len = targets / b;
        /* pass 0: b streams of len predictions; pass 1: the rest as one stream */
        for (int pass = 0; pass < 2; pass++) {
            size_t nb = pass == 0 ? b : 1, nlen = pass == 0 ? len : targets - b * len;
            size_t base = pass == 0 ? begin : begin + b * len;
            if (nlen == 0) continue;
            model_reset_state(net);
            for (size_t pos = 0; pos < nlen; pos += T) {
                size_t tt = nlen - pos < T ? nlen - pos : T;
                for (size_t s = 0; s < tt; s++)
                    for (size_t j = 0; j < nb; j++) {
                        size_t at = base + j * nlen + pos + s;
                        x[s * nb + j] = (int32_t)corpus_id(c, at);
                        y[s * nb + j] = (int32_t)corpus_id(c, at + 1);
                    }
                double l = model_forward(net, x, y, (int)nb, (int)tt, 0, NULL);
                total += l * (double)(nb * tt);
                cnt += (long)(nb * tt);
                if (progress) progress(ctx, cnt, (long)targets);
            }
        }
    }
    if (count) *count = cnt;
    return cnt ? total / (double)cnt : NAN;
}

int charrnn_trainer_validate(charrnn_trainer *t, double *val_loss, charrnn_error *err) {
    if (t->val_n < 2)
        return cr_fail(err, CHARRNN_EDATA, "there is no validation block (--val-frac %g gives %zu characters)",
                       t->opt.val_frac, t->val_n);
    model *net = &t->m->net;
    size_t state = (size_t)net->L * net->B * net->H;
    memcpy(t->saved_state, net->state_h, sizeof(float) * state);
    memcpy(t->saved_state + state, net->state_c, sizeof(float) * state);
    long cnt;
    double loss = eval_ids(net, &t->data, t->train_n, t->val_n, t->x, t->y, &cnt, NULL, NULL);
    memcpy(net->state_h, t->saved_state, sizeof(float) * state);
    memcpy(net->state_c, t->saved_state + state, sizeof(float) * state);
    if (history_push(t->m, t->iter, loss)) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    *val_loss = loss;
    return CHARRNN_OK;
}

int charrnn_trainer_save(charrnn_trainer *t, const char *path, charrnn_error *err) {
    return checkpoint_save(t, path, err);
}

charrnn_model *charrnn_trainer_model(charrnn_trainer *t) { return t->m; }

size_t charrnn_trainer_checkpoint_bytes(const charrnn_trainer *t) {
    const model *net = &t->m->net;
    size_t floats = net->num_params * (1 + (size_t)optim_num_moments(&t->opt_state)) +
                    2 * (size_t)net->L * net->B * net->H + (size_t)t->total_iters;
    return floats * sizeof(float) + 64 * 1024 + (size_t)t->m->vocab_size * 12; /* + header */
}
void charrnn_trainer_progress(const charrnn_trainer *t, long *iteration, long *total_iters) {
    *iteration = t->iter;
    *total_iters = t->total_iters;
}

const charrnn_train_options *charrnn_trainer_options(const charrnn_trainer *t) { return &t->opt; }

void charrnn_trainer_corpus_info(const charrnn_trainer *t, charrnn_corpus_info *info) {
    info->num_chars = t->data.n;
    info->vocab_size = t->data.vocab_size;
    info->train_chars = t->train_n;
    info->val_chars = t->val_n;
    info->test_chars = t->test_n;
    info->iters_per_epoch = t->iters_per_epoch;
    info->elem_bytes = t->data.elem_bytes;
}
