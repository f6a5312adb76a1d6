/* utf8.c: strict UTF-8 decoding and encoding (see utf8.h), and the code points a
 * terminal would not show as themselves (charrnn_unsafe_codepoint). */
#include "utf8.h"
#include "charrnn.h"

int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    uint32_t c0 = s[0];
    if (c0 < 0x80) {
        *cp = c0;
        return 1;
    }
    if (c0 < 0xC2) return 0; /* stray continuation byte, or overlong lead C0/C1 */
    if (c0 < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = ((c0 & 0x1F) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c0 < 0xF0) {
        if (n < 3) return 0;
        uint32_t c1 = s[1], c2 = s[2];
        if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return 0;
        if (c0 == 0xE0 && c1 < 0xA0) return 0;  /* overlong: below U+0800 */
        if (c0 == 0xED && c1 >= 0xA0) return 0; /* surrogates U+D800..U+DFFF */
        *cp = ((c0 & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F);
        return 3;
    }
    if (c0 < 0xF5) {
        if (n < 4) return 0;
        uint32_t c1 = s[1], c2 = s[2], c3 = s[3];
        if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return 0;
        if (c0 == 0xF0 && c1 < 0x90) return 0;  /* overlong: below U+10000 */
        if (c0 == 0xF4 && c1 >= 0x90) return 0; /* above U+10FFFF */
        *cp = ((c0 & 0x07) << 18) | ((c1 & 0x3F) << 12) | ((c2 & 0x3F) << 6) | (c3 & 0x3F);
        return 4;
    }
    return 0; /* F5..FF never start a sequence */
}

int charrnn_utf8_decode(const char *s, size_t n, uint32_t *cp) { return utf8_decode((const unsigned char *)s, n, cp); }

int charrnn_unsafe_codepoint(uint32_t c) {
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) return 1; /* C0, DEL, C1 (U+009B is CSI) */
    if (c == 0xad || c == 0x061c || c == 0x180e) return 1;           /* soft hyphen, Arabic letter mark, Mongolian vowel separator */
    if (c >= 0x200b && c <= 0x200f) return 1;                        /* zero-width spaces and joiners, LRM, RLM */
    if (c >= 0x2028 && c <= 0x202e) return 1;                        /* line / paragraph separators, bidi embeddings and overrides */
    if (c >= 0x2060 && c <= 0x206f) return 1;                        /* word joiner, invisible operators, bidi isolates */
    if (c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb)) return 1;       /* BOM, interlinear annotation */
    if (c >= 0xe0000 && c <= 0xe007f) return 1;                      /* tags */
    return 0;
}

int charrnn_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp >= CP_LIMIT || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD; /* not a scalar value */
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

