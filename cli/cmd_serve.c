/* cmd_serve.c: `charrnn serve CHECKPOINT`: the model as an HTTP service (a
 * completions API shaped like OpenAI's, scoring, metrics, the playground).
 * Options and start-up here; the parts are in serve_request.c (bodies),
 * serve_sched.c (continuous batching) and serve_http.c (libmicrohttpd). */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "serve.h"
#include "signals.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_serve(int argc, char **argv) {
    const char *host = "127.0.0.1", *api_key = NULL;
    int port = 8080, max_batch = 16, max_queue = 64, threads = 0, precision = 0;
    long max_body = 1 << 20;
    double drain = 10, interval_ms = 2;
    const char *device = NULL;
    optdef opts[] = {
        {"host", O_STR, &host, 0, "numeric address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)", 0},
        {"port", O_INT, &port, "[0,65535]", "port to listen on (default 8080; 0: a free one, printed)", 0},
        {"api-key", O_STR, &api_key, 0, "answer only requests with 'Authorization: Bearer KEY' (default: no key)", 0},
        {"max-batch", O_INT, &max_batch, "[1,4096]", "streams sampled together in one batch (default 16)", 0},
        {"max-queue", O_INT, &max_queue, "[0,100000]", "completions that may wait for the batch; more get 503 (default 64)", 0},
        {"max-body", O_LONG, &max_body, "[64,1073741824]", "largest request body in bytes; larger gets 413 (default 1048576)", 0},
        {"drain", O_DOUBLE, &drain, "[0,86400]", "on SIGTERM or Ctrl-C, seconds open requests get to finish (default 10)", 0},
        {"stream-interval", O_DOUBLE, &interval_ms, "[0,10000]", "milliseconds between a stream's events, what was drawn since in one; streams/8 times that with more than 8 streams (default 2; 0: an event per character)", 0},
        {"threads", O_INT, &threads, "[0,inf)", "threads for the model's products (default 0: the cores this process may use)", 0},
        {"precision", O_CHOICE, &precision, CLI_PRECISION_CHOICES, CLI_PRECISION_HELP, 0},
        {"device", O_STR, &device, CLI_DEVICE_CHOICES, CLI_DEVICE_HELP, 0},
        {NULL, 0, NULL, 0, NULL, 0},
    };
    const char *pos[1];
    int np = cli_parse(argc, argv, "serve", "usage: charrnn serve CHECKPOINT [options]", opts, pos, 1);
    if (np != 1) cli_die(2, "serve needs a CHECKPOINT: charrnn serve cv/latest.safetensors (charrnn serve --help)");
    if (api_key && !*api_key) cli_die(2, "--api-key is empty; give a key, or leave the option out");
    const char *dev = cli_device(device, NULL);
    cli_check_precision(precision, dev);
    cli_set_threads(threads);
    charrnn_error err = {0};
    charrnn_model *m = NULL;
    if (charrnn_file_kind(pos[0]) == CHARRNN_FILE_NGRAM)
        cli_die(2, "%s is an n-gram model; serve runs network checkpoints (from charrnn train)", pos[0]);
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    cli_set_device(m, dev, 1);
    charrnn_model_set_workload(m, max_batch, 1, 0);
    cli_set_precision(m, precision, 0);
    serve_state s = {.m = m, .max_batch = max_batch, .max_queue = max_queue, .stream_interval = interval_ms / 1000};
    charrnn_model_get_info(m, &s.info);
    const char *slash = strrchr(pos[0], '/');
    s.model_name = slash ? slash + 1 : pos[0];
    char msg[800];
    if (sched_start(&s, msg, sizeof msg)) cli_die(1, "cannot start serving: %s", msg);
    signal(SIGPIPE, SIG_IGN);
    sig_install("stopping: draining open requests", 0);
    serve_opts o = {.host = host, .port = port, .api_key = api_key, .max_body = (size_t)max_body, .drain = drain};
    int rc = serve_http_run(&s, &o);
    charrnn_model_close(m);
    return rc;
}
