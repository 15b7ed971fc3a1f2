/* The autoencoder, a row of the model table (model.h): the mirrored stack
 * of net.h, unrolled from the pretrained RBMs, measured by its
 * reconstruction error, drawing gallery.png (the first test images, their
 * reconstructions before fine-tuning and after it) and filters.png. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

static enum amx_status ae_init(struct amx_net *net, const struct amx_run_config *cfg, int classes,
                               struct amx_error *err)
{
    (void)classes;
    const struct amx_network_config *n = &cfg->network;
    return amx_autoencoder_init(net, n->layers, n->n_layers, n->hidden, n->code, n->output,
                                cfg->finetune.batch_size, err);
}

/* The top RBM's hidden units are the code's: linear or logistic. */
static bool ae_rbm_linear(const struct amx_run_config *cfg, int l, int n)
{
    return l == n - 1 && cfg->network.code == AMX_UNIT_LINEAR;
}

static enum amx_status ae_from_rbms(struct amx_net *net, const struct amx_rbm *rbms, int n,
                                    const struct amx_run_config *cfg, struct amx_rng *init,
                                    struct amx_error *err)
{
    (void)cfg;
    (void)init; /* the stack gives every weight */
    return amx_autoencoder_from_rbms(net, rbms, n, err);
}

/* The gallery: the first test images and their reconstructions, before
 * fine-tuning (first) and after it (last). */
struct gallery {
    size_t n, dim;
    float *first, *last;
};

static void reconstruct(struct amx_net *net, const float *x, size_t n, size_t dim, float *out)
{
    size_t step = (size_t)net->max_batch;
    for (size_t s = 0; s < n; s += step) {
        size_t B = n - s < step ? n - s : step;
        const float *y = amx_net_forward(net, x + s * dim, (int)B);
        memcpy(out + s * dim, y, sizeof(float) * B * dim);
    }
}

static enum amx_status ae_pictures_before(struct amx_model *m, const struct amx_run_data *d,
                                          struct amx_error *err)
{
    struct gallery *g = calloc(1, sizeof *g);
    if (!g) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    g->n = d->test.n < 16 ? d->test.n : 16;
    g->dim = d->test.dim;
    g->first = malloc(2 * sizeof(float) * (g->n ? g->n : 1) * g->dim);
    if (!g->first) {
        free(g);
        return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    g->last = g->first + g->n * g->dim;
    reconstruct(&m->net, d->test.x, g->n, g->dim, g->first);
    m->pictures = g;
    return AMX_OK;
}

static enum amx_status ae_pictures_after(struct amx_model *m, const struct amx_run_data *d,
                                         const char *run_dir, struct amx_error *err)
{
    struct gallery *g = m->pictures;
    if (!g) return AMX_OK;
    reconstruct(&m->net, d->test.x, g->n, g->dim, g->last);
    enum amx_status st = amx_write_gallery(run_dir, d->test.x, g->first, g->last, g->n,
                                           d->test.rows, d->test.cols, err);
    if (st == AMX_OK) st = amx_write_filters(run_dir, &m->net, d->test.rows, d->test.cols, err);
    return st;
}

static void ae_pictures_free(struct amx_model *m)
{
    struct gallery *g = m->pictures;
    if (g) free(g->first);
    free(g);
    m->pictures = NULL;
}

const struct amx_model_kind amx_model_autoencoder = {
    .task = AMX_TASK_AUTOENCODER,
    .n_metrics = 1,
    .metric = {"error"},
    .init = ae_init,
    .rbm_linear = ae_rbm_linear,
    .from_rbms = ae_from_rbms,
    .pictures_before = ae_pictures_before,
    .pictures_after = ae_pictures_after,
    .pictures_free = ae_pictures_free,
};
