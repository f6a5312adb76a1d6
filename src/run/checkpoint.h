/* checkpoint.h: models and training runs as *.safetensors files. The model is a
 * charrnn_model handle; the run beside it (options, progress, optimizer moments,
 * random state, carried hidden state, loss history) is a ckpt_run that the
 * trainer fills in to save and gets back to resume. */
#ifndef CHARRNN_CHECKPOINT_H
#define CHARRNN_CHECKPOINT_H

#include "charrnn.h"
#include "handle.h"
#include "rng.h"
#include "sealed.h"

typedef struct ckpt_run {
    charrnn_train_options opt;
    long iteration;
    long iters_per_epoch;
    double lr;                 /* the rate of the next update (what the model's info says) */
    double schedule_lr;        /* the step schedule's running rate (the trainer's lr) */
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
/* The checkpoint format (sealed.h): what checkpoint files are written and opened as. */
extern const sealed_format CKPT_FORMAT;

/* A checkpoint read once and verified (format, version, checksum): loading the
 * model, reading its options and restoring its run all read from it. path is
 * borrowed (it names the file in messages). */
typedef struct ckpt_file {
    st_file *st;
    const char *path;
} ckpt_file;
int checkpoint_open(ckpt_file *ck, const char *path, charrnn_error *err);
void checkpoint_close(ckpt_file *ck);

/* A new model handle from ck, with the run's recorded state as info and what
 * dynamic evaluation needs of the optimizer's state (m->grad_ms). */
int checkpoint_load(const ckpt_file *ck, charrnn_model **out, charrnn_error *err);
/* The model config and the run's options saved in ck, validated. */
int checkpoint_read_options(const ckpt_file *ck, charrnn_model_config *mc, charrnn_train_options *opt,
                            charrnn_error *err);
/* Reads the run saved in ck into r, for model m (loaded from the same file).
 * r->m1 / r->m2 (as the optimizer needs) and r->state_h / r->state_c must point
 * at buffers of the right size; r->loss_history is allocated here (free it).
 * The corpus recorded in the file must be expect_chars characters with
 * checksum expect_checksum. */
int checkpoint_restore_run(const ckpt_file *ck, const charrnn_model *m, ckpt_run *r, size_t expect_chars,
                           uint64_t expect_checksum, charrnn_error *err);

#endif
