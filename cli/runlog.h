/* runlog.h: train.jsonl, a training run's log in its checkpoint directory: one JSON object a line, every
 * one with "iteration" (RUNLOG_ITERATION), appended as the run goes (a resumed run appends to it). Three
 * kinds of line, told apart by their fields:
 *   progress:   iteration, epoch, train_loss (nats), train_bpc, grad_norm, learning_rate, ms_per_iter
 *   validation: iteration, epoch, val_loss (nats), val_bpc
 *   sample:     iteration, sample (the text, non-UTF-8 bytes as U+FFFD), temperature
 *   start:      iteration (where the run starts or resumes), device ("cpu", "cuda:0 (NVIDIA H200)"),
 *               precision ("fp32" or "bf16"), precision_note (why)
 * Its writer and its reader (for `charrnn report`) live here, in cli/runlog.c, by these names. */
#ifndef CHARRNN_RUNLOG_H
#define CHARRNN_RUNLOG_H

#include "charrnn.h"
#include "json.h"

#include <stdio.h>

#define RUNLOG_ITERATION "iteration"
#define RUNLOG_EPOCH "epoch"
#define RUNLOG_TRAIN_LOSS "train_loss"
#define RUNLOG_TRAIN_BPC "train_bpc"
#define RUNLOG_GRAD_NORM "grad_norm"
#define RUNLOG_LEARNING_RATE "learning_rate"
#define RUNLOG_MS_PER_ITER "ms_per_iter"
#define RUNLOG_VAL_LOSS "val_loss"
#define RUNLOG_VAL_BPC "val_bpc"
#define RUNLOG_SAMPLE "sample"
#define RUNLOG_TEMPERATURE "temperature"
#define RUNLOG_DEVICE "device"
#define RUNLOG_PRECISION "precision"
#define RUNLOG_PRECISION_NOTE "precision_note"

typedef struct runlog {
    FILE *f;          /* NULL: no log (not rank 0 of several) */
    const char *path;
    int failed;       /* a write failed: the log stopped there, training goes on */
} runlog;

/* Opens path for appending, never through a symbolic link, never waiting on a FIFO; dies with a one-line
 * message (what to do: remove it, or pass another --checkpoint-dir) when it cannot. */
void runlog_open(runlog *lg, const char *path);
/* The progress line of step st, which took ms milliseconds. */
void runlog_progress(runlog *lg, const charrnn_step_stats *st, double ms);
/* The start line of a run (or of its resumption at iteration): where it computes and in what precision. */
void runlog_start(runlog *lg, long iteration, const char *device, charrnn_precision precision, const char *note);
/* The validation line: the loss val (nats) after step st. */
void runlog_validation(runlog *lg, const charrnn_step_stats *st, double val);
/* Training with --sample-every: the sample line, a sample of length characters (at most 1e6) from the
 * model m as it is now, after a newline when the vocabulary has one, always with the same seed. Nothing
 * once a write failed or with no log; a sample that cannot be drawn is a warning on stderr. */
void runlog_sample(runlog *lg, charrnn_model *m, long iteration, long length, double temperature, uint64_t seed);
void runlog_close(runlog *lg);

/* ---- the reader -------------------------------------------------------------------------- */

/* Points (iteration, value) of one quantity; NaN and infinite values are left out. */
typedef struct runlog_series {
    double *x, *y;
    int n, cap;
} runlog_series;

typedef struct runlog_sample_rec {
    long iteration;
    double temperature;
    const char *text; /* UTF-8, owned by the parsed line's json_doc */
} runlog_sample_rec;

/* A log read back: the latest run's curves and samples, and what was skipped. */
typedef struct runlog_contents {
    runlog_series train_loss, val_loss, lr, ms, grad;
    runlog_sample_rec *samples;
    int num_samples, cap_samples;
    json_doc **docs; /* the sample lines, kept alive for their text */
    int num_docs, cap_docs;
    long bad_lines, first_bad, restarts; /* lines that are not objects with an iteration; the first one's number */
} runlog_contents;

/* Reads the log at path (dies with a one-line message when it cannot). A run started again in the same
 * directory (fresh, or resumed from an earlier checkpoint) shows as a progress line whose iteration is not
 * after the last one: the contents keep the latest run from there on. */
void runlog_read(runlog_contents *lg, const char *path);
/* The device and precision of the last start line before iteration it (a run that starts at s saves
 * checkpoints after s) in the log at path (for
 * `charrnn info` on a checkpoint beside it), into device and precision (made safe for a terminal):
 * 1, or 0 when the log is missing, unreadable or has none (never an error). */
int runlog_start_of(const char *path, long it, char *device, size_t dcap, char *precision, size_t pcap);
void runlog_contents_free(runlog_contents *lg);

#endif
