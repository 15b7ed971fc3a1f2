/* Private to src/nn: size arithmetic that cannot wrap, the vectorisable
 * exponential and logarithm behind the kernels, and the small thread pool and
 * block rule (AMX_NN_SPLIT in nn.h) that the autoencoder and the RBM split
 * their work with. Nothing here is part of the public API; the kernels
 * themselves are public (nn.h), so that the tests check the ones that run. */
#ifndef ADAMIX_NN_INTERNAL_H
#define ADAMIX_NN_INTERNAL_H

#include "adamix/bf16.h"
#include "adamix/nn.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* *acc += a * b, false (and *acc unchanged) when that overflows size_t: slab
 * sizes are sums of such products, and a wrapped size would allocate a small
 * slab for a large network. */
/* The most floats one slab may hold: its bytes must fit in ptrdiff_t, the
 * limit of an object pointer arithmetic can span. */
#define AMX_NN_MAX_FLOATS ((size_t)PTRDIFF_MAX / sizeof(float) - 64)

static inline bool amx_nn_size_add_mul(size_t *acc, size_t a, size_t b)
{
    if (a && b > SIZE_MAX / a) return false;
    if (a * b > SIZE_MAX - *acc) return false;
    *acc += a * b;
    return true;
}

/* The elementwise loops are compiled for the baseline x86-64 and for AVX2
 * and AVX-512, the loader picking the best the CPU has (GNU ifunc). The
 * results are bit-identical in every version: these loops use only +, -, *,
 * / and comparisons, all correctly rounded, and ISO C mode (-std=c11) keeps
 * gcc from contracting a*b+c into fma. -DAMX_NO_CLONES turns it off. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&       \
    !defined(__SANITIZE_ADDRESS__) && !defined(AMX_NO_CLONES)
#define AMX_NN_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define AMX_NN_CLONES
#endif

/* c ? a : b on the bits. gcc keeps a float `c ? a : b` followed by more
 * arithmetic as a branch under the default -ftrapping-math (it moves the
 * arithmetic into the branches, where it could trap), and a branch stops
 * vectorisation; an integer select has no such worry. */
static inline float amx_nn_select(int c, float a, float b)
{
    uint32_t m = -(uint32_t)(c != 0), ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    uint32_t r = (ua & m) | (ub & ~m);
    float f;
    memcpy(&f, &r, sizeof f);
    return f;
}

/* exp(x) in float with plain arithmetic, so that gcc vectorises the loops
 * that call it (libm's expf is a call per element). Cody & Waite's method:
 * x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2, ln2 split into a part
 * with few significant bits (k*C1 exact) and a correction C2;
 * exp(r) by its Taylor series to degree 7 (remainder r^8/8! < 6e-9, below
 * half an ulp of 1), in Horner form; 2^k built in the exponent bits.
 * Relative error about 2 ulp. x is clamped to [-87, 88], where 2^k is a
 * normal float: exp(-87) = 1.6e-38 and exp(88) = 1.7e38 stand in for 0 and
 * infinity, which the callers (1/(1+e), e/(1+e)) do not distinguish. A NaN
 * stays NaN (the clamps compare false). k is read from the rounding
 * constant's mantissa, so no float-to-int conversion is ever out of range. */
static inline float amx_nn_expf(float x)
{
    const float lo = -87.0f, hi = 88.0f;
    x = amx_nn_select(x < lo, lo, x);
    x = amx_nn_select(x > hi, hi, x);
    const float round = 12582912.0f; /* 1.5 * 2^23: t + round rounds t to an integer */
    float t = x * 1.44269504088896341f + round;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    float k = t - round;
    float r = x - k * 0.693359375f; /* C1 = 355/512, 9 bits: k*C1 exact */
    r = r - k * -2.12194440e-4f;    /* C2 = ln2 - C1 */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* tb = bits of (round + k): 0x4B400000 + k for |k| < 2^22 */
    uint32_t sb = (tb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

/* log(1 + e) for e in [0, 1], vectorisable: log(1+e) = 2 atanh(s) with
 * s = e / (2 + e) in [0, 1/3], atanh(s) = s + s^3/3 + s^5/5 + ... to s^17
 * (the next term, s^19/19 < 3e-11, is far below float precision). */
static inline float amx_nn_log1pf_unit(float e)
{
    float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 17.0f;
    p = p * s2 + 1.0f / 15.0f;
    p = p * s2 + 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* ---- matrix-product backends (blas.c's table) ------------------------------ */

/* One backend: amx_gemm's contract (nn.h) and what it says about itself. */
struct amx_blas_backend {
    const char *name;
    const char *(*unavailable)(void); /* NULL when usable, else why not */
    const char *(*version)(void);
    const char *(*isa)(void);
    void (*impls)(char *buf, size_t size);
    size_t (*primitives)(void);
    int (*threads)(void);
    void (*set_threads)(int n);
    void (*gemm)(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
    /* amx_gemm_bf16's contract; NULL (and bf16_unavailable NULL) when the
     * backend has no bf16 at all */
    const char *(*bf16_unavailable)(void);
    void (*gemm_bf16)(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                      int lda, const float *B, int ldb, float beta, float *C, int ldc);
    /* amx_gemm_bf16h's contract; NULL when the backend has no bf16 */
    void (*gemm_bf16h)(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                       const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *C,
                       int ldc);
};

/* blas_onednn.c; its unavailable() says so in a build without oneDNN. */
extern const struct amx_blas_backend amx_blas_onednn;

/* cblas_sgemm itself, for a backend that cannot compute a product (blas.c). */
void amx_blas_openblas_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta, float *C,
                            int ldc);

/* amx_gemm_bf16's contract computed by cblas_sgemm on the operands rounded
 * to bf16 (copies, exact in f32): the result of bf16 hardware but for the
 * order of the f32 sums. For a backend that could not compute a bf16
 * product; it allocates the copies. */
void amx_blas_bf16_emulated(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta, float *C,
                            int ldc);

/* amx_gemm_bf16h's contract by cblas_sgemm on the bf16 operands widened to
 * f32 (exact copies, allocated here). */
void amx_blas_bf16h_emulated(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                             const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta,
                             float *C, int ldc);

/* h (B rows of N at stride ld) = bf16 of Y (the same layout): the bf16 copy
 * of a block a kernel has just written, row by row while the row is in the
 * cache. Nothing when h is NULL. */
static inline void amx_nn_store_bf16(uint16_t *h, const float *Y, int ld, int B, int N)
{
    if (!h) return;
    for (int b = 0; b < B; b++)
        amx_bf16_store(h + (size_t)b * ld, Y + (size_t)b * ld, (size_t)N);
}

/* ---- the thread pool ------------------------------------------------------ */

/* n ranks: the calling thread is rank 0, n - 1 persistent threads the others.
 * A job runs on every rank at once; inside it, amx_nn_pool_barrier(pool,
 * rank) waits until every rank has reached it (waiters spin briefly, then
 * sleep). With a NULL pool a job runs on rank 0 alone and barriers return at
 * once. A pool does not survive fork(). */
struct amx_nn_pool;
typedef void (*amx_nn_job_fn)(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool);

enum amx_status amx_nn_pool_create(struct amx_nn_pool **out, int n, struct amx_error *err);
void amx_nn_pool_destroy(struct amx_nn_pool *pool);
int amx_nn_pool_size(const struct amx_nn_pool *pool);
void amx_nn_pool_run(struct amx_nn_pool *pool, amx_nn_job_fn fn, void *ctx);
void amx_nn_pool_barrier(struct amx_nn_pool *pool, int rank);

/* amx_nn_block (nn.h) cuts a width into the parts. */

#endif
