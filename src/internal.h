/* internal.h: the structures behind the public handles, shared by the library's
 * files (train, checkpoint, sample, evaluate). Not installed. */
#ifndef CHARRNN_INTERNAL_H
#define CHARRNN_INTERNAL_H

#include "charrnn.h"
#include "data.h"
#include "model.h"
#include "optim.h"
#include "rng.h"

typedef struct val_record { long iteration; double loss; } val_record;

struct charrnn_model {
    model net;
    charrnn_unit unit;
    uint32_t *vocab;
    int vocab_size;
    /* what a checkpoint said about its run (or the live trainer's numbers) */
    long iteration;
    double epoch, learning_rate, train_loss;
    val_record *history;
    int num_history, cap_history;
    int eval_seq_length;       /* T used for evaluation: the run's seq_length */
    int num_meta;
    char **meta_keys, **meta_values;
};

struct charrnn_trainer {
    charrnn_model *m;          /* owned; m->net sized (B, T) with gradients */
    charrnn_train_options opt;
    corpus data;
    size_t train_n, val_n, test_n; /* contiguous blocks: train, val, test */
    long iters_per_epoch, total_iters, iter;
    double lr;
    optim opt_state;
    rng drop_rng;
    int32_t *x, *y;            /* (T, B) batch buffers */
    float *saved_state;        /* (2, L, B, H): the carried state, kept during validation */
    float *loss_history;       /* train loss of every iteration */
    long cap_loss_history;
    long skipped;              /* non-finite steps skipped */
};

/* Default-sized helpers shared between files. */
int model_handle_new(charrnn_model **out, const charrnn_model_config *cfg, charrnn_unit unit,
                     const uint32_t *vocab, int vocab_size, charrnn_error *err);
int history_push(charrnn_model *m, long iteration, double loss);
void model_handle_set_meta(charrnn_model *m, int n, const char *const *keys, const char *const *values);

/* Mean loss (nats) over ids [begin, begin+n) of c, with fresh state: B streams
 * of contiguous slices cut into T-step chunks, the remainder as one more stream.
 * Every character after the first is predicted once. Uses and clobbers the
 * net's carried state. x, y: (T, B) buffers. */
double eval_ids(model *net, const corpus *c, size_t begin, size_t n, int32_t *x, int32_t *y, long *count,
                charrnn_progress_fn progress, void *ctx);

/* One training iteration on a batch: zero grads, forward (with dropout),
 * backward, clip, update. Returns 0, or 1 if the loss, 2 if the gradient was not
 * finite (then the weights are untouched). */
int train_on_batch(model *net, optim *o, const charrnn_train_options *opt, const int32_t *x, const int32_t *y,
                   int b, int t, double lr, rng *r, double *loss, double *norm);

/* Checkpoint I/O (checkpoint.c). */
int checkpoint_save(const charrnn_trainer *t, const char *path, charrnn_error *err);
/* Loads path into a new model handle (train_state read as info); if t is
 * non-NULL also restores the training state into t (t->m must match). */
int checkpoint_load(const char *path, charrnn_model **out, charrnn_error *err);
int checkpoint_restore_trainer(charrnn_trainer *t, const char *path, charrnn_error *err);
int checkpoint_read_options(const char *path, charrnn_model_config *mc, charrnn_train_options *opt,
                            charrnn_error *err);

const char *unit_name(charrnn_unit u);

#endif
