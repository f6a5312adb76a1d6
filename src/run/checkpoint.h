/* checkpoint.h: models and training runs as *.safetensors files. The model is a
 * charrnn_model handle; the run beside it (options, progress, optimizer moments,
 * random state, carried hidden state, loss history) is a ckpt_run that the
 * trainer fills in to save and gets back to resume. */
#ifndef CHARRNN_CHECKPOINT_H
#define CHARRNN_CHECKPOINT_H

#include "charrnn.h"
#include "handle.h"
#include "rng.h"

typedef struct ckpt_run {
    charrnn_train_options opt;
    long iteration;
    long iters_per_epoch;
    double lr;
    long optim_step;
    float *m1, *m2;            /* optimizer moments (num_params each), NULL if the optimizer has none */
    rng drop_rng;
    long skipped;              /* non-finite steps skipped so far */
    size_t corpus_chars;
    uint64_t corpus_checksum;
    float *loss_history;       /* the train loss of each of the `iteration` steps */
    float *state_h, *state_c;  /* (L, B, H): the carried state, B = opt.batch_size */
    uint64_t run_id;
} ckpt_run;

/* Writes model m and run r atomically (temporary file, fsync, rename); a device or
 * FIFO at path is refused (a checkpoint is a regular file), a symbolic link replaced. */
int checkpoint_save(const charrnn_model *m, const ckpt_run *r, const char *path, charrnn_error *err);
/* Loads path into a new model handle, with the run's recorded state as info. */
int checkpoint_load(const char *path, charrnn_model **out, charrnn_error *err);
/* The model config and the run's options saved in path, validated. */
int checkpoint_read_options(const char *path, charrnn_model_config *mc, charrnn_train_options *opt,
                            charrnn_error *err);
/* Reads the run saved in path into r, for model m (loaded from the same file).
 * r->m1 / r->m2 (as the optimizer needs) and r->state_h / r->state_c must point
 * at buffers of the right size; r->loss_history is allocated here (free it).
 * The corpus recorded in the file must be expect_chars characters with
 * checksum expect_checksum. */
int checkpoint_restore_run(const char *path, const charrnn_model *m, ckpt_run *r, size_t expect_chars,
                           uint64_t expect_checksum, charrnn_error *err);

/* The mean squared gradient of every parameter during training, from the
 * optimizer's state in path (RMSProp's m1, Adam's bias-corrected m2, Adagrad's
 * m1 / steps): what dynamic evaluation normalises its steps with. CHARRNN_EDATA
 * if the checkpoint has none (SGD). */
int checkpoint_read_grad_ms(const char *path, const model *net, float *out, charrnn_error *err);

/* Copies checkpoint src to dst with metadata keys[i] set to values[i] (and,
 * if tensor is not NULL, that tensor's bytes replaced by tensor_data), the
 * checksum recomputed: what anyone can do to a file. For tests and fuzzing. */
int checkpoint_rewrite(const char *src, const char *dst, int nedit, const char *const *keys, const char *const *values,
                       const char *tensor, const void *tensor_data, charrnn_error *err);

#endif
