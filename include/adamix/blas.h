/* The matrix products of the networks: one function, amx_gemm, over a
 * table of backends (src/nn/blas.c, the only file that calls BLAS; oneDNN in
 * src/nn/blas_onednn.c), its bf16 variants, and the naive reference the
 * tests compare against. Row-major float32 throughout. */
#ifndef ADAMIX_BLAS_H
#define ADAMIX_BLAS_H

#include "adamix/error.h"
#include "adamix/vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Matrix products (src/nn/blas.c: the only file that calls BLAS).          */

/* OpenBLAS as it describes itself, for --version and manifests (whatever
 * backend is selected: OpenBLAS is always linked). */
const char *amx_blas_config(void);   /* openblas_get_config() */
const char *amx_blas_corename(void); /* the kernel in use: "SkylakeX", "Haswell", ... */

/* Backends: amx_gemm goes to one of a table of implementations (blas.c),
 * "openblas" (cblas_sgemm, the library's initial choice) or "onednn" (oneDNN matmul
 * primitives, blas_onednn.c, in a build configured with it). The choice is
 * process-wide and is made once, before any thread computes (the command
 * line does it, from --backend or ADAMIX_BACKEND); it is provenance, like
 * the OpenBLAS kernel: results are bit-identical for the same build, backend,
 * kernel and threads per product, and differ in the last bits otherwise.
 * docs/backends.md says what each records and guarantees. */
size_t amx_blas_backend_count(void);
const char *amx_blas_backend_name(size_t i); /* table order; NULL past the end */
/* NULL when backend i can be selected in this build on this machine, else
 * why not (a sentence naming what is missing). */
const char *amx_blas_backend_unavailable(size_t i);
/* Selects the backend named `name` for every later amx_gemm. AMX_ERR_USAGE,
 * the message naming the choices, for an unknown or unavailable name; the
 * selection is then unchanged. */
enum amx_status amx_blas_select(const char *name, struct amx_error *err);
/* The backend the program selects when neither --backend nor ADAMIX_BACKEND
 * names one: the fastest usable here by tools/bench (docs/performance.md),
 * "onednn" when it is available, else "openblas". The library itself starts
 * on "openblas" until something is selected. */
const char *amx_blas_program_default(void);
const char *amx_blas_backend(void);         /* the selected backend's name */
const char *amx_blas_backend_version(void); /* "OpenBLAS 0.3.21", "oneDNN 2.6.3" */
/* The instruction set the backend dispatches to: OpenBLAS's kernel (as
 * amx_blas_corename), or oneDNN's effective ISA ("avx512_core_bf16"). */
const char *amx_blas_backend_isa(void);
/* The implementations this process's products have run on: "cblas_sgemm"
 * for openblas; for onednn the implementation names of the primitives made,
 * comma-separated in order of first use ("brg:avx512_core, gemm:jit"; ""
 * before the first product), and, when oneDNN could not make a primitive and
 * cblas_sgemm computed its products instead, "..., cblas_sgemm (fallback, 3
 * products: why)". */
void amx_blas_backend_impls(char *buf, size_t size);
/* oneDNN primitives created so far by this process (0 for openblas): a
 * product's primitive is made the first time its shape is seen and reused
 * afterwards, so this stops growing after a run's first steps. */
size_t amx_blas_backend_primitives(void);

/* Threads per product: amx_blas_set_threads(n) sets OpenBLAS's count and the
 * OpenMP threads of every oneDNN product, applied by each calling thread
 * before its next product (a worker whose own threads split a step asks for
 * 1, so that neither library adds threads of its own). amx_blas_threads() is
 * OpenBLAS's count, amx_blas_backend_threads() the selected backend's. */
int amx_blas_threads(void);
int amx_blas_backend_threads(void);
void amx_blas_set_threads(int n);

/* C = alpha * op(A) op(B) + beta * C, row-major, op(X) = X or X^T by flag.
 * C: M x N (ldc >= N); op(A): M x K, so A is M x K (lda >= K) or, transposed,
 * K x M (lda >= M); op(B): K x N, so B is K x N (ldb >= N) or N x K
 * (ldb >= K). With beta == 0, C is not read (may hold anything). M, N >= 1,
 * K >= 0. Computed by the selected backend. */
void amx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* NULL when products at this precision can be computed by the selected
 * backend on this machine, else why not (a sentence). fp32: always NULL;
 * bf16: the onednn backend on a CPU with AVX-512 BF16 (docs/backends.md:
 * elsewhere oneDNN refuses bf16 or emulates it more slowly than fp32, so it
 * is refused here). */
const char *amx_blas_precision_unavailable(enum amx_precision precision);
/* x rounded to the nearest bfloat16 (8-bit significand), ties to even,
 * returned as the float it is exactly; NaN stays NaN, beyond the largest
 * bf16 it rounds to infinity. */
float amx_bf16_round(float x);
/* amx_gemm's contract with op(A) and op(B) rounded to bf16
 * (amx_bf16_round) and the products accumulated in f32 into C (f32):
 * C = alpha * bf16(op(A)) bf16(op(B)) + beta * C. Callers check
 * amx_blas_precision_unavailable first; where bf16 is unavailable the same
 * numbers are emulated (rounded copies, cblas_sgemm), never wrong. */
void amx_gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same product with op(A) and op(B) already in bf16 (adamix/bf16.h), at
 * their own leading dimensions: C = alpha * op(A) op(B) + beta * C, f32
 * accumulation and output. What the network's products run on at bf16,
 * their operands being the bf16 copies written where the values are made.
 * Where bf16 is unavailable, the same numbers by cblas_sgemm on widened
 * copies. */
void amx_gemm_bf16h(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const uint16_t *A,
                    int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc);
/* Same contract as amx_gemm, naive loops accumulating in double: the tests' reference. */
void amx_gemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
