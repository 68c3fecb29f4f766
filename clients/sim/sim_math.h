/*
 * floorwalker sim: the seeded generators and the few functions of libm the model needs (without
 * linking libm, so that every platform draws the same numbers). A leaf: includes nothing of the
 * simulator.
 */
#ifndef FW_SIM_MATH_H
#define FW_SIM_MATH_H

#include <stdint.h>

static inline uint64_t sim_rnd(uint64_t s[4])
{
    /* xoshiro256** */
    uint64_t r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return r;
}

static inline uint64_t sim_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void sim_seed(uint64_t s[4], uint64_t a, uint64_t b)
{
    uint64_t x = a * 0xD1B54A32D192ED03ull ^ (b + 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++)
        s[i] = sim_splitmix(&x);
}

/* Uniform in [0, 1). */
static inline double sim_u01(uint64_t s[4])
{
    return (double)(sim_rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n). */
static inline uint32_t sim_below(uint64_t s[4], uint32_t n)
{
    return (uint32_t)(((sim_rnd(s) >> 32) * n) >> 32);
}

/* Uniform integer in [lo, hi]. */
static inline int64_t sim_range(uint64_t s[4], int64_t lo, int64_t hi)
{
    return lo + (int64_t)sim_below(s, (uint32_t)(hi - lo + 1));
}

double sim_ln(double x);
double sim_exp(double x);
/* Exponential with the given mean; normal N(0,1) (Irwin-Hall, 12 uniforms). */
double sim_expo(uint64_t s[4], double mean);
double sim_normal(uint64_t s[4]);
/* Lognormal whose median is med, with log-sd sigma. */
double sim_lognormal(uint64_t s[4], double med, double sigma);

#endif
