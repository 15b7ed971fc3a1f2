/* PCG32 (XSH-RR 64/32) streams and the distributions the program draws from
 * them: uniform floats and doubles, unbiased bounded integers, standard normal
 * deviates and Fisher-Yates shuffles. Written from O'Neill's published
 * algorithm (pcg-random.org, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", 2014).
 *
 * Every function is a pure function of the generator struct it is given: no
 * global state and no cached values (the normal sampler keeps no spare), so a
 * stream's sequence depends only on how it was seeded and on the calls made
 * on it. This file does not decide what the streams are used for: that is
 * enum amx_stream_purpose in rng.h and the run planner. */
#include "adamix/rng.h"

#include <assert.h>
#include <math.h>

/* The 64-bit LCG multiplier of the PCG paper (Knuth's MMIX constant). */
#define PCG_MULT 6364136223846793005ULL

static void step(struct amx_rng *rng)
{
    rng->state = rng->state * PCG_MULT + rng->inc;
}

void amx_rng_seed(struct amx_rng *rng, uint64_t initstate, uint64_t initseq)
{
    /* pcg32_srandom_r: the increment must be odd, so the stream selector
     * loses its top bit; the state is advanced around the added seed so that
     * nearby seeds do not give nearby first outputs. */
    rng->state = 0;
    rng->inc = (initseq << 1) | 1u;
    step(rng);
    rng->state += initstate;
    step(rng);
}

uint32_t amx_rng_next(struct amx_rng *rng)
{
    /* The output is computed from the state before the step (which lets the
     * multiply and the permutation overlap). XSH-RR: xorshift the high bits
     * down ("xsh"), keep 32 bits 27..58, rotate them right by the top 5 bits
     * of the state ("rr"). */
    uint64_t old = rng->state;
    step(rng);
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

float amx_rng_uniform(struct amx_rng *rng)
{
    /* The top 24 bits fill a float's significand exactly: the result is a
     * multiple of 2^-24 in [0, 1 - 2^-24], never rounded up to 1. */
    return (float)(amx_rng_next(rng) >> 8) * 0x1.0p-24f;
}

double amx_rng_uniform_double(struct amx_rng *rng)
{
    /* 27 high bits of the first draw, 26 of the second: a 53-bit integer,
     * times 2^-53, in [0, 1 - 2^-53]. */
    uint64_t hi = amx_rng_next(rng) >> 5;
    uint64_t lo = amx_rng_next(rng) >> 6;
    return (double)((hi << 26) | lo) * 0x1.0p-53;
}

uint32_t amx_rng_bounded(struct amx_rng *rng, uint32_t bound)
{
    /* r % bound is biased when 2^32 is not a multiple of bound: the lowest
     * (2^32 mod bound) outputs would map to small values once more than the
     * others. Reject them. 2^32 mod bound = (2^32 - bound) mod bound, which
     * unsigned arithmetic computes as (-bound) % bound. Fewer than half of all
     * outputs are ever rejected, so the loop ends quickly. */
    assert(bound > 0);
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t r = amx_rng_next(rng);
        if (r >= threshold) return r % bound;
    }
}

double amx_rng_normal(struct amx_rng *rng)
{
    /* Box-Muller, one deviate per call (the second, sin-based one is thrown
     * away rather than cached, so the generator struct is the only state):
     * with u1 in (0, 1] and u2 in [0, 1) uniform and independent,
     *   z = sqrt(-2 ln u1) cos(2 pi u2)
     * is standard normal. Exactly four 32-bit draws per deviate, whatever the
     * values, so the position in a stream never depends on rejections.
     * u1 = 1 - U with U a 53-bit uniform, so u1 >= 2^-53 and |z| <= 8.6. */
    double u1 = 1.0 - amx_rng_uniform_double(rng);
    double u2 = amx_rng_uniform_double(rng);
    const double two_pi = 6.283185307179586476925286766559;
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

void amx_rng_shuffle(struct amx_rng *rng, uint32_t *a, size_t n)
{
    /* Fisher-Yates (Durstenfeld): position i takes a uniform element of
     * a[0..i]; every one of the n! orders has probability 1/n!. */
    assert(n <= UINT32_MAX);
    for (size_t i = n; i > 1; i--) {
        size_t j = amx_rng_bounded(rng, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* The splitmix64 finaliser (Steele, Lea, Flood 2014, constants of Vigna's
 * variant "Mix13"): a bijection of 64-bit integers with good avalanche. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The stream of (seed, repeat, purpose):
 *
 *   initseq   = (repeat << 32) | purpose
 *   initstate = mix64(mix64(seed ^ 0x9E3779B97F4A7C15) ^ initseq)
 *   amx_rng_seed(rng, initstate, initseq)
 *
 * initseq is injective in (repeat, purpose), and with repeat < 2^31 its top bit
 * is zero, so the increment (initseq << 1) | 1 is injective too: two different
 * (repeat, purpose) pairs of one seed always run on different PCG streams. The
 * starting state also differs between them (mix64 is a bijection, so for a
 * fixed seed distinct initseq give distinct initstate), which avoids the
 * related-looking sequences of PCG streams started from one state. The seed is
 * hashed so that seeds 1, 2, 3 are as far apart as any others; the constant is
 * 2^64 / golden ratio, so seed 0 is not a fixed point of the mix. */
void amx_rng_stream(struct amx_rng *rng, uint64_t seed, uint32_t repeat, uint32_t purpose)
{
    assert(repeat < (1u << 31));
    uint64_t initseq = ((uint64_t)repeat << 32) | purpose;
    uint64_t initstate = mix64(mix64(seed ^ 0x9E3779B97F4A7C15ULL) ^ initseq);
    amx_rng_seed(rng, initstate, initseq);
}
