/* train.c: the training run behind charrnn_trainer: the contiguous
 * train/val/test split, char-rnn's batching (B streams, T-step chunks, state
 * carried between batches and reset each epoch), one iteration (forward,
 * backward, clip, update at the schedule's learning rate, char-rnn's decay at
 * an epoch's end), validation, and saving or resuming the run through
 * checkpoint.c. */
#include "checkpoint.h"
#include "common.h"
#include "data.h"
#include "defaults.h"
#include "dist.h"
#include "handle.h"
#include "loss.h"
#include "optim.h"
#include "threads.h"
#include "tokcache.h"
#include "train.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct charrnn_trainer {
    charrnn_model *m;          /* owned; m->net sized (B, T) with gradients */
    charrnn_train_options opt;
    corpus data;
    size_t train_n, val_n, test_n; /* contiguous blocks: train, val, test */
    long iters_per_epoch, total_iters, iter;
    double lr;                 /* the step schedule's running rate (char-rnn's decay); see lr_now */
    optim opt_state;
    rng drop_rng;
    int32_t *x, *y;            /* (T, B) batch buffers */
    float *saved_state;        /* (2, L, B, H): the carried state, kept during validation */
    float *loss_history;       /* train loss of every iteration done */
    long cap_loss_history;
    long skipped;              /* non-finite steps skipped */
    uint64_t run_id;
    int threads;
    /* data-parallel training: this rank runs streams [b0, b0 + bl) of the global batch */
    int rank, ranks, b0, bl;
    float *full_state;         /* (2, L, B, H): the whole batch's carried state, to save or restore */
};

/* Rank r's share [lo, hi) of n items, as every part of the trainer cuts them. */
static void share(int n, int r, int P, int *lo, int *cnt) {
    *lo = (int)((long)n * r / P);
    *cnt = (int)((long)n * (r + 1) / P) - *lo;
}

static void setup_split(charrnn_trainer *t) {
    corpus_split(t->data.n, t->opt.train_frac, t->opt.val_frac, &t->train_n, &t->val_n, &t->test_n);
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
    if (total > (double)MAX_ITERS) total = (double)MAX_ITERS;
    return total < 1 ? 1 : (long)floor(total);
}

static int load_corpus(charrnn_trainer *t, const char *path, const char *text, size_t len,
                       charrnn_unit unit, charrnn_corpus_options *co, charrnn_error *err) {
    if (!text) {
        int reused = 0;
        int rc = corpus_open(&t->data, path, unit, co ? co->cache_dir : NULL, co ? co->progress : NULL,
                             co ? co->ctx : NULL, &reused, err);
        if (co) co->reused = reused;
        return rc;
    }
    return corpus_from_memory(&t->data, text, len, unit, path ? path : "the built-in corpus", err);
}

/* The train loss of every iteration is kept (checkpoints hold it): grown as
 * the run goes, never sized up front from max_iters. */
static int reserve_history(charrnn_trainer *t, long need, charrnn_error *err) {
    if (need <= t->cap_loss_history) return CHARRNN_OK;
    long cap = t->cap_loss_history < 1024 ? 1024 : t->cap_loss_history;
    while (cap < need) cap = cap > MAX_ITERS / 2 ? MAX_ITERS : 2 * cap;
    float *h = cr_realloc(t->loss_history, (size_t)cap, sizeof(float));
    if (!h) return cr_fail(err, CHARRNN_ENOMEM, "out of memory recording the loss history (%ld iterations)", need);
    t->loss_history = h;
    t->cap_loss_history = cap;
    return CHARRNN_OK;
}

/* Allocates everything a run needs once the corpus and the model handle exist. */
static int trainer_alloc(charrnn_trainer *t, charrnn_error *err) {
    t->rank = dist_rank();
    t->ranks = dist_size();
    if (t->opt.batch_size < t->ranks)
        return cr_fail(err, CHARRNN_EINVAL, "--batch-size %d is smaller than the %d ranks: each rank needs a stream of "
                       "the batch; use a larger --batch-size or fewer ranks", t->opt.batch_size, t->ranks);
    share(t->opt.batch_size, t->rank, t->ranks, &t->b0, &t->bl);
    const int B = t->bl, T = t->opt.seq_length;
    model *net = &t->m->net;
    int rc = model_alloc(net, B, T, 1, err);
    if (rc) {
        if (rc == CHARRNN_ENOMEM)
            return cr_fail(err, CHARRNN_ENOMEM, "%s; use a smaller --batch-size or --seq-length", err->msg);
        return rc;
    }
    if ((rc = optim_init(&t->opt_state, &t->opt, net->num_params, err))) return rc;
    for (int i = 0; i < net->num_views; i++) /* weight decay: the weight matrices, not the biases */
        if (net->views[i].ndim == 2 && optim_decay_range(&t->opt_state, net->views[i].offset, net->views[i].size))
            return cr_fail(err, CHARRNN_EINVAL, "too many weight matrices for weight decay");
    t->x = cr_malloc((size_t)B * T, sizeof(int32_t));
    t->y = cr_malloc((size_t)B * T, sizeof(int32_t));
    t->saved_state = cr_malloc(2 * (size_t)net->L * B * net->H, sizeof(float));
    t->full_state = cr_calloc(2 * (size_t)net->L * t->opt.batch_size * net->H, sizeof(float));
    if (!t->x || !t->y || !t->saved_state || !t->full_state)
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory allocating batch buffers");
    t->m->eval_seq_length = T;
    t->m->train_frac = t->opt.train_frac;
    t->m->val_frac = t->opt.val_frac;
    t->m->moments = &t->opt_state; /* they move with the network (charrnn_model_set_device) */
    return CHARRNN_OK;
}

/* The learning rate of the next update: the schedule's, at the iterations done. */
static double lr_now(const charrnn_trainer *t) {
    return optim_schedule_lr(&t->opt, t->lr, t->iter, t->total_iters);
}

/* A run's identity, so that a checkpoint directory can tell its own run from
 * another: random, from the kernel where it can, else time and pid. */
static uint64_t new_run_id(void) {
    uint64_t id = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &id, sizeof id) != (ssize_t)sizeof id) id = 0;
        close(fd);
    }
    if (!id) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        id = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
    }
    return id ? id : 1;
}

static int trainer_open(charrnn_trainer **out, const char *corpus_path, const char *text, size_t len,
                        charrnn_corpus_options *co, const charrnn_model_config *mc, const charrnn_train_options *opt,
                        charrnn_error *err) {
    *out = NULL;
    charrnn_model_config mc_default;
    charrnn_train_options opt_default;
    if (!mc) { charrnn_model_config_default(&mc_default); mc = &mc_default; }
    if (!opt) { charrnn_train_options_default(&opt_default); opt = &opt_default; }
    int rc = check_run_settings(mc, opt, NULL, err);
    if (rc) return rc;
    if (!text && !corpus_path) return cr_fail(err, CHARRNN_EINVAL, "no corpus given: pass a file name or a text");
    charrnn_trainer *t = calloc(1, sizeof *t);
    if (!t) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    t->opt = *opt;
    if ((rc = load_corpus(t, corpus_path, text, len, opt->unit, co, err))) goto fail;
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
    if ((rc = trainer_alloc(t, err))) goto fail;
    rng_seed(&t->drop_rng, opt->seed, 2 + 2 * (uint64_t)t->rank); /* rank 0 (and a single process) as always */
    t->m->learning_rate = lr_now(t);
    t->run_id = t->m->run_id = new_run_id();
    *out = t;
    return CHARRNN_OK;
fail:
    charrnn_trainer_close(t);
    return rc;
}

static int trainer_resume(charrnn_trainer **out, const char *ckpt_path, const char *corpus_path, const char *text,
                          size_t len, charrnn_corpus_options *co, const charrnn_train_options *opt_override,
                          charrnn_error *err) {
    *out = NULL;
    charrnn_model_config mc;
    charrnn_train_options opt;
    if (!text && !corpus_path) return cr_fail(err, CHARRNN_EINVAL, "no corpus given: pass a file name or a text");
    ckpt_file ck; /* read and verified once: the options, the model and the run all come from it */
    int rc = checkpoint_open(&ck, ckpt_path, err);
    if (rc) return rc;
    charrnn_trainer *t = NULL;
    if ((rc = checkpoint_read_options(&ck, &mc, &opt, err))) goto fail;
    if (opt_override) {
        if (opt_override->max_epochs > 0) {
            opt.max_epochs = opt_override->max_epochs;
            opt.max_iters = 0;
        }
        if (opt_override->max_iters > 0) opt.max_iters = opt_override->max_iters;
        if (opt_override->eval_val_every > 0) opt.eval_val_every = opt_override->eval_val_every;
        if (opt_override->skip_nonfinite > 0) opt.skip_nonfinite = opt_override->skip_nonfinite;
        if ((rc = check_run_settings(&mc, &opt, NULL, err))) goto fail;
    }
    t = calloc(1, sizeof *t);
    if (!t) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory"); goto fail; }
    t->opt = opt;
    if ((rc = load_corpus(t, corpus_path, text, len, opt.unit, co, err))) goto fail;
    setup_split(t);
    if ((rc = check_corpus_size(t, corpus_path ? corpus_path : "the built-in corpus", err))) goto fail;
    t->iters_per_epoch = (long)((t->train_n - 1) / ((size_t)opt.batch_size * opt.seq_length));
    t->total_iters = compute_total_iters(t);
    if ((rc = checkpoint_load(&ck, &t->m, err))) goto fail;
    if ((rc = check_memory(&t->m->net.cfg, &opt, t->m->vocab_size, err))) goto fail;
    if ((rc = trainer_alloc(t, err))) goto fail;
    model *net = &t->m->net;
    const size_t full = (size_t)net->L * opt.batch_size * net->H;
    ckpt_run run = {.opt = opt, .m1 = t->opt_state.m1, .m2 = t->opt_state.m2, .state_h = t->full_state,
                    .state_c = t->full_state + full};
    if ((rc = checkpoint_restore_run(&ck, t->m, &run, t->data.n, t->data.checksum, err))) goto fail;
    model_moments_from_host(net, &t->opt_state);
    /* this rank's streams of the saved state */
    for (int l = 0; l < net->L; l++) {
        const size_t from = ((size_t)l * opt.batch_size + (size_t)t->b0) * net->H;
        model_set_state(net, l, 0, t->bl, t->full_state + from, t->full_state + full + from);
    }
    free(t->loss_history);
    t->loss_history = run.loss_history;
    /* same corpus, so the same vocabulary, unless the file was edited to say otherwise */
    if (t->m->vocab_size != t->data.vocab_size || t->m->unit != t->data.unit ||
        memcmp(t->m->vocab, t->data.vocab, sizeof(uint32_t) * (size_t)t->m->vocab_size)) {
        rc = cr_fail(err, CHARRNN_EFORMAT, "%s: its vocabulary (%d characters) is not the one of the corpus it names "
                     "(%d characters); the checkpoint was damaged or edited", ckpt_path, t->m->vocab_size,
                     t->data.vocab_size);
        goto fail;
    }
    t->cap_loss_history = run.iteration;
    t->iter = run.iteration;
    t->lr = run.schedule_lr;
    t->m->learning_rate = lr_now(t); /* as saved, unless the run's length changed (cosine's plan) */
    t->opt_state.step = run.optim_step;
    t->drop_rng = run.drop_rng;
    if (t->rank > 0) rng_seed(&t->drop_rng, opt.seed ^ (uint64_t)run.iteration, 2 + 2 * (uint64_t)t->rank); /* rank 0's is saved */
    t->skipped = run.skipped;
    t->run_id = run.run_id ? run.run_id : new_run_id(); /* a checkpoint from before run ids starts one */
    t->m->run_id = t->run_id;
    checkpoint_close(&ck);
    *out = t;
    return CHARRNN_OK;
fail:
    checkpoint_close(&ck);
    charrnn_trainer_close(t);
    return rc;
}

int charrnn_trainer_open(charrnn_trainer **out, const char *corpus_path, const char *text, size_t len,
                         const charrnn_model_config *mc, const charrnn_train_options *opt, charrnn_error *err) {
    return trainer_open(out, corpus_path, text, len, NULL, mc, opt, err);
}

int charrnn_trainer_open_file(charrnn_trainer **out, const char *corpus_path, charrnn_corpus_options *co,
                              const charrnn_model_config *mc, const charrnn_train_options *opt, charrnn_error *err) {
    if (!corpus_path) return cr_fail(err, CHARRNN_EINVAL, "no corpus file given");
    return trainer_open(out, corpus_path, NULL, 0, co, mc, opt, err);
}

int charrnn_trainer_resume(charrnn_trainer **out, const char *ckpt_path, const char *corpus_path, const char *text,
                           size_t len, const charrnn_train_options *opt_override, charrnn_error *err) {
    return trainer_resume(out, ckpt_path, corpus_path, text, len, NULL, opt_override, err);
}

int charrnn_trainer_resume_file(charrnn_trainer **out, const char *ckpt_path, const char *corpus_path,
                                charrnn_corpus_options *co, const charrnn_train_options *opt_override,
                                charrnn_error *err) {
    if (!corpus_path) return cr_fail(err, CHARRNN_EINVAL, "no corpus file given");
    return trainer_resume(out, ckpt_path, corpus_path, NULL, 0, co, opt_override, err);
}

static void describe_char(uint32_t c, charrnn_unit unit, char *out, size_t cap) {
    if (unit == CHARRNN_UNIT_BYTE || c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        snprintf(out, cap, unit == CHARRNN_UNIT_BYTE ? "byte 0x%02X" : "U+%04X", c);
    else {
        char u[5] = {0};
        u[charrnn_utf8_encode(c, u)] = 0;
        snprintf(out, cap, "'%s' (U+%04X)", u, c);
    }
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
    } else if (src->unit != t->m->unit) {
        rc = cr_fail(err, CHARRNN_EMISMATCH, "--init-from %s reads %s characters but this run reads %s characters; "
                     "pass --unit %s or start without --init-from", ckpt_path, unit_name(src->unit),
                     unit_name(t->m->unit), unit_name(src->unit));
    } else if (src->vocab_size != t->m->vocab_size ||
               memcmp(src->vocab, t->m->vocab, sizeof(uint32_t) * (size_t)src->vocab_size)) {
        /* name the first character that differs: in one vocabulary and not the other */
        int i = 0, j = 0;
        while (i < src->vocab_size && j < t->m->vocab_size && src->vocab[i] == t->m->vocab[j]) i++, j++;
        char what[64];
        const char *side;
        if (j >= t->m->vocab_size || (i < src->vocab_size && src->vocab[i] < t->m->vocab[j])) {
            describe_char(src->vocab[i], src->unit, what, sizeof what);
            side = "the checkpoint knows %s, which this corpus lacks";
        } else {
            describe_char(t->m->vocab[j], src->unit, what, sizeof what);
            side = "this corpus has %s, which the checkpoint does not know";
        }
        char diff[160];
        snprintf(diff, sizeof diff, side, what);
        rc = cr_fail(err, CHARRNN_EMISMATCH,
                     "--init-from %s has a different vocabulary (%d characters) from this corpus (%d characters): %s; "
                     "train on text with the same character set, or start without --init-from",
                     ckpt_path, src->vocab_size, t->m->vocab_size, diff);
    } else {
        memcpy(model_params(&t->m->net), model_params(&src->net), sizeof(float) * a->num_params);
        model_weights_changed(&t->m->net);
    }
    charrnn_model_close(src);
    return rc;
}

void charrnn_trainer_close(charrnn_trainer *t) {
    if (!t) return;
    if (t->m) t->m->moments = NULL; /* samplers on the model may outlive the trainer's optimizer */
    charrnn_model_close(t->m);
    corpus_free(&t->data);
    optim_free(&t->opt_state);
    free(t->x);
    free(t->y);
    free(t->saved_state);
    free(t->full_state);
    free(t->loss_history);
    free(t);
}

/* share: this rank's part of the global batch (1 for a single process). The
 * local mean loss and gradient, weighted by it, are summed over the ranks. */
static int train_on_batch_dist(model *net, optim *o, const charrnn_train_options *opt, const int32_t *x,
                               const int32_t *y, int b, int t, double lr, rng *r, double *loss, double *norm,
                               double share_of_batch) {
    model_zero_grad(net);
    *loss = model_forward(net, x, y, b, t, 1, r);
    *norm = NAN;
    if (dist_size() > 1) {
        double l = *loss * share_of_batch;
        dist_sum_doubles(&l, 1); /* a NaN anywhere is a NaN everywhere: all ranks skip alike */
        *loss = l;
    }
    if (!isfinite(*loss)) return 1;
    model_backward(net, x, y, b, t);
    if (dist_size() > 1) {
        model_scale_grad(net, (float)share_of_batch);
        model_sum_grad(net, dist_sum_floats); /* one in-place allreduce over the flat gradient */
    }
    *norm = model_grad_norm(net);
    if (!isfinite(*norm)) return 2;
    model_clip_grad(net, opt->grad_clip, opt->clip_mode, *norm);
    model_optim_step(net, o, lr); /* the weights change: views refresh */
    return 0;
}

int train_on_batch(model *net, optim *o, const charrnn_train_options *opt, const int32_t *x, const int32_t *y,
                   int b, int t, double lr, rng *r, double *loss, double *norm) {
    return train_on_batch_dist(net, o, opt, x, y, b, t, lr, r, loss, norm, 1.0);
}

/* FNV-1a 64 of the weights: ranks that took the same steps hold the same bits. */
static uint64_t weights_hash(const model *net) {
    return cr_fnv1a(CR_FNV_OFFSET, model_params(net), net->num_params * sizeof(float));
}

/* The corpus file is as it was when mapped (every rank's): CHARRNN_EIO otherwise (collective). */
static int corpus_unchanged(const charrnn_trainer *t, charrnn_error *err) {
    int rc = corpus_check(&t->data, err), bad = rc != CHARRNN_OK;
    if (t->ranks > 1) bad = dist_or_int(bad);
    if (bad && !rc) rc = cr_fail(err, CHARRNN_EIO, "the corpus file changed under another rank while training read it");
    return rc;
}

int charrnn_trainer_done(const charrnn_trainer *t) { return t->iter >= t->total_iters; }

int charrnn_trainer_step(charrnn_trainer *t, charrnn_step_stats *st, charrnn_error *err) {
    model *net = &t->m->net;
    const int B = t->bl, T = t->opt.seq_length;
    int rc = reserve_history(t, t->iter + 1, err);
    if (rc) return rc;
    const long k = t->iter % t->iters_per_epoch;
    if (k == 0) model_reset_state(net);
    /* stream j is the contiguous slice [j*S, (j+1)*S) of the training block */
    const size_t S = (size_t)t->iters_per_epoch * T;
    for (int s = 0; s < T; s++)
        for (int j = 0; j < B; j++) {
            size_t pos = (size_t)(t->b0 + j) * S + (size_t)k * T + s;
            t->x[s * B + j] = (int32_t)corpus_id(&t->data, pos);
            t->y[s * B + j] = (int32_t)corpus_id(&t->data, pos + 1);
        }
    if ((rc = corpus_unchanged(t, err))) return rc; /* nothing of this step used: the trainer as it was */
    double loss, norm;
    thread_scope ts;
    threads_enter(&ts, t->threads);
    rc = train_on_batch_dist(net, &t->opt_state, &t->opt, t->x, t->y, B, T, lr_now(t), &t->drop_rng, &loss, &norm,
                             (double)t->bl / (double)t->opt.batch_size);
    threads_leave(&ts);
    if (model_check(net, err)) return err->code; /* a device failed: its NaN is no numerical trouble to skip */
    int skipped = 0;
    if (rc && t->skipped < t->opt.skip_nonfinite) {
        /* skip this batch: no update; the carried state may hold NaN, so start afresh */
        t->skipped++;
        skipped = 1;
        model_reset_state(net);
    } else if (rc == 1) {
        return cr_fail(err, CHARRNN_ENONFINITE,
                       "the training loss became %g at iteration %ld; the weights were left as they were. "
                       "Try a lower --learning-rate or --grad-clip, or --skip-nonfinite N",
                       loss, t->iter + 1);
    } else if (rc == 2) {
        return cr_fail(err, CHARRNN_ENONFINITE,
                       "the gradient became non-finite at iteration %ld; the weights were left as they were. "
                       "Try a lower --learning-rate or --grad-clip, or --skip-nonfinite N",
                       t->iter + 1);
    }
    t->loss_history[t->iter] = skipped ? NAN : (float)loss;
    t->iter++;
    if (t->iter % 1000 == 0) corpus_release_pages(&t->data); /* a mapped corpus: keep resident memory small */
    if (t->ranks > 1 && (t->iter % 100 == 0 || t->iter == 1)) { /* the ranks must hold the same weights */
        uint64_t h = weights_hash(net), lo = dist_min_u64(h), hi = dist_max_u64(h);
        if (lo != hi)
            return cr_fail(err, CHARRNN_EMISMATCH, "the %d ranks' weights differ at iteration %ld (checksums %016llx "
                           "to %016llx): they diverged; resume the run from a checkpoint", t->ranks, t->iter,
                           (unsigned long long)lo, (unsigned long long)hi);
    }
    int epoch_end = t->iter % t->iters_per_epoch == 0;
    double epoch = (double)t->iter / (double)t->iters_per_epoch;
    if (epoch_end && t->opt.lr_schedule == CHARRNN_LR_STEP && t->opt.learning_rate_decay < 1 &&
        epoch >= t->opt.learning_rate_decay_after)
        t->lr *= t->opt.learning_rate_decay;
    t->m->iteration = t->iter;
    t->m->epoch = epoch;
    t->m->train_loss = loss;
    t->m->learning_rate = lr_now(t);
    if (st) {
        st->iteration = t->iter;
        st->total_iters = t->total_iters;
        st->epoch = epoch;
        st->loss = loss;
        st->grad_norm = norm;
        st->learning_rate = t->m->learning_rate;
        st->epoch_end = epoch_end;
        st->skipped = skipped;
        st->skipped_total = t->skipped;
    }
    return CHARRNN_OK;
}

int charrnn_trainer_validate(charrnn_trainer *t, charrnn_progress_fn progress, void *ctx, double *val_loss,
                             charrnn_error *err) {
    if (t->val_n < 2)
        return cr_fail(err, CHARRNN_EDATA, "there is no validation block (--val-frac %s gives %zu characters)",
                       CR_NUM(t->opt.val_frac), t->val_n);
    model *net = &t->m->net;
    size_t state = (size_t)net->L * net->B * net->H;
    model_get_states(net, 0, net->B, t->saved_state, t->saved_state + state);
    long cnt;
    int stopped;
    thread_scope ts;
    threads_enter(&ts, t->threads);
    size_t vn = t->opt.val_max_chars > 0 && (size_t)t->opt.val_max_chars < t->val_n ? (size_t)t->opt.val_max_chars : t->val_n;
    int streams = loss_default_streams(vn, net->T, t->opt.batch_size), first, count;
    share(streams, t->rank, t->ranks, &first, &count); /* each rank its share of the streams, the last the remainder */
    double sums[2];
    corpus_loss_part(net, &t->data, t->train_n, vn, streams, first, count, t->rank == t->ranks - 1, t->x, t->y,
                     &sums[0], &cnt, progress, ctx, &stopped);
    sums[1] = (double)cnt;
    if (t->ranks > 1) {
        int any_stopped = dist_or_int(stopped);
        stopped = any_stopped;
        dist_sum_doubles(sums, 2);
    }
    double loss = sums[1] > 0 ? sums[0] / sums[1] : NAN;
    threads_leave(&ts);
    model_set_states(net, 0, net->B, t->saved_state, t->saved_state + state);
    int rc = model_check(net, err);
    if (rc) return rc;
    rc = corpus_unchanged(t, err);
    if (rc) return rc;
    if (stopped) return cr_fail(err, CHARRNN_ECANCELED, "validation was stopped");
    if (!isfinite(loss))
        return cr_fail(err, CHARRNN_ENONFINITE, "the validation loss at iteration %ld is not finite (%g)", t->iter, loss);
    if (history_push(t->m, t->iter, loss)) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    *val_loss = loss;
    return CHARRNN_OK;
}

static ckpt_run run_of(const charrnn_trainer *t) {
    const size_t full = (size_t)t->m->net.L * t->opt.batch_size * t->m->net.H;
    return (ckpt_run){.opt = t->opt, .iteration = t->iter, .iters_per_epoch = t->iters_per_epoch, .lr = lr_now(t),
                      .schedule_lr = t->lr,
                      .optim_step = t->opt_state.step, .m1 = t->opt_state.m1, .m2 = t->opt_state.m2,
                      .drop_rng = t->drop_rng, .skipped = t->skipped, .corpus_chars = t->data.n,
                      .corpus_checksum = t->data.checksum, .loss_history = t->loss_history,
                      .state_h = t->full_state, .state_c = t->full_state + full, .run_id = t->run_id};
}

int charrnn_trainer_save(charrnn_trainer *t, const char *path, charrnn_error *err) {
    /* the whole batch's carried state, gathered in stream order (collective), by way of
     * this rank's own on the host (saved_state, free outside validation) */
    model *net = &t->m->net;
    const size_t full = (size_t)net->L * t->opt.batch_size * net->H, H = (size_t)net->H;
    const size_t mine = (size_t)net->L * t->bl * H;
    model_get_states(net, 0, t->bl, t->saved_state, t->saved_state + mine);
    for (int q = 0; q < 2; q++)
        for (int l = 0; l < net->L; l++)
            dist_gather_floats(t->saved_state + q * mine + (size_t)l * t->bl * H, t->bl * net->H,
                               t->full_state + q * full + (size_t)l * t->opt.batch_size * H);
    model_moments_to_host(net, &t->opt_state);
    int rc = model_check(net, err); /* what a failed device left is not written over a good checkpoint */
    if (rc) return rc;
    if (t->rank > 0) return CHARRNN_OK; /* rank 0 writes */
    ckpt_run r = run_of(t);
    return checkpoint_save(t->m, &r, path, err);
}

charrnn_model *charrnn_trainer_model(charrnn_trainer *t) { return t->m; }

void charrnn_trainer_set_threads(charrnn_trainer *t, int n) { t->threads = n > 0 ? n : 0; t->m->threads = t->threads; }

size_t charrnn_trainer_checkpoint_bytes(const charrnn_trainer *t) {
    const model *net = &t->m->net;
    long iters = t->iter + t->opt.eval_val_every;
    if (iters > t->total_iters) iters = t->total_iters > t->iter ? t->total_iters : t->iter;
    size_t floats = net->num_params * (1 + (size_t)optim_num_moments(&t->opt_state)) +
                    2 * (size_t)net->L * t->opt.batch_size * net->H + (size_t)iters;
    return floats * sizeof(float) + 64 * 1024 + (size_t)t->m->vocab_size * 12 +
           (size_t)t->m->num_history * 40; /* + header */
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
