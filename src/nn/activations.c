/* Unit nonlinearities over a B x N matrix: the forward pass adds the bias and
 * applies the unit in one sweep over the GEMM output, in place; the backward
 * pass multiplies an upstream gradient by the derivative, computed from the
 * cached output y (so no pre-activation is kept):
 *   logistic y = 1/(1+e^-z)                f' = y (1 - y)
 *   tanh     y = sign(z) (1-e)/(1+e),      f' = 1 - y^2
 *            e = e^{-2|z|} (a series for |z| < 1/8)
 *   relu     y = max(z, 0)                 f' = [y > 0]
 *   linear   y = z                         f' = 1
 * The exponential is internal.h's vectorisable one, so each inner loop is a
 * plain vector sweep (libm's expf and tanhf would be a call per element).
 * Both work on B rows of N at a leading dimension ld, so that a split step
 * (AMX_NN_SPLIT in nn.h) applies them to its block of columns of a wider
 * matrix. Each writes, when given one, the bf16 copy of its result row by
 * row in the same pass (nn.h). No GEMM here (dense.c), no loss (loss.c). */
#include "internal.h"

#include <assert.h>
#include <math.h>

AMX_NN_CLONES void amx_activation_forward(float *Y, uint16_t *Y16, const float *bias, int ld, int B,
                                          int N, enum amx_unit unit)
{
    /* each row's bf16 copy right after the row, while it is in L1 */
#define COPY_ROW(b, y)                                                                             \
    do {                                                                                           \
        if (Y16) amx_bf16_store(Y16 + (size_t)(b)*ld, (y), (size_t)N);                             \
    } while (0)
    switch (unit) {
    case AMX_UNIT_LOGISTIC:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * ld;
            for (int j = 0; j < N; j++)
                y[j] = 1.0f / (1.0f + amx_nn_expf(-(y[j] + bias[j])));
            COPY_ROW(b, y);
        }
        break;
    case AMX_UNIT_TANH:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * ld;
            for (int j = 0; j < N; j++) {
                float z = y[j] + bias[j], z2 = z * z;
                float e = amx_nn_expf(-2.0f * fabsf(z));
                float t = (1.0f - e) / (1.0f + e);
                /* near 0, 1 - e cancels: the series z - z^3/3 + 2z^5/15
                 * - 17z^7/315 instead (next term < 2e-9 relative) */
                float s =
                    z * (1.0f + z2 * (-1.0f / 3.0f + z2 * (2.0f / 15.0f + z2 * (-17.0f / 315.0f))));
                y[j] = amx_nn_select(fabsf(z) < 0.125f, s, amx_nn_select(z < 0.0f, -t, t));
            }
            COPY_ROW(b, y);
        }
        break;
    case AMX_UNIT_RELU:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * ld;
            for (int j = 0; j < N; j++) {
                float z = y[j] + bias[j];
                y[j] = z > 0.0f ? z : 0.0f;
            }
            COPY_ROW(b, y);
        }
        break;
    case AMX_UNIT_LINEAR:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * ld;
            for (int j = 0; j < N; j++)
                y[j] += bias[j];
            COPY_ROW(b, y);
        }
        break;
    case AMX_UNIT_SOFTMAX: /* a row's unit, not an element's: softmax.c, never here */
        assert(!"softmax is computed by amx_softmax_cross_entropy_forward");
        break;
    }
#undef COPY_ROW
}

AMX_NN_CLONES void amx_activation_backward(float *dZ, uint16_t *dZ16, const float *Y, int ld, int B,
                                           int N, enum amx_unit unit)
{
    for (int b = 0; b < B; b++) {
        float *d = dZ + (size_t)b * ld;
        const float *y = Y + (size_t)b * ld;
        switch (unit) {
        case AMX_UNIT_LOGISTIC:
            for (int j = 0; j < N; j++)
                d[j] = d[j] * y[j] * (1.0f - y[j]);
            break;
        case AMX_UNIT_TANH:
            for (int j = 0; j < N; j++)
                d[j] = d[j] * (1.0f - y[j] * y[j]);
            break;
        case AMX_UNIT_RELU:
            for (int j = 0; j < N; j++)
                d[j] = y[j] > 0.0f ? d[j] : 0.0f;
            break;
        case AMX_UNIT_LINEAR: /* dZ = dY */
            break;
        case AMX_UNIT_SOFTMAX: /* only ever an output layer: no dZ passes through it */
            assert(!"softmax is no hidden unit");
            break;
        }
        if (dZ16) amx_bf16_store(dZ16 + (size_t)b * ld, d, (size_t)N);
    }
}
