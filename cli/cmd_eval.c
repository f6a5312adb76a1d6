/* eval.c: `charrnn eval` (the loss of a model on a text, or on one block of it
 * cut as training cut its corpus) and `charrnn info` (what a checkpoint holds),
 * for network checkpoints and for the n-gram models of `charrnn ngram --save`
 * alike. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "progress.h"
#include "runlog.h"
#include "signals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void warn_unknown(const charrnn_eval_result *r, const char *name, charrnn_unit unit) {
    if (!r->unknown) return;
    char list[512];
    cli_describe_chars(r->unknown_examples, r->num_unknown_examples, unit, list, sizeof list);
    fprintf(stderr, "warning: %ld character(s) of %s are not in the model's vocabulary and were skipped, e.g. %s\n",
            r->unknown, name, list);
}

/* --split's values, in its choice order: all, then the blocks of charrnn_block */
#define SPLIT_CHOICES "all|train|val|test"
static const char *const SPLIT_NAMES[] = {"all", "train", "val", "test"};

static void print_result(const charrnn_eval_result *r, const char *name, int split) {
    out_printf("%s%s%s%s: %.4f nats, %.4f bpc over %ld predicted characters (%ld unknown skipped; %d stream%s)\n", name,
               split ? " (" : "", split ? SPLIT_NAMES[split] : "", split ? " block)" : "", r->nats, r->bpc, r->predicted,
               r->unknown, r->streams, r->streams == 1 ? "" : "s");
}

/* eval of an n-gram model: by default the whole text as one stream (exact). */
static int eval_ngram(const char *path, const char *input, int streams, int split) {
    charrnn_error err = {0};
    charrnn_ngram *g;
    if (charrnn_ngram_load(&g, path, &err)) cli_die_err(&err);
    sig_install("stopping", 0);
    size_t len;
    char *text = cli_read_input(input, &len);
    const char *name = cli_input_name(input);
    charrnn_eval_result r;
    progress bar;
    progress_init(&bar, "chars");
    bar.label = "eval";
    int rc = split ? charrnn_ngram_evaluate_split(g, text, len, name, (charrnn_block)(split - 1), streams, cli_progress,
                                                  &bar, &r, &err)
                   : charrnn_ngram_evaluate(g, text, len, name, streams, cli_progress, &bar, &r, &err);
    progress_clear(&bar);
    if (rc == CHARRNN_ECANCELED) {
        fprintf(stderr, "charrnn: stopped by %s after %ld of the characters; no result\n", sig_name(sig_stop_requested()),
                r.predicted);
        free(text);
        charrnn_ngram_close(g);
        return 128 + sig_stop_requested();
    }
    if (rc) cli_die_err(&err);
    charrnn_ngram_info in;
    charrnn_ngram_get_info(g, &in);
    warn_unknown(&r, name, in.unit);
    print_result(&r, name, split);
    free(text);
    charrnn_ngram_close(g);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    int threads = 0, streams = 0, dynamic = 0, precision = 0, split = 0;
    const char *device = NULL;
    charrnn_dynamic_options dyn;
    charrnn_dynamic_options_default(&dyn);
    optdef opts[] = {
        {"dynamic", O_FLAG, &dynamic, 0, "also dynamic evaluation: the model adapts to the text as it reads it (Krause et al. 2018)", 0},
        {"dynamic-segment", O_INT, &dyn.segment, "[1,10000]", "with --dynamic: characters per adaptation step (default 50)", 0},
        {"dynamic-lr", O_DOUBLE, &dyn.learning_rate, "[0,1)", "with --dynamic: the step size (default 3e-5)", 0},
        {"dynamic-decay", O_DOUBLE, &dyn.decay, "[0,1)", "with --dynamic: the pull back to the trained weights per step (default 1e-3)", 0},
        {"split", O_CHOICE, &split, SPLIT_CHOICES, "only one block of FILE, cut as the model's training cut its corpus "
                                        "(the train-frac and val-frac it records): val, the block it validated on; test, "
                                        "the held-out rest (default all)", 0},
        {"streams", O_INT, &streams, "[0,100000]", "cut the text into N streams read in parallel (default: one per seq-length "
                                        "characters of the run, at most 50; 1: the whole text as one stream, exact)", 0},
        {"threads", O_INT, &threads, "[0,4096]", "threads for BLAS and loops", 0},
        {"precision", O_CHOICE, &precision, CLI_PRECISION_CHOICES, CLI_PRECISION_HELP, 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, CLI_DEVICE_HELP, 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2] = {0};
    int np = cli_parse(argc, argv, "eval", "eval CHECKPOINT FILE [options]   (FILE - : standard input)", opts, pos, 2);
    if (np < 2) cli_die(2, "eval needs a checkpoint and a text file: charrnn eval cv/best.safetensors test.txt");
    for (const optdef *q = opts; q->name; q++)
        if (q->given && !dynamic && !strncmp(q->name, "dynamic-", 8))
            fprintf(stderr, "note: --%s is ignored: it applies to --dynamic, which was not given\n", q->name);
    if (dynamic && split)
        cli_die(2, "--split and --dynamic do not go together: dynamic evaluation adapts over the whole text; evaluate "
                "one block with --split, or all of it with --dynamic");
    if (dynamic && !streams) streams = 1; /* compared on the same footing: one stream */
    cli_set_threads(threads);
    const char *dev = cli_device(device, NULL);
    cli_check_precision(precision, dev);
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_file_kind(pos[0]) == CHARRNN_FILE_NGRAM) {
        if (dynamic)
            cli_die(2, "%s is an n-gram model: --dynamic adapts a network's weights as it reads, and an n-gram model has "
                    "none; drop --dynamic, or evaluate a network checkpoint", pos[0]);
        if (opt_given(opts, &precision))
            fprintf(stderr, "note: --precision is ignored: %s is an n-gram model, which does no matrix products\n", pos[0]);
        if (device) fprintf(stderr, "note: --device is ignored: %s is an n-gram model, which counts on the CPU\n", pos[0]);
        return eval_ngram(pos[0], pos[1], streams, split);
    }
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    /* auto decides for the evaluation's passes: about 3200 rows of streams x steps (charrnn_evaluate) */
    charrnn_model_set_workload(m, dynamic ? 1 : streams ? streams : 50, dynamic ? dyn.segment : streams ? 3200 / streams : 64,
                               dynamic);
    cli_set_device(m, dev, 2);
    cli_set_precision(m, precision, 2);
    sig_install("stopping", 0);
    size_t len;
    char *text = cli_read_input(pos[1], &len);
    const char *name = cli_input_name(pos[1]);
    charrnn_eval_result r;
    progress bar;
    progress_init(&bar, "chars");
    bar.label = "eval";
    int rc = split ? charrnn_evaluate_split(m, text, len, name, (charrnn_block)(split - 1), streams, cli_progress, &bar,
                                            &r, &err)
                   : charrnn_evaluate(m, text, len, name, streams, cli_progress, &bar, &r, &err);
    progress_clear(&bar);
    if (rc == CHARRNN_ECANCELED) {
        fprintf(stderr, "charrnn: stopped by %s after %ld of the characters; no result\n", sig_name(sig_stop_requested()),
                r.predicted);
        free(text);
        charrnn_model_close(m);
        return 128 + sig_stop_requested();
    }
    if (rc) cli_die_err(&err);
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    warn_unknown(&r, name, in.unit);
    print_result(&r, name, split);
    if (dynamic) {
        cli_stop_point("after the static evaluation (its result above is complete); no dynamic result");
        charrnn_eval_result d;
        bar.label = "dynamic";
        rc = charrnn_model_adapt(m, text, len, name, &dyn, cli_progress, &bar, &d, &err);
        progress_clear(&bar);
        if (rc == CHARRNN_ECANCELED) {
            fprintf(stderr, "charrnn: stopped by %s; no dynamic result\n", sig_name(sig_stop_requested()));
            free(text);
            charrnn_model_close(m);
            return 128 + sig_stop_requested();
        }
        if (rc) cli_die_err(&err);
        out_printf("%s: dynamic: %.4f nats, %.4f bpc over %ld predicted characters (segment %d, lr %s, decay %s): "
                   "%+.4f bpc against static\n", name, d.nats, d.bpc, d.predicted, dyn.segment, CLI_NUM(dyn.learning_rate), CLI_NUM(dyn.decay),
                   d.bpc - r.bpc);
    }
    free(text);
    charrnn_model_close(m);
    return 0;
}

static int info_ngram(const char *path) {
    charrnn_error err = {0};
    charrnn_ngram *g;
    if (charrnn_ngram_load(&g, path, &err)) cli_die_err(&err);
    charrnn_ngram_info in;
    charrnn_ngram_get_info(g, &in);
    out_printf("n-gram model:   %s\n", path);
    out_printf("model:          order %d, interpolated modified Kneser-Ney, %zu n-grams\n", in.order, in.num_ngrams);
    out_printf("vocabulary:     %d %s\n", in.vocab_size, in.unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points");
    out_printf("counted on:     %zu of %zu characters (train-frac %s, val-frac %s: val %zu, test %zu)\n", in.train_chars,
               in.corpus_chars, CLI_NUM(in.train_frac), CLI_NUM(in.val_frac), in.val_chars, in.test_chars);
    for (int k = 1; k <= in.order; k++) {
        double D[3];
        size_t n = charrnn_ngram_order_info(g, k, D);
        out_printf("order %-2d        %zu n-grams, discounts %.4f %.4f %.4f\n", k, n, D[0], D[1], D[2]);
    }
    charrnn_ngram_close(g);
    return 0;
}

int cmd_info(int argc, char **argv) {
    int threads = 0;
    optdef opts[] = {
        {"threads", O_INT, &threads, "[0,4096]", "the threads the processor line reports (default: as for train)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "info", "info [CHECKPOINT]   (none: this processor only)", opts, pos, 1);
    cli_set_threads(threads); /* what the other commands would take: the processor line says it */
    if (np < 1) { /* what this machine offers: which precision, kernels and devices runs get */
        out_printf("processor:      %s\n", charrnn_processor_info());
        out_printf("gpu:            %s\n", charrnn_device_info());
        return 0;
    }
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_file_kind(pos[0]) == CHARRNN_FILE_NGRAM) return info_ngram(pos[0]);
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    out_printf("checkpoint:     %s\n", pos[0]);
    out_printf("model:          %s, %d layers x %d, dropout %s\n", charrnn_cell_name(in.config.cell), in.config.num_layers,
               in.config.rnn_size, CLI_NUMF(in.config.dropout));
    out_printf("parameters:     %zu\n", in.num_params);
    out_printf("vocabulary:     %d %s\n", in.vocab_size, in.unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points");
    out_printf("characters:     ");
    for (int i = 0; i < in.vocab_size && i < 200; i++) {
        char u[32];
        int n = cli_safe_char(charrnn_model_vocab(m, i), in.unit, u, sizeof u);
        out_write(u, (size_t)n);
    }
    out_printf("%s\n", in.vocab_size > 200 ? " ..." : "");
    out_printf("trained:        %ld iterations, epoch %.3f, learning rate %s\n", in.iteration, in.epoch, CLI_NUM(in.learning_rate));
    out_printf("train loss:     %.4f nats (%.4f bpc), last iteration\n", in.train_loss, in.train_loss / log(2.0));
    if (in.num_history) {
        out_printf("best val loss:  %.4f nats (%.4f bpc)\n", in.val_loss, in.val_loss / log(2.0));
        out_printf("val history:   ");
        for (int i = 0; i < in.num_history; i++) {
            long it;
            double v;
            charrnn_model_history(m, i, &it, &v);
            out_printf(" %ld:%.4f", it, v);
        }
        out_printf("\n");
    }
    if (in.run_id) out_printf("run:            %016llx\n", (unsigned long long)in.run_id);
    /* where it was trained: the run log beside it says (checkpoints do not record the device) */
    char logpath[4200], dev[512], prec[64];
    const char *slash = strrchr(pos[0], '/');
    snprintf(logpath, sizeof logpath, "%.*s%s", slash ? (int)(slash - pos[0] + 1) : 0, pos[0], "train.jsonl");
    if (runlog_start_of(logpath, in.iteration, dev, sizeof dev, prec, sizeof prec))
        out_printf("trained on:     %s, %s (the last start in %s)\n", dev, prec, logpath);
    const char *opts_json = charrnn_model_metadata(m, "train_options");
    if (opts_json) out_printf("train options:  %s\n", opts_json);
    out_printf("processor:      %s\n", charrnn_processor_info());
    out_printf("gpu:            %s\n", charrnn_device_info());
    charrnn_model_close(m);
    return 0;
}
