/* ngram.c: `charrnn ngram`: the baseline a network has to beat. Counts an
 * interpolated modified Kneser-Ney character model on the training block of
 * a file (the block and vocabulary `charrnn train` uses with the same
 * options), prints its loss on the validation and test blocks, and can save
 * it (for charrnn eval and charrnn sample) and sample from it. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "progress.h"
#include "signals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Stops (exit 128 + the signal) when a stop was asked, saying in which phase
 * and whether the --save file was written. Called in every phase and between
 * phases, so that no phase runs on after a stop request. */
static const char *save_path; /* --save, NULL when not given */
static int saved;
static void stop_point(const char *phase) {
    if (!save_path) cli_stop_point("%s", phase);
    else if (saved) cli_stop_point("%s; %s was saved before the stop and is complete", phase, save_path);
    else cli_stop_point("%s; %s was not written", phase, save_path);
}

/* "val: 1.2345 nats, 1.7810 bpc over N predicted characters", or why there is none. */
static void print_block(const charrnn_ngram *g, charrnn_block block, const char *label, size_t chars) {
    charrnn_error err = {0};
    charrnn_eval_result r;
    progress bar;
    progress_init(&bar, "chars");
    bar.label = label;
    int rc = charrnn_ngram_evaluate_block(g, block, cli_progress, &bar, &r, &err);
    progress_clear(&bar);
    if (rc == CHARRNN_ECANCELED) stop_point(block == CHARRNN_BLOCK_VAL ? "while evaluating the validation block"
                                                                      : "while evaluating the test block");
    if (rc == CHARRNN_EDATA) {
        out_printf("%s: none (the block has %zu character%s; lower --train-frac or --val-frac to keep one)\n", label,
                   chars, chars == 1 ? "" : "s");
        return;
    }
    if (rc) cli_die_err(&err);
    out_printf("%s: %.4f nats, %.4f bpc over %ld predicted characters\n", label, r.nats, r.bpc, r.predicted);
}

static void sample(const charrnn_ngram *g, charrnn_unit unit, long length, double temperature, uint64_t seed,
                   const char *prime) {
    charrnn_error err = {0};
    charrnn_ngram_sampler *s;
    if (charrnn_ngram_sampler_open(&s, g, seed, &err)) cli_die_err(&err);
    size_t plen = prime ? strlen(prime) : 0;
    if (plen) {
        long skipped = 0;
        uint32_t ex[8];
        int nex = 0;
        if (charrnn_ngram_sampler_prime(s, prime, plen, &skipped, ex, 8, &nex, &err)) cli_die_err(&err);
        if (skipped) {
            char list[512];
            cli_describe_chars(ex, nex, unit, list, sizeof list);
            fprintf(stderr, "warning: %ld character(s) of the prime text are not in the model's vocabulary and were skipped: %s\n",
                    skipped, list);
        }
    }
    out_printf("--- sample: %ld characters, temperature %s, seed %llu ---\n", length, CLI_NUM(temperature), (unsigned long long)seed);
    if (plen) out_write(prime, plen);
    for (long i = 0; i < length && !sig_stop_requested(); i++) {
        uint32_t c;
        if (charrnn_ngram_sampler_next(s, (float)temperature, &c, &err)) cli_die_err(&err);
        out_char(c, unit);
    }
    out_end_line();
    charrnn_ngram_sampler_close(s);
    stop_point("while sampling");
}

int cmd_ngram(int argc, char **argv) {
    charrnn_ngram_options o;
    charrnn_ngram_options_default(&o);
    int unit = o.unit, threads = 0;
    const char *save = NULL, *primetext = NULL;
    long sample_length = 0;
    double temperature = 1.0;
    uint64_t seed = 123;
    optdef opts[] = {
        {"order", O_INT, &o.order, "[1," CLI_STR(CHARRNN_NGRAM_MAX_ORDER) "]", "n: every character is predicted from the n-1 before it (default 10; 1 to 32)", 0},
        {"unit", O_CHOICE, &unit, "codepoint|byte", "what a character is (default codepoint: UTF-8 decoded)", 0},
        {"train-frac", O_DOUBLE, &o.train_frac, 0, "fraction of the text that is counted, as train's (default 0.95)", 0},
        {"val-frac", O_DOUBLE, &o.val_frac, 0, "fraction for validation (default 0.05); the rest is test", 0},
        {"save", O_STR, &save, 0, "write the model to this file, for charrnn eval and charrnn sample", 0},
        {"sample", O_LONG, &sample_length, "[0,inf)", "generate this many characters from it (default 0)", 0},
        {"temperature", O_DOUBLE, &temperature, "0|[1e-6,1e6]", "sampling temperature; 0 = always the likeliest (default 1)", 0},
        {"primetext", O_STR, &primetext, 0, "text the sample starts from (UTF-8)", 0},
        {"seed", O_U64, &seed, 0, "random seed of the sample (default 123)", 0},
        {"threads", O_INT, &threads, "[0,4096]", "threads for the evaluation", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "ngram", "ngram FILE [options]   (FILE - : standard input)", opts, pos, 1);
    /* every value is checked before anything is read */
    if (np < 1) cli_die(2, "ngram needs a text file: charrnn ngram input.txt --order 10");
    if (!sample_length)
        for (const optdef *q = opts; q->name; q++)
            if (q->given && (q->dst == &temperature || q->dst == &primetext || q->dst == &seed))
                fprintf(stderr, "note: --%s is ignored: it applies to --sample N, which was not given\n", q->name);
    o.unit = (charrnn_unit)unit;
    cli_check_input(pos[0]);
    if (save) cli_check_output(save, "--save", 0, pos, 1);
    cli_set_threads(threads);

    const char *file = pos[0], *text = NULL;
    char *stdin_text = NULL;
    size_t len = 0;
    if (!strcmp(file, "-")) text = stdin_text = cli_read_input("-", &len);
    sig_install("stopping", 0);
    charrnn_error err = {0};
    charrnn_ngram *g;
    progress bar;
    progress_init(&bar, "chars");
    bar.label = "counting";
    double t0 = now_s();
    int rc = charrnn_ngram_build(&g, text ? cli_input_name(file) : file, text, len, &o, cli_progress, &bar, &err);
    progress_clear(&bar);
    free(stdin_text);
    save_path = save;
    if (rc == CHARRNN_ECANCELED) stop_point("while counting");
    if (rc) cli_die_err(&err);
    double secs = now_s() - t0;

    charrnn_ngram_info in;
    charrnn_ngram_get_info(g, &in);
    fprintf(stderr, "corpus: %zu characters (%s), vocabulary %d; train %zu, val %zu, test %zu\n", in.corpus_chars,
            in.unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points", in.vocab_size, in.train_chars, in.val_chars,
            in.test_chars);
    fprintf(stderr, "order %d interpolated modified Kneser-Ney: %zu n-grams counted in %.1f s (%.0f MB)\n", in.order,
            in.num_ngrams, secs, in.memory_bytes / 1e6);
    fprintf(stderr, "n-grams of order");
    for (int k = 1; k <= in.order; k++) fprintf(stderr, " %d: %zu%s", k, charrnn_ngram_order_info(g, k, NULL), k < in.order ? "," : "\n");
    stop_point("after counting");
    print_block(g, CHARRNN_BLOCK_VAL, "val", in.val_chars);
    stop_point("after evaluating the validation block");
    print_block(g, CHARRNN_BLOCK_TEST, "test", in.test_chars);
    stop_point("after evaluating the test block");
    if (save) {
        int held = cli_hold_fifo(save); /* a FIFO: wait for its reader here, where a stop signal ends the wait */
        if (charrnn_ngram_save(g, save, &err)) cli_die_err(&err);
        if (held >= 0) close(held);
        saved = 1;
        char q[4200];
        struct stat st;
        if (stat(save, &st) == 0 && !S_ISREG(st.st_mode)) fprintf(stderr, "wrote the model into %s\n", save);
        else fprintf(stderr, "saved %s; use it with charrnn eval %s FILE, or charrnn sample %s\n", save,
                     cli_shell_quote(save, q, sizeof q), q);
        stop_point("while saving");
    }
    if (sample_length > 0) sample(g, in.unit, sample_length, temperature, seed, primetext);
    charrnn_ngram_close(g);
    return 0;
}
