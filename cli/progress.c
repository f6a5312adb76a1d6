/* progress.c: the terminal progress bar of progress.h. One line, redrawn with
 * \r; cleared before any ordinary line is printed. */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_init(progress *p, const char *unit) {
    const char *term = getenv("TERM");
    memset(p, 0, sizeof *p);
    p->tty = isatty(2) && !(term && !strcmp(term, "dumb"));
    p->t0 = mono_s();
    p->unit = unit;
}

void progress_format_eta(double s, char *out, int cap) {
    if (!isfinite(s) || s < 0) { snprintf(out, (size_t)cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, (size_t)cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, (size_t)cap, "%ld:%02ld", t / 60, t % 60);
}

static int terminal_width(void) {
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

void progress_draw(progress *p, const char *label, long done, long total, long count, const char *extra) {
    if (!p->tty) return;
    double now = mono_s();
    if (p->drawn && now - p->last < 0.1 && done < total) return;
    p->last = now;
    double el = now - p->t0, rate = el > 0 ? count / el : 0;
    double frac = total > 0 ? (double)done / (double)total : 0;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    char eta[32], tail[192], line[512];
    progress_format_eta(rate > 0 ? (double)(total - done) / rate : NAN, eta, sizeof eta);
    snprintf(tail, sizeof tail, " %3.0f%%  %.1f %s/s  ETA %s%s%s", frac * 100, rate, p->unit ? p->unit : "", eta,
             extra ? "  " : "", extra ? extra : "");
    int width = terminal_width() - 1 - (int)strlen(label) - (int)strlen(tail) - 3;
    if (width > 30) width = 30;
    int len = snprintf(line, sizeof line, "\r%.200s", label);
    if (width >= 5) {
        int fill = (int)(frac * width + 0.5);
        line[len++] = ' ', line[len++] = '[';
        for (int i = 0; i < width; i++) line[len++] = i < fill ? '#' : '-';
        line[len++] = ']';
    }
    snprintf(line + len, sizeof line - (size_t)len, "%s\033[K", tail);
    fputs(line, stderr);
    fflush(stderr);
    p->drawn = 1;
}

void progress_epoch(progress *p, long iteration, long total_iters, long iters_per_epoch, long count) {
    if (!p->tty || iters_per_epoch < 1) return;
    char label[64], extra[64], eta[32];
    long epochs = (total_iters + iters_per_epoch - 1) / iters_per_epoch;
    snprintf(label, sizeof label, "epoch %ld/%ld", iteration / iters_per_epoch + 1, epochs);
    double el = mono_s() - p->t0, rate = el > 0 ? count / el : 0;
    progress_format_eta(rate > 0 ? (double)(total_iters - iteration) / rate : NAN, eta, sizeof eta);
    snprintf(extra, sizeof extra, "(run %s)", eta);
    progress_draw(p, label, iteration % iters_per_epoch, iters_per_epoch, count, extra);
}

void progress_clear(progress *p) {
    if (!p->tty || !p->drawn) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn = 0;
}
