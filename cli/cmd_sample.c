/* sample.c: `charrnn sample`: text from a model (a network checkpoint, or an
 * n-gram model of `charrnn ngram --save`), streamed to stdout as it is
 * generated, with the sampling controls of the library (temperature, top-k,
 * top-p, min-p, repetition penalty), beam search, stop strings and a line
 * count, and an interactive prompt loop. Nothing is sized from --length: one
 * sample streams; several are generated as batches of streams whose text is
 * held only while it fits a fixed budget (beyond it, one at a time, streamed).
 * Ctrl-C stops with what was generated flushed. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "signals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_CHARS (16u << 20) /* characters held for a batch of samples (64 MB) */
#define MAX_STOP 256            /* bytes of a stop string */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct sample_args {
    charrnn_model *m;
    charrnn_unit unit;
    const char *prime;
    size_t plen;
    charrnn_sample_config cfg;
    long length;
    uint64_t seed;
    int half;
    const char *stop[OPT_MULTI_MAX]; /* with \n, \t, \\ decoded */
    size_t stop_len[OPT_MULTI_MAX];
    int num_stop;
    long max_lines;                  /* 0: no limit; the prime's lines count toward it */
    long prime_lines;                /* newlines in the prime */
} sample_args;

/* Where one sample is: its last bytes (for the stop strings) and its lines. */
typedef struct progress_of {
    char tail[MAX_STOP];
    size_t tail_len;
    long lines;
    int done;
} progress_of;

/* Appends character c's bytes; returns 1 when the sample is complete. */
static int advance(const sample_args *a, progress_of *p, uint32_t c) {
    char u[4];
    int n = 1;
    if (a->unit == CHARRNN_UNIT_BYTE) u[0] = (char)c;
    else n = charrnn_utf8_encode(c, u);
    for (int i = 0; i < n; i++) {
        if (p->tail_len == MAX_STOP) { memmove(p->tail, p->tail + 1, MAX_STOP - 1); p->tail_len--; }
        p->tail[p->tail_len++] = u[i];
    }
    if (c == '\n' && a->max_lines && ++p->lines >= a->max_lines) return p->done = 1;
    for (int k = 0; k < a->num_stop; k++)
        if (p->tail_len >= a->stop_len[k] && !memcmp(p->tail + p->tail_len - a->stop_len[k], a->stop[k], a->stop_len[k]))
            return p->done = 1;
    return 0;
}

static charrnn_sampler *open_sampler(const sample_args *a, int n, uint64_t seed, int warn) {
    charrnn_error err = {0};
    charrnn_sampler *s;
    if (charrnn_sampler_open(&s, a->m, n, seed, &err)) cli_die_err(&err);
    if (charrnn_sampler_configure(s, &a->cfg, &err)) cli_die_err(&err);
    if (a->half && charrnn_sampler_use_half(s, &err)) cli_die_err(&err);
    if (a->prime && a->plen) {
        long skipped = 0;
        uint32_t ex[8];
        int nex = 0;
        if (charrnn_sampler_prime(s, a->prime, a->plen, &skipped, ex, 8, &nex, &err)) cli_die_err(&err);
        if (skipped && warn) {
            char list[512];
            cli_describe_chars(ex, nex, a->unit, list, sizeof list);
            fprintf(stderr, "warning: %ld character(s) of the prime text are not in the model's vocabulary and were skipped: %s\n",
                    skipped, list);
        }
    }
    return s;
}

/* One sample streamed to stdout. Returns the characters generated. */
static long stream_one(const sample_args *a, uint64_t seed, int warn) {
    charrnn_sampler *s = open_sampler(a, 1, seed, warn);
    charrnn_error err = {0};
    progress_of p = {.lines = a->prime_lines};
    if (a->prime) out_write(a->prime, a->plen);
    long i = 0;
    while (i < a->length && !sig_stop_requested()) {
        uint32_t c;
        if (charrnn_sampler_draw(s, &c, &err)) {
            out_finish();
            cli_die_err(&err);
        }
        i++;
        out_char(c, a->unit);
        if (c == '\n') out_finish();
        if (advance(a, &p, c)) break;
    }
    charrnn_sampler_close(s);
    return i;
}

/* n samples generated together, held in memory (n * length <= BATCH_CHARS),
 * then printed. Returns the longest sample's length. */
static long batch(const sample_args *a, int n, int first, uint64_t seed) {
    charrnn_sampler *s = open_sampler(a, n, seed, first == 0);
    charrnn_error err = {0};
    uint32_t *out = malloc(sizeof(uint32_t) * (size_t)n);
    uint32_t *all = malloc(sizeof(uint32_t) * (size_t)n * (size_t)a->length);
    long *len = calloc((size_t)n, sizeof(long));
    progress_of *p = calloc((size_t)n, sizeof *p);
    if (!out || !all || !len || !p) cli_die(1, "out of memory for %d samples of %ld characters", n, a->length);
    for (int j = 0; j < n; j++) p[j].lines = a->prime_lines;
    long i = 0;
    int left = n;
    for (; i < a->length && left && !sig_stop_requested(); i++) {
        if (charrnn_sampler_draw(s, out, &err)) cli_die_err(&err);
        for (int j = 0; j < n; j++) {
            if (p[j].done) continue;
            all[(size_t)j * a->length + len[j]++] = out[j];
            if (advance(a, &p[j], out[j])) left--;
        }
    }
    for (int j = 0; j < n; j++) {
        out_printf("%s--- sample %d ---\n", first + j ? "\n" : "", first + j + 1);
        if (a->prime) out_write(a->prime, a->plen);
        for (long k = 0; k < len[j]; k++) out_char(all[(size_t)j * a->length + k], a->unit);
    }
    free(all);
    free(out);
    free(len);
    free(p);
    charrnn_sampler_close(s);
    return i;
}

/* --beam: the most likely continuation, cut at a stop string or line limit. */
static long beam(const sample_args *a, int width) {
    if (a->length > 100000) cli_die(2, "--beam searches at most 100000 characters; give a smaller --length");
    uint32_t *out = malloc(sizeof(uint32_t) * (size_t)(a->length ? a->length : 1));
    if (!out) cli_die(1, "out of memory");
    double lp;
    charrnn_error err = {0};
    double t0 = now_s();
    if (charrnn_beam_search(a->m, a->prime ? a->prime : "", a->plen, width, a->length, out, &lp, &err)) cli_die_err(&err);
    sig_install("stopping", 0); /* the search is done: its result is printed whole, then a stop ends the command */
    if (a->prime) out_write(a->prime, a->plen);
    progress_of p = {.lines = a->prime_lines};
    long n = 0;
    while (n < a->length) {
        out_char(out[n], a->unit);
        if (advance(a, &p, out[n++])) break;
    }
    fprintf(stderr, "beam %d: %ld characters, total log-probability %.4f nats (%.4f bits, %.4f nats per character) in %.2f s\n",
            width, a->length, lp, lp / log(2.0), a->length ? lp / a->length : 0.0, now_s() - t0);
    free(out);
    return n;
}

/* --interactive: a line in, a continuation out, the state carried on (or reset
 * on "/reset"); on a terminal with a prompt, through a pipe without one. */
static void interactive(const sample_args *a) {
    int tty = isatty(0);
    if (tty)
        fprintf(stderr, "type text and Enter: the model continues it (state carried; /reset forgets, /quit or Ctrl-D ends)\n");
    sample_args b = *a;
    if (!b.max_lines && !b.num_stop) b.max_lines = 1; /* a reply is a line unless asked otherwise */
    charrnn_sampler *s = open_sampler(&b, 1, b.seed, 1);
    charrnn_error err = {0};
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (sig_stop_requested()) break; /* asked during the last reply: no more waiting for input */
        if (tty) { fputs("> ", stderr); fflush(stderr); }
        sig_interrupt_waits(1); /* a stop while waiting for a line ends the wait */
        ssize_t n = getline(&line, &cap, stdin);
        sig_interrupt_waits(0);
        if (n < 0 || sig_stop_requested()) break;
        if (n && line[n - 1] == '\n') line[--n] = 0;
        if (!strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            charrnn_sampler_close(s);
            s = open_sampler(&b, 1, b.seed, 1);
            fprintf(stderr, "(state reset)\n");
            continue;
        }
        long skipped = 0;
        if (n && charrnn_sampler_prime(s, line, (size_t)n, &skipped, NULL, 0, NULL, &err)) {
            fprintf(stderr, "charrnn: %s\n", err.msg);
            continue;
        }
        out_write(line, (size_t)n);
        progress_of p = {0};
        for (long i = 0; i < b.length && !sig_stop_requested(); i++) {
            uint32_t c;
            if (charrnn_sampler_draw(s, &c, &err)) cli_die_err(&err);
            out_char(c, b.unit);
            if (advance(&b, &p, c)) break;
        }
        out_end_line();
        out_finish();
    }
    free(line);
    charrnn_sampler_close(s);
}

/* --stop's text with \n, \t and \\ decoded, into a copy. */
static char *decode_stop(const char *s, size_t *len) {
    size_t n = strlen(s), k = 0;
    char *o = malloc(n + 1);
    if (!o) cli_die(1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && strchr("nt\\", s[i + 1])) {
            i++;
            o[k++] = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : '\\';
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = 0;
    *len = k;
    return o;
}

/* Samples from an n-gram model (charrnn ngram --save): one after another,
 * sample j from seed + j, each streamed. */
static int sample_ngram(const char *path, const sample_args *a, int num, int verbose) {
    if (a->half) cli_die(2, "--half is for network checkpoints; %s is an n-gram model", path);
    charrnn_error err = {0};
    charrnn_ngram *g;
    if (charrnn_ngram_load(&g, path, &err)) cli_die_err(&err);
    charrnn_ngram_info info;
    charrnn_ngram_get_info(g, &info);
    charrnn_ngram_sampler *s;
    if (a->prime && a->plen) { /* any prime error before any output, and its warning once */
        long skipped = 0;
        uint32_t ex[8];
        int nex = 0;
        if (charrnn_ngram_sampler_open(&s, g, a->seed, &err) ||
            charrnn_ngram_sampler_prime(s, a->prime, a->plen, &skipped, ex, 8, &nex, &err))
            cli_die_err(&err);
        charrnn_ngram_sampler_close(s);
        if (skipped) {
            char list[512];
            cli_describe_chars(ex, nex, info.unit, list, sizeof list);
            fprintf(stderr, "warning: %ld character(s) of the prime text are not in the model's vocabulary and were skipped: %s\n",
                    skipped, list);
        }
    }
    if (verbose)
        fprintf(stderr, "%s: order %d n-gram model (interpolated modified Kneser-Ney), vocabulary %d, temperature %s, seed %llu\n",
                path, info.order, info.vocab_size, CLI_NUMF(a->cfg.temperature), (unsigned long long)a->seed);
    sig_install("stopping", 0);
    double t0 = now_s();
    long per = 0;
    for (int j = 0; j < num && !sig_stop_requested(); j++) {
        if (num > 1) out_printf("%s--- sample %d ---\n", j ? "\n" : "", j + 1);
        if (charrnn_ngram_sampler_open(&s, g, a->seed + (uint64_t)j, &err)) cli_die_err(&err);
        if (a->prime && a->plen) {
            if (charrnn_ngram_sampler_prime(s, a->prime, a->plen, NULL, NULL, 0, NULL, &err)) cli_die_err(&err);
            out_write(a->prime, a->plen);
        }
        for (per = 0; per < a->length && !sig_stop_requested(); per++) {
            uint32_t c;
            if (charrnn_ngram_sampler_next(s, a->cfg.temperature, &c, &err)) {
                out_finish();
                cli_die_err(&err);
            }
            out_char(c, info.unit);
            if (c == '\n') out_finish();
        }
        charrnn_ngram_sampler_close(s);
    }
    out_end_line();
    out_finish();
    double el = now_s() - t0;
    int rc = 0;
    if (sig_stop_requested()) {
        fprintf(stderr, "charrnn: stopped by %s after %ld characters\n", sig_name(sig_stop_requested()), per);
        rc = 128 + sig_stop_requested();
    } else if (verbose && a->length > 0) {
        fprintf(stderr, "generated %ld x %d characters in %.3f s (%.0f chars/s)\n", a->length, num, el,
                (double)a->length * num / (el > 0 ? el : 1e-9));
    }
    charrnn_ngram_close(g);
    return rc;
}

int cmd_sample(int argc, char **argv) {
    long length = 2000, max_lines = 0;
    double temperature = 1.0, top_p = 1.0, min_p = 0.0, rep = 1.0;
    const char *primetext = NULL, *prime_file = NULL;
    uint64_t seed = 123;
    int precision = 0;
    const char *device = NULL, *gpuid = NULL;
    int verbose = 1, num = 1, threads = 0, half = 0, sample = 1, top_k = 0, window = 64, beam_width = 0, inter = 0;
    int dynamic = 0;
    charrnn_dynamic_options dyn;
    charrnn_dynamic_options_default(&dyn);
    opt_multi stops = {{0}, 0};
    optdef opts[] = {
        {"length", O_LONG, &length, "[0,inf)", "characters to generate (default 2000)", 0},
        {"temperature", O_DOUBLE, &temperature, "0|[1e-6,1e6]", "sampling temperature; 0 = always the likeliest (default 1)", 0},
        {"top-k", O_INT, &top_k, "[0,inf)", "draw only from the K likeliest characters (default 0: all)", 0},
        {"top-p", O_DOUBLE, &top_p, "(0,1]", "draw only from the likeliest characters holding P of the probability (default 1: all)", 0},
        {"min-p", O_DOUBLE, &min_p, "[0,1)", "drop characters below P x the likeliest one's probability (default 0: none)", 0},
        {"repetition-penalty", O_DOUBLE, &rep, "[1,1e6]", "make recently seen characters less likely, e.g. 1.3 (default 1: off)", 0},
        {"repetition-window", O_INT, &window, "[1,4096]", "how many recent characters the penalty counts (default 64)", 0},
        {"beam", O_INT, &beam_width, "[0,256]", "the most likely continuation by beam search of this width (log-probability on stderr)", 0},
        {"stop", O_MULTI, &stops, 0, "end a sample when it generates this text (repeatable; \\n, \\t, \\\\ understood)", 0},
        {"max-lines", O_LONG, &max_lines, "[0,inf)", "print exactly N lines per sample, the prime's lines among them, as head -n N (default 0: no limit)", 0},
        {"primetext", O_STR, &primetext, 0, "text to start from (UTF-8)", 0},
        {"prime-file", O_STR, &prime_file, 0, "file whose text to start from (- : standard input)", 0},
        {"dynamic", O_FLAG, &dynamic, 0, "adapt the model to the prime text first (dynamic evaluation), then sample", 0},
        {"dynamic-lr", O_DOUBLE, &dyn.learning_rate, "[0,1)", "with --dynamic: the step size (default 3e-5)", 0},
        {"seed", O_U64, &seed, 0, "random seed (default 123)", 0},
        {"num-samples", O_INT, &num, "[1,100000]", "independent samples, printed one after another (default 1)", 0},
        {"interactive", O_FLAG, &inter, 0, "a prompt loop: each line typed (or piped) is continued, the state carried on", 0},
        {"verbose", O_INT, &verbose, "0|1", "1: describe the model on stderr; 0: only the text", 0},
        {"half", O_INT, &half, "0|1", "1: weights in half precision, faster on large models, slightly different samples", 0},
        {"precision", O_CHOICE, &precision, CLI_PRECISION_CHOICES, CLI_PRECISION_HELP, 0},
        {"sample", O_INT, &sample, "0|1", "char-rnn's switch: 0 = always the likeliest (as --temperature 0)", 0},
        {"threads", O_INT, &threads, "[0,4096]", "threads for BLAS and loops", 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, CLI_DEVICE_HELP, 0},
        {"gpuid", O_IGNORED, &gpuid, 0, "char-rnn's GPU number: -gpuid N is --device cuda:N, -1 the CPU", 0},
        {"opencl", O_IGNORED, NULL, 0, "charrnn has no OpenCL backend (--device cuda runs on NVIDIA GPUs)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "sample", "sample CHECKPOINT [options]", opts, pos, 1);
    /* every value is checked before any output */
    if (np < 1) cli_die(2, "sample needs a checkpoint: charrnn sample cv/best.safetensors");
    if (primetext && prime_file) cli_die(2, "give --primetext or --prime-file, not both");
    if (beam_width && (num > 1 || inter)) cli_die(2, "--beam finds the one likeliest continuation; it takes no --num-samples or --interactive");
    if (!sample) temperature = 0;
    if (dynamic && !primetext && !prime_file) cli_die(2, "--dynamic adapts the model to the prime text: give --primetext or --prime-file");
    sample_args a = {0};
    for (int k = 0; k < stops.n; k++) {
        a.stop[k] = decode_stop(stops.values[k], &a.stop_len[k]);
        if (a.stop_len[k] == 0 || a.stop_len[k] > MAX_STOP)
            cli_die(2, "--stop '%s' is out of range; use 1 to %d bytes of text", stops.values[k], MAX_STOP);
    }
    a.num_stop = stops.n;
    a.max_lines = max_lines;
    cli_set_threads(threads);
    const char *dev = cli_device(device, gpuid);
    if (half && !strcmp(dev, "auto")) dev = "cpu"; /* the half-precision weights are the CPU's */
    cli_check_precision(precision, dev);
    char *prime = NULL;
    size_t plen = 0;
    if (prime_file) prime = cli_read_input(prime_file, &plen);
    else if (primetext) { prime = strdup(primetext); plen = strlen(primetext); }
    for (size_t i = 0; i < plen; i++) a.prime_lines += prime[i] == '\n';
    if (max_lines && !inter && a.prime_lines >= max_lines)
        cli_die(2, "--max-lines %ld leaves no line to generate: the prime text has %ld line%s already (its lines count "
                "toward the N lines printed); give a larger --max-lines or a shorter prime", max_lines, a.prime_lines,
                a.prime_lines == 1 ? "" : "s");
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_file_kind(pos[0]) == CHARRNN_FILE_NGRAM) {
        if (beam_width || inter || dynamic || top_k || top_p < 1 || min_p > 0 || rep != 1 || stops.n || max_lines ||
            opt_given(opts, &window) || opt_given(opts, &dyn.learning_rate))
            cli_die(2, "%s is an n-gram model: it samples with --temperature, --length, --primetext, --seed and "
                    "--num-samples only", pos[0]);
        if (opt_given(opts, &precision))
            fprintf(stderr, "note: --precision is ignored: %s is an n-gram model, which does no matrix products\n", pos[0]);
        if (device || gpuid)
            fprintf(stderr, "note: --device is ignored: %s is an n-gram model, which counts on the CPU\n", pos[0]);
        a.prime = prime;
        a.plen = plen;
        a.cfg.temperature = (float)temperature;
        a.length = length;
        a.seed = seed;
        a.half = half;
        int rc = sample_ngram(pos[0], &a, num, verbose);
        for (int k = 0; k < a.num_stop; k++) free((void *)a.stop[k]);
        free(prime);
        return rc;
    }
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    if (opt_given(opts, &dyn.learning_rate) && !dynamic)
        fprintf(stderr, "note: --dynamic-lr is ignored: it applies to --dynamic, which was not given\n");
    if (opt_given(opts, &window) && rep == 1)
        fprintf(stderr, "note: --repetition-window is ignored: it applies to --repetition-penalty, which is 1 (off)\n");
    /* auto decides for this work: one step at a time of the samples (or beams) drawn side by side;
     * --half's one-row products use the half-precision weights whatever the precision */
    charrnn_model_set_workload(m, beam_width > 1 ? beam_width : num, 1, 0);
    cli_set_device(m, dev, verbose ? 2 : 0);
    if (half && precision == CHARRNN_PRECISION_AUTO) {
        if (charrnn_model_set_precision(m, CHARRNN_PRECISION_FP32, &err)) cli_die_err(&err);
        if (verbose && charrnn_bf16_supported())
            fprintf(stderr, "precision: fp32 (auto: --half 1 draws from the half-precision weights)\n");
    } else {
        cli_set_precision(m, precision, verbose ? 2 : 0);
    }
    charrnn_model_info info;
    charrnn_model_get_info(m, &info);
    if (dynamic && plen) {
        charrnn_eval_result d;
        if (charrnn_model_adapt(m, prime, plen, "the prime text", &dyn, NULL, NULL, &d, &err)) cli_die_err(&err);
        if (verbose)
            fprintf(stderr, "adapted to the prime text (%ld characters): %.4f bpc while reading it\n", d.predicted + 1, d.bpc);
    }
    a.m = m;
    a.unit = info.unit;
    a.prime = prime;
    a.plen = plen;
    a.length = length;
    a.seed = seed;
    a.half = half;
    charrnn_sample_config_default(&a.cfg);
    a.cfg.temperature = (float)temperature;
    a.cfg.top_k = top_k;
    a.cfg.top_p = (float)top_p;
    a.cfg.min_p = (float)min_p;
    a.cfg.repetition_penalty = (float)rep;
    a.cfg.repetition_window = window;
    if (charrnn_sample_config_check(&a.cfg, &err)) cli_die_err(&err);
    if (prime && plen && !inter) charrnn_sampler_close(open_sampler(&a, 1, seed, 0)); /* any prime error before any output */
    if (verbose && !inter)
        fprintf(stderr, "%s: %d x %d %s, vocabulary %d, trained %ld iterations, temperature %s, seed %llu\n", pos[0],
                info.config.num_layers, info.config.rnn_size, charrnn_cell_name(info.config.cell), info.vocab_size,
                info.iteration, CLI_NUM(temperature), (unsigned long long)seed);
    /* beam search cannot stop midway: until its result is printed, a stop signal ends the process at once
     * (nothing is written before it) */
    if (!beam_width) sig_install("stopping", 0);
    double t0 = now_s();
    long per = 0;
    if (inter) {
        interactive(&a);
    } else if (beam_width) {
        per = beam(&a, beam_width);
    } else if (num == 1) {
        per = stream_one(&a, seed, 1);
    } else {
        /* batches of k samples whose text fits the budget; k = 1 streams each */
        long k = length > 0 ? (long)(BATCH_CHARS / (size_t)length) : num;
        if (k > num) k = num;
        if (k < 1) k = 1;
        for (int first = 0; first < num && !sig_stop_requested(); first += (int)k) {
            int n = num - first < k ? num - first : (int)k;
            uint64_t bseed = seed + (uint64_t)(first / k);
            if (n == 1 && k == 1) {
                out_printf("%s--- sample %d ---\n", first ? "\n" : "", first + 1);
                per = stream_one(&a, bseed, first == 0);
            } else {
                per = batch(&a, n, first, bseed);
            }
        }
    }
    if (!inter) out_end_line(); /* the last line ends; with --max-lines N the text already has its N lines */
    out_finish();
    double el = now_s() - t0;
    int rc = 0;
    if (sig_stop_requested()) {
        fprintf(stderr, "charrnn: stopped by %s after %ld characters\n", sig_name(sig_stop_requested()), per);
        rc = 128 + sig_stop_requested();
    } else if (verbose && length > 0 && !inter && !beam_width) {
        fprintf(stderr, "generated %ld x %d characters in %.3f s (%.0f chars/s)\n", per, num, el,
                (double)per * num / (el > 0 ? el : 1e-9));
    }
    for (int k = 0; k < a.num_stop; k++) free((void *)a.stop[k]);
    free(prime);
    charrnn_model_close(m);
    return rc;
}
