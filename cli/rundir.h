/* rundir.h: a training run's checkpoint directory: one run per directory, one
 * process at a time (a lock), outputs that never follow a link planted there,
 * and the "best" checkpoint kept for the run being written only. */
#ifndef CHARRNN_RUNDIR_H
#define CHARRNN_RUNDIR_H

#include <stdint.h>
#include <stdio.h>

typedef struct rundir {
    char dir[4096];
    char latest[4200], bestlink[4200], log[4200];
    char best[8400];        /* this run's best checkpoint file, "" if none yet */
    double best_val;        /* its validation loss (NaN: none) */
    int lock_fd;
} rundir;

/* Creates the directory if needed and takes its lock, or dies naming the
 * process that holds it. Dies too when a file the run writes there (the lock,
 * latest.safetensors, train.jsonl) is not a regular file (a FIFO, a device) or
 * is the corpus (a path, "-" for standard input, NULL for none), before any work. */
void rundir_open(rundir *r, const char *dir, const char *corpus);
/* A new run (run_id) is about to write here: dies if the directory holds
 * another run's checkpoints, unless force. Resumed runs pass their own id:
 * their own directory is fine, another run's is refused unless force. */
void rundir_check_owner(rundir *r, uint64_t run_id, int resuming, int force);
/* For a resumed run: adopt the best checkpoint the directory already holds for
 * this run (so "best so far" compares with it, and the old file is replaced
 * when a better one comes). best_val: the best in the run's own history. */
void rundir_adopt_best(rundir *r, uint64_t run_id, double best_val);
/* Points best.safetensors at newbest (atomically), removes this run's previous best file. */
void rundir_set_best(rundir *r, const char *newbest, double val);
/* The directory of a checkpoint path ("." for a bare name), into out. */
void rundir_dirname(const char *path, char *out, size_t cap);

#endif
