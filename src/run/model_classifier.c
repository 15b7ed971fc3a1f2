/* The classifier, a row of the model table (model.h): a stack under a
 * softmax layer (net.h), its hidden layers from the pretrained RBMs (a deep
 * belief net's) and its softmax layer N(0, init_std^2), measured by its
 * classification error (%) and mean cross-entropy. Its first repeat draws
 * filters.png, the test set's confusion matrix (confusion.csv and .png) and
 * the first misclassified test images (misclassified.png and .csv). */
#include "model.h"

#include "adamix/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum amx_status cls_init(struct amx_net *net, const struct amx_run_config *cfg, int classes,
                                struct amx_error *err)
{
    const struct amx_network_config *n = &cfg->network;
    return amx_classifier_init(net, n->layers, n->n_layers, n->hidden, classes,
                               cfg->finetune.batch_size, err);
}

/* A deep belief net's RBMs are all logistic. */
static bool cls_rbm_linear(const struct amx_run_config *cfg, int l, int n)
{
    (void)cfg;
    (void)l;
    (void)n;
    return false;
}

static enum amx_status cls_from_rbms(struct amx_net *net, const struct amx_rbm *rbms, int n,
                                     const struct amx_run_config *cfg, struct amx_rng *init,
                                     struct amx_error *err)
{
    return amx_classifier_from_rbms(net, rbms, n, cfg->pretrain.init_std, init, err);
}

#define MAX_SHOWN 32 /* misclassified test images drawn */

static enum amx_status write_csv(const char *dir, const char *name, const struct amx_buf *b,
                                 struct amx_error *err)
{
    char path[AMX_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (b->failed) return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    return amx_write_file_atomic(path, b->data ? b->data : "", b->len, err);
}

/* The predicted class of each test image (the first largest probability),
 * the confusion counts (true x predicted) and the first misclassified
 * images, written into the run folder. */
static enum amx_status cls_pictures_after(struct amx_model *m, const struct amx_run_data *d,
                                          const char *run_dir, struct amx_error *err)
{
    struct amx_net *net = &m->net;
    const int C = net->classes;
    const size_t n = d->test.n, dim = d->test.dim;
    long *counts = calloc((size_t)C * (size_t)C, sizeof *counts);
    float *shown = malloc(sizeof *shown * MAX_SHOWN * (dim ? dim : 1));
    struct amx_buf conf = {0}, mis = {0};
    enum amx_status st = AMX_OK;
    if (!counts || !shown) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto done;
    }
    amx_buf_printf(&mis, "index,label,predicted\n");
    size_t n_shown = 0, step = (size_t)net->max_batch;
    for (size_t s = 0; s < n; s += step) {
        size_t B = n - s < step ? n - s : step;
        const float *p = amx_net_forward(net, d->test.x + s * dim, (int)B);
        for (size_t r = 0; r < B; r++) {
            const float *row = p + r * (size_t)C;
            int best = 0;
            for (int j = 1; j < C; j++)
                if (row[j] > row[best]) best = j;
            int label = d->test_labels[s + r];
            counts[(size_t)label * C + best]++;
            if (best != label && n_shown < MAX_SHOWN) {
                memcpy(shown + n_shown * dim, d->test.x + (s + r) * dim, sizeof(float) * dim);
                amx_buf_printf(&mis, "%zu,%d,%d\n", s + r, label, best);
                n_shown++;
            }
        }
    }
    /* confusion.csv: a header of the predicted classes, a row per true class */
    amx_buf_printf(&conf, "label");
    for (int j = 0; j < C; j++)
        amx_buf_printf(&conf, ",%d", j);
    amx_buf_printf(&conf, "\n");
    for (int t = 0; t < C; t++) {
        amx_buf_printf(&conf, "%d", t);
        for (int j = 0; j < C; j++)
            amx_buf_printf(&conf, ",%ld", counts[(size_t)t * C + j]);
        amx_buf_printf(&conf, "\n");
    }
    st = amx_write_filters(run_dir, net, d->test.rows, d->test.cols, err);
    if (st == AMX_OK) st = write_csv(run_dir, "confusion.csv", &conf, err);
    if (st == AMX_OK) st = amx_write_confusion_png(run_dir, counts, C, err);
    if (st == AMX_OK) st = write_csv(run_dir, "misclassified.csv", &mis, err);
    if (st == AMX_OK)
        st = amx_write_image_row(run_dir, "misclassified.png", shown, n_shown, d->test.rows,
                                 d->test.cols, err);
done:
    amx_buf_free(&conf);
    amx_buf_free(&mis);
    free(shown);
    free(counts);
    return st;
}

const struct amx_model_kind amx_model_classifier = {
    .task = AMX_TASK_CLASSIFIER,
    .n_metrics = 2,
    .metric = {"error", "loss"},
    .init = cls_init,
    .rbm_linear = cls_rbm_linear,
    .from_rbms = cls_from_rbms,
    .pictures_after = cls_pictures_after,
};
