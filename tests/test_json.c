/* test_json.c: tests of the JSON parser (values, escapes, unicode, strictness,
 * UTF-8 judged by utf8.c's decoder, duplicate keys, depth limit) and of the jbuf
 * writer (string escaping, number round trips). */
#include "test.h"
#include "json.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_doc *parse(const char *s, char *err, size_t errlen) {
    return json_parse(s, strlen(s), err, errlen);
}

/* Serializes a DOM back to compact JSON with the jbuf writer. */
static void emit(jbuf *b, const json_value *v) {
    switch (v->type) {
    case JSON_NULL: jb_raw(b, "null"); break;
    case JSON_BOOL: jb_raw(b, v->number ? "true" : "false"); break;
    case JSON_NUMBER: jb_number(b, v->number); break;
    case JSON_STRING: jb_string(b, v->str, v->len); break;
    case JSON_ARRAY:
        jb_raw(b, "[");
        for (size_t i = 0; i < v->len; i++) {
            if (i) jb_raw(b, ",");
            emit(b, &v->items[i]);
        }
        jb_raw(b, "]");
        break;
    case JSON_OBJECT:
        jb_raw(b, "{");
        for (size_t i = 0; i < v->len; i++) {
            if (i) jb_raw(b, ",");
            jb_cstring(b, v->keys[i]);
            jb_raw(b, ":");
            emit(b, &v->items[i]);
        }
        jb_raw(b, "}");
        break;
    }
}

static int deep_equal(const json_value *a, const json_value *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case JSON_NULL: return 1;
    case JSON_BOOL:
    case JSON_NUMBER: return a->number == b->number;
    case JSON_STRING: return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++) {
            if (a->type == JSON_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0) return 0;
            if (!deep_equal(&a->items[i], &b->items[i])) return 0;
        }
        return 1;
    }
    return 0;
}

static void test_parse_basic(void) {
    char err[256];
    json_doc *d = parse(" {\"a\": 1, \"b\": [true, false, null], \"c\": \"x\",\n\t\"d\": -1.5e3, \"e\": {}, \"f\": []} \r\n",
                        err, sizeof err);
    if (!CHECKF(d, "%s", err)) return;
    const json_value *r = json_root(d);
    CHECK(r->type == JSON_OBJECT);
    CHECK(r->len == 6);
    CHECK(strcmp(r->keys[0], "a") == 0 && strcmp(r->keys[5], "f") == 0);
    double x = 0;
    CHECK(json_get_number(r, "a", &x) == 0 && x == 1);
    CHECK(json_get_number(r, "d", &x) == 0 && x == -1500);
    const char *s = NULL;
    CHECK(json_get_string(r, "c", &s) == 0 && s && strcmp(s, "x") == 0);
    CHECK(json_get_string(r, "a", &s) == -1);  /* wrong type */
    CHECK(json_get_number(r, "c", &x) == -1);  /* wrong type */
    CHECK(json_get_number(r, "zz", &x) == -1); /* missing */
    CHECK(json_get(r, "zz") == NULL);
    const json_value *b = json_get(r, "b");
    if (CHECK(b && b->type == JSON_ARRAY && b->len == 3)) {
        CHECK(b->items[0].type == JSON_BOOL && b->items[0].number == 1);
        CHECK(b->items[1].type == JSON_BOOL && b->items[1].number == 0);
        CHECK(b->items[2].type == JSON_NULL);
        CHECK(json_get(b, "a") == NULL); /* not an object */
    }
    const json_value *e = json_get(r, "e");
    CHECK(e && e->type == JSON_OBJECT && e->len == 0);
    const json_value *f = json_get(r, "f");
    CHECK(f && f->type == JSON_ARRAY && f->len == 0);
    json_free(d);

    /* Scalars are valid documents. */
    d = parse("\"only\"", err, sizeof err);
    CHECK(d && json_root(d)->type == JSON_STRING && strcmp(json_root(d)->str, "only") == 0);
    json_free(d);
    json_free(NULL);
}

/* Two equal keys in one object are refused wherever the object is (json_get
 * would take the first, Python's json the last), and so is a key holding
 * \u0000 (two such keys would look equal to C); equal keys in different
 * objects are fine. */
static void test_duplicate_keys(void) {
    static const struct { const char *text; const char *needle; } bad[] = {
        {"{\"k\":1,\"k\":2}", "at byte 7: duplicate key \"k\" in object"},
        {"{\"a\":{\"x\":1,\"x\":[]}}", "at byte 12: duplicate key \"x\""},
        {"[0,{\"x\":1,\"y\":2,\"x\":3}]", "at byte 16: duplicate key \"x\""},
        {"{\"a\":1,\"\\u0061\":2}", "at byte 7: duplicate key \"a\""},      /* equal once decoded */
        {"{\"b\":1,\"a\":2,\"b\":3,\"a\":4}", "at byte 13: duplicate key \"b\""}, /* the first repeat */
        {"{\"a\\n\":1,\"a\\n\":2}", "duplicate key \"a\\n\""},                /* escaped in the message */
        /* quoted as every name from a file is (cr_esc): ESC, C1 CSI, a bidi override, a quote */
        {"{\"\\u001b\\u009b\\u202e\\\"\":1,\"\\u001b\\u009b\\u202e\\\"\":2}", "duplicate key \"\\x1b\\u{009B}\\u{202E}\"\" in object"},
        {"{\"k\":1,\"k\":2} x", "duplicate key"},                            /* before what follows */
        {"{\"a\\u0000b\":1}", "at byte 1: object key contains \\u0000"},
        {"{\"a\\u0000b\":1,\"a\\u0000c\":2}", "at byte 1: object key contains \\u0000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        json_doc *d = parse(bad[i].text, err, sizeof err);
        CHECKF(!d, "accepted case %zu: %s", i, bad[i].text);
        CHECKF(strstr(err, bad[i].needle) && !strchr(err, '\n'), "case %zu: '%s' lacks '%s'", i, err, bad[i].needle);
        json_free(d);
    }
    static const char *const good[] = {
        "{\"a\":1,\"ab\":2,\"abc\":3,\"b\":4}", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", "[{\"a\":1},{\"a\":1}]", "{}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char err[256] = "";
        json_doc *d = parse(good[i], err, sizeof err);
        CHECKF(d, "refused %s: %s", good[i], err);
        json_free(d);
    }
    /* A large object (the sorted check): 500 distinct keys pass; one more that
     * repeats key 250 is named at its own offset. */
    jbuf ok, dup;
    jb_init(&ok);
    jb_init(&dup);
    for (int i = 0; i < 500; i++) {
        jb_printf(&ok, "%c\"key%d\":%d", i ? ',' : '{', i, i);
        jb_printf(&dup, "%c\"key%d\":%d", i ? ',' : '{', i, i);
    }
    size_t at = dup.len + 1;
    jb_raw(&ok, "}");
    jb_raw(&dup, ",\"key250\":0}");
    char err[256] = "", want[64];
    json_doc *d = json_parse(ok.buf, ok.len, err, sizeof err);
    CHECKF(d && json_root(d)->len == 500, "%s", err);
    json_free(d);
    snprintf(want, sizeof want, "at byte %zu: duplicate key \"key250\"", at);
    d = json_parse(dup.buf, dup.len, err, sizeof err);
    CHECKF(!d && strstr(err, want), "'%s' lacks '%s'", err, want);
    json_free(d);
    jb_free(&ok);
    jb_free(&dup);
    /* A string value holding \u0000 is parsed whole, but json_get_string, whose
     * callers use C strings, refuses it. */
    d = parse("{\"s\":\"ab\\u0000c\",\"t\":\"abc\"}", err, sizeof err);
    const char *s = NULL;
    if (CHECKF(d, "%s", err)) {
        const json_value *v = json_get(json_root(d), "s");
        CHECK(v && v->type == JSON_STRING && v->len == 4);
        CHECK(json_get_string(json_root(d), "s", &s) == -1);
        CHECK(json_get_string(json_root(d), "t", &s) == 0 && strcmp(s, "abc") == 0);
    }
    json_free(d);
}

static void test_parse_numbers(void) {
    static const struct { const char *text; double v; } ok[] = {
        {"0", 0}, {"-0", -0.0}, {"7", 7}, {"-12", -12}, {"3.25", 3.25}, {"1e3", 1000}, {"1E+2", 100},
        {"2.5e-3", 2.5e-3}, {"0.1", 0.1}, {"123456789012", 123456789012.0},
        {"9007199254740993", 9007199254740992.0}, {"1e-400", 0}, {"1.7976931348623157e308", 1.7976931348623157e308},
    };
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_doc *d = parse(ok[i].text, err, sizeof err);
        if (!CHECKF(d, "%s: %s", ok[i].text, err)) continue;
        CHECKF(json_root(d)->type == JSON_NUMBER && json_root(d)->number == ok[i].v, "%s", ok[i].text);
        json_free(d);
    }
    json_doc *d = parse("-0", err, sizeof err);
    CHECK(d && signbit(json_root(d)->number));
    json_free(d);

    static const char *bad[] = {"01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "nan",
                                "Infinity", "-Infinity", "1e400", "--1", "1.5.2", "00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        d = parse(bad[i], err, sizeof err);
        CHECKF(!d, "accepted %s", bad[i]);
        CHECKF(err[0] && strstr(err, "byte"), "%s -> '%s'", bad[i], err);
        json_free(d);
    }
}

static void test_parse_strings(void) {
    char err[256];
    /* Every escape, a 2- and 3-byte \u, and U+1F600 as a surrogate pair. */
    json_doc *d = parse("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00.\"", err, sizeof err);
    if (CHECKF(d, "%s", err)) {
        const char want[] = "q\"b\\s/\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80.";
        const json_value *v = json_root(d);
        CHECK(v->type == JSON_STRING);
        CHECKF(v->len == sizeof want - 1, "len %zu", v->len);
        CHECK(memcmp(v->str, want, sizeof want) == 0); /* includes the terminating NUL */
        json_free(d);
    }
    /* Raw UTF-8 passes through unchanged, outside the BMP too. */
    const char raw[] = "\"h\xC3\xA9llo \xE4\xB8\x96 \xF0\x9F\x98\x80\"";
    d = parse(raw, err, sizeof err);
    if (CHECKF(d, "%s", err)) {
        CHECK(json_root(d)->len == sizeof raw - 3);
        CHECK(memcmp(json_root(d)->str, raw + 1, sizeof raw - 3) == 0);
        json_free(d);
    }
    /* \u0000 is kept; len counts it. */
    d = parse("\"a\\u0000b\"", err, sizeof err);
    if (CHECKF(d, "%s", err)) {
        CHECK(json_root(d)->len == 3 && memcmp(json_root(d)->str, "a\0b", 4) == 0);
        json_free(d);
    }
    /* Keys are decoded too. */
    d = parse("{\"k\\u00e9y\\n\":\"v\"}", err, sizeof err);
    if (CHECKF(d, "%s", err)) {
        const char *s = NULL;
        CHECK(json_get_string(json_root(d), "k\xC3\xA9y\n", &s) == 0 && s && strcmp(s, "v") == 0);
        json_free(d);
    }
    /* The text need not be NUL-terminated: only len bytes are read. */
    char buf[4] = {'1', '2', '3', '4'};
    d = json_parse(buf, 2, err, sizeof err);
    CHECK(d && json_root(d)->number == 12);
    json_free(d);
}

static void test_parse_reject(void) {
    static const struct { const char *text; const char *needle; } bad[] = {
        {"[1,2,]", "trailing comma"},
        {"{\"a\":1,}", "trailing comma"},
        {"\"abc", "unterminated"},
        {"{\"a\":\"b}", "unterminated"},
        {"\"\\ud800\"", "lone high surrogate"},
        {"\"\\ud800x\"", "lone high surrogate"},
        {"\"\\udc00\"", "lone low surrogate"},
        {"\"\\ud800\\u0041\"", "not a low surrogate"},
        {"{} x", "after the JSON value"},
        {"1 2", "after the JSON value"},
        {"[1]]", "after the JSON value"},
        {"\"a\nb\"", "control character"},
        {"\"a\tb\"", "control character"},
        {"", "end of input"},
        {"   ", "end of input"},
        {"[1,2", "end of input"},
        {"{\"a\" 1}", "':'"},
        {"{a:1}", "key"},
        {"{\"a\":1 \"b\":2}", "','"},
        {"['x']", "'''"},
        {"tru", "literal"},
        {"nul", "literal"},
        {"\"\\x\"", "invalid escape"},
        {"\"\\u12g4\"", "hex"},
        {"\"\\u12\"", "hex"},
        {"\"\xC3\"", "UTF-8"},         /* truncated sequence */
        {"\"\xC0\xAF\"", "UTF-8"},     /* overlong '/' */
        {"\"\xED\xA0\x80\"", "UTF-8"}, /* encoded surrogate */
        {"\"\xF4\x90\x80\x80\"", "UTF-8"}, /* above U+10FFFF */
        {"\xEF\xBB\xBF{}", "unexpected"},  /* BOM */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        json_doc *d = parse(bad[i].text, err, sizeof err);
        CHECKF(!d, "accepted case %zu", i);
        CHECKF(strstr(err, "byte") && strstr(err, bad[i].needle), "case %zu: '%s' lacks '%s'", i, err,
               bad[i].needle);
        json_free(d);
    }
    /* The offset points at the problem. */
    char err[256] = "";
    json_doc *d = parse("[1, 2, x]", err, sizeof err);
    CHECK(!d && strstr(err, "at byte 7:"));
    /* A NUL byte inside the given length is an error, not the end. */
    d = json_parse("{}\0", 3, err, sizeof err);
    CHECK(!d && strstr(err, "0x00"));
    /* A tiny error buffer is truncated, not overrun; NULL err is fine. */
    char tiny[8];
    d = parse("[1,]", tiny, sizeof tiny);
    CHECK(!d && strlen(tiny) == 7);
    CHECK(parse("[1,]", NULL, 0) == NULL);
}

static char *nested(int depth, char open, char close) {
    char *s = malloc((size_t)depth * 2 + 1);
    for (int i = 0; i < depth; i++) { s[i] = open; s[2 * depth - 1 - i] = close; }
    s[2 * depth] = 0;
    return s;
}

static void test_parse_depth(void) {
    char err[256];
    char *s = nested(64, '[', ']');
    json_doc *d = parse(s, err, sizeof err);
    CHECKF(d, "depth 64 refused: %s", err);
    if (d) {
        const json_value *v = json_root(d);
        int depth = 1;
        while (v->len == 1) { v = &v->items[0]; depth++; }
        CHECK(depth == 64 && v->type == JSON_ARRAY && v->len == 0);
    }
    json_free(d);
    free(s);
    s = nested(65, '[', ']');
    err[0] = 0;
    d = parse(s, err, sizeof err);
    CHECK(!d && strstr(err, "deeper than 64"));
    CHECK(strstr(err, "at byte 64:"));
    free(s);
    /* Objects count too; a huge depth must fail the same way, not overflow the stack. */
    jbuf b;
    jb_init(&b);
    for (int i = 0; i < 65; i++) jb_raw(&b, "{\"a\":");
    jb_raw(&b, "1");
    for (int i = 0; i < 65; i++) jb_raw(&b, "}");
    d = json_parse(b.buf, b.len, err, sizeof err);
    CHECK(!d && strstr(err, "deeper than 64"));
    jb_free(&b);
    s = nested(200000, '[', ']');
    d = parse(s, err, sizeof err);
    CHECK(!d && strstr(err, "deeper than 64"));
    free(s);
}

static void test_roundtrip(void) {
    const char *text =
        "{\"name\":\"charrnn \\\"v1\\\"\",\"nested\":{\"a\":[1,2.5,-3e-7,{\"deep\":[[],[{}],null]}],\"b\":true},"
        "\"esc\":\"tab\\there\\nnew\\u0001\\u001f\\\\ /\",\"uni\":\"\\u00e9\\u4e16\\ud83d\\ude00\","
        "\"raw\":\"\xC3\xA9\xE4\xB8\x96\xF0\x9F\x98\x80\",\"nums\":[0,-0,0.1,1e300,123456789,9007199254740992,"
        "1.0000000000000002,5e-324],\"f\":false}";
    char err[256];
    json_doc *d1 = parse(text, err, sizeof err);
    if (!CHECKF(d1, "%s", err)) return;
    jbuf b;
    jb_init(&b);
    emit(&b, json_root(d1));
    CHECK(!b.oom && b.len == strlen(b.buf));
    json_doc *d2 = json_parse(b.buf, b.len, err, sizeof err);
    if (CHECKF(d2, "%s in %s", err, b.buf)) {
        CHECK(deep_equal(json_root(d1), json_root(d2)));
        /* Writing the reparsed DOM gives byte-identical text. */
        jbuf b2;
        jb_init(&b2);
        emit(&b2, json_root(d2));
        CHECK(b2.len == b.len && memcmp(b.buf, b2.buf, b.len) == 0);
        jb_free(&b2);
        /* The \u escapes became raw UTF-8, identical to the raw string. */
        const char *u = NULL, *r = NULL;
        CHECK(json_get_string(json_root(d2), "uni", &u) == 0 && json_get_string(json_root(d2), "raw", &r) == 0 &&
              u && r && strcmp(u, r) == 0);
        json_free(d2);
    }
    /* Exact canonical form of a small document. */
    jb_free(&b);
    json_doc *d3 = parse(" { \"a\" : [ 1 , \"\\u00e9\\n\" , { } ] , \"b\" : null } ", err, sizeof err);
    if (CHECK(d3)) {
        jb_init(&b);
        emit(&b, json_root(d3));
        CHECKF(strcmp(b.buf, "{\"a\":[1,\"\xC3\xA9\\n\",{}],\"b\":null}") == 0, "%s", b.buf);
        json_free(d3);
    }
    jb_free(&b);
    json_free(d1);
}

static void test_jb_string(void) {
    jbuf b;
    jb_init(&b);
    jb_string(&b, "a\"b\\c\nd\te\rf\bg\fh\x01i\x1fj\x7fk/", 22);
    CHECKF(strcmp(b.buf, "\"a\\\"b\\\\c\\nd\\te\\rf\\bg\\fh\\u0001i\\u001fj\x7fk/\"") == 0, "%s", b.buf);
    jb_free(&b);
    CHECK(b.buf == NULL && b.len == 0);

    /* Embedded NUL (explicit length) and UTF-8 unchanged. */
    jb_init(&b);
    jb_string(&b, "x\0y", 3);
    jb_raw(&b, " ");
    jb_cstring(&b, "\xC3\xA9\xF0\x9F\x98\x80");
    jb_raw(&b, " ");
    jb_cstring(&b, "");
    jb_string(&b, NULL, 0);
    CHECKF(strcmp(b.buf, "\"x\\u0000y\" \"\xC3\xA9\xF0\x9F\x98\x80\" \"\"\"\"") == 0, "%s", b.buf);
    jb_free(&b);

    /* jb_printf and growth past the initial capacity. */
    jb_init(&b);
    for (int i = 0; i < 1000; i++) jb_printf(&b, "%d,", i);
    CHECK(!b.oom && b.len == strlen(b.buf) && b.len == 10 * 2 + 90 * 3 + 900 * 4);
    CHECK(strncmp(b.buf, "0,1,2,", 6) == 0 && strcmp(b.buf + b.len - 4, "999,") == 0);
    jb_free(&b);

    /* Every control character escaped reads back to itself. */
    char all[32];
    for (int i = 0; i < 32; i++) all[i] = (char)i;
    jb_init(&b);
    jb_string(&b, all, 32);
    char err[256];
    json_doc *d = json_parse(b.buf, b.len, err, sizeof err);
    CHECKF(d && json_root(d)->len == 32 && memcmp(json_root(d)->str, all, 32) == 0, "%s", err);
    json_free(d);
    jb_free(&b);
}

static void test_jb_number(void) {
    static const struct { double v; const char *want; } exact[] = {
        {0, "0"}, {1, "1"}, {-42, "-42"}, {0.5, "0.5"}, {0.1, "0.1"}, {1e16, "10000000000000000"},
        {9007199254740992.0, "9007199254740992"}, {123456789, "123456789"}, {-0.0, "-0"}, {2.5e-3, "0.0025"},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        jbuf b;
        jb_init(&b);
        jb_number(&b, exact[i].v);
        CHECKF(strcmp(b.buf, exact[i].want) == 0, "%.17g -> %s, want %s", exact[i].v, b.buf, exact[i].want);
        jb_free(&b);
    }
    jbuf b;
    jb_init(&b);
    jb_number(&b, NAN);
    jb_raw(&b, ",");
    jb_number(&b, INFINITY);
    jb_raw(&b, ",");
    jb_number(&b, -INFINITY);
    CHECK(strcmp(b.buf, "null,null,null") == 0);
    jb_free(&b);
    /* Values that need 16 or 17 digits still read back exactly, through our parser. */
    const double hard[] = {1.0 / 3, 2.0 / 3, 0.1 + 0.2, 1e300, 1e-300, 5e-324, 1.7976931348623157e308,
                           3.141592653589793, 1e17, 123456789.123456789, -2.2250738585072014e-308};
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) {
        jb_init(&b);
        jb_number(&b, hard[i]);
        char err[256];
        json_doc *d = json_parse(b.buf, b.len, err, sizeof err);
        CHECKF(d && json_root(d)->number == hard[i], "%.17g -> %s (%s)", hard[i], b.buf, d ? "" : err);
        CHECKF(strlen(b.buf) <= 24, "%s", b.buf);
        json_free(d);
        jb_free(&b);
    }
}

/* A JSON string takes exactly the UTF-8 the corpus's decoder (utf8.c) takes, and
 * as written: every lead byte 0x80-0xFF with every second byte, then edge
 * continuation bytes, is accepted as a string iff utf8_decode reads the bytes as
 * whole sequences, and then comes back unchanged. */
static void test_utf8_one_decoder(void) {
    static const unsigned char tails[] = {0x80, 0xBF, 0x41};
    int wrong = 0, accepted = 0;
    for (int a = 0x80; a < 0x100; a++)
        for (int b = 0; b < 0x100; b++)
            for (size_t t3 = 0; t3 < sizeof tails; t3++)
                for (size_t t4 = 0; t4 < sizeof tails; t4++) {
                    const unsigned char seq[4] = {(unsigned char)a, (unsigned char)b, tails[t3], tails[t4]};
                    int valid = 1;
                    for (size_t at = 0; at < 4 && valid;) { /* whole sequences, and no quote, backslash or control */
                        uint32_t cp;
                        int k = utf8_decode(seq + at, 4 - at, &cp);
                        valid = k > 0 && cp >= 0x20 && cp != '"' && cp != '\\';
                        at += (size_t)(k > 0 ? k : 1);
                    }
                    char text[6] = {'"', (char)seq[0], (char)seq[1], (char)seq[2], (char)seq[3], '"'};
                    json_doc *d = json_parse(text, sizeof text, NULL, 0);
                    const json_value *v = d ? json_root(d) : NULL;
                    int ok = v && v->type == JSON_STRING && v->len == 4 && !memcmp(v->str, seq, 4);
                    if (ok != valid && wrong++ < 5)
                        CHECKF(0, "%02X %02X %02X %02X: the decoder says %s, JSON %s", seq[0], seq[1], seq[2], seq[3],
                               valid ? "valid" : "invalid", d ? "accepts it" : "refuses it");
                    accepted += ok;
                    json_free(d);
                }
    CHECKF(wrong == 0, "%d byte strings judged otherwise than by utf8_decode", wrong);
    CHECKF(accepted > 1000, "only %d strings accepted", accepted);
}

void register_json_tests(void) {
    t_register("json_parse_basic", test_parse_basic);
    t_register("json_parse_numbers", test_parse_numbers);
    t_register("json_parse_strings_unicode", test_parse_strings);
    t_register("json_parse_reject", test_parse_reject);
    t_register("json_utf8_one_decoder", test_utf8_one_decoder);
    t_register("json_duplicate_keys", test_duplicate_keys);
    t_register("json_parse_depth_limit", test_parse_depth);
    t_register("json_roundtrip", test_roundtrip);
    t_register("json_jb_string_escaping", test_jb_string);
    t_register("json_jb_number", test_jb_number);
}
