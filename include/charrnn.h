/* charrnn.h: the public face of libcharrnn, character-level LSTM / GRU / RNN
 * language models on the CPU (and on NVIDIA GPUs in a build with make CUDA=1). Opaque handles, open/close pairs, an error code
 * plus a message in every failing call. The library never prints and never exits:
 * the caller (the `charrnn` CLI, or your program) decides what to show. */
#ifndef CHARRNN_H
#define CHARRNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public functions: the shared library exports these and nothing else. */
#if defined(__GNUC__) && !defined(CHARRNN_STATIC_ONLY)
#define CHARRNN_API __attribute__((visibility("default")))
#else
#define CHARRNN_API
#endif

#define CHARRNN_VERSION "0.2.0"
#define CHARRNN_VERSION_MAJOR 0
#define CHARRNN_VERSION_MINOR 2
#define CHARRNN_VERSION_PATCH 0
#define CHARRNN_FORMAT_VERSION 1 /* checkpoint format written by this build */

/* The version of the library actually linked (may differ from the header's
 * CHARRNN_VERSION when a program runs against a newer shared library), and the
 * newest checkpoint format it reads and writes. */
CHARRNN_API const char *charrnn_version(void);
CHARRNN_API int charrnn_format_version(void);
/* How this library lays out a public struct, for programs that mirror the
 * structs without this header (the Python binding, through ctypes): the size
 * of `type` ("charrnn_sample_config") when field is NULL, else the offset of
 * its `field` ("top_p"); -1 for a name it does not know. */
CHARRNN_API long charrnn_struct_layout(const char *type, const char *field);

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
    CHARRNN_ECANCELED = 8,  /* a progress callback asked to stop */
};

/* Every call that can fail takes one of these; on failure it holds the code
 * and a one-line message saying what, where and what to do. */
typedef struct charrnn_error {
    int code;
    char msg[768];
} charrnn_error;

/* v as the library writes numbers in its messages, into out (CHARRNN_NUM_LEN
 * bytes): integral values as plain integers below 1e17 (2147483647, not
 * 2.14748e+09), others in the fewest of 15 to 17 significant digits that read
 * back exactly (0.1, 1.0000001); "nan", "inf". charrnn_numf: the fewest digits
 * that read back as this float (0.3, not 0.300000011920929). Returns out. */
#define CHARRNN_NUM_LEN 40
CHARRNN_API const char *charrnn_num(double v, char *out);
CHARRNN_API const char *charrnn_numf(float v, char *out);

/* ---- configuration ----------------------------------------------------------- */
typedef enum { CHARRNN_LSTM = 0, CHARRNN_GRU = 1, CHARRNN_RNN = 2 } charrnn_cell;
typedef enum { CHARRNN_UNIT_CODEPOINT = 0, CHARRNN_UNIT_BYTE = 1 } charrnn_unit;
typedef enum { CHARRNN_RMSPROP = 0, CHARRNN_ADAM, CHARRNN_ADAGRAD, CHARRNN_SGD } charrnn_optim;
typedef enum { CHARRNN_CLIP_VALUE = 0, CHARRNN_CLIP_NORM = 1 } charrnn_clip_mode;
/* How the learning rate moves over a run: STEP is char-rnn's (learning_rate_decay
 * each epoch once learning_rate_decay_after are done); COSINE goes from
 * learning_rate down to min_lr along half a cosine over the run's planned
 * iterations (max_iters, or max_epochs x the iterations per epoch; after the
 * warm-up), ignoring learning_rate_decay. */
typedef enum { CHARRNN_LR_STEP = 0, CHARRNN_LR_COSINE = 1 } charrnn_lr_schedule;

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
    long val_max_chars;     /* validation reads at most this many characters, the start of the
                               validation block (0: all of it; default 2,000,000) */
    charrnn_lr_schedule lr_schedule; /* default STEP (char-rnn's) */
    double min_lr;          /* COSINE's last rate, 0 <= min_lr <= learning_rate (default 0) */
    long warmup_iters;      /* linear warm-up, with either schedule: update k of the first N
                               uses k/N of the schedule's rate (default 0: none) */
    double weight_decay;    /* decoupled weight decay (AdamW's, with every optimizer): before
                               each update the weight matrices, not the biases, are multiplied
                               by 1 - lr x weight_decay (default 0: off) */
} charrnn_train_options;

CHARRNN_API void charrnn_model_config_default(charrnn_model_config *c);
CHARRNN_API void charrnn_train_options_default(charrnn_train_options *o);
/* The checks charrnn_trainer_open makes of a new run's settings, on their own
 * (CHARRNN_EINVAL with a message naming the option). */
CHARRNN_API int charrnn_check_run_settings(const charrnn_model_config *mc, const charrnn_train_options *o,
                                           charrnn_error *err);
CHARRNN_API const char *charrnn_cell_name(charrnn_cell c);
CHARRNN_API const char *charrnn_optim_name(charrnn_optim o);
/* "step", "cosine" */
CHARRNN_API const char *charrnn_lr_schedule_name(charrnn_lr_schedule s);

/* Threads. charrnn_set_threads sets the process-wide default for BLAS and the
 * library's own OpenMP loops: n > 0 threads; 0 the default, which leaves the
 * counts OMP_NUM_THREADS or OPENBLAS_NUM_THREADS gave where either is set and
 * is otherwise charrnn_default_threads(); n < 0 leaves everything as it is (a
 * program that never calls it keeps OpenMP's and OpenBLAS's own counts).
 * charrnn_model_set_threads and
 * charrnn_trainer_set_threads give one handle its own count instead: it applies
 * only while a call on that handle (or on a sampler, stream or evaluation of
 * that model) runs, in the calling thread, and the caller's settings are
 * restored when the call returns. With OpenBLAS's OpenMP build (the one charrnn
 * is built against where installed) that is truly per thread; with its pthreads
 * build the BLAS count is process-wide, so a BLAS call made by another thread
 * during a charrnn call sees charrnn's count. */
CHARRNN_API void charrnn_set_threads(int n);
/* The cores this process may use: the CPUs of its affinity mask (taskset),
 * capped by its cgroup's CPU quota (v2's cpu.max, v1's cpu.cfs_quota_us over
 * cpu.cfs_period_us, rounded up), at least 1; where OMP_NUM_THREADS or
 * OPENBLAS_NUM_THREADS is set, the count in effect instead. */
CHARRNN_API int charrnn_default_threads(void);
/* Where the OpenBLAS in use took this processor for an old one (Debian 12's
 * 0.3.21 runs Pentium 4 kernels on processors newer than itself, 3x slower):
 * the OPENBLAS_CORETYPE to set before OpenBLAS loads (the charrnn command
 * restarts itself with it); NULL when there is nothing to fix. */
CHARRNN_API const char *charrnn_blas_core_hint(void);
/* The thread count in effect for the calling thread now. */
CHARRNN_API int charrnn_get_threads(void);

/* ---- data-parallel training over MPI (make MPI=1) ------------------------------- */
/* A program run by mpirun calls charrnn_mpi_init first and charrnn_mpi_finalize
 * last; then every trainer divides its global batch among the ranks, sums the
 * gradients with one in-place MPI_Allreduce per step, and every rank takes the
 * same optimizer step. Trainer calls (open, step, validate, save) are
 * collective: all ranks make them; only rank 0 writes files. In a build without
 * MPI these are no-ops and there is one rank. */
CHARRNN_API int charrnn_mpi_init(int *argc, char ***argv);
CHARRNN_API void charrnn_mpi_finalize(void);
/* Ends the whole job at once (a rank that cannot go on). */
CHARRNN_API void charrnn_mpi_abort(int code);
CHARRNN_API int charrnn_rank(void);
CHARRNN_API int charrnn_num_ranks(void);
/* The bitwise OR of flags over all ranks (collective): how ranks agree on
 * stopping, checkpoints on demand and time budgets at the same iteration. */
CHARRNN_API int charrnn_ranks_agree(int flags);

/* ---- lifetimes ------------------------------------------------------------------ */
/* Handles may be closed in any order. A stream or sampler holds a reference to
 * its model (an n-gram sampler to its n-gram model, a trainer to the model it
 * trains): charrnn_model_close, charrnn_trainer_close and charrnn_ngram_close give
 * up the caller's reference, and the model's memory goes when the last stream or
 * sampler on it is closed too; until then those keep working as before. Close
 * every handle you opened exactly once (the *_close functions take NULL and
 * cannot fail); a model from charrnn_trainer_model is the trainer's, never
 * closed by the caller. The count is atomic, so handles of one model may be
 * opened and closed from different threads; any one handle is used by one
 * thread at a time. Every call that takes an options or configuration pointer
 * (charrnn_*_options, charrnn_model_config, charrnn_sample_config) takes NULL
 * as the defaults. */

/* ---- models -------------------------------------------------------------------- */
typedef struct charrnn_model charrnn_model;

/* Opens a checkpoint (*.safetensors) for sampling, evaluation or inspection. A
 * path that is not a regular file (a FIFO, a device) is refused, never waited on. */
CHARRNN_API int charrnn_model_load(charrnn_model **out, const char *path, charrnn_error *err);
/* Gives up the caller's reference (see lifetimes above). */
CHARRNN_API void charrnn_model_close(charrnn_model *m);

/* What a language model file holds, from its header alone (its data is neither
 * read nor checked: loading it does that): a network checkpoint
 * (charrnn_model_load), an n-gram model (charrnn_ngram_load), or neither
 * (UNKNOWN: not a charrnn file, or unreadable; loading it says why). */
typedef enum charrnn_file_type {
    CHARRNN_FILE_UNKNOWN = 0,
    CHARRNN_FILE_NETWORK = 1,
    CHARRNN_FILE_NGRAM = 2,
} charrnn_file_type;
CHARRNN_API charrnn_file_type charrnn_file_kind(const char *path);
/* The run id (charrnn_model_info's run_id) a checkpoint's header records, 0 if
 * none, without reading or checking its weights: cheap, and not verified
 * (charrnn_model_load verifies). CHARRNN_EFORMAT if path is not a checkpoint,
 * CHARRNN_EMISMATCH if it is an n-gram model. */
CHARRNN_API int charrnn_checkpoint_run_id(const char *path, uint64_t *run_id, charrnn_error *err);

typedef struct charrnn_model_info {
    charrnn_model_config config;
    charrnn_unit unit;
    int vocab_size;
    size_t num_params;
    long iteration;        /* training iterations done when it was saved */
    double epoch;
    double learning_rate;  /* the rate of the next update (the schedule's) */
    double train_loss;     /* the last iteration's, nats; NaN if unknown */
    double val_loss;       /* the best validation loss, nats; NaN if none */
    int num_history;       /* validation evaluations recorded */
    uint64_t run_id;       /* the training run that wrote it (random at the start of a run, kept on resume; 0: unknown) */
} charrnn_model_info;
CHARRNN_API void charrnn_model_get_info(const charrnn_model *m, charrnn_model_info *info);
/* The i-th vocabulary entry (a code point, or a byte value in byte mode). */
CHARRNN_API uint32_t charrnn_model_vocab(const charrnn_model *m, int i);
/* The vocabulary index of code point (or byte) c, or -1 if the model does not know it. */
CHARRNN_API int charrnn_model_char_index(const charrnn_model *m, uint32_t c);
/* Threads for work on this model (0: the process default); see charrnn_set_threads. */
CHARRNN_API void charrnn_model_set_threads(charrnn_model *m, int n);
/* The number format of the model's matrix products. FP32 (the library's
 * default): float32 throughout. BF16: mixed precision; every product rounds its
 * operands to bfloat16 and sums in float32 (AVX512-BF16), while the weights,
 * gradients, optimizer moments, cell math, softmax and loss stay float32, so
 * checkpoints are float32 either way and a run saved in one precision resumes
 * in the other. AUTO: measured. The model's work (a trainer's model: the
 * trainer's batch x seq_length passes, forward and backward; any other model:
 * what charrnn_model_set_workload said, by default sampling, 1 stream x 1 step)
 * is timed on a scratch network of the model's shape in both precisions at the
 * model's thread count, a few passes each (milliseconds; at least one pass each
 * way for large networks; once per process for each shape, work and thread
 * count), and BF16 is taken where it runs at most 0.9x FP32's time; FP32
 * without AVX512-BF16. CHARRNN_AUTO_PRECISION=fp32|bf16 in the environment
 * decides AUTO instead (tests). Data-parallel ranks take rank 0's decision.
 * Applies to everything done with the model: training (a trainer's
 * charrnn_trainer_model), evaluation, and samplers opened after the call.
 * BF16 where the processor lacks it: CHARRNN_EINVAL with a message. On a GPU
 * (charrnn_model_set_device) nothing is timed: AUTO is FP32 (TF32 off: the CPU's
 * numbers), BF16 and TF32 use the tensor cores on the same float32 weights.
 * TF32 on the CPU: CHARRNN_EINVAL with a message (it is a GPU's format). */
typedef enum charrnn_precision {
    CHARRNN_PRECISION_AUTO,
    CHARRNN_PRECISION_FP32,
    CHARRNN_PRECISION_BF16,
    CHARRNN_PRECISION_TF32,
} charrnn_precision;
CHARRNN_API int charrnn_model_set_precision(charrnn_model *m, charrnn_precision p, charrnn_error *err);
/* The work AUTO decides for, on a model that is not a trainer's: batch streams
 * of steps characters per pass, training 1 (forward and backward: dynamic
 * evaluation) or 0 (forward only: sampling, evaluation). 0 for batch or steps: 1. */
CHARRNN_API void charrnn_model_set_workload(charrnn_model *m, int batch, int steps, int training);
/* What the model's products use now: CHARRNN_PRECISION_FP32, _BF16 or (on a GPU) _TF32. */
CHARRNN_API charrnn_precision charrnn_model_precision(const charrnn_model *m);
/* One line on why, after charrnn_model_set_precision: e.g. "bf16 (auto: a training
 * pass of 50 x 50 steps timed here at 31 ms in bf16, 52 ms in fp32: bf16 1.68x as
 * fast)". Owned by the model; empty before the first call. */
CHARRNN_API const char *charrnn_model_precision_note(const charrnn_model *m);
/* Whether this processor runs bf16 products (AVX512-BF16). */
CHARRNN_API int charrnn_bf16_supported(void);
/* The rate of this processor's bf16 dot products over its float32 multiply-adds
 * (flops per second, measured once on registers, about 2 ms); 0 without bf16.
 * A property of the instruction, shown by `charrnn info`; AUTO does not use it. */
CHARRNN_API double charrnn_bf16_speedup(void);
/* One line about this processor as charrnn sees it: its name, the threads and
 * where their number came from ("2 threads (affinity 2, cgroup quota none)"),
 * OpenBLAS's kernels, AVX512-BF16 (and its rate), and AMX where the processor has
 * it and the kernel lets a process use it (charrnn does not use AMX yet). */
CHARRNN_API const char *charrnn_processor_info(void);

/* Devices (a build with make CUDA=1 computes on NVIDIA GPUs too). device is
 * "cpu", "cuda" (cuda:0), "cuda:N", or "auto": the first GPU where this build
 * and machine have one, else the CPU; AUTO keeps a model that is not a
 * trainer's on the CPU where its work (charrnn_model_set_workload: by default
 * sampling, one stream, one step) is that of a small network (under a million
 * parameters), for which the CPU's sampler is the faster. The model's
 * parameters, carried state, activations and (a trainer's model) optimizer
 * moments move with it; checkpoints are the same whichever device wrote them.
 * Call it before opening samplers or streams on the model (CHARRNN_EINVAL while
 * any is open), and set the precision after it (a move resets it to fp32).
 * "cuda" in a build without CUDA, or where no GPU is visible, is CHARRNN_EINVAL
 * with a one-line message; so is a name that is none of these. NULL: "auto". */
CHARRNN_API int charrnn_model_set_device(charrnn_model *m, const char *device, charrnn_error *err);
/* The checks charrnn_model_set_device makes of a device name, on their own: the
 * name's form, and that a GPU asked for outright is there (before any work). */
CHARRNN_API int charrnn_device_check(const char *device, charrnn_error *err);
/* Where the model computes: "cpu" or "cuda:0 (NVIDIA H200)"; owned by the model. */
CHARRNN_API const char *charrnn_model_device(const charrnn_model *m);
/* One line on why, after charrnn_model_set_device with "auto" (e.g. "cpu (auto:
 * this CUDA build sees no GPU)"); empty when there was nothing to decide. */
CHARRNN_API const char *charrnn_model_device_note(const charrnn_model *m);
/* The GPUs this process can use: -1 in a build without CUDA (make CUDA=1), 0
 * where there is no driver or device. */
CHARRNN_API int charrnn_cuda_device_count(void);
/* One line about the GPUs as charrnn sees them: "none in this build (make
 * CUDA=1)", "CUDA build; no GPU visible (no driver or no device)", or the list
 * ("cuda:0 NVIDIA H200, sm_90, 139.8 GB"). */
CHARRNN_API const char *charrnn_device_info(void);
/* Where the models the library makes for itself run: compression's fresh model
 * (charrnn_compress and charrnn_decompress with adapt and no checkpoint);
 * device as for charrnn_model_set_device (the default: "cpu"). Process-wide:
 * set it before other threads use the library. */
CHARRNN_API int charrnn_set_device(const char *device, charrnn_error *err);

/* The model's parameter tensors with PyTorch's names and shapes (weight_ih_l0,
 * weight_hh_l0, bias_ih_l0, bias_hh_l0, ..., decoder.weight, decoder.bias),
 * float32 row-major, owned by the model: i from 0 to charrnn_model_num_tensors - 1
 * (cols is 1 for a bias). NULL if i is out of range. After writing into one, call
 * charrnn_model_weights_changed so streams and samplers of the model refresh. */
CHARRNN_API int charrnn_model_num_tensors(const charrnn_model *m);
CHARRNN_API float *charrnn_model_tensor(charrnn_model *m, int i, const char **name, int *rows, int *cols);
CHARRNN_API void charrnn_model_weights_changed(charrnn_model *m);
/* Validation history: iteration and loss (nats) of evaluation i. */
CHARRNN_API void charrnn_model_history(const charrnn_model *m, int i, long *iteration, double *val_loss);
/* The metadata JSON string stored under KEY in the checkpoint, or NULL. */
CHARRNN_API const char *charrnn_model_metadata(const charrnn_model *m, const char *key);

/* ---- progress ---------------------------------------------------------------------- */
/* Called now and then by long operations with how much of the work is done
 * (done of total, in the operation's own units: characters). Return 0 to go on;
 * anything else stops the operation, which then fails with CHARRNN_ECANCELED.
 * NULL: no calls. */
typedef int (*charrnn_progress_fn)(void *ctx, long done, long total);

/* ---- evaluation ------------------------------------------------------------------ */
typedef struct charrnn_eval_result {
    double nats;          /* mean cross-entropy per predicted character */
    double bpc;           /* the same in bits per character */
    long predicted;       /* characters predicted */
    long unknown;         /* characters outside the vocabulary (skipped) */
    uint32_t unknown_examples[8]; /* the first distinct ones */
    int num_unknown_examples;
    int streams;          /* how many contiguous streams the text was cut into */
} charrnn_eval_result;

/* Loss of the model on a UTF-8 (or byte) buffer, with the model's unit; name
 * (e.g. the file's path) is used in messages. The text is cut into `streams`
 * contiguous slices read in parallel, each from a zero state (0: the default, one
 * stream per seq_length characters of the model's run, at most 50, as training's
 * validation does); streams = 1 reads the whole text as one stream from the
 * start: its exact loss, every character after the first predicted from all the
 * text before it. A result that is not finite (a model whose numbers overflow)
 * is an error (CHARRNN_ENONFINITE), never a number. */
CHARRNN_API int charrnn_evaluate(charrnn_model *m, const char *text, size_t len, const char *name, int streams,
                     charrnn_progress_fn progress, void *ctx, charrnn_eval_result *res, charrnn_error *err);

/* The contiguous blocks training cuts a corpus into: train = the first
 * floor(n * train_frac) characters, val the next floor(n * val_frac), test the
 * rest (never seen in training). */
typedef enum { CHARRNN_BLOCK_TRAIN = 0, CHARRNN_BLOCK_VAL = 1, CHARRNN_BLOCK_TEST = 2 } charrnn_block;
/* charrnn_evaluate on one block of the text, cut as the model's training run
 * cut its corpus: with the train_frac and val_frac its checkpoint records, over
 * the characters the model knows (the unknown ones are skipped first). Given
 * the corpus the run trained on, CHARRNN_BLOCK_VAL is the block its validation
 * losses were measured on (training reads at most its val_max_chars of it) and
 * CHARRNN_BLOCK_TEST the held-out rest. The block is read as its own text, in
 * `streams` streams as charrnn_evaluate reads a text. CHARRNN_EINVAL for a model
 * that records no run (charrnn_model_new's); CHARRNN_EDATA when the block has
 * fewer than 2 characters. */
CHARRNN_API int charrnn_evaluate_split(charrnn_model *m, const char *text, size_t len, const char *name,
                                       charrnn_block block, int streams, charrnn_progress_fn progress, void *ctx,
                                       charrnn_eval_result *res, charrnn_error *err);

/* ---- streaming: the model reading text one character at a time ---------------------- */
/* num_streams independent readers of one model. After open or reset a stream has
 * read nothing, and its next-character distribution is uniform over the
 * vocabulary; each feed advances it by one character. This is what sampling,
 * beam search, compression and dynamic evaluation build on. The stream uses the
 * model's current weights at every feed (also while a trainer updates them). */
typedef struct charrnn_stream charrnn_stream;
CHARRNN_API int charrnn_stream_open(charrnn_stream **out, charrnn_model *m, int num_streams, charrnn_error *err);
CHARRNN_API void charrnn_stream_close(charrnn_stream *s);
CHARRNN_API int charrnn_stream_count(const charrnn_stream *s);
CHARRNN_API int charrnn_stream_vocab_size(const charrnn_stream *s);
/* Every stream back to the zero state (nothing read). */
CHARRNN_API void charrnn_stream_reset(charrnn_stream *s);
/* Feeds one character to every stream: ids[j] is a vocabulary index
 * (charrnn_model_char_index) for stream j. */
CHARRNN_API int charrnn_stream_feed(charrnn_stream *s, const int *ids, charrnn_error *err);
/* Feeds the same text (UTF-8 in code-point mode, bytes in byte mode) to every
 * stream; characters outside the vocabulary are skipped and counted in *unknown
 * (may be NULL). */
CHARRNN_API int charrnn_stream_feed_text(charrnn_stream *s, const char *text, size_t len, long *unknown, charrnn_error *err);
/* Stream j's next-character distribution: vocab_size probabilities (valid until
 * the next feed or reset), and the same as natural-log probabilities into out. */
CHARRNN_API const float *charrnn_stream_probs(const charrnn_stream *s, int j);
CHARRNN_API void charrnn_stream_logprobs(const charrnn_stream *s, int j, float *out);
/* The recurrent state of one stream as a flat array of charrnn_stream_state_size
 * floats (h and, for an LSTM, c of every layer, plus the distribution it
 * predicts), to copy between streams, save, or restore later: set_state makes
 * stream j exactly as the stream was when the state was taken. */
CHARRNN_API size_t charrnn_stream_state_size(const charrnn_stream *s);
CHARRNN_API void charrnn_stream_get_state(const charrnn_stream *s, int j, float *out);
CHARRNN_API void charrnn_stream_set_state(charrnn_stream *s, int j, const float *in);

/* ---- dynamic evaluation (Krause et al. 2018) ------------------------------------------- */
/* The model adapts to the text as it reads it: each segment is predicted with
 * the weights as they are (that is the loss counted), then the weights take one
 * gradient step on it, divided by the root mean square of the training
 * gradients (read from the checkpoint's optimizer state; without it, a running
 * mean of the steps' own), and are pulled back toward the trained weights:
 *   theta <- theta - lr g / (sqrt(ms) + eps) + decay (theta_trained - theta) */
typedef struct charrnn_dynamic_options {
    int segment;            /* characters per step (default 50) */
    double learning_rate;   /* default 3e-5 */
    double decay;           /* default 1e-3 */
} charrnn_dynamic_options;
CHARRNN_API void charrnn_dynamic_options_default(charrnn_dynamic_options *o);
/* Reads the text (the model's unit; unknown characters skipped) as one stream
 * from a zero state, adapting as above; res gets the dynamic loss, and the
 * model's weights are left adapted to the text (for sampling after a prime). */
CHARRNN_API int charrnn_model_adapt(charrnn_model *m, const char *text, size_t len, const char *name,
                                    const charrnn_dynamic_options *o, charrnn_progress_fn progress, void *ctx,
                                    charrnn_eval_result *res, charrnn_error *err);

/* ---- sampling -------------------------------------------------------------------- */
typedef struct charrnn_sampler charrnn_sampler;
/* num_streams independent samples generated together (one batch). */
CHARRNN_API int charrnn_sampler_open(charrnn_sampler **out, charrnn_model *m, int num_streams,
                         uint64_t seed, charrnn_error *err);
CHARRNN_API void charrnn_sampler_close(charrnn_sampler *s);
/* Keeps a half-precision copy of the weights and uses it for batch-1 steps:
 * sampling streams every weight from memory once per character, so this roughly
 * halves the time on large models; the numbers (and so the samples) differ
 * slightly from full precision. CHARRNN_EINVAL where the build lacks the
 * kernels (x86-64 AVX-512F + F16C). */
CHARRNN_API int charrnn_sampler_use_half(charrnn_sampler *s, charrnn_error *err);
/* Feeds prime text (UTF-8 in code-point mode) to every stream. Characters not in
 * the vocabulary are skipped; their count and the first few are reported. With
 * no prime (len 0) the first character is drawn after a random start character
 * from the vocabulary, as char-rnn does. */
CHARRNN_API int charrnn_sampler_prime(charrnn_sampler *s, const char *text, size_t len,
                          long *skipped, uint32_t *skipped_examples, int max_examples,
                          int *num_examples, charrnn_error *err);
/* Draws the next character of every stream (temperature 0: argmax) and feeds it
 * back, with the sampler's configuration but this temperature. out: num_streams
 * vocabulary values (code points or bytes). */
CHARRNN_API int charrnn_sampler_next(charrnn_sampler *s, float temperature, uint32_t *out,
                         charrnn_error *err);

/* How the next character is drawn. The controls compose in this order, each on
 * what the one before left:
 *   1. repetition penalty: the logit z of every character among the last
 *      repetition_window characters of the stream (prime included) becomes
 *      z / penalty if z > 0, else z * penalty (CTRL, Keskar et al. 2019);
 *   2. temperature: logits / temperature, then the softmax (temperature 0:
 *      the likeliest character, and the steps below do not matter);
 *   3. top-k: only the k likeliest characters stay (ties broken by vocabulary order);
 *   4. top-p (nucleus): only the smallest set of the likeliest characters whose
 *      probabilities add up to at least top_p stays;
 *   5. min-p: characters below min_p x the likeliest one's probability go;
 *   6. what stays is renormalised and one uniform number from the sampler's
 *      generator picks the character, so a seed reproduces a sample exactly. */
typedef struct charrnn_sample_config {
    float temperature;        /* default 1 */
    int top_k;                /* 0: off */
    float top_p;              /* 1: off; (0, 1] */
    float min_p;              /* 0: off; [0, 1) */
    float repetition_penalty; /* 1: off; >= 1 */
    int repetition_window;    /* characters that count for the penalty (default 64, at most 4096) */
} charrnn_sample_config;
CHARRNN_API void charrnn_sample_config_default(charrnn_sample_config *c);
/* CHARRNN_EINVAL with a message naming the field if a value is out of range. */
CHARRNN_API int charrnn_sample_config_check(const charrnn_sample_config *c, charrnn_error *err);
CHARRNN_API int charrnn_sampler_configure(charrnn_sampler *s, const charrnn_sample_config *c, charrnn_error *err);
/* charrnn_sampler_next with the configured temperature. */
CHARRNN_API int charrnn_sampler_draw(charrnn_sampler *s, uint32_t *out, charrnn_error *err);

/* Continuous batching: a sampler's streams driven one by one, for a server
 * whose requests join and leave a batch between characters. Reset gives stream
 * j a zero state, its own generator (seeded as charrnn_sampler_open seeds) and
 * its own configuration (NULL: the defaults); prime feeds it text (as
 * charrnn_sampler_prime, that stream alone); step draws the next character of
 * every stream whose active[j] is nonzero, with that stream's configuration and
 * generator, into out[j], and feeds the active ones back in one batched pass
 * (the rows up to the last active one go through the network, so keep busy
 * streams low; inactive streams are left exactly as they were). What a stream draws
 * depends on its seed, configuration and prime and on how many rows each step
 * batched (a matrix product's rounding can depend on its shape): a stream
 * reset with seed S, primed with P, stepped as the only active stream 0 draws
 * exactly what charrnn_sampler_open(S) with one stream, primed with P, draws. */
CHARRNN_API int charrnn_sampler_stream_reset(charrnn_sampler *s, int j, uint64_t seed, const charrnn_sample_config *c,
                                             charrnn_error *err);
CHARRNN_API int charrnn_sampler_stream_prime(charrnn_sampler *s, int j, const char *text, size_t len, long *skipped,
                                             uint32_t *skipped_examples, int max_examples, int *num_examples,
                                             charrnn_error *err);
CHARRNN_API int charrnn_sampler_step(charrnn_sampler *s, const unsigned char *active, uint32_t *out,
                                     charrnn_error *err);

/* The most likely continuation of `length` characters after the prime text
 * (beam search of width beam over whole continuations; beam 1 is greedy
 * decoding, the argmax at every step), into out (length values), and its total
 * natural-log probability under the model. length is at most 100000 and beam
 * at most 256; memory is about beam x length x 8 bytes. */
CHARRNN_API int charrnn_beam_search(charrnn_model *m, const char *prime, size_t prime_len, int beam, long length,
                                    uint32_t *out, double *logprob, charrnn_error *err);

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
CHARRNN_API int charrnn_trace_text(charrnn_model *m, const char *text, size_t len, const char *name, int max_chars,
                       charrnn_progress_fn progress, void *ctx, charrnn_trace **out, charrnn_error *err);
CHARRNN_API void charrnn_trace_free(charrnn_trace *t);

/* ---- training -------------------------------------------------------------------- */
typedef struct charrnn_trainer charrnn_trainer;

/* A new run on a corpus file (NULL path: text/len in memory is used instead). */
CHARRNN_API int charrnn_trainer_open(charrnn_trainer **out, const char *corpus_path,
                         const char *text, size_t len,
                         const charrnn_model_config *mc, const charrnn_train_options *opt,
                         charrnn_error *err);
/* Continues a run saved in a checkpoint exactly where it stopped. The corpus must
 * be the same file (its size and checksum are checked). opt_override may be NULL;
 * otherwise its max_epochs, max_iters, eval_val_every and skip_nonfinite replace the saved ones
 * where they are > 0 (a max_epochs given without max_iters clears the saved
 * max_iters). Every other option is the run's own. */
CHARRNN_API int charrnn_trainer_resume(charrnn_trainer **out, const char *ckpt_path,
                           const char *corpus_path, const char *text, size_t len,
                           const charrnn_train_options *opt_override, charrnn_error *err);
/* The same for a corpus file of any size, at bounded memory: byte mode maps the
 * file itself; code-point mode encodes it once into a token cache file in
 * co->cache_dir (reused while the file is unchanged: size, mtime, a hash of its
 * head and tail) and maps that. co->progress sees the reading and encoding
 * (bytes of two passes). co NULL or its cache_dir NULL: as charrnn_trainer_open. */
typedef struct charrnn_corpus_options {
    const char *cache_dir;
    charrnn_progress_fn progress;
    void *ctx;
    int reused;              /* out: the token cache was there already */
} charrnn_corpus_options;
CHARRNN_API int charrnn_trainer_open_file(charrnn_trainer **out, const char *corpus_path, charrnn_corpus_options *co,
                                          const charrnn_model_config *mc, const charrnn_train_options *opt,
                                          charrnn_error *err);
CHARRNN_API int charrnn_trainer_resume_file(charrnn_trainer **out, const char *ckpt_path, const char *corpus_path,
                                            charrnn_corpus_options *co, const charrnn_train_options *opt_override,
                                            charrnn_error *err);
/* Replaces the fresh weights of a new run with those of a checkpoint (same model
 * shape and vocabulary required). */
CHARRNN_API int charrnn_trainer_init_from(charrnn_trainer *t, const char *ckpt_path, charrnn_error *err);
CHARRNN_API void charrnn_trainer_close(charrnn_trainer *t);

typedef struct charrnn_step_stats {
    long iteration;       /* 1-based: iterations done after this step */
    long total_iters;
    double epoch;         /* fractional epoch after this step */
    double loss;          /* train loss of this batch, nats */
    double grad_norm;     /* global L2 norm of the gradient before clipping */
    double learning_rate; /* the rate of the next update (the schedule's, after this step) */
    int epoch_end;        /* this step finished an epoch */
    int skipped;          /* the loss or gradient was not finite: no update (--skip-nonfinite) */
    long skipped_total;   /* steps skipped so far in this run */
} charrnn_step_stats;

/* One iteration: forward, backward, clip, update. When the loss or gradient is
 * not finite the weights are left untouched: within the skip_nonfinite budget
 * the step is skipped (stats->skipped, the carried state reset), beyond it the
 * call returns CHARRNN_ENONFINITE. CHARRNN_EIO: the corpus file (or its token
 * cache) changed under the run (see charrnn_corpus_fault); nothing of this
 * call was used and the trainer is as it was before it: save it to keep the
 * work, and resume once the file is restored. */
CHARRNN_API int charrnn_trainer_step(charrnn_trainer *t, charrnn_step_stats *stats, charrnn_error *err);
CHARRNN_API int charrnn_trainer_done(const charrnn_trainer *t);
/* Validation loss (nats) over the whole validation block; records it in the
 * run's history. Returns CHARRNN_EDATA if there is no validation block,
 * CHARRNN_ECANCELED if progress asked to stop (nothing recorded, the carried
 * state as it was), CHARRNN_ENONFINITE if the loss is not finite, CHARRNN_EIO
 * if the corpus file changed under the run (nothing recorded; save and stop,
 * as for charrnn_trainer_step). */
CHARRNN_API int charrnn_trainer_validate(charrnn_trainer *t, charrnn_progress_fn progress, void *ctx, double *val_loss,
                             charrnn_error *err);
/* A trainer opened on a file (charrnn_trainer_open_file) reads it through a
 * memory mapping; if another program truncates the file, reading the lost
 * pages raises SIGBUS. A program's SIGBUS handler (SA_SIGINFO) calls this with
 * the fault address: when it lies in a corpus this library mapped, the lost
 * page is replaced by zeros so the read can finish, the corpus is marked, and
 * it returns 1 (return from the handler); the next charrnn_trainer_step or
 * charrnn_trainer_validate then returns CHARRNN_EIO without using what was
 * read. 0 for any other address (the fault is not the library's). It is
 * async-signal-safe. */
CHARRNN_API int charrnn_corpus_fault(void *addr);
/* Writes a resumable checkpoint atomically (temporary file, fsync, rename); a
 * device or FIFO at path is refused (a checkpoint is a regular file). */
CHARRNN_API int charrnn_trainer_save(charrnn_trainer *t, const char *path, charrnn_error *err);
/* Bytes the next checkpoints of this run will take, up to its next
 * eval_val_every iterations (for a free-space check). */
CHARRNN_API size_t charrnn_trainer_checkpoint_bytes(const charrnn_trainer *t);
/* Threads for this run's work (0: the process default); see charrnn_set_threads. */
CHARRNN_API void charrnn_trainer_set_threads(charrnn_trainer *t, int n);
/* The model being trained, for sampling or evaluation mid-run (owned by t: not
 * closed by the caller; streams and samplers on it outlive the trainer). */
CHARRNN_API charrnn_model *charrnn_trainer_model(charrnn_trainer *t);

typedef struct charrnn_corpus_info {
    size_t num_chars;     /* characters (code points or bytes) in the corpus */
    int vocab_size;
    size_t train_chars, val_chars, test_chars;
    long iters_per_epoch;
    int elem_bytes;       /* bytes per encoded character: 1, 2 or 4 */
} charrnn_corpus_info;
CHARRNN_API void charrnn_trainer_corpus_info(const charrnn_trainer *t, charrnn_corpus_info *info);
/* Iterations done and the total the run will reach. */
CHARRNN_API void charrnn_trainer_progress(const charrnn_trainer *t, long *iteration, long *total_iters);
CHARRNN_API const charrnn_train_options *charrnn_trainer_options(const charrnn_trainer *t);

/* ---- compression --------------------------------------------------------------------- */
/* Lossless compression with the model: an arithmetic coder driven by its
 * next-character probabilities (quantised to integer frequencies, so the
 * encoder and decoder agree exactly); characters outside the vocabulary and
 * bytes that are not UTF-8 are escaped, so any data round-trips. With adapt,
 * the model keeps learning the text as it codes it (one RMS-normalised step per
 * segment), so it needs no training at all: pass no model and it starts from a
 * fresh byte-level one of the given shape. With lanes N > 1 the input is cut
 * into N contiguous pieces of (nearly) equal characters, coded side by side as
 * the N rows of one batch, each with its own coder (as NNCP does): one step of
 * the network predicts the next character of every lane, so the matrix products
 * keep the cores (or the GPU) busy; with adapt the one model learns from all the
 * lanes. Exact decoding needs the same build (compiler, the flags that change
 * float results, instruction sets), kernels, BLAS core and thread count; the file
 * records them and decompression refuses a file made by another build, naming
 * both. */
typedef struct charrnn_compress_options {
    int adapt;               /* 0: the model as it is; 1: it learns as it codes */
    int segment;             /* characters per learning step (default 32) */
    double learning_rate;    /* default 1e-2 */
    double rms_decay;        /* running mean of squared gradients (default 0.99) */
    double decay;            /* pull toward the starting weights per step (default 0) */
    charrnn_cell cell;       /* a fresh model (no checkpoint): shape and seed */
    int num_layers, rnn_size;
    uint64_t seed;
    int lanes;               /* pieces of the input coded side by side, 1 to 4096 (default 1; 0 is taken as 1);
                              * an input of fewer characters uses one lane per character */
} charrnn_compress_options;
CHARRNN_API void charrnn_compress_options_default(charrnn_compress_options *o);
/* *out (free it with charrnn_free) gets the compressed bytes. m may be NULL with adapt;
 * o NULL: the defaults (no adapt). */
CHARRNN_API int charrnn_compress(charrnn_model *m, const void *in, size_t len, const charrnn_compress_options *o,
                                 void **out, size_t *out_len, charrnn_progress_fn progress, void *ctx,
                                 charrnn_error *err);
/* The original bytes back; m: the model that compressed them (NULL when the file
 * made its own fresh one, and then no model is taken: CHARRNN_EINVAL). name is
 * used in messages. A file that is truncated, damaged, or from another model or
 * build is refused with a message; so is one whose header claims more bytes than
 * its coded data can hold (before any decoding), and decoding stops where the
 * coded data runs out. */
CHARRNN_API int charrnn_decompress(charrnn_model *m, const void *in, size_t len, const char *name, void **out,
                                   size_t *out_len, charrnn_progress_fn progress, void *ctx, charrnn_error *err);
/* A new model of the given shape with char-rnn's random initialisation (seeded). */
CHARRNN_API int charrnn_model_new(charrnn_model **out, const charrnn_model_config *cfg, charrnn_unit unit,
                                  const uint32_t *vocab, int vocab_size, uint64_t seed, charrnn_error *err);
/* Frees what the library allocated for the caller (compressed and decompressed bytes). */
CHARRNN_API void charrnn_free(void *p);

/* ---- n-gram baseline ---------------------------------------------------------------- */
/* Does your network beat counting? An interpolated modified Kneser-Ney
 * character model (Chen & Goodman 1998: discounts D1, D2, D3+ for every order
 * from its count-of-counts n1..n4, continuation counts for every order below
 * the highest, interpolation down to a uniform distribution over the
 * vocabulary), counted on exactly the training block and vocabulary that
 * charrnn_trainer_open uses for the same file, fractions and unit. The start
 * of the training block counts as one more left context of the characters
 * that open it (as a start-of-text symbol would). */
typedef struct charrnn_ngram charrnn_ngram;

#define CHARRNN_NGRAM_MAX_ORDER 32

typedef struct charrnn_ngram_options {
    int order;                    /* n: each character is predicted from the n-1 before it (default 10) */
    charrnn_unit unit;            /* as training's (default code points) */
    double train_frac, val_frac;  /* as training's (defaults 0.95, 0.05); the rest is test */
} charrnn_ngram_options;
CHARRNN_API void charrnn_ngram_options_default(charrnn_ngram_options *o);

/* Counts a corpus file, or (text not NULL) text/len in memory, corpus_path
 * then naming it in messages (may be NULL). progress (may be NULL) is called with work done of total, in characters
 * counted once per pass. CHARRNN_ENOMEM before any large allocation when the
 * counts would not fit the memory available. */
CHARRNN_API int charrnn_ngram_build(charrnn_ngram **out, const char *corpus_path, const char *text, size_t len,
                                    const charrnn_ngram_options *opt, charrnn_progress_fn progress, void *ctx,
                                    charrnn_error *err);
/* Writes the model as a safetensors file ("format": "charrnn-ngram" metadata),
 * atomically over a regular file, straight into a character device or FIFO
 * (a directory, block device or socket is refused): charrnn_ngram_load,
 * `charrnn eval` and `charrnn sample` read it.
 * charrnn_model_load refuses it with CHARRNN_EMISMATCH. */
CHARRNN_API int charrnn_ngram_save(const charrnn_ngram *g, const char *path, charrnn_error *err);
/* Opens a saved model; a damaged, truncated or edited file is refused, and so is
 * a path that is not a regular file (never waited on). */
CHARRNN_API int charrnn_ngram_load(charrnn_ngram **out, const char *path, charrnn_error *err);
CHARRNN_API void charrnn_ngram_close(charrnn_ngram *g);

typedef struct charrnn_ngram_info {
    int order;
    charrnn_unit unit;
    int vocab_size;
    size_t num_ngrams;            /* distinct n-grams of every order 1..order */
    size_t corpus_chars;          /* characters of the corpus it was counted on */
    size_t train_chars, val_chars, test_chars;
    double train_frac, val_frac;
    size_t memory_bytes;          /* what its tables take */
    int has_corpus;               /* built in this process: the blocks can be evaluated */
} charrnn_ngram_info;
CHARRNN_API void charrnn_ngram_get_info(const charrnn_ngram *g, charrnn_ngram_info *info);
/* Distinct n-grams of order k (1..order; 0 outside), and that order's
 * discounts D1, D2, D3+ into discounts (may be NULL). */
CHARRNN_API size_t charrnn_ngram_order_info(const charrnn_ngram *g, int k, double discounts[3]);
/* The i-th vocabulary entry, and the index of code point (or byte) c or -1. */
CHARRNN_API uint32_t charrnn_ngram_vocab(const charrnn_ngram *g, int i);
CHARRNN_API int charrnn_ngram_char_index(const charrnn_ngram *g, uint32_t c);
/* Threads for evaluation (0: the process default); see charrnn_set_threads. */
CHARRNN_API void charrnn_ngram_set_threads(charrnn_ngram *g, int n);

/* Loss on a UTF-8 (or byte) buffer, read as charrnn_evaluate reads it: every
 * character after the first of each stream predicted from the up to order-1
 * characters before it in that stream; characters outside the vocabulary are
 * skipped and counted. streams 0 or 1: the whole text as one stream (exact);
 * more cuts it as charrnn_evaluate does. */
CHARRNN_API int charrnn_ngram_evaluate(const charrnn_ngram *g, const char *text, size_t len, const char *name,
                                       int streams, charrnn_progress_fn progress, void *ctx,
                                       charrnn_eval_result *res, charrnn_error *err);
/* The same on one block of the corpus the model was built from, read as its own
 * text (CHARRNN_EINVAL on a loaded model; CHARRNN_EDATA if the block has fewer
 * than 2 characters). */
CHARRNN_API int charrnn_ngram_evaluate_block(const charrnn_ngram *g, charrnn_block block, charrnn_progress_fn progress,
                                             void *ctx, charrnn_eval_result *res, charrnn_error *err);
/* charrnn_ngram_evaluate on one block of a text, cut with the fractions the
 * model was counted with, as charrnn_evaluate_split cuts it for a network: on
 * the corpus it was counted on, the same loss as charrnn_ngram_evaluate_block's
 * (with streams 0 or 1). */
CHARRNN_API int charrnn_ngram_evaluate_split(const charrnn_ngram *g, const char *text, size_t len, const char *name,
                                             charrnn_block block, int streams, charrnn_progress_fn progress, void *ctx,
                                             charrnn_eval_result *res, charrnn_error *err);
/* The next-character distribution after a context of n vocabulary indices (the
 * last order-1 are used; n may be 0): vocab_size probabilities into probs. */
CHARRNN_API int charrnn_ngram_probs(const charrnn_ngram *g, const int *context, size_t n, double *probs,
                                    charrnn_error *err);

/* Sampling: draw from the distribution after the characters so far, append,
 * repeat. With no prime the first character comes from the distribution after
 * an empty context. */
typedef struct charrnn_ngram_sampler charrnn_ngram_sampler;
CHARRNN_API int charrnn_ngram_sampler_open(charrnn_ngram_sampler **out, const charrnn_ngram *g, uint64_t seed,
                                           charrnn_error *err);
CHARRNN_API void charrnn_ngram_sampler_close(charrnn_ngram_sampler *s);
/* As charrnn_sampler_prime. */
CHARRNN_API int charrnn_ngram_sampler_prime(charrnn_ngram_sampler *s, const char *text, size_t len, long *skipped,
                                            uint32_t *skipped_examples, int max_examples, int *num_examples,
                                            charrnn_error *err);
/* The next character (temperature 0: the likeliest), a vocabulary value into *out. */
CHARRNN_API int charrnn_ngram_sampler_next(charrnn_ngram_sampler *s, float temperature, uint32_t *out,
                                           charrnn_error *err);

/* ---- novelty: what a sample copied from a text ------------------------------------ */
/* The memorisation check behind `charrnn novelty`: a sample of symbols (code
 * points, bytes: any uint32 values) is indexed once, a text of any length is
 * streamed through it, and then every position i of the sample has its match:
 * the length of the longest substring starting at i that occurs anywhere in the
 * text. The sample's n-gram at i never occurs in the text iff its match is below
 * n. Exact and linear in both lengths (a suffix automaton of the sample); memory
 * grows with the sample only (100 to 150 bytes a symbol), the text is never held. */
#define CHARRNN_NOVELTY_MAX_LENGTH ((size_t)1 << 28) /* the longest sample, in symbols */
typedef struct charrnn_novelty charrnn_novelty;
/* Indexes sample[0..n), 1 <= n <= CHARRNN_NOVELTY_MAX_LENGTH (else
 * CHARRNN_EINVAL; CHARRNN_ENOMEM when memory runs out). */
CHARRNN_API int charrnn_novelty_open(charrnn_novelty **out, const uint32_t *sample, size_t n, charrnn_error *err);
CHARRNN_API void charrnn_novelty_close(charrnn_novelty *nv);
/* Streams the next k symbols of the text through the index; call it as often as
 * needed (the text is the concatenation of what was fed). */
CHARRNN_API void charrnn_novelty_feed(charrnn_novelty *nv, const uint32_t *text, size_t k);
/* After feeding: the match of each of the sample's n positions into matches[0..n)
 * (CHARRNN_ENOMEM when memory runs out). */
CHARRNN_API int charrnn_novelty_matches(const charrnn_novelty *nv, size_t *matches, charrnn_error *err);
/* The longest substring of the sample that occurs in the text (the largest
 * match): its length, where it first starts in the sample and where it first
 * starts in the text, in symbols; all 0 when no symbol of the sample occurs. */
CHARRNN_API void charrnn_novelty_longest(const charrnn_novelty *nv, size_t *len, size_t *sample_start,
                                         size_t *text_start);

/* ---- text ------------------------------------------------------------------------- */
/* Encodes code point cp as UTF-8 into out (4 bytes room); returns its length. */
CHARRNN_API int charrnn_utf8_encode(uint32_t cp, char *out);
/* Decodes one UTF-8 sequence at s[0..n) into *cp; returns its length (1 to 4),
 * or 0 where the bytes are not strict UTF-8 (overlong forms, surrogates, values
 * above U+10FFFF, truncated sequences and stray continuation bytes). */
CHARRNN_API int charrnn_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* 1 for a code point a terminal would not show as itself, or that reorders or
 * hides the text around it (controls, C1, zero-width and bidi marks, tags),
 * which a program quoting text should escape; else 0. The library's messages
 * escape these (as \\u{200B}). */
CHARRNN_API int charrnn_unsafe_codepoint(uint32_t cp);

#ifdef __cplusplus
}
#endif
#endif
