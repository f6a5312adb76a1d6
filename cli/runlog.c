/* runlog.c: train.jsonl's writer and reader (the format: runlog.h). A write that fails (a full disk) says
 * so once on stderr and stops the log; the run and its checkpoints go on. The reader is `charrnn report`'s. */
#include "runlog.h"
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

void runlog_start(runlog *lg, long iteration, const char *device, charrnn_precision precision, const char *note) {
    if (lg->failed || !lg->f) return;
    jbuf b;
    jb_init(&b);
    jb_printf(&b, "{\"" RUNLOG_ITERATION "\":%ld,\"" RUNLOG_DEVICE "\":", iteration);
    jb_ascii_string(&b, device, strlen(device));
    jb_printf(&b, ",\"" RUNLOG_PRECISION "\":\"%s\",\"" RUNLOG_PRECISION_NOTE "\":",
              precision == CHARRNN_PRECISION_BF16 ? "bf16" : "fp32");
    jb_ascii_string(&b, note, strlen(note));
    jb_raw(&b, "}\n");
    if (!b.oom) line(lg, "%s", b.buf);
    jb_free(&b);
}

void runlog_validation(runlog *lg, const charrnn_step_stats *st, double val) {
    line(lg, "{\"" RUNLOG_ITERATION "\":%ld,\"" RUNLOG_EPOCH "\":%.6f,\"" RUNLOG_VAL_LOSS "\":%.6f,\"" RUNLOG_VAL_BPC "\":%.6f}\n",
         st->iteration, st->epoch, val, val / log(2.0));
}

void runlog_sample(runlog *lg, charrnn_model *m, long iteration, long length, double temperature, uint64_t seed) {
    FILE *log = lg->failed ? NULL : lg->f;
    charrnn_error err = {0};
    charrnn_sampler *s;
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    if (!log) return;
    char *text = malloc((size_t)length * 4 + 1); /* length <= 1e6, checked by train */
    if (!text || charrnn_sampler_open(&s, m, 1, seed, &err)) {
        fprintf(stderr, "warning: no sample at iteration %ld: %s\n", iteration, text ? err.msg : "out of memory");
        free(text);
        return;
    }
    for (int i = 0; i < in.vocab_size; i++) {
        if (charrnn_model_vocab(m, i) != '\n') continue;
        long skipped;
        uint32_t ex[1];
        charrnn_sampler_prime(s, "\n", 1, &skipped, ex, 1, NULL, &err);
        break;
    }
    size_t n = 0;
    for (long i = 0; i < length; i++) {
        uint32_t c;
        if (charrnn_sampler_next(s, (float)temperature, &c, &err)) {
            fprintf(stderr, "warning: the sample at iteration %ld stops after %ld characters: %s\n", iteration, i, err.msg);
            break;
        }
        if (in.unit == CHARRNN_UNIT_BYTE) text[n++] = (char)c;
        else n += (size_t)charrnn_utf8_encode(c, text + n);
    }
    charrnn_sampler_close(s);
    jbuf b;
    jb_init(&b);
    jb_printf(&b, "{\"" RUNLOG_ITERATION "\":%ld,\"" RUNLOG_SAMPLE "\":", iteration);
    jb_ascii_string(&b, text, n); /* bytes that are not UTF-8 (--unit byte) become U+FFFD */
    jb_raw(&b, ",\"" RUNLOG_TEMPERATURE "\":");
    jb_number(&b, temperature);
    jb_raw(&b, "}\n");
    if (!b.oom) fputs(b.buf, log);
    fflush(log);
    jb_free(&b);
    free(text);
}

void runlog_close(runlog *lg) {
    if (lg->f) fclose(lg->f);
    lg->f = NULL;
}

/* ---- the reader -------------------------------------------------------------------------- */

static void *grow(void *p, int *cap, int need, size_t elem) {
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(p, (size_t)nc * elem);
    if (!q) cli_die(1, "out of memory reading the log");
    *cap = nc;
    return q;
}

static void series_add(runlog_series *s, double x, double y) {
    if (!isfinite(x) || !isfinite(y)) return;
    if (s->n == s->cap) {
        int cx = s->cap, cy = s->cap;
        s->x = grow(s->x, &cx, s->n + 1, sizeof(double));
        s->y = grow(s->y, &cy, s->n + 1, sizeof(double));
        s->cap = cx;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
}

/* Drops the points at or after iteration it (a run that was restarted there). */
static void series_cut(runlog_series *s, double it) {
    while (s->n > 0 && s->x[s->n - 1] >= it) s->n--;
}

static void series_free(runlog_series *s) {
    free(s->x);
    free(s->y);
}

void runlog_read(runlog_contents *lg, const char *path) {
    size_t len;
    char *text = cli_read_input(path, &len);
    memset(lg, 0, sizeof *lg);
    double last_train = -1;
    long line_no = 0;
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end) end = text + len;
        line_no++;
        size_t n = (size_t)(end - line);
        char *next = end + (end < text + len);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ')) n--;
        if (n == 0) { line = next; continue; }
        char msg[256];
        json_doc *d = json_parse(line, n, msg, sizeof msg);
        const json_value *v = d ? json_root(d) : NULL;
        double it;
        if (!v || v->type != JSON_OBJECT || json_get_number(v, RUNLOG_ITERATION, &it)) {
            if (!lg->bad_lines++) lg->first_bad = line_no;
            json_free(d);
            line = next;
            continue;
        }
        double loss, x;
        const char *sample;
        if (!json_get_number(v, RUNLOG_TRAIN_LOSS, &loss)) {
            if (it <= last_train) {
                lg->restarts++;
                series_cut(&lg->train_loss, it), series_cut(&lg->val_loss, it), series_cut(&lg->lr, it);
                series_cut(&lg->ms, it), series_cut(&lg->grad, it);
                while (lg->num_samples && lg->samples[lg->num_samples - 1].iteration >= it) lg->num_samples--;
            }
            last_train = it;
            series_add(&lg->train_loss, it, loss);
            if (!json_get_number(v, RUNLOG_LEARNING_RATE, &x)) series_add(&lg->lr, it, x);
            if (!json_get_number(v, RUNLOG_MS_PER_ITER, &x)) series_add(&lg->ms, it, x);
            if (!json_get_number(v, RUNLOG_GRAD_NORM, &x)) series_add(&lg->grad, it, x);
        }
        if (!json_get_number(v, RUNLOG_VAL_LOSS, &loss)) series_add(&lg->val_loss, it, loss);
        if (!json_get_string(v, RUNLOG_SAMPLE, &sample)) {
            double temp = 1;
            json_get_number(v, RUNLOG_TEMPERATURE, &temp);
            lg->samples = grow(lg->samples, &lg->cap_samples, lg->num_samples + 1, sizeof(runlog_sample_rec));
            lg->samples[lg->num_samples++] = (runlog_sample_rec){(long)it, temp, sample};
            lg->docs = grow(lg->docs, &lg->cap_docs, lg->num_docs + 1, sizeof(json_doc *));
            lg->docs[lg->num_docs++] = d;
        } else {
            json_free(d);
        }
        line = next;
    }
    free(text);
}

int runlog_start_of(const char *path, long it, char *device, size_t dcap, char *precision, size_t pcap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        json_doc *d = strstr(line, "\"" RUNLOG_DEVICE "\"") ? json_parse(line, strlen(line), NULL, 0) : NULL;
        const json_value *v = d ? json_root(d) : NULL;
        double at;
        const char *dev, *prec;
        if (v && v->type == JSON_OBJECT && !json_get_number(v, RUNLOG_ITERATION, &at) && (at < (double)it || at == 0) &&
            !json_get_string(v, RUNLOG_DEVICE, &dev) && !json_get_string(v, RUNLOG_PRECISION, &prec)) {
            size_t n = 0;
            for (const char *p = dev; *p && n + 12 < dcap; p++) n += (size_t)cli_safe_char((unsigned char)*p, CHARRNN_UNIT_BYTE, device + n, dcap - n);
            device[n] = 0;
            n = 0;
            for (const char *p = prec; *p && n + 12 < pcap; p++) n += (size_t)cli_safe_char((unsigned char)*p, CHARRNN_UNIT_BYTE, precision + n, pcap - n);
            precision[n] = 0;
            found = 1;
        }
        json_free(d);
    }
    fclose(f);
    return found;
}

void runlog_contents_free(runlog_contents *lg) {
    series_free(&lg->train_loss), series_free(&lg->val_loss), series_free(&lg->lr);
    series_free(&lg->ms), series_free(&lg->grad);
    for (int i = 0; i < lg->num_docs; i++) json_free(lg->docs[i]);
    free(lg->docs);
    free(lg->samples);
}
