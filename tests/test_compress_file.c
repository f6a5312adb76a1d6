/* test_compress_file.c: compressed files crafted by hand, a header edited and its CRC recomputed:
 * another build's file is named as such, naming both builds; a header claiming more than its coded
 * bits can hold (a decompression bomb) is refused as damaged before any decoding; adaptation settings
 * and fresh-model shapes out of range are "damaged", naming the file and the field; so are lane
 * counts out of range and lane tables that do not add up, and any other edit of a lane file fails
 * cleanly. */
#include "test.h"
#include "charrnn.h"
#include "defaults.h"
#include "test_compress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The file's layout: magic 8, version 4 (at 8), flags 4, length 8 (at 16), crc 4, payload 8 (at 28),
 * model 8, build length 4 (at 44) and the build string (at 48), then the fields below; in version 2
 * (lanes) the lane count 4 and each lane's length 8 and coded length 8; then the header's CRC. */
enum { F_SEGMENT = 0, F_LR = 4, F_DECAY = 12, F_RHO = 20, F_EPS = 28, F_CELL = 36, F_LAYERS = 40, F_SIZE = 44,
       F_SEED = 48, F_END = 56, OFF_VERSION = 8, OFF_LENGTH = 16, OFF_PAYLOAD = 28, OFF_BUILD = 48 };

typedef struct zfile { unsigned char *b; size_t n; } zfile;

static size_t build_len(const zfile *z) { return (size_t)le_get(z->b + 44, 4); }
static unsigned char *fields(const zfile *z) { return z->b + OFF_BUILD + build_len(z); }
/* Version 2: the lane count, then lane i's length at 4 + 16 i and coded length at 12 + 16 i. */
static unsigned char *lane_table(const zfile *z) { return fields(z) + F_END; }
/* Where the header's CRC is (past the end of z for a lane count it cannot hold). */
static size_t header_end(const zfile *z) {
    size_t at = OFF_BUILD + build_len(z) + F_END;
    return le_get(z->b + OFF_VERSION, 4) == 2 ? at + 4 + 16 * (size_t)le_get(z->b + at, 4) : at;
}
static void reseal(zfile *z) {
    size_t hl = header_end(z);
    if (hl + 4 <= z->n) le_put(z->b + hl, crc32_of(z->b, hl), 4);
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

/* A few KB of text compressed in that many lanes by a fresh 1 x 16 model that learns as it codes. */
static zfile fresh_lanes_file(size_t len, int lanes, char **text_out) {
    char *text = compress_make_text(len, 5);
    charrnn_compress_options o;
    charrnn_compress_options_default(&o);
    o.adapt = 1;
    o.rnn_size = 16;
    o.lanes = lanes;
    void *z = NULL;
    size_t zn = 0;
    charrnn_error err = {0};
    CHECKF(charrnn_compress(NULL, text, len, &o, &z, &zn, NULL, NULL, &err) == 0, "%s", err.msg);
    zfile f = zcopy(z, zn);
    charrnn_free(z);
    *text_out = text;
    return f;
}
static zfile fresh_file(size_t len, char **text_out) { return fresh_lanes_file(len, 1, text_out); }

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

/* The device that made the probabilities is part of the record: a file that says another (a GPU
 * here, a doctored header with its CRC recomputed) is refused before decoding with one line naming
 * both devices and the option to pass; a file that names no device (an older build) is another
 * build's. */
static void test_device_mismatch(void) {
    char *text;
    zfile z = fresh_file(2000, &text);
    charrnn_error err;
    char *ours = strndup((const char *)z.b + OFF_BUILD, build_len(&z));
    char *dev = strstr(ours, "; device cpu; ");
    CHECKF(dev != NULL, "a CPU's file records its device: %s", ours);
    if (!dev) { free(ours); free(z.b); free(text); return; }
    const char *gpu = "device cuda NVIDIA H200 sm_90, CUDA runtime 13.0, driver 13.0, cuBLAS 13.1.0";
    char *other = t_fmt("%.*s; %s%s", (int)(dev - ours), ours, gpu, dev + strlen("; device cpu"));
    zfile o = with_build(&z, other, strlen(other));
    CHECKF(decode(&o, "gpu.z", &err) == CHARRNN_EMISMATCH && clean_line(err.msg) && strstr(err.msg, "gpu.z") &&
           strstr(err.msg, "compressed on cuda NVIDIA H200 sm_90") && strstr(err.msg, "cuBLAS 13.1.0") &&
           strstr(err.msg, "computes on cpu") && strstr(err.msg, "--device cuda") && !strstr(err.msg, "another build"),
           "a GPU's file on the CPU: %s", err.msg);
    CHECK(most_done < 0);
    /* at the command line: exit 1, one line, nothing written */
    const char *path = t_path("cz_gpu.z"), *out = t_path("cz_gpu.out");
    t_write_file(path, o.b, o.n);
    char *e = NULL;
    int rc = t_cli(NULL, &e, "decompress '%s' -o '%s'", path, out);
    CHECKF(rc == 1 && strstr(e, path) && strstr(e, "compressed on cuda") && !strchr(strchr(e, '\n') + 1, '\n') &&
           !t_read_file(out, NULL), "CLI: %d %s", rc, e);
    free(e);
    free(o.b);
    free(other);
    /* no device part at all: another build, naming where they part */
    other = t_fmt("%.*s%s", (int)(dev - ours), ours, dev + strlen("; device cpu"));
    o = with_build(&z, other, strlen(other));
    CHECKF(decode(&o, "old.z", &err) == CHARRNN_EMISMATCH && strstr(err.msg, "another build") &&
           strstr(err.msg, "device cpu"), "a file without a device: %s", err.msg);
    free(o.b);
    free(other);
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
    compress_round_trip(NULL, same, n, &o, &packed, "200,000 times the same byte, adapting");
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

/* A lane file (version 2) crafted: a lane count out of range, lanes that do not add up to the
 * header's lengths, an empty lane, a lane's coded length beyond the file, a lane claiming more than
 * its coded bits can hold: each "damaged" before any decoding, naming the file and what is wrong (never
 * "out of memory"). Lanes that add up but are cut elsewhere, another version, truncations and flipped
 * bytes fail cleanly too; a file from another device is named as such; version 1 (one lane) is read. */
static void test_lanes_refused(void) {
    char *text;
    zfile z = fresh_lanes_file(3000, 3, &text);
    charrnn_error err;
    CHECKF(le_get(z.b + OFF_VERSION, 4) == 2 && le_get(lane_table(&z), 4) == 3, "a 3-lane file is version 2");
    CHECKF(decode(&z, "lanes.z", &err) == 0, "the file as written: %s", err.msg);
    uint64_t len[3], pay[3];
    for (int i = 0; i < 3; i++) {
        len[i] = le_get(lane_table(&z) + 4 + 16 * i, 8);
        pay[i] = le_get(lane_table(&z) + 12 + 16 * i, 8);
    }
    CHECKF(len[0] + len[1] + len[2] == 3000 && len[0] >= 999 && len[2] <= 1001, "lanes of %llu %llu %llu bytes",
           (unsigned long long)len[0], (unsigned long long)len[1], (unsigned long long)len[2]);
    /* what an edit sets: the lane count, or a lane's length or coded length (lane * 16 + 4 or + 12), the
     * header's total length or coded length; what the refusal says; whether it is refused before decoding */
    enum { COUNT = -1, TOTAL_LEN = -2, TOTAL_PAY = -3, VERSION = -4 };
    struct { int at[2]; uint64_t v[2]; const char *says; int early; } edits[] = {
        {{COUNT, 0}, {0, 0}, "lane count is 0", 1},
        {{COUNT, 0}, {4097, 0}, "lane count is 4097", 1},
        {{COUNT, 0}, {0xFFFFFFFFu, 0}, "lane count", 1},
        {{COUNT, 0}, {4096, 0}, "truncated or damaged", 1},       /* in range, but its table is not there */
        {{COUNT, 0}, {2, 0}, "trailing bytes", 1},                 /* the third lane's entry read as coded data */
        {{4, 0}, {len[0] + 1, 0}, "3 lanes hold 3001 bytes", 1},   /* one lane longer */
        {{4, 20}, {len[0] + len[1], 0}, "lane 2", 1},              /* an empty lane */
        {{4, 0}, {0, 0}, "lane 1", 1},
        {{12, 0}, {(uint64_t)1 << 40, 0}, "lane 1", 1},            /* coded length beyond the file */
        {{44, 0}, {pay[2] + 5, 0}, "but its header says", 1},      /* the lanes' coded lengths add up to more */
        {{44, TOTAL_PAY}, {pay[2] + 5, pay[0] + pay[1] + pay[2] + 5}, "truncated", 1},
        {{4, TOTAL_LEN}, {(uint64_t)1 << 33, ((uint64_t)1 << 33) + len[1] + len[2]}, "lane 1 decodes to", 1}, /* a bomb */
        {{VERSION, 0}, {3, 0}, "versions 1 to 2", 1},
        {{4, 20}, {len[0] + 1, len[1] - 1}, "damaged", 0},          /* add up, cut elsewhere */
        {{12, 28}, {pay[0] + 1, pay[1] - 1}, "damaged", 0},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        zfile b = zcopy(z.b, z.n);
        for (int k = 0; k < 2; k++) {
            const int at = edits[e].at[k];
            if (k == 1 && at == 0) break;
            if (at == COUNT) le_put(lane_table(&b), edits[e].v[k], 4);
            else if (at == TOTAL_LEN) le_put(b.b + OFF_LENGTH, edits[e].v[k], 8);
            else if (at == TOTAL_PAY) le_put(b.b + OFF_PAYLOAD, edits[e].v[k], 8);
            else if (at == VERSION) le_put(b.b + OFF_VERSION, edits[e].v[k], 4);
            else le_put(lane_table(&b) + at, edits[e].v[k], 8);
        }
        reseal(&b);
        int rc = decode(&b, "crafted-lanes.z", &err);
        CHECKF(rc == CHARRNN_EFORMAT && strstr(err.msg, "crafted-lanes.z") && strstr(err.msg, edits[e].says) &&
               clean_line(err.msg) && !strstr(err.msg, "memory") && (!edits[e].early || most_done < 0),
               "edit %zu: %d %s (decoded %ld)", e, rc, err.msg, most_done);
        if (e == 0) { /* at the command line: exit 1, one line, nothing written */
            const char *path = t_path("cz_lanes0.z"), *out = t_path("cz_lanes0.out");
            t_write_file(path, b.b, b.n);
            char *m = NULL;
            rc = t_cli(NULL, &m, "decompress '%s' -o '%s'", path, out);
            CHECKF(rc == 1 && strstr(m, path) && strstr(m, "lane count") && !strchr(strchr(m, '\n') + 1, '\n') &&
                   !t_read_file(out, NULL), "CLI: %d %s", rc, m);
            free(m);
        }
        free(b.b);
    }
    /* every truncation, and a flipped byte anywhere */
    int accepted = 0;
    for (size_t k = 0; k < z.n; k++) {
        zfile b = {z.b, k};
        if (decode(&b, "cut.z", &err) == 0 || !err.msg[0]) accepted++;
    }
    CHECKF(accepted == 0, "%d of %zu truncations of a lane file were accepted", accepted, z.n);
    accepted = 0;
    for (size_t k = 0; k < z.n; k += 29) {
        zfile b = zcopy(z.b, z.n);
        b.b[k] ^= 0x10;
        if (decode(&b, "flipped.z", &err) == 0 || !clean_line(err.msg) || !err.msg[0]) accepted++;
        free(b.b);
    }
    CHECKF(accepted == 0, "%d lane files with a flipped byte decoded (or failed without a clean line)", accepted);
    /* another device's lane file: named as such, before decoding */
    char *ours = strndup((const char *)z.b + OFF_BUILD, build_len(&z));
    char *dev = strstr(ours, "; device cpu; ");
    if (CHECK(dev != NULL)) {
        char *other = t_fmt("%.*s; device cuda NVIDIA H200 sm_90, CUDA runtime 13.0%s", (int)(dev - ours), ours,
                            dev + strlen("; device cpu"));
        zfile o = with_build(&z, other, strlen(other));
        CHECKF(decode(&o, "gpu-lanes.z", &err) == CHARRNN_EMISMATCH && strstr(err.msg, "compressed on cuda") &&
               most_done < 0, "a GPU's lane file: %s", err.msg);
        free(o.b);
        free(other);
    }
    free(ours);
    free(z.b);
    free(text);
    /* one lane: version 1, without lane fields, read as ever */
    z = fresh_lanes_file(3000, 1, &text);
    CHECKF(le_get(z.b + OFF_VERSION, 4) == 1 && header_end(&z) + 4 + le_get(z.b + OFF_PAYLOAD, 8) == z.n,
           "one lane is a version-1 file");
    CHECKF(decode(&z, "one-lane.z", &err) == 0, "%s", err.msg);
    free(z.b);
    free(text);
}

void register_compress_file_tests(void) {
    t_register("compress_build_mismatch", test_build_mismatch);
    t_register("compress_device_mismatch", test_device_mismatch);
    t_register("compress_bomb_refused", test_bomb_refused);
    t_register("compress_settings_refused", test_settings_refused);
    t_register("compress_lanes_refused", test_lanes_refused);
}
