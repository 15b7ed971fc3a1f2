/* The optimizer: resolves the parameter groups once, carves every rule's state
 * and every momentum velocity out of one zeroed slab, keeps the clock (update
 * count over the fine-tuning, update within the epoch, epoch) and applies one
 * update of every tensor per step, collecting each group's rate statistics
 * for the epoch. It owns no parameters or gradients (the tensors are views)
 * and allocates nothing after init; it does no I/O. */
#include "adamix/optim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each tensor's state starts on a 64-byte boundary (16 floats), so the
 * vector loops of the rules see aligned arrays. */
#define ALIGN_FLOATS 16
#define ALIGN_BYTES (ALIGN_FLOATS * sizeof(float))

struct slot {
    struct amx_param_tensor t;
    int group;       /* binding index */
    float *state;    /* the spec's state arrays (state_floats) of t.n floats, or NULL */
    float *velocity; /* t.n floats when the group's momentum > 0, else NULL */
};

struct group {
    char name[AMX_SELECTOR_MAX];
    struct amx_rule_spec spec;
    struct amx_rate_stats stats;
};

struct amx_optimizer {
    struct slot *slots;
    size_t n_slots;
    struct group *groups;
    size_t n_groups;
    float *slab;
    size_t slab_floats;
    long epoch, step, step_in_epoch;
};

static size_t round_up(size_t n)
{
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

void amx_optimizer_free(struct amx_optimizer *opt)
{
    if (!opt) return;
    free(opt->slots);
    free(opt->groups);
    free(opt->slab);
    free(opt);
}

static void reset_stats(struct amx_optimizer *opt)
{
    for (size_t g = 0; g < opt->n_groups; g++)
        memset(&opt->groups[g].stats, 0, sizeof opt->groups[g].stats);
}

/* The state arrays per parameter a spec's rule needs. */
static int state_floats(const struct amx_rule_spec *spec)
{
    return spec->rule->state_floats_for ? spec->rule->state_floats_for(spec)
                                        : spec->rule->state_floats;
}

enum amx_status amx_optimizer_init(struct amx_optimizer **out,
                                   const struct amx_param_tensor *tensors, size_t n_tensors,
                                   const struct amx_rule_binding *bindings, size_t n_bindings,
                                   struct amx_error *err)
{
    *out = NULL;
    for (size_t b = 0; b < n_bindings; b++)
        if (!bindings[b].spec.rule || !bindings[b].spec.rule->update)
            return amx_fail(err, AMX_ERR_CONFIG, NULL, bindings[b].line, bindings[b].col,
                            "parameter group '%s' has no rule", bindings[b].selector);

    struct amx_optimizer *opt = calloc(1, sizeof *opt);
    int *assign = calloc(n_tensors ? n_tensors : 1, sizeof *assign);
    enum amx_status st = AMX_OK;
    if (!opt || !assign) {
        st = amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0, "out of memory for the optimizer");
        goto fail;
    }
    st = amx_groups_resolve(tensors, n_tensors, bindings, n_bindings, assign, NULL, 0, 0, err);
    if (st != AMX_OK) goto fail;

    opt->n_groups = n_bindings;
    opt->n_slots = n_tensors;
    opt->groups = calloc(n_bindings ? n_bindings : 1, sizeof *opt->groups);
    opt->slots = calloc(n_tensors ? n_tensors : 1, sizeof *opt->slots);
    if (!opt->groups || !opt->slots) {
        st = amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0, "out of memory for the optimizer");
        goto fail;
    }
    for (size_t b = 0; b < n_bindings; b++) {
        snprintf(opt->groups[b].name, sizeof opt->groups[b].name, "%s", bindings[b].selector);
        opt->groups[b].spec = bindings[b].spec;
    }

    /* Size the slab: per tensor, its rule state then its velocity. */
    size_t total = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        const struct amx_rule_spec *spec = &opt->groups[assign[i]].spec;
        total += round_up((size_t)state_floats(spec) * tensors[i].n);
        if (spec->momentum > 0) total += round_up(tensors[i].n);
    }
    if (total) {
        opt->slab = aligned_alloc(ALIGN_BYTES, total * sizeof(float));
        if (!opt->slab) {
            st = amx_fail(err, AMX_ERR_NOMEM, NULL, 0, 0,
                          "out of memory for the optimizer state (%zu floats)", total);
            goto fail;
        }
        memset(opt->slab, 0, total * sizeof(float));
    }
    opt->slab_floats = total;

    size_t off = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        struct slot *s = &opt->slots[i];
        const struct amx_rule_spec *spec = &opt->groups[assign[i]].spec;
        size_t ns = (size_t)state_floats(spec) * tensors[i].n;
        s->t = tensors[i];
        s->group = assign[i];
        s->state = ns ? opt->slab + off : NULL;
        off += round_up(ns);
        if (spec->momentum > 0) {
            s->velocity = opt->slab + off;
            off += round_up(tensors[i].n);
        }
    }
    free(assign);
    reset_stats(opt);
    *out = opt;
    return AMX_OK;

fail:
    free(assign);
    amx_optimizer_free(opt);
    return st;
}

void amx_optimizer_epoch_begin(struct amx_optimizer *opt, long epoch)
{
    opt->epoch = epoch;
    opt->step_in_epoch = 0;
    reset_stats(opt);
    for (size_t i = 0; i < opt->n_slots; i++) {
        struct slot *s = &opt->slots[i];
        const struct amx_rule_spec *spec = &opt->groups[s->group].spec;
        if (spec->rule->epoch_begin) spec->rule->epoch_begin(spec, s->state, s->t.n);
    }
}

void amx_optimizer_step(struct amx_optimizer *opt)
{
    for (size_t i = 0; i < opt->n_slots; i++) {
        struct slot *s = &opt->slots[i];
        struct group *g = &opt->groups[s->group];
        const struct amx_rule_ctx ctx = {
            .spec = &g->spec,
            .t = g->spec.per == AMX_CLOCK_STEP ? (double)opt->step : (double)opt->epoch,
            .epoch = opt->epoch,
            .step = opt->step,
            .step_in_epoch = opt->step_in_epoch,
            .theta16 = s->t.theta16,
        };
        g->spec.rule->update(&ctx, s->t.theta, s->t.grad, s->state, s->velocity, s->t.n, &g->stats);
    }
    opt->step++;
    opt->step_in_epoch++;
}

size_t amx_optimizer_state_floats(const struct amx_optimizer *opt)
{
    return opt->slab_floats;
}

size_t amx_optimizer_group_count(const struct amx_optimizer *opt)
{
    return opt->n_groups;
}

const char *amx_optimizer_group_name(const struct amx_optimizer *opt, size_t i)
{
    return i < opt->n_groups ? opt->groups[i].name : NULL;
}

struct amx_rate_stats amx_optimizer_group_stats(const struct amx_optimizer *opt, size_t i)
{
    struct amx_rate_stats none = {0};
    return i < opt->n_groups ? opt->groups[i].stats : none;
}

void amx_optimizer_set_eta0(struct amx_optimizer *opt, size_t i, double eta0)
{
    if (i < opt->n_groups) opt->groups[i].spec.eta0 = eta0;
}

double amx_optimizer_eta0(const struct amx_optimizer *opt, size_t i)
{
    return i < opt->n_groups ? opt->groups[i].spec.eta0 : 0;
}

void amx_optimizer_state_save(const struct amx_optimizer *opt, float *buf, long *step)
{
    if (opt->slab_floats) memcpy(buf, opt->slab, opt->slab_floats * sizeof(float));
    *step = opt->step;
}

void amx_optimizer_state_load(struct amx_optimizer *opt, const float *buf, long step)
{
    if (opt->slab_floats) memcpy(opt->slab, buf, opt->slab_floats * sizeof(float));
    opt->step = step;
}
