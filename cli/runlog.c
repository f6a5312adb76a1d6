/* runlog.c: train.jsonl's writer (the format: runlog.h). A write that fails (a full disk) says so once on
 * stderr and stops the log; the run and its checkpoints go on. */
#include "runlog.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void runlog_open(runlog *lg, const char *path) {
    *lg = (runlog){.path = path};
    /* O_NONBLOCK: a FIFO planted here is refused, never waited on (no effect on a regular file) */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENXIO)
        cli_die(1, "'%s' is not a regular file; remove it, or pass another --checkpoint-dir", path);
    if (fd < 0 && errno == ELOOP)
        cli_die(1, "'%s' is a symbolic link; charrnn does not write through links in the checkpoint directory: "
                "remove it, or pass another --checkpoint-dir", path);
    if (fd < 0) cli_die(1, "cannot open log '%s': %s; pass a writable --checkpoint-dir", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        cli_die(1, "'%s' is not a regular file; remove it, or pass another --checkpoint-dir", path);
    lg->f = fdopen(fd, "a");
    if (!lg->f) cli_die(1, "cannot open log '%s': %s", path, strerror(errno));
}

static void line(runlog *lg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(runlog *lg, const char *fmt, ...) {
    if (lg->failed || !lg->f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(lg->f, fmt, ap);
    va_end(ap);
    if (fflush(lg->f) != 0 || ferror(lg->f)) {
        lg->failed = 1;
        fprintf(stderr, "warning: cannot write %s: %s; the log stops here (checkpoints go on)\n", lg->path, strerror(errno));
    }
}

void runlog_progress(runlog *lg, const charrnn_step_stats *st, double ms) {
    line(lg, "{\"" RUNLOG_ITERATION "\":%ld,\"" RUNLOG_EPOCH "\":%.6f,\"" RUNLOG_TRAIN_LOSS "\":%.6f,\"" RUNLOG_TRAIN_BPC
             "\":%.6f,\"" RUNLOG_GRAD_NORM "\":%.6g,\"" RUNLOG_LEARNING_RATE "\":%.6g,\"" RUNLOG_MS_PER_ITER "\":%.3f}\n",
         st->iteration, st->epoch, st->loss, st->loss / log(2.0), st->grad_norm, st->learning_rate, ms);
}

void runlog_validation(runlog *lg, const charrnn_step_stats *st, double val) {
    line(lg, "{\"" RUNLOG_ITERATION "\":%ld,\"" RUNLOG_EPOCH "\":%.6f,\"" RUNLOG_VAL_LOSS "\":%.6f,\"" RUNLOG_VAL_BPC "\":%.6f}\n",
         st->iteration, st->epoch, val, val / log(2.0));
}

FILE *runlog_stream(const runlog *lg) { return lg->failed ? NULL : lg->f; }

void runlog_close(runlog *lg) {
    if (lg->f) fclose(lg->f);
    lg->f = NULL;
}
