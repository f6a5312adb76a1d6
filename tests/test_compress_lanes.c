/* test_compress_lanes.c: compression's lanes (--lanes N: the input cut into N contiguous pieces of
 * nearly equal characters, coded side by side as the rows of one batch, each with its own coder).
 * Round trips with 1, 2, 7 and 64 lanes: text, Chinese (escaped), binary bytes (invalid UTF-8, NULs),
 * an empty input and inputs shorter than the lane count (one lane per character), with a trained
 * model, adapting on it, and with a fresh model that adapts. Over a model whose prediction is known
 * exactly (zero weights: uniform, on every processor) each lane's coded bits are a reference coder's,
 * over the lane's own characters, cut as they must be cut (equal characters on code-point
 * boundaries), and one lane is the version-1 file charrnn wrote before lanes, bit for bit. Lanes cost
 * little size with a trained model (a lane fed another's probabilities would cost a lot). The command
 * line: --lanes with --threads, a decompression with another thread count refused, --lanes out of
 * range. Crafted lane headers: test_compress_file.c. Models train in float32 (pinned). */
#include "test.h"
#include "arith.h"
#include "charrnn.h"
#include "test_compress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the file's layout (see src/run/compress.c) ---------------------------------------------- */

static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A compressed file's version, lanes, each lane's length and coded length (lane[2 l], lane[2 l + 1],
 * room for 64 lanes) and where its coded bits start. */
typedef struct zinfo { int version, lanes; uint64_t lane[128]; size_t payload_at; } zinfo;

static int zparse(const unsigned char *z, size_t n, zinfo *zi) {
    memset(zi, 0, sizeof *zi);
    if (n < 48) return 0;
    zi->version = (int)le(z + 8, 4);
    size_t at = 48 + (size_t)le(z + 44, 4) + 56; /* the build string, then the settings */
    zi->lanes = 1;
    zi->lane[0] = le(z + 16, 8);
    zi->lane[1] = le(z + 28, 8);
    if (zi->version == 2) {
        zi->lanes = (int)le(z + at, 4);
        if (zi->lanes < 1 || zi->lanes > 64) return 0;
        for (int i = 0; i < 2 * zi->lanes; i++) zi->lane[i] = le(z + at + 4 + 8 * (size_t)i, 8);
        at += 4 + 16 * (size_t)zi->lanes;
    }
    zi->payload_at = at + 4; /* the header's CRC */
    return zi->payload_at <= n;
}

static size_t ref_char(const unsigned char *s, size_t n);

/* Compresses and decompresses data with lanes (m NULL: a fresh model), checking the bytes come back;
 * the lanes the file records (0 where it failed), its size into *packed (may be NULL). */
static int lanes_round_trip(charrnn_model *m, const void *data, size_t n, const charrnn_compress_options *o,
                            size_t *packed, const char *what) {
    charrnn_error err = {0};
    void *z = NULL, *back = NULL;
    size_t zn = 0, bn = 0;
    zinfo zi = {0};
    int ok = CHECKF(charrnn_compress(m, data, n, o, &z, &zn, NULL, NULL, &err) == 0, "%s, %d lanes: %s", what, o->lanes,
                    err.msg);
    ok = ok && CHECKF(zparse(z, zn, &zi), "%s, %d lanes: the file's header does not parse", what, o->lanes);
    ok = ok && CHECKF(charrnn_decompress(m, z, zn, what, &back, &bn, NULL, NULL, &err) == 0, "%s, %d lanes: %s", what,
                      o->lanes, err.msg);
    ok = ok && CHECKF(bn == n && (n == 0 || !memcmp(back, data, n)), "%s, %d lanes: %zu bytes back of %zu", what, o->lanes,
                      bn, n);
    if (packed) *packed = zn;
    charrnn_free(z);
    charrnn_free(back);
    return ok ? zi.lanes : 0;
}

static void test_round_trips(void) {
    charrnn_trainer *t = compress_trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    char *text = compress_make_text(6000, 7);
    const char *zh = "床前明月光，疑是地上霜。the cat sat 舉頭望明月，低頭思故鄉。\n";
    unsigned char bin[1500];
    unsigned s = 5;
    for (size_t i = 0; i < sizeof bin; i++) {
        s = s * 1103515245u + 12345u;
        bin[i] = i % 97 < 3 ? 0 : (unsigned char)(s >> 16); /* NULs and bytes that are not UTF-8 */
    }
    int zh_chars = 0;
    for (size_t i = 0; zh[i]; i += ref_char((const unsigned char *)zh + i, strlen(zh + i))) zh_chars++;
    const int lanes[] = {1, 2, 7, 64};
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 4; k++) {
            charrnn_compress_options o;
            charrnn_compress_options_default(&o);
            o.adapt = a;
            o.lanes = lanes[k];
            char what[64];
            snprintf(what, sizeof what, "text%s", a ? ", adapting" : "");
            CHECKF(lanes_round_trip(m, text, strlen(text), &o, NULL, what) == lanes[k], "%s: %d lanes", what, lanes[k]);
            /* the Chinese characters escaped (no model symbol), cut on code points */
            int nz = lanes_round_trip(m, zh, strlen(zh), &o, NULL, "Chinese");
            CHECKF(nz == (lanes[k] < zh_chars ? lanes[k] : zh_chars), "Chinese, %d characters in %d lanes: %d", zh_chars,
                   lanes[k], nz);
            CHECKF(lanes_round_trip(m, bin, sizeof bin, &o, NULL, "binary") == lanes[k], "binary: %d lanes", lanes[k]);
            CHECKF(lanes_round_trip(m, "", 0, &o, NULL, "empty") == 1, "an empty input: one lane");
            /* shorter than the lanes: one lane per character ("a床b" is 3 characters, 5 bytes) */
            int n3 = lanes_round_trip(m, "a床b", strlen("a床b"), &o, NULL, "three characters");
            CHECKF(n3 == (lanes[k] < 3 ? lanes[k] : 3), "three characters in %d lanes: %d", lanes[k], n3);
            CHECKF(lanes_round_trip(m, "t", 1, &o, NULL, "one character") == 1, "one character: one lane");
        }
    /* a fresh model that learns as it codes reads bytes: "a床b" is 5 of them */
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    o.adapt = 1;
    o.rnn_size = 16;
    for (int k = 0; k < 4; k++) {
        o.lanes = lanes[k];
        CHECKF(lanes_round_trip(NULL, text, 3000, &o, NULL, "fresh model, text") == lanes[k], "fresh: %d lanes", lanes[k]);
        CHECKF(lanes_round_trip(NULL, bin, sizeof bin, &o, NULL, "fresh model, binary") == lanes[k], "fresh binary");
        CHECKF(lanes_round_trip(NULL, "", 0, &o, NULL, "fresh model, empty") == 1, "fresh empty");
        int n5 = lanes_round_trip(NULL, "a床b", strlen("a床b"), &o, NULL, "fresh model, five bytes");
        CHECKF(n5 == (lanes[k] < 5 ? lanes[k] : 5), "five bytes in %d lanes: %d", lanes[k], n5);
    }
    /* 0 is taken as 1 (a zeroed struct); outside 0 to 4096 is refused, naming the option */
    charrnn_compress_options_default(&o);
    void *z1 = NULL, *z0 = NULL, *zx = NULL;
    size_t n1 = 0, n0 = 0, nx = 0;
    charrnn_error err = {0};
    o.lanes = 1;
    CHECK(charrnn_compress(m, text, 2000, &o, &z1, &n1, NULL, NULL, &err) == 0);
    o.lanes = 0;
    CHECK(charrnn_compress(m, text, 2000, &o, &z0, &n0, NULL, NULL, &err) == 0);
    CHECK(z1 && z0 && n1 == n0 && !memcmp(z1, z0, n1));
    const int bad[] = {-1, 4097, 1 << 30};
    for (int i = 0; i < 3; i++) {
        o.lanes = bad[i];
        memset(&err, 0, sizeof err);
        CHECKF(charrnn_compress(m, text, 2000, &o, &zx, &nx, NULL, NULL, &err) == CHARRNN_EINVAL && !zx &&
               strstr(err.msg, "--lanes") && strstr(err.msg, "1 to 4096"), "%d lanes: %s", bad[i], err.msg);
    }
    charrnn_free(z1);
    charrnn_free(z0);
    free(text);
    charrnn_trainer_close(t);
}

/* ---- a reference coder over a known prediction ----------------------------------------------- */

/* compress.c's frequencies: every symbol at least 1, the escape's share from how often escapes came */
static uint32_t ref_quantise(uint32_t *cum, const float *p, int V, long escapes, long coded) {
    const double room = (double)((1u << 24) - (unsigned)V - 1);
    double pe = (double)(escapes + 1) / (double)(coded + 2);
    if (pe > 0.5) pe = 0.5;
    const double scale = room * (1.0 - pe);
    uint32_t acc = 0;
    for (int v = 0; v < V; v++) {
        cum[v] = acc;
        double f = (double)p[v] * scale;
        acc += 1 + (uint32_t)(f > 0 ? f : 0);
    }
    cum[V] = acc;
    acc += 1 + (uint32_t)(pe * room);
    cum[V + 1] = acc;
    return acc;
}

/* The length of the character at s[0..n): a UTF-8 sequence, or one byte that is not one. */
static size_t ref_char(const unsigned char *s, size_t n) {
    uint32_t cp;
    int k = charrnn_utf8_decode((const char *)s, n, &cp);
    return k > 0 ? (size_t)k : 1;
}

/* s[0..n) coded alone, as one lane: a model symbol where the vocabulary has the character, else an
 * escape and the raw byte; p is the model's prediction at every step. */
static ac_coder ref_lane(const unsigned char *s, size_t n, const float *p, const uint32_t *vocab, int V) {
    ac_coder c;
    ac_encode_start(&c);
    uint32_t cum[64];
    long coded = 0, escapes = 0;
    for (size_t i = 0; i < n;) {
        uint32_t total = ref_quantise(cum, p, V, escapes, coded), cp;
        int k = charrnn_utf8_decode((const char *)s + i, n - i, &cp), id = -1;
        for (int v = 0; k > 0 && v < V; v++)
            if (vocab[v] == cp) id = v;
        if (id < 0) {
            ac_encode(&c, cum[V], cum[V + 1], total);
            ac_encode(&c, s[i], s[i] + 1u, 256);
            escapes++;
            i++;
        } else {
            ac_encode(&c, cum[id], cum[id + 1], total);
            coded++;
            i += (size_t)k;
        }
    }
    ac_encode_finish(&c);
    return c;
}

/* A model of zero weights predicts the uniform distribution at every step, whatever it has read and on
 * every processor: each lane's coded bits must be the reference coder's over that lane's characters,
 * the lanes cut into equal characters (the first ones one more) on code-point boundaries, and one lane
 * a version-1 file with no lane fields (what charrnn wrote before lanes). */
static void test_reference_coder(void) {
    const char *chars = "abcdefgh ,.\n床前明月光";
    uint32_t vocab[32];
    int V = 0;
    for (size_t i = 0; chars[i];) {
        int k = charrnn_utf8_decode(chars + i, strlen(chars + i), &vocab[V]);
        for (int j = V++; j > 0 && vocab[j - 1] > vocab[j]; j--) { /* ascending, as a vocabulary is */
            uint32_t v = vocab[j];
            vocab[j] = vocab[j - 1];
            vocab[j - 1] = v;
        }
        i += (size_t)(k > 0 ? k : 1);
    }
    charrnn_model_config mc;
    charrnn_model_config_default(&mc);
    mc.num_layers = 2;
    mc.rnn_size = 8;
    charrnn_model *m = NULL;
    charrnn_error err = {0};
    if (!CHECKF(charrnn_model_new(&m, &mc, CHARRNN_UNIT_CODEPOINT, vocab, V, 3, &err) == 0, "%s", err.msg)) return;
    for (int i = 0; i < charrnn_model_num_tensors(m); i++) {
        int rows, cols;
        float *w = charrnn_model_tensor(m, i, NULL, &rows, &cols);
        memset(w, 0, sizeof(float) * (size_t)rows * (size_t)cols);
    }
    charrnn_model_weights_changed(m);
    /* the prediction before anything is read and after a character: the same, uniform */
    charrnn_stream *st = NULL;
    float p[32], p1[32];
    CHECK(charrnn_stream_open(&st, m, 1, &err) == 0);
    memcpy(p, charrnn_stream_probs(st, 0), sizeof(float) * (size_t)V);
    CHECK(charrnn_stream_feed(st, (int[]){2}, &err) == 0);
    memcpy(p1, charrnn_stream_probs(st, 0), sizeof(float) * (size_t)V);
    charrnn_stream_close(st);
    CHECKF(!memcmp(p, p1, sizeof(float) * (size_t)V), "zero weights predict the same after a character");
    /* the model's characters, others (escaped: é, z, a 4-byte emoji), bytes that are not UTF-8, NULs */
    char in[4000];
    size_t n = 0;
    unsigned s = 11;
    const char *pieces[] = {"a", "b", "c", " ", ".", "\n", "床", "前", "明", "é", "z", "\xf0\x9f\x98\x80", "\xff", "\x80",
                            "\0", "月光", "fgh"};
    while (n < sizeof in - 8) {
        s = s * 1103515245u + 12345u;
        const char *piece = pieces[(s >> 16) % 17];
        size_t k = piece[0] ? strlen(piece) : 1;
        memcpy(in + n, piece, k);
        n += k;
    }
    size_t chars_in = 0;
    for (size_t i = 0; i < n; i += ref_char((const unsigned char *)in + i, n - i)) chars_in++;
    const int lanes[] = {1, 2, 7, 64};
    for (int k = 0; k < 4; k++) {
        charrnn_compress_options o;
        charrnn_compress_options_default(&o);
        o.lanes = lanes[k];
        void *z = NULL;
        size_t zn = 0;
        zinfo zi = {0};
        if (!CHECKF(charrnn_compress(m, in, n, &o, &z, &zn, NULL, NULL, &err) == 0, "%s", err.msg)) continue;
        const unsigned char *zb = z;
        if (CHECKF(zparse(zb, zn, &zi) && zi.lanes == lanes[k] && zi.version == (lanes[k] > 1 ? 2 : 1),
                   "%d lanes: the file says version %d, %d lanes", lanes[k], zi.version, zi.lanes)) {
            /* the reference cut: equal characters, the first lanes one more */
            size_t at = 0, from = zi.payload_at;
            int same_cut = 1, same_bits = 1;
            for (int l = 0; l < lanes[k]; l++) {
                size_t take = chars_in / (size_t)lanes[k] + ((size_t)l < chars_in % (size_t)lanes[k]), start = at;
                for (size_t c = 0; c < take; c++) at += ref_char((const unsigned char *)in + at, n - at);
                ac_coder c = ref_lane((const unsigned char *)in + start, at - start, p, vocab, V);
                same_cut &= zi.lane[2 * l] == at - start;
                same_bits &= zi.lane[2 * l + 1] == c.out.len && from + c.out.len <= zn && !memcmp(zb + from, c.out.buf, c.out.len);
                from += c.out.len;
                free(c.out.buf);
            }
            CHECKF(same_cut && at == n, "%d lanes: not cut into equal characters on code points", lanes[k]);
            CHECKF(same_bits && from == zn, "%d lanes: the coded bits are not the reference coder's", lanes[k]);
        }
        charrnn_free(z);
    }
    charrnn_model_close(m);
}

/* With a trained model, lanes cost only their fresh starts: 7 lanes' coded bits within 2% of one
 * lane's (the header aside: 4 + 16 bytes a lane). A lane coded with another's probabilities would
 * cost far more. */
static void test_lanes_cost_little(void) {
    charrnn_trainer *t = compress_trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    char *text = compress_make_text(20000, 13);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    size_t one = 0, seven = 0;
    lanes_round_trip(m, text, strlen(text), &o, &one, "one lane");
    o.lanes = 7;
    lanes_round_trip(m, text, strlen(text), &o, &seven, "seven lanes");
    CHECKF(one > 0 && seven > 0 && (double)(seven - 4 - 16 * 7) < (double)one * 1.02,
           "20 KB of text: one lane %zu bytes, seven %zu", one, seven);
    free(text);
    charrnn_trainer_close(t);
}

/* The command line: --lanes with two threads, back with two, refused with one; a fresh model's lanes
 * through pipes; binary and empty files; --lanes out of range refused before any work; decompress
 * takes its lanes from the file. */
static void test_cli(void) {
    const char *corpus = t_path("czl_words.txt"), *dir = t_path("czl_cv"), *z = t_path("czl.z"),
               *back = t_path("czl.back"), *bin = t_path("czl.bin"), *empty = t_path("czl.empty");
    char *text = compress_make_text(12000, 3);
    t_write_file(corpus, text, strlen(text));
    free(text);
    unsigned char b[3000];
    for (size_t i = 0; i < sizeof b; i++) b[i] = i % 17 ? (unsigned char)(i * 131 % 251 + 5) : 0; /* NULs, not UTF-8 */
    t_write_file(bin, b, sizeof b);
    t_write_file(empty, "", 0);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 20 "
                   "--precision fp32 --threads 1 --checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "%s", err);
    free(err);
    const char *files[] = {corpus, bin, empty};
    for (int f = 0; f < 3; f++)
        for (int a = 0; a < 2; a++) {
            rc = t_cli(NULL, &err, "compress '%s/latest.safetensors' '%s' -o '%s' --lanes 7 --threads 2 %s && %s "
                       "decompress '%s/latest.safetensors' '%s' -o '%s' --threads 2 && cmp '%s' '%s'", dir, files[f], z,
                       a ? "--adapt" : "", t_bin(), dir, z, back, files[f], back);
            CHECKF(rc == 0, "%s, 7 lanes%s, 2 threads: %s", files[f], a ? ", adapting" : "", err);
            free(err);
        }
    /* compressed with 2 threads, refused with 1, naming both, nothing written */
    rc = t_cli(NULL, &err, "compress '%s/latest.safetensors' '%s' -o '%s' --lanes 7 --threads 2", dir, corpus, z);
    CHECKF(rc == 0, "%s", err);
    free(err);
    remove(back);
    rc = t_cli(NULL, &err, "decompress '%s/latest.safetensors' '%s' -o '%s'", dir, z, back);
    CHECKF(rc == 1 && strstr(err, "threads 2") && strstr(err, "threads 1") && strstr(err, "exact decoding") &&
           !t_read_file(back, NULL), "--threads 1 for a file of 2: %d %s", rc, err);
    free(err);
    /* a fresh model's 64 lanes through pipes */
    rc = t_cli(NULL, &err, "compress --adapt --rnn-size 16 --lanes 64 - -o - < '%s' > '%s' && %s decompress '%s' -o - | "
               "cmp - '%s'", bin, z, t_bin(), z, bin);
    CHECKF(rc == 0, "fresh model, 64 lanes, through pipes: %s", err);
    free(err);
    const char *bad[] = {"0", "4097", "-3", "two"};
    for (int i = 0; i < 4; i++) {
        remove(z);
        rc = t_cli(NULL, &err, "compress --adapt --rnn-size 16 '%s' -o '%s' --lanes %s", corpus, z, bad[i]);
        CHECKF(rc == 2 && strstr(err, "--lanes") && !strchr(strchr(err, '\n') + 1, '\n') && !t_read_file(z, NULL),
               "--lanes %s: %d %s", bad[i], rc, err);
        free(err);
    }
    rc = t_cli(NULL, &err, "decompress '%s' -o '%s' --lanes 7", z, back);
    CHECKF(rc == 2 && strstr(err, "--lanes"), "decompress --lanes: %d %s", rc, err);
    free(err);
}

void register_compress_lane_tests(void) {
    t_register("compress_lanes_round_trips", test_round_trips);
    t_register("compress_lanes_reference_coder", test_reference_coder);
    t_register("compress_lanes_cost_little", test_lanes_cost_little);
    t_register("compress_lanes_cli", test_cli);
}
