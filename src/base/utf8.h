/* utf8.h: strict UTF-8, the bottom of the house: decoding one sequence; public
 * (in charrnn.h) as charrnn_utf8_decode, with charrnn_utf8_encode and
 * charrnn_unsafe_codepoint. */
#ifndef CHARRNN_UTF8_H
#define CHARRNN_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define CP_LIMIT 0x110000u /* one past the largest code point, U+10FFFF */

/* Decodes one UTF-8 sequence at s[0..n). Returns its length (1-4) and sets *cp,
 * or 0 if the bytes are not valid UTF-8 (overlong forms, surrogates, values above
 * U+10FFFF, truncated or stray continuation bytes are all invalid). */
int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
