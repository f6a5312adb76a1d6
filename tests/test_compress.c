/* test_compress.c: what no char-rnn has. Compression round-trips text,
 * Chinese, binary and empty data, with a trained model and with a fresh one
 * that learns as it codes (--adapt); its size is the model's loss; every
 * truncation and a flipped byte of a compressed file are refused cleanly, and
 * so are another model and another thread count. Dynamic evaluation lowers the
 * loss on text whose words repeat. The playground page's forward pass agrees
 * with charrnn's probabilities in Chromium, and measures its own speed (printed,
 * not asserted: a busy machine's speed is no test). The library's models train
 * in float32 (pinned), the same on every processor. Compressed files crafted
 * by hand: test_compress_file.c; what both share: test_compress.h. */
#include "test.h"
#include "charrnn.h"
#include "defaults.h"
#include "test_compress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers (test_compress.h) --------------------------------------------------------------- */

static const char *WORDS[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran", "fog", "in", "big", "red", "box"};

char *compress_make_text(size_t n, unsigned seed) {
    char *s = malloc(n + 64);
    size_t k = 0;
    while (k < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = WORDS[(seed >> 16) % 13];
        k += (size_t)sprintf(s + k, "%s%s", w, (seed >> 8) % 7 ? " " : ".\n");
    }
    s[n] = 0;
    return s;
}

charrnn_trainer *compress_trained(void) {
    char *text = compress_make_text(30000, 1);
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.num_layers = 1;
    mc.rnn_size = 32;
    o.batch_size = 8;
    o.seq_length = 32;
    o.max_iters = 300;
    o.learning_rate = 0.01;
    charrnn_trainer *t = NULL;
    charrnn_error err = {0};
    CHECKF(charrnn_trainer_open(&t, "words", text, strlen(text), &mc, &o, &err) == 0, "%s", err.msg);
    free(text);
    if (t) CHECKF(charrnn_model_set_precision(charrnn_trainer_model(t), CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
    while (t && !charrnn_trainer_done(t)) charrnn_trainer_step(t, NULL, &err);
    return t;
}

int compress_round_trip(charrnn_model *m, const void *data, size_t n, const charrnn_compress_options *o, size_t *packed,
                               const char *what) {
    charrnn_error err = {0};
    void *z = NULL, *back = NULL;
    size_t zn = 0, bn = 0;
    int ok = CHECKF(charrnn_compress(m, data, n, o, &z, &zn, NULL, NULL, &err) == 0, "%s: %s", what, err.msg);
    ok = ok && CHECKF(charrnn_decompress(o->adapt && !m ? NULL : m, z, zn, what, &back, &bn, NULL, NULL, &err) == 0,
                      "%s: %s", what, err.msg);
    ok = ok && CHECKF(bn == n && (n == 0 || !memcmp(back, data, n)), "%s: %zu bytes back of %zu", what, bn, n);
    if (packed) *packed = zn;
    charrnn_free(z);
    charrnn_free(back);
    return ok;
}

static void test_round_trips(void) {
    charrnn_trainer *t = compress_trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    char *text = compress_make_text(20000, 7);
    size_t packed;
    compress_round_trip(m, text, strlen(text), &o, &packed, "text");
    CHECKF(packed < strlen(text) / 3, "20 KB of text packed to %zu bytes", packed);
    compress_round_trip(m, "", 0, &o, NULL, "empty");
    compress_round_trip(m, "t", 1, &o, NULL, "one character");
    const char *zh = "床前明月光，疑是地上霜。the cat sat 舉頭望明月，低頭思故鄉。\n";
    compress_round_trip(m, zh, strlen(zh), &o, NULL, "Chinese (outside the vocabulary: escaped)");
    unsigned char bin[3000];
    unsigned s = 5;
    for (size_t i = 0; i < sizeof bin; i++) { s = s * 1103515245u + 12345u; bin[i] = (unsigned char)(s >> 16); }
    compress_round_trip(m, bin, sizeof bin, &o, NULL, "binary (invalid UTF-8)");
    /* --adapt on the trained model, and with no model at all */
    o.adapt = 1;
    compress_round_trip(m, text, strlen(text), &o, NULL, "adapt, trained model");
    o.rnn_size = 32;
    size_t fresh;
    compress_round_trip(NULL, text, 8000, &o, &fresh, "adapt, fresh byte model");
    compress_round_trip(NULL, bin, sizeof bin, &o, NULL, "adapt, fresh model, binary");
    CHECKF(fresh < 8000 / 2, "a fresh model learning as it codes packed 8 KB of text to %zu bytes", fresh);
    free(text);
    charrnn_trainer_close(t);
}

/* The compressed size is the model's loss: coded bits / characters within 1% of
 * the one-stream evaluation (the header aside). */
static void test_size_matches_loss(void) {
    charrnn_trainer *t = compress_trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    char *text = compress_make_text(60000, 11);
    size_t n = strlen(text);
    charrnn_eval_result r;
    charrnn_error err = {0};
    CHECK(charrnn_evaluate(m, text, n, "text", 1, NULL, NULL, &r, &err) == 0);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    void *z, *z0;
    size_t zn, z0n;
    CHECK(charrnn_compress(m, text, n, &o, &z, &zn, NULL, NULL, &err) == 0);
    CHECK(charrnn_compress(m, "", 0, &o, &z0, &z0n, NULL, NULL, &err) == 0); /* the header alone (and 1 byte) */
    double bits_per_char = 8.0 * (double)(zn - z0n) / (double)n;
    CHECKF(fabs(bits_per_char / r.bpc - 1) < 0.01, "coded %.4f bits per character, eval says %.4f bpc", bits_per_char, r.bpc);
    charrnn_free(z);
    charrnn_free(z0);
    free(text);
    charrnn_trainer_close(t);
}

/* Every truncation fails with a message; so does a flipped byte anywhere in the
 * file, and any flipped bit of its end. */
static void test_damage_refused(void) {
    charrnn_trainer *t = compress_trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    char *text = compress_make_text(2000, 3);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    void *z;
    size_t zn;
    charrnn_error err = {0};
    CHECK(charrnn_compress(m, text, strlen(text), &o, &z, &zn, NULL, NULL, &err) == 0);
    int accepted = 0;
    for (size_t k = 0; k < zn; k++) {
        void *back = NULL;
        size_t bn;
        err.msg[0] = 0;
        int rc = charrnn_decompress(m, z, k, "cut", &back, &bn, NULL, NULL, &err);
        if (rc == 0 || !err.msg[0]) accepted++;
        charrnn_free(back);
    }
    CHECKF(accepted == 0, "%d of %zu truncations were accepted", accepted, zn);
    unsigned char *d = malloc(zn);
    int flips_accepted = 0;
    for (size_t k = 0; k < zn; k += 7) {
        memcpy(d, z, zn);
        d[k] ^= 0x10;
        void *back = NULL;
        size_t bn;
        if (charrnn_decompress(m, d, zn, "flipped", &back, &bn, NULL, NULL, &err) == 0) flips_accepted++;
        charrnn_free(back);
    }
    CHECKF(flips_accepted == 0, "%d flipped files decoded", flips_accepted);
    /* every bit of the last 16 bytes, where the coder's closing bits and the padding lie
     * (bits the decoding itself may never need) */
    flips_accepted = 0;
    for (size_t k = zn > 16 ? zn - 16 : 0; k < zn; k++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(d, z, zn);
            d[k] ^= (unsigned char)(1 << bit);
            void *back = NULL;
            size_t bn;
            if (charrnn_decompress(m, d, zn, "flipped", &back, &bn, NULL, NULL, &err) == 0) flips_accepted++;
            charrnn_free(back);
        }
    CHECKF(flips_accepted == 0, "%d files with a bit of their last 16 bytes flipped decoded", flips_accepted);
    free(d);
    /* another model */
    charrnn_model *other = NULL;
    charrnn_model_config mc;
    charrnn_model_config_default(&mc);
    mc.num_layers = 1;
    mc.rnn_size = 32;
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    uint32_t vocab[256];
    for (int i = 0; i < in.vocab_size; i++) vocab[i] = charrnn_model_vocab(m, i);
    CHECK(charrnn_model_new(&other, &mc, CHARRNN_UNIT_CODEPOINT, vocab, in.vocab_size, 9, &err) == 0);
    void *back = NULL;
    size_t bn;
    CHECK(charrnn_decompress(other, z, zn, "z", &back, &bn, NULL, NULL, &err) == CHARRNN_EMISMATCH &&
          strstr(err.msg, "another model"));
    charrnn_model_close(other);
    charrnn_free(z);
    free(text);
    charrnn_trainer_close(t);
}

static void test_cli(void) {
    const char *corpus = t_path("cz_words.txt"), *dir = t_path("cz_cv");
    char *text = compress_make_text(30000, 1);
    t_write_file(corpus, text, strlen(text));
    free(text);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 32 --max-iters 200 "
                   "--learning-rate 0.01 --threads 1 --checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "%s", err);
    free(err);
    const char *z = t_path("cz.z"), *back = t_path("cz.back");
    rc = t_cli(NULL, &err, "compress '%s/latest.safetensors' '%s' -o '%s'", dir, corpus, z);
    CHECKF(rc == 0 && strstr(err, "bits per byte"), "compress: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "decompress '%s/latest.safetensors' '%s' -o '%s' && cmp '%s' '%s'", dir, z, back, corpus, back);
    CHECKF(rc == 0, "decompress: %s", err);
    free(err);
    /* another thread count than the compressor's is refused, naming both */
    rc = t_cli(NULL, &err, "decompress '%s/latest.safetensors' '%s' -o '%s' --threads 2", dir, z, back);
    CHECKF(rc == 1 && strstr(err, "threads 1") && strstr(err, "threads 2") && strstr(err, "exact decoding"),
           "--threads 2: %d %s", rc, err);
    free(err);
    /* a fresh model from the command line, from stdin to stdout */
    rc = t_cli(NULL, &err, "compress --adapt --rnn-size 32 - -o - < '%s' > '%s.fresh' && %s decompress '%s.fresh' -o - | "
               "cmp - '%s'", corpus, z, t_bin(), z, corpus);
    CHECKF(rc == 0, "compress --adapt through pipes: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "compress '%s' -o '%s'", corpus, z);
    CHECKF(rc == 2 && strstr(err, "--adapt"), "compress without a model: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "decompress '%s/latest.safetensors' '%s' -o '%s'", dir, corpus, back);
    CHECKF(rc == 1 && strstr(err, "not a charrnn compressed file"), "decompress of a text: %s", err);
    free(err);
}

/* An option that would change nothing is refused, never silently dropped: the
 * adaptation options without --adapt, a fresh model's shape with a checkpoint, a
 * checkpoint to decompress a file that made its own fresh model. */
static void test_unused_options_refused(void) {
    const char *corpus = t_path("cz_unused.txt"), *dir = t_path("cz_unused_cv");
    char *text = compress_make_text(3000, 2);
    t_write_file(corpus, text, strlen(text));
    char *e = NULL;
    int rc = t_cli(NULL, &e, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
                   "--threads 1 --checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "%s", e);
    free(e);
    char *ck = t_fmt("%s/latest.safetensors", dir);
    const char *z = t_path("cz_unused.z"), *fresh = t_path("cz_unused_fresh.z"), *out = t_path("cz_unused.out");
    const char *adapt_only[] = {"--segment 8", "--adapt-lr 0.1", "--adapt-rms-decay 0.9", "--adapt-decay 0.1"};
    for (int i = 0; i < 4; i++) {
        rc = t_cli(NULL, &e, "compress '%s' '%s' -o '%s' %s", ck, corpus, z, adapt_only[i]);
        char opt[32];
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(adapt_only[i], " "), adapt_only[i]);
        CHECKF(rc == 2 && strstr(e, opt) && strstr(e, "only with --adapt") && !t_read_file(z, NULL),
               "%s without --adapt: %d %s", adapt_only[i], rc, e);
        free(e);
    }
    const char *fresh_only[] = {"--model gru", "--num-layers 2", "--rnn-size 8", "--seed 3"};
    for (int i = 0; i < 4; i++) {
        rc = t_cli(NULL, &e, "compress '%s' '%s' -o '%s' --adapt %s", ck, corpus, z, fresh_only[i]);
        char opt[32];
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(fresh_only[i], " "), fresh_only[i]);
        CHECKF(rc == 2 && strstr(e, opt) && strstr(e, "fresh model") && !t_read_file(z, NULL),
               "%s with a checkpoint: %d %s", fresh_only[i], rc, e);
        free(e);
    }
    rc = t_cli(NULL, &e, "compress --adapt --rnn-size 8 '%s' -o '%s'", corpus, fresh);
    CHECKF(rc == 0, "%s", e);
    free(e);
    rc = t_cli(NULL, &e, "decompress '%s' '%s' -o '%s'", ck, fresh, out);
    CHECKF(rc == 2 && strstr(e, fresh) && strstr(e, "without a checkpoint") && !t_read_file(out, NULL),
           "a checkpoint for a fresh model's file: %d %s", rc, e);
    free(e);
    /* the library says the same */
    charrnn_model *m = NULL;
    charrnn_error err = {0};
    size_t zn = 0, bn = 0;
    char *zb = t_read_file(fresh, &zn);
    void *back = NULL;
    CHECK(charrnn_model_load(&m, ck, &err) == 0);
    CHECKF(zb && charrnn_decompress(m, zb, zn, "f.z", &back, &bn, NULL, NULL, &err) == CHARRNN_EINVAL &&
           strstr(err.msg, "without a checkpoint"), "%s", err.msg);
    charrnn_free(back);
    charrnn_model_close(m);
    free(zb);
    free(ck);
    free(text);
}

/* Text whose rare words come back: dynamic evaluation learns them as it reads. */
static void test_dynamic_eval_gains(void) {
    charrnn_trainer *t = compress_trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    /* held-out text of the same kind, with two new words used again and again */
    char *base = compress_make_text(12000, 21);
    char *text = malloc(20000);
    size_t k = 0;
    for (char *p = base; *p && k < 18000; p++) {
        text[k++] = *p;
        if (*p == '\n') k += (size_t)sprintf(text + k, "%s", (k / 40) % 2 ? "zebra quiz " : "jazz zebra ");
    }
    text[k] = 0;
    charrnn_eval_result st, dy;
    charrnn_error err = {0};
    CHECK(charrnn_evaluate(m, text, k, "text", 1, NULL, NULL, &st, &err) == 0);
    charrnn_dynamic_options o;
    charrnn_dynamic_options_default(&o);
    o.learning_rate = 1e-4;
    CHECKF(charrnn_model_adapt(m, text, k, "text", &o, NULL, NULL, &dy, &err) == 0, "%s", err.msg);
    CHECKF(dy.nats < st.nats - 0.01 && dy.predicted == st.predicted,
           "dynamic %.4f nats should be below static %.4f", dy.nats, st.nats);
    free(base);
    free(text);
    charrnn_trainer_close(t);
}

/* ---- the playground page in Chromium ------------------------------------------------------- */

static char *chromium(void) {
    char *out = NULL;
    if (t_run("command -v chromium", &out, NULL) != 0 || !out[0]) { free(out); return NULL; }
    out[strcspn(out, "\n")] = 0;
    return out;
}

static char *dom_of(const char *browser, const char *page, const char *frag) {
    static int profile;
    char *cmd = t_fmt("timeout 180 '%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
                      "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s/chr-play-%d' "
                      "--dump-dom 'file://%s%s'", browser, t_tmpdir(), profile++, page, frag);
    char *out = NULL;
    t_run(cmd, &out, NULL);
    free(cmd);
    return out;
}

/* The attribute's value in the <html ...> tag, malloc'd, or NULL. */
static char *attr(const char *dom, const char *name) {
    const char *html = strstr(dom, "<html");
    if (!html) return NULL;
    size_t tag = strcspn(html, ">"), klen = strlen(name);
    for (size_t i = 0; i + klen + 2 < tag; i++)
        if (!strncmp(html + i, name, klen) && html[i + klen] == '=' && html[i + klen + 1] == '"') {
            const char *v = html + i + klen + 2;
            return strndup(v, strcspn(v, "\""));
        }
    return NULL;
}

static void test_play_page(void) {
    char *browser = chromium();
    if (!browser) return; /* chromium() said it skips */
    const char *corpus = t_path("play_words.txt"), *dir = t_path("play_cv"), *page = t_path("play.html");
    char *text = compress_make_text(60000, 1);
    t_write_file(corpus, text, strlen(text));
    free(text);
    const char *cells[] = {"lstm", "gru", "rnn"};
    for (int c = 0; c < 3; c++) {
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' --model %s --rnn-size 128 --num-layers 2 --batch-size 8 --seq-length 32 "
                       "--max-iters 40 --threads 1 --checkpoint-dir '%s' --force", corpus, cells[c], dir);
        CHECKF(rc == 0, "%s", err);
        free(err);
        char *ck = t_fmt("%s/latest.safetensors", dir);
        rc = t_cli(NULL, &err, "play '%s' -o '%s'", ck, page);
        CHECKF(rc == 0 && strstr(err, "MB"), "play: %s", err);
        free(err);
        /* charrnn's own probabilities after the prefix */
        charrnn_model *m;
        charrnn_stream *s;
        charrnn_error e = {0};
        const char *prefix = "the big red dog ran in the fog.\nthe c";
        CHECK(charrnn_model_load(&m, ck, &e) == 0 && charrnn_stream_open(&s, m, 1, &e) == 0);
        charrnn_stream_feed_text(s, prefix, strlen(prefix), NULL, &e);
        const float *p = charrnn_stream_probs(s, 0);
        int V = charrnn_stream_vocab_size(s);
        char *dom = dom_of(browser, page, "#test=the%20big%20red%20dog%20ran%20in%20the%20fog.%0Athe%20c&n=4000");
        char *probs = attr(dom, "data-probs"), *speed = attr(dom, "data-chars-per-s");
        char *ready = attr(dom, "data-ready"), *error = attr(dom, "data-error");
        CHECKF(ready && !strcmp(ready, "1") && !error, "%s page did not run: %s", cells[c], error ? error : "not ready");
        free(ready);
        free(error);
        double worst = 0;
        int n = 0;
        for (char *q = probs ? probs + 1 : NULL; q && *q && n < V; n++) {
            double v = strtod(q, &q);
            worst = fabs(v - p[n]) > worst ? fabs(v - p[n]) : worst;
            if (*q == ',') q++;
        }
        CHECKF(n == V && worst <= 1e-4, "%s: the page's probabilities (%d of %d) are %g from charrnn's", cells[c], n, V, worst);
        /* the page timed its 4000 characters: a speed is reported (how fast depends on the machine and its load) */
        double cps = speed ? atof(speed) : 0;
        fprintf(stderr, "(%s %.0f chars/s) ", cells[c], cps);
        CHECKF(speed && isfinite(cps) && cps > 0, "%s: the page reports no speed: %s", cells[c], speed ? speed : "none");
        free(probs);
        free(speed);
        free(dom);
        free(ck);
        charrnn_stream_close(s);
        charrnn_model_close(m);
    }
    /* int8 weights: a quarter of the size, close to float32 */
    char *err;
    const char *page8 = t_path("play.int8.html");
    int rc = t_cli(NULL, &err, "play '%s/latest.safetensors' -o '%s' --weights int8", dir, page8);
    CHECKF(rc == 0 && strstr(err, "int8"), "%s", err);
    free(err);
    char *a = t_read_file(page, NULL), *b = t_read_file(page8, NULL);
    CHECKF(a && b && strlen(b) < strlen(a) * 0.45, "int8 page %zu bytes, float32 %zu", b ? strlen(b) : 0, a ? strlen(a) : 0);
    free(a);
    free(b);
    free(browser);
}

void register_compress_tests(void) {
    t_register("compress_round_trips", test_round_trips);
    t_register("compress_size_matches_loss", test_size_matches_loss);
    t_register("compress_damage_refused", test_damage_refused);
    t_register("compress_cli", test_cli);
    t_register("compress_unused_options_refused", test_unused_options_refused);
    t_register("compress_dynamic_eval_gains", test_dynamic_eval_gains);
    t_register("compress_play_page", test_play_page);
}
