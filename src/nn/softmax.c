/* The classifier's output layer: softmax and cross-entropy as one fused
 * kernel pair, computed stably from the logits.
 *
 * With z = Y + bias (one row of C logits), m = max_j z_j and
 * s = sum_j exp(z_j - m):
 *   p_j = exp(z_j - m) / s,   -log p_label = log s - (z_label - m),
 * finite for any finite z, even where p_label underflows to 0 (the
 * log-sum-exp form never takes the log of a probability). The gradient of
 * the mean batch loss wrt z is (p - onehot(label)) / B, B the whole batch's
 * size (a block of its rows still divides by it).
 *
 * Rows are independent, so a split step cuts this layer by ROWS (each part
 * a block of the batch, every column), never by columns: a row's softmax
 * needs all of it. Sums are double and run over a row's columns in order,
 * then over rows in order, so a block's sum depends on its rows only. The
 * exponential is amx_nn_expf (internal.h), the same in every build; the
 * logarithm is libm's log of a double. The predicted class is the first
 * index of the row's largest logit (ties: the lowest index). */
#include "internal.h"

#include <math.h>

double amx_softmax_cross_entropy_forward(float *Y, const float *bias, const uint8_t *labels, int ld,
                                         int B, int C, long *wrong)
{
    double total = 0.0;
    long miss = 0;
    for (int r = 0; r < B; r++) {
        float *y = Y + (size_t)r * (size_t)ld;
        int best = 0;
        for (int j = 0; j < C; j++) {
            y[j] += bias[j];
            if (y[j] > y[best]) best = j;
        }
        const float m = y[best];
        const int label = labels ? labels[r] : best;
        const double z_label = (double)y[label] - (double)m;
        double s = 0.0;
        for (int j = 0; j < C; j++) {
            float e = amx_nn_expf(y[j] - m);
            y[j] = e;
            s += (double)e;
        }
        const float inv = (float)(1.0 / s);
        for (int j = 0; j < C; j++)
            y[j] *= inv;
        if (!labels) continue;
        total += log(s) - z_label;
        miss += best != label;
        /* a NaN logit makes every comparison false: count the row wrong and
         * let the loss carry the NaN */
        if (isnan(m)) total = NAN;
    }
    if (wrong) *wrong += miss;
    return total;
}

void amx_softmax_cross_entropy_backward(float *dZ, uint16_t *dZ16, const float *P,
                                        const uint8_t *labels, int ld, int B, int C, int batch)
{
    const float scale = 1.0f / (float)batch;
    for (int r = 0; r < B; r++) {
        const float *p = P + (size_t)r * (size_t)ld;
        float *d = dZ + (size_t)r * (size_t)ld;
        for (int j = 0; j < C; j++)
            d[j] = (p[j] - (j == labels[r] ? 1.0f : 0.0f)) * scale;
    }
    if (dZ16) amx_nn_store_bf16(dZ16, dZ, ld, B, C);
}
