/* test_serve.c: `charrnn serve` against real clients on a loopback port it picks
 * itself (--port 0): curl for every endpoint, Python's http.client
 * (tests/serve_client.py) for the streams read event by event, every class of
 * bad input, the full queue, the API key and the drain on SIGTERM; and the
 * library's continuous batching (charrnn_sampler_stream_*, charrnn_sampler_step)
 * against the plain sampler. The model is a tiny LSTM trained here on a corpus of
 * Chinese verse and English (three-byte characters, so a split code point would show). */
#include "charrnn.h"
#include "test.h"
#include "test_cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *serve_model(void) {
    static const char *corpus;
    if (!corpus) {
        char *text = t_fmt("%s", "");
        for (int r = 0; r < 60; r++) {
            char *next = t_fmt("%s%s the cat sat on the mat\n", text, ZH_LINES[r % NZH]);
            free(text);
            text = next;
        }
        corpus = t_path("serve.txt");
        t_write_file(corpus, text, strlen(text));
        free(text);
    }
    return t_trained("serve_cv", corpus, "--rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 80 "
                     "--eval-val-every 80 --train-frac 0.9 --val-frac 0.1 --threads 1 --precision fp32");
}

typedef struct server {
    pid_t pid;
    int port;
    const char *log;
} server;

/* Starts `charrnn serve MODEL --port 0 ARGS` and reads the port from its first line; 0 on success. */
static int start(server *sv, const char *args) {
    const char *model = serve_model();
    if (!model) return -1;
    int fd[2];
    if (pipe(fd)) return -1;
    static int nlog;
    char *name = t_fmt("serve_%d.log", nlog++);
    sv->log = t_path(name);
    free(name);
    sv->pid = fork();
    if (sv->pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        char *cmd = t_fmt("exec '%s' serve '%s' --port 0 --threads 1 --precision fp32 %s 2>'%s'", t_bin(), model, args,
                          sv->log);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[256] = {0};
    int ok = f && fgets(line, sizeof line, f) && sscanf(line, "listening on http://127.0.0.1:%d", &sv->port) == 1;
    if (f) fclose(f);
    CHECKF(ok, "the server did not say where it listens: '%s' (log %s)", line, sv->log);
    return ok ? 0 : -1;
}

/* Its exit status (or 128 + the signal). */
static int wait_exit(server *sv) {
    int st = 0;
    waitpid(sv->pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* SIGTERM, then the exit status. */
static int stop(server *sv) {
    kill(sv->pid, SIGTERM);
    return wait_exit(sv);
}

/* Runs a scenario of tests/serve_client.py; any FAIL (or no final "done 0") fails the test. Returns 0 when it passed. */
static int client(const server *sv, const char *scenario, const char *extra) {
    char *out = NULL, *err = NULL;
    char *cmd = t_fmt("python3 tests/serve_client.py %s %d %s", scenario, sv->port, extra ? extra : "");
    int rc = t_run(cmd, &out, &err);
    free(cmd);
    int ok = CHECKF(rc == 0 && out && strstr(out, "\ndone 0") && !strstr(out, "FAIL"), "serve_client.py %s (rc %d):\n%s%s",
                    scenario, rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return ok ? 0 : -1;
}

/* curl with the arguments (a printf format); its output, then "HTTP CODE". */
static char *curl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *curl(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *args = t_vfmt(fmt, ap);
    va_end(ap);
    char *cmd = t_fmt("curl -sS -N -w '\\nHTTP %%{http_code}' %s", args), *out = NULL;
    t_run(cmd, &out, NULL);
    free(cmd);
    free(args);
    return out ? out : t_fmt("%s", "");
}

/* ---- the library: streams driven one by one ------------------------------------------------- */

/* The guarantee charrnn.h gives: a stream reset with seed S and primed with P, stepped alone as
 * stream 0, draws what a 1-stream sampler opened with S and primed with P draws; stepped beside
 * others it keeps its own seed and configuration (here: temperature 0 is the argmax whatever the
 * neighbours do), and an idle stream is left exactly as it was. */
static void test_stream_steps(void) {
    const char *path = serve_model();
    if (!path) return;
    charrnn_model *m;
    charrnn_error err = {0};
    if (!CHECK(charrnn_model_load(&m, path, &err) == 0)) return;
    charrnn_sampler *ref, *b;
    CHECK(charrnn_sampler_open(&ref, m, 1, 42, &err) == 0);
    CHECK(charrnn_sampler_open(&b, m, 4, 0, &err) == 0);
    charrnn_sample_config cfg;
    charrnn_sample_config_default(&cfg);
    cfg.temperature = 0.9f;
    cfg.top_k = 5;
    cfg.repetition_penalty = 1.2f;
    CHECK(charrnn_sampler_configure(ref, &cfg, &err) == 0);
    const char *prime = "床前 the";
    CHECK(charrnn_sampler_prime(ref, prime, strlen(prime), NULL, NULL, 0, NULL, &err) == 0);
    CHECK(charrnn_sampler_stream_reset(b, 0, 42, &cfg, &err) == 0);
    CHECK(charrnn_sampler_stream_prime(b, 0, prime, strlen(prime), NULL, NULL, 0, NULL, &err) == 0);
    unsigned char only0[4] = {1, 0, 0, 0};
    int same = 1;
    for (int i = 0; i < 200; i++) {
        uint32_t a, o[4];
        CHECK(charrnn_sampler_draw(ref, &a, &err) == 0);
        CHECK(charrnn_sampler_step(b, only0, o, &err) == 0);
        same &= a == o[0];
    }
    CHECKF(same, "a stream stepped alone differs from the 1-stream sampler of the same seed");
    /* beside others: a greedy stream 2 stays greedy decoding while stream 0 idles, parked; stepped
     * alone again, stream 0 goes on exactly as a 1-stream sampler primed as it was */
    charrnn_sample_config greedy;
    charrnn_sample_config_default(&greedy);
    greedy.temperature = 0;
    CHECK(charrnn_sampler_stream_reset(b, 0, 5, NULL, &err) == 0);
    CHECK(charrnn_sampler_stream_prime(b, 0, "the", 3, NULL, NULL, 0, NULL, &err) == 0);
    CHECK(charrnn_sampler_stream_reset(b, 2, 9, &greedy, &err) == 0);
    CHECK(charrnn_sampler_stream_prime(b, 2, "床", strlen("床"), NULL, NULL, 0, NULL, &err) == 0);
    CHECK(charrnn_sampler_stream_reset(b, 3, 11, NULL, &err) == 0);
    charrnn_sampler *g;
    CHECK(charrnn_sampler_open(&g, m, 1, 1, &err) == 0);
    CHECK(charrnn_sampler_configure(g, &greedy, &err) == 0);
    CHECK(charrnn_sampler_prime(g, "床", strlen("床"), NULL, NULL, 0, NULL, &err) == 0);
    unsigned char mix[4] = {0, 0, 1, 1};
    int greedy_same = 1;
    for (int i = 0; i < 50; i++) {
        uint32_t a, o[4];
        CHECK(charrnn_sampler_draw(g, &a, &err) == 0);
        CHECK(charrnn_sampler_step(b, mix, o, &err) == 0);
        greedy_same &= a == o[2];
    }
    CHECKF(greedy_same, "a greedy stream beside others left greedy decoding");
    charrnn_sampler *one;
    CHECK(charrnn_sampler_open(&one, m, 1, 5, &err) == 0);
    CHECK(charrnn_sampler_prime(one, "the", 3, NULL, NULL, 0, NULL, &err) == 0);
    int idle_same = 1;
    for (int i = 0; i < 100; i++) {
        uint32_t a, o[4];
        CHECK(charrnn_sampler_draw(one, &a, &err) == 0);
        CHECK(charrnn_sampler_step(b, only0, o, &err) == 0);
        idle_same &= a == o[0];
    }
    CHECKF(idle_same, "a stream that idled while others stepped was changed");
    CHECK(charrnn_sampler_stream_reset(b, 9, 1, NULL, &err) == CHARRNN_EINVAL);
    CHECK(charrnn_sampler_stream_prime(b, 0, "\xe2\x98\x83", 3, NULL, NULL, 0, NULL, &err) == CHARRNN_EINVAL);
    charrnn_sampler_close(one);
    charrnn_sampler_close(g);
    charrnn_sampler_close(ref);
    charrnn_sampler_close(b);
    charrnn_model_close(m);
}

/* ---- the server -------------------------------------------------------------------------------- */

static void test_serve_endpoints(void) {
    server sv;
    if (start(&sv, "")) return;
    char *base = t_fmt("http://127.0.0.1:%d", sv.port), *o;
    o = curl("%s/v1/models", base);
    CHECKF(strstr(o, "\"object\":\"list\"") && strstr(o, "\"cell\":\"lstm\"") && strstr(o, "HTTP 200"), "%s", o);
    free(o);
    o = curl("%s/health", base);
    CHECKF(strstr(o, "\"status\":\"ok\"") && strstr(o, "HTTP 200"), "%s", o);
    free(o);
    o = curl("-d '{\"prompt\":\"the \",\"max_tokens\":30,\"seed\":3}' %s/v1/completions", base);
    CHECKF(strstr(o, "\"object\":\"text_completion\"") && strstr(o, "\"finish_reason\":\"length\"") &&
           strstr(o, "\"completion_tokens\":30") && strstr(o, "HTTP 200"), "%s", o);
    free(o);
    o = curl("-d '{\"prompt\":\"the \",\"max_tokens\":30,\"seed\":3,\"stream\":true}' %s/v1/completions", base);
    CHECKF(strstr(o, "data: {") && strstr(o, "data: [DONE]\n\n") && strstr(o, "HTTP 200"), "%s", o);
    free(o);
    o = curl("-d '{\"text\":\"the cat sat\",\"logprobs\":true,\"top_k\":3}' %s/v1/score", base);
    CHECKF(strstr(o, "\"predicted\":10") && strstr(o, "\"bpc\":") && strstr(o, "\"logprob\":null") &&
           strstr(o, "\"top_next\":[{") && strstr(o, "HTTP 200"), "%s", o);
    free(o);
    o = curl("%s/", base);
    CHECKF(strstr(o, "<title>charrnn serve</title>") && strstr(o, "/v1/completions") && strstr(o, "HTTP 200"), "%s", o);
    free(o);
    o = curl("'%s/viz?text=the%%20cat%%20%%E5%%BA%%8A'", base);
    CHECKF(strstr(o, "<!DOCTYPE html>") && strstr(o, "id=\"data\"") && strstr(o, "HTTP 200"), "%.300s", o);
    free(o);
    o = curl("%s/metrics", base);
    CHECKF(strstr(o, "charrnn_requests_total{endpoint=\"completions\"} 2") && strstr(o, "charrnn_chars_drawn_total 60") &&
           strstr(o, "charrnn_queue_length 0") && strstr(o, "charrnn_completion_seconds_count 2") &&
           strstr(o, "charrnn_completion_seconds_bucket{le=\"+Inf\"} 2"), "%s", o);
    free(o);
    /* the score agrees with charrnn eval of the same text as one stream */
    const char *txt = t_path("serve_score.txt");
    t_write_file(txt, "the cat sat on the mat", 22);
    char *ev = NULL;
    t_cli(&ev, NULL, "eval '%s' '%s' --streams 1 --threads 1 --precision fp32", serve_model(), txt);
    o = curl("-d '{\"text\":\"the cat sat on the mat\"}' %s/v1/score", base);
    double nats_eval = ev ? atof(ev + strlen(txt) + 2) : -1, nats = last_number_after(o, "\"nats\":");
    CHECK_CLOSE(nats, nats_eval, 1e-4, 0);
    free(ev);
    free(o);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 on SIGTERM (log %s)", sv.log);
    free(base);
}

/* Seeded completions are reproducible, and a request alone in the batch draws what `charrnn
 * sample` draws with the same seed, prime and settings (the library's guarantee for stream 0
 * stepped alone; beside other requests the last bits of a batched product may differ). */
static void test_serve_matches_sample(void) {
    server sv;
    if (start(&sv, "")) return;
    const char *settings[][2] = {
        {"\"temperature\":1", "--temperature 1"},
        {"\"temperature\":0.7,\"top_k\":5", "--temperature 0.7 --top-k 5"},
        {"\"temperature\":1.3,\"top_p\":0.9,\"min_p\":0.05,\"repetition_penalty\":1.3", "--temperature 1.3 --top-p 0.9 --min-p 0.05 --repetition-penalty 1.3"},
        {"\"temperature\":0", "--temperature 0"},
    };
    for (int i = 0; i < 4; i++) {
        const char *req = "-d '{\"prompt\":\"床前\",\"max_tokens\":80,\"seed\":%d,%s}' http://127.0.0.1:%d/v1/completions";
        char *a = curl(req, 11 + i, settings[i][0], sv.port), *b = curl(req, 11 + i, settings[i][0], sv.port);
        char *ta = strstr(a, "\"text\":"), *tb = strstr(b, "\"text\":");
        CHECKF(ta && tb && !strncmp(ta, tb, strcspn(ta, ",")), "the same seed twice:\n%s\n%s", a, b);
        /* the sample, as JSON the way the server writes text */
        char *s = NULL;
        t_cli(&s, NULL, "sample '%s' --primetext '床前' --length 80 --seed %d %s --verbose 0 --threads 1 --precision fp32",
              serve_model(), 11 + i, settings[i][1]);
        char *py = NULL;
        const char *sf = t_path("serve_sample.txt");
        t_write_file(sf, s ? s : "", s ? strlen(s) : 0);
        char *cmd = t_fmt("python3 -c \"import json,sys; t=open('%s',encoding='utf-8').read(); "
                          "sys.stdout.write(json.dumps(t[2:82], separators=(',',':')))\"", sf);
        t_run(cmd, &py, NULL);
        free(cmd);
        char *want = t_fmt("\"text\":%s", py ? py : "?");
        CHECKF(ta && strstr(a, want), "server and `charrnn sample` differ for %s:\n%s\n%s", settings[i][1], a, want);
        free(a); free(b); free(s); free(py); free(want);
    }
    CHECKF(stop(&sv) == 0, "serve did not exit 0 on SIGTERM (log %s)", sv.log);
}

static void test_serve_streams(void) {
    server sv;
    if (start(&sv, "--max-batch 8")) return;
    client(&sv, "stream", NULL);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 (log %s)", sv.log);
}

/* --stream-interval: a long one coalesces a stream into its first event and its last; 0 sends every
 * character as it comes; the texts are the same either way. */
static void test_serve_stream_interval(void) {
    server sv;
    if (start(&sv, "--max-batch 8 --stream-interval 10000")) return;
    client(&sv, "coalesce", NULL);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 (log %s)", sv.log);
    if (start(&sv, "--max-batch 8 --stream-interval 0")) return;
    client(&sv, "stream", NULL);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 (log %s)", sv.log);
}

static void test_serve_bad_input(void) {
    server sv;
    if (start(&sv, "--max-body 4096 --max-batch 4")) return;
    client(&sv, "errors", NULL);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 (log %s)", sv.log);
    char *log = t_read_file(sv.log, NULL);
    CHECKF(log && !strstr(log, "ERROR") && !strstr(log, "runtime error"), "%s", log ? log : "");
    free(log);
}

static void test_serve_api_key(void) {
    server sv;
    if (start(&sv, "--api-key sesame")) return;
    client(&sv, "auth", NULL);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 (log %s)", sv.log);
}

/* A full queue answers 503 with Retry-After, never a hang: one stream holds the only place in the
 * batch (its client reads nothing, so once its buffers fill it waits, backpressured), one request
 * waits in the queue of 1 (both states seen through /metrics), and the next is refused. */
static void test_serve_queue_full(void) {
    server sv;
    if (start(&sv, "--max-batch 1 --max-queue 1")) return;
    client(&sv, "queue", NULL);
    CHECKF(stop(&sv) == 0, "serve did not exit 0 (log %s)", sv.log);
}

/* SIGTERM: no new requests; an open stream finishes within --drain (or is ended at its end, with its
 * finish_reason and [DONE]), and the server exits 0. */
static void test_serve_drain(void) {
    server sv;
    if (start(&sv, "--drain 600")) return;
    char arg[64];
    snprintf(arg, sizeof arg, "%d 3000 finish", (int)sv.pid);
    if (client(&sv, "drain", arg)) kill(sv.pid, SIGTERM); /* never left running */
    CHECKF(wait_exit(&sv) == 0, "serve did not exit 0 after draining (log %s)", sv.log);
    if (start(&sv, "--drain 0")) return;
    snprintf(arg, sizeof arg, "%d 100000 cut", (int)sv.pid);
    if (client(&sv, "drain", arg)) kill(sv.pid, SIGTERM);
    CHECKF(wait_exit(&sv) == 0, "serve did not exit 0 after a drain of 0 s (log %s)", sv.log);
    char *log = t_read_file(sv.log, NULL);
    CHECKF(log && strstr(log, "not taking new requests"), "%s", log ? log : "");
    free(log);
}

/* Bad command lines: one line, exit 2, before any listening. */
static void test_serve_options(void) {
    char *err = NULL;
    int rc = t_cli(NULL, &err, "serve");
    EXPECT_FAIL("serve without a checkpoint", rc, err, "CHECKPOINT");
    free(err);
    const char *model = serve_model();
    if (!model) return;
    rc = t_cli(NULL, &err, "serve '%s' --port 70000", model);
    EXPECT_FAIL("serve --port 70000", rc, err, "--port");
    free(err);
    rc = t_cli(NULL, &err, "serve '%s' --host localhost.invalid --port 0", model);
    EXPECT_FAIL("serve --host name", rc, err, "--host");
    free(err);
    rc = t_cli(NULL, &err, "serve '%s' --api-key '' --port 0", model);
    EXPECT_FAIL("serve --api-key ''", rc, err, "--api-key");
    free(err);
}

void register_serve_tests(void) {
    t_register("serve_stream_steps", test_stream_steps);
    t_register("serve_endpoints", test_serve_endpoints);
    t_register("serve_matches_sample", test_serve_matches_sample);
    t_register("serve_streams", test_serve_streams);
    t_register("serve_stream_interval", test_serve_stream_interval);
    t_register("serve_bad_input", test_serve_bad_input);
    t_register("serve_api_key", test_serve_api_key);
    t_register("serve_queue_full", test_serve_queue_full);
    t_register("serve_drain", test_serve_drain);
    t_register("serve_options", test_serve_options);
}
