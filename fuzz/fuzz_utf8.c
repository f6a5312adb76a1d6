/* fuzz_utf8.c: libFuzzer target for the UTF-8 decoder and the vocabulary
 * builder, in code-point and byte mode, and for encoding with a fixed vocabulary
 * (what eval and sample do). Checks the invariants as it goes. */
#include "data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    charrnn_error err;
    for (int unit = 0; unit < 2; unit++) {
        corpus c;
        if (corpus_from_memory(&c, (const char *)data, size, (charrnn_unit)unit, "fuzz", &err) != 0) {
            if (!err.msg[0]) abort();
            continue;
        }
        if (c.n == 0 || c.vocab_size < 1) abort();
        for (int i = 1; i < c.vocab_size; i++)
            if (c.vocab[i] <= c.vocab[i - 1]) abort(); /* sorted, distinct */
        for (size_t i = 0; i < c.n; i++)
            if (corpus_id(&c, i) >= (uint32_t)c.vocab_size) abort();
        /* re-encode with half the vocabulary: the rest must be counted as unknown */
        corpus d;
        long unknown = 0;
        uint32_t ex[4];
        int nex = 0;
        int half = (c.vocab_size + 1) / 2;
        if (corpus_encode_with_vocab(&d, (const char *)data, size, (charrnn_unit)unit, c.vocab, half, "fuzz", &unknown, ex, 4,
                                     &nex, &err) == 0) {
            if (d.n + (size_t)unknown != c.n) abort();
            corpus_free(&d);
        }
        corpus_free(&c);
    }
    size_t at = 0;
    while (at < size) {
        uint32_t cp;
        int k = utf8_decode(data + at, size - at, &cp);
        if (k < 0 || k > 4) abort();
        if (k) {
            char buf[4];
            if (charrnn_utf8_encode(cp, buf) != k || memcmp(buf, data + at, (size_t)k)) abort(); /* round trip */
        }
        at += k ? (size_t)k : 1;
    }
    return 0;
}
