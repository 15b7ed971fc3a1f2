/* The two tasks of a run: pretraining an RBM stack (DESIGN.md section 7) and
 * fine-tuning the unrolled autoencoder under the per-group rules, measuring
 * the reconstruction error after every epoch. Fine-tuning writes the run's
 * files: config.yaml and curve.csv first, summary.json last (its presence
 * means the run is complete).
 *
 * The numerics live in src/nn and src/optim; this file is the story of a run:
 * streams, epochs, batches, evaluation, divergence, files. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/optim.h"
#include "adamix/results.h"
#include "adamix/rng.h"
#include "adamix/version.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void free_rbms(struct amx_rbm *rbms, int n)
{
    for (int i = 0; i < n; i++)
        amx_rbm_free(&rbms[i]);
}

/* Allocates the n_layers-1 RBMs of the stack; the last one has linear hidden
 * units when the code layer is linear. */
static enum amx_status alloc_rbms(const struct amx_run_config *cfg, struct amx_rbm *rbms,
                                  struct amx_error *err)
{
    const struct amx_network_config *net = &cfg->network;
    int n = net->n_layers - 1;
    memset(rbms, 0, sizeof(*rbms) * (size_t)n);
    for (int l = 0; l < n; l++) {
        bool linear = (l == n - 1) && net->code == AMX_UNIT_LINEAR;
        enum amx_status st = amx_rbm_init(&rbms[l], net->layers[l], net->layers[l + 1], linear,
                                          cfg->pretrain.batch_size, err);
        if (st != AMX_OK) {
            free_rbms(rbms, l);
            return st;
        }
    }
    return AMX_OK;
}

/* compute.precision, or why this backend and CPU cannot compute it (an
 * error naming the key, before any training). */
static enum amx_status check_precision(const struct amx_run_config *cfg, struct amx_error *err)
{
    const char *why = amx_blas_precision_unavailable(cfg->compute.precision);
    if (!why) return AMX_OK;
    return amx_fail(err, AMX_ERR_CONFIG, cfg->file, 0, 0, "compute.precision is %s, but %s",
                    amx_precision_name(cfg->compute.precision), why);
}

enum amx_status amx_task_pretrain(const struct amx_run_config *cfg, const struct amx_run_data *d,
                                  const char *cache_path, const char *log_path, int threads,
                                  amx_progress_fn progress, void *pctx, struct amx_error *err)
{
    double t_start = now_seconds();
    struct amx_buf log = {0};
    amx_buf_printf(&log, "layer,visible,hidden,epoch,reconstruction_error,seconds\n");
    const struct amx_pretrain_config *pc = &cfg->pretrain;
    int n = cfg->network.n_layers - 1;
    struct amx_rbm rbms[AMX_MAX_LAYERS];
    enum amx_status st = alloc_rbms(cfg, rbms, err);
    if (st != AMX_OK) {
        amx_buf_free(&log);
        return st;
    }

    /* Every RBM's initial weights come from the one INIT stream, layer by
     * layer, so they depend on (seed, repeat) only. */
    struct amx_rng init;
    amx_rng_stream(&init, cfg->seed, (uint32_t)cfg->repeat, AMX_STREAM_INIT);

    const float *input = d->train;
    float *owned = NULL;
    size_t rows = d->n_train;
    st = check_precision(cfg, err);
    for (int l = 0; l < n && st == AMX_OK; l++) {
        st = amx_rbm_set_threads(&rbms[l], threads, err);
        if (st == AMX_OK) st = amx_rbm_set_precision(&rbms[l], cfg->compute.precision, err);
    }
    for (int l = 0; l < n && st == AMX_OK; l++) {
        struct amx_rbm *r = &rbms[l];
        amx_rbm_init_weights(r, pc->init_std, &init);
        struct amx_rng order, sample;
        amx_rng_stream(&order, cfg->seed, (uint32_t)cfg->repeat,
                       AMX_STREAM_RBM_ORDER + (uint32_t)l);
        amx_rng_stream(&sample, cfg->seed, (uint32_t)cfg->repeat,
                       AMX_STREAM_RBM_SAMPLE + (uint32_t)l);
        struct amx_rbm_hparams hp = {
            .learning_rate = r->linear_hidden ? pc->code_learning_rate : pc->learning_rate,
            .momentum_initial = pc->momentum_initial,
            .momentum_final = pc->momentum_final,
            .momentum_switch_epoch = pc->momentum_switch_epoch,
            .weight_decay = pc->weight_decay,
            .cd_k = pc->cd_k,
        };
        for (int e = 0; e < pc->epochs && st == AMX_OK; e++) {
            double recon = 0, t0 = now_seconds();
            st = amx_rbm_train_epoch(r, input, rows, pc->batch_size, &hp, e, &order, &sample,
                                     &recon, err);
            amx_buf_printf(&log, "%d,%d,%d,%d,%.10g,%.6f\n", l + 1, r->V, r->H, e + 1, recon,
                           now_seconds() - t0);
            if (progress) progress(pctx, l + 1, e + 1, pc->epochs, recon);
        }
        if (st != AMX_OK) break;
        if (l + 1 < n) {
            float *next = malloc(sizeof(float) * rows * (size_t)r->H);
            if (!next) {
                st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0,
                              "out of memory for the hidden probabilities of RBM %d", l + 1);
                break;
            }
            amx_rbm_hidden_probs(r, input, rows, next);
            free(owned);
            owned = next;
            input = next;
        }
    }
    free(owned);
    if (st == AMX_OK) st = amx_cache_save(cache_path, rbms, n, now_seconds() - t_start, err);
    if (st == AMX_OK && log_path) {
        st = log.failed ? amx_fail(err, AMX_ERR_NOMEM, log_path, 0, 0, "out of memory")
                        : amx_write_file_atomic(log_path, log.data, log.len, err);
    }
    amx_buf_free(&log);
    free_rbms(rbms, n);
    return st;
}

/* ---- fine-tuning ------------------------------------------------------- */

struct curve {
    struct amx_buf csv;
    bool has_valid;
    size_t n_groups;
};

/* The optimizers of the AMX_NN_SPLIT parts of the network (each part's
 * slice of every tensor, updated on the thread that computed its
 * gradients): they have the same groups, whose statistics are merged in
 * part order. */
struct parts {
    struct amx_optimizer *opt[AMX_NN_SPLIT];
};

static struct amx_rate_stats group_stats(const struct parts *ps, size_t g)
{
    struct amx_rate_stats all = {0, 0, 0, 0};
    for (int p = 0; p < AMX_NN_SPLIT; p++) {
        struct amx_rate_stats s = amx_optimizer_group_stats(ps->opt[p], g);
        if (s.count <= 0) continue;
        if (all.count <= 0) {
            all = s;
            continue;
        }
        all.sum += s.sum;
        all.count += s.count;
        all.min = s.min < all.min ? s.min : all.min;
        all.max = s.max > all.max ? s.max : all.max;
    }
    return all;
}

static void step_part(void *ctx, int part, int n_parts)
{
    (void)n_parts;
    amx_optimizer_step(((struct parts *)ctx)->opt[part]);
}

static void curve_header(struct curve *c, const struct parts *ps)
{
    const struct amx_optimizer *opt = ps->opt[0];
    amx_buf_printf(&c->csv, "epoch,train_error,%stest_error,seconds",
                   c->has_valid ? "validation_error," : "");
    for (size_t g = 0; g < c->n_groups; g++) {
        const char *name = amx_optimizer_group_name(opt, g);
        amx_buf_printf(&c->csv, ",rate_mean.%s,rate_min.%s,rate_max.%s", name, name, name);
    }
    amx_buf_printf(&c->csv, "\n");
}

static void curve_row(struct curve *c, const struct parts *ps, int epoch, double train,
                      double valid, double test, double seconds)
{
    amx_buf_printf(&c->csv, "%d,%.10g,", epoch, train);
    if (c->has_valid) amx_buf_printf(&c->csv, "%.10g,", valid);
    amx_buf_printf(&c->csv, "%.10g,%.6f", test, seconds);
    for (size_t g = 0; g < c->n_groups; g++) {
        if (epoch == 0) {
            amx_buf_printf(&c->csv, ",,,");
            continue;
        }
        struct amx_rate_stats s = group_stats(ps, g);
        double mean = s.count > 0 ? s.sum / s.count : 0;
        amx_buf_printf(&c->csv, ",%.7g,%.7g,%.7g", mean, s.min, s.max);
    }
    amx_buf_printf(&c->csv, "\n");
}

/* The network's reconstructions of x[0 .. n) (n x dim) into out, in
 * batches the network was sized for. */
static void reconstruct(struct amx_autoencoder *ae, const float *x, size_t n, size_t dim,
                        float *out)
{
    size_t step = (size_t)ae->max_batch;
    for (size_t s = 0; s < n; s += step) {
        size_t B = n - s < step ? n - s : step;
        const float *y = amx_autoencoder_forward(ae, x + s * dim, (int)B);
        memcpy(out + s * dim, y, sizeof(float) * B * dim);
    }
}

static bool diverged(double v, double limit)
{
    return !isfinite(v) || v > limit;
}

static json_t *json_number_or_null(double v, bool present)
{
    if (!present || !isfinite(v)) return json_null();
    return json_real(v);
}

static enum amx_status write_text(const char *dir, const char *name, const struct amx_buf *b,
                                  struct amx_error *err)
{
    char path[AMX_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (b->failed) return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    return amx_write_file_atomic(path, b->data ? b->data : "", b->len, err);
}

struct outcome {
    const char *status;
    int epochs;
    double final_test, best_test, final_train, final_valid;
    int best_epoch;
    double seconds, pretrain_seconds, finetune_seconds;
    size_t n_train_eval; /* images train_error is measured on */
};

static enum amx_status write_summary(const struct amx_experiment *exp, size_t run,
                                     const char *run_dir, const struct outcome *o,
                                     const struct amx_run_data *d, struct amx_error *err)
{
    /* what the next invocation compares to know the result is of this very
     * configuration (amx_run_id is its first 16 digits) */
    char config_sha[65];
    if (!amx_config_sha256(&exp->runs[run].cfg, config_sha))
        return amx_fail(err, AMX_ERR_NOMEM, run_dir, 0, 0, "out of memory");
    json_t *root = json_object();
    json_object_set_new(root, "run_id", json_string(exp->runs[run].id));
    json_object_set_new(root, "config_sha256", json_string(config_sha));
    amx_summary_identity(exp, run, root);
    json_object_set_new(root, "status", json_string(o->status));
    json_object_set_new(root, "epochs", json_integer(o->epochs));
    json_object_set_new(root, "final_test_error", json_number_or_null(o->final_test, true));
    json_object_set_new(root, "best_test_error", json_number_or_null(o->best_test, true));
    json_object_set_new(root, "best_epoch", json_integer(o->best_epoch));
    json_object_set_new(root, "final_train_error", json_number_or_null(o->final_train, true));
    json_object_set_new(root, "final_validation_error",
                        json_number_or_null(o->final_valid, d->n_valid > 0));
    /* what the numbers were computed from: a resumed sweep reuses this run
     * only while the data files are the same */
    json_t *data = json_object();
    json_object_set_new(data, "train_sha256", json_string(d->train_all.sha256));
    json_object_set_new(data, "test_sha256", json_string(d->test.sha256));
    /* the scale of the result: images trained on, held out, tested, and the
     * training images train_error was measured on */
    json_object_set_new(data, "train_images", json_integer((json_int_t)d->n_train));
    json_object_set_new(data, "validation_images", json_integer((json_int_t)d->n_valid));
    json_object_set_new(data, "test_images", json_integer((json_int_t)d->test.n));
    json_object_set_new(data, "train_error_images", json_integer((json_int_t)o->n_train_eval));
    json_object_set_new(root, "data", data);
    /* the kernel the numbers were computed on: another one changes the last
     * bits (provenance, not identity) */
    json_object_set_new(root, "blas_core", json_string(amx_blas_corename()));
    /* and the backend that computed the products (docs/backends.md): its
     * version, the ISA it dispatched to, the implementations this worker's
     * products ran on */
    char impls[640];
    amx_blas_backend_impls(impls, sizeof impls);
    json_object_set_new(root, "backend", json_string(amx_blas_backend()));
    json_object_set_new(root, "backend_version", json_string(amx_blas_backend_version()));
    json_object_set_new(root, "backend_isa", json_string(amx_blas_backend_isa()));
    json_object_set_new(root, "backend_impl", json_string(impls));
    json_object_set_new(root, "seconds", json_real(o->seconds));
    json_object_set_new(root, "pretrain_seconds", json_real(o->pretrain_seconds));
    json_object_set_new(root, "finetune_seconds", json_real(o->finetune_seconds));
    char *text = json_dumps(root, AMX_SUMMARY_JSON_FLAGS);
    json_decref(root);
    if (!text) return amx_fail(err, AMX_ERR_NOMEM, run_dir, 0, 0, "out of memory");
    struct amx_buf b = {0};
    amx_buf_printf(&b, "%s\n", text);
    free(text);
    enum amx_status st = write_text(run_dir, "summary.json", &b, err);
    amx_buf_free(&b);
    return st;
}

enum amx_status amx_task_finetune(const struct amx_experiment *exp, size_t run,
                                  const struct amx_run_data *d, const char *cache_path,
                                  const char *run_dir, int threads, amx_progress_fn progress,
                                  void *pctx, struct amx_error *err)
{
    const struct amx_run_config *cfg = &exp->runs[run].cfg;
    const struct amx_finetune_config *fc = &cfg->finetune;
    const struct amx_network_config *net = &cfg->network;
    double t_start = now_seconds();
    enum amx_status st = amx_mkdir_nofollow(run_dir, err); /* never a link */
    if (st != AMX_OK) return st;

    /* config.yaml first: the run folder says what ran even if it dies. */
    struct amx_node *node = amx_config_to_node(cfg);
    char *yaml = node ? amx_node_emit_string(node) : NULL;
    amx_node_free(node);
    if (!yaml) return amx_fail(err, AMX_ERR_NOMEM, run_dir, 0, 0, "out of memory");
    struct amx_buf yb = {0};
    amx_buf_append(&yb, yaml, strlen(yaml));
    free(yaml);
    st = write_text(run_dir, "config.yaml", &yb, err);
    amx_buf_free(&yb);
    if (st != AMX_OK) return st;

    double pretrain_seconds = 0, cached_seconds = 0;
    struct amx_autoencoder ae;
    memset(&ae, 0, sizeof ae);
    struct parts ps;
    memset(&ps, 0, sizeof ps);
    struct amx_param_tensor *tensors = NULL;
    uint32_t *perm = NULL;
    float *batch = NULL;
    float *gallery = NULL; /* 2 x n_gal x V: epoch-0 and last reconstructions */
    struct curve c = {.has_valid = d->n_valid > 0};

    st = amx_autoencoder_init(&ae, net->layers, net->n_layers, net->hidden, net->code, net->output,
                              fc->batch_size, err);
    if (st == AMX_OK) st = amx_autoencoder_check_loss(&ae, fc->loss, err);
    if (st == AMX_OK) st = amx_autoencoder_set_threads(&ae, threads, err);
    if (st == AMX_OK) st = check_precision(cfg, err);
    if (st == AMX_OK) st = amx_autoencoder_set_precision(&ae, cfg->compute.precision, err);
    if (st != AMX_OK) goto done;
    if (cfg->pretrain.enabled) {
        struct amx_rbm rbms[AMX_MAX_LAYERS];
        st = alloc_rbms(cfg, rbms, err);
        if (st != AMX_OK) goto done;
        st = amx_cache_load(cache_path, rbms, net->n_layers - 1, &cached_seconds, err);
        if (st == AMX_OK) st = amx_autoencoder_from_rbms(&ae, rbms, net->n_layers - 1, err);
        free_rbms(rbms, net->n_layers - 1);
        if (st != AMX_OK) goto done;
    } else {
        struct amx_rng init;
        amx_rng_stream(&init, cfg->seed, (uint32_t)cfg->repeat, AMX_STREAM_INIT);
        amx_autoencoder_init_random(&ae, cfg->pretrain.init_std, &init);
    }
    /* row 0 and pretrain_seconds: the pretraining (as long as it took when it
     * was computed, also when this run reuses it) plus loading and the first
     * evaluation */
    pretrain_seconds = cached_seconds + (now_seconds() - t_start);

    size_t nt = amx_autoencoder_tensors(&ae, NULL);
    tensors = calloc(nt, sizeof *tensors);
    if (!tensors) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto done;
    }
    for (int p = 0; p < AMX_NN_SPLIT && st == AMX_OK; p++) {
        size_t np = amx_autoencoder_tensor_part(&ae, p, AMX_NN_SPLIT, tensors);
        st = amx_optimizer_init(&ps.opt[p], tensors, np, fc->rules, fc->n_rules, err);
    }
    if (st != AMX_OK) goto done;
    c.n_groups = amx_optimizer_group_count(ps.opt[0]);

    size_t V = (size_t)net->layers[0];
    size_t n = d->n_train;
    perm = malloc(sizeof *perm * n);
    batch = malloc(sizeof *batch * V * (size_t)fc->batch_size);
    if (!perm || !batch) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto done;
    }
    struct amx_rng order;
    amx_rng_stream(&order, cfg->seed, (uint32_t)cfg->repeat, AMX_STREAM_FINETUNE_ORDER);

    struct outcome o = {.status = "ok", .best_epoch = 0};
    o.n_train_eval = cfg->evaluation.train_subset > 0 && (size_t)cfg->evaluation.train_subset < n
                         ? (size_t)cfg->evaluation.train_subset
                         : n;
    /* train_error on the first train_subset training images (the same ones
     * for every run and repeat, so paired runs are measured alike), or on all */
    size_t n_eval = o.n_train_eval;
    double t_eval0 = now_seconds();
    double train_e = amx_autoencoder_recon_error(&ae, d->train, n_eval);
    double valid_e = c.has_valid ? amx_autoencoder_recon_error(&ae, d->valid, d->n_valid) : 0;
    double test_e = amx_autoencoder_recon_error(&ae, d->test.x, d->test.n);
    /* the gallery of the first repeat: the first test images and their
     * reconstructions before fine-tuning (and after it, below) */
    size_t n_gal = cfg->repeat == 0 ? (d->test.n < 16 ? d->test.n : 16) : 0;
    if (n_gal) {
        gallery = malloc(2 * sizeof *gallery * n_gal * V);
        if (!gallery) {
            st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
            goto done;
        }
        reconstruct(&ae, d->test.x, n_gal, V, gallery);
    }
    curve_header(&c, &ps);
    curve_row(&c, &ps, 0, train_e, valid_e, test_e, pretrain_seconds + now_seconds() - t_eval0);
    o.best_test = test_e;
    o.final_test = test_e;
    o.final_train = train_e;
    o.final_valid = valid_e;
    if (progress) progress(pctx, 0, 0, fc->epochs, test_e);
    if (diverged(test_e, fc->divergence_limit)) o.status = "diverged";

    double t_ft = now_seconds();
    for (int epoch = 1; epoch <= fc->epochs && strcmp(o.status, "ok") == 0; epoch++) {
        double t0 = now_seconds();
        for (int p = 0; p < AMX_NN_SPLIT; p++)
            amx_optimizer_epoch_begin(ps.opt[p], epoch - 1);
        for (size_t i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        amx_rng_shuffle(&order, perm, n);
        bool bad = false;
        for (size_t start = 0; start < n; start += (size_t)fc->batch_size) {
            size_t B = n - start < (size_t)fc->batch_size ? n - start : (size_t)fc->batch_size;
            for (size_t b = 0; b < B; b++)
                memcpy(batch + b * V, d->train + (size_t)perm[start + b] * V, sizeof(float) * V);
            double loss = amx_autoencoder_train_step(&ae, batch, (int)B, fc->loss);
            if (!isfinite(loss)) {
                bad = true;
                break;
            }
            amx_autoencoder_run_parts(&ae, step_part, &ps);
        }
        train_e = amx_autoencoder_recon_error(&ae, d->train, n_eval);
        if (c.has_valid) valid_e = amx_autoencoder_recon_error(&ae, d->valid, d->n_valid);
        test_e = amx_autoencoder_recon_error(&ae, d->test.x, d->test.n);
        curve_row(&c, &ps, epoch, train_e, valid_e, test_e, now_seconds() - t0);
        o.epochs = epoch;
        o.final_test = test_e;
        o.final_train = train_e;
        o.final_valid = valid_e;
        if (isfinite(test_e) && test_e < o.best_test) {
            o.best_test = test_e;
            o.best_epoch = epoch;
        }
        if (progress) progress(pctx, 0, epoch, fc->epochs, test_e);
        if (bad || diverged(test_e, fc->divergence_limit) ||
            diverged(train_e, fc->divergence_limit))
            o.status = "diverged";
    }
    o.finetune_seconds = now_seconds() - t_ft;
    o.pretrain_seconds = pretrain_seconds;
    o.seconds = cached_seconds + (now_seconds() - t_start);

    if (n_gal) {
        reconstruct(&ae, d->test.x, n_gal, V, gallery + n_gal * V);
        st = amx_write_gallery(run_dir, d->test.x, gallery, gallery + n_gal * V, n_gal,
                               d->test.rows, d->test.cols, err);
        if (st == AMX_OK) st = amx_write_filters(run_dir, &ae, d->test.rows, d->test.cols, err);
        if (st != AMX_OK) goto done;
    }
    st = write_text(run_dir, "curve.csv", &c.csv, err);
    if (st == AMX_OK && cfg->output.weights) {
        char wpath[AMX_PATH_MAX + 64];
        snprintf(wpath, sizeof wpath, "%s/weights.npz", run_dir);
        st = amx_write_weights_npz(wpath, &ae, err);
    }
    if (st == AMX_OK) st = write_summary(exp, run, run_dir, &o, d, err);

done:
    amx_buf_free(&c.csv);
    free(gallery);
    free(batch);
    free(perm);
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        amx_optimizer_free(ps.opt[p]);
    free(tensors);
    amx_autoencoder_free(&ae);
    return st;
}
