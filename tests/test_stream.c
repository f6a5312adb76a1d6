/* test_stream.c: the library face for embedders. The streaming API (feed one
 * character, read the next-character distribution, copy and restore the state)
 * agrees with evaluation; a sampler or stream kept open on a model that is
 * still training sees the current weights; a per-handle thread count leaves the
 * caller's settings as they were; the version queries; a checkpoint from a
 * newer format is refused naming both versions. */
#include "test.h"
#include "checkpoint.h"
#include "ckpt_edit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *TEXT = "the quick brown fox jumps over the lazy dog. ";

static char *corpus_text(size_t *len) {
    size_t n = strlen(TEXT), reps = 400;
    char *s = malloc(n * reps + 1);
    for (size_t i = 0; i < reps; i++) memcpy(s + i * n, TEXT, n);
    s[n * reps] = 0;
    *len = n * reps;
    return s;
}

static charrnn_trainer *tiny_trainer(charrnn_cell cell, const char *text, size_t len) {
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.cell = cell;
    mc.num_layers = 2;
    mc.rnn_size = 16;
    o.batch_size = 4;
    o.seq_length = 16;
    o.max_iters = 1000;
    o.learning_rate = 0.01;
    charrnn_trainer *t = NULL;
    charrnn_error err = {0};
    CHECKF(charrnn_trainer_open(&t, "the test text", text, len, &mc, &o, &err) == 0, "%s", err.msg);
    /* float32 pinned: the streams are compared with evaluation to float32's rounding */
    if (t) CHECKF(charrnn_model_set_precision(charrnn_trainer_model(t), CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
    return t;
}

/* Feeding a text one character at a time gives the same loss as evaluating it
 * as one stream; log-probabilities are the logs of the probabilities; a reset
 * stream predicts uniformly. */
static void test_stream_matches_eval(void) {
    size_t len;
    char *text = corpus_text(&len);
    const charrnn_cell cells[] = {CHARRNN_LSTM, CHARRNN_GRU, CHARRNN_RNN};
    for (int c = 0; c < 3; c++) {
        charrnn_trainer *t = tiny_trainer(cells[c], text, len);
        if (!t) continue;
        charrnn_error err = {0};
        for (int i = 0; i < 30; i++) charrnn_trainer_step(t, NULL, &err);
        charrnn_model *m = charrnn_trainer_model(t);
        const char *probe = "the lazy dog jumps over the quick brown fox. the end";
        charrnn_eval_result r;
        CHECKF(charrnn_evaluate(m, probe, strlen(probe), "probe", 1, NULL, NULL, &r, &err) == 0, "%s", err.msg);
        CHECK(r.streams == 1);
        charrnn_stream *s;
        if (!CHECKF(charrnn_stream_open(&s, m, 1, &err) == 0, "%s", err.msg)) { charrnn_trainer_close(t); continue; }
        const int V = charrnn_stream_vocab_size(s);
        const float *p = charrnn_stream_probs(s, 0);
        for (int v = 0; v < V; v++) CHECK_CLOSE(p[v], 1.0 / V, 1e-7, 0);
        double total = 0;
        long n = 0;
        float *lp = malloc(sizeof(float) * (size_t)V);
        int prev = -1;
        for (const char *q = probe; *q; q++) {
            int id = charrnn_model_char_index(m, (unsigned char)*q);
            if (id < 0) continue;
            if (prev >= 0) {
                charrnn_stream_logprobs(s, 0, lp);
                p = charrnn_stream_probs(s, 0);
                double sum = 0;
                for (int v = 0; v < V; v++) {
                    sum += p[v];
                    if (p[v] > 1e-30) CHECK_CLOSE(lp[v], log(p[v]), 2e-5, 1e-5);
                }
                CHECK_CLOSE(sum, 1.0, 1e-5, 0);
                total -= lp[id];
                n++;
            }
            CHECK(charrnn_stream_feed(s, &id, &err) == 0);
            prev = id;
        }
        CHECK(n == r.predicted);
        CHECK_CLOSE(total / n, r.nats, 1e-5, 1e-5);
        int bad = V;
        CHECK(charrnn_stream_feed(s, &bad, &err) == CHARRNN_EINVAL && strstr(err.msg, "outside the vocabulary"));
        free(lp);
        charrnn_stream_close(s);
        charrnn_trainer_close(t);
    }
    free(text);
}

/* A state taken and put back makes a stream exactly as it was, also in another
 * stream of the same handle. */
static void test_stream_state_round_trip(void) {
    size_t len;
    char *text = corpus_text(&len);
    charrnn_trainer *t = tiny_trainer(CHARRNN_LSTM, text, len);
    if (!t) { free(text); return; }
    charrnn_error err = {0};
    for (int i = 0; i < 10; i++) charrnn_trainer_step(t, NULL, &err);
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_stream *s;
    CHECK(charrnn_stream_open(&s, m, 2, &err) == 0);
    const int V = charrnn_stream_vocab_size(s);
    size_t n = charrnn_stream_state_size(s);
    CHECK(n == 2 * 2 * 16 + (size_t)V); /* L x (h, c) x H, and the distribution */
    float *st = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * (size_t)V);
    long unk = -1;
    CHECK(charrnn_stream_feed_text(s, "the quick", 9, &unk, &err) == 0 && unk == 0);
    charrnn_stream_get_state(s, 0, st);
    memcpy(want, charrnn_stream_probs(s, 0), sizeof(float) * (size_t)V);
    CHECK(charrnn_stream_feed_text(s, " brown fox", 10, NULL, &err) == 0);
    CHECK(memcmp(want, charrnn_stream_probs(s, 0), sizeof(float) * (size_t)V) != 0);
    charrnn_stream_set_state(s, 0, st);
    charrnn_stream_set_state(s, 1, st);
    for (int j = 0; j < 2; j++) {
        const float *p = charrnn_stream_probs(s, j);
        for (int v = 0; v < V; v++) CHECK_CLOSE(p[v], want[v], 1e-7, 1e-6);
    }
    /* and they go on identically from there */
    int ids[2] = {charrnn_model_char_index(m, ' '), charrnn_model_char_index(m, ' ')};
    CHECK(charrnn_stream_feed(s, ids, &err) == 0);
    CHECK(memcmp(charrnn_stream_probs(s, 0), charrnn_stream_probs(s, 1), sizeof(float) * (size_t)V) == 0);
    charrnn_stream_reset(s);
    CHECK_CLOSE(charrnn_stream_probs(s, 1)[0], 1.0 / V, 1e-7, 0);
    free(st);
    free(want);
    charrnn_stream_close(s);
    charrnn_trainer_close(t);
    free(text);
}

/* A sampler and a stream opened on a training model and kept open across 200
 * steps give what freshly opened ones give: no cached copy goes stale. */
static void test_no_stale_weights(void) {
    size_t len;
    char *text = corpus_text(&len);
    charrnn_trainer *t = tiny_trainer(CHARRNN_LSTM, text, len);
    if (!t) { free(text); return; }
    charrnn_error err = {0};
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_stream *old;
    charrnn_sampler *olds;
    CHECK(charrnn_stream_open(&old, m, 1, &err) == 0);
    CHECK(charrnn_sampler_open(&olds, m, 1, 7, &err) == 0);
    CHECK(charrnn_stream_feed_text(old, "the ", 4, NULL, &err) == 0); /* the view computes its copies now */
    uint32_t c;
    CHECK(charrnn_sampler_next(olds, 1.0f, &c, &err) == 0);
    for (int i = 0; i < 200; i++) CHECK(charrnn_trainer_step(t, NULL, &err) == 0);
    charrnn_stream *fresh;
    CHECK(charrnn_stream_open(&fresh, m, 1, &err) == 0);
    charrnn_stream_reset(old);
    const char *probe = "the quick brown";
    CHECK(charrnn_stream_feed_text(old, probe, strlen(probe), NULL, &err) == 0);
    CHECK(charrnn_stream_feed_text(fresh, probe, strlen(probe), NULL, &err) == 0);
    const int V = charrnn_stream_vocab_size(old);
    double worst = 0;
    for (int v = 0; v < V; v++) {
        double d = fabs(charrnn_stream_probs(old, 0)[v] - charrnn_stream_probs(fresh, 0)[v]);
        worst = d > worst ? d : worst;
    }
    CHECKF(worst == 0, "a stream kept open across training is %g away from a fresh one", worst);
    /* the kept sampler samples exactly as a fresh one primed the same way */
    charrnn_sampler *news;
    CHECK(charrnn_sampler_open(&news, m, 1, 9, &err) == 0);
    charrnn_sampler_close(olds);
    CHECK(charrnn_sampler_open(&olds, m, 1, 9, &err) == 0);
    CHECK(charrnn_sampler_prime(olds, "the ", 4, NULL, NULL, 0, NULL, &err) == 0);
    CHECK(charrnn_sampler_prime(news, "the ", 4, NULL, NULL, 0, NULL, &err) == 0);
    for (int i = 0; i < 50; i++) {
        uint32_t a, b;
        charrnn_sampler_next(olds, 1.0f, &a, &err);
        charrnn_sampler_next(news, 1.0f, &b, &err);
        CHECK(a == b);
    }
    charrnn_sampler_close(olds);
    charrnn_sampler_close(news);
    charrnn_stream_close(old);
    charrnn_stream_close(fresh);
    charrnn_trainer_close(t);
    free(text);
}

/* charrnn_model_set_threads: the work uses the handle's count; the caller's
 * OpenMP setting is the same after every call. */
static void test_threads_per_handle(void) {
    size_t len;
    char *text = corpus_text(&len);
    charrnn_trainer *t = tiny_trainer(CHARRNN_LSTM, text, len);
    if (!t) { free(text); return; }
    charrnn_error err = {0};
    charrnn_model *m = charrnn_trainer_model(t);
#ifdef _OPENMP
    int before = omp_get_max_threads();
    omp_set_num_threads(3);
#endif
    charrnn_eval_result r1, r2;
    charrnn_model_set_threads(m, 1);
    CHECK(charrnn_evaluate(m, text, 4000, "text", 0, NULL, NULL, &r1, &err) == 0);
    charrnn_trainer_set_threads(t, 2);
    CHECK(charrnn_trainer_step(t, NULL, &err) == 0);
    CHECK(charrnn_evaluate(m, text, 4000, "text", 0, NULL, NULL, &r2, &err) == 0);
#ifdef _OPENMP
    CHECKF(omp_get_max_threads() == 3, "the caller's OpenMP threads changed to %d", omp_get_max_threads());
    CHECK(charrnn_get_threads() == 3);
    omp_set_num_threads(before);
#endif
    CHECK(isfinite(r1.nats) && isfinite(r2.nats));
    charrnn_trainer_close(t);
    free(text);
}

static void test_versions(void) {
    CHECK(!strcmp(charrnn_version(), CHARRNN_VERSION));
    CHECK(charrnn_format_version() == CHARRNN_FORMAT_VERSION);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", CHARRNN_VERSION_MAJOR, CHARRNN_VERSION_MINOR, CHARRNN_VERSION_PATCH);
    CHECK(!strcmp(v, CHARRNN_VERSION));
    /* a checkpoint of a newer format is refused naming both versions */
    size_t len;
    char *text = corpus_text(&len);
    charrnn_trainer *t = tiny_trainer(CHARRNN_RNN, text, len);
    if (!t) { free(text); return; }
    charrnn_error err = {0};
    const char *a = t_path("version.safetensors"), *b = t_path("version99.safetensors");
    CHECK(charrnn_trainer_save(t, a, &err) == 0);
    CHECK(checkpoint_rewrite(a, b, 1, (const char *[]){"format_version"}, (const char *[]){"99"}, NULL, NULL, &err) == 0);
    charrnn_model *m;
    int rc = charrnn_model_load(&m, b, &err);
    CHECKF(rc == CHARRNN_EFORMAT && strstr(err.msg, "version 99") && strstr(err.msg, "version 1 at most") &&
           strstr(err.msg, CHARRNN_VERSION), "newer format: %s", err.msg);
    charrnn_trainer_close(t);
    free(text);
}

void register_stream_tests(void) {
    t_register("stream_matches_eval", test_stream_matches_eval);
    t_register("stream_state_round_trip", test_stream_state_round_trip);
    t_register("stream_no_stale_weights", test_no_stale_weights);
    t_register("stream_threads_per_handle", test_threads_per_handle);
    t_register("stream_versions", test_versions);
}
