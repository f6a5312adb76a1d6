/* runlog.h: train.jsonl, a training run's log in its checkpoint directory: one JSON object a line, every
 * one with "iteration" (RUNLOG_ITERATION), appended as the run goes (a resumed run appends to it). Three
 * kinds of line, told apart by their fields:
 *   progress:   iteration, epoch, train_loss (nats), train_bpc, grad_norm, learning_rate, ms_per_iter
 *   validation: iteration, epoch, val_loss (nats), val_bpc
 *   sample:     iteration, sample (the text, non-UTF-8 bytes as U+FFFD), temperature
 * The writer of the first two is here; the sample line is written by report_log_sample and the whole log
 * read back by read_log, both in cli/viz_report.c (`charrnn viz-report`), by these names. */
#ifndef CHARRNN_RUNLOG_H
#define CHARRNN_RUNLOG_H

#include "charrnn.h"

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
/* The validation line: the loss val (nats) after step st. */
void runlog_validation(runlog *lg, const charrnn_step_stats *st, double val);
/* The stream to append another kind of line to (report_log_sample), NULL once a write failed or none. */
FILE *runlog_stream(const runlog *lg);
void runlog_close(runlog *lg);

#endif
