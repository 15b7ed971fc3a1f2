/* Restricted Boltzmann machines trained by contrastive divergence (CD-k), as
 * in Hinton & Salakhutdinov's published recipe: logistic visible units;
 * logistic hidden units, or linear hidden units with unit-variance Gaussian
 * noise for the top RBM; positive statistics from the hidden probabilities of
 * the data, negative ones from reconstructions driven by SAMPLED hidden
 * states; visible reconstructions kept as probabilities; momentum with a
 * switch epoch; L2 weight decay on weights only.
 *
 * Every random number comes from the caller's streams, in the order stated in
 * nn.h. A batch is cut into the fixed parts of AMX_NN_SPLIT (nn.h), blocks
 * of rows of W, and may run on the RBM's thread pool, the momentum update
 * included; results do not depend on the number of threads. Not here: choosing rates or streams per
 * layer, stacking, or saving (the run module does those). */
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

/* One batch of CD-k, split like the autoencoder's step: part k is block k of
 * the visible width V (amx_nn_block), i.e. rows a..b of W, gW and vW, which
 * only rank k reads or writes, so they stay in its cache from one batch to
 * the next; what crosses between ranks are B x H and B x V activations.
 *   1  rank k: partial product v0[:, a:b] W[a:b, :] (part 0 into h0, the
 *      others into scratch); meet
 *   2  block k of the hidden columns: h0 = f(sum of partials + bh), in part
 *      order; hs = sample(h0); meet
 *   3  rows a..b: gW[a:b, :] = v0[:, a:b]^T h0 / B (first step only);
 *      v1[:, a:b] = sigmoid(hs W[a:b, :]^T + bv[a:b]) (first step: its
 *      error); the partial product v1[:, a:b] W[a:b, :]; meet
 *   4  hidden block k: h1 = f(sum of partials + bh); for another Gibbs step
 *      hs = sample(h1), meet, and back to 3; else gbh, and the biases'
 *      update; meet
 *   5  rows a..b: gW[a:b, :] -= v1[:, a:b]^T h1 / B, gbv[a:b], and with
 *      `update` the momentum update of those rows and of bv[a:b]. */
struct cd_job {
    struct amx_rbm *rbm;
    const float *v0; /* B x V */
    int B, k;
    const float *noise; /* k x B x H */
    bool update;
    float lr, mom, wd;
    double part[AMX_NN_SPLIT];
};

/* h[:, c0:c1] = f(h + the partial products of parts 1.., in part order,
 * + bh), row by row so that each row is still in L1 for the unit. */
static void sum_act(struct amx_rbm *rbm, float *h, int B, int c0, int c1)
{
    const int H = rbm->H;
    for (int b = 0; b < B; b++) {
        float *y = h + (size_t)b * H + c0;
        for (int k = 1; k < AMX_NN_SPLIT; k++) {
            const float *p = rbm->partial[k - 1] + (size_t)b * H + c0;
            for (int j = 0; j < c1 - c0; j++)
                y[j] += p[j];
        }
        amx_nn_bias_act_forward(y, H, rbm->bh + c0, 1, c1 - c0, hidden_unit(rbm));
    }
}

/* Rank's share of a partial product vis[:, a:b] W[a:b, :] (B x H). */
static void partial_hidden(struct amx_rbm *rbm, const float *vis, int B, int rank, int n_ranks,
                           float *dest0)
{
    const int V = rbm->V, H = rbm->H;
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int a, b;
        amx_nn_block(V, q, &a, &b);
        float *dest = q == 0 ? dest0 : rbm->partial[q - 1];
        if (a < b)
            amx_gemm(false, false, B, H, b - a, 1.0f, vis + a, V, rbm->W + (size_t)a * H, H, 0.0f,
                     dest, H);
        else /* an empty slice of a narrow V adds nothing */
            memset(dest, 0, sizeof(float) * (size_t)B * H);
    }
}

/* Hidden block: h = f(sum of partials + bh) over the rank's column blocks. */
static void finish_hidden(struct amx_rbm *rbm, float *h, int B, int rank, int n_ranks)
{
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int c0, c1;
        amx_nn_block(rbm->H, q, &c0, &c1);
        if (c0 == c1) continue;
        sum_act(rbm, h, B, c0, c1);
    }
}

static void sample_blocks(struct amx_rbm *rbm, const float *hp, const float *noise, int B, int rank,
                          int n_ranks)
{
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int c0, c1;
        amx_nn_block(rbm->H, q, &c0, &c1);
        sample_hidden(rbm->hs + c0, hp + c0, noise + c0, rbm->H, B, c1 - c0, rbm->linear_hidden);
    }
}

static void cd_job_fn(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    struct cd_job *j = ctx;
    struct amx_rbm *rbm = j->rbm;
    const int V = rbm->V, H = rbm->H, B = j->B;
    const float inv = 1.0f / (float)B;
    partial_hidden(rbm, j->v0, B, rank, n_ranks, rbm->h0); /* 1 */
    amx_nn_pool_barrier(pool, rank);
    finish_hidden(rbm, rbm->h0, B, rank, n_ranks); /* 2 */
    sample_blocks(rbm, rbm->h0, j->noise, B, rank, n_ranks);
    for (int s = 0; s < j->k; s++) {
        amx_nn_pool_barrier(pool, rank);
        for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) { /* 3 */
            int a, b;
            amx_nn_block(V, q, &a, &b);
            if (s == 0) j->part[q] = 0.0;
            if (a == b) continue;
            if (s == 0) /* gW[a:b, :] (w x H) = v0[:, a:b]^T h0 / B */
                amx_gemm(true, false, b - a, H, B, inv, j->v0 + a, V, rbm->h0, H, 0.0f,
                         rbm->gW + (size_t)a * H, H);
            /* v1[:, a:b] (B x w) = sigmoid(hs (B x H) W[a:b, :]^T + bv) */
            amx_gemm(false, true, B, b - a, H, 1.0f, rbm->hs, H, rbm->W + (size_t)a * H, H, 0.0f,
                     rbm->v1 + a, V);
            amx_nn_bias_act_forward(rbm->v1 + a, V, rbm->bv + a, B, b - a, AMX_UNIT_LOGISTIC);
            if (s == 0) j->part[q] = amx_nn_squared_error(rbm->v1 + a, j->v0 + a, V, B, b - a);
        }
        partial_hidden(rbm, rbm->v1, B, rank, n_ranks, rbm->h1);
        amx_nn_pool_barrier(pool, rank);
        finish_hidden(rbm, rbm->h1, B, rank, n_ranks); /* 4 */
        if (s + 1 < j->k)
            sample_blocks(rbm, rbm->h1, j->noise + (size_t)(s + 1) * B * H, B, rank, n_ranks);
    }
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) {
        int c0, c1;
        amx_nn_block(H, q, &c0, &c1);
        colsum_diff(rbm->gbh + c0, rbm->h0 + c0, rbm->h1 + c0, H, B, c1 - c0, inv);
        if (j->update)
            momentum_update(rbm->bh + c0, rbm->vbh + c0, rbm->gbh + c0, (size_t)(c1 - c0), j->lr,
                            j->mom, 0.0f);
    }
    amx_nn_pool_barrier(pool, rank);
    for (int q = rank; q < AMX_NN_SPLIT; q += n_ranks) { /* 5 */
        int a, b;
        amx_nn_block(V, q, &a, &b);
        if (a == b) continue;
        /* negative phase: gW[a:b, :] -= v1[:, a:b]^T h1 / B */
        amx_gemm(true, false, b - a, H, B, -inv, rbm->v1 + a, V, rbm->h1, H, 1.0f,
                 rbm->gW + (size_t)a * H, H);
        colsum_diff(rbm->gbv + a, j->v0 + a, rbm->v1 + a, V, B, b - a, inv);
        if (j->update) {
            size_t off = (size_t)a * H;
            momentum_update(rbm->W + off, rbm->vW + off, rbm->gW + off, (size_t)(b - a) * H, j->lr,
                            j->mom, j->wd);
            momentum_update(rbm->bv + a, rbm->vbv + a, rbm->gbv + a, (size_t)(b - a), j->lr, j->mom,
                            0.0f);
        }
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
