/* rng.h: the simulator's pseudo-random numbers (splitmix64 seeding, xoshiro256** stream).
 * Every random choice in a run comes from a generator derived from the scenario seed, so a
 * seed fully determines a run; nothing here reads time() or rand(). */
#ifndef HS_SIM_RNG_H
#define HS_SIM_RNG_H

#include <stdint.h>

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

static inline uint64_t sim_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Mixes a seed and a stream label into one independent 64-bit seed. */
static inline uint64_t sim_derive(uint64_t seed, uint64_t label)
{
    uint64_t x = seed ^ (label * 0xd1b54a32d192ed03ULL);
    sim_splitmix(&x);
    return sim_splitmix(&x);
}

static inline void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = sim_splitmix(&seed);
}

static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    return (uint64_t)(sim_rng_unit(r) * (double)n);
}

/* True with probability p. Draws nothing when p <= 0, so loss-free runs do not consume. */
static inline int sim_rng_chance(sim_rng *r, double p)
{
    if (p <= 0.0) return 0;
    if (p >= 1.0) return 1;
    return sim_rng_unit(r) < p;
}

#endif
