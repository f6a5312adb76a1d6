/* viz.c: `charrnn viz` (a page showing a text coloured by any neuron, with the
 * model's guesses under every character) and `charrnn cells` (every neuron
 * ranked by how well it tracks named properties of the text), and the helpers
 * these commands share with `charrnn report`. The pages themselves are written
 * by viz_html.c; the properties come from viz_props.c. */
#include "viz.h"
#include "progress.h"
#include "options.h"
#include "signals.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the traced window ---------------------------------------------------------------------- */

/* Reads FILE and traces characters [start, start + length) of it through the
 * model (one more is fed so the last character's next-character probability is
 * known). Characters are code points or bytes, as the model's unit. */
static charrnn_trace *trace_window(charrnn_model *m, charrnn_unit unit, const char *path, long start, long length) {
    size_t len;
    char *text = cli_read_input(path, &len);
    if (len == 0) cli_die(1, "'%s' is empty; give a text file", path);
    size_t b0 = len, b1 = len;
    long k = 0;
    for (size_t i = 0; i <= len; i++) {
        int boundary = i == len || unit == CHARRNN_UNIT_BYTE || ((unsigned char)text[i] & 0xC0) != 0x80;
        if (!boundary) continue;
        if (k == start) b0 = i;
        if (k == start + length + 1 || i == len) { b1 = i; break; }
        k++;
    }
    if (b0 >= len)
        cli_die(2, "--start %ld is past the end of '%s' (%ld characters); pick a start below that", start, path, k);
    long count = k - start < length ? k - start : length;
    fprintf(stderr, "tracing %ld characters of %s from character %ld ...\n", count, path, start);
    charrnn_error err = {0};
    charrnn_trace *t = NULL;
    progress bar;
    progress_init(&bar, "chars");
    bar.label = "trace";
    int rc = charrnn_trace_text(m, text + b0, b1 - b0, path, (int)length, cli_progress, &bar, &t, &err);
    progress_clear(&bar);
    if (rc == CHARRNN_ECANCELED) {
        fprintf(stderr, "charrnn: stopped by %s; nothing was written\n", sig_name(sig_stop_requested()));
        exit(128 + sig_stop_requested());
    }
    if (rc) cli_die(err.code == CHARRNN_EINVAL ? 2 : 1, "%s", err.msg);
    if (t->unknown)
        fprintf(stderr, "warning: %ld character(s) of %s are not in the model's vocabulary and were left out\n",
                t->unknown, path);
    free(text);
    return t;
}

/* The checkpoint at path, on device (its work: the trace's one stream of 64 steps at a time). */
static charrnn_model *load_model(const char *path, const char *device, charrnn_model_info *info) {
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, path, &err)) cli_die(err.code == CHARRNN_EINVAL ? 2 : 1, "%s", err.msg);
    charrnn_model_set_workload(m, 1, 64, 0);
    cli_set_device(m, device, 2);
    charrnn_model_get_info(m, info);
    return m;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static void save_or_die(const jbuf *b, const char *path) {
    if (b->oom) cli_die(1, "cannot write '%s': out of memory building the page; show a shorter --length", path);
    cli_write_file_atomic(path, b->buf, b->len);
}

/* ---- viz ------------------------------------------------------------------------------------ */

int cmd_viz(int argc, char **argv) {
    long start = 0, length = 2000;
    int threads = 0;
    const char *out = "viz.html", *title = NULL, *device = NULL;
    optdef opts[] = {
        {"output", O_STR, &out, 0, "the page to write (default viz.html; - for stdout)", 0},
        {"o", O_STR, &out, 0, "the same as --output", 0},
        {"start", O_LONG, &start, "[0,inf)", "first character of the window (default 0)", 0},
        {"length", O_LONG, &length, "[1,1000000]", "characters to show (default 2000)", 0},
        {"title", O_STR, &title, 0, "the page's title (default: the file's and the checkpoint's names)", 0},
        {"threads", O_INT, &threads, "[0,4096]", "threads for BLAS and loops", 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, CLI_DEVICE_HELP, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *usage = "viz CHECKPOINT FILE [-o page.html] [--start N] [--length N]";
    const char *pos[2] = {0};
    if (cli_parse(argc, argv, "viz", usage, opts, pos, 2) < 2)
        cli_die(2, "viz needs a checkpoint and a text file: charrnn viz cv/best.safetensors input.txt -o page.html");
    cli_check_output(out, "-o", 0, pos, 2);
    cli_set_threads(threads);
    sig_install("stopping", 0);
    charrnn_model_info info;
    charrnn_model *m = load_model(pos[0], cli_device(device, NULL), &info);
    const int L = info.config.num_layers, H = info.config.rnn_size, Q = info.config.cell == CHARRNN_LSTM ? 2 : 1;
    double mb = (double)length * L * H * Q * 4.0 / 3.0 / 1e6;
    if (mb > 150)
        fprintf(stderr, "warning: the page will hold about %.0f MB of activations; a browser may be slow to open it "
                        "(a smaller --length helps)\n", mb);
    charrnn_trace *t = trace_window(m, info.unit, pos[1], start, length);
    char deftitle[512];
    snprintf(deftitle, sizeof deftitle, "%s: inside %s", base_name(pos[1]), base_name(pos[0]));
    viz_page page = {title ? title : deftitle, pos[0], pos[1], start, info.unit, t};
    jbuf b;
    jb_init(&b);
    viz_write_page(&b, &page);
    save_or_die(&b, out);
    if (strcmp(out, "-"))
        fprintf(stderr, "wrote %s (%.1f MB): %d characters, %d x %d %s; open it in a browser\n", out, b.len / 1e6, t->n,
                L, H, charrnn_cell_name(info.config.cell));
    jb_free(&b);
    charrnn_trace_free(t);
    charrnn_model_close(m);
    return 0;
}

/* ---- cells ---------------------------------------------------------------------------------- */

/* The excerpt of length len where property p varies most (so the page shows the
 * neuron where it matters), moved back to a line start when one is near. */
static int pick_excerpt(const float *y, const uint32_t *chars, int n, int len) {
    if (len >= n) return 0;
    double s1 = 0, s2 = 0, best = -1;
    int best_at = 0, step = len / 4 > 0 ? len / 4 : 1;
    for (int i = 0; i < len; i++) s1 += y[i], s2 += (double)y[i] * y[i];
    for (int at = 0;; at++) {
        if (at % step == 0 || at == n - len) {
            double var = s2 / len - (s1 / len) * (s1 / len);
            if (var > best + 1e-12) best = var, best_at = at;
        }
        if (at + len >= n) break;
        s1 += y[at + len] - y[at];
        s2 += (double)y[at + len] * y[at + len] - (double)y[at] * y[at];
    }
    for (int back = 1; back <= 80 && best_at - back >= 0; back++)
        if (chars[best_at - back] == '\n') return best_at - back + 1;
    return best_at;
}

static void fill_entry(cells_entry *e, const charrnn_trace *t, const float *act_src, int take_tanh, const float *props,
                       int excerpt) {
    const int n = t->n, LH = t->num_layers * t->hidden, k = e->layer * t->hidden + e->neuron;
    const float *y = props + (size_t)e->prop * n;
    e->len = excerpt < n ? excerpt : n;
    e->start = pick_excerpt(y, t->chars, n, e->len);
    int8_t *a = malloc((size_t)e->len);
    uint16_t *v = malloc(sizeof(uint16_t) * (size_t)e->len);
    if (!a || !v) cli_die(1, "out of memory");
    for (int i = 0; i < e->len; i++) {
        float s = act_src[(size_t)(e->start + i) * LH + k];
        a[i] = quantize_act(take_tanh ? tanhf(s) : s);
        float pv = y[e->start + i];
        v[i] = (uint16_t)(pv < 0 ? 0 : pv > 65535 ? 65535 : pv);
    }
    e->act = a;
    e->prop_v = v;
}

int cmd_cells(int argc, char **argv) {
    long start = 0, length = 20000;
    int threads = 0, top = 20, excerpt = 600;
    const char *out = NULL;
    int state = -1; /* 0: tanh(c), 1: h; default tanh(c) for an LSTM */
    const char *device = NULL;
    optdef opts[] = {
        {"output", O_STR, &out, 0, "also write a gallery page (e.g. cells.html) of the top neurons", 0},
        {"o", O_STR, &out, 0, "the same as --output", 0},
        {"start", O_LONG, &start, "[0,inf)", "first character of the text to analyse (default 0)", 0},
        {"length", O_LONG, &length, "[2,10000000]", "characters to analyse (default 20000)", 0},
        {"top", O_INT, &top, "[1,inf)", "neurons to list (default 20)", 0},
        {"state", O_CHOICE, &state, "c|h", "LSTM: tanh of the cell state (c, default) or the hidden state (h)", 0},
        {"excerpt", O_INT, &excerpt, "[1,100000]", "characters of text shown per neuron on the page (default 600)", 0},
        {"threads", O_INT, &threads, "[0,4096]", "threads for BLAS and loops", 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, CLI_DEVICE_HELP, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *usage = "cells CHECKPOINT FILE [--top N] [--length N] [-o cells.html]";
    const char *pos[2] = {0};
    if (cli_parse(argc, argv, "cells", usage, opts, pos, 2) < 2)
        cli_die(2, "cells needs a checkpoint and a text file: charrnn cells cv/best.safetensors input.txt");
    if (out && !strcmp(out, "-")) cli_die(2, "cells prints its table on stdout; give -o a file name such as cells.html");
    if (out) cli_check_output(out, "-o", 0, pos, 2);
    cli_set_threads(threads);
    sig_install("stopping", 0);
    charrnn_model_info info;
    charrnn_model *m = load_model(pos[0], cli_device(device, NULL), &info);
    if (state == 0 && info.config.cell != CHARRNN_LSTM)
        cli_die(2, "--state c needs an LSTM; %s is a %s, whose state is h", pos[0], charrnn_cell_name(info.config.cell));
    charrnn_trace *t = trace_window(m, info.unit, pos[1], start, length);
    const int n = t->n, H = t->hidden, LH = t->num_layers * H;
    int use_c = t->c && state != 1;
    const float *act_src = use_c ? t->c : t->h;
    const char *qname = use_c ? "tanh(c)" : "h";
    if (n < 2) cli_die(1, "only %d character of %s is in the model's vocabulary; nothing to correlate", n, pos[1]);

    float *props = malloc(sizeof(float) * (size_t)TP_COUNT * n);
    double *r = malloc(sizeof(double) * (size_t)TP_COUNT * LH), prop_mean[TP_COUNT];
    if (!props || !r) cli_die(1, "out of memory for %d characters x %d neurons", n, LH);
    text_props(props, t->chars, n);
    if (props_correlate(r, prop_mean, act_src, n, LH, use_c, props))
        cli_die(1, "out of memory correlating %d neurons with %d characters", LH, n);
    cli_stop_point("after tracing; nothing was printed or written");

    /* the best neuron for each property, and every neuron's best property */
    cells_entry best[TP_COUNT];
    int num_best = 0;
    char absent[512] = "";
    for (int p = 0; p < TP_COUNT; p++) {
        int bk = -1;
        for (int k = 0; k < LH; k++) {
            double v = r[(size_t)p * LH + k];
            if (!isnan(v) && (bk < 0 || fabs(v) > fabs(r[(size_t)p * LH + bk]))) bk = k;
        }
        if (bk < 0) {
            snprintf(absent + strlen(absent), sizeof absent - strlen(absent), "%s%s", absent[0] ? ", " : "", text_prop_name(p));
            continue;
        }
        best[num_best++] = (cells_entry){bk / H, bk % H, p, r[(size_t)p * LH + bk], prop_mean[p], 0, 0, NULL, NULL};
    }
    cells_entry *rank = malloc(sizeof(cells_entry) * (size_t)LH);
    if (!rank) cli_die(1, "out of memory");
    int num_rank = 0;
    for (int k = 0; k < LH; k++) {
        int bp = -1;
        for (int p = 0; p < TP_COUNT; p++) {
            double v = r[(size_t)p * LH + k];
            if (!isnan(v) && (bp < 0 || fabs(v) > fabs(r[(size_t)bp * LH + k]))) bp = p;
        }
        if (bp >= 0) rank[num_rank++] = (cells_entry){k / H, k % H, bp, r[(size_t)bp * LH + k], prop_mean[bp], 0, 0, NULL, NULL};
    }
    /* by |r|, largest first; ties keep the neuron order (insertion sort: stable, and LH is small) */
    for (int i = 1; i < num_rank; i++) {
        cells_entry e = rank[i];
        int j = i;
        while (j > 0 && fabs(rank[j - 1].r) < fabs(e.r)) rank[j] = rank[j - 1], j--;
        rank[j] = e;
    }
    if (top > num_rank) top = num_rank;

    out_printf("%s (%d x %d %s) on %s: %d characters from character %ld; activation %s\n\n", pos[0], t->num_layers, H,
           charrnn_cell_name(t->cell), pos[1], n, start, qname);
    out_printf("best neuron for each property\n  %-14s %8s %6s %7s %8s\n", "property", "mean", "layer", "neuron", "r");
    for (int i = 0; i < num_best; i++)
        out_printf("  %-14s %8.4g %6d %7d %+8.4f\n", text_prop_name(best[i].prop), best[i].mean, best[i].layer, best[i].neuron,
               best[i].r);
    if (absent[0]) out_printf("  not in this text: %s\n", absent);
    out_printf("\nneurons ranked by |r| with their best property\n  %4s %6s %7s  %-14s %8s\n", "rank", "layer", "neuron",
           "property", "r");
    for (int i = 0; i < top; i++)
        out_printf("  %4d %6d %7d  %-14s %+8.4f\n", i + 1, rank[i].layer, rank[i].neuron, text_prop_name(rank[i].prop),
               rank[i].r);
    out_finish();

    if (out) {
        for (int i = 0; i < num_best; i++) fill_entry(&best[i], t, act_src, use_c, props, excerpt);
        for (int i = 0; i < top; i++) fill_entry(&rank[i], t, act_src, use_c, props, excerpt);
        char title[512];
        snprintf(title, sizeof title, "%s: cells of %s", base_name(pos[1]), base_name(pos[0]));
        cells_page page = {title, pos[0], pos[1], qname, start, t->chars, n, best, num_best, rank, top, absent};
        jbuf b;
        jb_init(&b);
        cells_write_page(&b, &page);
        save_or_die(&b, out);
        if (strcmp(out, "-")) fprintf(stderr, "wrote %s (%.1f MB); open it in a browser\n", out, b.len / 1e6);
        jb_free(&b);
        for (int i = 0; i < num_best; i++) free((void *)best[i].act), free((void *)best[i].prop_v);
        for (int i = 0; i < top; i++) free((void *)rank[i].act), free((void *)rank[i].prop_v);
    }
    free(rank);
    free(r);
    free(props);
    charrnn_trace_free(t);
    charrnn_model_close(m);
    return 0;
}
