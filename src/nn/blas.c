/* Matrix products: the one place of the program that calls BLAS
 * (cblas_sgemm, row-major, transposes by flag, never by a transposed copy),
 * and a naive reference with the same contract that the tests compare
 * against. Nothing else: elementwise passes live with their kernels. */
#include "adamix/nn.h"

#include <cblas.h>

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

int amx_blas_threads(void)
{
    return openblas_get_num_threads();
}

void amx_blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}

void amx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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
