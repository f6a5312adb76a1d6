/* test_library.c: the library's promises to a program that embeds it. Handles
 * close in any order: a stream or sampler keeps its model (loaded, new, a
 * trainer's) and an n-gram sampler its n-gram model alive, with the same
 * results whether the model's own handle was closed first or not (the
 * SANITIZE=1 build proves there is no use after free, nor a leak). NULL options
 * are the defaults wherever an options pointer is taken. Messages that quote a
 * file's contents (checkpoints, n-gram files, safetensors headers) escape its
 * control characters. */
#include "test.h"
#include "charrnn.h"
#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *TEXT = "a cat sat on a mat. the dog ran in the fog. ";

static char *corpus(size_t reps, size_t *len) {
    size_t n = strlen(TEXT);
    char *s = malloc(n * reps + 1);
    for (size_t i = 0; i < reps; i++) memcpy(s + i * n, TEXT, n);
    s[n * reps] = 0;
    *len = n * reps;
    return s;
}

static charrnn_trainer *small_trainer(void) {
    size_t len;
    char *text = corpus(200, &len);
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.num_layers = 1;
    mc.rnn_size = 16;
    o.batch_size = 4;
    o.seq_length = 16;
    o.max_iters = 20;
    charrnn_trainer *t = NULL;
    charrnn_error err = {0};
    CHECKF(charrnn_trainer_open(&t, "the text", text, len, &mc, &o, &err) == 0, "%s", err.msg);
    free(text);
    for (int i = 0; t && i < 20; i++) charrnn_trainer_step(t, NULL, &err);
    return t;
}

/* ---- lifetimes ---------------------------------------------------------------------- */

enum { LOADED, MADE, TRAINERS, NUM_KINDS };
static const char *KIND[] = {"a loaded model", "a new model", "a trainer's model"};

static charrnn_model *open_kind(int kind, const char *ck, charrnn_trainer **t) {
    charrnn_error err = {0};
    charrnn_model *m = NULL;
    *t = NULL;
    if (kind == LOADED) {
        CHECKF(charrnn_model_load(&m, ck, &err) == 0, "%s", err.msg);
    } else if (kind == MADE) {
        charrnn_model_config mc;
        charrnn_model_config_default(&mc);
        mc.rnn_size = 16;
        uint32_t vocab[95];
        for (int i = 0; i < 95; i++) vocab[i] = (uint32_t)(32 + i);
        CHECKF(charrnn_model_new(&m, &mc, CHARRNN_UNIT_CODEPOINT, vocab, 95, 3, &err) == 0, "%s", err.msg);
    } else {
        *t = small_trainer();
        m = *t ? charrnn_trainer_model(*t) : NULL;
    }
    return m;
}

/* Gives up the caller's handle on the model as its owner does. */
static void close_kind(int kind, charrnn_model *m, charrnn_trainer *t) {
    if (kind == TRAINERS) charrnn_trainer_close(t);
    else charrnn_model_close(m);
}

/* A stream's distribution after "the c" (and a round trip of its state), into probs. */
static void read_stream(charrnn_stream *s, float *probs) {
    charrnn_error err = {0};
    charrnn_stream_reset(s);
    CHECKF(charrnn_stream_feed_text(s, "the c", 5, NULL, &err) == 0, "%s", err.msg);
    float *st = malloc(sizeof(float) * charrnn_stream_state_size(s));
    charrnn_stream_get_state(s, 0, st);
    charrnn_stream_set_state(s, 0, st);
    free(st);
    memcpy(probs, charrnn_stream_probs(s, 0), sizeof(float) * (size_t)charrnn_stream_vocab_size(s));
}

/* 40 characters of a sampler after the prime "the ". */
static void draw(charrnn_sampler *s, uint32_t *out) {
    charrnn_error err = {0};
    CHECKF(charrnn_sampler_prime(s, "the ", 4, NULL, NULL, 0, NULL, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 40; i++) CHECKF(charrnn_sampler_next(s, 1.0f, out + i, &err) == 0, "%s", err.msg);
}

static void test_close_any_order(void) {
    charrnn_trainer *t0 = small_trainer();
    if (!t0) return;
    const char *ck = t_path("lib_life.safetensors");
    charrnn_error err = {0};
    CHECKF(charrnn_trainer_save(t0, ck, &err) == 0, "%s", err.msg);
    charrnn_trainer_close(t0);
    for (int kind = 0; kind < NUM_KINDS; kind++) {
        /* the model's handle first: two streams and two samplers, one of each used before, one after */
        charrnn_trainer *t;
        charrnn_model *m = open_kind(kind, ck, &t);
        if (!m) continue;
        charrnn_stream *s1 = NULL, *s2 = NULL;
        charrnn_sampler *a1 = NULL, *a2 = NULL;
        CHECK(charrnn_stream_open(&s1, m, 1, &err) == 0 && charrnn_stream_open(&s2, m, 1, &err) == 0);
        CHECK(charrnn_sampler_open(&a1, m, 1, 7, &err) == 0 && charrnn_sampler_open(&a2, m, 1, 7, &err) == 0);
        if (!s1 || !s2 || !a1 || !a2) return;
        const int V = charrnn_stream_vocab_size(s1);
        float *p1 = malloc(sizeof(float) * (size_t)V), *p2 = malloc(sizeof(float) * (size_t)V),
              *p3 = malloc(sizeof(float) * (size_t)V);
        uint32_t d1[40], d2[40];
        read_stream(s1, p1);
        draw(a1, d1);
        close_kind(kind, m, t);
        read_stream(s2, p2);
        read_stream(s1, p3);
        draw(a2, d2);
        CHECKF(!memcmp(p1, p2, sizeof(float) * (size_t)V) && !memcmp(p1, p3, sizeof(float) * (size_t)V),
               "%s: a stream reads differently once the model's handle is closed", KIND[kind]);
        CHECKF(!memcmp(d1, d2, sizeof d1), "%s: a sampler draws differently once the model's handle is closed",
               KIND[kind]);
        charrnn_stream_close(s1);
        charrnn_sampler_close(a1);
        read_stream(s2, p2); /* one closed stream or sampler does not take the model from the others */
        draw(a2, d2);
        CHECKF(!memcmp(p1, p2, sizeof(float) * (size_t)V), "%s: a stream reads differently once another closed",
               KIND[kind]);
        charrnn_sampler_close(a2);
        charrnn_stream_close(s2);
        /* the streams and samplers first: the model stays usable until its own close */
        m = open_kind(kind, ck, &t);
        if (!m) { free(p1); free(p2); free(p3); continue; }
        CHECK(charrnn_stream_open(&s1, m, 1, &err) == 0 && charrnn_sampler_open(&a1, m, 1, 7, &err) == 0);
        read_stream(s1, p2);
        charrnn_sampler_close(a1);
        charrnn_stream_close(s1);
        charrnn_eval_result r;
        CHECKF(charrnn_evaluate(m, "the cat sat", 11, "text", 1, NULL, NULL, &r, &err) == 0 && r.predicted > 0,
               "%s after its streams closed: %s", KIND[kind], err.msg);
        /* one block of a text needs the run's split: a model made in memory has none */
        int rc = charrnn_evaluate_split(m, "the cat sat", 11, "text", CHARRNN_BLOCK_TRAIN, 1, NULL, NULL, &r, &err);
        if (kind == MADE)
            CHECKF(rc == CHARRNN_EINVAL && strstr(err.msg, "records no training run"),
                   "a made model's split evaluation: %d %s", rc, err.msg);
        else
            CHECKF(rc == 0 && r.predicted > 0 && r.predicted < 10, "%s: its training block of the text: %d %s (%ld)",
                   KIND[kind], rc, err.msg, r.predicted);
        close_kind(kind, m, t);
        free(p1);
        free(p2);
        free(p3);
    }
}

/* The same for n-gram models, built and loaded. */
static void test_ngram_close_any_order(void) {
    size_t len;
    char *text = corpus(100, &len);
    charrnn_ngram_options o;
    charrnn_ngram_options_default(&o);
    o.order = 4;
    charrnn_error err = {0};
    charrnn_ngram *g = NULL;
    CHECKF(charrnn_ngram_build(&g, "text", text, len, &o, NULL, NULL, &err) == 0, "%s", err.msg);
    free(text);
    if (!g) return;
    const char *path = t_path("lib_life.ngram");
    CHECKF(charrnn_ngram_save(g, path, &err) == 0, "%s", err.msg);
    for (int loaded = 0; loaded < 2; loaded++) {
        if (loaded) CHECKF(charrnn_ngram_load(&g, path, &err) == 0, "%s", err.msg);
        if (!g) return;
        charrnn_ngram_sampler *a1 = NULL, *a2 = NULL;
        CHECK(charrnn_ngram_sampler_open(&a1, g, 5, &err) == 0 && charrnn_ngram_sampler_open(&a2, g, 5, &err) == 0);
        if (!a1 || !a2) return;
        uint32_t d1[60], d2[60];
        CHECK(charrnn_ngram_sampler_prime(a1, "the ", 4, NULL, NULL, 0, NULL, &err) == 0);
        for (int i = 0; i < 60; i++) charrnn_ngram_sampler_next(a1, 1.0f, d1 + i, &err);
        charrnn_ngram_close(g);
        CHECK(charrnn_ngram_sampler_prime(a2, "the ", 4, NULL, NULL, 0, NULL, &err) == 0);
        for (int i = 0; i < 60; i++) charrnn_ngram_sampler_next(a2, 1.0f, d2 + i, &err);
        CHECKF(!memcmp(d1, d2, sizeof d1), "%s n-gram model: its sampler draws differently once it is closed",
               loaded ? "a loaded" : "a built");
        charrnn_ngram_sampler_close(a2);
        for (int i = 0; i < 60; i++) charrnn_ngram_sampler_next(a1, 1.0f, d1 + i, &err);
        charrnn_ngram_sampler_close(a1);
        /* the sampler first: the model stays usable */
        CHECKF(charrnn_ngram_load(&g, path, &err) == 0, "%s", err.msg);
        if (!g) return;
        CHECK(charrnn_ngram_sampler_open(&a1, g, 5, &err) == 0);
        charrnn_ngram_sampler_close(a1);
        charrnn_ngram_info info;
        charrnn_ngram_get_info(g, &info);
        double *p = malloc(sizeof(double) * (size_t)info.vocab_size);
        CHECK(info.order == 4 && charrnn_ngram_probs(g, NULL, 0, p, &err) == 0);
        free(p);
        charrnn_ngram_close(g);
        g = NULL;
    }
}

/* ---- NULL options ------------------------------------------------------------------ */

static void test_null_options(void) {
    charrnn_error err = {0};
    CHECKF(charrnn_check_run_settings(NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(charrnn_sample_config_check(NULL, &err) == 0);
    size_t len;
    char *text = corpus(400, &len);
    charrnn_model_config dmc;
    charrnn_model_config_default(&dmc);
    /* a trainer of the default shape and run, from memory and from a file */
    const char *file = t_path("lib_null.txt");
    t_write_file(file, text, len);
    charrnn_trainer *t = NULL, *tf = NULL;
    CHECKF(charrnn_trainer_open(&t, NULL, text, len, NULL, NULL, &err) == 0, "%s", err.msg);
    CHECKF(charrnn_trainer_open_file(&tf, file, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
    charrnn_train_options dto;
    charrnn_train_options_default(&dto);
    if (t) {
        charrnn_model_info in;
        charrnn_model_get_info(charrnn_trainer_model(t), &in);
        CHECK(in.config.num_layers == dmc.num_layers && in.config.rnn_size == dmc.rnn_size &&
              charrnn_trainer_options(t)->batch_size == dto.batch_size);
        charrnn_trainer_close(t);
    }
    charrnn_trainer_close(tf);
    /* a new model of the default shape; sampling, adapting and compressing with NULL settings */
    uint32_t vocab[95];
    for (int i = 0; i < 95; i++) vocab[i] = (uint32_t)(32 + i);
    charrnn_model *m = NULL;
    CHECKF(charrnn_model_new(&m, NULL, CHARRNN_UNIT_CODEPOINT, vocab, 95, 1, &err) == 0, "%s", err.msg);
    if (m) {
        charrnn_model_info in;
        charrnn_model_get_info(m, &in);
        CHECK(in.config.rnn_size == dmc.rnn_size && in.config.num_layers == dmc.num_layers);
        charrnn_sampler *s = NULL;
        uint32_t c;
        CHECK(charrnn_sampler_open(&s, m, 1, 1, &err) == 0 && charrnn_sampler_configure(s, NULL, &err) == 0 &&
              charrnn_sampler_draw(s, &c, &err) == 0);
        charrnn_sampler_close(s);
        charrnn_compress_options dco;
        charrnn_compress_options_default(&dco);
        void *z1 = NULL, *z2 = NULL, *back = NULL;
        size_t n1 = 0, n2 = 0, bn = 0;
        CHECKF(charrnn_compress(m, text, 2000, NULL, &z1, &n1, NULL, NULL, &err) == 0, "%s", err.msg);
        CHECKF(charrnn_compress(m, text, 2000, &dco, &z2, &n2, NULL, NULL, &err) == 0, "%s", err.msg);
        CHECK(n1 == n2 && z1 && z2 && !memcmp(z1, z2, n1));
        CHECKF(charrnn_decompress(m, z1, n1, "z", &back, &bn, NULL, NULL, &err) == 0 && bn == 2000 &&
               !memcmp(back, text, 2000), "%s", err.msg);
        charrnn_free(z1);
        charrnn_free(z2);
        charrnn_free(back);
        charrnn_eval_result r;
        CHECKF(charrnn_model_adapt(m, text, 2000, "text", NULL, NULL, NULL, &r, &err) == 0 && r.predicted > 0, "%s",
               err.msg);
        charrnn_model_close(m);
    }
    /* without a model, NULL options (no adapt) is a refusal, not a crash */
    void *z = NULL;
    size_t zn = 0;
    CHECKF(charrnn_compress(NULL, text, 100, NULL, &z, &zn, NULL, NULL, &err) == CHARRNN_EINVAL &&
           strstr(err.msg, "adapt"), "%s", err.msg);
    charrnn_ngram *g = NULL;
    CHECKF(charrnn_ngram_build(&g, NULL, text, len, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
    if (g) {
        charrnn_ngram_info gi;
        charrnn_ngram_options dno;
        charrnn_ngram_options_default(&dno);
        charrnn_ngram_get_info(g, &gi);
        CHECK(gi.order == dno.order);
        charrnn_ngram_close(g);
    }
    free(text);
}

/* ---- messages that quote a file ------------------------------------------------------ */

/* No byte a terminal would act on: C0 controls, DEL, C1 (as UTF-8), bidi overrides. */
static int clean(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) ||
            (p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0xae))
            return 0;
    return 1;
}

/* The public text helpers: decoding inverts encoding for every scalar value
 * class, refuses what strict UTF-8 refuses, and the unsafe code points are the
 * ones the library's own messages escape (one list: charrnn_unsafe_codepoint). */
static void test_public_utf8(void) {
    const uint32_t cps[] = {0, 'a', 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0x10000, 0x10ffff};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char u[4];
        uint32_t back = 0xdead;
        int n = charrnn_utf8_encode(cps[i], u);
        CHECKF(charrnn_utf8_decode(u, (size_t)n, &back) == n && back == cps[i], "U+%04X: %u", (unsigned)cps[i],
               (unsigned)back);
        CHECKF(n == 1 || charrnn_utf8_decode(u, (size_t)n - 1, &back) == 0, "U+%04X cut short decodes", (unsigned)cps[i]);
    }
    const char *bad[] = {"\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp;
        CHECKF(charrnn_utf8_decode(bad[i], strlen(bad[i]), &cp) == 0, "invalid sequence %zu decodes", i);
    }
    const uint32_t unsafe[] = {0x1b, 0x7f, 0x9b, 0xad, 0x200b, 0x202e, 0x2066, 0xfeff, 0xe0041};
    const uint32_t safe[] = {' ', 'a', 0xa0, 0xe9, 0x4e2d, 0x1f600};
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        char u[5] = {0}, out[32];
        u[charrnn_utf8_encode(unsafe[i], u)] = 0;
        CHECKF(charrnn_unsafe_codepoint(unsafe[i]) && strchr(cr_esc(out, sizeof out, u, strlen(u)), '\\'),
               "U+%04X: not unsafe, or not escaped in messages (%s)", (unsigned)unsafe[i], out);
    }
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        CHECKF(!charrnn_unsafe_codepoint(safe[i]), "U+%04X is called unsafe", (unsigned)safe[i]);
}

static void test_escape_helper(void) {
    char out[200];
    const char in[] = "a\x1b[31m\\\n\t\x7f\xc2\x9b\xe2\x80\xae\xff\xc3\xa9\xe4\xb8\xad";
    cr_esc(out, sizeof out, in, sizeof in - 1);
    CHECKF(!strcmp(out, "a\\x1b[31m\\\\\\n\\t\\x7f\\u{009B}\\u{202E}\\xff\xc3\xa9\xe4\xb8\xad"), "%s", out);
    const char nul[] = {'x', 0, 'y'};
    char small[16];
    CHECKF(!strcmp(cr_esc(small, sizeof small, nul, 3), "x\\x00y"), "%s", small);
    /* sequences that are not UTF-8 come out byte by byte, also where their first bytes
     * would decode to a backslash, \n, \t or \r (overlong or cut short) */
    const char bad[] = "\xe0\x81\x9c|\xe0\x8aZ|\xf0\x80\x80\x89|\xe0\x80\x8d";
    char bout[80];
    CHECKF(!strcmp(cr_esc(bout, sizeof bout, bad, sizeof bad - 1),
                   "\\xe0\\x81\\x9c|\\xe0\\x8aZ|\\xf0\\x80\\x80\\x89|\\xe0\\x80\\x8d"), "%s", bout);
    /* every capacity: cut with "...", never past the buffer, never half a sequence or escape */
    for (size_t cap = 8; cap < 60; cap++) {
        char buf[80];
        memset(buf, 'Z', sizeof buf);
        cr_esc(buf, cap, in, sizeof in - 1);
        size_t n = strlen(buf);
        CHECKF(n < cap && buf[cap] == 'Z' && clean(buf), "cap %zu: %s", cap, buf);
        CHECKF(n == strlen(out) || (n >= 3 && !strcmp(buf + n - 3, "...") && !strncmp(buf, out, n - 3)),
               "cap %zu: %s is not a cut of %s", cap, buf, out);
    }
}

/* Checkpoints, safetensors headers and n-gram files whose quoted strings hold
 * terminal escapes: every message quotes them escaped, in the library and at the
 * command line. */
static void test_quoted_contents_escaped(void) {
    static const char ESC[] = "\\u001b[31m\\u009b\\u202e"; /* ESC, CSI, RLO as JSON escapes */
    struct { const char *what, *json; int ngram; } cases[] = {
        {"a checkpoint's format_version", "{\"__metadata__\":{\"format\":\"charrnn\",\"format_version\":\"1%s\"}}", 0},
        {"a checkpoint's checksum",
         "{\"__metadata__\":{\"format\":\"charrnn\",\"format_version\":\"1\",\"checksum\":\"x%s\"}}", 0},
        {"an n-gram file's checksum",
         "{\"__metadata__\":{\"format\":\"charrnn-ngram\",\"format_version\":\"1\",\"checksum\":\"x%s\"}}", 1},
        {"a tensor's name", "{\"w%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 0},
        {"a tensor's dtype", "{\"w\":{\"dtype\":\"F%s\",\"shape\":[1],\"data_offsets\":[0,4]}}", 1},
        {"a metadata key", "{\"__metadata__\":{\"k%s\":1}}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = t_fmt(cases[i].json, ESC);
        const char *path = t_path("lib_esc.safetensors");
        t_write_safetensors(path, json, "\0\0\0\0", 4 * (strstr(json, "data_offsets") != NULL));
        free(json);
        charrnn_error err = {0};
        int rc;
        if (cases[i].ngram) {
            charrnn_ngram *g = NULL;
            rc = charrnn_ngram_load(&g, path, &err);
            charrnn_ngram_close(g);
        } else {
            charrnn_model *m = NULL;
            rc = charrnn_model_load(&m, path, &err);
            charrnn_model_close(m);
        }
        CHECKF(rc != 0 && clean(err.msg) && strstr(err.msg, "\\x1b[31m\\u{009B}\\u{202E}"), "%s: %s", cases[i].what,
               err.msg);
        char *e = NULL;
        rc = t_cli(NULL, &e, "sample '%s'", path);
        size_t line = e ? strcspn(e, "\n") : 0; /* one line, and nothing raw in it */
        CHECKF(rc != 0 && e && !strcmp(e + line, "\n") && (e[line] = 0, clean(e)) && strstr(e, "\\x1b"),
               "%s, at the command line: %s", cases[i].what, e);
        free(e);
    }
}

/* charrnn_struct_layout reports what this build compiled (the Python binding checks its ctypes copies
 * against it): sizes and offsets equal sizeof/offsetof here, unknown names are -1. */
static void test_struct_layout(void) {
    CHECK(charrnn_struct_layout("charrnn_sample_config", NULL) == (long)sizeof(charrnn_sample_config));
    CHECK(charrnn_struct_layout("charrnn_sample_config", "top_p") == (long)offsetof(charrnn_sample_config, top_p));
    CHECK(charrnn_struct_layout("charrnn_train_options", "seed") == (long)offsetof(charrnn_train_options, seed));
    CHECK(charrnn_struct_layout("charrnn_train_options", "val_max_chars") ==
          (long)offsetof(charrnn_train_options, val_max_chars));
    CHECK(charrnn_struct_layout("charrnn_model_info", "run_id") == (long)offsetof(charrnn_model_info, run_id));
    CHECK(charrnn_struct_layout("charrnn_eval_result", NULL) == (long)sizeof(charrnn_eval_result));
    CHECK(charrnn_struct_layout("charrnn_step_stats", "skipped_total") == (long)offsetof(charrnn_step_stats, skipped_total));
    CHECK(charrnn_struct_layout("charrnn_error", "msg") == (long)offsetof(charrnn_error, msg));
    CHECK(charrnn_struct_layout("charrnn_compress_options", NULL) == (long)sizeof(charrnn_compress_options));
    CHECK(charrnn_struct_layout("charrnn_compress_options", "lanes") == (long)offsetof(charrnn_compress_options, lanes));
    CHECK(charrnn_struct_layout("charrnn_sample_config", "no_such_field") == -1);
    CHECK(charrnn_struct_layout("no_such_struct", NULL) == -1);
    CHECK(charrnn_struct_layout(NULL, NULL) == -1);
}

void register_library_tests(void) {
    t_register("library_struct_layout", test_struct_layout);
    t_register("library_close_any_order", test_close_any_order);
    t_register("library_ngram_close_any_order", test_ngram_close_any_order);
    t_register("library_null_options", test_null_options);
    t_register("library_escape_helper", test_escape_helper);
    t_register("library_public_utf8", test_public_utf8);
    t_register("library_quoted_contents_escaped", test_quoted_contents_escaped);
}
