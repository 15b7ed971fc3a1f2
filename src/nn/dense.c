/* A dense layer's matrix part. Forward: Y = X W (the bias is added by the
 * activation pass that follows, fused with the unit). Backward, from the
 * gradient dZ wrt the pre-activation: dW = X^T dZ, db = column sums of dZ,
 * dX = dZ W^T; every GEMM has beta 0 and writes straight into its destination
 * (the gradient slab), with transposes by flag, never copied. Not here: the
 * unit (activations.c) and the loss (loss.c). */
#include "adamix/nn.h"

#include <string.h>

void amx_dense_forward(float *Y, const float *X, const float *W, int B, int In, int Out)
{
    /* Y (B x Out) = X (B x In) W (In x Out) */
    amx_gemm(false, false, B, Out, In, 1.0f, X, In, W, Out, 0.0f, Y, Out);
}

void amx_dense_backward(float *dX, float *dW, float *db, const float *dZ, const float *X,
                        const float *W, int B, int In, int Out)
{
    /* dW (In x Out) = X^T (In x B) dZ (B x Out) */
    amx_gemm(true, false, In, Out, B, 1.0f, X, In, dZ, Out, 0.0f, dW, Out);
    /* db (Out) = sum over the B rows of dZ: a row-wise sweep (contiguous) */
    memset(db, 0, sizeof *db * (size_t)Out);
    for (int b = 0; b < B; b++) {
        const float *dz = dZ + (size_t)b * Out;
        for (int j = 0; j < Out; j++)
            db[j] += dz[j];
    }
    /* dX (B x In) = dZ (B x Out) W^T (Out x In) */
    if (dX) amx_gemm(false, true, B, In, Out, 1.0f, dZ, Out, W, Out, 0.0f, dX, In);
}
