/* The model interface's shared half (model.h): the table of kinds, and
 * what every kind does alike — building the network and its optimisers,
 * the step and the update of the AMX_NN_SPLIT parts, evaluation, the
 * pretrained stack's RBMs, the groups' rate statistics. */
#include "model.h"

#include "adamix/bf16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct amx_model_kind *const kinds[] = {
    [AMX_TASK_AUTOENCODER] = &amx_model_autoencoder,
    [AMX_TASK_CLASSIFIER] = &amx_model_classifier,
};

const struct amx_model_kind *amx_model_kind_of(enum amx_task task)
{
    return (unsigned)task < sizeof kinds / sizeof *kinds ? kinds[task] : NULL;
}

void amx_model_free_rbms(struct amx_rbm *rbms, int n)
{
    for (int i = 0; i < n; i++)
        amx_rbm_free(&rbms[i]);
}

enum amx_status amx_model_alloc_rbms(const struct amx_run_config *cfg, struct amx_rbm *rbms,
                                     struct amx_error *err)
{
    const struct amx_network_config *net = &cfg->network;
    const struct amx_model_kind *kind = amx_model_kind_of(net->task);
    int n = net->n_layers - 1;
    memset(rbms, 0, sizeof(*rbms) * (size_t)(n > 0 ? n : 0));
    for (int l = 0; l < n; l++) {
        enum amx_status st =
            amx_rbm_init(&rbms[l], net->layers[l], net->layers[l + 1], kind->rbm_linear(cfg, l, n),
                         cfg->pretrain.batch_size, err);
        if (st != AMX_OK) {
            amx_model_free_rbms(rbms, l);
            return st;
        }
    }
    return AMX_OK;
}

void amx_model_free(struct amx_model *m)
{
    if (m->kind && m->kind->pictures_free) m->kind->pictures_free(m);
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        amx_optimizer_free(m->opt[p]);
    free(m->tensors);
    free(m->all);
    amx_net_free(&m->net);
    memset(m, 0, sizeof *m);
}

enum amx_status amx_model_check_precision(const struct amx_run_config *cfg, struct amx_error *err)
{
    const char *why = amx_blas_precision_unavailable(cfg->compute.precision);
    if (!why) return AMX_OK;
    return amx_fail(err, AMX_ERR_CONFIG, cfg->file, 0, 0, "compute.precision is %s, but %s",
                    amx_precision_name(cfg->compute.precision), why);
}

/* The initial weights: the pretrained stack, or N(0, init_std^2) from the
 * INIT stream. */
static enum amx_status initial_weights(struct amx_model *m, const struct amx_run_config *cfg,
                                       const char *cache_path, double *cached_seconds,
                                       struct amx_error *err)
{
    struct amx_rng init;
    if (!cfg->pretrain.enabled) {
        amx_rng_stream(&init, cfg->seed, (uint32_t)cfg->repeat, AMX_STREAM_INIT);
        amx_net_init_random(&m->net, cfg->pretrain.init_std, &init);
        return AMX_OK;
    }
    int n = cfg->network.n_layers - 1;
    struct amx_rbm rbms[AMX_MAX_LAYERS];
    enum amx_status st = amx_model_alloc_rbms(cfg, rbms, err);
    if (st != AMX_OK) return st;
    st = amx_cache_load(cache_path, rbms, n, cached_seconds, err);
    if (st == AMX_OK) {
        /* the stack's weights came from INIT: what it does not give (a
         * classifier's softmax layer) comes from a stream of its own */
        amx_rng_stream(&init, cfg->seed, (uint32_t)cfg->repeat, AMX_STREAM_TOP_INIT);
        st = m->kind->from_rbms(&m->net, rbms, n, cfg, &init, err);
    }
    amx_model_free_rbms(rbms, n);
    return st;
}

enum amx_status amx_model_init(struct amx_model *m, const struct amx_run_config *cfg, int classes,
                               const char *cache_path, int threads, double *cached_seconds,
                               struct amx_error *err)
{
    memset(m, 0, sizeof *m);
    m->kind = amx_model_kind_of(cfg->network.task);
    m->loss = cfg->finetune.loss;
    if (!m->kind)
        return amx_fail(err, AMX_ERR_CONFIG, cfg->file, 0, 0, "unknown network.task %d",
                        (int)cfg->network.task);
    enum amx_status st = m->kind->init(&m->net, cfg, classes, err);
    if (st == AMX_OK) st = amx_net_check_loss(&m->net, cfg->finetune.loss, err);
    if (st == AMX_OK) st = amx_net_set_threads(&m->net, threads, err);
    if (st == AMX_OK) st = amx_model_check_precision(cfg, err);
    if (st == AMX_OK) st = amx_net_set_precision(&m->net, cfg->compute.precision, err);
    if (st == AMX_OK) st = initial_weights(m, cfg, cache_path, cached_seconds, err);
    if (st != AMX_OK) {
        amx_model_free(m);
        return st;
    }
    size_t nt = amx_net_tensors(&m->net, NULL);
    m->tensors = calloc(nt, sizeof *m->tensors);
    m->all = calloc(nt, sizeof *m->all);
    if (m->all) m->n_all = amx_net_tensors(&m->net, m->all);
    if (!m->tensors || !m->all) st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    const struct amx_finetune_config *fc = &cfg->finetune;
    for (int p = 0; p < AMX_NN_SPLIT && st == AMX_OK; p++) {
        size_t np = amx_net_tensor_part(&m->net, p, AMX_NN_SPLIT, m->tensors);
        st = amx_optimizer_init(&m->opt[p], m->tensors, np, fc->rules, fc->n_rules, err);
    }
    if (st != AMX_OK) amx_model_free(m);
    return st;
}

static void step_part(void *ctx, int part, int n_parts)
{
    (void)n_parts;
    amx_optimizer_step(((struct amx_model *)ctx)->opt[part]);
}

double amx_model_step(struct amx_model *m, const float *x, const uint8_t *labels, int B)
{
    struct amx_target t = {.x = x, .labels = labels};
    double loss = amx_net_train_step(&m->net, x, &t, B, m->loss);
    if (!isfinite(loss)) return loss;
    amx_net_run_parts(&m->net, step_part, m);
    return loss;
}

void amx_model_epoch_begin(struct amx_model *m, long epoch)
{
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        amx_optimizer_epoch_begin(m->opt[p], epoch);
}

void amx_model_evaluate(struct amx_model *m, const float *x, const uint8_t *labels, size_t n,
                        double v[AMX_MODEL_MAX_METRICS])
{
    struct amx_eval e;
    amx_net_evaluate(&m->net, x, labels, n, &e);
    v[0] = e.error;
    v[1] = e.loss;
}

size_t amx_model_group_count(const struct amx_model *m)
{
    return amx_optimizer_group_count(m->opt[0]);
}

const char *amx_model_group_name(const struct amx_model *m, size_t g)
{
    return amx_optimizer_group_name(m->opt[0], g);
}

size_t amx_model_param_floats(const struct amx_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_all; i++)
        n += m->all[i].n;
    return n;
}

void amx_model_params_save(const struct amx_model *m, float *buf)
{
    for (size_t i = 0; i < m->n_all; i++) {
        memcpy(buf, m->all[i].theta, sizeof(float) * m->all[i].n);
        buf += m->all[i].n;
    }
}

void amx_model_params_load(struct amx_model *m, const float *buf)
{
    for (size_t i = 0; i < m->n_all; i++) {
        const struct amx_param_tensor *t = &m->all[i];
        memcpy(t->theta, buf, sizeof(float) * t->n);
        for (size_t j = 0; t->theta16 && j < t->n; j++)
            t->theta16[j] = amx_bf16_bits(t->theta[j]);
        buf += t->n;
    }
}

size_t amx_model_state_floats(const struct amx_model *m)
{
    size_t n = 0;
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        n += amx_optimizer_state_floats(m->opt[p]);
    return n;
}

void amx_model_state_save(const struct amx_model *m, float *buf, long step[AMX_NN_SPLIT])
{
    for (int p = 0; p < AMX_NN_SPLIT; p++) {
        amx_optimizer_state_save(m->opt[p], buf, &step[p]);
        buf += amx_optimizer_state_floats(m->opt[p]);
    }
}

void amx_model_state_load(struct amx_model *m, const float *buf, const long step[AMX_NN_SPLIT])
{
    for (int p = 0; p < AMX_NN_SPLIT; p++) {
        amx_optimizer_state_load(m->opt[p], buf, step[p]);
        buf += amx_optimizer_state_floats(m->opt[p]);
    }
}

void amx_model_set_eta0(struct amx_model *m, size_t g, double eta0)
{
    for (int p = 0; p < AMX_NN_SPLIT; p++)
        amx_optimizer_set_eta0(m->opt[p], g, eta0);
}

double amx_model_eta0(const struct amx_model *m, size_t g)
{
    return amx_optimizer_eta0(m->opt[0], g);
}

struct amx_rate_stats amx_model_group_stats(const struct amx_model *m, size_t g)
{
    struct amx_rate_stats all = {0, 0, 0, 0};
    for (int p = 0; p < AMX_NN_SPLIT; p++) {
        struct amx_rate_stats s = amx_optimizer_group_stats(m->opt[p], g);
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
