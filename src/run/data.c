/* The images of one data configuration: the training file (first train_limit
 * images, the last `validation` of them held out) and the test file. Loaded
 * once by the parent process; forked workers share them copy-on-write. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

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
        if (st == AMX_ERR_DATA && strstr(err->msg, "No such file"))
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                     " (run tools/get-mnist.sh to fetch MNIST into data/mnist)");
        amx_images_free(&d->train_all);
        amx_images_free(&d->test);
        return st;
    }
    /* The first layer must equal the image size: an error of the experiment,
     * so it points at the `layers` line. */
    if ((size_t)cfg->network.layers[0] != d->train_all.dim) {
        st = amx_fail(err, AMX_ERR_CONFIG, cfg->file, cfg->network.layers_line,
                      cfg->network.layers_col,
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

void amx_run_data_free(struct amx_run_data *d)
{
    amx_images_free(&d->train_all);
    amx_images_free(&d->test);
    memset(d, 0, sizeof *d);
}

void amx_pretrain_key(const struct amx_run_config *cfg, const struct amx_run_data *d, char key[65])
{
    char *canon = amx_canonical_pretrain_form(cfg);
    struct amx_sha256 s;
    amx_sha256_init(&s);
    if (canon) amx_sha256_update(&s, canon, strlen(canon));
    amx_sha256_update(&s, "\ntrain-file-sha256:", 19);
    amx_sha256_update(&s, d->train_all.sha256, strlen(d->train_all.sha256));
    uint8_t digest[32];
    amx_sha256_final(&s, digest);
    amx_sha256_to_hex(digest, key);
    free(canon);
}
