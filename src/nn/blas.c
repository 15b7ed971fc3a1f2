/* Matrix products: the table of backends behind amx_gemm, the OpenBLAS one
 * (cblas_sgemm, row-major, transposes by flag, never by a transposed copy;
 * this file is the one that includes cblas.h), and a naive reference with
 * the same contract that the tests compare every backend against. The oneDNN
 * backend is in blas_onednn.c. Nothing else: elementwise passes live with
 * their kernels, and which backend a run uses is the command line's choice
 * (amx_blas_select), made once per process. */
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Declared by OpenBLAS's cblas.h on Debian; repeated in case another cblas.h is
 * found first. */
char *openblas_get_config(void);
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

const char *amx_blas_config(void)
{
    return openblas_get_config();
}

const char *amx_blas_corename(void)
{
    return openblas_get_corename();
}

void amx_blas_openblas_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta, float *C,
                            int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

float amx_bf16_round(float x)
{
    return amx_bf16_float(amx_bf16_bits(x));
}

/* op(X) rounded to bf16 into a dense copy (rows x cols). */
static float *bf16_copy(const float *X, int rows, int cols, int ld)
{
    float *c = malloc(sizeof *c * (size_t)rows * (size_t)cols);
    if (!c) return NULL;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            c[(size_t)r * cols + j] = amx_bf16_round(X[(size_t)r * ld + j]);
    return c;
}

void amx_blas_bf16_emulated(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta, float *C,
                            int ldc)
{
    if (M <= 0 || N <= 0) return;
    const int ar = trans_a ? K : M, ac = trans_a ? M : K, br = trans_b ? N : K,
              bc = trans_b ? K : N;
    float *a = K > 0 ? bf16_copy(A, ar, ac, lda) : NULL;
    float *b = K > 0 ? bf16_copy(B, br, bc, ldb) : NULL;
    if (K > 0 && (!a || !b)) { /* no memory even for that: NaN, which a run reports as diverged */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = NAN;
    } else {
        static const float zero = 0.0f;
        amx_blas_openblas_gemm(trans_a, trans_b, M, N, K, alpha, a ? a : &zero, ac > 0 ? ac : 1,
                               b ? b : &zero, bc > 0 ? bc : 1, beta, C, ldc);
    }
    free(a);
    free(b);
}

/* op(X) of bf16 values widened to f32 (exact) into a dense copy. */
static float *widen_copy(const uint16_t *X, int rows, int cols, int ld)
{
    float *c = malloc(sizeof *c * (size_t)rows * (size_t)cols);
    if (!c) return NULL;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            c[(size_t)r * cols + j] = amx_bf16_float(X[(size_t)r * ld + j]);
    return c;
}

void amx_blas_bf16h_emulated(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                             const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta,
                             float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    const int ar = trans_a ? K : M, ac = trans_a ? M : K, br = trans_b ? N : K,
              bc = trans_b ? K : N;
    float *a = K > 0 ? widen_copy(A, ar, ac, lda) : NULL;
    float *b = K > 0 ? widen_copy(B, br, bc, ldb) : NULL;
    if (K > 0 && (!a || !b)) { /* as amx_blas_bf16_emulated */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = NAN;
    } else {
        static const float zero = 0.0f;
        amx_blas_openblas_gemm(trans_a, trans_b, M, N, K, alpha, a ? a : &zero, ac > 0 ? ac : 1,
                               b ? b : &zero, bc > 0 ? bc : 1, beta, C, ldc);
    }
    free(a);
    free(b);
}

/* ---- the OpenBLAS backend ------------------------------------------------ */

static const char *openblas_unavailable(void)
{
    return NULL; /* always linked */
}

/* "OpenBLAS 0.3.21": the first two words of the library's own description
 * (the library loaded, not the header compiled against). */
static const char *openblas_version(void)
{
    static char v[64];
    if (!v[0]) {
        const char *c = openblas_get_config();
        size_t n = 0;
        for (int words = 0; c[n] && n < sizeof v - 1; n++)
            if (c[n] == ' ' && ++words == 2) break;
        memcpy(v, c, n);
        v[n] = '\0';
    }
    return v;
}

static void openblas_impls(char *buf, size_t size)
{
    snprintf(buf, size, "cblas_sgemm");
}

static size_t openblas_primitives(void)
{
    return 0;
}

static const char *openblas_bf16_unavailable(void)
{
    return "the openblas backend has no bf16 products (Debian's OpenBLAS exports no bf16 GEMM): "
           "select the onednn backend (--backend onednn)";
}

static const struct amx_blas_backend openblas = {
    .name = "openblas",
    .unavailable = openblas_unavailable,
    .version = openblas_version,
    .isa = amx_blas_corename,
    .impls = openblas_impls,
    .primitives = openblas_primitives,
    .threads = openblas_get_num_threads,
    .set_threads = openblas_set_num_threads,
    .gemm = amx_blas_openblas_gemm,
    .bf16_unavailable = openblas_bf16_unavailable,
    .gemm_bf16 = NULL,
    .gemm_bf16h = NULL,
};

/* ---- the table ----------------------------------------------------------- */

/* The first entry is the library's initial choice (the program's default is
 * amx_blas_program_default). Every list of backends (messages, --help's
 * choices, the tests' loops) is read from here. */
static const struct amx_blas_backend *const backends[] = {&openblas, &amx_blas_onednn};
#define N_BACKENDS (sizeof backends / sizeof *backends)

/* Set before any thread computes; atomic so that a late reader sees a whole
 * pointer. */
static const struct amx_blas_backend *_Atomic selected = &openblas;

static const struct amx_blas_backend *current(void)
{
    return atomic_load_explicit(&selected, memory_order_relaxed);
}

size_t amx_blas_backend_count(void)
{
    return N_BACKENDS;
}

const char *amx_blas_backend_name(size_t i)
{
    return i < N_BACKENDS ? backends[i]->name : NULL;
}

const char *amx_blas_backend_unavailable(size_t i)
{
    return i < N_BACKENDS ? backends[i]->unavailable() : "no such backend";
}

/* "a, b or c" of the backends usable here (available only) or of all. */
static void list_names(char *buf, size_t size, bool available_only)
{
    size_t n = 0, k = 0, count = 0;
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (!available_only || !backends[i]->unavailable()) count++;
    buf[0] = '\0';
    for (size_t i = 0; i < N_BACKENDS && n < size; i++) {
        if (available_only && backends[i]->unavailable()) continue;
        const char *sep = k == 0 ? "" : k + 1 == count ? " or " : ", ";
        int w = snprintf(buf + n, size - n, "%s%s", sep, backends[i]->name);
        if (w < 0) break;
        n += (size_t)w;
        k++;
    }
}

enum amx_status amx_blas_select(const char *name, struct amx_error *err)
{
    char all[128], usable[128];
    list_names(all, sizeof all, false);
    list_names(usable, sizeof usable, true);
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (strcmp(name, backends[i]->name) != 0) continue;
        const char *why = backends[i]->unavailable();
        if (why)
            return amx_fail(err, AMX_ERR_USAGE, NULL, 0, 0,
                            "backend '%s' is not available: %s; choose %s", name, why, usable);
        atomic_store_explicit(&selected, backends[i], memory_order_relaxed);
        return AMX_OK;
    }
    return amx_fail(err, AMX_ERR_USAGE, NULL, 0, 0, "unknown backend '%s': expected %s", name, all);
}

/* Measured with tools/bench/run.sh (docs/performance.md, 2026-12-02, 2-core
 * Xeon with AVX-512): oneDNN fp32 fine-tunes 1.24 times as fast as OpenBLAS
 * on its SkylakeX kernel and 3.5 times as fast as on the Prescott kernel that
 * OpenBLAS 0.3.21 picks on that CPU unpinned; the measures on an AMD
 * Zen 4 put oneDNN's products 1.17 times ahead of OpenBLAS's Cooperlake
 * kernel. */
const char *amx_blas_program_default(void)
{
    return amx_blas_onednn.unavailable() ? openblas.name : amx_blas_onednn.name;
}

const char *amx_blas_backend(void)
{
    return current()->name;
}

const char *amx_blas_backend_version(void)
{
    return current()->version();
}

const char *amx_blas_backend_isa(void)
{
    return current()->isa();
}

void amx_blas_backend_impls(char *buf, size_t size)
{
    if (size == 0) return;
    current()->impls(buf, size);
}

size_t amx_blas_backend_primitives(void)
{
    return current()->primitives();
}

int amx_blas_threads(void)
{
    return openblas_get_num_threads();
}

int amx_blas_backend_threads(void)
{
    return current()->threads();
}

void amx_blas_set_threads(int n)
{
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (!backends[i]->unavailable()) backends[i]->set_threads(n);
}

void amx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    current()->gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *amx_blas_precision_unavailable(enum amx_precision precision)
{
    if (precision == AMX_PRECISION_FP32) return NULL;
    const struct amx_blas_backend *b = current();
    return b->bf16_unavailable();
}

void amx_gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    const struct amx_blas_backend *b = current();
    if (b->gemm_bf16 && !b->bf16_unavailable())
        b->gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else /* callers check amx_blas_precision_unavailable first; never a wrong product */
        amx_blas_bf16_emulated(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void amx_gemm_bf16h(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t *A,
                    int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc)
{
    const struct amx_blas_backend *b = current();
    if (b->gemm_bf16h && !b->bf16_unavailable())
        b->gemm_bf16h(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        amx_blas_bf16h_emulated(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* C[i][j] = alpha * sum_k op(A)[i][k] op(B)[k][j] + beta * C[i][j], where
 * op(A)[i][k] = A[i*lda + k] or, transposed, A[k*lda + i]; likewise B. */
void amx_gemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                double a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            /* beta == 0: C is not read, as in BLAS */
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
    }
}
