/* Restricted Boltzmann machines trained by contrastive divergence (CD-k), as
 * in Hinton & Salakhutdinov's published recipe: logistic visible units;
 * logistic hidden units, or linear hidden units with unit-variance Gaussian
 * noise for the top RBM; positive statistics from the hidden probabilities of
 * the data, negative ones from reconstructions driven by SAMPLED hidden
 * states; visible reconstructions kept as probabilities; momentum with a
 * switch epoch; L2 weight decay on weights only.
 *
 * Every random number comes from the caller's streams, in the order stated in
 * nn.h. The products and units are the dense and activation kernels of the
 * autoencoder (nn.h), on the fixed parts of AMX_NN_SPLIT (blocks of rows of
 * W); a batch's statistics and then its momentum update may run on the RBM's
 * thread pool, and results do not depend on the number of threads. At bf16
 * the products read bf16 copies (nn.h) written where their values are made:
 * W16 by the update, the batch's by the up and down passes. Not
 * here: choosing rates or streams per layer, stacking, or saving (the run
 * module does those). */
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
    /* W, gW, vW; bv, gbv, vbv; bh, gbh, vbh; v0, v1; h0, hs, h1; partials.
     * The products can wrap: checked first, and their sum kept below
     * SIZE_MAX / 16 bounds the whole (every coefficient is smaller). */
    _Static_assert(AMX_NN_SPLIT <= 8, "the bound on the RBM slab below needs few partials");
    size_t total = 0;
    if (!amx_nn_size_add_mul(&total, (size_t)V, (size_t)H) ||
        !amx_nn_size_add_mul(&total, (size_t)max_batch, (size_t)V) ||
        !amx_nn_size_add_mul(&total, (size_t)max_batch, (size_t)H) || total > SIZE_MAX / 16 ||
        (total = 3 * vh + 3 * (size_t)V + 3 * (size_t)H + 2 * bv + 3 * bh +
                 (AMX_NN_SPLIT - 1) * bh) > AMX_NN_MAX_FLOATS)
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                        "a %d x %d RBM with batch %d does not fit in memory (the size of its slab "
                        "overflows)",
                        V, H, max_batch);
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
    for (int k = 0; k < AMX_NN_SPLIT - 1; k++)
        rbm->partial[k] = s, s += bh;
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
    free(rbm->slab16);
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
    amx_rbm_sync_bf16(rbm);
}

static enum amx_unit hidden_unit(const struct amx_rbm *rbm)
{
    return rbm->linear_hidden ? AMX_UNIT_LINEAR : AMX_UNIT_LOGISTIC;
}

/* hs = sample(hp): logistic: 1 if u < p else 0; linear: mean + N(0,1).
 * B rows of w values at stride ld in hs, hp and noise (and hs16, hs's bf16
 * copy, when given). */
static void sample_hidden(float *hs, uint16_t *hs16, const float *hp, const float *noise, int ld,
                          int B, int w, bool linear)
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
        if (hs16) amx_bf16_store(hs16 + (size_t)b * ld, s, (size_t)w);
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

/* v = mom v + lr (g - wd theta); theta += v, over n values; with theta16,
 * each new theta's bf16 copy in the same loop. */
static void momentum_update(float *restrict theta, uint16_t *restrict theta16, float *restrict v,
                            const float *restrict g, size_t n, float lr, float mom, float wd)
{
    if (theta16) {
        for (size_t i = 0; i < n; i++) {
            v[i] = mom * v[i] + lr * (g[i] - wd * theta[i]);
            theta[i] += v[i];
            theta16[i] = amx_bf16_bits(theta[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            v[i] = mom * v[i] + lr * (g[i] - wd * theta[i]);
            theta[i] += v[i];
        }
    }
}

/* One batch of CD-k, split like the autoencoder's step: part k is block k of
 * the visible width V (amx_nn_block), i.e. rows a..b of W, gW and vW, which
 * only rank k reads or writes, so they stay in its cache from one batch to
 * the next; what crosses between ranks are B x H and B x V activations. The
 * RBM is a dense layer V -> H run both ways: up, h = f(v W + bh), its
 * forward; down, v = sigmoid(h W^T + bv), the product its backward sends to
 * its input; and its statistics v^T h are its weight gradient's product.
 *   1  h0 = f(v0 W + bh): rank k forms the partial product of rows a..b,
 *      meet, sums block k of the hidden columns (in part order) and applies
 *      the unit; hs = sample(h0) over that block
 *   2  meet; rows a..b: gW[a:b, :] = v0[:, a:b]^T h0 / B (first step only);
 *      v1[:, a:b] = sigmoid(hs W[a:b, :]^T + bv[a:b]) (first step: its
 *      error); h1 = f(v1 W + bh) as in 1 (the partial product of rows a..b
 *      needs only v1[:, a:b], no meeting); for another Gibbs step
 *      hs = sample(h1) and back to 2
 *   3  hidden block k: gbh; meet; rows a..b: gW[a:b, :] -= v1[:, a:b]^T h1
 *      / B, gbv[a:b]. */
struct cd_job {
    struct amx_rbm *rbm;
    const float *v0; /* B x V */
    int B, k;
    const float *noise; /* k x B x H */
    double part[AMX_NN_SPLIT];
};

/* h = f(vis W + bh) (vis: B x V, h: B x H), the split forward of the layer
 * V -> H: partial products of the rank's rows of W (part 0 into h, the
 * others into scratch), a meeting, then the rank's hidden blocks summed in
 * part order and through the unit. */
static void up_pass(struct amx_rbm *rbm, const float *vis, const uint16_t *vis16, float *h,
                    uint16_t *h16, int B, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    const int V = rbm->V, H = rbm->H;
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int a, b;
        amx_nn_block(V, q, &a, &b);
        amx_dense_forward(rbm->precision, q == 0 ? h : rbm->partial[q - 1], vis, vis16, rbm->W,
                          rbm->W16, B, V, H, a, b, 0, H);
    }
    amx_nn_pool_barrier(pool, rank);
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int c0, c1;
        amx_nn_block(H, q, &c0, &c1);
        amx_dense_forward_sum(h, rbm->partial, AMX_NN_SPLIT - 1, B, H, c0, c1);
        amx_activation_forward(h + c0, h16 ? h16 + c0 : NULL, rbm->bh + c0, H, B, c1 - c0,
                               hidden_unit(rbm));
    }
}

/* hs = sample(hp) over the rank's hidden blocks; noise: B x H. */
static void sample_blocks(struct amx_rbm *rbm, const float *hp, const float *noise, int B, int rank,
                          int n_ranks)
{
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int c0, c1;
        amx_nn_block(rbm->H, q, &c0, &c1);
        sample_hidden(rbm->hs + c0, rbm->hs16 ? rbm->hs16 + c0 : NULL, hp + c0, noise + c0, rbm->H,
                      B, c1 - c0, rbm->linear_hidden);
    }
}

static void cd_job_fn(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    struct cd_job *j = ctx;
    struct amx_rbm *rbm = j->rbm;
    const int V = rbm->V, H = rbm->H, B = j->B;
    const float inv = 1.0f / (float)B;
    if (rbm->v0_16) /* the batch's bf16 copy: each rank the visible block its parts read */
        for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
            int a, b;
            amx_nn_block(V, q, &a, &b);
            amx_nn_store_bf16(rbm->v0_16 + a, j->v0 + a, V, B, b - a);
        }
    up_pass(rbm, j->v0, rbm->v0_16, rbm->h0, rbm->h0_16, B, rank, n_ranks, pool); /* 1 */
    sample_blocks(rbm, rbm->h0, j->noise, B, rank, n_ranks);
    for (int s = 0; s < j->k; s++) {
        amx_nn_pool_barrier(pool, rank); /* 2: hs complete */
        for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
            int a, b;
            amx_nn_block(V, q, &a, &b);
            if (s == 0) /* positive statistics: gW[a:b, :] = v0[:, a:b]^T h0 / B */
                amx_dense_backward(rbm->precision, NULL, rbm->gW, rbm->h0, rbm->h0_16, j->v0,
                                   rbm->v0_16, rbm->W, rbm->W16, B, V, H, a, b, inv, 0.0f);
            /* down: v1[:, a:b] = sigmoid(hs W[a:b, :]^T + bv[a:b]) */
            amx_dense_backward(rbm->precision, rbm->v1, NULL, rbm->hs, rbm->hs16, NULL, NULL,
                               rbm->W, rbm->W16, B, V, H, a, b, 1.0f, 0.0f);
            amx_activation_forward(rbm->v1 + a, rbm->v1_16 ? rbm->v1_16 + a : NULL, rbm->bv + a, V,
                                   B, b - a, AMX_UNIT_LOGISTIC);
            if (s == 0) j->part[q] = amx_squared_error_forward(rbm->v1 + a, j->v0 + a, V, B, b - a);
        }
        up_pass(rbm, rbm->v1, rbm->v1_16, rbm->h1, rbm->h1_16, B, rank, n_ranks, pool);
        if (s + 1 < j->k)
            sample_blocks(rbm, rbm->h1, j->noise + (size_t)(s + 1) * B * H, B, rank, n_ranks);
    }
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) { /* 3 */
        int c0, c1;
        amx_nn_block(H, q, &c0, &c1);
        colsum_diff(rbm->gbh + c0, rbm->h0 + c0, rbm->h1 + c0, H, B, c1 - c0, inv);
    }
    amx_nn_pool_barrier(pool, rank);
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int a, b;
        amx_nn_block(V, q, &a, &b);
        /* negative statistics: gW[a:b, :] -= v1[:, a:b]^T h1 / B */
        amx_dense_backward(rbm->precision, NULL, rbm->gW, rbm->h1, rbm->h1_16, rbm->v1, rbm->v1_16,
                           rbm->W, rbm->W16, B, V, H, a, b, -inv, 1.0f);
        colsum_diff(rbm->gbv + a, j->v0 + a, rbm->v1 + a, V, B, b - a, inv);
    }
}

double amx_rbm_cd_stats(struct amx_rbm *rbm, const float *v0, int B, int k, const float *noise)
{
    assert(B >= 1 && B <= rbm->max_batch && k >= 1);
    struct cd_job j = {.rbm = rbm, .v0 = v0, .B = B, .k = k, .noise = noise};
    amx_nn_pool_run(rbm->pool, cd_job_fn, &j);
    double recon = 0.0;
    for (int q = 0; q < AMX_NN_SPLIT; q++)
        recon += j.part[q];
    return recon;
}

/* The momentum update of the last statistics, in the same parts as
 * cd_job_fn (rows a..b of W and bv[a:b] by visible block, bh by hidden
 * block), so each rank updates what it computed; weight decay on W only. */
struct update_job {
    struct amx_rbm *rbm;
    float lr, mom, wd;
};

static void update_job_fn(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    (void)pool;
    struct update_job *j = ctx;
    struct amx_rbm *rbm = j->rbm;
    const int V = rbm->V, H = rbm->H;
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int a, b, c0, c1;
        amx_nn_block(H, q, &c0, &c1);
        momentum_update(rbm->bh + c0, NULL, rbm->vbh + c0, rbm->gbh + c0, (size_t)(c1 - c0), j->lr,
                        j->mom, 0.0f);
        amx_nn_block(V, q, &a, &b);
        size_t off = (size_t)a * H;
        momentum_update(rbm->W + off, rbm->W16 ? rbm->W16 + off : NULL, rbm->vW + off,
                        rbm->gW + off, (size_t)(b - a) * H, j->lr, j->mom, j->wd);
        momentum_update(rbm->bv + a, NULL, rbm->vbv + a, rbm->gbv + a, (size_t)(b - a), j->lr,
                        j->mom, 0.0f);
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
    size_t kb = 0, noise_n = 0; /* k * batch_size * H, which can wrap */
    if (!amx_nn_size_add_mul(&kb, (size_t)k, (size_t)batch_size) ||
        !amx_nn_size_add_mul(&noise_n, kb, (size_t)H) || noise_n > AMX_NN_MAX_FLOATS ||
        !reserve(rbm, n, noise_n))
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
        struct update_job u = {.rbm = rbm, .lr = lr, .mom = mom, .wd = wd};
        amx_nn_pool_run(rbm->pool, update_job_fn, &u);
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
        /* out[:, c0:c1] = f(data W[:, c0:c1] + bh[c0:c1]): split by hidden
         * columns, each block a whole product, as n rows would need n x H
         * scratch for partial products */
        amx_dense_forward(j->rbm->precision, j->out, j->data, NULL, j->rbm->W, j->rbm->W16, j->n, V,
                          H, 0, V, c0, c1);
        amx_activation_forward(j->out + c0, NULL, j->rbm->bh + c0, H, j->n, c1 - c0,
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

enum amx_status amx_rbm_set_precision(struct amx_rbm *rbm, enum amx_precision precision,
                                      struct amx_error *err)
{
    const char *why = amx_blas_precision_unavailable(precision);
    if (why) return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "%s", why);
    if (precision == AMX_PRECISION_BF16 && !rbm->slab16) {
        /* W, v0, h0, hs, v1, h1: sizes amx_rbm_init has checked (their sum
         * is below the float slab's) */
        size_t vh = (size_t)rbm->V * rbm->H, bv = (size_t)rbm->max_batch * rbm->V,
               bh = (size_t)rbm->max_batch * rbm->H;
        uint16_t *s = calloc(vh + 2 * bv + 3 * bh, sizeof *s);
        if (!s)
            return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                            "out of memory for the bf16 copies of a %d x %d RBM", rbm->V, rbm->H);
        rbm->slab16 = s;
        rbm->W16 = s, s += vh;
        rbm->v0_16 = s, s += bv;
        rbm->v1_16 = s, s += bv;
        rbm->h0_16 = s, s += bh;
        rbm->hs16 = s, s += bh;
        rbm->h1_16 = s;
    } else if (precision != AMX_PRECISION_BF16) {
        free(rbm->slab16);
        rbm->slab16 = rbm->W16 = rbm->v0_16 = rbm->v1_16 = rbm->h0_16 = rbm->hs16 = rbm->h1_16 =
            NULL;
    }
    rbm->precision = precision;
    amx_rbm_sync_bf16(rbm);
    return AMX_OK;
}

void amx_rbm_sync_bf16(struct amx_rbm *rbm)
{
    if (rbm->W16) amx_bf16_store(rbm->W16, rbm->W, (size_t)rbm->V * rbm->H);
}
