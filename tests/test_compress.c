/* test_compress.c: what no char-rnn has. Compression round-trips text,
 * Chinese, binary and empty data, with a trained model and with a fresh one
 * that learns as it codes (--adapt); its size is the model's loss; every
 * truncation and a flipped byte of a compressed file are refused cleanly, and
 * so are another model and another thread count. Dynamic evaluation lowers the
 * loss on text whose words repeat. The playground page's forward pass agrees
 * with charrnn's probabilities in Chromium, and measures its own speed (printed,
 * not asserted: a busy machine's speed is no test). The library's models train
 * in float32 (pinned), the same on every processor. */
#include "test.h"
#include "charrnn.h"
#include "defaults.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *WORDS[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran", "fog", "in", "big", "red", "box"};

static char *make_text(size_t n, unsigned seed) {
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

static charrnn_trainer *trained(void) {
    char *text = make_text(30000, 1);
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

static int round_trip(charrnn_model *m, const void *data, size_t n, const charrnn_compress_options *o, size_t *packed,
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
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    char *text = make_text(20000, 7);
    size_t packed;
    round_trip(m, text, strlen(text), &o, &packed, "text");
    CHECKF(packed < strlen(text) / 3, "20 KB of text packed to %zu bytes", packed);
    round_trip(m, "", 0, &o, NULL, "empty");
    round_trip(m, "t", 1, &o, NULL, "one character");
    const char *zh = "床前明月光，疑是地上霜。the cat sat 舉頭望明月，低頭思故鄉。\n";
    round_trip(m, zh, strlen(zh), &o, NULL, "Chinese (outside the vocabulary: escaped)");
    unsigned char bin[3000];
    unsigned s = 5;
    for (size_t i = 0; i < sizeof bin; i++) { s = s * 1103515245u + 12345u; bin[i] = (unsigned char)(s >> 16); }
    round_trip(m, bin, sizeof bin, &o, NULL, "binary (invalid UTF-8)");
    /* --adapt on the trained model, and with no model at all */
    o.adapt = 1;
    round_trip(m, text, strlen(text), &o, NULL, "adapt, trained model");
    o.rnn_size = 32;
    size_t fresh;
    round_trip(NULL, text, 8000, &o, &fresh, "adapt, fresh byte model");
    round_trip(NULL, bin, sizeof bin, &o, NULL, "adapt, fresh model, binary");
    CHECKF(fresh < 8000 / 2, "a fresh model learning as it codes packed 8 KB of text to %zu bytes", fresh);
    free(text);
    charrnn_trainer_close(t);
}

/* The compressed size is the model's loss: coded bits / characters within 1% of
 * the one-stream evaluation (the header aside). */
static void test_size_matches_loss(void) {
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    char *text = make_text(60000, 11);
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
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    char *text = make_text(2000, 3);
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
    char *text = make_text(30000, 1);
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

/* ---- crafted files: a header edited and its CRC recomputed --------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}
static void le_put(unsigned char *p, uint64_t v, int bytes) { for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint64_t le_get(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The file's layout: magic 8, version 4, flags 4, length 8, crc 4, payload 8, model 8,
 * build length 4 (at 44) and the build string (at 48), then the fields below, then the header's CRC. */
enum { F_SEGMENT = 0, F_LR = 4, F_DECAY = 12, F_RHO = 20, F_EPS = 28, F_CELL = 36, F_LAYERS = 40, F_SIZE = 44,
       F_SEED = 48, F_END = 56, OFF_LENGTH = 16, OFF_BUILD = 48 };

typedef struct zfile { unsigned char *b; size_t n; } zfile;

static size_t build_len(const zfile *z) { return (size_t)le_get(z->b + 44, 4); }
static unsigned char *fields(const zfile *z) { return z->b + OFF_BUILD + build_len(z); }
static void reseal(zfile *z) {
    size_t hl = OFF_BUILD + build_len(z) + F_END;
    le_put(z->b + hl, crc32_of(z->b, hl), 4);
}
static zfile zcopy(const void *p, size_t n) {
    zfile z = {malloc(n), n};
    memcpy(z.b, p, n);
    return z;
}
/* A copy of z whose build string is build[0..bl). */
static zfile with_build(const zfile *z, const char *build, size_t bl) {
    size_t old = build_len(z), n = z->n - old + bl;
    zfile r = {malloc(n), n};
    memcpy(r.b, z->b, OFF_BUILD);
    le_put(r.b + 44, bl, 4);
    memcpy(r.b + OFF_BUILD, build, bl);
    memcpy(r.b + OFF_BUILD + bl, z->b + OFF_BUILD + old, z->n - OFF_BUILD - old);
    reseal(&r);
    return r;
}

/* A few KB of text compressed by a fresh 1 x 16 model that learns as it codes. */
static zfile fresh_file(size_t len, char **text_out) {
    char *text = make_text(len, 5);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    o.adapt = 1;
    o.rnn_size = 16;
    void *z = NULL;
    size_t zn = 0;
    charrnn_error err = {0};
    CHECKF(charrnn_compress(NULL, text, len, &o, &z, &zn, NULL, NULL, &err) == 0, "%s", err.msg);
    zfile f = zcopy(z, zn);
    charrnn_free(z);
    *text_out = text;
    return f;
}

static long most_done; /* the most a decoding reported done (-1: it never reported) */
static int progress_fn(void *ctx, long done, long total) {
    (void)ctx;
    (void)total;
    if (done > most_done) most_done = done;
    return 0;
}

static int decode(const zfile *z, const char *name, charrnn_error *err) {
    void *back = NULL;
    size_t bn = 0;
    most_done = -1;
    memset(err, 0, sizeof *err);
    int rc = charrnn_decompress(NULL, z->b, z->n, name, &back, &bn, progress_fn, NULL, err);
    charrnn_free(back);
    return rc;
}

static int clean_line(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

/* A file from another build (a doctored build string, CRC recomputed) is named as
 * such, naming both builds; another thread count alone says so; a build string
 * with terminal escapes is quoted escaped; a NUL inside it does not pass for ours. */
static void test_build_mismatch(void) {
    char *text;
    zfile z = fresh_file(3000, &text);
    charrnn_error err;
    CHECKF(decode(&z, "ok.z", &err) == 0, "the file as written: %s", err.msg);
    char *ours = strndup((const char *)z.b + OFF_BUILD, build_len(&z));
    /* the compiler and its flags: as the release and the SANITIZE=1 builds differ */
    char *cc = strstr(ours, "; gcc ") ? strstr(ours, "; gcc ") : strstr(ours, "; clang ");
    CHECKF(cc && strstr(ours, "-O") && strstr(ours, "; isa ") && strstr(ours, "; kernels ") && strstr(ours, "; openblas ") &&
           strstr(ours, "; threads "), "the build string records the compiler, flags, isa, kernels, BLAS, threads: %s", ours);
    if (!cc) { free(ours); free(z.b); free(text); return; }
    char *ccpart = strndup(cc + 2, strcspn(cc + 2, ";"));
    char *other = t_fmt("%.*s; gcc 1.0 -O0 -fsanitize=address%s", (int)(cc - ours), ours, strstr(cc + 2, "; isa "));
    zfile o = with_build(&z, other, strlen(other));
    CHECKF(decode(&o, "other.z", &err) == CHARRNN_EMISMATCH && strstr(err.msg, "other.z") &&
           strstr(err.msg, "made by another build") && strstr(err.msg, "gcc 1.0 -O0 -fsanitize=address") &&
           strstr(err.msg, ccpart) && !strstr(err.msg, "CRC"), "another compiler and flags: %s", err.msg);
    CHECK(most_done < 0); /* refused before decoding */
    /* the same at the command line: exit 1, one line naming the file */
    const char *path = t_path("cz_other_build.z"), *out = t_path("cz_other_build.out");
    t_write_file(path, o.b, o.n);
    char *e = NULL;
    int rc = t_cli(NULL, &e, "decompress '%s' -o '%s'", path, out);
    CHECKF(rc == 1 && strstr(e, path) && strstr(e, "made by another build") && !t_read_file(out, NULL), "CLI: %d %s", rc, e);
    free(e);
    free(o.b);
    free(other);
    /* only the thread count differs */
    char *th = strstr(ours, "; threads ");
    other = t_fmt("%.*s; threads 3", (int)(th - ours), ours);
    o = with_build(&z, other, strlen(other));
    CHECKF(decode(&o, "threads.z", &err) == CHARRNN_EMISMATCH && strstr(err.msg, "threads 3") &&
           strstr(err.msg, "threads 1") && strstr(err.msg, "exact decoding") && !strstr(err.msg, "another build"),
           "another thread count: %s", err.msg);
    free(o.b);
    free(other);
    /* terminal escapes in the build string are quoted escaped */
    other = t_fmt("%.*s; gcc \x1b]0;pwned\x07\x1b[2J\xc2\x9b%s", (int)(cc - ours), ours, strstr(cc + 2, "; isa "));
    o = with_build(&z, other, strlen(other));
    CHECKF(decode(&o, "esc.z", &err) == CHARRNN_EMISMATCH && clean_line(err.msg) && strstr(err.msg, "\\x1b]0;pwned") &&
           strstr(err.msg, "\\u{009B}"), "escapes: %s", err.msg);
    free(o.b);
    free(other);
    /* our own string with a NUL and more after it is another build's */
    size_t bl = strlen(ours);
    char *nul = malloc(bl + 5);
    memcpy(nul, ours, bl);
    memcpy(nul + bl, "\0abc", 4);
    o = with_build(&z, nul, bl + 4);
    CHECKF(decode(&o, "nul.z", &err) == CHARRNN_EMISMATCH && clean_line(err.msg), "a NUL in the build string: %s", err.msg);
    free(o.b);
    free(nul);
    free(ccpart);
    free(ours);
    free(z.b);
    free(text);
}

/* Decompression bombs: a header claiming more than its coded bits can hold is
 * refused before any decoding (2^33 bytes from a 1.6 KB file, and larger:
 * "damaged", never "out of memory"); one claiming a little more than was coded
 * stops as soon as the decoder reads past its bits. Highly compressible data (the
 * nearest a real file comes to the bound) still round-trips. */
static void test_bomb_refused(void) {
    char *text;
    zfile z = fresh_file(3000, &text);
    CHECKF(z.n < 2000, "3 KB of text packed to %zu bytes", z.n);
    charrnn_error err;
    const uint64_t claims[] = {(uint64_t)1 << 33, (uint64_t)1 << 36, ((uint64_t)1 << 40) - 1, (uint64_t)3e9};
    for (int i = 0; i < 4; i++) {
        zfile b = zcopy(z.b, z.n);
        le_put(b.b + OFF_LENGTH, claims[i], 8);
        reseal(&b);
        CHECKF(decode(&b, "bomb.z", &err) == CHARRNN_EFORMAT && strstr(err.msg, "bomb.z") && strstr(err.msg, "damaged") &&
               !strstr(err.msg, "memory") && most_done < 0, "claiming %llu bytes: %s (decoded %ld)",
               (unsigned long long)claims[i], err.msg, most_done);
        if (i == 0) { /* at the command line */
            const char *path = t_path("cz_bomb.z");
            t_write_file(path, b.b, b.n);
            char *e = NULL;
            int rc = t_cli(NULL, &e, "decompress '%s' -o -", path);
            CHECKF(rc == 1 && strstr(e, path) && strstr(e, "damaged"), "CLI: %d %s", rc, e);
            free(e);
        }
        free(b.b);
    }
    /* a claim the bits could hold, but these do not: decoding stops where they run out */
    zfile b = zcopy(z.b, z.n);
    le_put(b.b + OFF_LENGTH, 40 * 3000, 8);
    reseal(&b);
    CHECKF(decode(&b, "short.z", &err) == CHARRNN_EFORMAT && strstr(err.msg, "short.z") && strstr(err.msg, "ran out") &&
           most_done <= 3000 + 4096, "claiming 120000 bytes: %s (decoded %ld)", err.msg, most_done);
    free(b.b);
    free(z.b);
    free(text);
    /* one byte 200,000 times, adapting: packed to almost nothing, and back */
    size_t n = 200000;
    char *same = malloc(n);
    memset(same, 'a', n);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    o.adapt = 1;
    o.rnn_size = 16;
    size_t packed = 0;
    round_trip(NULL, same, n, &o, &packed, "200,000 times the same byte, adapting");
    CHECKF(packed < 2000, "packed to %zu bytes", packed);
    free(same);
}

/* Adaptation settings and fresh-model shapes out of range: in a crafted file,
 * "damaged" naming the file and the field (exit 1); as compress's options, the
 * option (exit 2), never "the compressed file". */
static void test_settings_refused(void) {
    char *text;
    zfile z = fresh_file(2000, &text);
    struct { int off, bytes; double v; int is_double; const char *word; } bad[] = {
        {F_SEGMENT, 4, 0, 0, "segment"},          {F_SEGMENT, 4, 5000, 0, "segment"},
        {F_LR, 8, 0, 1, "learning rate"},         {F_LR, 8, 2, 1, "learning rate"},
        {F_LR, 8, NAN, 1, "learning rate"},       {F_RHO, 8, 0, 1, "RMS decay"},
        {F_RHO, 8, 1, 1, "RMS decay"},            {F_EPS, 8, 0, 1, "eps"},
        {F_EPS, 8, NAN, 1, "eps"},                {F_DECAY, 8, 1, 1, "adaptation decay"},
        {F_DECAY, 8, -1, 1, "adaptation decay"},  {F_CELL, 4, 3, 0, "cell"},
        {F_LAYERS, 4, 0, 0, "layers"},            {F_LAYERS, 4, 17, 0, "layers"},
        {F_SIZE, 4, 0, 0, "size"},                {F_SIZE, 4, MAX_RNN_SIZE + 1, 0, "size"},
    };
    charrnn_error err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zfile b = zcopy(z.b, z.n);
        if (bad[i].is_double) {
            uint64_t v;
            memcpy(&v, &bad[i].v, 8);
            le_put(fields(&b) + bad[i].off, v, 8);
        } else {
            le_put(fields(&b) + bad[i].off, (uint64_t)(int64_t)bad[i].v, bad[i].bytes);
        }
        reseal(&b);
        CHECKF(decode(&b, "crafted.z", &err) == CHARRNN_EFORMAT && strstr(err.msg, "crafted.z") &&
               strstr(err.msg, "damaged") && strstr(err.msg, bad[i].word) && most_done < 0,
               "%s = %g: %s", bad[i].word, bad[i].v, err.msg);
        if (i == 7) { /* eps 0 at the command line */
            const char *path = t_path("cz_crafted.z");
            t_write_file(path, b.b, b.n);
            char *e = NULL;
            int rc = t_cli(NULL, &e, "decompress '%s' -o -", path);
            CHECKF(rc == 1 && strstr(e, path) && strstr(e, "eps") && !strstr(e, "--"), "CLI: %d %s", rc, e);
            free(e);
        }
        free(b.b);
    }
    free(z.b);
    /* compress's own options: the option named */
    const char *opts[] = {"--segment", "--adapt-lr", "--adapt-rms-decay", "--adapt-decay", "--model", "--num-layers",
                          "--rnn-size"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        charrnn_compress_options o;
        charrnn_compress_options_default(&o);
        o.adapt = 1;
        switch (i) {
        case 0: o.segment = 0; break;
        case 1: o.learning_rate = 1; break;
        case 2: o.rms_decay = 0; break;
        case 3: o.decay = 1; break;
        case 4: o.cell = (charrnn_cell)3; break;
        case 5: o.num_layers = 17; break;
        default: o.rnn_size = MAX_RNN_SIZE + 1; break;
        }
        void *out = NULL;
        size_t on = 0;
        memset(&err, 0, sizeof err);
        CHECKF(charrnn_compress(NULL, text, 100, &o, &out, &on, NULL, NULL, &err) == CHARRNN_EINVAL &&
               !strncmp(err.msg, opts[i], strlen(opts[i])) && !strstr(err.msg, "compressed file"),
               "%s: %s", opts[i], err.msg);
    }
    const char *in = t_path("cz_settings.txt");
    t_write_file(in, text, 2000);
    char *e = NULL;
    int rc = t_cli(NULL, &e, "compress --adapt --rnn-size %d '%s' -o -", MAX_RNN_SIZE + 1, in);
    char said[32];
    snprintf(said, sizeof said, "--rnn-size %d", MAX_RNN_SIZE + 1);
    CHECKF(rc == 2 && strstr(e, said) && strstr(e, "1 to " LIMIT_STR(MAX_RNN_SIZE)) && !strstr(e, "compressed file"),
           "CLI: %d %s", rc, e);
    free(e);
    free(text);
}

/* An option that would change nothing is refused, never silently dropped: the
 * adaptation options without --adapt, a fresh model's shape with a checkpoint, a
 * checkpoint to decompress a file that made its own fresh model. */
static void test_unused_options_refused(void) {
    const char *corpus = t_path("cz_unused.txt"), *dir = t_path("cz_unused_cv");
    char *text = make_text(3000, 2);
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
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    /* held-out text of the same kind, with two new words used again and again */
    char *base = make_text(12000, 21);
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
    char *text = make_text(60000, 1);
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
    t_register("compress_build_mismatch", test_build_mismatch);
    t_register("compress_bomb_refused", test_bomb_refused);
    t_register("compress_settings_refused", test_settings_refused);
    t_register("compress_unused_options_refused", test_unused_options_refused);
    t_register("compress_dynamic_eval_gains", test_dynamic_eval_gains);
    t_register("compress_play_page", test_play_page);
}
