/* Training losses of the reconstruction, per image summed over pixels and
 * then summed over the batch (callers divide by B for the mean), with their
 * gradients wrt the output layer's pre-activation z, already divided by B
 * (the gradient of the MEAN batch loss).
 *
 * cross_entropy is computed stably from the logits: with p = sigmoid(z),
 *   -[x log p + (1-x) log(1-p)] = softplus(z) - x z,
 *   softplus(z) = max(z, 0) + log1p(exp(-|z|)),
 * finite for any z even where p rounds to 0 or 1; its gradient is p - x.
 * squared_error is sum (p - x)^2 (no 1/2: it equals the reported measure),
 * gradient 2 (p - x) f'(z). Not here: the reconstruction error over a data
 * set (autoencoder.c, which uses amx_squared_error_forward). */
#include "adamix/nn.h"

#include <math.h>

double amx_cross_entropy_forward(float *Y, const float *bias, const float *x, int B, int N)
{
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        float *y = Y + (size_t)b * N;
        const float *t = x + (size_t)b * N;
        double img = 0.0;
        for (int j = 0; j < N; j++) {
            float z = y[j] + bias[j];
            float e = expf(-fabsf(z)); /* in (0, 1]: never overflows */
            float softplus = (z > 0.0f ? z : 0.0f) + log1pf(e);
            img += (double)softplus - (double)t[j] * (double)z;
            /* sigmoid from the same e: z >= 0: 1/(1+e); z < 0: e/(1+e) */
            y[j] = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        }
        total += img;
    }
    return total;
}

void amx_cross_entropy_backward(float *dZ, const float *P, const float *x, int B, int N)
{
    size_t n = (size_t)B * N;
    float scale = 1.0f / (float)B;
    for (size_t i = 0; i < n; i++)
        dZ[i] = (P[i] - x[i]) * scale;
}

double amx_squared_error_forward(const float *P, const float *x, int B, int N)
{
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *p = P + (size_t)b * N;
        const float *t = x + (size_t)b * N;
        double img = 0.0;
        for (int j = 0; j < N; j++) {
            double d = (double)p[j] - (double)t[j];
            img += d * d;
        }
        total += img;
    }
    return total;
}

void amx_squared_error_backward(float *dZ, const float *P, const float *x, int B, int N,
                                enum amx_unit unit)
{
    size_t n = (size_t)B * N;
    float scale = 2.0f / (float)B;
    for (size_t i = 0; i < n; i++)
        dZ[i] = (P[i] - x[i]) * scale;
    amx_activation_backward(dZ, dZ, P, B, N, unit);
}
