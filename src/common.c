/* common.c: error reporting into charrnn_error and checked allocation. */
#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

void *cr_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}
