/* arith.h: an arithmetic coder (Witten, Neal and Cleary's, with 39-bit
 * arithmetic) over integer frequencies, and the growable bit buffer it writes.
 * Pure coding: what the frequencies are is the caller's (compress.c). */
#ifndef CHARRNN_ARITH_H
#define CHARRNN_ARITH_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer written bit by bit (most significant bit first), or byte by byte. */
typedef struct ac_bitbuf {
    unsigned char *buf;
    size_t len, cap, bitpos; /* bytes done and bits in the current byte */
    int oom;                 /* an allocation failed: what follows is dropped */
} ac_bitbuf;

void ac_put_byte(ac_bitbuf *b, unsigned char c);

typedef struct ac_coder {
    uint64_t low, high, value;
    long pending;
    ac_bitbuf out;              /* encoding: the coded bits (free out.buf when done) */
    const unsigned char *in;    /* decoding */
    size_t in_len, in_pos;
} ac_coder;

/* Encoding: the symbol [lo, hi) of total (total at most 2^24), then the closing bits. */
void ac_encode_start(ac_coder *c);
void ac_encode(ac_coder *c, uint32_t lo, uint32_t hi, uint32_t total);
void ac_encode_finish(ac_coder *c);

/* Decoding in[0..len) (past its end the coder reads zeros): the count in
 * [0, total) the code value falls on, then the symbol [lo, hi) it was in. */
void ac_decode_start(ac_coder *c, const unsigned char *in, size_t len);
uint32_t ac_decode_count(const ac_coder *c, uint32_t total);
void ac_decode_consume(ac_coder *c, uint32_t lo, uint32_t hi, uint32_t total);
/* Whether the decoder has read past every bit the encoder could have written for
 * its input: what it decodes from here on was never coded. */
int ac_decode_overrun(const ac_coder *c);
/* After the last symbol: whether the coded data ends exactly as ac_encode_finish
 * wrote it (the encoder's bits held back, its closing bits, zero padding to a
 * byte), so that no changed bit there passes unnoticed because the decoding did
 * not need it. */
int ac_decode_tail_ok(const ac_coder *c);

#endif
