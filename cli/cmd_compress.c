/* compress.c: `charrnn compress` and `charrnn decompress`: files coded with a
 * model's probabilities (the library's charrnn_compress), written atomically. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "progress.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static charrnn_model *load(const char *path) {
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, path, &err)) cli_die_err(&err);
    return m;
}

static int run(int argc, char **argv, int decompress) {
    const char *cmd = decompress ? "decompress" : "compress";
    const char *out = NULL;
    int threads = 1, adapt = 0, segment = 32, layers = 1, size = 256, cell = 0, lanes = 1;
    const char *device = "cpu";
    double lr = 1e-2, rms = 0.99, decay = 0;
    uint64_t seed = 1;
    optdef copts[] = {
        {"output", O_STR, &out, 0, "the file to write (- : standard output)", 0},
        {"o", O_STR, &out, 0, "the same as --output", 0},
        {"lanes", O_INT, &lanes, "[1,4096]", "pieces of the input coded side by side as one batch (default 1; more keep the cores or the GPU busy, for a little size)", 0},
        {"adapt", O_FLAG, &adapt, 0, "the model keeps learning the text as it codes it (no checkpoint needed)", 0},
        {"segment", O_INT, &segment, 0, "with --adapt: characters per learning step (default 32)", 0},
        {"adapt-lr", O_DOUBLE, &lr, 0, "with --adapt: the learning rate (default 1e-2)", 0},
        {"adapt-rms-decay", O_DOUBLE, &rms, 0, "with --adapt: the running mean of squared gradients (default 0.99)", 0},
        {"adapt-decay", O_DOUBLE, &decay, 0, "with --adapt: pull toward the starting weights per step (default 0)", 0},
        {"model", O_CHOICE, &cell, "lstm|gru|rnn", "with --adapt and no checkpoint: the fresh model's cell (default lstm)", 0},
        {"num-layers", O_INT, &layers, 0, "with --adapt and no checkpoint: its layers (default 1)", 0},
        {"rnn-size", O_INT, &size, 0, "with --adapt and no checkpoint: its size (default 256)", 0},
        {"seed", O_U64, &seed, 0, "with --adapt and no checkpoint: its initialisation seed (default 1)", 0},
        {"threads", O_INT, &threads, "[1,4096]", "threads (default 1; decompressing needs the number that compressed)", 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, "where the probabilities are computed (default cpu; decompressing needs the device that compressed)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    optdef dopts[] = {
        {"output", O_STR, &out, 0, "the file to write (- : standard output)", 0},
        {"o", O_STR, &out, 0, "the same as --output", 0},
        {"threads", O_INT, &threads, "[1,4096]", "threads: the number that compressed (default 1)", 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, "where the probabilities are computed: the device that compressed (default cpu)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2] = {0};
    char usage[160];
    snprintf(usage, sizeof usage, "%s [CHECKPOINT] FILE -o OUT [options]   (FILE - : standard input)", cmd);
    int np = cli_parse(argc, argv, cmd, usage, decompress ? dopts : copts, pos, 2);
    if (np < 1) cli_die(2, "%s needs a file: charrnn %s cv/best.safetensors FILE -o OUT", cmd, cmd);
    if (!out) cli_die(2, "%s needs -o OUT (the file to write; - for standard output)", cmd);
    const char *ckpt = np == 2 ? pos[0] : NULL, *in = np == 2 ? pos[1] : pos[0];
    if (!decompress && !ckpt && !adapt)
        cli_die(2, "compress needs a checkpoint, or --adapt to start from a fresh model that learns as it codes");
    /* an option that would change nothing is refused, never silently dropped */
    for (const optdef *o = copts; !decompress && o->name; o++) {
        int adapt_only = o->dst == &segment || o->dst == &lr || o->dst == &rms || o->dst == &decay;
        int fresh_only = o->dst == &cell || o->dst == &layers || o->dst == &size || o->dst == &seed;
        if (o->given && adapt_only && !adapt)
            cli_die(2, "--%s applies only with --adapt (the model learning as it codes); add --adapt or leave it out",
                    o->name);
        if (o->given && fresh_only && ckpt)
            cli_die(2, "--%s shapes the fresh model that --adapt starts from without a checkpoint, but %s is the "
                    "model here; leave it out", o->name, ckpt);
    }
    cli_check_output(out, "-o", 0, (const char *[]){in, ckpt}, 2);
    cli_set_threads(threads);
    charrnn_error err = {0};
    if (charrnn_set_device(device, &err)) cli_die_err(&err); /* a fresh model's (--adapt without a checkpoint) */
    size_t len;
    char *data = cli_read_input(in, &len);
    charrnn_model *m = ckpt ? load(ckpt) : NULL;
    if (m) cli_set_device(m, device, 2);
    void *res = NULL;
    size_t res_len = 0;
    progress bar;
    progress_init(&bar, "bytes");
    bar.label = cmd;
    sig_install("stopping", 0);
    double t0 = now_s();
    int rc;
    if (decompress) {
        rc = charrnn_decompress(m, data, len, cli_input_name(in), &res, &res_len, cli_progress, &bar, &err);
    } else {
        charrnn_compress_options o;
        charrnn_compress_options_default(&o);
        o.adapt = adapt;
        o.segment = segment;
        o.learning_rate = lr;
        o.rms_decay = rms;
        o.decay = decay;
        o.cell = (charrnn_cell)cell;
        o.num_layers = layers;
        o.rnn_size = size;
        o.seed = seed;
        o.lanes = lanes;
        rc = charrnn_compress(m, data, len, &o, &res, &res_len, cli_progress, &bar, &err);
    }
    progress_clear(&bar);
    if (rc == CHARRNN_ECANCELED) {
        fprintf(stderr, "charrnn: stopped by %s; nothing was written\n", sig_name(sig_stop_requested()));
        exit(128 + sig_stop_requested());
    }
    if (rc) cli_die_err(&err);
    double el = now_s() - t0;
    cli_write_file_atomic(out, res, res_len);
    size_t plain = decompress ? res_len : len, packed = decompress ? len : res_len;
    fprintf(stderr, "%s: %zu bytes %s %zu bytes (%.4f bits per byte) in %.2f s, %.1f KB/s\n", cli_input_name(in),
            decompress ? packed : plain, decompress ? "<-" : "->", decompress ? plain : packed,
            plain ? 8.0 * (double)packed / (double)plain : 0.0, el, plain / 1e3 / (el > 0 ? el : 1e-9));
    charrnn_free(res);
    free(data);
    charrnn_model_close(m);
    return 0;
}

int cmd_compress(int argc, char **argv) { return run(argc, argv, 0); }
int cmd_decompress(int argc, char **argv) { return run(argc, argv, 1); }
