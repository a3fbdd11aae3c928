/* prng.h: the small deterministic PRNG (splitmix64) every core uses for its random choices.
 * Seeded by the caller, so the simulator can replay a run exactly. */
#ifndef HEARSAY_PRNG_H
#define HEARSAY_PRNG_H

#include <stdint.h>

typedef struct hs_prng {
    uint64_t s;
} hs_prng;

static inline uint64_t hs_prng_next(hs_prng *p)
{
    uint64_t z = (p->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n must be > 0. */
static inline uint32_t hs_prng_below(hs_prng *p, uint32_t n)
{
    return (uint32_t)(((hs_prng_next(p) >> 32) * (uint64_t)n) >> 32);
}

/* A 64-bit hash of a string that every node computes identically (FNV-1a, then mixed). */
static inline uint64_t hs_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    hs_prng p = {h};
    return hs_prng_next(&p);
}

#endif
