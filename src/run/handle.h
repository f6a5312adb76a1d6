/* handle.h: the structure behind the public charrnn_model handle: the network,
 * its vocabulary, and what its checkpoint (or the live trainer) says about the
 * run. Checkpoints, training, sampling and evaluation all build on it. A model
 * is reference-counted: its opener and every stream (sampler) or trainer on it
 * hold one reference; the last to let go frees it. */
#ifndef CHARRNN_HANDLE_H
#define CHARRNN_HANDLE_H

#include "charrnn.h"
#include "model.h"

#include <stdatomic.h>

typedef struct val_record { long iteration; double loss; } val_record;

struct charrnn_model {
    atomic_int refs;           /* the opener's reference, plus one per stream open on it */
    model net;
    charrnn_unit unit;
    uint32_t *vocab;
    int vocab_size;
    int threads;               /* threads for work on this model (0: the process default) */
    int work_batch, work_steps, work_training; /* what --precision auto decides for (charrnn_model_set_workload) */
    char precision_note[256];  /* why the products use what they use (after charrnn_model_set_precision) */
    char device_name[160];     /* "cuda:0 (NVIDIA H200)" while the network is on a GPU */
    char device_note[256];     /* why, after charrnn_model_set_device with auto */
    optim *moments;            /* a trainer's model: its optimizer, whose moments move with the network */
    /* what a checkpoint said about its run (or the live trainer's numbers) */
    long iteration;
    double epoch, learning_rate, train_loss;
    val_record *history;
    int num_history, cap_history;
    int eval_seq_length;       /* the run's seq_length: evaluation cuts streams this long */
    double train_frac, val_frac; /* the run's split of its corpus (train_frac 0: no run, a model made in memory) */
    uint64_t run_id;           /* which training run wrote it (0: unknown) */
    char *path;                /* the checkpoint it was loaded from (NULL: made in memory) */
    int num_meta;
    char **meta_keys, **meta_values;
    /* the training's mean squared gradients (num_params), kept at load for dynamic
     * evaluation; NULL if the checkpoint has none, and grad_ms_err.code set if they were damaged */
    float *grad_ms;
    charrnn_error grad_ms_err;
};

int model_handle_new(charrnn_model **out, const charrnn_model_config *cfg, charrnn_unit unit,
                     const uint32_t *vocab, int vocab_size, charrnn_error *err);
/* One more reference to m (a stream opened on it); charrnn_model_close drops one. */
charrnn_model *model_retain(charrnn_model *m);
/* Puts m where device says ("auto", "cpu", "cuda", "cuda:N"; NULL: auto), as
 * charrnn_model_set_device; work: the model's work is sampling (1 x 1, not a
 * trainer's), for auto's small-model rule. */
int handle_set_device(charrnn_model *m, const char *device, charrnn_error *err);
/* The process's device for models the library makes itself (charrnn_set_device). */
const char *handle_default_device(void);
int history_push(charrnn_model *m, long iteration, double loss);
/* The vocabulary index of code point (or byte) c, or -1. */
int handle_index(const charrnn_model *m, uint32_t c);

#endif
