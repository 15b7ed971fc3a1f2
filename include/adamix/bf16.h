/* bfloat16 as its 16 bits: the upper half of a float32 (sign, the 8
 * exponent bits, 7 stored significand bits). Header-only, so that the
 * loops that write bf16 copies (the optimiser's update, the network's units
 * and losses) stay plain element-wise loops that the compiler vectorises.
 *
 * The bf16 copies: at compute.precision bf16 every matrix product takes
 * bf16 operands (docs/backends.md). Those operands are not converted product by
 * product; each is written where its f32 value is produced, in the same
 * pass: a weight by the update that moves it, an activation by its unit, a
 * gradient wrt a pre-activation by the pass that makes it. A copy is always
 * amx_bf16_bits of the f32 value beside it. */
#ifndef ADAMIX_BF16_H
#define ADAMIX_BF16_H

#include <stdint.h>
#include <string.h>

/* x rounded to the nearest bf16, ties to even (the 16 dropped bits decide;
 * past the largest bf16 it becomes infinity); a NaN stays a NaN, made quiet.
 * Branch-free, so that loops over it vectorise. */
static inline uint16_t amx_bf16_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet = (u >> 16) | 0x40u;
    uint32_t nan_mask = -(uint32_t)((u & 0x7fffffffu) > 0x7f800000u);
    return (uint16_t)((quiet & nan_mask) | (rounded & ~nan_mask));
}

/* The float a bf16 stands for (exact). */
static inline float amx_bf16_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* h[j] = amx_bf16_bits(x[j]) for j < n. */
static inline void amx_bf16_store(uint16_t *restrict h, const float *restrict x, size_t n)
{
    for (size_t j = 0; j < n; j++)
        h[j] = amx_bf16_bits(x[j]);
}

#endif
