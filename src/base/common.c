/* common.c: error reporting into charrnn_error, checked allocation, quoting file
 * contents and numbers as text for messages. */
#include "common.h"
#include "utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cr_fail(charrnn_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int cr_mul(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b) return -1;
    *out = a * b;
    return 0;
}

void *cr_calloc(size_t n, size_t size) {
    size_t total;
    if (cr_mul(n, size, &total)) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *cr_malloc(size_t n, size_t size) {
    size_t total;
    if (cr_mul(n, size, &total)) return NULL;
    return malloc(total ? total : 1);
}

void *cr_realloc(void *p, size_t n, size_t size) {
    size_t total;
    if (cr_mul(n, size, &total)) return NULL;
    return realloc(p, total ? total : 1); /* never realloc(p, 0), which frees p */
}

const char *cr_esc(char *out, size_t cap, const void *src, size_t n) {
    const unsigned char *s = src;
    const size_t room = cap - 1; /* the NUL */
    size_t o = 0;
    for (size_t i = 0, k; i < n; i += k) {
        char piece[16];
        size_t len;
        uint32_t cp = 0;
        k = (size_t)utf8_decode(s + i, n - i, &cp);
        if (!k) { k = 1; len = (size_t)snprintf(piece, sizeof piece, "\\x%02x", s[i]); } /* first: cp is then half decoded */
        else if (cp == '\\') len = (size_t)snprintf(piece, sizeof piece, "\\\\");
        else if (cp == '\n') len = (size_t)snprintf(piece, sizeof piece, "\\n");
        else if (cp == '\t') len = (size_t)snprintf(piece, sizeof piece, "\\t");
        else if (cp == '\r') len = (size_t)snprintf(piece, sizeof piece, "\\r");
        else if (cp < 0x20 || cp == 0x7f) len = (size_t)snprintf(piece, sizeof piece, "\\x%02x", s[i]);
        else if (charrnn_unsafe_codepoint(cp)) len = (size_t)snprintf(piece, sizeof piece, "\\u{%04X}", (unsigned)cp);
        else { memcpy(piece, s + i, k); len = k; }
        if (o + len + (i + k < n ? 3 : 0) > room) { /* the rest does not fit: "..." (room was kept for it) */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, piece, len);
        o += len;
    }
    out[o] = 0;
    return out;
}

size_t cr_available_memory(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                fclose(f);
                return (size_t)kb * 1024;
            }
        fclose(f);
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (size_t)pages * (size_t)size : 0;
}

const char *charrnn_version(void) { return CHARRNN_VERSION; }
int charrnn_format_version(void) { return CHARRNN_FORMAT_VERSION; }

void charrnn_free(void *p) { free(p); }

void cr_seterr(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *charrnn_num(double v, char *out) {
    if (v == floor(v) && fabs(v) < 1e17) {
        snprintf(out, CR_NUM_LEN, "%.0f", v);
        return out;
    }
    for (int prec = 15; prec <= 17; prec++) { /* 17 always reads back */
        snprintf(out, CR_NUM_LEN, "%.*g", prec, v);
        if (!isfinite(v) || strtod(out, NULL) == v) break;
    }
    return out;
}

const char *charrnn_numf(float v, char *out) {
    if (v == floorf(v) && fabsf(v) < 1e7f) return charrnn_num((double)v, out);
    for (int prec = 6; prec <= 9; prec++) { /* 9 always reads back */
        snprintf(out, CR_NUM_LEN, "%.*g", prec, (double)v);
        if (!isfinite(v) || strtof(out, NULL) == v) break;
    }
    return out;
}

uint64_t cr_fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}
