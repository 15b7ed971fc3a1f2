/* Restricted Boltzmann machines trained by contrastive divergence (CD-k), as
 * in Hinton & Salakhutdinov's published recipe: logistic visible units;
 * logistic hidden units, or linear hidden units with unit-variance Gaussian
 * noise for the top RBM; positive statistics from the hidden probabilities of
 * the data, negative ones from reconstructions driven by SAMPLED hidden
 * states; visible reconstructions kept as probabilities; momentum with a
 * switch epoch; L2 weight decay on weights only.
 *
 * Every random number comes from the caller's streams, in the order stated in
 * nn.h. A batch's matrix products and elementwise passes are cut into the
 * fixed column blocks of AMX_NN_SPLIT (nn.h) and may run on the RBM's thread
 * pool; the momentum update runs on the pool too, over whole rows of W so that
 * it streams through memory. Results do not depend on the number
 * of threads. Not here: choosing rates or streams per layer, stacking, or
 * saving (the run module does those). */
#include "internal.h"

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
    rbm->n_threads = 1;
    return AMX_OK;
}

void amx_rbm_free(struct amx_rbm *rbm)
{
    amx_nn_pool_destroy(rbm->pool);
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
 * B rows of w values at stride ld in hs, hp and noise. */
static void sample_hidden(float *hs, const float *hp, const float *noise, int ld, int B, int w,
                          bool linear)
{
    for (int b = 0; b < B; b++) {
        float *s = hs + (size_t)b * ld;
        const float *p = hp + (size_t)b * ld, *u = noise + (size_t)b * ld;
        if (linear)
            for (int j = 0; j < w; j++)
                s[j] = p[j] + u[j];
        else
            for (int j = 0; j < w; j++)
                s[j] = u[j] < p[j] ? 1.0f : 0.0f;
    }
}

/* g[j] = inv * sum over the B rows of (a - c)[j], for w columns at stride ld. */
static void colsum_diff(float *g, const float *a, const float *c, int ld, int B, int w, float inv)
{
    memset(g, 0, sizeof *g * (size_t)w);
    for (int b = 0; b < B; b++) {
        const float *x = a + (size_t)b * ld, *y = c + (size_t)b * ld;
        for (int j = 0; j < w; j++)
            g[j] += x[j] - y[j];
    }
    for (int j = 0; j < w; j++)
        g[j] *= inv;
}

/* v = mom v + lr (g - wd theta); theta += v, over n values. */
static void momentum_update(float *restrict theta, float *restrict v, const float *restrict g,
                            size_t n, float lr, float mom, float wd)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = mom * v[i] + lr * (g[i] - wd * theta[i]);
        theta[i] += v[i];
    }
}

/* One batch of CD-k, split like the autoencoder's step (AMX_NN_SPLIT column
 * blocks: of H for h0, hs, h1, gW, bh; of V for v1, bv). Per rank:
 *   H blocks: h0 = f(v0 W + bh), gW = v0^T h0 / B
 *   per Gibbs step: H blocks: hs = sample(h); meet;
 *                   V blocks: v1 = sigmoid(hs W^T + bv) (first: its error); meet;
 *                   H blocks: h1 = f(v1 W + bh)
 *   H blocks: gW -= v1^T h1 / B, gbh; V blocks: gbv; with `update`, the
 *   momentum update of the biases' own blocks; meet; the weights' update by
 *   contiguous ranges of rows (V blocks). */
struct cd_job {
    struct amx_rbm *rbm;
    const float *v0; /* B x V */
    int B, k;
    const float *noise; /* k x B x H */
    bool update;
    float lr, mom, wd;
    double part[AMX_NN_SPLIT];
};

static void cd_job_fn(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    struct cd_job *j = ctx;
    struct amx_rbm *rbm = j->rbm;
    const int V = rbm->V, H = rbm->H, B = j->B;
    const enum amx_unit hu = hidden_unit(rbm);
    const float inv = 1.0f / (float)B;
    int c0, c1;
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        j->part[q] = 0.0;
        amx_nn_block(H, q, &c0, &c1);
        if (c0 == c1) continue;
        /* positive phase: h0 (B x w) = f(v0 W[:, c0:c1] + bh) */
        amx_gemm(false, false, B, c1 - c0, V, 1.0f, j->v0, V, rbm->W + c0, H, 0.0f, rbm->h0 + c0,
                 H);
        amx_nn_bias_act_forward(rbm->h0 + c0, H, rbm->bh + c0, B, c1 - c0, hu);
        /* gW[:, c0:c1] (V x w) = v0^T h0 / B */
        amx_gemm(true, false, V, c1 - c0, B, inv, j->v0, V, rbm->h0 + c0, H, 0.0f, rbm->gW + c0,
                 H);
    }
    const float *hp = rbm->h0;
    for (int s = 0; s < j->k; s++) {
        const float *noise = j->noise + (size_t)s * B * H;
        for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
            amx_nn_block(H, q, &c0, &c1);
            sample_hidden(rbm->hs + c0, hp + c0, noise + c0, H, B, c1 - c0, rbm->linear_hidden);
        }
        amx_nn_pool_barrier(pool, rank);
        for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
            amx_nn_block(V, q, &c0, &c1);
            if (c0 == c1) continue;
            /* v1[:, c0:c1] (B x w) = sigmoid(hs (B x H) W[c0:c1, :]^T + bv) */
            amx_gemm(false, true, B, c1 - c0, H, 1.0f, rbm->hs, H, rbm->W + (size_t)c0 * H, H,
                     0.0f, rbm->v1 + c0, V);
            amx_nn_bias_act_forward(rbm->v1 + c0, V, rbm->bv + c0, B, c1 - c0, AMX_UNIT_LOGISTIC);
            if (s == 0) j->part[q] = amx_nn_squared_error(rbm->v1 + c0, j->v0 + c0, V, B, c1 - c0);
        }
        amx_nn_pool_barrier(pool, rank);
        for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
            amx_nn_block(H, q, &c0, &c1);
            if (c0 == c1) continue;
            /* h1 (B x w) = f(v1 W[:, c0:c1] + bh) */
            amx_gemm(false, false, B, c1 - c0, V, 1.0f, rbm->v1, V, rbm->W + c0, H, 0.0f,
                     rbm->h1 + c0, H);
            amx_nn_bias_act_forward(rbm->h1 + c0, H, rbm->bh + c0, B, c1 - c0, hu);
        }
        hp = rbm->h1;
    }
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        amx_nn_block(H, q, &c0, &c1);
        if (c0 < c1) {
            /* negative phase: gW[:, c0:c1] -= v1^T h1 / B; gbh = colsum(h0 - h1) / B */
            amx_gemm(true, false, V, c1 - c0, B, -inv, rbm->v1, V, rbm->h1 + c0, H, 1.0f,
                     rbm->gW + c0, H);
            colsum_diff(rbm->gbh + c0, rbm->h0 + c0, rbm->h1 + c0, H, B, c1 - c0, inv);
            if (j->update)
                momentum_update(rbm->bh + c0, rbm->vbh + c0, rbm->gbh + c0, c1 - c0, j->lr, j->mom,
                                0.0f);
        }
        amx_nn_block(V, q, &c0, &c1);
        if (c0 < c1) {
            colsum_diff(rbm->gbv + c0, j->v0 + c0, rbm->v1 + c0, V, B, c1 - c0, inv);
            if (j->update)
                momentum_update(rbm->bv + c0, rbm->vbv + c0, rbm->gbv + c0, c1 - c0, j->lr, j->mom,
                                0.0f);
        }
    }
    if (!j->update) return;
    /* the weights, once every column of gW is final: each rank a contiguous
     * range of whole rows (a plain stream through W, vW and gW) */
    amx_nn_pool_barrier(pool, rank);
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        amx_nn_block(V, q, &c0, &c1);
        size_t off = (size_t)c0 * H;
        momentum_update(rbm->W + off, rbm->vW + off, rbm->gW + off, (size_t)(c1 - c0) * H, j->lr,
                        j->mom, j->wd);
    }
}

static double cd_run(struct cd_job *j)
{
    amx_nn_pool_run(j->rbm->pool, cd_job_fn, j);
    double recon = 0.0;
    for (int q = 0; q < AMX_NN_SPLIT; q++)
        recon += j->part[q];
    return recon;
}

double amx_rbm_cd_stats(struct amx_rbm *rbm, const float *v0, int B, int k, const float *noise)
{
    assert(B >= 1 && B <= rbm->max_batch && k >= 1);
    struct cd_job j = {.rbm = rbm, .v0 = v0, .B = B, .k = k, .noise = noise};
    return cd_run(&j);
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
        struct cd_job j = {.rbm = rbm,
                           .v0 = rbm->v0,
                           .B = B,
                           .k = k,
                           .noise = rbm->noise,
                           .update = true,
                           .lr = lr,
                           .mom = mom,
                           .wd = wd};
        recon += cd_run(&j);
    }
    if (recon_error) *recon_error = recon / (double)n;
    return AMX_OK;
}

struct probs_job {
    const struct amx_rbm *rbm;
    const float *data;
    int n;
    float *out;
};

static void probs_job_fn(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    (void)pool;
    struct probs_job *j = ctx;
    const int V = j->rbm->V, H = j->rbm->H;
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int c0, c1;
        amx_nn_block(H, q, &c0, &c1);
        if (c0 == c1) continue;
        amx_gemm(false, false, j->n, c1 - c0, V, 1.0f, j->data, V, j->rbm->W + c0, H, 0.0f,
                 j->out + c0, H);
        amx_nn_bias_act_forward(j->out + c0, H, j->rbm->bh + c0, j->n, c1 - c0,
                                hidden_unit(j->rbm));
    }
}

void amx_rbm_hidden_probs(const struct amx_rbm *rbm, const float *data, size_t n, float *out)
{
    assert(n <= INT_MAX);
    if (n == 0) return;
    struct probs_job j = {.rbm = rbm, .data = data, .n = (int)n, .out = out};
    amx_nn_pool_run(rbm->pool, probs_job_fn, &j);
}

enum amx_status amx_rbm_set_threads(struct amx_rbm *rbm, int n, struct amx_error *err)
{
    if (n < 1) return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "threads must be >= 1 (got %d)", n);
    if (n > AMX_NN_SPLIT) n = AMX_NN_SPLIT;
    if (n == amx_nn_pool_size(rbm->pool)) {
        rbm->n_threads = n;
        return AMX_OK;
    }
    amx_nn_pool_destroy(rbm->pool);
    rbm->pool = NULL;
    rbm->n_threads = 1;
    if (n == 1) return AMX_OK;
    enum amx_status st = amx_nn_pool_create(&rbm->pool, n, err);
    if (st == AMX_OK) rbm->n_threads = n;
    return st;
}
