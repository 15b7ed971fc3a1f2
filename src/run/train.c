/* The two tasks of a run: pretraining an RBM stack (docs/design.md) and
 * fine-tuning the network under the per-group rules, measuring it after
 * every epoch. Fine-tuning writes the run's files: config.yaml and curve.csv
 * first, summary.json last (its presence means the run is complete).
 *
 * The numerics live in src/nn and src/optim, what differs between an
 * autoencoder and a classifier in the model table (model.h); this file is
 * the story of a run: streams, epochs, batches, evaluation, divergence,
 * files. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"
#include "model.h"

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
    enum amx_status st = amx_model_alloc_rbms(cfg, rbms, err);
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
    st = amx_model_check_precision(cfg, err);
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
    amx_model_free_rbms(rbms, n);
    return st;
}

/* ---- fine-tuning ------------------------------------------------------- */

/* The measures of one epoch: per split (train, validation, test), the
 * model kind's metrics (error first). */
enum { SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST, N_SPLITS };
static const char *const split_name[N_SPLITS] = {"train", "validation", "test"};

struct measures {
    double v[N_SPLITS][AMX_MODEL_MAX_METRICS];
};

struct curve {
    struct amx_buf csv;
    bool has_valid;
    bool has_test; /* false in a tuning run (evaluation.test: false) */
    bool log_kept; /* newbob: whether each epoch was kept */
    bool log_eta0; /* a validation-driven control changes some group's eta0 */
    const struct amx_model_kind *kind;
};

/* Whether the curve has the split's columns. */
static bool curve_has(const struct curve *c, int split)
{
    return (split != SPLIT_VALID || c->has_valid) && (split != SPLIT_TEST || c->has_test);
}

static void curve_header(struct curve *c, const struct amx_model *m)
{
    amx_buf_printf(&c->csv, "epoch");
    for (int s = 0; s < N_SPLITS; s++) {
        if (!curve_has(c, s)) continue;
        for (int k = 0; k < c->kind->n_metrics; k++)
            amx_buf_printf(&c->csv, ",%s_%s", split_name[s], c->kind->metric[k]);
    }
    amx_buf_printf(&c->csv, ",seconds");
    for (size_t g = 0; g < amx_model_group_count(m); g++) {
        const char *name = amx_model_group_name(m, g);
        amx_buf_printf(&c->csv, ",rate_mean.%s,rate_min.%s,rate_max.%s", name, name, name);
    }
    for (size_t g = 0; c->log_eta0 && g < amx_model_group_count(m); g++)
        amx_buf_printf(&c->csv, ",eta0.%s", amx_model_group_name(m, g));
    if (c->log_kept) amx_buf_printf(&c->csv, ",kept");
    amx_buf_printf(&c->csv, "\n");
}

/* kept: newbob's decision; eta0: each group's eta0 during the epoch (NULL
 * for row 0). */
static void curve_row(struct curve *c, const struct amx_model *m, int epoch,
                      const struct measures *ms, double seconds, bool kept, const double *eta0)
{
    amx_buf_printf(&c->csv, "%d", epoch);
    for (int s = 0; s < N_SPLITS; s++) {
        if (!curve_has(c, s)) continue;
        for (int k = 0; k < c->kind->n_metrics; k++)
            amx_buf_printf(&c->csv, ",%.10g", ms->v[s][k]);
    }
    amx_buf_printf(&c->csv, ",%.6f", seconds);
    for (size_t g = 0; g < amx_model_group_count(m); g++) {
        if (epoch == 0) {
            amx_buf_printf(&c->csv, ",,,");
            continue;
        }
        struct amx_rate_stats st = amx_model_group_stats(m, g);
        double mean = st.count > 0 ? st.sum / st.count : 0;
        amx_buf_printf(&c->csv, ",%.7g,%.7g,%.7g", mean, st.min, st.max);
    }
    /* the eta0 each group's rule had during the epoch, exactly */
    for (size_t g = 0; c->log_eta0 && g < amx_model_group_count(m); g++)
        if (!eta0)
            amx_buf_printf(&c->csv, ",");
        else
            amx_buf_printf(&c->csv, ",%.17g", eta0[g]);
    if (c->log_kept) amx_buf_printf(&c->csv, epoch == 0 ? "," : kept ? ",1" : ",0");
    amx_buf_printf(&c->csv, "\n");
}

/* Every split's measures: train on the first n_eval training images; the
 * test set only when test (a tuning run never looks at it). */
static void measure(struct amx_model *m, const struct amx_run_data *d, size_t n_eval, bool test,
                    struct measures *ms)
{
    amx_model_evaluate(m, d->train, d->train_labels, n_eval, ms->v[SPLIT_TRAIN]);
    if (d->n_valid > 0)
        amx_model_evaluate(m, d->valid, d->valid_labels, d->n_valid, ms->v[SPLIT_VALID]);
    if (test) amx_model_evaluate(m, d->test.x, d->test_labels, d->test.n, ms->v[SPLIT_TEST]);
}

/* Not finite, or an error above the limit. */
static bool diverged(double v, double limit)
{
    return !isfinite(v) || v > limit;
}

/* The watched error (the test set's, or the validation set's in a run that
 * measures no test error) and, after training began, the training error
 * above the limit or not finite, or another metric not finite. */
static bool measures_diverged(const struct measures *ms, const struct amx_model_kind *kind,
                              double limit, bool trained, int watched)
{
    if (diverged(ms->v[watched][0], limit) || (trained && diverged(ms->v[SPLIT_TRAIN][0], limit)))
        return true;
    for (int k = 1; k < kind->n_metrics; k++)
        if (!isfinite(ms->v[watched][k]) || (trained && !isfinite(ms->v[SPLIT_TRAIN][k])))
            return true;
    return false;
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

/* Early stopping (Keras' EarlyStopping, mode min, on the validation
 * error): where it stands, and the best epoch's weights and measures when
 * they are restored at the end. */
struct early_stop {
    const struct amx_early_stop_config *cfg;
    double best;       /* the best validation error watched (+inf at first) */
    int wait;          /* watched epochs since the last improvement */
    int best_epoch;    /* 0: none yet */
    int stopped_epoch; /* 0: not stopped */
    bool restored;
    float *weights; /* restore_best: the best epoch's parameters */
    struct measures ms;
};

/* newbob (Kaldi's schedule): the decisions' state and the last kept
 * epoch's weights, rule state and measures. */
struct newbob {
    const struct amx_newbob_config *cfg;
    struct amx_newbob nb;
    struct amx_newbob_state s;
    float *weights, *state;
    long steps[AMX_NN_SPLIT];
    int last_kept, rejected, stopped_epoch;
    struct measures ms;
};

struct outcome {
    const char *status;
    int epochs;
    int final_epoch; /* whose weights and errors are final: the last, or the restored best */
    bool test;       /* the test set measured (evaluation.test) */
    bool has_valid;  /* held-out images measured (data.validation) */
    double final_test, best_test, final_train, final_valid, best_valid;
    struct measures last; /* the final epoch's measures, every metric */
    int best_epoch;
    int classes; /* a classifier's */
    double seconds, pretrain_seconds, finetune_seconds;
    size_t n_train_eval; /* images train_error is measured on */
};

/* A classifier's further fields: its classes, its labels files and each
 * split's final mean cross-entropy (an autoencoder's summary stays as it
 * was before classifiers existed). */
static void summary_classifier(json_t *root, json_t *data, const struct outcome *o,
                               const struct amx_run_data *d)
{
    json_object_set_new(root, "classes", json_integer(o->classes));
    if (o->test)
        json_object_set_new(root, "final_test_loss",
                            json_number_or_null(o->last.v[SPLIT_TEST][1], true));
    json_object_set_new(root, "final_train_loss",
                        json_number_or_null(o->last.v[SPLIT_TRAIN][1], true));
    json_object_set_new(root, "final_validation_loss",
                        json_number_or_null(o->last.v[SPLIT_VALID][1], d->n_valid > 0));
    json_object_set_new(data, "train_labels_sha256", json_string(d->train_labels_sha256));
    json_object_set_new(data, "test_labels_sha256", json_string(d->test_labels_sha256));
}

/* Why fine-tuning ended and which epoch's weights it kept (only when
 * finetune.early_stop is given: other summaries stay as they were). */
static void summary_early_stop(json_t *root, const struct outcome *o, const struct early_stop *es)
{
    json_t *j = json_object();
    json_object_set_new(j, "stopped", json_boolean(es->stopped_epoch > 0));
    json_object_set_new(j, "stopped_epoch",
                        es->stopped_epoch > 0 ? json_integer(es->stopped_epoch) : json_null());
    const char *reason = strcmp(o->status, "ok") != 0 ? "diverged"
                         : es->stopped_epoch > 0
                             ? "the validation error did not improve by more than min_delta "
                               "for patience epochs"
                             : "every epoch ran";
    json_object_set_new(j, "reason", json_string(reason));
    json_object_set_new(j, "best_validation_epoch",
                        es->best_epoch > 0 ? json_integer(es->best_epoch) : json_null());
    json_object_set_new(j, "restored_best", json_boolean(es->restored));
    json_object_set_new(root, "early_stop", j);
    json_object_set_new(root, "final_epoch", json_integer(o->final_epoch));
}

/* How newbob ended (only when finetune.newbob is given). */
static void summary_newbob(json_t *root, const struct outcome *o, const struct newbob *nb)
{
    json_t *j = json_object();
    json_object_set_new(j, "rejected_epochs", json_integer(nb->rejected));
    json_object_set_new(j, "last_kept_epoch", json_integer(nb->last_kept));
    json_object_set_new(j, "stopped", json_boolean(nb->stopped_epoch > 0));
    json_object_set_new(j, "stopped_epoch",
                        nb->stopped_epoch > 0 ? json_integer(nb->stopped_epoch) : json_null());
    const char *reason = strcmp(o->status, "ok") != 0 ? "diverged"
                         : nb->stopped_epoch > 0
                             ? "halving, and the relative improvement fell below end_halving_impr"
                             : "every epoch ran (max_iters: finetune.epochs)";
    json_object_set_new(j, "reason", json_string(reason));
    json_object_set_new(root, "newbob", j);
    json_object_set_new(root, "final_epoch", json_integer(o->final_epoch));
}

static enum amx_status write_summary(const struct amx_experiment *exp, size_t run,
                                     const char *run_dir, const struct outcome *o,
                                     const struct early_stop *es, const struct newbob *nb,
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
    /* a run that measures no test error (a tuning run) has no test field:
     * its best epoch is the validation set's */
    if (o->test) {
        json_object_set_new(root, "final_test_error", json_number_or_null(o->final_test, true));
        json_object_set_new(root, "best_test_error", json_number_or_null(o->best_test, true));
    } else {
        json_object_set_new(root, "best_validation_error",
                            json_number_or_null(o->best_valid, d->n_valid > 0));
    }
    json_object_set_new(root, "best_epoch", json_integer(o->best_epoch));
    json_object_set_new(root, "final_train_error", json_number_or_null(o->final_train, true));
    json_object_set_new(root, "final_validation_error",
                        json_number_or_null(o->final_valid, d->n_valid > 0));
    if (es->cfg->enabled) summary_early_stop(root, o, es);
    if (nb->cfg->enabled) summary_newbob(root, o, nb);
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
    if (exp->runs[run].cfg.network.task == AMX_TASK_CLASSIFIER)
        summary_classifier(root, data, o, d);
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

/* config.yaml first: the run folder says what ran even if it dies. */
static enum amx_status write_config(const struct amx_run_config *cfg, const char *run_dir,
                                    struct amx_error *err)
{
    struct amx_node *node = amx_config_to_node(cfg);
    char *yaml = node ? amx_node_emit_string(node) : NULL;
    amx_node_free(node);
    if (!yaml) return amx_fail(err, AMX_ERR_NOMEM, run_dir, 0, 0, "out of memory");
    struct amx_buf yb = {0};
    amx_buf_append(&yb, yaml, strlen(yaml));
    free(yaml);
    enum amx_status st = write_text(run_dir, "config.yaml", &yb, err);
    amx_buf_free(&yb);
    return st;
}

/* The epoch's measures into the outcome: final values, the best test
 * error (its first epoch; the best validation error in a run without the
 * test set), divergence. */
static void record(struct outcome *o, const struct measures *ms, int epoch,
                   const struct amx_model_kind *kind, double limit)
{
    o->epochs = epoch;
    o->final_epoch = epoch;
    o->last = *ms;
    o->final_train = ms->v[SPLIT_TRAIN][0];
    o->final_valid = ms->v[SPLIT_VALID][0];
    o->final_test = ms->v[SPLIT_TEST][0];
    if (o->test && (epoch == 0 || (isfinite(o->final_test) && o->final_test < o->best_test))) {
        o->best_test = o->final_test;
        o->best_epoch = epoch;
    }
    if (!o->test && (epoch == 0 || (isfinite(o->final_valid) && o->final_valid < o->best_valid))) {
        o->best_valid = o->final_valid;
        o->best_epoch = epoch;
    }
    /* without the test set, the validation set's error; without either, the
     * training error's alone */
    int watched = o->test ? SPLIT_TEST : o->has_valid ? SPLIT_VALID : SPLIT_TRAIN;
    if (measures_diverged(ms, kind, limit, epoch > 0, watched)) o->status = "diverged";
}

/* The validation-driven controls of a run: each group's plateau state. */
struct controls {
    struct amx_plateau_state plateau[AMX_MAX_RULE_BINDINGS];
};

static bool any_plateau(const struct amx_finetune_config *fc)
{
    for (size_t g = 0; g < fc->n_rules; g++)
        if (fc->rules[g].spec.plateau.on) return true;
    return false;
}

static void controls_start(struct controls *ctl, const struct amx_finetune_config *fc)
{
    for (size_t g = 0; g < fc->n_rules && g < AMX_MAX_RULE_BINDINGS; g++)
        amx_plateau_start(&ctl->plateau[g], fc->rules[g].spec.eta0);
}

/* After an epoch measured as ms: each plateau group's eta0 for the next
 * (groups are the bindings, in order: optim.h). */
static void controls_after_epoch(struct controls *ctl, struct amx_model *m,
                                 const struct amx_finetune_config *fc, const struct measures *ms)
{
    for (size_t g = 0; g < fc->n_rules && g < AMX_MAX_RULE_BINDINGS; g++) {
        const struct amx_plateau *pl = &fc->rules[g].spec.plateau;
        if (!pl->on) continue;
        amx_model_set_eta0(m, g, amx_plateau_step(pl, &ctl->plateau[g], ms->v[SPLIT_VALID][0]));
    }
}

/* Keras' on_epoch_end after epoch (1-based; Keras counts from 0): an
 * epoch before start_epoch is not watched; an improvement is an error
 * below best - min_delta (and, with restore_best, the weights are kept);
 * training stops once patience watched epochs passed without one (never
 * after the first epoch). Returns whether to stop. */
static bool early_stop_after_epoch(struct early_stop *es, const struct amx_model *m, int epoch,
                                   const struct measures *ms)
{
    const struct amx_early_stop_config *c = es->cfg;
    if (!c->enabled || epoch - 1 < c->start_epoch) return false;
    double v = ms->v[SPLIT_VALID][0];
    es->wait++;
    if (v < es->best - c->min_delta) {
        es->best = v;
        es->best_epoch = epoch;
        es->wait = 0;
        if (es->weights) {
            amx_model_params_save(m, es->weights);
            es->ms = *ms;
        }
        return false;
    }
    if (es->wait >= c->patience && epoch - 1 > 0) {
        es->stopped_epoch = epoch;
        return true;
    }
    return false;
}

/* Keras' on_train_end with restore_best: the best epoch's weights, and its
 * measures as the final ones. */
static void early_stop_restore(struct early_stop *es, struct amx_model *m, struct outcome *o)
{
    if (!es->weights || es->best_epoch == 0 || strcmp(o->status, "ok") != 0) return;
    amx_model_params_load(m, es->weights);
    es->restored = true;
    o->final_epoch = es->best_epoch;
    o->last = es->ms;
    o->final_train = es->ms.v[SPLIT_TRAIN][0];
    o->final_valid = es->ms.v[SPLIT_VALID][0];
    o->final_test = es->ms.v[SPLIT_TEST][0];
}

/* newbob's snapshot of the kept epoch: weights, rule state, measures. */
static void newbob_keep(struct newbob *nb, const struct amx_model *m, int epoch,
                        const struct measures *ms)
{
    amx_model_params_save(m, nb->weights);
    amx_model_state_save(m, nb->state, nb->steps);
    nb->last_kept = epoch;
    nb->ms = *ms;
}

/* After epoch (1-based) measured as ms: keep its weights or go back to the
 * last kept ones (weights, every rule's state and momentum, the update
 * count: bit for bit), halve every group's eta0, or stop. *kept: whether
 * the epoch was kept. Returns whether to stop. */
static bool newbob_after_epoch(struct newbob *nb, struct amx_model *m, int epoch,
                               const struct measures *ms, bool *kept)
{
    *kept = true;
    if (!nb->cfg->enabled) return false;
    struct amx_newbob_decision d = amx_newbob_after(&nb->nb, &nb->s, epoch, ms->v[SPLIT_VALID][0]);
    *kept = d.keep;
    if (d.keep) {
        newbob_keep(nb, m, epoch, ms);
    } else {
        amx_model_params_load(m, nb->weights);
        amx_model_state_load(m, nb->state, nb->steps);
        nb->rejected++;
    }
    for (size_t g = 0; d.halve && g < amx_model_group_count(m); g++)
        amx_model_set_eta0(m, g, amx_model_eta0(m, g) * nb->cfg->halving_factor);
    if (d.stop) nb->stopped_epoch = epoch;
    return d.stop;
}

/* The final weights are the last kept epoch's: its measures are final. */
static void newbob_final(const struct newbob *nb, struct outcome *o)
{
    if (!nb->cfg->enabled || strcmp(o->status, "ok") != 0) return;
    o->final_epoch = nb->last_kept;
    o->last = nb->ms;
    o->final_train = nb->ms.v[SPLIT_TRAIN][0];
    o->final_valid = nb->ms.v[SPLIT_VALID][0];
    o->final_test = nb->ms.v[SPLIT_TEST][0];
}

/* One epoch of mini-batches in the order of a fresh permutation; false when
 * a step's loss was not finite (the rest of the epoch is skipped). */
static bool train_epoch(struct amx_model *m, const struct amx_run_data *d, int batch_size,
                        struct amx_rng *order, uint32_t *perm, float *batch, uint8_t *labels)
{
    const size_t V = (size_t)m->net.sizes[0], n = d->n_train;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    amx_rng_shuffle(order, perm, n);
    for (size_t start = 0; start < n; start += (size_t)batch_size) {
        size_t B = n - start < (size_t)batch_size ? n - start : (size_t)batch_size;
        for (size_t b = 0; b < B; b++) {
            memcpy(batch + b * V, d->train + (size_t)perm[start + b] * V, sizeof(float) * V);
            if (labels) labels[b] = d->train_labels[perm[start + b]];
        }
        if (!isfinite(amx_model_step(m, batch, labels, (int)B))) return false;
    }
    return true;
}

enum amx_status amx_task_finetune(const struct amx_experiment *exp, size_t run,
                                  const struct amx_run_data *d, const char *cache_path,
                                  const char *run_dir, int threads, amx_progress_fn progress,
                                  void *pctx, struct amx_error *err)
{
    const struct amx_run_config *cfg = &exp->runs[run].cfg;
    const struct amx_finetune_config *fc = &cfg->finetune;
    double t_start = now_seconds();
    enum amx_status st = amx_mkdir_nofollow(run_dir, err); /* never a link */
    if (st == AMX_OK) st = write_config(cfg, run_dir, err);
    if (st != AMX_OK) return st;

    double pretrain_seconds = 0, cached_seconds = 0;
    struct amx_model m;
    memset(&m, 0, sizeof m);
    uint32_t *perm = NULL;
    float *batch = NULL;
    uint8_t *labels = NULL;
    const bool classifier = cfg->network.task == AMX_TASK_CLASSIFIER;
    const int classes = classifier ? amx_run_data_classes(cfg, d) : 0;
    const bool test = cfg->evaluation.test;
    struct curve c = {.has_valid = d->n_valid > 0,
                      .has_test = test,
                      .log_eta0 = any_plateau(fc),
                      .kind = amx_model_kind_of(cfg->network.task)};
    struct controls ctl;
    controls_start(&ctl, fc);
    struct early_stop es = {.cfg = &fc->early_stop, .best = HUGE_VAL};
    struct newbob nb = {.cfg = &fc->newbob,
                        .nb = {.start_halving_impr = fc->newbob.start_halving_impr,
                               .end_halving_impr = fc->newbob.end_halving_impr,
                               .min_iters = fc->newbob.min_iters,
                               .keep_lr_iters = fc->newbob.keep_lr_iters}};
    c.log_kept = fc->newbob.enabled;
    c.log_eta0 = c.log_eta0 || fc->newbob.enabled;

    st = amx_model_init(&m, cfg, classes, cache_path, threads, &cached_seconds, err);
    if (st != AMX_OK) goto done;
    /* row 0 and pretrain_seconds: the pretraining (as long as it took when it
     * was computed, also when this run reuses it) plus loading and the first
     * evaluation */
    pretrain_seconds = cached_seconds + (now_seconds() - t_start);

    size_t n = d->n_train;
    perm = malloc(sizeof *perm * n);
    batch = malloc(sizeof *batch * (size_t)cfg->network.layers[0] * (size_t)fc->batch_size);
    labels = classifier ? malloc((size_t)fc->batch_size) : NULL;
    if (fc->early_stop.enabled && fc->early_stop.restore_best)
        es.weights = malloc(sizeof(float) * (amx_model_param_floats(&m) + 1));
    if (fc->newbob.enabled) {
        nb.weights = malloc(sizeof(float) * (amx_model_param_floats(&m) + 1));
        nb.state = malloc(sizeof(float) * (amx_model_state_floats(&m) + 1));
    }
    if (!perm || !batch || (classifier && !labels) ||
        (fc->early_stop.enabled && fc->early_stop.restore_best && !es.weights) ||
        (fc->newbob.enabled && (!nb.weights || !nb.state))) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto done;
    }
    struct amx_rng order;
    amx_rng_stream(&order, cfg->seed, (uint32_t)cfg->repeat, AMX_STREAM_FINETUNE_ORDER);

    struct outcome o = {.status = "ok",
                        .best_epoch = 0,
                        .classes = classes,
                        .test = test,
                        .has_valid = c.has_valid};
    o.n_train_eval = cfg->evaluation.train_subset > 0 && (size_t)cfg->evaluation.train_subset < n
                         ? (size_t)cfg->evaluation.train_subset
                         : n;
    /* train_error on the first train_subset training images (the same ones
     * for every run and repeat, so paired runs are measured alike), or on all */
    double t_eval0 = now_seconds();
    struct measures ms = {{{0}}};
    measure(&m, d, o.n_train_eval, test, &ms);
    /* the pictures of the first repeat: what they need of the network
     * before fine-tuning */
    const bool pictures = cfg->repeat == 0 && test; /* they show test images */
    if (pictures && c.kind->pictures_before) {
        st = c.kind->pictures_before(&m, d, err);
        if (st != AMX_OK) goto done;
    }
    curve_header(&c, &m);
    curve_row(&c, &m, 0, &ms, pretrain_seconds + now_seconds() - t_eval0, true, NULL);
    record(&o, &ms, 0, c.kind, fc->divergence_limit);
    if (nb.cfg->enabled) {
        amx_newbob_start(&nb.s, ms.v[SPLIT_VALID][0]);
        newbob_keep(&nb, &m, 0, &ms);
    }
    int kept_epochs = 0; /* the rules' epoch clock: a rejected epoch never happened */
    if (progress) progress(pctx, 0, 0, fc->epochs, test ? o.final_test : o.final_valid);

    double t_ft = now_seconds();
    for (int epoch = 1; epoch <= fc->epochs && strcmp(o.status, "ok") == 0; epoch++) {
        double t0 = now_seconds();
        amx_model_epoch_begin(&m, kept_epochs);
        bool ok = train_epoch(&m, d, fc->batch_size, &order, perm, batch, labels);
        measure(&m, d, o.n_train_eval, test, &ms);
        double seconds = now_seconds() - t0;
        record(&o, &ms, epoch, c.kind, fc->divergence_limit);
        if (!ok) o.status = "diverged";
        bool kept = true, stop = false;
        double eta0[AMX_MAX_RULE_BINDINGS]; /* the epoch's, before newbob halves them */
        for (size_t g = 0; g < amx_model_group_count(&m) && g < AMX_MAX_RULE_BINDINGS; g++)
            eta0[g] = amx_model_eta0(&m, g);
        if (strcmp(o.status, "ok") == 0) stop = newbob_after_epoch(&nb, &m, epoch, &ms, &kept);
        kept_epochs += kept;
        curve_row(&c, &m, epoch, &ms, seconds, kept, eta0);
        controls_after_epoch(&ctl, &m, fc, &ms);
        if (progress) progress(pctx, 0, epoch, fc->epochs, test ? o.final_test : o.final_valid);
        if (stop) break;
        if (strcmp(o.status, "ok") == 0 && early_stop_after_epoch(&es, &m, epoch, &ms)) break;
    }
    early_stop_restore(&es, &m, &o);
    newbob_final(&nb, &o);
    o.finetune_seconds = now_seconds() - t_ft;
    o.pretrain_seconds = pretrain_seconds;
    o.seconds = cached_seconds + (now_seconds() - t_start);

    if (pictures && c.kind->pictures_after) {
        st = c.kind->pictures_after(&m, d, run_dir, err);
        if (st != AMX_OK) goto done;
    }
    st = write_text(run_dir, "curve.csv", &c.csv, err);
    if (st == AMX_OK && cfg->output.weights) {
        char wpath[AMX_PATH_MAX + 64];
        snprintf(wpath, sizeof wpath, "%s/weights.npz", run_dir);
        st = amx_write_weights_npz(wpath, &m.net, err);
    }
    if (st == AMX_OK) st = write_summary(exp, run, run_dir, &o, &es, &nb, d, err);

done:
    free(es.weights);
    free(nb.weights);
    free(nb.state);
    amx_buf_free(&c.csv);
    free(labels);
    free(batch);
    free(perm);
    amx_model_free(&m);
    return st;
}
