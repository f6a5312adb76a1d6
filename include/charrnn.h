/* charrnn.h: the public face of libcharrnn, character-level LSTM / GRU / RNN
 * language models on the CPU. Opaque handles, open/close pairs, an error code
 * plus a message in every failing call. The library never prints and never exits:
 * the caller (the `charrnn` CLI, or your program) decides what to show. */
#ifndef CHARRNN_H
#define CHARRNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHARRNN_VERSION "0.1.0"
#define CHARRNN_FORMAT_VERSION 1 /* checkpoint format written by this build */

/* ---- errors ---------------------------------------------------------------- */
enum {
    CHARRNN_OK = 0,
    CHARRNN_EINVAL = 1,     /* a bad argument or option value */
    CHARRNN_EIO = 2,        /* a file could not be read or written */
    CHARRNN_EFORMAT = 3,    /* a file is not what it claims (checkpoint, UTF-8) */
    CHARRNN_ENOMEM = 4,     /* an allocation failed or would be too large */
    CHARRNN_ENONFINITE = 5, /* the loss or a gradient became NaN or infinite */
    CHARRNN_EMISMATCH = 6,  /* a checkpoint does not fit (vocabulary, model type) */
    CHARRNN_EDATA = 7,      /* the corpus is too small for the request */
};

/* Every call that can fail takes one of these; on failure it holds the code
 * and a one-line message saying what, where and what to do. */
typedef struct charrnn_error {
    int code;
    char msg[768];
} charrnn_error;

/* ---- configuration ----------------------------------------------------------- */
typedef enum { CHARRNN_LSTM = 0, CHARRNN_GRU = 1, CHARRNN_RNN = 2 } charrnn_cell;
typedef enum { CHARRNN_UNIT_CODEPOINT = 0, CHARRNN_UNIT_BYTE = 1 } charrnn_unit;
typedef enum { CHARRNN_RMSPROP = 0, CHARRNN_ADAM, CHARRNN_ADAGRAD, CHARRNN_SGD } charrnn_optim;
typedef enum { CHARRNN_CLIP_VALUE = 0, CHARRNN_CLIP_NORM = 1 } charrnn_clip_mode;

/* The shape of a network. Defaults follow char-rnn: 2 x 128 LSTM. */
typedef struct charrnn_model_config {
    charrnn_cell cell;
    int num_layers;
    int rnn_size; /* hidden size H */
    float dropout; /* between layers and before the decoder; off at evaluation */
} charrnn_model_config;

/* Everything about a training run that is not the network shape. Defaults follow
 * char-rnn's train.lua. */
typedef struct charrnn_train_options {
    charrnn_unit unit;
    int batch_size;         /* B parallel streams */
    int seq_length;         /* T steps of truncated BPTT */
    double train_frac, val_frac; /* the rest is test */
    charrnn_optim optim;
    double learning_rate;
    double decay_rate;      /* RMSProp's alpha */
    double beta1, beta2;    /* Adam */
    double learning_rate_decay;       /* multiply lr by this each epoch ... */
    double learning_rate_decay_after; /* ... once this many epochs are done */
    double grad_clip;       /* 0 disables clipping */
    charrnn_clip_mode clip_mode;
    double max_epochs;
    long max_iters;         /* 0: run max_epochs */
    long eval_val_every;
    uint64_t seed;
    long skip_nonfinite;    /* tolerate up to this many steps with NaN/Inf loss or gradient (skipped) */
} charrnn_train_options;

void charrnn_model_config_default(charrnn_model_config *c);
void charrnn_train_options_default(charrnn_train_options *o);
const char *charrnn_cell_name(charrnn_cell c);
const char *charrnn_optim_name(charrnn_optim o);

/* Sets the thread count for BLAS and the library's own parallel loops (<= 0: leave). */
void charrnn_set_threads(int n);
/* The thread count BLAS uses now. */
int charrnn_get_threads(void);

/* ---- models -------------------------------------------------------------------- */
typedef struct charrnn_model charrnn_model;

/* Opens a checkpoint (*.safetensors) for sampling, evaluation or inspection. */
int charrnn_model_load(charrnn_model **out, const char *path, charrnn_error *err);
void charrnn_model_close(charrnn_model *m);

typedef struct charrnn_model_info {
    charrnn_model_config config;
    charrnn_unit unit;
    int vocab_size;
    size_t num_params;
    long iteration;        /* training iterations done when it was saved */
    double epoch;
    double learning_rate;
    double train_loss;     /* the last iteration's, nats; NaN if unknown */
    double val_loss;       /* the best validation loss, nats; NaN if none */
    int num_history;       /* validation evaluations recorded */
} charrnn_model_info;
void charrnn_model_get_info(const charrnn_model *m, charrnn_model_info *info);
/* The i-th vocabulary entry (a code point, or a byte value in byte mode). */
uint32_t charrnn_model_vocab(const charrnn_model *m, int i);
/* Validation history: iteration and loss (nats) of evaluation i. */
void charrnn_model_history(const charrnn_model *m, int i, long *iteration, double *val_loss);
/* The metadata JSON string stored under KEY in the checkpoint, or NULL. */
const char *charrnn_model_metadata(const charrnn_model *m, const char *key);

/* ---- progress ---------------------------------------------------------------------- */
/* Called now and then by long operations with how much of the work is done
 * (done of total, in the operation's own units: characters). NULL: no calls. */
typedef void (*charrnn_progress_fn)(void *ctx, long done, long total);

/* ---- evaluation ------------------------------------------------------------------ */
typedef struct charrnn_eval_result {
    double nats;          /* mean cross-entropy per predicted character */
    double bpc;           /* the same in bits per character */
    long predicted;       /* characters predicted */
    long unknown;         /* characters outside the vocabulary (skipped) */
    uint32_t unknown_examples[8]; /* the first distinct ones */
    int num_unknown_examples;
} charrnn_eval_result;

/* Loss of the model on a UTF-8 (or byte) buffer, with the model's unit; name
 * (e.g. the file's path) is used in messages. */
int charrnn_evaluate(charrnn_model *m, const char *text, size_t len, const char *name,
                     charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err);

/* ---- sampling -------------------------------------------------------------------- */
typedef struct charrnn_sampler charrnn_sampler;
/* num_streams independent samples generated together (one batch). */
int charrnn_sampler_open(charrnn_sampler **out, charrnn_model *m, int num_streams,
                         uint64_t seed, charrnn_error *err);
void charrnn_sampler_close(charrnn_sampler *s);
/* Keeps a half-precision copy of the weights and uses it for batch-1 steps:
 * sampling streams every weight from memory once per character, so this roughly
 * halves the time on large models; the numbers (and so the samples) differ
 * slightly from full precision. CHARRNN_EINVAL where the build lacks the
 * kernels (x86-64 AVX-512F + F16C). */
int charrnn_sampler_use_half(charrnn_sampler *s, charrnn_error *err);
/* Feeds prime text (UTF-8 in code-point mode) to every stream. Characters not in
 * the vocabulary are skipped; their count and the first few are reported. With
 * no prime (len 0) the first character is drawn after a random start character
 * from the vocabulary, as char-rnn does. */
int charrnn_sampler_prime(charrnn_sampler *s, const char *text, size_t len,
                          long *skipped, uint32_t *skipped_examples, int max_examples,
                          charrnn_error *err);
/* Draws the next character of every stream (temperature 0: argmax) and feeds it
 * back. out: num_streams vocabulary values (code points or bytes). */
int charrnn_sampler_next(charrnn_sampler *s, float temperature, uint32_t *out,
                         charrnn_error *err);

/* ---- looking inside ------------------------------------------------------------- */
#define CHARRNN_TOPK 5
/* What the model saw and guessed at every character of a text, read as one
 * stream from a zero state: the hidden (and LSTM cell) state of every layer
 * after reading character i, its top guesses for character i+1, and the
 * probability it gave the character that actually came next. */
typedef struct charrnn_trace {
    int n;                 /* characters traced (those in the vocabulary) */
    int num_layers, hidden;
    charrnn_cell cell;
    uint32_t *chars;       /* (n) the characters, code points (or bytes) */
    float *h;              /* (n, L, H) hidden state after character i */
    float *c;              /* (n, L, H) LSTM cell state, NULL for GRU/RNN */
    uint32_t *top_chars;   /* (n, TOPK) likeliest next characters, best first */
    float *top_probs;      /* (n, TOPK) their probabilities */
    float *p_next;         /* (n) probability of character i+1 (NaN for the last) */
    long unknown;          /* characters of the text outside the vocabulary, skipped */
} charrnn_trace;
/* At most max_chars characters (0: all). name is used in messages. */
int charrnn_trace_text(charrnn_model *m, const char *text, size_t len, const char *name, int max_chars,
                       charrnn_progress_fn progress, void *ctx, charrnn_trace **out, charrnn_error *err);
void charrnn_trace_free(charrnn_trace *t);

/* ---- training -------------------------------------------------------------------- */
typedef struct charrnn_trainer charrnn_trainer;

/* A new run on a corpus file (NULL path: text/len in memory is used instead). */
int charrnn_trainer_open(charrnn_trainer **out, const char *corpus_path,
                         const char *text, size_t len,
                         const charrnn_model_config *mc, const charrnn_train_options *opt,
                         charrnn_error *err);
/* Continues a run saved in a checkpoint exactly where it stopped. The corpus must
 * be the same file (its size and checksum are checked). opt_override may be NULL;
 * otherwise its max_epochs, max_iters, eval_val_every and skip_nonfinite replace the saved ones
 * where they are > 0 (a max_epochs given without max_iters clears the saved
 * max_iters). Every other option is the run's own. */
int charrnn_trainer_resume(charrnn_trainer **out, const char *ckpt_path,
                           const char *corpus_path, const char *text, size_t len,
                           const charrnn_train_options *opt_override, charrnn_error *err);
/* Replaces the fresh weights of a new run with those of a checkpoint (same model
 * shape and vocabulary required). */
int charrnn_trainer_init_from(charrnn_trainer *t, const char *ckpt_path, charrnn_error *err);
void charrnn_trainer_close(charrnn_trainer *t);

typedef struct charrnn_step_stats {
    long iteration;       /* 1-based: iterations done after this step */
    long total_iters;
    double epoch;         /* fractional epoch after this step */
    double loss;          /* train loss of this batch, nats */
    double grad_norm;     /* global L2 norm of the gradient before clipping */
    double learning_rate;
    int epoch_end;        /* this step finished an epoch */
    int skipped;          /* the loss or gradient was not finite: no update (--skip-nonfinite) */
    long skipped_total;   /* steps skipped so far in this run */
} charrnn_step_stats;

/* One iteration: forward, backward, clip, update. When the loss or gradient is
 * not finite the weights are left untouched: within the skip_nonfinite budget
 * the step is skipped (stats->skipped, the carried state reset), beyond it the
 * call returns CHARRNN_ENONFINITE. */
int charrnn_trainer_step(charrnn_trainer *t, charrnn_step_stats *stats, charrnn_error *err);
int charrnn_trainer_done(const charrnn_trainer *t);
/* Validation loss (nats) over the whole validation block; records it in the
 * run's history. Returns CHARRNN_EDATA if there is no validation block. */
int charrnn_trainer_validate(charrnn_trainer *t, double *val_loss, charrnn_error *err);
/* Writes a resumable checkpoint atomically (temporary file, fsync, rename). */
int charrnn_trainer_save(charrnn_trainer *t, const char *path, charrnn_error *err);
/* Bytes a checkpoint of this run will take (for a free-space check). */
size_t charrnn_trainer_checkpoint_bytes(const charrnn_trainer *t);
/* The model being trained, for sampling or evaluation mid-run (owned by t). */
charrnn_model *charrnn_trainer_model(charrnn_trainer *t);

typedef struct charrnn_corpus_info {
    size_t num_chars;     /* characters (code points or bytes) in the corpus */
    int vocab_size;
    size_t train_chars, val_chars, test_chars;
    long iters_per_epoch;
    int elem_bytes;       /* bytes per encoded character: 1, 2 or 4 */
} charrnn_corpus_info;
void charrnn_trainer_corpus_info(const charrnn_trainer *t, charrnn_corpus_info *info);
/* Iterations done and the total the run will reach. */
void charrnn_trainer_progress(const charrnn_trainer *t, long *iteration, long *total_iters);
const charrnn_train_options *charrnn_trainer_options(const charrnn_trainer *t);

/* ---- text ------------------------------------------------------------------------- */
/* Encodes code point cp as UTF-8 into out (4 bytes room); returns its length. */
int charrnn_utf8_encode(uint32_t cp, char *out);

#ifdef __cplusplus
}
#endif
#endif
