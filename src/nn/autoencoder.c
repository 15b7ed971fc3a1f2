/* The unrolled deep autoencoder: 2(L-1) dense layers over one parameter slab
 * (weights then biases, layer by layer) and one gradient slab of identical
 * layout, with every activation and backward buffer allocated at init for a
 * maximum batch, so a training step allocates nothing. Initialisation is
 * either random or the unrolling of a pretrained RBM stack (decoder = the
 * transposes, copied once, then untied).
 *
 * train_step is forward + loss + backward into the gradient slab; the update
 * itself belongs to the optimiser (src/optim), and the loop over epochs and
 * batches to the run module. */
#include "adamix/nn.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    size_t n_params = 0, n_acts = 0;
    for (int l = 0; l < nd; l++) {
        /* encoder layer l maps s_l -> s_{l+1}; decoder layer l maps back */
        int in = l < L - 1 ? layers[l] : layers[nd - l];
        int out = l < L - 1 ? layers[l + 1] : layers[nd - l - 1];
        n_params += (size_t)in * out + (size_t)out;
        n_acts += (size_t)max_batch * out;
    }
    size_t n_delta = (size_t)max_batch * widest;
    ae->params = calloc(n_params, sizeof(float));
    ae->grads = calloc(n_params, sizeof(float));
    ae->acts = calloc(n_acts + 2 * n_delta, sizeof(float));
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
        act += (size_t)max_batch * d->out;
    }
    ae->delta[0] = act;
    ae->delta[1] = act + n_delta;
    return AMX_OK;
}

void amx_autoencoder_free(struct amx_autoencoder *ae)
{
    free(ae->params);
    free(ae->grads);
    free(ae->acts);
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
            }
        }
    }
    return 2 * (size_t)ae->n_layers;
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

