/* Restricted Boltzmann machines trained by contrastive divergence (CD-k), as
 * in Hinton & Salakhutdinov's published recipe: logistic visible units;
 * logistic hidden units, or linear hidden units with unit-variance Gaussian
 * noise for the top RBM; positive statistics from the hidden probabilities of
 * the data, negative ones from reconstructions driven by SAMPLED hidden
 * states; visible reconstructions kept as probabilities; momentum with a
 * switch epoch; L2 weight decay on weights only.
 *
 * Every random number comes from the caller's streams, in the order stated in
 * nn.h. Not here: choosing rates or streams per layer, stacking, or saving
 * (the run module does those). */
#include "adamix/nn.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum amx_status amx_rbm_init(struct amx_rbm *rbm, int V, int H, bool linear_hidden, int max_batch,
                             struct amx_error *err)
{
    memset(rbm, 0, sizeof *rbm);
    if (V < 1 || H < 1 || max_batch < 1)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "RBM sizes must be >= 1 (got %d visible, %d hidden, batch %d)", V, H,
                        max_batch);
    size_t vh = (size_t)V * H, bv = (size_t)max_batch * V, bh = (size_t)max_batch * H;
    /* W, gW, vW; bv, gbv, vbv; bh, gbh, vbh; v0, v1; h0, hs, h1 */
    size_t total = 3 * vh + 3 * (size_t)V + 3 * (size_t)H + 2 * bv + 3 * bh;
    float *s = calloc(total, sizeof *s);
    if (!s)
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0, "out of memory for a %d x %d RBM", V, H);
    rbm->slab = s;
    rbm->W = s, s += vh;
    rbm->gW = s, s += vh;
    rbm->vW = s, s += vh;
    rbm->bv = s, s += V;
    rbm->gbv = s, s += V;
    rbm->vbv = s, s += V;
    rbm->bh = s, s += H;
    rbm->gbh = s, s += H;
    rbm->vbh = s, s += H;
    rbm->v0 = s, s += bv;
    rbm->v1 = s, s += bv;
    rbm->h0 = s, s += bh;
    rbm->hs = s, s += bh;
    rbm->h1 = s, s += bh;
    rbm->V = V;
    rbm->H = H;
    rbm->linear_hidden = linear_hidden;
    rbm->max_batch = max_batch;
    return AMX_OK;
}

void amx_rbm_free(struct amx_rbm *rbm)
{
    free(rbm->slab);
    free(rbm->noise);
    free(rbm->perm);
    memset(rbm, 0, sizeof *rbm);
}

void amx_rbm_init_weights(struct amx_rbm *rbm, double init_std, struct amx_rng *rng)
{
    size_t vh = (size_t)rbm->V * rbm->H;
    for (size_t i = 0; i < vh; i++)
        rbm->W[i] = (float)(init_std * amx_rng_normal(rng));
    memset(rbm->vW, 0, sizeof(float) * vh);
    memset(rbm->bv, 0, sizeof(float) * (size_t)rbm->V);
    memset(rbm->vbv, 0, sizeof(float) * (size_t)rbm->V);
    memset(rbm->bh, 0, sizeof(float) * (size_t)rbm->H);
    memset(rbm->vbh, 0, sizeof(float) * (size_t)rbm->H);
}

static enum amx_unit hidden_unit(const struct amx_rbm *rbm)
{
    return rbm->linear_hidden ? AMX_UNIT_LINEAR : AMX_UNIT_LOGISTIC;
}

/* hs = sample(hp): logistic: 1 if u < p else 0; linear: mean + N(0,1).
 * hs, hp, noise: n values. */
static void sample_hidden(float *hs, const float *hp, const float *noise, size_t n, bool linear)
{
    if (linear)
        for (size_t i = 0; i < n; i++)
            hs[i] = hp[i] + noise[i];
    else
        for (size_t i = 0; i < n; i++)
            hs[i] = noise[i] < hp[i] ? 1.0f : 0.0f;
}

double amx_rbm_cd_stats(struct amx_rbm *rbm, const float *v0, int B, int k, const float *noise)
{
    assert(B >= 1 && B <= rbm->max_batch && k >= 1);
    const int V = rbm->V, H = rbm->H;
    const enum amx_unit hu = hidden_unit(rbm);
    const size_t bh = (size_t)B * H;
    float *h0 = rbm->h0, *hs = rbm->hs, *v1 = rbm->v1, *h1 = rbm->h1;

    /* positive phase: h0 (B x H) = f(v0 W + bh) */
    amx_dense_forward(h0, v0, rbm->W, B, V, H);
    amx_activation_forward(h0, rbm->bh, B, H, hu);
    /* gW (V x H) = v0^T h0 / B */
    amx_gemm(true, false, V, H, B, 1.0f / (float)B, v0, V, h0, H, 0.0f, rbm->gW, H);

    double recon = 0.0;
    const float *hp = h0;
    for (int s = 0; s < k; s++) {
        sample_hidden(hs, hp, noise + (size_t)s * bh, bh, rbm->linear_hidden);
        /* v1 (B x V) = sigmoid(hs (B x H) W^T (H x V) + bv) */
        amx_gemm(false, true, B, V, H, 1.0f, hs, H, rbm->W, H, 0.0f, v1, V);
        amx_activation_forward(v1, rbm->bv, B, V, AMX_UNIT_LOGISTIC);
        if (s == 0) recon = amx_squared_error_forward(v1, v0, B, V);
        /* h1 (B x H) = f(v1 W + bh) */
        amx_dense_forward(h1, v1, rbm->W, B, V, H);
        amx_activation_forward(h1, rbm->bh, B, H, hu);
        hp = h1;
    }
    /* negative phase: gW -= v1^T h1 / B */
    amx_gemm(true, false, V, H, B, -1.0f / (float)B, v1, V, h1, H, 1.0f, rbm->gW, H);

    /* bias statistics: colsum(v0 - v1) / B and colsum(h0 - h1) / B */
    memset(rbm->gbv, 0, sizeof(float) * (size_t)V);
    memset(rbm->gbh, 0, sizeof(float) * (size_t)H);
    for (int b = 0; b < B; b++) {
        const float *a = v0 + (size_t)b * V, *c = v1 + (size_t)b * V;
        for (int j = 0; j < V; j++)
            rbm->gbv[j] += a[j] - c[j];
        const float *d = h0 + (size_t)b * H, *e = h1 + (size_t)b * H;
        for (int j = 0; j < H; j++)
            rbm->gbh[j] += d[j] - e[j];
    }
    const float inv = 1.0f / (float)B;
    for (int j = 0; j < V; j++)
        rbm->gbv[j] *= inv;
    for (int j = 0; j < H; j++)
        rbm->gbh[j] *= inv;
    return recon;
}

/* v = mom v + lr (g - wd theta); theta += v, over n values. */
static void momentum_update(float *theta, float *v, const float *g, size_t n, float lr, float mom,
                            float wd)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = mom * v[i] + lr * (g[i] - wd * theta[i]);
        theta[i] += v[i];
    }
}

/* Makes room for the epoch's permutation (n rows) and noise (m floats);
 * the buffers only grow, so later epochs allocate nothing. */
static bool reserve(struct amx_rbm *rbm, size_t n, size_t m)
{
    if (rbm->perm_cap < n) {
        uint32_t *p = realloc(rbm->perm, n * sizeof *p);
        if (!p) return false;
        rbm->perm = p;
        rbm->perm_cap = n;
    }
    if (rbm->noise_cap < m) {
        float *p = realloc(rbm->noise, m * sizeof *p);
        if (!p) return false;
        rbm->noise = p;
        rbm->noise_cap = m;
    }
    return true;
}

enum amx_status amx_rbm_train_epoch(struct amx_rbm *rbm, const float *data, size_t n,
                                    int batch_size, const struct amx_rbm_hparams *hp, int epoch,
                                    struct amx_rng *order, struct amx_rng *sample,
                                    double *recon_error, struct amx_error *err)
{
    if (batch_size < 1 || batch_size > rbm->max_batch)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "RBM batch size must be between 1 and %d (got %d)", rbm->max_batch,
                        batch_size);
    if (hp->cd_k < 1)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "cd_k must be >= 1 (got %d)", hp->cd_k);
    if (n == 0 || n > UINT32_MAX)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "RBM training set must have between 1 and 2^32-1 rows (got %zu)", n);
    const int V = rbm->V, H = rbm->H, k = hp->cd_k;
    size_t noise_n = (size_t)k * batch_size * H;
    if (!reserve(rbm, n, noise_n))
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                        "out of memory for the RBM's permutation and noise buffers");

    uint32_t *perm = rbm->perm;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    amx_rng_shuffle(order, perm, n);

    const float lr = (float)hp->learning_rate, wd = (float)hp->weight_decay;
    const float mom =
        (float)(epoch < hp->momentum_switch_epoch ? hp->momentum_initial : hp->momentum_final);
    double recon = 0.0;
    for (size_t start = 0; start < n; start += (size_t)batch_size) {
        int B = n - start < (size_t)batch_size ? (int)(n - start) : batch_size;
        for (int b = 0; b < B; b++)
            memcpy(rbm->v0 + (size_t)b * V, data + (size_t)perm[start + b] * V,
                   sizeof(float) * (size_t)V);
        size_t m = (size_t)k * B * H;
        if (rbm->linear_hidden)
            for (size_t i = 0; i < m; i++)
                rbm->noise[i] = (float)amx_rng_normal(sample);
        else
            for (size_t i = 0; i < m; i++)
                rbm->noise[i] = amx_rng_uniform(sample);
        recon += amx_rbm_cd_stats(rbm, rbm->v0, B, k, rbm->noise);
        momentum_update(rbm->W, rbm->vW, rbm->gW, (size_t)V * H, lr, mom, wd);
        momentum_update(rbm->bv, rbm->vbv, rbm->gbv, (size_t)V, lr, mom, 0.0f);
        momentum_update(rbm->bh, rbm->vbh, rbm->gbh, (size_t)H, lr, mom, 0.0f);
    }
    if (recon_error) *recon_error = recon / (double)n;
    return AMX_OK;
}

void amx_rbm_hidden_probs(const struct amx_rbm *rbm, const float *data, size_t n, float *out)
{
    assert(n <= INT_MAX);
    if (n == 0) return;
    amx_dense_forward(out, data, rbm->W, (int)n, rbm->V, rbm->H);
    amx_activation_forward(out, rbm->bh, (int)n, rbm->H, hidden_unit(rbm));
}
