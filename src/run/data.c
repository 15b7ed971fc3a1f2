/* The images of one data configuration: the training file (first train_limit
 * images, the last `validation` of them held out) and the test file. Loaded
 * once by the parent process; forked workers share them copy-on-write. */
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
        if (st == AMX_ERR_DATA && strstr(err->msg, "No such file") &&
            strcmp(dc->dir, "data/mnist") == 0)
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                     " (run tools/get-mnist.sh to fetch MNIST into data/mnist)");
        amx_images_free(&d->train_all);
        amx_images_free(&d->test);
        return st;
    }
    /* The first layer must equal the image size: an error of the experiment,
     * so it points at the `layers` line. */
    if ((size_t)cfg->network.layers[0] != d->train_all.dim) {
        const char *where = cfg->network.layers_file[0] ? cfg->network.layers_file : cfg->file;
        st = amx_fail(err, AMX_ERR_CONFIG, where, cfg->network.layers_line, cfg->network.layers_col,
                      "network.layers starts with %d but the images of %s have %zu pixels "
                      "(%zux%zu); expected layers: [%zu, ...]",
                      cfg->network.layers[0], train, d->train_all.dim, d->train_all.rows,
                      d->train_all.cols, d->train_all.dim);
        amx_run_data_free(d);
        return st;
    }
    if (d->test.dim != d->train_all.dim) {
        st = amx_fail(err, AMX_ERR_DATA, test, 0, 0,
                      "test images have %zu pixels but the training images %zu", d->test.dim,
                      d->train_all.dim);
        amx_run_data_free(d);
        return st;
    }
    if ((size_t)dc->validation >= d->train_all.n) {
        st = amx_fail(err, AMX_ERR_CONFIG, cfg->file, 0, 0,
                      "data.validation is %ld but %s gives only %zu training images; expected "
                      "fewer validation images than that",
                      dc->validation, train, d->train_all.n);
        amx_run_data_free(d);
        return st;
    }
    d->n_valid = (size_t)dc->validation;
    d->n_train = d->train_all.n - d->n_valid;
    d->train = d->train_all.x;
    d->valid = d->train_all.x + d->n_train * d->train_all.dim;
    return AMX_OK;
}

enum amx_status amx_run_data_check(const struct amx_run_config *cfg, const struct amx_run_data *d,
                                   struct amx_error *err)
{
    const struct amx_evaluation_config *ev = &cfg->evaluation;
    if (ev->train_subset < 0 || (size_t)ev->train_subset <= d->n_train) return AMX_OK;
    return amx_fail(err, AMX_ERR_CONFIG,
                    ev->train_subset_file[0] ? ev->train_subset_file : cfg->file,
                    ev->train_subset_line, ev->train_subset_col,
                    "evaluation.train_subset is %ld but there are only %zu training images (%s, "
                    "less %zu held out for validation); expected at most %zu",
                    ev->train_subset, d->n_train, d->train_path, d->n_valid, d->n_train);
}

void amx_run_data_free(struct amx_run_data *d)
{
    amx_images_free(&d->train_all);
    amx_images_free(&d->test);
    memset(d, 0, sizeof *d);
}

void amx_pretrain_key(const struct amx_run_config *cfg, const struct amx_run_data *d, char key[65])
{
    /* Exactly what the RBM stack depends on (DESIGN.md section 8): the
     * training rows (file contents, limit, held-out tail), the layer sizes,
     * whether the top RBM is linear, the pretrain section, seed and repeat.
     * Not the test set, the data folder's spelling, or fine-tuning. */
    const struct amx_pretrain_config *p = &cfg->pretrain;
    struct amx_buf b = {0};
    amx_buf_printf(&b, "adamix pretraining v1\ntrain_sha256=%s\ntrain_limit=%ld\nvalidation=%ld\n",
                   d->train_all.sha256, cfg->data.train_limit, cfg->data.validation);
    amx_buf_printf(&b, "layers=");
    for (int i = 0; i < cfg->network.n_layers; i++)
        amx_buf_printf(&b, "%d,", cfg->network.layers[i]);
    amx_buf_printf(&b, "\ncode=%s\n", amx_unit_name(cfg->network.code));
    amx_buf_printf(&b,
                   "epochs=%d\nbatch_size=%d\ncd_k=%d\nlearning_rate=%.17g\n"
                   "code_learning_rate=%.17g\nmomentum=%.17g,%.17g,%d\nweight_decay=%.17g\n"
                   "init_std=%.17g\nseed=%llu\nrepeat=%d\n",
                   p->epochs, p->batch_size, p->cd_k, p->learning_rate, p->code_learning_rate,
                   p->momentum_initial, p->momentum_final, p->momentum_switch_epoch,
                   p->weight_decay, p->init_std, (unsigned long long)cfg->seed, cfg->repeat);
    amx_sha256_hex(b.data ? b.data : "", b.len, key);
    amx_buf_free(&b);
}
