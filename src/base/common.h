/* common.h: small helpers shared by the library's files: error reporting into a
 * charrnn_error, allocation whose sizes are checked for overflow, the memory the
 * machine has, quoting file contents in messages. Nothing here prints or exits. */
#ifndef CHARRNN_COMMON_H
#define CHARRNN_COMMON_H

#include "charrnn.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CR_PRINTF(a, b)
#endif

/* Fills err (which may be NULL) and returns code, so callers can write
 * `return cr_fail(err, CHARRNN_EIO, "cannot open %s: %s", path, strerror(errno));` */
int cr_fail(charrnn_error *err, int code, const char *fmt, ...) CR_PRINTF(3, 4);
/* The same into a plain buffer of errlen bytes (err may be NULL), for the file
 * helpers that report through one. */
void cr_seterr(char *err, size_t errlen, const char *fmt, ...) CR_PRINTF(3, 4);

/* calloc / malloc / realloc of n items of size bytes that refuse a product that
 * overflows (NULL). Zero items still give a valid (1-byte) block. */
void *cr_calloc(size_t n, size_t size);
void *cr_malloc(size_t n, size_t size);
void *cr_realloc(void *p, size_t n, size_t size);
/* *out = a * b; returns 0, or -1 (out untouched) if the product overflows. */
int cr_mul(size_t a, size_t b, size_t *out);

/* FNV-1a 64 of n bytes, continuing from h (start with CR_FNV_OFFSET): the
 * checksum of checkpoints, n-gram files, compressed files and weights. */
#define CR_FNV_OFFSET 14695981039346656037ULL
uint64_t cr_fnv1a(uint64_t h, const void *p, size_t n);

/* Bytes s[0..n) quoted for a message, into out (cap >= 8): \n, \t, \r, a doubled
 * backslash, \xNN for other control bytes and bytes that are not UTF-8, \u{NNNN} for
 * code points a terminal would not show as themselves (C1, bidi overrides, zero
 * widths), as the charrnn command writes them; cut with "..." where it does not
 * fit. A crafted file cannot put terminal escapes into a message. Returns out. */
const char *cr_esc(char *out, size_t cap, const void *s, size_t n);
/* Numbers as text for a message or a file (charrnn_num, charrnn_numf in charrnn.h),
 * for one message: the text lives as long as the enclosing block. */
#define CR_NUM_LEN CHARRNN_NUM_LEN
#define CR_NUM(v) charrnn_num((v), (char[CHARRNN_NUM_LEN]){0})
#define CR_NUMF(v) charrnn_numf((v), (char[CHARRNN_NUM_LEN]){0})

/* Memory the system can give this process now (MemAvailable), in bytes; 0 if unknown. */
size_t cr_available_memory(void);

#endif
