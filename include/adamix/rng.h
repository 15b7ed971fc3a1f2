/* PCG32 random streams (O'Neill 2014: "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number Generation"),
 * the XSH-RR output function over a 64-bit LCG state, 32-bit outputs, with a
 * selectable stream (the LCG increment). Written from the published algorithm;
 * tests compare it with Debian's libpcg-cpp `pcg32`.
 *
 * Every random number of a run comes from a stream derived from
 * (seed, repeat, purpose) by amx_rng_stream (docs/design.md), never from a
 * global generator. */
#ifndef ADAMIX_RNG_H
#define ADAMIX_RNG_H

#include <stddef.h>
#include <stdint.h>

struct amx_rng {
    uint64_t state;
    uint64_t inc; /* always odd */
};

/* Seeds as the reference pcg32_srandom_r(initstate, initseq) does. */
void amx_rng_seed(struct amx_rng *rng, uint64_t initstate, uint64_t initseq);
uint32_t amx_rng_next(struct amx_rng *rng);
/* Uniform float in [0,1): 24 random bits times 2^-24. */
float amx_rng_uniform(struct amx_rng *rng);
/* Uniform double in [0,1): 53 random bits times 2^-53. */
double amx_rng_uniform_double(struct amx_rng *rng);
/* Unbiased integer in [0, bound), bound > 0 (rejection of the low remainder). */
uint32_t amx_rng_bounded(struct amx_rng *rng, uint32_t bound);
/* Standard normal deviate (method documented in rng.c). */
double amx_rng_normal(struct amx_rng *rng);
/* Fisher-Yates shuffle of a[0..n). */
void amx_rng_shuffle(struct amx_rng *rng, uint32_t *a, size_t n);

/* Purposes of streams. A layer-specific purpose adds the 0-based layer index. */
enum amx_stream_purpose {
    AMX_STREAM_INIT = 1,           /* initial weights of every RBM / layer */
    AMX_STREAM_FINETUNE_ORDER = 2, /* mini-batch order of fine-tuning */
    AMX_STREAM_TOP_INIT = 3,       /* initial weights of a classifier's softmax layer on a
                                      pretrained stack (the stack's own came from INIT) */
    AMX_STREAM_RBM_SAMPLE = 0x100, /* + layer: Gibbs sampling of RBM `layer` */
    AMX_STREAM_RBM_ORDER = 0x200,  /* + layer: mini-batch order of RBM `layer` */
    AMX_STREAM_USER = 0x10000      /* tests and tools */
};

/* Derives the stream for (seed, repeat, purpose): documented in rng.c.
 * Distinct (repeat, purpose) pairs give distinct PCG stream selectors, so no
 * two purposes of one run ever share a sequence. repeat < 2^31. */
void amx_rng_stream(struct amx_rng *rng, uint64_t seed, uint32_t repeat, uint32_t purpose);

#endif
