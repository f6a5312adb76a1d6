/* test_data.c: tests of src/data/data.c: strict UTF-8 decoding and encoding, corpus
 * loading (vocabulary, index width, round trips, checksum), the error messages for
 * bad inputs, and encoding with a fixed vocabulary. */
#include "test.h"
#include "data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *POEM = "床前明月光，疑是地上霜。";

static int decode_bytes(const char *bytes, size_t n, uint32_t *cp) {
    return utf8_decode((const unsigned char *)bytes, n, cp);
}

static void test_utf8_valid(void) {
    static const struct { const char *s; int len; uint32_t cp; } cases[] = {
        {"A", 1, 0x41},
        {"\x7F", 1, 0x7F},
        {"\xC2\x80", 2, 0x80},
        {"\xC3\xA9", 2, 0xE9},
        {"\xDF\xBF", 2, 0x7FF},
        {"\xE0\xA0\x80", 3, 0x800},
        {"\xE5\xBA\x8A", 3, 0x5E8A}, /* 床 */
        {"\xED\x9F\xBF", 3, 0xD7FF},
        {"\xEE\x80\x80", 3, 0xE000},
        {"\xEF\xBF\xBF", 3, 0xFFFF},
        {"\xF0\x90\x80\x80", 4, 0x10000},
        {"\xF0\x9F\x98\x80", 4, 0x1F600},
        {"\xF4\x8F\xBF\xBF", 4, 0x10FFFF},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0xDEAD;
        int len = decode_bytes(cases[i].s, strlen(cases[i].s), &cp);
        CHECKF(len == cases[i].len, "case %zu: length %d, expected %d", i, len, cases[i].len);
        CHECKF(cp == cases[i].cp, "case %zu: U+%04X, expected U+%04X", i, (unsigned)cp,
               (unsigned)cases[i].cp);
        /* Bytes after the sequence are not consumed. */
        char buf[8];
        memcpy(buf, cases[i].s, (size_t)cases[i].len);
        buf[cases[i].len] = 'x';
        CHECK(decode_bytes(buf, (size_t)cases[i].len + 1, &cp) == cases[i].len);
        /* Encoding gives back the same bytes. */
        char enc[4];
        int elen = charrnn_utf8_encode(cases[i].cp, enc);
        CHECKF(elen == cases[i].len && memcmp(enc, cases[i].s, (size_t)elen) == 0,
               "case %zu: encode length %d", i, elen);
    }
    /* NUL is a valid one-byte sequence for the decoder (the corpus rejects it). */
    uint32_t cp = 1;
    CHECK(decode_bytes("\0", 1, &cp) == 1 && cp == 0);
    /* Values that are not scalar values encode as U+FFFD. */
    char enc[4];
    CHECK(charrnn_utf8_encode(0xD800, enc) == 3 && memcmp(enc, "\xEF\xBF\xBD", 3) == 0);
    CHECK(charrnn_utf8_encode(0x110000, enc) == 3 && memcmp(enc, "\xEF\xBF\xBD", 3) == 0);
}

static void test_utf8_invalid(void) {
    static const struct { const char *what; const char *s; size_t n; } cases[] = {
        {"stray continuation 0x80", "\x80", 1},
        {"stray continuation 0xBF", "\xBF\x41", 2},
        {"lead 0xC0 (overlong)", "\xC0\x80", 2},
        {"lead 0xC1 (overlong)", "\xC1\xBF", 2},
        {"overlong 3-byte U+007F", "\xE0\x81\xBF", 3},
        {"overlong 3-byte U+07FF", "\xE0\x9F\xBF", 3},
        {"overlong 4-byte U+FFFF", "\xF0\x8F\xBF\xBF", 4},
        {"surrogate U+D800", "\xED\xA0\x80", 3},
        {"surrogate U+DFFF", "\xED\xBF\xBF", 3},
        {"above U+10FFFF", "\xF4\x90\x80\x80", 4},
        {"lead 0xF5", "\xF5\x80\x80\x80", 4},
        {"lead 0xF8", "\xF8\x88\x80\x80", 4},
        {"lead 0xFF", "\xFF", 1},
        {"truncated 2-byte", "\xC3", 1},
        {"truncated 3-byte", "\xE5\xBA", 2},
        {"truncated 4-byte", "\xF0\x9F\x98", 3},
        {"bad continuation 2-byte", "\xC3\x41", 2},
        {"bad continuation 3-byte", "\xE5\x41\x8A", 3},
        {"bad continuation 3-byte end", "\xE5\xBA\xC0", 3},
        {"bad continuation 4-byte end", "\xF0\x9F\x98\x41", 4},
        {"empty input", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        int len = decode_bytes(cases[i].s, cases[i].n, &cp);
        CHECKF(len == 0, "%s accepted (length %d)", cases[i].what, len);
    }
    /* A sequence cut short by the buffer length is invalid even if the bytes
     * beyond it would complete it. */
    uint32_t cp;
    CHECK(decode_bytes("\xF0\x9F\x98\x80", 3, &cp) == 0);
}

static void test_vocab_sorted_deterministic(void) {
    charrnn_error err = {0};
    corpus a, b;
    const char *t1 = "hello, world! zebra AZ";
    const char *t2 = "Z zebra! A world, hello";
    CHECK(corpus_from_memory(&a, t1, strlen(t1), CHARRNN_UNIT_CODEPOINT, "t1", &err) == 0);
    CHECK(corpus_from_memory(&b, t2, strlen(t2), CHARRNN_UNIT_CODEPOINT, "t2", &err) == 0);
    CHECK(a.vocab_size == b.vocab_size);
    CHECK(a.vocab_size == 15); /* " !,AZabdehlorwz" */
    for (int i = 1; i < a.vocab_size; i++) CHECKF(a.vocab[i - 1] < a.vocab[i], "i=%d", i);
    CHECK(a.vocab_size == b.vocab_size &&
          memcmp(a.vocab, b.vocab, (size_t)a.vocab_size * sizeof *a.vocab) == 0);
    CHECK(a.vocab[0] == ' ' && a.vocab[a.vocab_size - 1] == 'z');
    CHECK(a.n == strlen(t1) && a.elem_bytes == 1 && a.unit == CHARRNN_UNIT_CODEPOINT);
    for (size_t i = 0; i < a.n; i++)
        CHECKF(a.vocab[corpus_id(&a, i)] == (unsigned char)t1[i], "i=%zu", i);
    for (int i = 0; i < a.vocab_size; i++) CHECK(vocab_index(a.vocab, a.vocab_size, a.vocab[i]) == i);
    CHECK(vocab_index(a.vocab, a.vocab_size, 'q') == -1);
    CHECK(vocab_index(a.vocab, a.vocab_size, 0) == -1);
    CHECK(vocab_index(a.vocab, a.vocab_size, 0x10FFFF) == -1);
    CHECK(vocab_index(a.vocab, 0, 'a') == -1);
    corpus_free(&a);
    corpus_free(&b);
    CHECK(a.ids == NULL && a.vocab == NULL && a.n == 0);
}

static void test_checksum(void) {
    charrnn_error err = {0};
    corpus c;
    CHECK(corpus_from_memory(&c, "a", 1, CHARRNN_UNIT_CODEPOINT, "a", &err) == 0);
    CHECK(c.checksum == 0xaf63dc4c8601ec8cull && c.file_bytes == 1);
    corpus_free(&c);
    CHECK(corpus_from_memory(&c, "foobar", 6, CHARRNN_UNIT_BYTE, "f", &err) == 0);
    CHECK(c.checksum == 0x85944171f73967e8ull && c.file_bytes == 6);
    corpus_free(&c);
    /* Long enough to go through the eight-byte fast path, with a multibyte tail. */
    const char *s = "foobarfoobarfoobar\xC3\xA9";
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    CHECK(corpus_from_memory(&c, s, strlen(s), CHARRNN_UNIT_CODEPOINT, "f", &err) == 0);
    CHECK(c.checksum == h && c.n == 19 && c.file_bytes == 20);
    corpus_free(&c);
}

/* Maps ids back through the vocabulary and re-encodes them as UTF-8. */
static char *decode_corpus(const corpus *c, size_t *len) {
    char *out = malloc(c->n * 4 + 1);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        uint32_t v = c->vocab[corpus_id(c, i)];
        if (c->unit == CHARRNN_UNIT_BYTE) out[k++] = (char)v;
        else k += (size_t)charrnn_utf8_encode(v, out + k);
    }
    out[k] = 0;
    *len = k;
    return out;
}

static void test_chinese_roundtrip(void) {
    charrnn_error err = {0};
    corpus c;
    const char *path = t_path("poem.txt");
    CHECK(t_write_file(path, POEM, strlen(POEM)) == 0);
    CHECKF(corpus_load(&c, path, CHARRNN_UNIT_CODEPOINT, &err) == 0, "%s", err.msg);
    CHECK(c.n == 12);            /* one token per character */
    CHECK(c.vocab_size == 12);   /* all distinct */
    CHECK(c.elem_bytes == 1);
    CHECK(c.file_bytes == 36);
    CHECK(vocab_index(c.vocab, c.vocab_size, 0x5E8A) >= 0);  /* 床 */
    CHECK(vocab_index(c.vocab, c.vocab_size, 0xFF0C) == c.vocab_size - 1); /* ， largest */
    CHECK(c.vocab[corpus_id(&c, 0)] == 0x5E8A);
    CHECK(c.vocab[corpus_id(&c, 11)] == 0x3002); /* 。 */
    size_t len;
    char *back = decode_corpus(&c, &len);
    CHECK(len == strlen(POEM) && memcmp(back, POEM, len) == 0);
    free(back);

    /* The same from memory gives the same corpus. */
    corpus m;
    CHECK(corpus_from_memory(&m, POEM, strlen(POEM), CHARRNN_UNIT_CODEPOINT, "poem", &err) == 0);
    CHECK(m.n == c.n && m.vocab_size == c.vocab_size && m.checksum == c.checksum);
    CHECK(memcmp(m.ids, c.ids, c.n) == 0);
    corpus_free(&m);
    corpus_free(&c);

    /* Byte mode: one token per byte (three per character here). */
    CHECKF(corpus_load(&c, path, CHARRNN_UNIT_BYTE, &err) == 0, "%s", err.msg);
    CHECK(c.n == 36 && c.unit == CHARRNN_UNIT_BYTE && c.elem_bytes == 1);
    CHECK(c.vocab_size < 36 && c.vocab_size > 12);
    for (int i = 0; i < c.vocab_size; i++) CHECK(c.vocab[i] >= 0x80 && c.vocab[i] <= 0xFF);
    CHECK(c.vocab[corpus_id(&c, 0)] == 0xE5);
    back = decode_corpus(&c, &len);
    CHECK(len == strlen(POEM) && memcmp(back, POEM, len) == 0);
    free(back);
    corpus_free(&c);
}

static void test_byte_mode_any_bytes(void) {
    charrnn_error err = {0};
    corpus c;
    /* NUL and invalid UTF-8 are fine in byte mode. */
    const char raw[] = {'a', 0, (char)0xFF, (char)0xC0, 'a', (char)0x80};
    CHECKF(corpus_from_memory(&c, raw, sizeof raw, CHARRNN_UNIT_BYTE, "raw", &err) == 0, "%s",
           err.msg);
    CHECK(c.n == 6 && c.vocab_size == 5);
    CHECK(c.vocab[0] == 0 && c.vocab[1] == 'a' && c.vocab[4] == 0xFF);
    CHECK(corpus_id(&c, 0) == corpus_id(&c, 4));
    corpus_free(&c);
}

/* Writes the code points first..first+count-1 (skipping surrogates) as UTF-8. */
static char *make_text(uint32_t first, int count, size_t *len) {
    char *s = malloc((size_t)count * 4 + 1);
    size_t k = 0;
    uint32_t cp = first;
    for (int i = 0; i < count; i++, cp++) {
        if (cp == 0xD800) cp = 0xE000;
        k += (size_t)charrnn_utf8_encode(cp, s + k);
    }
    s[k] = 0;
    *len = k;
    return s;
}

static void test_elem_bytes(void) {
    charrnn_error err = {0};
    corpus c;
    size_t len;
    /* 256 distinct symbols still fit one byte. */
    char *s = make_text(0x100, 256, &len);
    CHECK(corpus_from_memory(&c, s, len, CHARRNN_UNIT_CODEPOINT, "256", &err) == 0);
    CHECK(c.vocab_size == 256 && c.elem_bytes == 1);
    CHECK(corpus_id(&c, 255) == 255 && c.vocab[255] == 0x1FF);
    corpus_free(&c);
    free(s);

    /* 300 distinct CJK characters, written to a file, need two bytes. */
    s = make_text(0x4E00, 300, &len);
    const char *path = t_path("cjk300.txt");
    CHECK(t_write_file(path, s, len) == 0);
    CHECKF(corpus_load(&c, path, CHARRNN_UNIT_CODEPOINT, &err) == 0, "%s", err.msg);
    CHECK(c.n == 300 && c.vocab_size == 300 && c.elem_bytes == 2);
    CHECK(c.vocab[0] == 0x4E00 && c.vocab[299] == 0x4E00 + 299);
    int ok = 1;
    for (size_t i = 0; i < c.n; i++) ok &= corpus_id(&c, i) == i;
    CHECK(ok);
    size_t blen;
    char *back = decode_corpus(&c, &blen);
    CHECK(blen == len && memcmp(back, s, len) == 0);
    free(back);
    corpus_free(&c);
    free(s);

    /* More than 65536 distinct code points need four bytes (crossing the
     * surrogate gap and into the supplementary planes). */
    s = make_text(0xC000, 70000, &len);
    CHECK(corpus_from_memory(&c, s, len, CHARRNN_UNIT_CODEPOINT, "big", &err) == 0);
    CHECK(c.n == 70000 && c.vocab_size == 70000 && c.elem_bytes == 4);
    ok = 1;
    for (size_t i = 0; i < c.n; i++) ok &= corpus_id(&c, i) == i;
    CHECK(ok);
    for (int i = 1; i < c.vocab_size; i++) ok &= c.vocab[i - 1] < c.vocab[i];
    CHECK(ok);
    back = decode_corpus(&c, &blen);
    CHECK(blen == len && memcmp(back, s, len) == 0);
    free(back);
    corpus_free(&c);
    free(s);
}

static void test_invalid_utf8_message(void) {
    charrnn_error err = {0};
    corpus c;
    /* Long ASCII prefix (through the fast path), then a stray 0xFF at offset 21. */
    const char *text = "the quick brown fox j\xFFumps";
    const char *path = t_path("bad.txt");
    CHECK(t_write_file(path, text, strlen(text)) == 0);
    int rc = corpus_load(&c, path, CHARRNN_UNIT_CODEPOINT, &err);
    CHECK(rc == CHARRNN_EFORMAT && err.code == CHARRNN_EFORMAT);
    CHECKF(strstr(err.msg, "not valid UTF-8") != NULL, "%s", err.msg);
    CHECKF(strstr(err.msg, "byte offset 21 ") != NULL, "%s", err.msg);
    CHECKF(strstr(err.msg, "0xFF") != NULL, "%s", err.msg);
    CHECKF(strstr(err.msg, "--unit byte") != NULL, "%s", err.msg);
    CHECKF(strstr(err.msg, path) != NULL, "%s", err.msg);
    CHECK(strchr(err.msg, '\n') == NULL);
    CHECK(c.ids == NULL && c.vocab == NULL);
    /* The same file in byte mode loads. */
    CHECKF(corpus_load(&c, path, CHARRNN_UNIT_BYTE, &err) == 0, "%s", err.msg);
    CHECK(c.n == strlen(text));
    corpus_free(&c);

    /* A surrogate after valid multibyte text: the offset is that of its lead byte. */
    const char *sur = "é\xED\xA0\x80x";
    rc = corpus_from_memory(&c, sur, strlen(sur), CHARRNN_UNIT_CODEPOINT, "sur", &err);
    CHECK(rc == CHARRNN_EFORMAT);
    CHECKF(strstr(err.msg, "byte offset 2 (byte 0xED)") != NULL, "%s", err.msg);
    /* Truncated at the end of the text. */
    const char *trunc = "abc\xE5\xBA";
    rc = corpus_from_memory(&c, trunc, strlen(trunc), CHARRNN_UNIT_CODEPOINT, "tr", &err);
    CHECK(rc == CHARRNN_EFORMAT);
    CHECKF(strstr(err.msg, "byte offset 3 (byte 0xE5)") != NULL, "%s", err.msg);
}

static void test_nul_byte(void) {
    charrnn_error err = {0};
    corpus c;
    const char text[] = "some text\0more";
    const char *path = t_path("nul.txt");
    CHECK(t_write_file(path, text, sizeof text - 1) == 0);
    int rc = corpus_load(&c, path, CHARRNN_UNIT_CODEPOINT, &err);
    CHECK(rc == CHARRNN_EFORMAT);
    CHECKF(strstr(err.msg, "NUL byte at offset 9") != NULL, "%s", err.msg);
    CHECKF(strstr(err.msg, "--unit byte") != NULL, "%s", err.msg);
    CHECK(corpus_load(&c, path, CHARRNN_UNIT_BYTE, &err) == 0 && c.n == sizeof text - 1);
    corpus_free(&c);
    /* NUL at the start and inside an eight-byte block. */
    const char t2[] = "\0abcdefghij";
    rc = corpus_from_memory(&c, t2, sizeof t2 - 1, CHARRNN_UNIT_CODEPOINT, "t2", &err);
    CHECKF(rc == CHARRNN_EFORMAT && strstr(err.msg, "offset 0:") != NULL, "%s", err.msg);
}

static void test_file_errors(void) {
    charrnn_error err = {0};
    corpus c;
    const char *missing = t_path("no-such-file.txt");
    int rc = corpus_load(&c, missing, CHARRNN_UNIT_CODEPOINT, &err);
    CHECK(rc == CHARRNN_EIO && err.code == CHARRNN_EIO);
    char want[700];
    snprintf(want, sizeof want, "cannot open '%s': No such file or directory", missing);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);

    const char *dir = t_path("adir");
    CHECK(mkdir(dir, 0700) == 0);
    rc = corpus_load(&c, dir, CHARRNN_UNIT_CODEPOINT, &err);
    CHECK(rc == CHARRNN_EIO);
    snprintf(want, sizeof want, "'%s' is a directory; give a text file", dir);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);

    const char *empty = t_path("empty.txt");
    CHECK(t_write_file(empty, "", 0) == 0);
    rc = corpus_load(&c, empty, CHARRNN_UNIT_BYTE, &err);
    CHECK(rc == CHARRNN_EDATA && err.code == CHARRNN_EDATA);
    snprintf(want, sizeof want,
             "'%s' is empty; give a text file with at least a few hundred characters", empty);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    CHECK(c.ids == NULL && c.vocab == NULL);

    rc = corpus_from_memory(&c, "", 0, CHARRNN_UNIT_CODEPOINT, "mem", &err);
    CHECK(rc == CHARRNN_EDATA && strstr(err.msg, "'mem' is empty") != NULL);
    corpus_free(&c); /* safe after a failure */
}

static void test_encode_with_vocab(void) {
    charrnn_error err = {0};
    corpus c;
    const uint32_t vocab[] = {' ', 'a', 'b', 'c', 0x660E /* 明 */};
    const char *text = "abc xyz 明月 abx 月y";
    long unknown = -1;
    uint32_t ex[2] = {0, 0};
    int nex = -1;
    int rc = corpus_encode_with_vocab(&c, text, strlen(text), CHARRNN_UNIT_CODEPOINT, vocab, 5,
                                      "eval", &unknown, ex, 2, &nex, &err);
    CHECKF(rc == 0, "%s", err.msg);
    /* unknown: x y z 月 x 月 y */
    CHECK(unknown == 7);
    CHECK(nex == 2 && ex[0] == 'x' && ex[1] == 'y');
    /* known: a b c ' ' ' ' 明 ' ' a b ' ' */
    CHECK(c.n == 10 && c.vocab_size == 5 && c.elem_bytes == 1);
    CHECK(c.vocab != vocab && memcmp(c.vocab, vocab, sizeof vocab) == 0);
    static const uint32_t want[] = {1, 2, 3, 0, 0, 4, 0, 1, 2, 0};
    int ok = 1;
    for (size_t i = 0; i < c.n && i < 10; i++) ok &= corpus_id(&c, i) == want[i];
    CHECK(ok);
    corpus_free(&c);

    /* More room for examples: distinct ones only, in order of appearance. */
    uint32_t ex8[8];
    rc = corpus_encode_with_vocab(&c, text, strlen(text), CHARRNN_UNIT_CODEPOINT, vocab, 5,
                                  "eval", &unknown, ex8, 8, &nex, &err);
    CHECK(rc == 0 && nex == 4 && ex8[2] == 'z' && ex8[3] == 0x6708 /* 月 */);
    corpus_free(&c);

    /* Invalid UTF-8 is still an error. */
    rc = corpus_encode_with_vocab(&c, "ab\xC0\x80", 4, CHARRNN_UNIT_CODEPOINT, vocab, 5, "eval",
                                  &unknown, ex, 2, &nex, &err);
    CHECK(rc == CHARRNN_EFORMAT);
    CHECKF(strstr(err.msg, "byte offset 2") != NULL && strstr(err.msg, "convert the text to UTF-8") != NULL,
           "%s", err.msg);
    CHECK(c.ids == NULL);

    /* Byte mode: bytes of multibyte characters are symbols of their own. */
    const uint32_t bvocab[] = {'a', 0xE6};
    rc = corpus_encode_with_vocab(&c, "a明a", 5, CHARRNN_UNIT_BYTE, bvocab, 2, "b", &unknown, ex, 2,
                                  &nex, &err);
    CHECK(rc == 0 && c.n == 3 && unknown == 2 && nex == 2 && ex[0] == 0x98 && ex[1] == 0x8E);
    CHECK(corpus_id(&c, 0) == 0 && corpus_id(&c, 1) == 1 && corpus_id(&c, 2) == 0);
    corpus_free(&c);

    /* A large vocabulary gives wide indices even for a short text. */
    uint32_t *big = malloc(300 * sizeof *big);
    for (int i = 0; i < 300; i++) big[i] = 0x4E00 + (uint32_t)i;
    rc = corpus_encode_with_vocab(&c, "\xE4\xB8\x80?", 4, CHARRNN_UNIT_CODEPOINT, big, 300, "w",
                                  &unknown, NULL, 0, NULL, &err);
    CHECK(rc == 0 && c.elem_bytes == 2 && c.n == 1 && corpus_id(&c, 0) == 0 && unknown == 1);
    corpus_free(&c);
    free(big);

    /* An unsorted vocabulary is refused. */
    const uint32_t bad[] = {'b', 'a'};
    rc = corpus_encode_with_vocab(&c, "ab", 2, CHARRNN_UNIT_CODEPOINT, bad, 2, "x", &unknown,
                                  NULL, 0, NULL, &err);
    CHECK(rc == CHARRNN_EINVAL);
}

void register_data_tests(void) {
    t_register("data_utf8_valid", test_utf8_valid);
    t_register("data_utf8_invalid", test_utf8_invalid);
    t_register("data_vocab_sorted_deterministic", test_vocab_sorted_deterministic);
    t_register("data_checksum", test_checksum);
    t_register("data_chinese_roundtrip", test_chinese_roundtrip);
    t_register("data_byte_mode_any_bytes", test_byte_mode_any_bytes);
    t_register("data_elem_bytes", test_elem_bytes);
    t_register("data_invalid_utf8_message", test_invalid_utf8_message);
    t_register("data_nul_byte", test_nul_byte);
    t_register("data_file_errors", test_file_errors);
    t_register("data_encode_with_vocab", test_encode_with_vocab);
}
