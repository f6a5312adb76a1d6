/* common.h: small helpers shared by the library's files: error reporting into a
 * charrnn_error, checked allocation, timing. Nothing here prints or exits. */
#ifndef CHARRNN_COMMON_H
#define CHARRNN_COMMON_H

#include "charrnn.h"
#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define CR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CR_PRINTF(a, b)
/* Memory the system can give this process now (MemAvailable), in bytes; 0 if unknown. */
size_t cr_available_memory(void);

#endif

/* Fills err (which may be NULL) and returns code, so callers can write
 * `return cr_fail(err, CHARRNN_EIO, "cannot open %s: %s", path, strerror(errno));` */
int cr_fail(charrnn_error *err, int code, const char *fmt, ...) CR_PRINTF(3, 4);

/* calloc that refuses sizes that overflow; NULL on failure. */
void *cr_calloc(size_t n, size_t size);

/* Memory the system can give this process now (MemAvailable), in bytes; 0 if unknown. */
size_t cr_available_memory(void);

#endif
