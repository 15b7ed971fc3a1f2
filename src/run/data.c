/* The images of one data configuration: the training file (first train_limit
 * images, the last `validation` of them held out) and the test file. Loaded
 * once by the parent process; forked workers share them copy-on-write. Also
 * the checks of a configuration against its images, made here from the
 * pixels read and, for `adamix-run validate`, from the files' headers alone
 * (amx_experiment_check_data). */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"
#include "adamix/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void join(char *out, size_t size, const char *dir, const char *file)
{
    if (file[0] == '/' || dir[0] == '\0')
        snprintf(out, size, "%s", file);
    else
        snprintf(out, size, "%s/%s", dir, file);
}

/* A missing file in the folder of a data set fetched by name: say how to
 * get it there (tools/get-data.sh). */
static void hint_fetch(const struct amx_data_config *dc, enum amx_status st, struct amx_error *err)
{
    static const char *const sets[] = {"mnist", "mnist-10k", "fashion-mnist"};
    if (st != AMX_ERR_DATA || !strstr(err->msg, "No such file")) return;
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        char folder[64];
        snprintf(folder, sizeof folder, "data/%s", sets[i]);
        if (strcmp(dc->dir, folder) != 0) continue;
        if (i == 0) /* the default data: the message every earlier version gave */
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                     " (run tools/get-mnist.sh to fetch MNIST into data/mnist)");
        else
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                     " (run tools/get-data.sh %s to fetch it into %s)", sets[i], folder);
    }
}

/* The checks of a configuration against the shape and count of its images
 * (tr: the training file with its limit, te: the test file), whether the
 * pixels were read (amx_run_data_load) or only the headers
 * (amx_experiment_check_data): one place, so `validate` and a run say the
 * same. Errors of the experiment point at its key. */
static enum amx_status check_images(const struct amx_run_config *cfg, const char *train,
                                    const struct amx_idx_header *tr, const char *test,
                                    const struct amx_idx_header *te, struct amx_error *err)
{
    const struct amx_data_config *dc = &cfg->data;
    /* The first layer must equal the image size: an error of the experiment,
     * so it points at the `layers` line. */
    if ((size_t)cfg->network.layers[0] != tr->dim) {
        const char *where = cfg->network.layers_file[0] ? cfg->network.layers_file : cfg->file;
        return amx_fail(err, AMX_ERR_CONFIG, where, cfg->network.layers_line,
                        cfg->network.layers_col,
                        "network.layers starts with %d but the images of %s have %zu pixels "
                        "(%zux%zu); expected layers: [%zu, ...]",
                        cfg->network.layers[0], train, tr->dim, tr->rows, tr->cols, tr->dim);
    }
    if (te->rows != tr->rows || te->cols != tr->cols)
        return amx_fail(err, AMX_ERR_DATA, test, 0, 0,
                        "test images are %zux%zu but the training images %zux%zu (of %s): a "
                        "network is tested on images of the shape it was trained on",
                        te->rows, te->cols, tr->rows, tr->cols, train);
    if ((size_t)dc->validation >= tr->n)
        return amx_fail(err, AMX_ERR_CONFIG,
                        dc->validation_file[0] ? dc->validation_file : cfg->file,
                        dc->validation_line, dc->validation_col,
                        "data.validation is %ld but %s gives only %zu training images; expected "
                        "fewer validation images than that",
                        dc->validation, train, tr->n);
    return AMX_OK;
}

/* evaluation.train_subset at most the images left to train on. */
static enum amx_status check_subset(const struct amx_run_config *cfg, size_t n_train,
                                    size_t n_valid, const char *train, struct amx_error *err)
{
    const struct amx_evaluation_config *ev = &cfg->evaluation;
    if (ev->train_subset < 0 || (size_t)ev->train_subset <= n_train) return AMX_OK;
    return amx_fail(err, AMX_ERR_CONFIG,
                    ev->train_subset_file[0] ? ev->train_subset_file : cfg->file,
                    ev->train_subset_line, ev->train_subset_col,
                    "evaluation.train_subset is %ld but there are only %zu training images (%s, "
                    "less %zu held out for validation); expected at most %zu",
                    ev->train_subset, n_train, train, n_valid, n_train);
}

static struct amx_idx_header header_of(const struct amx_images *im)
{
    struct amx_idx_header h = {
        .n_file = im->n, .n = im->n, .rows = im->rows, .cols = im->cols, .dim = im->dim};
    return h;
}

/* Images stored column by column (EMNIST): each image transposed in place,
 * so that row-major rows x cols reads as the picture. */
static enum amx_status transpose_images(struct amx_images *im, struct amx_error *err)
{
    size_t r = im->rows, c = im->cols;
    float *tmp = malloc(sizeof *tmp * im->dim);
    if (!tmp) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory transposing images");
    for (size_t k = 0; k < im->n; k++) {
        float *x = im->x + k * im->dim;
        /* stored as c rows of r: pixel (i, j) of the picture is at j * r + i */
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++)
                tmp[i * c + j] = x[j * r + i];
        memcpy(x, tmp, sizeof *tmp * im->dim);
    }
    free(tmp);
    return AMX_OK;
}

/* One label file beside its images: the whole file read (its count must be
 * the images file's, so that the two belong together), the first n kept,
 * label_offset subtracted (a label below it is an error). *max: the
 * largest label kept. */
static enum amx_status load_labels(const struct amx_data_config *dc, const char *images,
                                   const char *path, size_t n, uint8_t **out, char sha[65],
                                   int *max, struct amx_error *err)
{
    struct amx_idx_header h;
    uint8_t *labels = NULL;
    size_t n_labels = 0;
    enum amx_status st = amx_idx_read_images_header(images, 0, &h, err);
    if (st == AMX_OK) st = amx_idx_read_labels(path, 0, &labels, &n_labels, err);
    if (st == AMX_OK) st = amx_idx_check_pair(images, h.n_file, path, n_labels, err);
    if (st == AMX_OK) st = amx_file_sha256(path, sha, err);
    for (size_t i = 0; i < n && st == AMX_OK; i++) {
        if (labels[i] < dc->label_offset) {
            st = amx_fail(err, AMX_ERR_DATA, path, 0, 0,
                          "label %u of item %zu is below data.label_offset %d; expected labels "
                          "from %d",
                          labels[i], i, dc->label_offset, dc->label_offset);
            break;
        }
        labels[i] = (uint8_t)(labels[i] - dc->label_offset);
        if (labels[i] > *max) *max = labels[i];
    }
    if (st != AMX_OK) {
        free(labels);
        return st;
    }
    *out = labels;
    return AMX_OK;
}

int amx_run_data_classes(const struct amx_run_config *cfg, const struct amx_run_data *d)
{
    return cfg->network.classes > 0 ? cfg->network.classes : d->max_label + 1;
}

enum amx_status amx_run_data_load(const struct amx_run_config *cfg, struct amx_run_data *d,
                                  struct amx_error *err)
{
    memset(d, 0, sizeof *d);
    const struct amx_data_config *dc = &cfg->data;
    char *train = d->train_path, *test = d->test_path;
    join(train, sizeof d->train_path, dc->dir, dc->train);
    join(test, sizeof d->test_path, dc->dir, dc->test);
    enum amx_status st = amx_idx_read_images(train, dc->train_limit, &d->train_all, err);
    if (st == AMX_OK) st = amx_idx_read_images(test, dc->test_limit, &d->test, err);
    if (st != AMX_OK) {
        hint_fetch(dc, st, err);
        amx_images_free(&d->train_all);
        amx_images_free(&d->test);
        return st;
    }
    if (dc->transpose) {
        st = transpose_images(&d->train_all, err);
        if (st == AMX_OK) st = transpose_images(&d->test, err);
    }
    struct amx_idx_header tr = header_of(&d->train_all), te = header_of(&d->test);
    if (st == AMX_OK) st = check_images(cfg, train, &tr, test, &te, err);
    if (st == AMX_OK && cfg->network.task == AMX_TASK_CLASSIFIER) {
        join(d->train_labels_path, sizeof d->train_labels_path, dc->dir, dc->train_labels);
        join(d->test_labels_path, sizeof d->test_labels_path, dc->dir, dc->test_labels);
        d->max_label = 0;
        st = load_labels(dc, train, d->train_labels_path, d->train_all.n, &d->train_labels_all,
                         d->train_labels_sha256, &d->max_label, err);
        if (st == AMX_OK)
            st = load_labels(dc, test, d->test_labels_path, d->test.n, &d->test_labels,
                             d->test_labels_sha256, &d->max_label, err);
        hint_fetch(dc, st, err);
    }
    if (st != AMX_OK) {
        amx_run_data_free(d);
        return st;
    }
    d->n_valid = (size_t)dc->validation;
    d->n_train = d->train_all.n - d->n_valid;
    d->train = d->train_all.x;
    d->valid = d->train_all.x + d->n_train * d->train_all.dim;
    if (d->train_labels_all) {
        d->train_labels = d->train_labels_all;
        d->valid_labels = d->train_labels_all + d->n_train;
    }
    return AMX_OK;
}

enum amx_status amx_run_data_check(const struct amx_run_config *cfg, const struct amx_run_data *d,
                                   struct amx_error *err)
{
    enum amx_status st = check_subset(cfg, d->n_train, d->n_valid, d->train_path, err);
    if (st != AMX_OK || cfg->network.task != AMX_TASK_CLASSIFIER) return st;
    int classes = amx_run_data_classes(cfg, d);
    if (cfg->network.classes > 0 && d->max_label >= classes)
        return amx_fail(err, AMX_ERR_DATA, d->train_labels_path, 0, 0,
                        "labels run up to %d (here or in %s), but network.classes is %d; expected "
                        "labels from 0 to %d (set data.label_offset if they start at 1, or "
                        "network.classes to %d)",
                        d->max_label, d->test_labels_path, classes, classes - 1, d->max_label + 1);
    if (classes < 2)
        return amx_fail(err, AMX_ERR_DATA, d->train_labels_path, 0, 0,
                        "every label is 0 (here and in %s): a classifier needs at least 2 classes",
                        d->test_labels_path);
    return AMX_OK;
}

/* ---- adamix-run validate: the data checks from the headers alone ---- */

/* One file's header read once for every run that names it with that limit. */
struct header_entry {
    char path[2 * AMX_PATH_MAX + 2];
    long limit;
    enum amx_status st;
    struct amx_idx_header h;
    struct amx_error err;
};

struct header_cache {
    struct header_entry *items;
    size_t n, cap;
};

/* The entry of (path, limit), read now if it is new; NULL on out of memory. */
static const struct header_entry *
header_get(struct header_cache *c, const struct amx_data_config *dc, const char *path, long limit)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].limit == limit && strcmp(c->items[i].path, path) == 0) return &c->items[i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        struct header_entry *p = realloc(c->items, cap * sizeof *p);
        if (!p) return NULL;
        c->items = p;
        c->cap = cap;
    }
    struct header_entry *e = &c->items[c->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    e->limit = limit;
    e->st = amx_idx_read_images_header(path, limit, &e->h, &e->err);
    hint_fetch(dc, e->st, &e->err);
    return e;
}

/* Adds err unless the same error is there already; false once there are too
 * many to be worth printing (a sweep of many bad values). */
#define MAX_DATA_ERRORS 64
static bool add_once(struct amx_errlist *errs, const struct amx_error *err)
{
    for (size_t i = 0; i < errs->n; i++) {
        const struct amx_error *o = &errs->items[i];
        if (o->code == err->code && o->line == err->line && o->col == err->col &&
            strcmp(o->path, err->path) == 0 && strcmp(o->msg, err->msg) == 0)
            return true;
    }
    amx_errlist_add(errs, err);
    return errs->n < MAX_DATA_ERRORS;
}

enum amx_status amx_experiment_check_data(const struct amx_experiment *exp,
                                          struct amx_errlist *errs)
{
    struct header_cache cache = {0};
    enum amx_status first = AMX_OK;
    char train[2 * AMX_PATH_MAX + 2], test[2 * AMX_PATH_MAX + 2];
    for (size_t r = 0; r < exp->n_runs; r++) {
        const struct amx_run_config *cfg = &exp->runs[r].cfg;
        const struct amx_data_config *dc = &cfg->data;
        join(train, sizeof train, dc->dir, dc->train);
        join(test, sizeof test, dc->dir, dc->test);
        const struct header_entry *tr = header_get(&cache, dc, train, dc->train_limit);
        const struct header_entry *te = tr ? header_get(&cache, dc, test, dc->test_limit) : NULL;
        struct amx_error e;
        enum amx_status st;
        if (!tr || !te) {
            st = amx_fail(&e, AMX_ERR_NOMEM, cfg->file, 0, 0, "out of memory checking the data");
        } else if (tr->st != AMX_OK || te->st != AMX_OK) {
            e = tr->st != AMX_OK ? tr->err : te->err;
            st = e.code;
        } else {
            st = check_images(cfg, train, &tr->h, test, &te->h, &e);
            if (st == AMX_OK)
                st = check_subset(cfg, tr->h.n - (size_t)dc->validation, (size_t)dc->validation,
                                  train, &e);
        }
        if (st == AMX_OK) continue;
        if (first == AMX_OK) first = st;
        if (!add_once(errs, &e) || st == AMX_ERR_NOMEM) break;
    }
    free(cache.items);
    return first;
}

void amx_run_data_free(struct amx_run_data *d)
{
    amx_images_free(&d->train_all);
    amx_images_free(&d->test);
    free(d->train_labels_all);
    free(d->test_labels);
    memset(d, 0, sizeof *d);
}

bool amx_pretrain_key(const struct amx_run_config *cfg, const struct amx_run_data *d, char key[65])
{
    /* Exactly what the RBM stack depends on (docs/design.md, "Reproducibility"): the
     * training rows (file contents, limit, held-out tail), the layer sizes,
     * whether the top RBM is linear, the pretrain section, seed and repeat,
     * and compute.precision.
     * Not the test set, the data folder's spelling, or fine-tuning. */
    const struct amx_pretrain_config *p = &cfg->pretrain;
    struct amx_buf b = {0};
    amx_buf_printf(&b, "adamix pretraining v1\ntrain_sha256=%s\ntrain_limit=%ld\nvalidation=%ld\n",
                   d->train_all.sha256, cfg->data.train_limit, cfg->data.validation);
    amx_buf_printf(&b, "layers=");
    for (int i = 0; i < cfg->network.n_layers; i++)
        amx_buf_printf(&b, "%d,", cfg->network.layers[i]);
    /* the top RBM's hidden units: a classifier's stack is all logistic, the
     * stack of an autoencoder with a logistic code (so the two share it) */
    amx_buf_printf(&b, "\ncode=%s\n",
                   amx_unit_name(cfg->network.task == AMX_TASK_CLASSIFIER ? AMX_UNIT_LOGISTIC
                                                                          : cfg->network.code));
    if (cfg->data.transpose) amx_buf_printf(&b, "transpose=true\n");
    /* the products' precision, only when not fp32 (as in the run id, so
     * that fp32 stacks keep their keys) */
    if (cfg->compute.precision != AMX_PRECISION_FP32)
        amx_buf_printf(&b, "precision=%s\n", amx_precision_name(cfg->compute.precision));
    amx_buf_printf(&b,
                   "epochs=%d\nbatch_size=%d\ncd_k=%d\nlearning_rate=%.17g\n"
                   "code_learning_rate=%.17g\nmomentum=%.17g,%.17g,%d\nweight_decay=%.17g\n"
                   "init_std=%.17g\nseed=%llu\nrepeat=%d\n",
                   p->epochs, p->batch_size, p->cd_k, p->learning_rate, p->code_learning_rate,
                   p->momentum_initial, p->momentum_final, p->momentum_switch_epoch,
                   p->weight_decay, p->init_std, (unsigned long long)cfg->seed, cfg->repeat);
    bool ok = !b.failed && b.data;
    if (ok) amx_sha256_hex(b.data, b.len, key);
    amx_buf_free(&b);
    return ok;
}
