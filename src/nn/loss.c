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
 * gradient 2 (p - x) f'(z).
 *
 * Sums are double. So that the loops still vectorise (gcc does not reorder a
 * floating-point reduction without -ffast-math), each pixel's term goes to
 * one of LANES partial sums by its column, j mod LANES, and the lanes are
 * added in order at the end: a fixed summation order, whatever the machine.
 * Every kernel works on B rows of N at a leading dimension ld: a split step
 * (AMX_NN_SPLIT in nn.h) runs it on its block of the output's columns, so a
 * block's lanes start at its own first column. Not here: the reconstruction
 * error over a data set (autoencoder.c). */
#include "internal.h"

#include <math.h>

#define CHUNK 256 /* columns per pass: the scratch arrays live on the stack */
#define LANES 16

/* acc[l] += a[j] - x[j] b[j] for j = l mod LANES, all in double. */
static inline void lanes_fma(double *restrict acc, const float *restrict a, const float *restrict x,
                             const float *restrict b, int m)
{
    int j = 0;
    for (; j + LANES <= m; j += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += (double)a[j + l] - (double)x[j + l] * (double)b[j + l];
    for (int l = 0; j + l < m; l++)
        acc[l] += (double)a[j + l] - (double)x[j + l] * (double)b[j + l];
}

/* acc[l] += (p[j] - x[j])^2 for j = l mod LANES, in double. */
static inline void lanes_sq(double *restrict acc, const float *restrict p, const float *restrict x,
                            int m)
{
    int j = 0;
    for (; j + LANES <= m; j += LANES)
        for (int l = 0; l < LANES; l++) {
            double d = (double)p[j + l] - (double)x[j + l];
            acc[l] += d * d;
        }
    for (int l = 0; j + l < m; l++) {
        double d = (double)p[j + l] - (double)x[j + l];
        acc[l] += d * d;
    }
}

static double lanes_total(const double *acc)
{
    double s = 0.0;
    for (int l = 0; l < LANES; l++)
        s += acc[l];
    return s;
}

AMX_NN_CLONES double amx_cross_entropy_forward(float *Y, const float *bias, const float *x, int ld,
                                               int B, int N)
{
    double acc[LANES] = {0};
    float zs[CHUNK], sp[CHUNK];
    for (int b = 0; b < B; b++) {
        float *y = Y + (size_t)b * ld;
        const float *t = x + (size_t)b * ld;
        for (int j0 = 0; j0 < N; j0 += CHUNK) {
            const int m = N - j0 < CHUNK ? N - j0 : CHUNK;
            for (int j = 0; j < m; j++) {
                float z = y[j0 + j] + bias[j0 + j];
                float e = amx_nn_expf(-fabsf(z)); /* in (0, 1]: never overflows */
                zs[j] = z;
                sp[j] = amx_nn_select(z > 0.0f, z, 0.0f) + amx_nn_log1pf_unit(e);
                /* sigmoid from the same e: z >= 0: 1/(1+e); z < 0: e/(1+e) */
                y[j0 + j] = amx_nn_select(z >= 0.0f, 1.0f, e) / (1.0f + e);
            }
            lanes_fma(acc, sp, t + j0, zs, m);
        }
    }
    return lanes_total(acc);
}

AMX_NN_CLONES void amx_cross_entropy_backward(float *dZ, uint16_t *dZ16, const float *P,
                                              const float *x, int ld, int B, int N)
{
    const float scale = 1.0f / (float)B;
    for (int b = 0; b < B; b++) {
        float *d = dZ + (size_t)b * ld;
        const float *p = P + (size_t)b * ld, *t = x + (size_t)b * ld;
        for (int j = 0; j < N; j++)
            d[j] = (p[j] - t[j]) * scale;
        if (dZ16) amx_bf16_store(dZ16 + (size_t)b * ld, d, (size_t)N);
    }
}

AMX_NN_CLONES double amx_squared_error_forward(const float *P, const float *x, int ld, int B, int N)
{
    double acc[LANES] = {0};
    for (int b = 0; b < B; b++)
        lanes_sq(acc, P + (size_t)b * ld, x + (size_t)b * ld, N);
    return lanes_total(acc);
}

AMX_NN_CLONES void amx_squared_error_backward(float *dZ, uint16_t *dZ16, const float *P,
                                              const float *x, int ld, int B, int N,
                                              enum amx_unit unit)
{
    const float scale = 2.0f / (float)B;
    for (int b = 0; b < B; b++) {
        float *d = dZ + (size_t)b * ld;
        const float *p = P + (size_t)b * ld, *t = x + (size_t)b * ld;
        for (int j = 0; j < N; j++)
            d[j] = (p[j] - t[j]) * scale;
    }
    amx_activation_backward(dZ, dZ16, P, ld, B, N, unit); /* writes dZ16 */
}
