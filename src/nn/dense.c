/* A dense layer's matrix part, on the blocks of a split step (AMX_NN_SPLIT
 * in nn.h). Forward: Y = X W over rows [a, b) of W, the parts' partial
 * products then summed in part order (the bias is added by the activation
 * pass that follows, fused with the unit). Backward, from the gradient dZ wrt
 * the pre-activation: dW = X^T dZ and dX = dZ W^T over rows [a, b), db =
 * column sums of dZ over a block of columns. Every product is one amx_gemm
 * (or, at bf16 precision, amx_gemm_bf16h on the operands' bf16 copies)
 * writing straight into its destination, transposes by flag, never copied.
 * Not here: the unit (activations.c), the loss (loss.c), and which rank runs
 * which part (the callers). */
#include "internal.h"

#include <string.h>

/* The product at the layer's precision: at bf16 on the operands' bf16
 * copies when both have one, else on the f32 operands rounded by the
 * product. */
static void gemm(enum amx_precision prec, bool ta, bool tb, int M, int N, int K, float alpha,
                 const float *A, const uint16_t *A16, int lda, const float *B, const uint16_t *B16,
                 int ldb, float beta, float *C, int ldc)
{
    if (prec != AMX_PRECISION_BF16)
        amx_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (A16 && B16)
        amx_gemm_bf16h(ta, tb, M, N, K, alpha, A16, lda, B16, ldb, beta, C, ldc);
    else
        amx_gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void amx_dense_forward(enum amx_precision prec, float *Y, const float *X, const uint16_t *X16,
                       const float *W, const uint16_t *W16, int B, int In, int Out, int a, int b,
                       int c0, int c1)
{
    if (c0 >= c1) return;
    if (a >= b) { /* an empty part of a narrow input: zero, so that the sum is unchanged */
        for (int r = 0; r < B; r++)
            memset(Y + (size_t)r * Out + c0, 0, sizeof *Y * (size_t)(c1 - c0));
        return;
    }
    /* Y[:, c0:c1] (B x w) = X[:, a:b] (B x (b-a)) W[a:b, c0:c1] ((b-a) x w) */
    const size_t w_off = (size_t)a * Out + c0;
    gemm(prec, false, false, B, c1 - c0, b - a, 1.0f, X + a, X16 ? X16 + a : NULL, In, W + w_off,
         W16 ? W16 + w_off : NULL, Out, 0.0f, Y + c0, Out);
}

void amx_dense_forward_sum(float *Y, float *const *P, int n, int B, int Out, int c0, int c1)
{
    for (int r = 0; r < B; r++) {
        float *y = Y + (size_t)r * Out + c0;
        for (int k = 0; k < n; k++) {
            const float *p = P[k] + (size_t)r * Out + c0;
            for (int j = 0; j < c1 - c0; j++)
                y[j] += p[j];
        }
    }
}

void amx_dense_backward(enum amx_precision prec, float *dX, float *dW, const float *dZ,
                        const uint16_t *dZ16, const float *X, const uint16_t *X16, const float *W,
                        const uint16_t *W16, int B, int In, int Out, int a, int b, float alpha,
                        float beta)
{
    if (a >= b) return;
    const size_t w_off = (size_t)a * Out;
    /* dW[a:b, :] ((b-a) x Out) = alpha X[:, a:b]^T ((b-a) x B) dZ (B x Out) + beta dW[a:b, :] */
    if (dW)
        gemm(prec, true, false, b - a, Out, B, alpha, X + a, X16 ? X16 + a : NULL, In, dZ, dZ16,
             Out, beta, dW + w_off, Out);
    /* dX[:, a:b] (B x (b-a)) = dZ (B x Out) W[a:b, :]^T (Out x (b-a)) */
    if (dX)
        gemm(prec, false, true, B, b - a, Out, 1.0f, dZ, dZ16, Out, W + w_off,
             W16 ? W16 + w_off : NULL, Out, 0.0f, dX + a, In);
}

/* A row-wise sweep (contiguous), B rows added in order. */
AMX_NN_CLONES void amx_dense_backward_bias(float *db, const float *dZ, int B, int Out, int c0,
                                           int c1)
{
    const int w = c1 - c0;
    if (w <= 0) return;
    float *g = db + c0;
    memset(g, 0, sizeof *g * (size_t)w);
    for (int r = 0; r < B; r++) {
        const float *dz = dZ + (size_t)r * Out + c0;
        for (int j = 0; j < w; j++)
            g[j] += dz[j];
    }
}
