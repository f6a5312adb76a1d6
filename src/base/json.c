/* json.c: a strict recursive-descent JSON parser that builds a DOM in an arena
 * owned by json_doc, and jbuf, the growable buffer used to write JSON text.
 * Errors name the byte offset of the problem in the input. */
#include "json.h"
#include "charrnn.h"
#include "common.h"
#include "utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

/* ---- arena ---------------------------------------------------------------- */

/* Blocks are chained and freed together; every allocation is rounded up to
 * max_align_t so values, pointers and strings can share a block. */
typedef struct jblock {
    struct jblock *next;
    size_t used, cap;
    max_align_t data[];
} jblock;

struct json_doc {
    jblock *blocks;
    size_t next_cap; /* size of the next block; doubles up to a limit */
    json_value root;
};

static void *arena_alloc(json_doc *d, size_t size) {
    const size_t al = sizeof(max_align_t);
    if (size > SIZE_MAX - al) return NULL;
    size = (size + al - 1) / al * al;
    if (size == 0) size = al;
    jblock *b = d->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = d->next_cap;
        if (cap < size) cap = size;
        if (cap > SIZE_MAX - sizeof(jblock)) return NULL;
        b = malloc(sizeof(jblock) + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = d->blocks;
        d->blocks = b;
        if (d->next_cap < (1u << 20)) d->next_cap *= 2;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return p;
}

/* ---- parser --------------------------------------------------------------- */

/* Children of the containers being parsed wait on these stacks until their
 * container closes and its item count is known; then they are copied into the
 * arena in one piece and popped. Nested containers finish before their parent
 * pushes again, so one pair of stacks serves the whole parse. */
typedef struct jkey {
    const char *key;
    size_t pos; /* where its opening quote is, for the duplicate-key message */
} jkey;

typedef struct parser {
    const unsigned char *s;
    size_t n, pos;
    json_doc *doc;
    json_value *vstk;
    size_t vlen, vcap;
    jkey *kstk;
    size_t klen, kcap;
    char *err;
    size_t errlen;
    int failed;
} parser;

static int fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t at, const char *fmt, ...) {
    if (p->failed) return -1; /* keep the first, most specific message */
    p->failed = 1;
    if (p->err && p->errlen) {
        int k = snprintf(p->err, p->errlen, "invalid JSON at byte %zu: ", at);
        if (k >= 0 && (size_t)k < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static int fail_oom(parser *p) {
    return fail(p, p->pos, "out of memory while building the document");
}

/* Describes the byte at pos for messages: 'x', end of input, or 0xNN. */
static const char *describe(parser *p, size_t pos, char buf[16]) {
    if (pos >= p->n) return "end of input";
    unsigned c = p->s[pos];
    if (c >= 0x20 && c < 0x7f) snprintf(buf, 16, "'%c'", (char)c);
    else snprintf(buf, 16, "byte 0x%02X", c);
    return buf;
}

static void skip_ws(parser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int push_value(parser *p, const json_value *v) {
    if (p->vlen == p->vcap) {
        size_t nc = p->vcap ? p->vcap * 2 : 64;
        json_value *nv = realloc(p->vstk, nc * sizeof *nv);
        if (!nv) return fail_oom(p);
        p->vstk = nv;
        p->vcap = nc;
    }
    p->vstk[p->vlen++] = *v;
    return 0;
}

static int push_key(parser *p, const char *k, size_t pos) {
    if (p->klen == p->kcap) {
        size_t nc = p->kcap ? p->kcap * 2 : 64;
        jkey *nk = realloc(p->kstk, nc * sizeof *nk);
        if (!nk) return fail_oom(p);
        p->kstk = nk;
        p->kcap = nc;
    }
    p->kstk[p->klen++] = (jkey){k, pos};
    return 0;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a \u escape whose backslash is at pos. */
static int read_u4(parser *p, size_t pos, unsigned *out) {
    if (pos + 6 > p->n) return fail(p, pos, "truncated \\u escape (need 4 hex digits)");
    unsigned v = 0;
    for (size_t i = pos + 2; i < pos + 6; i++) {
        int h = hexval(p->s[i]);
        if (h < 0) return fail(p, i, "invalid hex digit in \\u escape");
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

/* \u escapes decode to UTF-8 with the project's one encoder (utf8.c). */
static size_t put_utf8(unsigned char *o, unsigned cp) { return (size_t)charrnn_utf8_encode(cp, (char *)o); }

/* Parses the string whose opening quote is at p->pos. The decoded form is never
 * longer than the raw text, so one arena allocation of the raw length suffices. */
static int parse_string(parser *p, const char **out, size_t *outlen) {
    size_t start = p->pos, i = start + 1;
    for (;;) {
        if (i >= p->n) return fail(p, start, "unterminated string (no closing '\"')");
        unsigned char c = p->s[i];
        if (c == '"') break;
        if (c < 0x20) return fail(p, i, "control character 0x%02X in string (escape it)", c);
        i += (c == '\\') ? 2 : 1;
    }
    size_t end = i; /* closing quote */
    unsigned char *o = arena_alloc(p->doc, end - start);
    if (!o) return fail_oom(p);
    size_t k = 0;
    for (i = start + 1; i < end;) {
        unsigned char c = p->s[i];
        if (c != '\\') {
            uint32_t cp;
            size_t l = (size_t)utf8_decode(p->s + i, end - i, &cp); /* strict: the corpus's decoder */
            if (!l) return fail(p, i, "invalid UTF-8 byte 0x%02X in string", c);
            memcpy(o + k, p->s + i, l);
            k += l;
            i += l;
            continue;
        }
        unsigned char e = p->s[i + 1];
        switch (e) {
        case '"': o[k++] = '"'; i += 2; continue;
        case '\\': o[k++] = '\\'; i += 2; continue;
        case '/': o[k++] = '/'; i += 2; continue;
        case 'b': o[k++] = '\b'; i += 2; continue;
        case 'f': o[k++] = '\f'; i += 2; continue;
        case 'n': o[k++] = '\n'; i += 2; continue;
        case 'r': o[k++] = '\r'; i += 2; continue;
        case 't': o[k++] = '\t'; i += 2; continue;
        case 'u': break;
        default: return fail(p, i, "invalid escape '\\%c' in string", e >= 0x20 && e < 0x7f ? e : '?');
        }
        unsigned cp;
        if (read_u4(p, i, &cp) < 0) return -1;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(p, i, "lone low surrogate \\u%04X in string", cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (i + 12 > end || p->s[i + 6] != '\\' || p->s[i + 7] != 'u')
                return fail(p, i, "lone high surrogate \\u%04X in string (not followed by \\uDC00-\\uDFFF)", cp);
            if (read_u4(p, i + 6, &lo) < 0) return -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail(p, i, "high surrogate \\u%04X followed by \\u%04X, not a low surrogate", cp, lo);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        k += put_utf8(o + k, cp);
        i += 6;
    }
    o[k] = 0;
    p->pos = end + 1;
    *out = (const char *)o;
    *outlen = k;
    return 0;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, double *out) {
    size_t start = p->pos, i = start;
    const unsigned char *s = p->s;
    if (i < p->n && s[i] == '-') i++;
    if (i >= p->n || !is_digit(s[i])) return fail(p, i, "expected a digit in number");
    if (s[i] == '0') {
        i++;
        if (i < p->n && is_digit(s[i])) return fail(p, start, "leading zeros are not allowed in numbers");
    } else {
        while (i < p->n && is_digit(s[i])) i++;
    }
    if (i < p->n && s[i] == '.') {
        i++;
        if (i >= p->n || !is_digit(s[i])) return fail(p, i, "expected a digit after '.' in number");
        while (i < p->n && is_digit(s[i])) i++;
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->n || !is_digit(s[i])) return fail(p, i, "expected a digit in exponent");
        while (i < p->n && is_digit(s[i])) i++;
    }
    /* The input need not be NUL-terminated, so strtod gets a bounded copy. The
     * grammar check above means strtod sees only [-0-9.eE+]; the decimal point is
     * '.' because the program runs in the C locale. */
    size_t len = i - start;
    char small[64];
    char *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf) return fail_oom(p);
    memcpy(buf, s + start, len);
    buf[len] = 0;
    double v = strtod(buf, NULL);
    if (buf != small) free(buf);
    if (!isfinite(v)) return fail(p, start, "number out of range for a double");
    *out = v;
    p->pos = i;
    return 0;
}

static int parse_value(parser *p, int depth, json_value *out);

static int cmp_jkey(const void *a, const void *b) {
    const jkey *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* An object's keys must differ: readers that take the first of two equal keys
 * (this parser's json_get) and readers that take the last (Python's json)
 * would otherwise see different files. Names the earliest key in the text
 * that repeats an earlier one. */
static int check_unique_keys(parser *p, const jkey *keys, size_t cnt) {
    if (cnt < 2) return 0;
    jkey *sorted = malloc(cnt * sizeof *sorted);
    if (!sorted) return fail_oom(p);
    memcpy(sorted, keys, cnt * sizeof *sorted);
    qsort(sorted, cnt, sizeof *sorted, cmp_jkey);
    const jkey *dup = NULL;
    for (size_t i = 1; i < cnt; i++)
        if (!strcmp(sorted[i].key, sorted[i - 1].key) && (!dup || sorted[i].pos < dup->pos)) dup = &sorted[i];
    int rc = 0;
    if (dup) {
        char q[160]; /* the key quoted as every name from a file is (cr_esc) */
        rc = fail(p, dup->pos, "duplicate key \"%s\" in object", cr_esc(q, sizeof q, dup->key, strlen(dup->key)));
    }
    free(sorted);
    return rc;
}

static int finish_container(parser *p, json_value *out, size_t vbase, size_t kbase, int is_obj) {
    size_t cnt = p->vlen - vbase;
    /* cnt 0 may leave the key stack unallocated: no pointer arithmetic on it then */
    if (is_obj && cnt > 1 && check_unique_keys(p, p->kstk + kbase, cnt) < 0) return -1;
    memset(out, 0, sizeof *out);
    out->type = is_obj ? JSON_OBJECT : JSON_ARRAY;
    out->len = cnt;
    if (cnt) {
        if (cnt > SIZE_MAX / sizeof(json_value)) return fail_oom(p);
        out->items = arena_alloc(p->doc, cnt * sizeof(json_value));
        if (!out->items) return fail_oom(p);
        memcpy(out->items, p->vstk + vbase, cnt * sizeof(json_value));
        if (is_obj) {
            const char **keys = arena_alloc(p->doc, cnt * sizeof(const char *));
            if (!keys) return fail_oom(p);
            for (size_t i = 0; i < cnt; i++) keys[i] = p->kstk[kbase + i].key;
            out->keys = keys;
        }
    }
    p->vlen = vbase;
    p->klen = kbase;
    return 0;
}

static int parse_array(parser *p, int depth, json_value *out) {
    size_t vbase = p->vlen;
    p->pos++; /* '[' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return finish_container(p, out, vbase, p->klen, 0);
    }
    for (;;) {
        json_value v;
        if (parse_value(p, depth, &v) < 0 || push_value(p, &v) < 0) return -1;
        skip_ws(p);
        char db[16];
        if (p->pos >= p->n) return fail(p, p->pos, "unexpected end of input in array (missing ']')");
        unsigned char c = p->s[p->pos];
        if (c == ']') { p->pos++; break; }
        if (c != ',') return fail(p, p->pos, "expected ',' or ']' in array, found %s", describe(p, p->pos, db));
        size_t comma = p->pos++;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ']') return fail(p, comma, "trailing comma before ']'");
    }
    return finish_container(p, out, vbase, p->klen, 0);
}

static int parse_object(parser *p, int depth, json_value *out) {
    size_t vbase = p->vlen, kbase = p->klen;
    p->pos++; /* '{' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return finish_container(p, out, vbase, kbase, 1);
    }
    for (;;) {
        char db[16];
        if (p->pos >= p->n || p->s[p->pos] != '"')
            return fail(p, p->pos, "expected a \"quoted\" object key, found %s", describe(p, p->pos, db));
        const char *key;
        size_t klen, kpos = p->pos;
        if (parse_string(p, &key, &klen) < 0) return -1;
        if (strlen(key) != klen) return fail(p, kpos, "object key contains \\u0000, which no key may hold");
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':')
            return fail(p, p->pos, "expected ':' after object key, found %s", describe(p, p->pos, db));
        p->pos++;
        json_value v;
        if (parse_value(p, depth, &v) < 0) return -1;
        if (push_key(p, key, kpos) < 0 || push_value(p, &v) < 0) return -1;
        skip_ws(p);
        if (p->pos >= p->n) return fail(p, p->pos, "unexpected end of input in object (missing '}')");
        unsigned char c = p->s[p->pos];
        if (c == '}') { p->pos++; break; }
        if (c != ',') return fail(p, p->pos, "expected ',' or '}' in object, found %s", describe(p, p->pos, db));
        size_t comma = p->pos++;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == '}') return fail(p, comma, "trailing comma before '}'");
    }
    return finish_container(p, out, vbase, kbase, 1);
}

static int literal(parser *p, const char *word) {
    size_t l = strlen(word);
    if (p->n - p->pos < l || memcmp(p->s + p->pos, word, l) != 0) return 0;
    p->pos += l;
    return 1;
}

/* depth: the number of containers already open around this value. */
static int parse_value(parser *p, int depth, json_value *out) {
    char db[16];
    memset(out, 0, sizeof *out);
    skip_ws(p);
    if (p->pos >= p->n) return fail(p, p->pos, "unexpected end of input, expected a value");
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{':
    case '[':
        if (depth + 1 > JSON_MAX_DEPTH)
            return fail(p, p->pos, "nesting deeper than %d levels", JSON_MAX_DEPTH);
        return c == '{' ? parse_object(p, depth + 1, out) : parse_array(p, depth + 1, out);
    case '"':
        out->type = JSON_STRING;
        return parse_string(p, &out->str, &out->len);
    case 't':
    case 'f':
    case 'n':
        if (literal(p, "true")) { out->type = JSON_BOOL; out->number = 1; return 0; }
        if (literal(p, "false")) { out->type = JSON_BOOL; out->number = 0; return 0; }
        if (literal(p, "null")) { out->type = JSON_NULL; return 0; }
        return fail(p, p->pos, "unknown literal (expected true, false or null)");
    default:
        if (c == '-' || is_digit(c)) {
            out->type = JSON_NUMBER;
            return parse_number(p, &out->number);
        }
        return fail(p, p->pos, "unexpected %s, expected a value", describe(p, p->pos, db));
    }
}

json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    json_doc *d = calloc(1, sizeof *d);
    if (!d) {
        if (err && errlen) snprintf(err, errlen, "out of memory parsing JSON");
        return NULL;
    }
    d->next_cap = 4096;
    parser p = {.s = (const unsigned char *)text, .n = text ? len : 0, .doc = d,
                .err = err, .errlen = errlen};
    int rc = parse_value(&p, 0, &d->root);
    if (rc == 0) {
        skip_ws(&p);
        if (p.pos < p.n) {
            char db[16];
            rc = fail(&p, p.pos, "unexpected %s after the JSON value", describe(&p, p.pos, db));
        }
    }
    free(p.vstk);
    free(p.kstk);
    if (rc < 0) {
        json_free(d);
        return NULL;
    }
    return d;
}

const json_value *json_root(const json_doc *d) { return d ? &d->root : NULL; }

void json_free(json_doc *d) {
    if (!d) return;
    jblock *b = d->blocks;
    while (b) {
        jblock *nx = b->next;
        free(b);
        b = nx;
    }
    free(d);
}

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT || !key) return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

int json_get_number(const json_value *obj, const char *key, double *out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type != JSON_NUMBER) return -1;
    if (out) *out = v->number;
    return 0;
}

int json_get_string(const json_value *obj, const char *key, const char **out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type != JSON_STRING || strlen(v->str) != v->len) return -1;
    if (out) *out = v->str;
    return 0;
}

/* ---- writer --------------------------------------------------------------- */

void jb_init(jbuf *b) { memset(b, 0, sizeof *b); }

void jb_free(jbuf *b) {
    free(b->buf);
    memset(b, 0, sizeof *b);
}

/* Makes room for extra more bytes plus the terminating NUL, which is kept so
 * that buf can be used as a C string. */
static int jb_reserve(jbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (extra > SIZE_MAX - b->len - 1) { b->oom = 1; return -1; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) nc = nc > SIZE_MAX / 2 ? need : nc * 2;
    char *nb = realloc(b->buf, nc);
    if (!nb) { b->oom = 1; return -1; }
    b->buf = nb;
    b->cap = nc;
    return 0;
}

static void jb_append(jbuf *b, const char *s, size_t n) {
    if (jb_reserve(b, n) < 0 || n == 0) return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
}

void jb_raw(jbuf *b, const char *s) { jb_append(b, s, strlen(s)); }

void jb_printf(jbuf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
    } else if (jb_reserve(b, (size_t)n) == 0) {
        vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void jb_string(jbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (!s) n = 0;
    jb_append(b, "\"", 1);
    size_t run = 0; /* bytes that need no escaping are copied in runs */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t el = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\t': esc[1] = 't'; break;
        case '\r': esc[1] = 'r'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c >= 0x20) { run++; continue; }
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            el = 6;
        }
        if (run) jb_append(b, s + i - run, run);
        run = 0;
        jb_append(b, esc, el);
    }
    if (run) jb_append(b, s + n - run, run);
    jb_append(b, "\"", 1);
}

void jb_cstring(jbuf *b, const char *s) { jb_string(b, s, s ? strlen(s) : 0); }

void jb_number(jbuf *b, double v) {
    if (!isfinite(v)) { jb_raw(b, "null"); return; }
    char tmp[CR_NUM_LEN]; /* integers as integers: safetensors readers want them */
    jb_raw(b, charrnn_num(v, tmp));
}

void jb_ascii_string(jbuf *b, const char *s, size_t n) {
    char tmp[16];
    jb_raw(b, "\"");
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int k = utf8_decode((const unsigned char *)s + i, n - i, &c);
        if (k <= 0) c = 0xFFFD, k = 1; /* a byte that is not UTF-8 */
        i += (size_t)k;
        if (c == '"') jb_raw(b, "\\\"");
        else if (c == '\\') jb_raw(b, "\\\\");
        else if (c == '\n') jb_raw(b, "\\n");
        else if (c == '\t') jb_raw(b, "\\t");
        else if (c >= 0x20 && c < 0x7f && c != '<' && c != '>' && c != '&') {
            tmp[0] = (char)c, tmp[1] = 0;
            jb_raw(b, tmp);
        } else if (c < 0x10000) {
            snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)c);
            jb_raw(b, tmp);
        } else { /* a UTF-16 surrogate pair */
            uint32_t v = c - 0x10000;
            snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)), (unsigned)(0xDC00 + (v & 0x3FF)));
            jb_raw(b, tmp);
        }
    }
    jb_raw(b, "\"");
}
