/* main.c: the `charrnn` command: dispatches to the subcommands (cmd_train.c,
 * cmd_sample.c, cmd_eval.c, cmd_ngram.c, novelty.c, cmd_compress.c, viz*.c), each a thin layer on libcharrnn. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "signals.h"
#include "viz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_decompress(int argc, char **argv);
int cmd_novelty(int argc, char **argv);
int cmd_ngram(int argc, char **argv);
int cmd_serve(int argc, char **argv);

static const struct { const char *name; int (*fn)(int, char **); const char *help; } commands[] = {
    {"train", cmd_train, "train [FILE]            train a model on a text file (no FILE: the built-in corpus; -: stdin)"},
    {"sample", cmd_sample, "sample CHECKPOINT       generate text from a model"},
    {"eval", cmd_eval, "eval CHECKPOINT FILE    loss of a model on a text, in nats and bits per character"},
    {"info", cmd_info, "info CHECKPOINT         describe a checkpoint"},
    {"ngram", cmd_ngram, "ngram FILE --order N    the baseline to beat: a Kneser-Ney n-gram model's val and test loss"},
    {"novelty", cmd_novelty, "novelty SAMPLE TRAIN    how much of a sample is new: n-grams and lines not in the training text"},
    {"viz", cmd_viz, "viz CHECKPOINT FILE     a web page of the text coloured by any neuron, with the model's guesses"},
    {"cells", cmd_cells, "cells CHECKPOINT FILE   neurons ranked by how well they track quotes, brackets, comments, ..."},
    {"report", cmd_report, "report RUN_DIR          a web page of a run: loss curves, samples during training, checkpoint"},
    {"play", cmd_play, "play CHECKPOINT         a web page that runs the model: type a prime, watch it write"},
    {"serve", cmd_serve, "serve CHECKPOINT        an HTTP server: streaming completions for many clients, scoring, a playground"},
    {"compress", cmd_compress, "compress [CKPT] FILE    lossless compression with the model (--adapt: it learns as it codes)"},
    {"decompress", cmd_decompress, "decompress [CKPT] FILE  the original bytes back"},
};
#define NUM_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "charrnn %s: character-level LSTM / GRU / RNN language models\n\n"
               "usage: charrnn COMMAND [options]   (charrnn COMMAND --help for its options)\n\n", charrnn_version());
    for (int i = 0; i < NUM_COMMANDS; i++) fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nStopping: Ctrl-C, SIGTERM or SIGHUP asks a command to stop cleanly (train saves a checkpoint and\n"
               "prints how to resume); signals that arrive within a second of the first are the same request, and\n"
               "only another one after that quits at once. SIGUSR1 makes train save a checkpoint and go on.\n");
}

/* OpenBLAS chose its kernels when it loaded; where it took this processor for
 * an old one, start again with the right ones (not under valgrind, whose
 * children would run untraced; CHARRNN_NO_REEXEC=1 to opt out). */
static void fix_blas_core(char **argv) {
    const char *core = charrnn_blas_core_hint(), *pre = getenv("LD_PRELOAD"), *no = getenv("CHARRNN_NO_REEXEC");
    if (!core || (no && *no && strcmp(no, "0")) || (pre && strstr(pre, "vgpreload"))) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv); /* on failure: carry on with the kernels OpenBLAS chose */
}

int main(int argc, char **argv) {
    fix_blas_core(argv);
    if (argc < 2) { usage(stderr); return 2; }
    const char *cmd = argv[1];
    for (int i = 0; i < NUM_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) {
            int mpi = commands[i].fn == cmd_train; /* under mpirun, training is data-parallel */
            if (mpi && charrnn_mpi_init(&argc, &argv)) cli_die(1, "MPI could not start (MPI_Init failed)");
            int rc = commands[i].fn(argc - 2, argv + 2);
            if (rc == 0) out_finish();
            /* a server's way to end is a stop signal: drained, that is success */
            if (rc == 0 && sig_stop_requested() && commands[i].fn != cmd_serve) { /* a stop that came as the work ended: still a stop */
                fprintf(stderr, "charrnn: stopped by %s as '%s' finished; what it printed and wrote is complete\n",
                        sig_name(sig_stop_requested()), cmd);
                rc = 128 + sig_stop_requested();
            }
            if (mpi) charrnn_mpi_finalize();
            return rc;
        }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { usage(stdout); out_finish(); return 0; }
    if (!strcmp(cmd, "--version")) { out_printf("charrnn %s\n", charrnn_version()); out_finish(); return 0; }
    for (int i = 0; i < NUM_COMMANDS; i++)
        if (edit_distance(cmd, commands[i].name) <= 2)
            cli_die(2, "unknown command '%s'; did you mean '%s'?", cmd, commands[i].name);
    cli_die(2, "unknown command '%s'; the commands are train, sample, eval, info, ngram, novelty, viz, cells, report, "
            "play, serve, compress, decompress (charrnn --help)", cmd);
}
