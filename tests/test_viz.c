/* test_viz.c: looking inside a model. (1) The named text properties of `charrnn
 * cells` on crafted text: quotes, brackets and their depth, [[ ]], <tag>, C
 * comments, line position, indentation, word starts; and the correlation of
 * neurons with them. (2) The page writers: HTML and JSON escaping of < > & and
 * quotes and of any Unicode (U+1F600 included) round-trips; base64 and int8
 * activations; a crafted trace written as a viz page comes back exactly from
 * the page's JSON. (3) The commands end to end: train --sample-every writes
 * sample lines, report reads a crafted log (restart, bad line), cells and viz
 * run and refuse bad input. The pure parts are compiled in from cli/. */
#include "test.h"
#include "json.h"

#include "../cli/viz_props.c"
#include "../cli/viz_html.c"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------------------- */

/* UTF-8 to code points (the text is valid); returns the count. */
static int to_cps(const char *s, uint32_t *out, int cap) {
    int n = 0;
    size_t len = strlen(s);
    for (size_t i = 0; i < len && n < cap;) {
        uint32_t cp;
        int k = charrnn_utf8_decode(s + i, len - i, &cp);
        if (k <= 0) { cp = 0xFFFD; k = 1; }
        out[n++] = cp;
        i += (size_t)k;
    }
    return n;
}

/* Checks property p over text against expect, one digit per character
 * ('.' = don't care). */
static void expect_prop(const char *text, int p, const char *expect, int line) {
    uint32_t cps[512] = {0};
    int n = to_cps(text, cps, 512);
    float *props = malloc(sizeof(float) * TP_COUNT * (size_t)n);
    text_props(props, cps, n);
    char got[513];
    for (int i = 0; i < n; i++) {
        float v = props[(size_t)p * n + i];
        got[i] = v >= 0 && v <= 9 ? (char)('0' + (int)v) : '+';
    }
    got[n] = 0;
    int ok = (int)strlen(expect) == n;
    for (int i = 0; ok && i < n; i++) ok = expect[i] == '.' || expect[i] == got[i];
    t_check(ok, __FILE__, line, text_prop_name(p), "on \"%s\": expected %s, got %s", text, expect, got);
    free(props);
}
#define EXPECT_PROP(text, p, expect) expect_prop(text, p, expect, __LINE__)

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes standard base64 into out (cap bytes); returns the length or -1. */
static long b64_decode(const char *s, size_t len, unsigned char *out, size_t cap) {
    if (len % 4) return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) v[k] = s[i + k] == '=' ? 0 : b64_value(s[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) return -1;
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        int bytes = s[i + 2] == '=' ? 1 : s[i + 3] == '=' ? 2 : 3;
        for (int k = 0; k < bytes; k++) {
            if (n >= cap) return -1;
            out[n++] = (unsigned char)(w >> (16 - 8 * k));
        }
    }
    return (long)n;
}

static int all_ascii(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

/* Undoes html_text: the five named entities and &#xHEX;, back to UTF-8. */
static char *html_unescape(const char *s) {
    char *out = malloc(strlen(s) * 4 + 1), *o = out;
    while (*s) {
        static const struct { const char *ent; char c; } named[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
        int done = 0;
        for (size_t k = 0; k < 5 && !done; k++)
            if (!strncmp(s, named[k].ent, strlen(named[k].ent))) *o++ = named[k].c, s += strlen(named[k].ent), done = 1;
        if (done) continue;
        if (!strncmp(s, "&#x", 3)) {
            char *end;
            unsigned long cp = strtoul(s + 3, &end, 16);
            if (*end == ';') { o += charrnn_utf8_encode((uint32_t)cp, o); s = end + 1; continue; }
        }
        *o++ = *s++;
    }
    *o = 0;
    return out;
}

/* ---- 1. text properties --------------------------------------------------------------------- */

static void test_prop_quotes(void) {
    EXPECT_PROP("a \"bc\" d", TP_IN_QUOTES, "00111000");
    EXPECT_PROP("\"a\\\"b\" c", TP_IN_QUOTES, "11111000");       /* \" does not close */
    EXPECT_PROP("x = '\"'; y", TP_IN_QUOTES, "0000000000");      /* a C char literal */
    EXPECT_PROP("\xE2\x80\x9C" "ab" "\xE2\x80\x9D" " c", TP_IN_QUOTES, "111000"); /* curly quotes */
    EXPECT_PROP("\"one\ntwo\" x", TP_IN_QUOTES, "11111111000"); /* prose quotes span lines */
    EXPECT_PROP("// \"x\ny", TP_IN_QUOTES, "0000000");             /* not in a comment */
    EXPECT_PROP("\"a\n\n\"b\" c", TP_IN_QUOTES, "111011000");       /* a paragraph ends a quote */
}

static void test_prop_brackets(void) {
    EXPECT_PROP("f(a[b{c}])", TP_NESTING_DEPTH, "0112233210");
    EXPECT_PROP("f(a[b{c}])", TP_IN_PARENS, "0111111110");
    EXPECT_PROP("f(a[b{c}])", TP_IN_BRACKETS, "0001111100");
    EXPECT_PROP("f(a[b{c}])", TP_IN_BRACES, "0000011000");
    EXPECT_PROP("((x)(y))", TP_PAREN_DEPTH, "12212210");
    EXPECT_PROP("{ {\n} }", TP_BRACE_DEPTH, "1122110");
    EXPECT_PROP(")a(b", TP_PAREN_DEPTH, "0011");                 /* a stray closer is ignored */
    EXPECT_PROP("/* ( */ (x)", TP_PAREN_DEPTH, "00000000110"); /* not in a comment */
    EXPECT_PROP("\"(\" x", TP_PAREN_DEPTH, "01111");             /* but in quotes, yes */
}

static void test_prop_markup(void) {
    EXPECT_PROP("a [[b]] c", TP_IN_WIKI_LINK, "000111000");   /* on at the second '[' */
    EXPECT_PROP("a [b] c", TP_IN_WIKI_LINK, "0000000");
    EXPECT_PROP("x<b>y</b>", TP_IN_TAG, "011001110");
    EXPECT_PROP("a < b > c", TP_IN_TAG, "000000000");         /* a comparison is no tag */
    EXPECT_PROP("i <n\nx", TP_IN_TAG, "001100");               /* a stray '<' stops at the line end */
    EXPECT_PROP("<!-- c -->", TP_IN_TAG, "1111111110");
}

static void test_prop_comments(void) {
    EXPECT_PROP("a /* b */ c", TP_IN_COMMENT, "00011111000");
    EXPECT_PROP("x // y\nz", TP_IN_COMMENT, "00011100");
    EXPECT_PROP("/*/ x */", TP_IN_COMMENT, "01111110");         /* the '/' after the opener does not close */
    EXPECT_PROP("/**/*", TP_IN_COMMENT, "01100");               /* nor does the closer open again */
    EXPECT_PROP("\"http://x\" y", TP_IN_COMMENT, "000000000000"); /* // inside a string */
    EXPECT_PROP("/* a\nb */c", TP_IN_COMMENT, "0111111100");     /* block comments span lines */
}

static void test_prop_lines_words(void) {
    EXPECT_PROP("ab\ncd\n\ne", TP_LINE_POS, "12012001");
    EXPECT_PROP("  x\n\tif\n y", TP_INDENT, "1220888011");
    EXPECT_PROP("a  b", TP_INDENT, "0000");                     /* only leading whitespace */
    EXPECT_PROP("hi, don't x_y 42", TP_WORD_START, "1000100000100010");
    EXPECT_PROP("caf\xC3\xA9 na\xC3\xAFve", TP_WORD_START, "1000010000");
    uint32_t cps[4] = {'a', ' ', 0x1F600, 'b'};
    float props[TP_COUNT * 4];
    text_props(props, cps, 4);
    CHECKF(props[TP_LINE_POS * 4 + 3] == 4, "an emoji is one character: line_pos %g", props[TP_LINE_POS * 4 + 3]);
    for (int p = 0; p < TP_COUNT; p++) CHECKF(strcmp(text_prop_name(p), "?"), "property %d has no name", p);
}

static void test_correlate(void) {
    /* three neurons over a quote-toggling text: one that is the property, one
     * its negative (after tanh), one constant */
    const char *text = "say \"hello there\" and \"bye\" now";
    uint32_t cps[64];
    int n = to_cps(text, cps, 64);
    float *props = malloc(sizeof(float) * TP_COUNT * (size_t)n), *act = malloc(sizeof(float) * 3 * (size_t)n);
    text_props(props, cps, n);
    for (int i = 0; i < n; i++) {
        float q = props[TP_IN_QUOTES * n + i];
        act[i * 3 + 0] = q ? 3.0f : -3.0f;
        act[i * 3 + 1] = q ? -0.5f : 0.5f;
        act[i * 3 + 2] = 0.25f;
    }
    double r[TP_COUNT * 3], mean[TP_COUNT];
    CHECK(props_correlate(r, mean, act, n, 3, 1, props) == 0);
    CHECK_CLOSE(r[TP_IN_QUOTES * 3 + 0], 1.0, 1e-6, 0);
    CHECK_CLOSE(r[TP_IN_QUOTES * 3 + 1], -1.0, 1e-6, 0);
    CHECKF(isnan(r[TP_IN_QUOTES * 3 + 2]), "a constant neuron has no correlation, got %g", r[TP_IN_QUOTES * 3 + 2]);
    CHECKF(isnan(r[TP_IN_COMMENT * 3 + 0]), "a property absent from the text has no correlation");
    int inside = 0;
    for (int i = 0; i < n; i++) inside += props[TP_IN_QUOTES * n + i] != 0;
    CHECK_CLOSE(mean[TP_IN_QUOTES], (double)inside / n, 1e-12, 0);
    /* against a direct two-pass Pearson on line_pos */
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) mx += tanh(act[i * 3]), my += props[TP_LINE_POS * n + i];
    mx /= n, my /= n;
    for (int i = 0; i < n; i++) {
        double dx = tanh(act[i * 3]) - mx, dy = props[TP_LINE_POS * n + i] - my;
        sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
    }
    CHECK_CLOSE(r[TP_LINE_POS * 3 + 0], sxy / sqrt(sxx * syy), 1e-6, 0);
    free(props);
    free(act);
}

/* ---- 2. escaping and pages --------------------------------------------------------------------- */

/* < > & quotes, accents, CJK, an emoji outside the BMP, U+2028, a tab and a newline */
static const char CRAFTED[] = "a<b>&c\"d'e </script> \xC3\xA9\xE4\xB8\xAD \xF0\x9F\x98\x80\xE2\x80\xA8\tz\n";

/* The pages' files: each embedded string is the whole file as it is now (the
 * build embeds, never copies), and every file of cli/pages/ is pure ASCII (the
 * pages read the same under any charset) with no "</script" or "</style" (it
 * would end the element it sits in). */
static void test_pages_embedded(void) {
    static const struct { const char *text, *path; } embedded[] = {
        {viz_onerror_script, "cli/pages/onerror.js"}, {page_common_js, "cli/pages/common.js"},
        {viz_css, "cli/pages/viz.css"},               {viz_js, "cli/pages/viz.js"},
        {cells_css, "cli/pages/cells.css"},           {cells_js, "cli/pages/cells.js"},
    };
    for (size_t i = 0; i < sizeof embedded / sizeof embedded[0]; i++) {
        char *file = t_read_file(embedded[i].path, NULL);
        CHECKF(file && !strcmp(file, embedded[i].text), "%s is not what the page writer embeds (stale build?)",
               embedded[i].path);
        free(file);
    }
    DIR *d = opendir("cli/pages");
    if (!CHECKF(d, "cannot list cli/pages (run from the repository root)")) return;
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = t_fmt("cli/pages/%s", e->d_name);
        size_t len = 0;
        char *text = t_read_file(path, &len);
        int ascii = text != NULL;
        for (size_t i = 0; ascii && i < len; i++) ascii = (unsigned char)text[i] < 0x80 && text[i] != 0;
        CHECKF(ascii, "%s is not pure ASCII: write other characters as escapes (\\u21b5, &#x21b5;)", path);
        CHECKF(text && !strcasestr(text, "</script") && !strcasestr(text, "</style"),
               "%s holds a closing </script> or </style>, which would end the element it is embedded in", path);
        files++;
        free(text);
        free(path);
    }
    closedir(d);
    CHECKF(files >= 8, "only %d files in cli/pages", files);
}

static void test_html_text(void) {
    jbuf b;
    jb_init(&b);
    html_text(&b, CRAFTED, strlen(CRAFTED));
    CHECKF(all_ascii(b.buf, b.len), "html_text wrote non-ASCII: %s", b.buf);
    CHECKF(!strpbrk(b.buf, "<>\"'"), "html_text left markup characters: %s", b.buf);
    CHECKF(strstr(b.buf, "&#x1F600;") != NULL, "the emoji is one character reference: %s", b.buf);
    char *back = html_unescape(b.buf);
    CHECKF(!strcmp(back, CRAFTED), "round trip: got '%s'", back);
    free(back);
    jb_free(&b);
    jb_init(&b);
    html_text(&b, "x\xFFy\x01", 4); /* invalid UTF-8 and a control character */
    CHECKF(!strcmp(b.buf, "x&#xFFFD;y&#xFFFD;"), "got %s", b.buf);
    jb_free(&b);
}

static void test_jb_ascii_string(void) {
    jbuf b;
    jb_init(&b);
    jb_ascii_string(&b, CRAFTED, strlen(CRAFTED));
    CHECKF(all_ascii(b.buf, b.len), "non-ASCII in %s", b.buf);
    CHECKF(!strpbrk(b.buf, "<>&"), "< > & must be escaped inside <script>: %s", b.buf);
    CHECKF(strstr(b.buf, "\\ud83d\\ude00") != NULL, "U+1F600 as a surrogate pair: %s", b.buf);
    char msg[200];
    json_doc *d = json_parse(b.buf, b.len, msg, sizeof msg);
    CHECKF(d != NULL, "not JSON: %s", msg);
    if (d) {
        const json_value *v = json_root(d);
        CHECK(v->type == JSON_STRING && v->len == strlen(CRAFTED) && !memcmp(v->str, CRAFTED, v->len));
        json_free(d);
    }
    jb_free(&b);
    jb_init(&b);
    jb_ascii_string(&b, "a\xC3(b", 4); /* a broken sequence */
    CHECKF(!strcmp(b.buf, "\"a\\ufffd(b\""), "got %s", b.buf);
    jb_free(&b);
}

static void test_base64_and_quantize(void) {
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *coded[] = {"\"\"", "\"Zg==\"", "\"Zm8=\"", "\"Zm9v\"", "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
    for (int i = 0; i < 7; i++) {
        jbuf b;
        jb_init(&b);
        json_base64(&b, plain[i], strlen(plain[i]));
        CHECKF(!strcmp(b.buf ? b.buf : "", coded[i]), "base64(%s) = %s, expected %s", plain[i], b.buf, coded[i]);
        jb_free(&b);
    }
    unsigned char big[10000], back[10000];
    for (int i = 0; i < 10000; i++) big[i] = (unsigned char)(i * 7919 >> 3);
    jbuf b;
    jb_init(&b);
    json_base64(&b, big, sizeof big);
    CHECK(b64_decode(b.buf + 1, b.len - 2, back, sizeof back) == 10000 && !memcmp(big, back, sizeof big));
    jb_free(&b);
    CHECK(quantize_act(-1.0f) == -127 && quantize_act(1.0f) == 127 && quantize_act(0.0f) == 0);
    CHECK(quantize_act(3.0f) == 127 && quantize_act(-3.0f) == -127 && quantize_act(NAN) == 0);
    CHECK(quantize_act(0.5f) == 64 && quantize_act(-0.25f) == -32);
}

/* The JSON object inside <script id="data" ...>...</script> of a page. */
static json_doc *page_data(const char *page, size_t len) {
    const char *tag = "<script id=\"data\" type=\"application/json\">";
    const char *s = strstr(page, tag);
    if (!s) return NULL;
    s += strlen(tag);
    const char *e = strstr(s, "</script>");
    if (!e || e > page + len) return NULL;
    char msg[200];
    json_doc *d = json_parse(s, (size_t)(e - s), msg, sizeof msg);
    if (!d) fprintf(stderr, "    page data is not JSON: %s\n", msg);
    return d;
}

static long decode_b64_member(const json_value *v, unsigned char *out, size_t cap) {
    return v && v->type == JSON_STRING ? b64_decode(v->str, v->len, out, cap) : -1;
}

static void test_viz_page_round_trip(void) {
    /* a crafted trace: 2 layers x 3 LSTM neurons over the crafted text */
    uint32_t cps[64];
    const int n = to_cps(CRAFTED, cps, 64), L = 2, H = 3, K = CHARRNN_TOPK;
    charrnn_trace t = {0};
    t.n = n, t.num_layers = L, t.hidden = H, t.cell = CHARRNN_LSTM;
    t.chars = cps;
    t.h = malloc(sizeof(float) * (size_t)n * L * H);
    t.c = malloc(sizeof(float) * (size_t)n * L * H);
    t.top_chars = malloc(sizeof(uint32_t) * (size_t)n * K);
    t.top_probs = malloc(sizeof(float) * (size_t)n * K);
    t.p_next = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n * L * H; i++) t.h[i] = sinf((float)i), t.c[i] = 3.0f * cosf((float)i * 0.7f);
    for (int i = 0; i < n * K; i++) t.top_chars[i] = cps[(i * 5 + 3) % n], t.top_probs[i] = 1.0f / (float)(i % K + 2);
    for (int i = 0; i < n; i++) t.p_next[i] = i + 1 < n ? 0.001f * (float)i : NAN;
    const char *title = "t\xC3\xAAte </script><b>&\"' \xF0\x9F\x98\x80";
    viz_page page = {title, "cv/best.safetensors", "in<put>.txt", 42, CHARRNN_UNIT_CODEPOINT, &t};
    jbuf b;
    jb_init(&b);
    viz_write_page(&b, &page);
    CHECK(!b.oom);
    CHECKF(all_ascii(b.buf, b.len), "the page is pure ASCII");
    CHECKF(strstr(b.buf, "in&lt;put&gt;.txt") != NULL, "the file name is escaped in the HTML");
    CHECKF(strstr(b.buf, "t&#xEA;te &lt;/script&gt;&lt;b&gt;&amp;&quot;&#39; &#x1F600;") != NULL, "the title is escaped");
    CHECKF(strstr(b.buf, "data-ready") != NULL && strstr(b.buf, "window.onerror") != NULL, "the page reports its state");
    CHECKF(!strstr(b.buf, "http://") && !strstr(b.buf, "https://") && !strstr(b.buf, "src="), "nothing external");
    json_doc *d = page_data(b.buf, b.len);
    CHECK(d != NULL);
    if (d) {
        const json_value *v = json_root(d), *text = json_get(v, "text"), *top = json_get(v, "top");
        const char *got_title = NULL;
        CHECK(!json_get_string(v, "title", &got_title) && !strcmp(got_title, title));
        double num;
        CHECK(!json_get_number(v, "n", &num) && num == n);
        CHECK(!json_get_number(v, "start", &num) && num == 42);
        CHECK(!json_get_number(v, "layers", &num) && num == L);
        CHECK(!json_get_number(v, "hidden", &num) && num == H);
        CHECKF(text && text->type == JSON_ARRAY && (int)text->len == n, "the text as %d code points", n);
        for (int i = 0; text && i < n && i < (int)text->len; i++)
            CHECKF(text->items[i].number == cps[i], "code point %d: %g, expected U+%04X", i, text->items[i].number, cps[i]);
        CHECK(top && (int)top->len == n * K);
        for (int i = 0; top && i < n * K && i < (int)top->len; i++) CHECK(top->items[i].number == t.top_chars[i]);
        unsigned char buf[4096];
        long got = decode_b64_member(json_get(v, "top_p"), buf, sizeof buf);
        CHECK(got == (long)sizeof(float) * n * K && !memcmp(buf, t.top_probs, (size_t)got));
        got = decode_b64_member(json_get(v, "p_next"), buf, sizeof buf);
        CHECK(got == (long)sizeof(float) * n && !memcmp(buf, t.p_next, sizeof(float) * (size_t)(n - 1)));
        const json_value *qs = json_get(v, "quantities");
        CHECKF(qs && qs->len == 2, "an LSTM page has tanh(c) and h");
        for (size_t q = 0; qs && q < qs->len; q++) {
            const char *key = NULL;
            json_get_string(&qs->items[q], "key", &key);
            CHECK(key && !strcmp(key, q == 0 ? "c" : "h"));
            const json_value *layers = json_get(&qs->items[q], "layers");
            CHECK(layers && (int)layers->len == L);
            for (int l = 0; layers && l < L && l < (int)layers->len; l++) {
                got = decode_b64_member(&layers->items[l], buf, sizeof buf);
                CHECK(got == (long)n * H);
                int bad = 0;
                for (int i = 0; got == (long)n * H && i < n; i++)
                    for (int j = 0; j < H; j++) { /* neuron-major: j * n + i */
                        float x = (q == 0 ? t.c : t.h)[((size_t)i * L + l) * H + j];
                        bad += (int8_t)buf[(size_t)j * n + i] != quantize_act(q == 0 ? tanhf(x) : x);
                    }
                CHECKF(!bad, "quantity %zu layer %d: %d activations differ", q, l, bad);
            }
        }
        json_free(d);
    }
    jb_free(&b);
    /* a GRU page has h only */
    t.cell = CHARRNN_GRU;
    float *c = t.c;
    t.c = NULL;
    jb_init(&b);
    viz_write_page(&b, &page);
    d = page_data(b.buf, b.len);
    const json_value *qs = d ? json_get(json_root(d), "quantities") : NULL;
    CHECKF(qs && qs->len == 1, "a GRU page has h only");
    json_free(d);
    jb_free(&b);
    free(c);
    free(t.h);
    free(t.top_chars);
    free(t.top_probs);
    free(t.p_next);
}

static void test_cells_page(void) {
    uint32_t cps[64];
    const int n = to_cps(CRAFTED, cps, 64);
    int8_t act[64];
    uint16_t pv[64];
    for (int i = 0; i < n; i++) act[i] = (int8_t)(i * 9 - 100), pv[i] = (uint16_t)(i * 1000);
    cells_entry e[2] = {{1, 7, TP_IN_QUOTES, 0.875, 0.25, 2, 10, act, pv}, {0, 3, TP_LINE_POS, -0.5, 12, 0, n, act, pv}};
    cells_page page = {"cells \xF0\x9F\x98\x80 <x>", "ck.safetensors", "f&g.txt", "tanh(c)", 5, cps, n, e, 1, e + 1, 1,
                       "in_comment, in_tag"};
    jbuf b;
    jb_init(&b);
    cells_write_page(&b, &page);
    CHECK(!b.oom && all_ascii(b.buf, b.len));
    CHECKF(strstr(b.buf, "f&amp;g.txt") && strstr(b.buf, "Not in this text: in_comment, in_tag"), "the header");
    json_doc *d = page_data(b.buf, b.len);
    CHECK(d != NULL);
    if (d) {
        const json_value *v = json_root(d), *best = json_get(v, "best"), *top = json_get(v, "top"), *text = json_get(v, "text");
        CHECK(text && (int)text->len == n && text->items[n - 1].number == cps[n - 1]);
        CHECK(best && best->len == 1 && top && top->len == 1);
        if (best && best->len == 1) {
            const json_value *x = &best->items[0];
            const char *prop = NULL;
            double num;
            CHECK(!json_get_string(x, "prop", &prop) && !strcmp(prop, "in_quotes"));
            CHECK(!json_get_number(x, "layer", &num) && num == 1);
            CHECK(!json_get_number(x, "neuron", &num) && num == 7);
            CHECK(!json_get_number(x, "r", &num) && num == 0.875);
            unsigned char buf[256];
            CHECK(decode_b64_member(json_get(x, "act"), buf, sizeof buf) == 10 && !memcmp(buf, act, 10));
            CHECK(decode_b64_member(json_get(x, "pv"), buf, sizeof buf) == 20 && buf[2] == (1000 & 255) && buf[3] == (1000 >> 8));
        }
        json_free(d);
    }
    jb_free(&b);
}

/* ---- 3. the commands ------------------------------------------------------------------------------ */

/* A small corpus with quotes, brackets, comments and Unicode. */
static const char *viz_corpus(void) {
    static int done;
    const char *path = t_path("viz_corpus.txt");
    if (done) return path;
    static const char *lines[] = {
        "int main(void) { /* entry */ return f(a[1], \"x<y>\"); }\n",
        "\tif (x) { y = g((1 + 2) * 3); } // done\n",
        "\"Hello,\" said she, \"it is a caf\xC3\xA9 \xF0\x9F\x98\x80 & more.\"\n",
        "See [[the link]] and <b>bold</b> text.\n",
    };
    size_t cap = 200000, len = 0;
    char *buf = malloc(cap);
    for (unsigned k = 0; len + 200 < 60000; k = k * 1103515245u + 12345u)
        len += (size_t)snprintf(buf + len, cap - len, "%s", lines[(k >> 16) % 4]);
    done = t_write_file(path, buf, len) == 0;
    free(buf);
    return path;
}

/* A tiny LSTM trained on viz_corpus with samples in its log; NULL on failure. */
static const char *viz_model(void) {
    return t_trained("viz_cv", viz_corpus(), "--rnn-size 24 --num-layers 2 --batch-size 8 --seq-length 32 --max-iters 40 "
                     "--eval-val-every 20 --print-every 5 --sample-every 10 --sample-length 30 --threads 1");
}

static void test_train_sample_every(void) {
    if (!viz_model()) return;
    size_t len;
    char *log = t_read_file(t_path("viz_cv/train.jsonl"), &len);
    CHECK(log != NULL);
    int samples = 0;
    for (char *line = log; log && *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char msg[200];
        json_doc *d = json_parse(line, n, msg, sizeof msg);
        CHECKF(d != NULL, "a log line is not JSON: %s", msg);
        const char *s;
        double it, temp;
        if (d && !json_get_string(json_root(d), "sample", &s)) {
            samples++;
            CHECK(!json_get_number(json_root(d), "iteration", &it) && it == 10.0 * samples);
            CHECK(!json_get_number(json_root(d), "temperature", &temp) && temp == 1);
            uint32_t cps[64];
            CHECKF(to_cps(s, cps, 64) == 30, "a sample of 30 characters: '%s'", s);
        }
        json_free(d);
        line += n + (end != NULL);
    }
    CHECKF(samples == 4, "40 iterations, --sample-every 10: %d samples", samples);
    free(log);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --sample-every -1 --checkpoint-dir '%s'", viz_corpus(), t_path("viz_bad"));
    CHECKF(rc == 2 && strstr(err, "--sample-every"), "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 42 --sample-every 1 --sample-length 5 --checkpoint-dir '%s'",
             viz_corpus(), viz_model(), t_path("viz_resumed"));
    CHECKF(rc == 0 && !strstr(err, "ignored"), "--sample-* are allowed with --resume: exit %d: %s", rc, err);
    free(err);
}

static void test_report_cli(void) {
    const char *dir = t_path("report_run");
    char *cmd = t_fmt("mkdir -p '%s'", dir);
    t_run(cmd, NULL, NULL);
    free(cmd);
    /* a first run, then a fresh one in the same directory, a broken line, a sample with markup and an emoji */
    const char *log =
        "{\"iteration\":1,\"epoch\":0.01,\"train_loss\":9.5,\"train_bpc\":13.7,\"grad_norm\":1,\"learning_rate\":0.002,\"ms_per_iter\":5}\n"
        "{\"iteration\":10,\"epoch\":0.1,\"train_loss\":9.0,\"train_bpc\":13,\"grad_norm\":1,\"learning_rate\":0.002,\"ms_per_iter\":5}\n"
        "{\"iteration\":1,\"epoch\":0.01,\"train_loss\":4.2,\"train_bpc\":6.06,\"grad_norm\":2,\"learning_rate\":0.002,\"ms_per_iter\":7}\n"
        "{\"iteration\":10,\"epoch\":0.1,\"train_loss\":3.1,\"train_bpc\":4.47,\"grad_norm\":0.5,\"learning_rate\":0.002,\"ms_per_iter\":7}\n"
        "{\"iteration\":10,\"sample\":\"<b>hi</b> & \\ud83d\\ude00\",\"temperature\":0.5}\n"
        "{\"iteration\":20,\"epoch\":0.2,\"train_loss\":2.5,\"train_bpc\":3.6,\"grad_norm\":0.4,\"learning_rate\":0.00194,\"ms_per_iter\":6}\n"
        "{\"iteration\":20,\"epoch\":0.2,\"val_loss\":2.7,\"val_bpc\":3.9}\n"
        "{\"iteration\":30,\"epoch\":0.3,\"train_lo";
    char path[600];
    snprintf(path, sizeof path, "%s/train.jsonl", dir);
    CHECK(t_write_file(path, log, strlen(log)) == 0);
    char *err;
    const char *html = t_path("report.html");
    int rc = t_cli(NULL, &err, "report '%s' -o '%s'", dir, html);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(err, "1 line(s)") && strstr(err, "line 8"), "the broken last line is reported: %s", err);
    free(err);
    char *page = t_read_file(html, NULL);
    CHECK(page != NULL);
    if (page) {
        CHECKF(strstr(page, "&lt;b&gt;hi&lt;/b&gt; &amp; &#x1F600;") != NULL, "the sample is escaped");
        CHECKF(strstr(page, "1 to 20 (3 progress lines)") != NULL, "the restarted run's lines only");
        CHECKF(strstr(page, "2.7000 nats") != NULL, "the best validation loss");
        CHECKF(strstr(page, "0.002 at the start, 0.00194 at the end") != NULL, "the learning rate");
        CHECKF(strstr(page, "No best.safetensors or latest.safetensors") != NULL, "no checkpoint in the directory");
        int svgs = 0;
        for (const char *p = page; (p = strstr(p, "<svg")); p++) svgs++;
        CHECKF(svgs == 4, "loss, learning rate, speed, gradient norm: %d plots", svgs);
        CHECKF(strstr(page, "<th>restarts</th>") != NULL, "the restart is noted");
        free(page);
    }
    const char *svg = t_path("loss.svg");
    rc = t_cli(NULL, &err, "report '%s' --format svg -o '%s'", dir, svg);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    page = t_read_file(svg, NULL);
    CHECKF(page && !strncmp(page, "<?xml", 5) && strstr(page, "xmlns=\"http://www.w3.org/2000/svg\"") &&
           strstr(page, "bits per character") && strstr(page, "</svg>"), "a standalone SVG");
    free(page);
    rc = t_cli(NULL, &err, "report '%s'", t_path("no_such_run"));
    CHECKF(rc == 1 && strstr(err, "no_such_run"), "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "report '%s' --format pdf", dir);
    CHECKF(rc == 2 && strstr(err, "html|svg"), "exit %d: %s", rc, err);
    free(err);
}

static void test_cells_viz_cli(void) {
    const char *ck = viz_model();
    if (!ck) return;
    char *out, *err;
    const char *cells = t_path("cells.html");
    int rc = t_cli(&out, &err, "cells '%s' '%s' --length 3000 --top 5 -o '%s'", ck, viz_corpus(), cells);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(out, "best neuron for each property") && strstr(out, "in_quotes") && strstr(out, "in_comment") &&
           strstr(out, "neurons ranked by |r|"), "the tables: %s", out);
    int ranked = 0;
    for (const char *p = strstr(out, "neurons ranked"); p && (p = strchr(p + 1, '\n')) && p[1];) ranked++;
    CHECKF(ranked == 6, "a header and --top 5 rows: %d lines", ranked);
    free(out);
    free(err);
    char *page = t_read_file(cells, NULL);
    CHECKF(page && strstr(page, "id=\"gallery\""), "the gallery page");
    free(page);
    rc = t_cli(&out, &err, "cells '%s' '%s' --state h --length 500 --top 3", ck, viz_corpus());
    CHECKF(rc == 0 && strstr(out, "activation h"), "exit %d: %s", rc, err);
    free(out);
    free(err);
    const char *viz = t_path("viz.html");
    rc = t_cli(NULL, &err, "viz '%s' '%s' --start 100 --length 300 -o '%s'", ck, viz_corpus(), viz);
    CHECKF(rc == 0 && strstr(err, "300 characters"), "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "viz '%s' '%s' --start 99999999 -o '%s'", ck, viz_corpus(), viz);
    CHECKF(rc == 2 && strstr(err, "past the end"), "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "viz '%s'", ck);
    CHECKF(rc == 2 && strstr(err, "needs a checkpoint and a text file"), "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "cells '%s' '%s' --lenght 5", ck, viz_corpus());
    CHECKF(rc == 2 && strstr(err, "did you mean --length"), "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "viz '%s' '%s' -o '%s'", ck, viz_corpus(), t_path("no/such/dir/v.html"));
    CHECKF(rc == 1 && strstr(err, "cannot write"), "exit %d: %s", rc, err);
    free(err);
}

void register_viz_tests(void) {
    t_register("viz_pages_embedded", test_pages_embedded);
    t_register("viz_prop_quotes", test_prop_quotes);
    t_register("viz_prop_brackets", test_prop_brackets);
    t_register("viz_prop_markup", test_prop_markup);
    t_register("viz_prop_comments", test_prop_comments);
    t_register("viz_prop_lines_words", test_prop_lines_words);
    t_register("viz_correlate", test_correlate);
    t_register("viz_html_text", test_html_text);
    t_register("viz_jb_ascii_string", test_jb_ascii_string);
    t_register("viz_base64_quantize", test_base64_and_quantize);
    t_register("viz_page_round_trip", test_viz_page_round_trip);
    t_register("viz_cells_page", test_cells_page);
    t_register("viz_train_sample_every", test_train_sample_every);
    t_register("viz_report_cli", test_report_cli);
    t_register("viz_cells_viz_cli", test_cells_viz_cli);
}
