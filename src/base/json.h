/* json.h: a small JSON reader (a DOM in one arena) and a growable string buffer
 * for writing JSON. Enough for safetensors headers and checkpoint metadata; not a
 * general-purpose library. Strings are UTF-8; \u escapes (surrogate pairs too)
 * are decoded. Limits: depth 64, header size is bounded by the caller. */
#ifndef CHARRNN_JSON_H
#define CHARRNN_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    double number;     /* JSON_NUMBER (and JSON_BOOL: 0 or 1) */
    const char *str;   /* JSON_STRING: NUL-terminated, decoded; len excludes NUL */
    size_t len;        /* JSON_STRING: bytes; JSON_ARRAY/OBJECT: number of items */
    json_value *items; /* JSON_ARRAY / JSON_OBJECT: len values */
    const char **keys; /* JSON_OBJECT: len keys (decoded, NUL-terminated) */
};

typedef struct json_doc json_doc;

/* Parses text[0..len). On failure returns NULL and writes a message with the byte
 * offset into err (errlen bytes). The whole text must be one value (whitespace
 * around it allowed). An object's keys must differ and hold no \u0000 (readers
 * that take the first or the last of two equal keys would see different
 * documents). */
json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen);
const json_value *json_root(const json_doc *d);
void json_free(json_doc *d);

/* Object member by key, or NULL if v is not an object or lacks it. */
const json_value *json_get(const json_value *obj, const char *key);
/* Convenience getters: return 0 on success, -1 if missing or of another type;
 * json_get_string also -1 for a string holding \u0000 (a C string would hold
 * only the part before it). */
int json_get_number(const json_value *obj, const char *key, double *out);
int json_get_string(const json_value *obj, const char *key, const char **out);

/* ---- writing ---- */
typedef struct jbuf {
    char *buf;
    size_t len, cap;
    int oom; /* set if an allocation failed; the content is then incomplete */
} jbuf;

void jb_init(jbuf *b);
void jb_free(jbuf *b);
void jb_raw(jbuf *b, const char *s);            /* appends s verbatim */
void jb_printf(jbuf *b, const char *fmt, ...);  /* appends formatted text verbatim */
void jb_string(jbuf *b, const char *s, size_t n); /* appends a quoted, escaped JSON string */
void jb_cstring(jbuf *b, const char *s);        /* jb_string of a NUL-terminated string */
/* UTF-8 text as a JSON string literal in pure ASCII, safe inside <script>: non-ASCII as \u escapes
 * (surrogate pairs above U+FFFF), < > & as \u003c ..., invalid UTF-8 becomes U+FFFD. Any JSON reader
 * gets the text back exactly. */
void jb_ascii_string(jbuf *b, const char *s, size_t n);
void jb_number(jbuf *b, double v);              /* shortest text that reads back to the same double ("%.17g"), or null for NaN/Inf */

#endif
