/* rng.h: the one random generator of the project, PCG32 (O'Neill 2014): small,
 * seeded explicitly, its whole state two integers so a checkpoint can store it and
 * a resumed run draws exactly the same numbers. */
#ifndef CHARRNN_RNG_H
#define CHARRNN_RNG_H

#include <stdint.h>

typedef struct rng { uint64_t state, inc; } rng;

static inline uint32_t rng_u32(rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static inline void rng_seed(rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    rng_u32(r);
    r->state += seed;
    rng_u32(r);
}

/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
static inline float rng_uniform(rng *r) { return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f); }
/* Uniform in [0, 1) with 53 random bits. */
static inline double rng_uniform_double(rng *r) {
    uint64_t a = rng_u32(r) >> 5, b = rng_u32(r) >> 6;
    return (double)(a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

#endif
