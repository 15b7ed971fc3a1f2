/* Unit nonlinearities over a B x N matrix: the forward pass adds the bias and
 * applies the unit in one sweep over the GEMM output, in place; the backward
 * pass multiplies an upstream gradient by the derivative, computed from the
 * cached output y (so no pre-activation is kept):
 *   logistic y = 1/(1+e^-z)   f' = y (1 - y)
 *   tanh     y = tanh z       f' = 1 - y^2
 *   relu     y = max(z, 0)    f' = [y > 0]
 *   linear   y = z            f' = 1
 * The switch is outside the loops so each inner loop is a plain
 * vectorisable sweep. No GEMM here (blas.c), no loss (loss.c). */
#include "adamix/nn.h"

#include <math.h>

void amx_activation_forward(float *Y, const float *bias, int B, int N, enum amx_unit unit)
{
    switch (unit) {
    case AMX_UNIT_LOGISTIC:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * N;
            for (int j = 0; j < N; j++)
                y[j] = 1.0f / (1.0f + expf(-(y[j] + bias[j])));
        }
        break;
    case AMX_UNIT_TANH:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * N;
            for (int j = 0; j < N; j++)
                y[j] = tanhf(y[j] + bias[j]);
        }
        break;
    case AMX_UNIT_RELU:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * N;
            for (int j = 0; j < N; j++) {
                float z = y[j] + bias[j];
                y[j] = z > 0.0f ? z : 0.0f;
            }
        }
        break;
    case AMX_UNIT_LINEAR:
        for (int b = 0; b < B; b++) {
            float *y = Y + (size_t)b * N;
            for (int j = 0; j < N; j++)
                y[j] += bias[j];
        }
        break;
    }
}

void amx_activation_backward(float *dZ, const float *dY, const float *Y, int B, int N,
                             enum amx_unit unit)
{
    size_t n = (size_t)B * N;
    switch (unit) {
    case AMX_UNIT_LOGISTIC:
        for (size_t i = 0; i < n; i++)
            dZ[i] = dY[i] * Y[i] * (1.0f - Y[i]);
        break;
    case AMX_UNIT_TANH:
        for (size_t i = 0; i < n; i++)
            dZ[i] = dY[i] * (1.0f - Y[i] * Y[i]);
        break;
    case AMX_UNIT_RELU:
        for (size_t i = 0; i < n; i++)
            dZ[i] = Y[i] > 0.0f ? dY[i] : 0.0f;
        break;
    case AMX_UNIT_LINEAR:
        if (dZ != dY)
            for (size_t i = 0; i < n; i++)
                dZ[i] = dY[i];
        break;
    }
}
