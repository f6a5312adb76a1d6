/* philox.h: Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers:
 * as easy as 1, 2, 3", SC11), the counter-based generator the dropout masks come
 * from: four 32-bit words, a pure function of a 128-bit counter and a 64-bit key,
 * so the CPU and a GPU draw the same mask for the same element without sharing
 * or copying any state. Plain C that nvcc also compiles for the device.
 *
 * Dropout: each forward with dropout takes ONE 64-bit key from the training
 * generator (dropout_key), so the generator's state in a checkpoint still makes a
 * resumed run exact. Element i (row-major over (t, b, H)) of layer l's output is
 * kept when word i % 4 of philox(key, counter {i / 4 low word, i / 4 high word,
 * l, 0}), as rng_uniform's 24 bits in [0, 1), is below 1 - dropout. */
#ifndef CHARRNN_PHILOX_H
#define CHARRNN_PHILOX_H

#include "rng.h"
#include <stdint.h>

#ifdef __CUDACC__
#define PHILOX_FN __host__ __device__ static inline
#else
#define PHILOX_FN static inline
#endif

typedef struct philox4 { uint32_t v[4]; } philox4;

/* The 64-bit product's high word; its low word in *lo. */
PHILOX_FN uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t *lo) {
    const uint64_t p = (uint64_t)a * b;
    *lo = (uint32_t)p;
    return (uint32_t)(p >> 32);
}

/* Ten rounds; the key is bumped by the Weyl constants before every round but the first. */
PHILOX_FN philox4 philox4x32_10(philox4 c, uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; r++) {
        if (r) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint32_t lo0, lo1;
        const uint32_t hi0 = philox_mulhilo(0xD2511F53u, c.v[0], &lo0);
        const uint32_t hi1 = philox_mulhilo(0xCD9E8D57u, c.v[2], &lo1);
        const philox4 n = {{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
        c = n;
    }
    return c;
}

/* The masks of elements 4q .. 4q+3 of layer l's output in the forward keyed by
 * key: scale (1 / keep) where kept, 0 where dropped. */
PHILOX_FN void dropout_mask4(uint64_t key, int l, uint64_t q, float keep, float scale, float out[4]) {
    const philox4 c = {{(uint32_t)q, (uint32_t)(q >> 32), (uint32_t)l, 0u}};
    const philox4 w = philox4x32_10(c, (uint32_t)key, (uint32_t)(key >> 32));
    for (int j = 0; j < 4; j++) out[j] = (float)(w.v[j] >> 8) * (1.0f / 16777216.0f) < keep ? scale : 0.0f;
}

/* One forward's dropout key: two draws from the training generator, the high word first. */
static inline uint64_t dropout_key(rng *r) {
    const uint64_t hi = rng_u32(r);
    return hi << 32 | rng_u32(r);
}

#endif
