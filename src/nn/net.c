/* The fine-tuned networks (net.h): a stack of dense layers over one
 * parameter slab (weights then biases, layer by layer) and one gradient slab
 * of identical layout, with every activation and backward buffer allocated
 * at init for a maximum batch, so a training step allocates nothing. Two
 * shapes are built here, an autoencoder (the mirrored stack; its target is
 * its input) and a classifier (a stack under a softmax layer; its target is
 * a label); after init they share every line below: the output layer's unit
 * says which loss kernel closes the forward pass. Initialisation is random
 * or from a pretrained RBM stack (an autoencoder unrolls it, its decoder the
 * transposes copied once and then untied; a classifier stacks it under a
 * random softmax layer).
 *
 * train_step is forward + loss + backward into the gradient slab, layer by
 * layer a sequence of the kernels of kernels.h (amx_dense_*,
 * amx_activation_*, the loss's pair), the ones tests/check_nn_*.c check; the
 * update itself belongs to the optimiser (src/optim), and the loop over
 * epochs and batches to the run module. A step, a forward pass and an
 * evaluation are cut into the fixed parts of AMX_NN_SPLIT (kernels.h) and
 * run on the network's own thread pool when it has one
 * (amx_net_set_threads); amx_net_tensor_part and amx_net_run_parts let the
 * caller's update follow the same parts on the same threads. */
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

/* The layers of a network: layer l maps in[l] -> out[l] with unit[l]. */
struct shape {
    int n;
    int in[AMX_NN_MAX_DENSE], out[AMX_NN_MAX_DENSE];
    enum amx_unit unit[AMX_NN_MAX_DENSE];
};

static enum amx_status check_sizes(const int *layers, int n_layers, int min_layers,
                                   const char *what, int max_batch, struct amx_error *err)
{
    if (n_layers < min_layers || n_layers > AMX_MAX_LAYERS)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "%s needs between %d and %d layer sizes (got %d)", what, min_layers,
                        AMX_MAX_LAYERS, n_layers);
    if (max_batch < 1)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "batch size must be >= 1 (got %d)",
                        max_batch);
    for (int i = 0; i < n_layers; i++)
        if (layers[i] < 1)
            return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0, "layer size %d must be >= 1 (got %d)",
                            i + 1, layers[i]);
    return AMX_OK;
}

/* Allocates the slabs of the layers of sh and carves them (sizes, classes:
 * what the caller was given, kept for from_rbms and the input copy). */
static enum amx_status net_init(struct amx_net *ae, const struct shape *sh, const int *layers,
                                int n_layers, int classes, int max_batch, struct amx_error *err)
{
    const int nd = sh->n;
    int widest = 0;
    for (int l = 0; l < nd; l++) {
        if (sh->in[l] > widest) widest = sh->in[l];
        if (sh->out[l] > widest) widest = sh->out[l];
    }
    size_t n_params = 0, n_acts = 0, n_delta = 0, n_slab = 0;
    bool fits = true;
    for (int l = 0; l < nd && fits; l++) {
        size_t act = 0;
        fits = amx_nn_size_add_mul(&n_params, (size_t)sh->in[l], (size_t)sh->out[l]) &&
               amx_nn_size_add_mul(&n_params, (size_t)sh->out[l], 1) &&
               amx_nn_size_add_mul(&act, (size_t)max_batch, (size_t)sh->out[l]) &&
               act <= SIZE_MAX - 16 && amx_nn_size_add_mul(&n_acts, round16(act), 1);
    }
    /* delta[0], delta[1], and two sets of AMX_NN_SPLIT - 1 partial products */
    fits = fits && amx_nn_size_add_mul(&n_delta, (size_t)max_batch, (size_t)widest) &&
           n_delta <= SIZE_MAX - 16 &&
           amx_nn_size_add_mul(&n_slab, 2 + 2 * (size_t)(AMX_NN_SPLIT - 1), round16(n_delta)) &&
           amx_nn_size_add_mul(&n_slab, n_acts, 1) && n_params <= AMX_NN_MAX_FLOATS &&
           n_slab <= AMX_NN_MAX_FLOATS;
    if (!fits)
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                        "a network of these layer sizes and batch %d does not fit in memory "
                        "(the size of its slabs overflows)",
                        max_batch);
    n_delta = round16(n_delta);
    ae->params = zalloc64(n_params);
    ae->grads = zalloc64(n_params);
    ae->acts = zalloc64(n_slab); /* the activations, then the deltas and partials */
    if (!ae->params || !ae->grads || !ae->acts) {
        amx_net_free(ae);
        return amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                        "out of memory for a network of %zu parameters", n_params);
    }

    ae->n_sizes = n_layers;
    memcpy(ae->sizes, layers, sizeof(int) * (size_t)n_layers);
    ae->classes = classes;
    ae->n_layers = nd;
    ae->max_batch = max_batch;
    ae->n_params = n_params;
    ae->n_acts = n_slab;
    ae->n_threads = 1;
    size_t off = 0;
    float *act = ae->acts;
    for (int l = 0; l < nd; l++) {
        struct amx_dense *d = &ae->layer[l];
        d->in = sh->in[l];
        d->out = sh->out[l];
        d->unit = sh->unit[l];
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

enum amx_status amx_autoencoder_init(struct amx_net *ae, const int *layers, int n_layers,
                                     enum amx_unit hidden, enum amx_unit code, enum amx_unit output,
                                     int max_batch, struct amx_error *err)
{
    memset(ae, 0, sizeof *ae);
    enum amx_status st = check_sizes(layers, n_layers, 2, "an autoencoder", max_batch, err);
    if (st != AMX_OK) return st;
    if (hidden == AMX_UNIT_SOFTMAX || code == AMX_UNIT_SOFTMAX || output == AMX_UNIT_SOFTMAX)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "softmax units are a classifier's output layer only, not an "
                        "autoencoder's");
    const int L = n_layers;
    struct shape sh = {.n = 2 * (L - 1)};
    for (int l = 0; l < sh.n; l++) {
        /* encoder layer l maps s_l -> s_{l+1}; decoder layer l maps back */
        sh.in[l] = l < L - 1 ? layers[l] : layers[sh.n - l];
        sh.out[l] = l < L - 1 ? layers[l + 1] : layers[sh.n - l - 1];
        sh.unit[l] = l == sh.n - 1 ? output : l == L - 2 ? code : hidden;
    }
    return net_init(ae, &sh, layers, n_layers, 0, max_batch, err);
}

enum amx_status amx_classifier_init(struct amx_net *ae, const int *layers, int n_layers,
                                    enum amx_unit hidden, int classes, int max_batch,
                                    struct amx_error *err)
{
    memset(ae, 0, sizeof *ae);
    enum amx_status st = check_sizes(layers, n_layers, 1, "a classifier", max_batch, err);
    if (st != AMX_OK) return st;
    if (classes < 2 || classes > 256)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "a classifier needs between 2 and 256 classes (got %d)", classes);
    if (hidden == AMX_UNIT_SOFTMAX)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "softmax units are the output layer's only, not hidden units");
    struct shape sh = {.n = n_layers};
    for (int l = 0; l < sh.n; l++) {
        sh.in[l] = layers[l];
        sh.out[l] = l < n_layers - 1 ? layers[l + 1] : classes;
        sh.unit[l] = l < n_layers - 1 ? hidden : AMX_UNIT_SOFTMAX;
    }
    return net_init(ae, &sh, layers, n_layers, classes, max_batch, err);
}

void amx_net_free(struct amx_net *ae)
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

void amx_net_init_random(struct amx_net *ae, double init_std, struct amx_rng *rng)
{
    for (int l = 0; l < ae->n_layers; l++) {
        struct amx_dense *d = &ae->layer[l];
        size_t n = (size_t)d->in * d->out;
        for (size_t i = 0; i < n; i++)
            d->W[i] = (float)(init_std * amx_rng_normal(rng));
        memset(d->b, 0, sizeof(float) * (size_t)d->out);
    }
    amx_net_sync_bf16(ae);
}

/* The n RBMs of a stack match the sizes s_0..s_{L-1}: n == L-1, RBM i is
 * s_i x s_{i+1}. */
static enum amx_status check_rbms(const struct amx_net *ae, const struct amx_rbm *rbms, int n,
                                  struct amx_error *err)
{
    const int L = ae->n_sizes;
    if (n != L - 1)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "unrolling needs %d RBMs for %d layer sizes (got %d)", L - 1, L, n);
    for (int i = 0; i < n; i++)
        if (rbms[i].V != ae->sizes[i] || rbms[i].H != ae->sizes[i + 1])
            return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                            "RBM %d is %d x %d but layers %d and %d have sizes %d and %d", i + 1,
                            rbms[i].V, rbms[i].H, i + 1, i + 2, ae->sizes[i], ae->sizes[i + 1]);
    return AMX_OK;
}

enum amx_status amx_autoencoder_from_rbms(struct amx_net *ae, const struct amx_rbm *rbms, int n,
                                          struct amx_error *err)
{
    const int nd = ae->n_layers;
    if (ae->classes)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "a classifier is not unrolled: use amx_classifier_from_rbms");
    enum amx_status st = check_rbms(ae, rbms, n, err);
    if (st != AMX_OK) return st;
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
    amx_net_sync_bf16(ae);
    return AMX_OK;
}

enum amx_status amx_classifier_from_rbms(struct amx_net *ae, const struct amx_rbm *rbms, int n,
                                         double init_std, struct amx_rng *rng,
                                         struct amx_error *err)
{
    if (!ae->classes)
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "an autoencoder is unrolled: use amx_autoencoder_from_rbms");
    enum amx_status st = check_rbms(ae, rbms, n, err);
    if (st != AMX_OK) return st;
    for (int i = 0; i < n; i++) {
        struct amx_dense *d = &ae->layer[i];
        memcpy(d->W, rbms[i].W, sizeof(float) * (size_t)d->in * d->out);
        memcpy(d->b, rbms[i].bh, sizeof(float) * (size_t)d->out);
    }
    struct amx_dense *top = &ae->layer[ae->n_layers - 1];
    size_t nw = (size_t)top->in * top->out;
    for (size_t i = 0; i < nw; i++)
        top->W[i] = (float)(init_std * amx_rng_normal(rng));
    memset(top->b, 0, sizeof(float) * (size_t)top->out);
    amx_net_sync_bf16(ae);
    return AMX_OK;
}

size_t amx_net_tensors(const struct amx_net *ae, struct amx_param_tensor *out)
{
    if (out) {
        const int L = ae->n_sizes;
        const bool classifier = ae->classes > 0;
        for (int l = 0; l < ae->n_layers; l++) {
            const struct amx_dense *d = &ae->layer[l];
            for (int kind = 0; kind < 2; kind++) {
                struct amx_param_tensor *t = &out[2 * l + kind];
                memset(t, 0, sizeof *t);
                snprintf(t->name, sizeof t->name, "layer%d.%s", l + 1, kind ? "biases" : "weights");
                t->layer = l + 1;
                t->is_bias = kind == 1;
                t->part = classifier  ? (l == ae->n_layers - 1 ? "softmax" : NULL)
                          : l < L - 1 ? "encoder"
                                      : "decoder";
                t->theta = kind ? d->b : d->W;
                t->grad = kind ? d->db : d->dW;
                t->n = kind ? (size_t)d->out : (size_t)d->in * d->out;
                t->theta16 = !kind && ae->params16 ? ae->params16 + (d->W - ae->params) : NULL;
            }
        }
    }
    return 2 * (size_t)ae->n_layers;
}

size_t amx_net_tensor_part(const struct amx_net *ae, int part, int n_parts,
                           struct amx_param_tensor *out)
{
    if (n_parts != AMX_NN_SPLIT || part < 0 || part >= n_parts) return 0;
    size_t nt = amx_net_tensors(ae, out);
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

enum amx_status amx_net_check_loss(const struct amx_net *ae, enum amx_loss loss,
                                   struct amx_error *err)
{
    enum amx_unit out = ae->layer[ae->n_layers - 1].unit;
    if (out == AMX_UNIT_SOFTMAX) {
        if (loss == AMX_LOSS_CROSS_ENTROPY) return AMX_OK;
        return amx_fail(err, AMX_ERR_CONFIG, NULL, 0, 0,
                        "a classifier's softmax output is trained with loss cross_entropy only "
                        "(got squared_error)");
    }
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
 * optimiser's part k (amx_net_tensor_part), so that the rank that
 * updates them is the one that computes them and they stay in its cache;
 * only activations (B x width) cross between ranks. */

enum job_kind {
    JOB_FORWARD, /* every layer with its unit: the output */
    JOB_EVAL,    /* the same, plus the measure per block: the squared error against
                    the input, or the cross-entropy and the misclassified rows */
    JOB_TRAIN    /* forward, loss, backward into the gradient slab */
};

/* The output layer's blocks are blocks of its columns, but a softmax
 * layer's are blocks of the batch's rows (softmax.c: a row's softmax needs
 * all of it); either way block k is done by the rank of part k. */
struct job {
    struct amx_net *ae;
    const float *x;           /* B x s_0 */
    struct amx_target target; /* what the output is measured against */
    int B;
    enum job_kind kind;
    enum amx_loss loss;
    double part[AMX_NN_SPLIT]; /* per output block: loss or squared error */
    long wrong[AMX_NN_SPLIT];  /* per output block of a softmax: misclassified rows */
};

/* The bf16 copy of p, a matrix in the activation slab (an activation, a
 * delta); NULL at fp32. */
static uint16_t *act16(const struct amx_net *ae, const float *p)
{
    if (!ae->acts16) return NULL;
    assert(p >= ae->acts && p < ae->acts + ae->n_acts);
    return ae->acts16 + (p - ae->acts);
}

/* The bf16 copy of layer d's weights; NULL at fp32. */
static const uint16_t *weights16(const struct amx_net *ae, const struct amx_dense *d)
{
    return ae->params16 ? ae->params16 + (d->W - ae->params) : NULL;
}

/* The output layer's columns [c0, c1), its product summed: the unit and,
 * but for JOB_FORWARD, the loss (JOB_EVAL: the squared error); with
 * JOB_TRAIN the loss's gradient dZ[:, c0:c1] into delta[0]. Cross-entropy
 * computes its sigmoid from the logits itself. Returns the block's sum. */
static double output_block(struct job *j, struct amx_dense *d, int c0, int c1)
{
    const int B = j->B, w = c1 - c0, V = d->out;
    const float *x = j->target.x + c0, *bias = d->b + c0;
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

/* A softmax output layer's rows [r0, r1), every column: the partial
 * products summed (the same additions, in the same part order, as a column
 * block would make), then softmax, cross-entropy and, with JOB_TRAIN, dZ.
 * Returns the block's cross-entropy sum; counts its misclassified rows. */
static double softmax_block(struct job *j, struct amx_dense *d, float *const *P, int r0, int r1,
                            long *wrong)
{
    const int C = d->out, n = r1 - r0;
    if (n <= 0) return 0.0;
    const size_t off = (size_t)r0 * (size_t)C;
    float *Pr[AMX_NN_SPLIT > 1 ? AMX_NN_SPLIT - 1 : 1];
    for (int k = 0; k < AMX_NN_SPLIT - 1; k++)
        Pr[k] = P[k] + off;
    float *Y = d->Y + off;
    amx_dense_forward_sum(Y, Pr, AMX_NN_SPLIT - 1, n, C, 0, C);
    const uint8_t *labels = j->kind == JOB_FORWARD ? NULL : j->target.labels + r0;
    double loss = amx_softmax_cross_entropy_forward(Y, d->b, labels, C, n, C, wrong);
    if (j->kind == JOB_TRAIN) {
        float *dZ = j->ae->delta[0] + off;
        uint16_t *dZ16 = j->ae->acts16 ? act16(j->ae, j->ae->delta[0]) + off : NULL;
        amx_softmax_cross_entropy_backward(dZ, dZ16, Y, labels, C, n, C, j->B);
    }
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
    struct amx_net *ae = j->ae;
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
    if (d->unit == AMX_UNIT_SOFTMAX) { /* the output layer of a classifier */
        for (int k = rank; k < AMX_NN_SPLIT; k += n_ranks) {
            int r0, r1;
            amx_nn_block(B, k, &r0, &r1);
            j->part[k] = softmax_block(j, d, P, r0, r1, &j->wrong[k]);
        }
        return;
    }
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
    struct amx_net *ae = j->ae;
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
    struct amx_net *ae = j->ae;
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

static double run_job(struct amx_net *ae, struct job *j)
{
    amx_nn_pool_run(ae->pool, step_job, j);
    double total = 0.0;
    for (int k = 0; k < AMX_NN_SPLIT; k++)
        total += j->part[k];
    return total;
}

const float *amx_net_forward(struct amx_net *ae, const float *x, int B)
{
    assert(B >= 1 && B <= ae->max_batch);
    struct job j = {.ae = ae, .x = x, .B = B, .kind = JOB_FORWARD};
    run_job(ae, &j);
    return ae->layer[ae->n_layers - 1].Y;
}

/* Whether the target the output layer reads is there. */
static bool has_target(const struct amx_net *ae, const struct amx_target *t)
{
    return t && (ae->classes ? t->labels != NULL : t->x != NULL);
}

double amx_net_train_step(struct amx_net *ae, const float *x, const struct amx_target *target,
                          int B, enum amx_loss loss)
{
    assert(B >= 1 && B <= ae->max_batch);
    if (amx_net_check_loss(ae, loss, NULL) != AMX_OK || !has_target(ae, target)) return NAN;
    struct job j = {.ae = ae, .x = x, .target = *target, .B = B, .kind = JOB_TRAIN, .loss = loss};
    return run_job(ae, &j) / (double)B;
}

double amx_autoencoder_train_step(struct amx_net *ae, const float *x, int B, enum amx_loss loss)
{
    struct amx_target t = {.x = x};
    return amx_net_train_step(ae, x, &t, B, loss);
}

void amx_net_evaluate(struct amx_net *ae, const float *x, const uint8_t *labels, size_t n,
                      struct amx_eval *out)
{
    out->error = 0.0;
    out->loss = ae->classes ? 0.0 : NAN;
    if (n == 0) return;
    const int V = ae->sizes[0];
    double total = 0.0;
    long wrong = 0;
    for (size_t start = 0; start < n; start += (size_t)ae->max_batch) {
        size_t left = n - start;
        int B = left < (size_t)ae->max_batch ? (int)left : ae->max_batch;
        const float *xb = x + start * (size_t)V;
        struct job j = {.ae = ae, .x = xb, .B = B, .kind = JOB_EVAL};
        if (ae->classes)
            j.target.labels = labels + start;
        else
            j.target.x = xb;
        total += run_job(ae, &j);
        for (int k = 0; k < AMX_NN_SPLIT; k++)
            wrong += j.wrong[k];
    }
    if (ae->classes) {
        out->error = 100.0 * (double)wrong / (double)n;
        out->loss = total / (double)n;
    } else {
        out->error = total / (double)n;
    }
}

double amx_autoencoder_recon_error(struct amx_net *ae, const float *x, size_t n)
{
    struct amx_eval e;
    amx_net_evaluate(ae, x, NULL, n, &e);
    return e.error;
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

void amx_net_run_parts(struct amx_net *ae, void (*fn)(void *ctx, int part, int n_parts), void *ctx)
{
    struct parts_job j = {fn, ctx};
    amx_nn_pool_run(ae->pool, parts_job_fn, &j);
}

enum amx_status amx_net_set_threads(struct amx_net *ae, int n, struct amx_error *err)
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

enum amx_status amx_net_set_precision(struct amx_net *ae, enum amx_precision precision,
                                      struct amx_error *err)
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
    amx_net_sync_bf16(ae);
    return AMX_OK;
}

void amx_net_sync_bf16(struct amx_net *ae)
{
    if (!ae->params16) return;
    for (int l = 0; l < ae->n_layers; l++) {
        const struct amx_dense *d = &ae->layer[l];
        amx_bf16_store(ae->params16 + (d->W - ae->params), d->W, (size_t)d->in * d->out);
    }
}
