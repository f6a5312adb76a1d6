/* arith.c: the arithmetic coder (see arith.h): intervals in 39-bit integers, so
 * that range x frequency stays below 2^63 for totals up to 2^24 while the
 * truncation costs ~1e-4 bits a symbol; the bits it shifts out go to a growable
 * buffer, and the decoder follows the encoder step for step. */
#include "arith.h"
#include "common.h"

#define CODE_BITS 39 /* range >= 2^37 >> 2^24: the truncation costs ~1e-4 bits a symbol; range * cum < 2^63 */
#define TOP ((1ULL << CODE_BITS) - 1)
#define HALF (1ULL << (CODE_BITS - 1))
#define QUARTER (1ULL << (CODE_BITS - 2))

/* ---- bits ---------------------------------------------------------------------------- */

void ac_put_byte(ac_bitbuf *b, unsigned char c) {
    if (b->len == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        unsigned char *nb = cr_realloc(b->buf, cap, 1);
        if (!nb) { b->oom = 1; return; }
        b->buf = nb;
        b->cap = cap;
    }
    b->buf[b->len++] = c;
}

static void put_bit(ac_bitbuf *b, int bit) {
    if (b->bitpos == 0) ac_put_byte(b, 0);
    if (b->oom) return;
    if (bit) b->buf[b->len - 1] |= (unsigned char)(0x80 >> b->bitpos);
    b->bitpos = (b->bitpos + 1) & 7;
}

static int get_bit(const unsigned char *p, size_t n, size_t *pos) {
    size_t i = (*pos)++;
    return i / 8 < n ? (p[i / 8] >> (7 - i % 8)) & 1 : 0; /* past the end: zeros, caught by the CRC */
}

/* ---- the arithmetic coder ---------------------------------------------------------------- */

static void emit(ac_coder *c, int bit) {
    put_bit(&c->out, bit);
    for (; c->pending > 0; c->pending--) put_bit(&c->out, !bit);
}

void ac_encode_start(ac_coder *c) { *c = (ac_coder){.high = TOP}; }

void ac_encode(ac_coder *c, uint32_t lo, uint32_t hi, uint32_t total) {
    uint64_t range = c->high - c->low + 1;
    c->high = c->low + range * hi / total - 1;
    c->low = c->low + range * lo / total;
    for (;;) {
        if (c->high < HALF) {
            emit(c, 0);
        } else if (c->low >= HALF) {
            emit(c, 1);
            c->low -= HALF;
            c->high -= HALF;
        } else if (c->low >= QUARTER && c->high < 3 * QUARTER) {
            c->pending++;
            c->low -= QUARTER;
            c->high -= QUARTER;
        } else {
            break;
        }
        c->low <<= 1;
        c->high = (c->high << 1) | 1;
    }
}

void ac_encode_finish(ac_coder *c) {
    c->pending++;
    emit(c, c->low >= QUARTER);
}

void ac_decode_start(ac_coder *c, const unsigned char *in, size_t len) {
    *c = (ac_coder){.high = TOP, .in = in, .in_len = len};
    for (int i = 0; i < CODE_BITS; i++) c->value = (c->value << 1) | (uint64_t)get_bit(c->in, c->in_len, &c->in_pos);
}

uint32_t ac_decode_count(const ac_coder *c, uint32_t total) {
    uint64_t range = c->high - c->low + 1;
    return (uint32_t)(((c->value - c->low + 1) * total - 1) / range);
}

void ac_decode_consume(ac_coder *c, uint32_t lo, uint32_t hi, uint32_t total) {
    uint64_t range = c->high - c->low + 1;
    c->high = c->low + range * hi / total - 1;
    c->low = c->low + range * lo / total;
    for (;;) { /* as ac_encode: pending counts the bits the encoder holds back until the next emit */
        if (c->high < HALF) {
            c->pending = 0;
        } else if (c->low >= HALF) {
            c->low -= HALF;
            c->high -= HALF;
            c->value -= HALF;
            c->pending = 0;
        } else if (c->low >= QUARTER && c->high < 3 * QUARTER) {
            c->low -= QUARTER;
            c->high -= QUARTER;
            c->value -= QUARTER;
            c->pending++;
        } else {
            break;
        }
        c->low <<= 1;
        c->high = (c->high << 1) | 1;
        c->value = (c->value << 1) | (uint64_t)get_bit(c->in, c->in_len, &c->in_pos);
    }
}

/* The encoder wrote every bit its interval shifted out, plus 2: a decoder that
 * has shifted in more than the input holds is reading what was never written. */
int ac_decode_overrun(const ac_coder *c) { return c->in_pos > CODE_BITS + 8 * c->in_len; }

int ac_decode_tail_ok(const ac_coder *c) {
    const size_t shifts = c->in_pos - CODE_BITS, from = shifts - (size_t)c->pending, end = shifts + 2;
    if ((end + 7) / 8 != c->in_len) return 0;
    const int b = c->low >= QUARTER;
    for (size_t i = from; i < 8 * c->in_len; i++) {
        size_t pos = i;
        if (get_bit(c->in, c->in_len, &pos) != (i == from ? b : i < end ? !b : 0)) return 0;
    }
    return 1;
}
