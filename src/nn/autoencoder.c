/* The unrolled deep autoencoder: 2(L-1) dense layers over one parameter slab
 * (weights then biases, layer by layer) and one gradient slab of identical
 * layout, with every activation and backward buffer allocated at init for a
 * maximum batch, so a training step allocates nothing. Initialisation is
 * either random or the unrolling of a pretrained RBM stack (decoder = the
 * transposes, copied once, then untied).
 *
 * train_step is forward + loss + backward into the gradient slab, layer by
 * layer a sequence of the kernels of nn.h (amx_dense_*, amx_activation_*,
 * the loss's pair), the ones tests/check_nn.c checks; the update itself
 * belongs to the optimiser (src/optim), and the loop over epochs and batches
 * to the run module. A step, a forward pass and the reconstruction
 * error are cut into the fixed parts of AMX_NN_SPLIT (nn.h) and run on the
 * autoencoder's own thread pool when it has one (amx_autoencoder_set_threads);
 * amx_autoencoder_tensor_part and amx_autoencoder_run_parts let the caller's
 * update follow the same parts on the same threads. */
#include "internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slabs start on a cache line, and so does each activation buffer (a
 * multiple of 16 floats). */
static size_t round16(size_t n)
{
    return (n + 15) / 16 * 16;
}

static float *zalloc64(size_t n)
{
    if (n > AMX_NN_MAX_FLOATS) return NULL; /* the bytes would wrap */
    size_t bytes = round16(n) * sizeof(float);
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

enum amx_status amx_autoencoder_init(struct amx_autoencoder *ae, const int *layers, int n_layers,
                                     enum amx_unit hidden, enum amx_unit code, enum amx_unit output,
                                     int max_batch, struct amx_error *err)
{
    memset(ae, 0, sizeof *ae);
    if (n_layers < 2 || n_layers > AMX_MAX_LAYERS)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "an autoencoder needs between 2 and %d layer sizes (got %d)",
                        AMX_MAX_LAYERS, n_layers);
    if (max_batch < 1)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "batch size must be >= 1 (got %d)",
                        max_batch);
    int widest = 0;
    for (int i = 0; i < n_layers; i++) {
        if (layers[i] < 1)
            return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "layer size %d must be >= 1 (got %d)",
                            i + 1, layers[i]);
        if (layers[i] > widest) widest = layers[i];
    }

    const int L = n_layers, nd = 2 * (L - 1);
    size_t n_params = 0, n_acts = 0, n_delta = 0, n_slab = 0;
    bool fits = true;
    for (int l = 0; l < nd && fits; l++) {
        /* encoder layer l maps s_l -> s_{l+1}; decoder layer l maps back */
        int in = l < L - 1 ? layers[l] : layers[nd - l];
        int out = l < L - 1 ? layers[l + 1] : layers[nd - l - 1];
        size_t act = 0;
        fits = amx_nn_size_add_mul(&n_params, (size_t)in, (size_t)out) &&
               amx_nn_size_add_mul(&n_params, (size_t)out, 1) &&
               amx_nn_size_add_mul(&act, (size_t)max_batch, (size_t)out) && act <= SIZE_MAX - 16 &&
               amx_nn_size_add_mul(&n_acts, round16(act), 1);
    }
    /* delta[0], delta[1], and two sets of AMX_NN_SPLIT - 1 partial products */
    fits = fits && amx_nn_size_add_mul(&n_delta, (size_t)max_batch, (size_t)widest) &&
           n_delta <= SIZE_MAX - 16 &&
           amx_nn_size_add_mul(&n_slab, 2 + 2 * (size_t)(AMX_NN_SPLIT - 1), round16(n_delta)) &&
           amx_nn_size_add_mul(&n_slab, n_acts, 1) && n_params <= AMX_NN_MAX_FLOATS &&
           n_slab <= AMX_NN_MAX_FLOATS;
    if (!fits)
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                        "an autoencoder of these layer sizes and batch %d does not fit in memory "
                        "(the size of its slabs overflows)",
                        max_batch);
    n_delta = round16(n_delta);
    ae->params = zalloc64(n_params);
    ae->grads = zalloc64(n_params);
    ae->acts = zalloc64(n_slab); /* the activations, then the deltas and partials */
    if (!ae->params || !ae->grads || !ae->acts) {
        amx_autoencoder_free(ae);
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                        "out of memory for an autoencoder of %zu parameters", n_params);
    }

    ae->n_sizes = L;
    memcpy(ae->sizes, layers, sizeof(int) * (size_t)L);
    ae->n_layers = nd;
    ae->max_batch = max_batch;
    ae->n_params = n_params;
    ae->n_acts = n_slab;
    ae->n_threads = 1;
    size_t off = 0;
    float *act = ae->acts;
    for (int l = 0; l < nd; l++) {
        struct amx_dense *d = &ae->layer[l];
        d->in = l < L - 1 ? layers[l] : layers[nd - l];
        d->out = l < L - 1 ? layers[l + 1] : layers[nd - l - 1];
        d->unit = l == nd - 1 ? output : l == L - 2 ? code : hidden;
        d->W = ae->params + off;
        d->dW = ae->grads + off;
        off += (size_t)d->in * d->out;
        d->b = ae->params + off;
        d->db = ae->grads + off;
        off += (size_t)d->out;
        d->Y = act;
        act += round16((size_t)max_batch * d->out);
    }
    ae->delta[0] = act;
    ae->delta[1] = act + n_delta;
    act += 2 * n_delta;
    for (int set = 0; set < 2; set++)
        for (int k = 0; k < AMX_NN_SPLIT - 1; k++, act += n_delta)
            ae->partial[set][k] = act;
    return AMX_OK;
}

void amx_autoencoder_free(struct amx_autoencoder *ae)
{
    amx_nn_pool_destroy(ae->pool);
    free(ae->params);
    free(ae->grads);
    free(ae->acts);
    free(ae->params16);
    free(ae->acts16);
    free(ae->x16);
    memset(ae, 0, sizeof *ae);
}

void amx_autoencoder_init_random(struct amx_autoencoder *ae, double init_std, struct amx_rng *rng)
{
    for (int l = 0; l < ae->n_layers; l++) {
        struct amx_dense *d = &ae->layer[l];
        size_t n = (size_t)d->in * d->out;
        for (size_t i = 0; i < n; i++)
            d->W[i] = (float)(init_std * amx_rng_normal(rng));
        memset(d->b, 0, sizeof(float) * (size_t)d->out);
    }
    amx_autoencoder_sync_bf16(ae);
}

enum amx_status amx_autoencoder_from_rbms(struct amx_autoencoder *ae, const struct amx_rbm *rbms,
                                          int n, struct amx_error *err)
{
    const int L = ae->n_sizes, nd = ae->n_layers;
    if (n != L - 1)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "unrolling needs %d RBMs for %d layer sizes (got %d)", L - 1, L, n);
    for (int i = 0; i < n; i++)
        if (rbms[i].V != ae->sizes[i] || rbms[i].H != ae->sizes[i + 1])
            return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                            "RBM %d is %d x %d but layers %d and %d have sizes %d and %d", i + 1,
                            rbms[i].V, rbms[i].H, i + 1, i + 2, ae->sizes[i], ae->sizes[i + 1]);
    for (int i = 0; i < n; i++) {
        const struct amx_rbm *r = &rbms[i];
        const int V = r->V, H = r->H;
        struct amx_dense *enc = &ae->layer[i], *dec = &ae->layer[nd - 1 - i];
        memcpy(enc->W, r->W, sizeof(float) * (size_t)V * H);
        memcpy(enc->b, r->bh, sizeof(float) * (size_t)H);
        /* decoder W (H x V) = W^T: an initialisation, done once */
        for (int v = 0; v < V; v++)
            for (int h = 0; h < H; h++)
                dec->W[(size_t)h * V + v] = r->W[(size_t)v * H + h];
        memcpy(dec->b, r->bv, sizeof(float) * (size_t)V);
    }
    amx_autoencoder_sync_bf16(ae);
    return AMX_OK;
}

size_t amx_autoencoder_tensors(const struct amx_autoencoder *ae, struct amx_param_tensor *out)
{
    if (out) {
        const int L = ae->n_sizes;
        for (int l = 0; l < ae->n_layers; l++) {
            const struct amx_dense *d = &ae->layer[l];
            for (int kind = 0; kind < 2; kind++) {
                struct amx_param_tensor *t = &out[2 * l + kind];
                memset(t, 0, sizeof *t);
                snprintf(t->name, sizeof t->name, "layer%d.%s", l + 1, kind ? "biases" : "weights");
                t->layer = l + 1;
                t->is_bias = kind == 1;
                t->in_encoder = l < L - 1;
                t->theta = kind ? d->b : d->W;
                t->grad = kind ? d->db : d->dW;
                t->n = kind ? (size_t)d->out : (size_t)d->in * d->out;
                t->theta16 = !kind && ae->params16 ? ae->params16 + (d->W - ae->params) : NULL;
            }
        }
    }
    return 2 * (size_t)ae->n_layers;
}

size_t amx_autoencoder_tensor_part(const struct amx_autoencoder *ae, int part, int n_parts,
                                   struct amx_param_tensor *out)
{
    if (n_parts != AMX_NN_SPLIT || part < 0 || part >= n_parts) return 0;
    size_t nt = amx_autoencoder_tensors(ae, out);
    if (out)
        for (size_t i = 0; i < nt; i++) {
            const struct amx_dense *d = &ae->layer[out[i].layer - 1];
            int lo, hi;
            /* weights: rows of block `part` of In; biases: block of Out */
            amx_nn_block(out[i].is_bias ? d->out : d->in, part, &lo, &hi);
            size_t row = out[i].is_bias ? 1 : (size_t)d->out;
            out[i].theta += (size_t)lo * row;
            out[i].grad += (size_t)lo * row;
            if (out[i].theta16) out[i].theta16 += (size_t)lo * row;
            out[i].n = (size_t)(hi - lo) * row;
        }
    return nt;
}

enum amx_status amx_autoencoder_check_loss(const struct amx_autoencoder *ae, enum amx_loss loss,
                                           struct amx_error *err)
{
    enum amx_unit out = ae->layer[ae->n_layers - 1].unit;
    if (loss == AMX_LOSS_CROSS_ENTROPY && out != AMX_UNIT_LOGISTIC)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "loss cross_entropy needs logistic output units (got %s); use "
                        "squared_error or output: logistic",
                        out == AMX_UNIT_LINEAR ? "linear"
                        : out == AMX_UNIT_RELU ? "relu"
                                               : "tanh");
    return AMX_OK;
}

/* ---- the step: forward, loss, backward ---------------------------------- */

/* A step, a forward pass and an evaluation are one job, run by every rank of
 * the pool at once (one rank without a pool). The work of each layer is cut
 * into the AMX_NN_SPLIT parts of nn.h; rank r does parts r, r + n, ..., and
 * one rank does them all one after another, so the arithmetic is the same
 * whatever the number of ranks. Part k of a layer is block k of its INPUT
 * width (amx_nn_block of In): rows a..b of W and dW, those of the
 * optimiser's part k (amx_autoencoder_tensor_part), so that the rank that
 * updates them is the one that computes them and they stay in its cache;
 * only activations (B x width) cross between ranks. */

enum job_kind {
    JOB_FORWARD, /* every layer with its unit: the reconstruction */
    JOB_RECON,   /* the same, plus the squared error against x per block */
    JOB_TRAIN    /* forward, loss, backward into the gradient slab */
};

struct job {
    struct amx_autoencoder *ae;
    const float *x; /* B x s_0 */
    int B;
    enum job_kind kind;
    enum amx_loss loss;
    double part[AMX_NN_SPLIT]; /* per block of output columns: loss or squared error */
};

/* The bf16 copy of p, a matrix in the activation slab (an activation, a
 * delta); NULL at fp32. */
static uint16_t *act16(const struct amx_autoencoder *ae, const float *p)
{
    if (!ae->acts16) return NULL;
    assert(p >= ae->acts && p < ae->acts + ae->n_acts);
    return ae->acts16 + (p - ae->acts);
}

/* The bf16 copy of layer d's weights; NULL at fp32. */
static const uint16_t *weights16(const struct amx_autoencoder *ae, const struct amx_dense *d)
{
    return ae->params16 ? ae->params16 + (d->W - ae->params) : NULL;
}

/* The output layer's columns [c0, c1), its product summed: the unit and,
 * but for JOB_FORWARD, the loss (JOB_RECON: the squared error); with
 * JOB_TRAIN the loss's gradient dZ[:, c0:c1] into delta[0]. Cross-entropy
 * computes its sigmoid from the logits itself. Returns the block's sum. */
static double output_block(struct job *j, struct amx_dense *d, int c0, int c1)
{
    const int B = j->B, w = c1 - c0, V = d->out;
    const float *x = j->x + c0, *bias = d->b + c0;
    float *Y = d->Y + c0, *dZ = j->ae->delta[0] + c0;
    /* the reconstruction is no product's operand; dZ is the next one's */
    uint16_t *dZ16 = j->ae->acts16 ? act16(j->ae, j->ae->delta[0]) + c0 : NULL;
    if (j->kind == JOB_TRAIN && j->loss == AMX_LOSS_CROSS_ENTROPY) {
        double loss = amx_cross_entropy_forward(Y, bias, x, V, B, w);
        amx_cross_entropy_backward(dZ, dZ16, Y, x, V, B, w);
        return loss;
    }
    amx_activation_forward(Y, NULL, bias, V, B, w, d->unit);
    if (j->kind == JOB_FORWARD) return 0.0;
    double loss = amx_squared_error_forward(Y, x, V, B, w);
    if (j->kind == JOB_TRAIN) amx_squared_error_backward(dZ, dZ16, Y, x, V, B, w, d->unit);
    return loss;
}

/* Layer l forward, X its input (B x In). Rank k forms the partial product of
 * part k, X[:, a:b] W[a:b, :] (into Y for part 0, into a scratch buffer for
 * the others); the ranks meet; rank k sums the partials of block k of the
 * OUTPUT columns, in part order, then adds the bias and applies the unit (the
 * output layer: and the loss). Those columns are block k of the next layer's
 * input, which rank k therefore already holds: the next partial product needs
 * no meeting (the scratch buffers alternate between even and odd layers, so
 * no rank overwrites a partial still being summed). */
static void layer_forward(struct job *j, int l, const float *X, const uint16_t *X16, int rank,
                          int n_ranks, struct amx_nn_pool *pool)
{
    struct amx_autoencoder *ae = j->ae;
    struct amx_dense *d = &ae->layer[l];
    float *const *P = ae->partial[l & 1];
    const int B = j->B, In = d->in, Out = d->out;
    for (int k = rank; k < AMX_NN_SPLIT; k += n_ranks) {
        int a, b;
        amx_nn_block(In, k, &a, &b);
        amx_dense_forward(ae->precision, k == 0 ? d->Y : P[k - 1], X, X16, d->W, weights16(ae, d),
                          B, In, Out, a, b, 0, Out);
    }
    amx_nn_pool_barrier(pool, rank);
    for (int k = rank; k < AMX_NN_SPLIT; k += n_ranks) {
        int c0, c1;
        amx_nn_block(Out, k, &c0, &c1);
        amx_dense_forward_sum(d->Y, P, AMX_NN_SPLIT - 1, B, Out, c0, c1);
        if (l < ae->n_layers - 1) {
            uint16_t *Y16 = ae->acts16 ? act16(ae, d->Y) + c0 : NULL;
            amx_activation_forward(d->Y + c0, Y16, d->b + c0, Out, B, c1 - c0, d->unit);
        } else
            j->part[k] = output_block(j, d, c0, c1);
    }
}

/* Layer l backward, once its dZ (B x Out) is complete. Rank k computes
 * dW[a:b, :] = X[:, a:b]^T dZ and dX[:, a:b] = dZ W[a:b, :]^T for part k, and
 * turns the latter into the layer below's dZ[:, a:b] (times f', from outputs
 * it computed itself), then db over block k of the output columns (dZ's own
 * block: the columns it made the layer before). Layer 1 needs no dX. */
static void layer_backward(struct job *j, int l, const float *dZ, float *dX, int rank, int n_ranks)
{
    struct amx_autoencoder *ae = j->ae;
    struct amx_dense *d = &ae->layer[l];
    const struct amx_dense *below = l >= 1 ? &ae->layer[l - 1] : NULL;
    const float *X = below ? below->Y : j->x;
    const uint16_t *X16 = below ? act16(ae, below->Y) : ae->x16;
    const uint16_t *dZ16 = act16(ae, dZ);
    uint16_t *dX16 = below ? act16(ae, dX) : NULL;
    const int B = j->B, In = d->in, Out = d->out;
    for (int k = rank; k < AMX_NN_SPLIT; k += n_ranks) {
        int a, b, c0, c1;
        amx_nn_block(In, k, &a, &b);
        amx_dense_backward(ae->precision, below ? dX : NULL, d->dW, dZ, dZ16, X, X16, d->W,
                           weights16(ae, d), B, In, Out, a, b, 1.0f, 0.0f);
        if (below)
            amx_activation_backward(dX + a, dX16 ? dX16 + a : NULL, below->Y + a, In, B, b - a,
                                    below->unit);
        amx_nn_block(Out, k, &c0, &c1);
        amx_dense_backward_bias(d->db, dZ, B, Out, c0, c1);
    }
}

/* What one rank does: the forward through every layer (the output layer's
 * blocks on to the loss and dZ), then, for a training step, the backward
 * from the top, dZ and dX swapping buffers, the ranks meeting before each
 * layer so that its dZ is complete. */
static void step_job(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    struct job *j = ctx;
    struct amx_autoencoder *ae = j->ae;
    const int nd = ae->n_layers;
    const float *X = j->x;
    const uint16_t *X16 = ae->x16;
    if (X16) /* the batch's bf16 copy: each rank the input block its parts read */
        for (int k = rank; k < AMX_NN_SPLIT; k += n_ranks) {
            int a, b;
            amx_nn_block(ae->sizes[0], k, &a, &b);
            amx_nn_store_bf16(ae->x16 + a, X + a, ae->sizes[0], j->B, b - a);
        }
    for (int l = 0; l < nd; l++) {
        layer_forward(j, l, X, X16, rank, n_ranks, pool);
        X = ae->layer[l].Y;
        X16 = act16(ae, X);
    }
    if (j->kind != JOB_TRAIN) return;
    float *dZ = ae->delta[0], *dX = ae->delta[1];
    for (int l = nd - 1; l >= 0; l--) {
        amx_nn_pool_barrier(pool, rank); /* dZ complete */
        layer_backward(j, l, dZ, dX, rank, n_ranks);
        float *t = dZ;
        dZ = dX;
        dX = t;
    }
}

static double run_job(struct amx_autoencoder *ae, struct job *j)
{
    amx_nn_pool_run(ae->pool, step_job, j);
    double total = 0.0;
    for (int k = 0; k < AMX_NN_SPLIT; k++)
        total += j->part[k];
    return total;
}

const float *amx_autoencoder_forward(struct amx_autoencoder *ae, const float *x, int B)
{
    assert(B >= 1 && B <= ae->max_batch);
    struct job j = {.ae = ae, .x = x, .B = B, .kind = JOB_FORWARD};
    run_job(ae, &j);
    return ae->layer[ae->n_layers - 1].Y;
}

double amx_autoencoder_train_step(struct amx_autoencoder *ae, const float *x, int B,
                                  enum amx_loss loss)
{
    assert(B >= 1 && B <= ae->max_batch);
    if (amx_autoencoder_check_loss(ae, loss, NULL) != AMX_OK) return NAN;
    struct job j = {.ae = ae, .x = x, .B = B, .kind = JOB_TRAIN, .loss = loss};
    return run_job(ae, &j) / (double)B;
}

double amx_autoencoder_recon_error(struct amx_autoencoder *ae, const float *x, size_t n)
{
    if (n == 0) return 0.0;
    const int V = ae->sizes[0];
    double total = 0.0;
    for (size_t start = 0; start < n; start += (size_t)ae->max_batch) {
        size_t left = n - start;
        int B = left < (size_t)ae->max_batch ? (int)left : ae->max_batch;
        struct job j = {.ae = ae, .x = x + start * (size_t)V, .B = B, .kind = JOB_RECON};
        total += run_job(ae, &j);
    }
    return total / (double)n;
}

struct parts_job {
    void (*fn)(void *ctx, int part, int n_parts);
    void *ctx;
};

static void parts_job_fn(void *ctx, int rank, int n_ranks, struct amx_nn_pool *pool)
{
    (void)pool;
    struct parts_job *j = ctx;
    for (int k = rank; k < AMX_NN_SPLIT; k += n_ranks)
        j->fn(j->ctx, k, AMX_NN_SPLIT);
}

void amx_autoencoder_run_parts(struct amx_autoencoder *ae,
                               void (*fn)(void *ctx, int part, int n_parts), void *ctx)
{
    struct parts_job j = {fn, ctx};
    amx_nn_pool_run(ae->pool, parts_job_fn, &j);
}

enum amx_status amx_autoencoder_set_threads(struct amx_autoencoder *ae, int n,
                                            struct amx_error *err)
{
    if (n < 1) return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "threads must be >= 1 (got %d)", n);
    if (n > AMX_NN_SPLIT) n = AMX_NN_SPLIT;
    if (n == amx_nn_pool_size(ae->pool)) {
        ae->n_threads = n;
        return AMX_OK;
    }
    amx_nn_pool_destroy(ae->pool);
    ae->pool = NULL;
    ae->n_threads = 1;
    if (n == 1) return AMX_OK;
    enum amx_status st = amx_nn_pool_create(&ae->pool, n, err);
    if (st == AMX_OK) ae->n_threads = n;
    return st;
}

/* n bf16 values, zero, on a cache line (n <= AMX_NN_MAX_FLOATS, as every
 * slab here: the bytes cannot wrap). */
static uint16_t *alloc16(size_t n)
{
    size_t bytes = (n * sizeof(uint16_t) + 63) / 64 * 64;
    uint16_t *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

enum amx_status amx_autoencoder_set_precision(struct amx_autoencoder *ae,
                                              enum amx_precision precision, struct amx_error *err)
{
    const char *why = amx_blas_precision_unavailable(precision);
    if (why) return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "%s", why);
    if (precision == AMX_PRECISION_BF16 && !ae->params16) {
        uint16_t *p = alloc16(ae->n_params), *a = alloc16(ae->n_acts),
                 *x = alloc16((size_t)ae->max_batch * (size_t)ae->sizes[0]);
        if (!p || !a || !x) {
            free(p);
            free(a);
            free(x);
            return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                            "out of memory for the bf16 copies of an autoencoder of %zu parameters",
                            ae->n_params);
        }
        ae->params16 = p;
        ae->acts16 = a;
        ae->x16 = x;
    } else if (precision != AMX_PRECISION_BF16) {
        free(ae->params16);
        free(ae->acts16);
        free(ae->x16);
        ae->params16 = ae->acts16 = ae->x16 = NULL;
    }
    ae->precision = precision;
    amx_autoencoder_sync_bf16(ae);
    return AMX_OK;
}

void amx_autoencoder_sync_bf16(struct amx_autoencoder *ae)
{
    if (!ae->params16) return;
    for (int l = 0; l < ae->n_layers; l++) {
        const struct amx_dense *d = &ae->layer[l];
        amx_bf16_store(ae->params16 + (d->W - ae->params), d->W, (size_t)d->in * d->out);
    }
}
