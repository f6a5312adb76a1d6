/* progress.h: a one-line progress bar with rate and ETA on stderr, drawn only
 * when stderr is an interactive terminal; elsewhere it prints nothing and the
 * commands' usual progress lines are the record. */
#ifndef CHARRNN_PROGRESS_H
#define CHARRNN_PROGRESS_H

typedef struct progress {
    int tty;          /* stderr is a terminal (and TERM is not "dumb") */
    int drawn;        /* the bar is on screen now */
    double t0;        /* when counting started, seconds */
    double last;      /* last redraw */
    const char *unit; /* "it", "chars", ... */
    const char *label;/* for cli_progress: what is being done, e.g. "eval" */
} progress;

void progress_init(progress *p, const char *unit);
/* Redraws "LABEL [#####-----] 45%  12.3 it/s  ETA 0:41  EXTRA" for done of total,
 * the rate being count units since progress_init. At most 10 redraws a second
 * unless the bar was cleared since the last one. extra may be NULL. */
void progress_draw(progress *p, const char *label, long done, long total, long count, const char *extra);
/* Training's bar: the current epoch, with the rate and ETA of the epoch and of
 * the run (count: iterations done since this process started). */
void progress_epoch(progress *p, long iteration, long total_iters, long iters_per_epoch, long count);
/* Removes the bar so that an ordinary line can be printed. */
void progress_clear(progress *p);
/* Seconds as "1:02:03" or "4:05" into out. */
void progress_format_eta(double s, char *out, int cap);

#endif
