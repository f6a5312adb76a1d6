/* test_safetensors.c: safetensors write -> read round trips, the on-disk layout
 * (alignment, offsets), atomic writes, and refusal of crafted bad files. */
#include "test.h"
#include "json.h"
#include "safetensors.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static uint64_t rd_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void write_raw(const char *path, const char *header, const void *data, size_t dlen) {
    CHECK(t_write_safetensors(path, header, data, dlen) == 0);
}

/* Counts entries of the temp directory whose name contains ".tmp.". */
static int count_tmp_files(void) {
    DIR *d = opendir(t_tmpdir());
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

#define T(nm, dt, nd, s0, s1, s2, s3, ptr, nb) \
    (st_tensor) { .name = (nm), .dtype = (dt), .ndim = (nd), .shape = {s0, s1, s2, s3}, .data = (ptr), .nbytes = (nb) }

static void test_roundtrip(void) {
    float f32[6] = {1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 123456.789f};
    int32_t i32[4] = {0, -1, 2147483647, -2147483647 - 1};
    uint8_t u8[5] = {0, 1, 127, 128, 255};
    double f64[4] = {3.141592653589793, -1e300, 5e-324, 0.1};
    int64_t i64[3] = {INT64_MAX, INT64_MIN, 42};
    float scalar = 7.0f;
    st_tensor ts[] = {
        T("weights.f32", ST_F32, 2, 2, 3, 0, 0, f32, sizeof f32),
        T("ids \"quoted\"", ST_I32, 1, 4, 0, 0, 0, i32, sizeof i32),
        T("bytes", ST_U8, 1, 5, 0, 0, 0, u8, sizeof u8),
        T("doubles", ST_F64, 4, 1, 2, 1, 2, f64, sizeof f64),
        T("longs/\xC3\xA9", ST_I64, 1, 3, 0, 0, 0, i64, sizeof i64),
        T("scalar", ST_F32, 0, 0, 0, 0, 0, &scalar, sizeof scalar),
        T("empty", ST_F32, 2, 0, 3, 0, 0, NULL, 0),
    };
    int nt = (int)(sizeof ts / sizeof ts[0]);
    st_meta meta[] = {
        {"cell", "lstm"},
        {"note", "say \"hi\"\\ \xE2\x82\xAC \xF0\x9F\x98\x80 tab\there\nline"},
        {"\xC3\xA9t\xC3\xA9", ""},
    };
    const char *path = t_path("rt.safetensors");
    char err[512] = "";
    if (!CHECKF(st_write(path, meta, 3, ts, nt, err, sizeof err) == 0, "%s", err)) return;
    CHECK(count_tmp_files() == 0);

    st_file *f = st_open(path, err, sizeof err);
    if (!CHECKF(f, "%s", err)) return;
    CHECK(st_num_tensors(f) == nt);
    CHECK(st_num_meta(f) == 3);
    for (int i = 0; i < 3; i++) {
        const char *v = st_get_meta(f, meta[i].key);
        CHECKF(v && strcmp(v, meta[i].value) == 0, "meta %s", meta[i].key);
        const st_meta *m = st_meta_at(f, i);
        CHECK(m && strcmp(m->key, meta[i].key) == 0 && strcmp(m->value, meta[i].value) == 0);
    }
    CHECK(st_get_meta(f, "nope") == NULL);
    CHECK(st_meta_at(f, 3) == NULL && st_meta_at(f, -1) == NULL);
    for (int i = 0; i < nt; i++) {
        const st_tensor *a = st_tensor_at(f, i); /* header order == written order */
        const st_tensor *b = st_find(f, ts[i].name);
        if (!CHECKF(a && b && a == b, "tensor %s", ts[i].name)) continue;
        CHECK(strcmp(a->name, ts[i].name) == 0);
        CHECK(a->dtype == ts[i].dtype && a->ndim == ts[i].ndim && a->nbytes == ts[i].nbytes);
        for (int d = 0; d < a->ndim; d++) CHECK(a->shape[d] == ts[i].shape[d]);
        if (a->nbytes) CHECKF(memcmp(a->data, ts[i].data, a->nbytes) == 0, "data of %s", a->name);
    }
    CHECK(st_find(f, "missing") == NULL && st_find(f, "") == NULL);
    CHECK(st_tensor_at(f, nt) == NULL);
    /* Typed reads through memcpy, as the header says. */
    const st_tensor *t = st_find(f, "longs/\xC3\xA9");
    int64_t back[3];
    if (CHECK(t)) {
        memcpy(back, t->data, sizeof back);
        CHECK(back[0] == INT64_MAX && back[1] == INT64_MIN && back[2] == 42);
    }

    /* The same bytes through st_open_memory give the same result. */
    size_t len = 0;
    unsigned char *raw = slurp(path, &len);
    st_file *g = st_open_memory(raw, len, "mem", err, sizeof err);
    if (CHECKF(g, "%s", err)) {
        CHECK(st_num_tensors(g) == nt && st_num_meta(g) == 3);
        const st_tensor *d = st_find(g, "doubles");
        CHECK(d && d->ndim == 4 && d->data != st_find(f, "doubles")->data &&
              memcmp(d->data, f64, sizeof f64) == 0);
        st_close(g);
    }
    free(raw);
    st_close(f);
    st_close(NULL);

    /* No tensors, no metadata: a valid, tiny file. */
    path = t_path("empty_set.safetensors");
    CHECKF(st_write(path, NULL, 0, NULL, 0, err, sizeof err) == 0, "%s", err);
    f = st_open(path, err, sizeof err);
    CHECKF(f && st_num_tensors(f) == 0 && st_num_meta(f) == 0, "%s", err);
    st_close(f);

    CHECK(st_dtype_size(ST_F32) == 4 && st_dtype_size(ST_F64) == 8 && st_dtype_size(ST_U8) == 1 &&
          st_dtype_size(ST_I32) == 4 && st_dtype_size(ST_I64) == 8);
    CHECK(strcmp(st_dtype_name(ST_U8), "U8") == 0 && strcmp(st_dtype_name(ST_I64), "I64") == 0);
}

static void test_layout(void) {
    uint8_t data[40];
    for (int i = 0; i < 40; i++) data[i] = (uint8_t)(i * 7);
    char val[32];
    /* Vary the header length through every residue mod 8. */
    for (int k = 0; k < 16; k++) {
        memset(val, 'v', (size_t)k);
        val[k] = 0;
        st_meta meta[] = {{"k", val}};
        st_tensor ts[] = {
            T("a", ST_U8, 1, 3, 0, 0, 0, data, 3),
            T("b", ST_F32, 2, 2, 2, 0, 0, data + 3, 16),
            T("c", ST_U8, 1, 1, 0, 0, 0, data + 19, 1),
        };
        const char *path = t_path("layout.safetensors");
        char err[512];
        if (!CHECKF(st_write(path, meta, 1, ts, 3, err, sizeof err) == 0, "%s", err)) return;
        size_t len = 0;
        unsigned char *b = slurp(path, &len);
        if (!CHECK(b && len >= 8)) { free(b); return; }
        uint64_t n = rd_le64(b);
        CHECKF((8 + n) % 8 == 0, "k=%d: data starts at %llu", k, (unsigned long long)(8 + n));
        CHECK(len == 8 + n + 20);
        CHECK(b[8] == '{');
        /* The padding is spaces after the closing brace, at most 7 of them. */
        size_t end = (size_t)n;
        while (end > 0 && b[8 + end - 1] == ' ') end--;
        CHECK(end > 0 && b[8 + end - 1] == '}' && n - end < 8);
        char jerr[256];
        json_doc *d = json_parse((const char *)b + 8, (size_t)n, jerr, sizeof jerr);
        if (CHECKF(d, "%s", jerr)) {
            const json_value *r = json_root(d);
            CHECK(r->type == JSON_OBJECT && r->len == 4 && strcmp(r->keys[0], "__metadata__") == 0);
            const char *mv = NULL;
            CHECK(json_get_string(json_get(r, "__metadata__"), "k", &mv) == 0 && mv && strcmp(mv, val) == 0);
            /* Offsets are contiguous in the given order. */
            static const double want[3][2] = {{0, 3}, {3, 19}, {19, 20}};
            const char *names[3] = {"a", "b", "c"};
            for (int i = 0; i < 3; i++) {
                const json_value *o = json_get(json_get(r, names[i]), "data_offsets");
                CHECK(o && o->len == 2 && o->items[0].number == want[i][0] && o->items[1].number == want[i][1]);
            }
            const char *dt = NULL;
            CHECK(json_get_string(json_get(r, "b"), "dtype", &dt) == 0 && dt && strcmp(dt, "F32") == 0);
            json_free(d);
        }
        CHECK(memcmp(b + 8 + n, data, 20) == 0);
        free(b);
    }
}

static void test_atomic_write(void) {
    const char *path = t_path("atomic.safetensors");
    char err[512];
    uint8_t one[4] = {1, 1, 1, 1}, two[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    st_tensor t1 = T("x", ST_U8, 1, 4, 0, 0, 0, one, 4), t2 = T("x", ST_U8, 1, 8, 0, 0, 0, two, 8);
    CHECKF(st_write(path, NULL, 0, &t1, 1, err, sizeof err) == 0, "%s", err);
    CHECKF(st_write(path, NULL, 0, &t2, 1, err, sizeof err) == 0, "%s", err);
    st_file *f = st_open(path, err, sizeof err);
    if (CHECKF(f, "%s", err)) {
        const st_tensor *x = st_find(f, "x");
        CHECK(x && x->nbytes == 8 && memcmp(x->data, two, 8) == 0);
        st_close(f);
    }
    struct stat sb;
    mode_t um = umask(022);
    umask(um);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == (0644 & ~um));
    CHECK(count_tmp_files() == 0);

    /* A missing directory: the message names the path, the step and the cause. */
    const char *bad = t_path("no/such/dir/x.safetensors");
    err[0] = 0;
    CHECK(st_write(bad, NULL, 0, &t1, 1, err, sizeof err) == -1);
    CHECKF(strstr(err, bad) && strstr(err, "No such file or directory"), "%s", err);

    /* PATH is a directory: refused before anything is written, the directory
     * left alone. */
    const char *dirpath = t_path("isdir.safetensors");
    CHECK(mkdir(dirpath, 0755) == 0);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", dirpath);
    CHECK(t_write_file(inner, "k", 1) == 0);
    err[0] = 0;
    CHECK(st_write(dirpath, NULL, 0, &t1, 1, err, sizeof err) == -1);
    CHECKF(strstr(err, "it is a directory") && strstr(err, dirpath), "%s", err);
    CHECK(count_tmp_files() == 0);
    CHECK(stat(inner, &sb) == 0);

    /* Arguments that would make an invalid file are refused before writing. */
    const char *p2 = t_path("never.safetensors");
    st_tensor wrong = T("w", ST_F32, 2, 2, 3, 0, 0, one, 4); /* needs 24 bytes */
    err[0] = 0;
    CHECK(st_write(p2, NULL, 0, &wrong, 1, err, sizeof err) == -1 && strstr(err, "\"w\""));
    st_tensor dup[2] = {t1, t1};
    err[0] = 0;
    CHECK(st_write(p2, NULL, 0, dup, 2, err, sizeof err) == -1 && strstr(err, "duplicate"));
    st_tensor five = T("f", ST_U8, 5, 1, 1, 1, 1, one, 1);
    CHECK(st_write(p2, NULL, 0, &five, 1, err, sizeof err) == -1);
    st_tensor neg = T("n", ST_U8, 1, -1, 0, 0, 0, one, 0);
    CHECK(st_write(p2, NULL, 0, &neg, 1, err, sizeof err) == -1);
    st_tensor reserved = T("__metadata__", ST_U8, 1, 1, 0, 0, 0, one, 1);
    CHECK(st_write(p2, NULL, 0, &reserved, 1, err, sizeof err) == -1);
    st_meta dm[2] = {{"a", "1"}, {"a", "2"}};
    CHECK(st_write(p2, dm, 2, &t1, 1, err, sizeof err) == -1 && strstr(err, "duplicate metadata"));
    CHECK(access(p2, F_OK) != 0);
    CHECK(count_tmp_files() == 0);
}

/* Opens path and expects failure with a message that names it and contains needle. */
static void expect_bad(const char *path, const char *needle, int line) {
    char err[512] = "";
    st_file *f = st_open(path, err, sizeof err);
    t_check(f == NULL, __FILE__, line, "st_open refused the file", "accepted %s", path);
    t_check(strstr(err, path) && strstr(err, needle) && !strchr(err, '\n'), __FILE__, line,
            "message names the path and the problem", "'%s' lacks '%s'", err, needle);
    st_close(f);
    /* st_open_memory agrees. */
    size_t len = 0;
    unsigned char *b = slurp(path, &len);
    if (b && len) {
        err[0] = 0;
        f = st_open_memory(b, len, "membuf", err, sizeof err);
        t_check(f == NULL && strstr(err, "membuf") && strstr(err, needle), __FILE__, line,
                "st_open_memory refuses it too", "'%s'", err);
        st_close(f);
    }
    free(b);
}
#define EXPECT_BAD(path, needle) expect_bad((path), (needle), __LINE__)

#define TA "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
#define TB "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}"

static void test_reject_crafted(void) {
    const unsigned char data[32] = {0};
    const char *p = t_path("crafted.safetensors");
    char err[512];

    /* The base case is valid, so each failure below is due to its one change;
     * a header that is not space-padded is still accepted. */
    write_raw(p, "{" TA "," TB "}", data, 11);
    st_file *f = st_open(p, err, sizeof err);
    CHECKF(f && st_num_tensors(f) == 2, "%s", err);
    st_close(f);
    /* Listed out of offset order is fine too, as are zero-size tensors. */
    write_raw(p, "{" TB ",\"z\":{\"dtype\":\"I64\",\"shape\":[0,5],\"data_offsets\":[0,0]}," TA "}", data, 11);
    f = st_open(p, err, sizeof err);
    CHECKF(f && st_num_tensors(f) == 3 && strcmp(st_tensor_at(f, 0)->name, "b") == 0, "%s", err);
    st_close(f);

    write_raw(p, "{" TA "," TB "}", data, 10);
    EXPECT_BAD(p, "truncated");
    write_raw(p, "{" TA "," TB "}", data, 12);
    EXPECT_BAD(p, "1 trailing bytes");
    write_raw(p, "{" TA ",\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[5,8]}}", data, 8);
    EXPECT_BAD(p, "overlaps");
    write_raw(p, "{" TA ",\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[9,12]}}", data, 12);
    EXPECT_BAD(p, "gap");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[1,4]}}", data, 4);
    EXPECT_BAD(p, "gap");
    write_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data, 8);
    EXPECT_BAD(p, "need 12");
    write_raw(p, "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", data, 8);
    EXPECT_BAD(p, "\"F16\"");
    write_raw(p, "{\"a\":{\"dtype\":3,\"shape\":[4],\"data_offsets\":[0,8]}}", data, 8);
    EXPECT_BAD(p, "dtype");
    write_raw(p, "{\"__metadata__\":{\"k\":1}," TA "}", data, 8);
    EXPECT_BAD(p, "not a string");
    write_raw(p, "{\"__metadata__\":{\"k\":\"v\",\"j\":null}," TA "}", data, 8);
    EXPECT_BAD(p, "not a string");
    write_raw(p, "{\"__metadata__\":[\"x\"]," TA "}", data, 8);
    EXPECT_BAD(p, "not an object");
    write_raw(p, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," TA "}", data, 8);
    EXPECT_BAD(p, "duplicate key \"k\" in object");
    write_raw(p, "{\"__metadata__\":{\"k\":\"1\"},\"__metadata__\":{\"j\":\"2\"}," TA "}", data, 8);
    EXPECT_BAD(p, "duplicate key \"__metadata__\"");
    write_raw(p, "{" TA "," TA "}", data, 8);
    EXPECT_BAD(p, "duplicate key \"a\" in object");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,2]}}", data, 2);
    EXPECT_BAD(p, "duplicate key \"dtype\"");
    /* Two names that C would cut at the same \u0000, and a dtype that would read as F32. */
    write_raw(p, "{\"a\\u0000x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
              "\"a\\u0000y\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", data, 2);
    EXPECT_BAD(p, "object key contains \\u0000");
    write_raw(p, "{\"a\":{\"dtype\":\"F32\\u0000\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8);
    EXPECT_BAD(p, "has no \"dtype\" string");
    /* Equal spans: the later tensor in the header is the one that overlaps,
     * whichever order the sort leaves them in. */
    write_raw(p, "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", data, 8);
    EXPECT_BAD(p, "tensor \"a\" at data bytes [0, 8) overlaps");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8);
    EXPECT_BAD(p, "tensor \"b\" at data bytes [0, 8) overlaps");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,1]}}", data, 1);
    EXPECT_BAD(p, "5 dimensions");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", data, 0);
    EXPECT_BAD(p, "dimension 0");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", data, 1);
    EXPECT_BAD(p, "dimension 0");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[\"2\"],\"data_offsets\":[0,2]}}", data, 2);
    EXPECT_BAD(p, "dimension 0");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}", data, 2);
    EXPECT_BAD(p, "shape");
    write_raw(p, "{\"a\":{\"dtype\":\"I64\",\"shape\":[4294967296,4294967296,4294967296,1],\"data_offsets\":[0,8]}}",
              data, 8);
    EXPECT_BAD(p, "overflow");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2]}}", data, 2);
    EXPECT_BAD(p, "data_offsets");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,1,2]}}", data, 2);
    EXPECT_BAD(p, "data_offsets");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,1]}}", data, 2);
    EXPECT_BAD(p, "end before begin");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[-2,0]}}", data, 2);
    EXPECT_BAD(p, "data_offsets");
    write_raw(p, "{\"a\":[1,2]}", data, 0);
    EXPECT_BAD(p, "not an object");
    write_raw(p, "[]", data, 0);
    EXPECT_BAD(p, "'{'");
    write_raw(p, "{\"a\":}", data, 0);
    EXPECT_BAD(p, "invalid JSON at byte 5");
    write_raw(p, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},}", data, 2);
    EXPECT_BAD(p, "trailing comma");
}

static void test_open_errors(void) {
    char err[512];
    const char *missing = t_path("does-not-exist.safetensors");
    char want[700];
    CHECK(st_open(missing, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "cannot open %s: No such file or directory", missing);
    CHECKF(strcmp(err, want) == 0, "%s", err);

    const char *dir = t_tmpdir();
    CHECK(st_open(dir, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s is a directory, not a checkpoint", dir);
    CHECKF(strcmp(err, want) == 0, "%s", err);

    const char *empty = t_path("empty.safetensors");
    CHECK(t_write_file(empty, "", 0) == 0);
    CHECK(st_open(empty, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s is empty (0 bytes), not a safetensors file", empty);
    CHECKF(strcmp(err, want) == 0, "%s", err);
    CHECK(st_open_memory("", 0, "mem", err, sizeof err) == NULL && strstr(err, "mem is empty"));

    const char *tiny = t_path("tiny.safetensors");
    CHECK(t_write_file(tiny, "abcde", 5) == 0);
    EXPECT_BAD(tiny, "only 5 bytes");

    /* A text file: its first 8 bytes read as a huge header length. */
    const char *text = t_path("text.safetensors");
    const char *content = "hello, this is not a checkpoint\n";
    CHECK(t_write_file(text, content, strlen(content)) == 0);
    CHECK(st_open(text, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s is not a safetensors file: header length 8367736964726416744 exceeds file size %zu",
             text, strlen(content));
    CHECKF(strcmp(err, want) == 0, "%s", err);

    const char *longer = t_path("hdr.safetensors");
    unsigned char b[10] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'}; /* claims 1000 bytes */
    CHECK(t_write_file(longer, b, sizeof b) == 0);
    CHECK(st_open(longer, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s is not a safetensors file: header length 1000 exceeds file size 10", longer);
    CHECKF(strcmp(err, want) == 0, "%s", err);

    /* Over the 100 MB header limit (a sparse file, so nothing large is written;
     * the length is checked before the rest is read). */
    const char *big = t_path("big.safetensors");
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    unsigned char hl[8] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 100000001 */
    CHECK(fd >= 0 && write(fd, hl, 8) == 8 && ftruncate(fd, 100000100) == 0);
    if (fd >= 0) close(fd);
    CHECK(st_open(big, err, sizeof err) == NULL);
    CHECKF(strstr(err, big) && strstr(err, "header length 100000001 exceeds the limit"), "%s", err);
    unlink(big);

    /* err may be NULL. */
    CHECK(st_open(missing, NULL, 0) == NULL);
}

/* Files written by the Python reference script (tests/ref/make_fixtures.py). */
static void test_reference_fixtures(void) {
    static const struct { const char *file, *cell; int ntensors; } fx[] = {
        {"ref_lstm.safetensors", "lstm", 38},
        {"ref_gru.safetensors", "gru", 36},
        {"ref_rnn.safetensors", "rnn", 36},
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char path[600], err[512];
        snprintf(path, sizeof path, "%s/%s", t_fixtures(), fx[i].file);
        st_file *f = st_open(path, err, sizeof err);
        if (!CHECKF(f, "%s", err)) continue;
        const char *cell = st_get_meta(f, "cell");
        CHECK(cell && strcmp(cell, fx[i].cell) == 0);
        CHECK(st_num_tensors(f) == fx[i].ntensors);
        const st_tensor *w = st_find(f, "decoder.weight");
        CHECK(w && w->dtype == ST_F32 && w->ndim == 2 && w->shape[0] == 7 && w->shape[1] == 6 && w->nbytes == 168);
        for (int k = 0; k < st_num_tensors(f); k++) CHECK(st_find(f, st_tensor_at(f, k)->name) == st_tensor_at(f, k));
        st_close(f);
    }
}

void register_safetensors_tests(void) {
    t_register("safetensors_roundtrip", test_roundtrip);
    t_register("safetensors_layout_alignment", test_layout);
    t_register("safetensors_atomic_write", test_atomic_write);
    t_register("safetensors_reject_crafted", test_reject_crafted);
    t_register("safetensors_open_errors", test_open_errors);
    t_register("safetensors_reference_fixtures", test_reference_fixtures);
}
