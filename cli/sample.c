/* sample.c: `charrnn sample`: text from a model (a network checkpoint or an
 * n-gram model of `charrnn ngram --save`), streamed to stdout as it is
 * generated. Nothing is sized from --length: one sample streams; several are
 * generated as batches of streams whose text is held only while it fits a
 * fixed budget (beyond it, one at a time, streamed). Ctrl-C stops with what
 * was generated flushed. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "signals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_CHARS (16u << 20) /* characters held for a batch of samples (64 MB) */

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
    double temperature;
    long length;
    uint64_t seed;
    int half;
} sample_args;

static charrnn_sampler *open_sampler(const sample_args *a, int n, uint64_t seed) {
    charrnn_error err = {0};
    charrnn_sampler *s;
    if (charrnn_sampler_open(&s, a->m, n, seed, &err)) cli_die_err(&err);
    if (a->half && charrnn_sampler_use_half(s, &err)) cli_die_err(&err);
    if (a->prime && a->plen) {
        long skipped = 0;
        uint32_t ex[8];
        int nex = 0;
        if (charrnn_sampler_prime(s, a->prime, a->plen, &skipped, ex, 8, &nex, &err)) cli_die_err(&err);
        if (skipped && seed == a->seed) { /* warn once, not for every batch */
            char list[512];
            cli_describe_chars(ex, nex, a->unit, list, sizeof list);
            fprintf(stderr, "warning: %ld character(s) of the prime text are not in the model's vocabulary and were skipped: %s\n",
                    skipped, list);
        }
    }
    return s;
}

/* One sample streamed to stdout. Returns the characters generated. */
static long stream_one(const sample_args *a, uint64_t seed) {
    charrnn_sampler *s = open_sampler(a, 1, seed);
    charrnn_error err = {0};
    if (a->prime) out_write(a->prime, a->plen);
    long i = 0;
    for (; i < a->length && !sig_stop_requested(); i++) {
        uint32_t c;
        if (charrnn_sampler_next(s, (float)a->temperature, &c, &err)) {
            out_finish();
            cli_die_err(&err);
        }
        out_char(c, a->unit);
        if (c == '\n') out_finish();
    }
    charrnn_sampler_close(s);
    return i;
}

/* n samples generated together, held in memory (n * length <= BATCH_CHARS),
 * then printed. Returns the characters generated per sample. */
static long batch(const sample_args *a, int n, int first, uint64_t seed) {
    charrnn_sampler *s = open_sampler(a, n, seed);
    charrnn_error err = {0};
    uint32_t *out = malloc(sizeof(uint32_t) * (size_t)n);
    uint32_t *all = malloc(sizeof(uint32_t) * (size_t)n * (size_t)a->length);
    if (!out || !all) cli_die(1, "out of memory for %d samples of %ld characters", n, a->length);
    long i = 0;
    for (; i < a->length && !sig_stop_requested(); i++) {
        if (charrnn_sampler_next(s, (float)a->temperature, out, &err)) cli_die_err(&err);
        for (int j = 0; j < n; j++) all[(size_t)j * a->length + i] = out[j];
    }
    for (int j = 0; j < n; j++) {
        out_printf("%s--- sample %d ---\n", first + j ? "\n" : "", first + j + 1);
        if (a->prime) out_write(a->prime, a->plen);
        for (long k = 0; k < i; k++) out_char(all[(size_t)j * a->length + k], a->unit);
    }
    free(all);
    free(out);
    charrnn_sampler_close(s);
    return i;
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
        fprintf(stderr, "%s: order %d n-gram model (interpolated modified Kneser-Ney), vocabulary %d, temperature %g, seed %llu\n",
                path, info.order, info.vocab_size, a->temperature, (unsigned long long)a->seed);
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
            if (charrnn_ngram_sampler_next(s, (float)a->temperature, &c, &err)) {
                out_finish();
                cli_die_err(&err);
            }
            out_char(c, info.unit);
            if (c == '\n') out_finish();
        }
        charrnn_ngram_sampler_close(s);
    }
    out_printf("\n");
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
    long length = 2000;
    double temperature = 1.0;
    const char *primetext = NULL, *prime_file = NULL;
    uint64_t seed = 123;
    int verbose = 1, num = 1, threads = 0, half = 0, sample = 1;
    optdef opts[] = {
        {"length", O_LONG, &length, 0, "characters to generate (default 2000)", 0},
        {"temperature", O_DOUBLE, &temperature, 0, "sampling temperature; 0 = always the likeliest (default 1)", 0},
        {"primetext", O_STR, &primetext, 0, "text to start from (UTF-8)", 0},
        {"prime-file", O_STR, &prime_file, 0, "file whose text to start from (- : standard input)", 0},
        {"seed", O_U64, &seed, 0, "random seed (default 123)", 0},
        {"num-samples", O_INT, &num, 0, "independent samples generated together (default 1)", 0},
        {"verbose", O_INT, &verbose, 0, "1: describe the model on stderr; 0: only the text", 0},
        {"half", O_INT, &half, 0, "1: weights in half precision, ~2x faster on large models, slightly different samples", 0},
        {"sample", O_INT, &sample, 0, "char-rnn's switch: 0 = always the likeliest (as --temperature 0)", 0},
        {"threads", O_INT, &threads, 0, "threads for BLAS and loops", 0},
        {"gpuid", O_IGNORED, NULL, 0, "charrnn runs on the CPU", 0},
        {"opencl", O_IGNORED, NULL, 0, "charrnn runs on the CPU", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "sample", "sample CHECKPOINT [options]", opts, pos, 1);
    /* every value is checked before any output */
    if (np < 1) cli_die(2, "sample needs a checkpoint: charrnn sample cv/best.safetensors");
    if (length < 0) cli_die(2, "--length %ld is out of range; use 0 or more characters", length);
    if (!(temperature == 0 || (temperature >= 1e-6 && temperature <= 1e6)))
        cli_die(2, "--temperature %g is out of range; use 0 (argmax) or a value from 1e-6 to 1e6, such as 1", temperature);
    if (num < 1 || num > 100000) cli_die(2, "--num-samples %d is out of range; use 1 to 100000", num);
    if (primetext && prime_file) cli_die(2, "give --primetext or --prime-file, not both");
    if (half != 0 && half != 1) cli_die(2, "--half %d is out of range; use 1 (half-precision weights) or 0", half);
    if (sample != 0 && sample != 1) cli_die(2, "--sample %d is out of range; use 1 (draw) or 0 (the likeliest)", sample);
    if (verbose != 0 && verbose != 1) cli_die(2, "--verbose %d is out of range; use 1 or 0", verbose);
    if (!sample) temperature = 0;
    cli_set_threads(threads);
    char *prime = NULL;
    size_t plen = 0;
    if (prime_file) prime = cli_read_input(prime_file, &plen);
    else if (primetext) { prime = strdup(primetext); plen = strlen(primetext); }
    charrnn_error err = {0};
    charrnn_model *m;
    int lrc = charrnn_model_load(&m, pos[0], &err);
    if (lrc == CHARRNN_EMISMATCH) { /* an n-gram model, not a network */
        sample_args a = {NULL, 0, prime, plen, temperature, length, seed, half};
        int rc = sample_ngram(pos[0], &a, num, verbose);
        free(prime);
        return rc;
    }
    if (lrc) cli_die_err(&err);
    charrnn_model_info info;
    charrnn_model_get_info(m, &info);
    sample_args a = {m, info.unit, prime, plen, temperature, length, seed, half};
    if (prime && plen) charrnn_sampler_close(open_sampler(&a, 1, seed)); /* any prime error before any output */
    if (verbose)
        fprintf(stderr, "%s: %d x %d %s, vocabulary %d, trained %ld iterations, temperature %g, seed %llu\n", pos[0],
                info.config.num_layers, info.config.rnn_size, charrnn_cell_name(info.config.cell), info.vocab_size,
                info.iteration, temperature, (unsigned long long)seed);
    sig_install("stopping", 0);
    double t0 = now_s();
    long per = 0;
    if (num == 1) {
        per = stream_one(&a, seed);
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
                per = stream_one(&a, bseed);
            } else {
                per = batch(&a, n, first, bseed);
            }
        }
    }
    out_printf("\n");
    out_finish();
    double el = now_s() - t0;
    int rc = 0;
    if (sig_stop_requested()) {
        fprintf(stderr, "charrnn: stopped by %s after %ld characters\n", sig_name(sig_stop_requested()), per);
        rc = 128 + sig_stop_requested();
    } else if (verbose && length > 0) {
        fprintf(stderr, "generated %ld x %d characters in %.3f s (%.0f chars/s)\n", length, num, el,
                (double)length * num / (el > 0 ? el : 1e-9));
    }
    free(prime);
    charrnn_model_close(m);
    return rc;
}
