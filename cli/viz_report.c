/* viz_report.c: `charrnn report RUN_DIR`: one page about a training run, read
 * from its train.jsonl and its best checkpoint: loss curves (nats and bpc),
 * learning rate, speed and gradient norm drawn as inline SVG by this file, the
 * samples recorded with --sample-every, and the checkpoint's description. */
#include "viz.h"
#include "options.h"
#include "runlog.h"
#include "signals.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- SVG plots ------------------------------------------------------------------------------ */

typedef struct plot_line {
    const char *name, *colour;
    const runlog_series *s;
    int markers;
} plot_line;

/* Round tick step for a range: 1, 2 or 5 times a power of ten, about 5 ticks. */
static double tick_step(double range) {
    if (!(range > 0)) return 1;
    double raw = range / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fmt_num(char *out, size_t cap, double v) {
    double a = fabs(v);
    if (v == 0) snprintf(out, cap, "0");
    else if (a >= 1e5 || a < 1e-3) snprintf(out, cap, "%.1e", v);
    else snprintf(out, cap, "%.4g", v);
}

/* A line chart, W x H pixels. y2_scale > 0 adds a right axis showing y / y2_scale
 * (bits per character beside nats). standalone: a whole SVG document. */
static void svg_plot(jbuf *b, const char *title, const char *ylabel, const plot_line *lines, int nl, const char *y2label,
                     double y2_scale, int standalone) {
    const double W = 760, H = 300, ml = 64, mr = y2_scale > 0 ? 64 : 20, mt = 30, mb = 42;
    const double pw = W - ml - mr, ph = H - mt - mb;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < nl; k++)
        for (int i = 0; i < lines[k].s->n; i++) {
            double x = lines[k].s->x[i], y = lines[k].s->y[i];
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    int empty = !(x1 >= x0);
    if (empty) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x0 > 0 && x0 < (x1 - x0) * 0.2) x0 = 0;
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y0 -= fabs(y0) * 0.1 + 1e-9, y1 += fabs(y1) * 0.1 + 1e-9;
    double pad = (y1 - y0) * 0.05;
    y0 -= pad, y1 += pad;
    if (y0 < 0 && lines[0].s->n && y0 + pad >= 0) y0 = 0; /* losses, rates, times are not negative */
#define PX(x) (ml + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (mt + (1 - ((y) - y0) / (y1 - y0)) * ph)
    if (standalone) jb_raw(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    jb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                 "font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">\n", W, H, W, H);
    jb_raw(b, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"");
    jb_printf(b, "%.0f\" y=\"18\" font-size=\"14\" font-weight=\"bold\">", ml);
    html_text(b, title, strlen(title));
    jb_raw(b, "</text>\n");
    char t[64];
    double st = tick_step(y1 - y0);
    for (double v = ceil(y0 / st) * st; v <= y1 + st * 1e-9; v += st) {
        fmt_num(t, sizeof t, fabs(v) < st * 1e-9 ? 0 : v);
        jb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">%s</text>\n",
                  ml, ml + pw, PY(v), PY(v), ml - 6, PY(v) + 4, t);
    }
    if (y2_scale > 0) {
        double s2 = tick_step((y1 - y0) / y2_scale);
        for (double v = ceil(y0 / y2_scale / s2) * s2; v * y2_scale <= y1 + s2 * 1e-9; v += s2) {
            fmt_num(t, sizeof t, fabs(v) < s2 * 1e-9 ? 0 : v);
            jb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#444\">%s</text>\n", ml + pw + 6, PY(v * y2_scale) + 4, t);
        }
        jb_printf(b, "<text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
                  W - 12, mt + ph / 2, y2label);
    }
    double sx = tick_step(x1 - x0);
    for (double v = ceil(x0 / sx) * sx; v <= x1 + sx * 1e-9; v += sx) {
        fmt_num(t, sizeof t, v);
        jb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
                  PX(v), PX(v), mt + ph, mt + ph + 4, PX(v), mt + ph + 16, t);
    }
    jb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", ml, mt, pw, ph);
    jb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">iteration</text>\n", ml + pw / 2, H - 6);
    jb_printf(b, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
              mt + ph / 2, ylabel);
    if (empty)
        jb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#888\">no data in the log yet</text>\n",
                  ml + pw / 2, mt + ph / 2);
    for (int k = 0; k < nl; k++) {
        const runlog_series *s = lines[k].s;
        if (!s->n) continue;
        jb_printf(b, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", lines[k].colour,
                  lines[k].markers ? "2" : "1.3");
        for (int i = 0; i < s->n; i++) jb_printf(b, "%s%.1f,%.1f", i ? " " : "", PX(s->x[i]), PY(s->y[i]));
        jb_raw(b, "\"/>\n");
        for (int i = 0; lines[k].markers && i < s->n; i++)
            jb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(s->x[i]), PY(s->y[i]), lines[k].colour);
    }
    for (int k = 0, shown = 0; k < nl; k++) { /* legend, top right */
        if (nl < 2) break;
        double ly = mt + 14 + 16 * shown++;
        jb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">%s</text>\n",
                  ml + pw - 150, ml + pw - 128, ly - 4, ly - 4, lines[k].colour, ml + pw - 122, ly, lines[k].name);
    }
    jb_raw(b, "</svg>\n");
#undef PX
#undef PY
}

static void loss_plot(jbuf *b, const runlog_contents *lg, int standalone) {
    plot_line lines[] = {{"train loss", "#3b6fd9", &lg->train_loss, 0}, {"validation loss", "#e07020", &lg->val_loss, 1}};
    svg_plot(b, "Loss", "nats per character", lines, 2, "bits per character", log(2.0), standalone);
}

/* ---- the page ------------------------------------------------------------------------------- */

static const char report_css[] =
    "body{margin:0 auto;max-width:1000px;padding:12px 20px 40px;font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;color:#222}\n"
    "h1{font-size:20px;margin:6px 0}\nh2{font-size:16px;margin:24px 0 8px}\n"
    "table{border-collapse:collapse;font-size:13px}\ntd,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n"
    "td.num{text-align:right;white-space:nowrap}\n"
    "pre{margin:0;white-space:pre-wrap;word-break:break-all;font:12px/1.4 'DejaVu Sans Mono',monospace;max-height:16em;overflow:auto}\n"
    ".plots svg{display:block;margin:8px 0;max-width:100%;height:auto}\n.muted{color:#777}\n";

static double median(const runlog_series *s) {
    if (!s->n) return NAN;
    double *v = malloc(sizeof(double) * (size_t)s->n);
    if (!v) return NAN;
    memcpy(v, s->y, sizeof(double) * (size_t)s->n);
    for (int i = 1; i < s->n; i++) { /* insertion sort: logs hold hundreds of points */
        double e = v[i];
        int j = i;
        while (j > 0 && v[j - 1] > e) v[j] = v[j - 1], j--;
        v[j] = e;
    }
    double m = s->n % 2 ? v[s->n / 2] : 0.5 * (v[s->n / 2 - 1] + v[s->n / 2]);
    free(v);
    return m;
}

static void row(jbuf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void row(jbuf *b, const char *key, const char *fmt, ...) {
    char v[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    jb_printf(b, "<tr><th>%s</th><td>", key);
    html_text(b, v, strlen(v));
    jb_raw(b, "</td></tr>\n");
}

static void write_report(jbuf *b, const char *dir, const runlog_contents *lg, charrnn_model *m, const char *ckpt) {
    char title[600];
    snprintf(title, sizeof title, "Training run %s", dir);
    jb_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    html_text(b, title, strlen(title));
    jb_raw(b, "</title>\n<script>\n");
    jb_raw(b, viz_onerror_script);
    jb_printf(b, "</script>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", report_css);
    html_text(b, title, strlen(title));
    jb_raw(b, "</h1>\n<h2>Summary</h2>\n<table id=\"summary\">\n");
    const runlog_series *tl = &lg->train_loss, *vl = &lg->val_loss;
    if (tl->n) {
        row(b, "iterations logged", "%.0f to %.0f (%d progress lines)", tl->x[0], tl->x[tl->n - 1], tl->n);
        row(b, "last train loss", "%.4f nats, %.4f bpc (iteration %.0f)", tl->y[tl->n - 1], tl->y[tl->n - 1] / log(2.0),
            tl->x[tl->n - 1]);
    } else {
        row(b, "iterations logged", "none yet");
    }
    if (vl->n) {
        int bi = 0;
        for (int i = 1; i < vl->n; i++) if (vl->y[i] < vl->y[bi]) bi = i;
        row(b, "best validation loss", "%.4f nats, %.4f bpc (iteration %.0f, of %d evaluations)", vl->y[bi],
            vl->y[bi] / log(2.0), vl->x[bi], vl->n);
    }
    if (lg->lr.n) row(b, "learning rate", "%g at the start, %g at the end", lg->lr.y[0], lg->lr.y[lg->lr.n - 1]);
    double ms = median(&lg->ms);
    if (isfinite(ms)) row(b, "speed", "%.2f ms per iteration (median)", ms);
    if (lg->restarts) row(b, "restarts", "%ld: the log keeps the latest run from where it restarted", lg->restarts);
    jb_raw(b, "</table>\n<h2>Curves</h2>\n<div class=\"plots\">\n");
    loss_plot(b, lg, 0);
    plot_line lr[] = {{"learning rate", "#2a9d5c", &lg->lr, 0}};
    svg_plot(b, "Learning rate", "learning rate", lr, 1, NULL, 0, 0);
    plot_line sp[] = {{"ms per iteration", "#8a4fc4", &lg->ms, 0}};
    svg_plot(b, "Speed", "ms per iteration", sp, 1, NULL, 0, 0);
    plot_line gn[] = {{"gradient norm", "#b03a48", &lg->grad, 0}};
    svg_plot(b, "Gradient norm (before clipping)", "L2 norm", gn, 1, NULL, 0, 0);
    jb_raw(b, "</div>\n<h2>Samples during training</h2>\n");
    if (!lg->num_samples) {
        jb_raw(b, "<p class=\"muted\">None in the log: train with --sample-every N to record a sample every N iterations.</p>\n");
    } else {
        jb_raw(b, "<table id=\"samples\">\n<tr><th>iteration</th><th>temperature</th><th>sample</th></tr>\n");
        for (int i = 0; i < lg->num_samples; i++) {
            const runlog_sample_rec *s = &lg->samples[i];
            jb_printf(b, "<tr><td class=\"num\">%ld</td><td class=\"num\">%g</td><td><pre>", s->iteration, s->temperature);
            html_text(b, s->text, strlen(s->text));
            jb_raw(b, "</pre></td></tr>\n");
        }
        jb_raw(b, "</table>\n");
    }
    jb_raw(b, "<h2>Checkpoint</h2>\n");
    if (!m) {
        jb_raw(b, "<p class=\"muted\">No best.safetensors or latest.safetensors in this directory.</p>\n");
    } else {
        charrnn_model_info in;
        charrnn_model_get_info(m, &in);
        jb_raw(b, "<table id=\"checkpoint\">\n");
        row(b, "file", "%s", ckpt);
        row(b, "model", "%s, %d layers x %d, dropout %g", charrnn_cell_name(in.config.cell), in.config.num_layers,
            in.config.rnn_size, in.config.dropout);
        row(b, "parameters", "%zu", in.num_params);
        row(b, "vocabulary", "%d %s", in.vocab_size, in.unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points");
        row(b, "trained", "%ld iterations, epoch %.3f, learning rate %g", in.iteration, in.epoch, in.learning_rate);
        if (isfinite(in.train_loss)) row(b, "train loss", "%.4f nats (%.4f bpc), last iteration", in.train_loss, in.train_loss / log(2.0));
        if (in.num_history) row(b, "best validation loss", "%.4f nats (%.4f bpc)", in.val_loss, in.val_loss / log(2.0));
        const char *opts = charrnn_model_metadata(m, "train_options");
        if (opts) row(b, "train options", "%s", opts);
        jb_raw(b, "</table>\n");
    }
    jb_raw(b, "<script>document.documentElement.setAttribute('data-ready', '1');</script>\n</body></html>\n");
}

int cmd_report(int argc, char **argv) {
    const char *out = NULL;
    int format = 0;
    optdef opts[] = {
        {"output", O_STR, &out, 0, "where to write (default report.html, or loss.svg with --format svg; - for stdout)", 0},
        {"o", O_STR, &out, 0, "the same as --output", 0},
        {"format", O_CHOICE, &format, "html|svg", "the whole report (html, default) or the loss plot alone (svg)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *usage = "report RUN_DIR [-o report.html] [--format html|svg]";
    const char *pos[1] = {0};
    if (cli_parse(argc, argv, "report", usage, opts, pos, 1) < 1)
        cli_die(2, "report needs a run directory (a --checkpoint-dir of charrnn train): charrnn report cv -o report.html");
    int svg = format == 1;
    if (!out) out = svg ? "loss.svg" : "report.html";
    sig_install("stopping", 0); /* so an interrupted page write leaves no temporary file */
    const char *dir = pos[0];
    struct stat st;
    if (stat(dir, &st) != 0) cli_die(1, "cannot open run directory '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) cli_die(1, "'%s' is not a directory; give the --checkpoint-dir of a training run", dir);
    char logpath[4200], ckpt[4200], best[4200], latest[4200];
    snprintf(logpath, sizeof logpath, "%s/train.jsonl", dir);
    snprintf(best, sizeof best, "%s/best.safetensors", dir);
    snprintf(latest, sizeof latest, "%s/latest.safetensors", dir);
    cli_check_output(out, "-o", 0, (const char *[]){logpath, best, latest}, 3);
    if (access(logpath, R_OK) != 0)
        cli_die(1, "no readable train.jsonl in '%s' (%s); give the --checkpoint-dir of a training run", dir, strerror(errno));
    runlog_contents lg;
    runlog_read(&lg, logpath);
    if (lg.bad_lines)
        fprintf(stderr, "warning: %ld line(s) of %s are not JSON objects with an iteration and were skipped (the first: line %ld)\n",
                lg.bad_lines, logpath, lg.first_bad);
    jbuf b;
    jb_init(&b);
    if (svg) {
        loss_plot(&b, &lg, 1);
    } else {
        charrnn_model *m = NULL;
        charrnn_error err = {0};
        snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", dir);
        if (access(ckpt, R_OK) != 0) snprintf(ckpt, sizeof ckpt, "%s/latest.safetensors", dir);
        if (access(ckpt, R_OK) == 0 && charrnn_model_load(&m, ckpt, &err)) {
            fprintf(stderr, "warning: %s; the report leaves the checkpoint out\n", err.msg);
            m = NULL;
        }
        write_report(&b, dir, &lg, m, ckpt);
        charrnn_model_close(m);
    }
    if (b.oom) cli_die(1, "cannot write '%s': out of memory building the report", out);
    cli_write_file_atomic(out, b.buf, b.len);
    if (strcmp(out, "-"))
        fprintf(stderr, "wrote %s: %d train and %d validation points, %d samples\n", out, lg.train_loss.n, lg.val_loss.n,
                lg.num_samples);
    jb_free(&b);
    runlog_contents_free(&lg);
    return 0;
}
