/* Step decay: eta(t) = eta0 * gamma^floor(t/every), the rate multiplied by
 * gamma every `every` epochs (or updates with per: step). One rate per call,
 * closed-form statistics. */
#include "rule_impl.h"

enum { P_GAMMA, P_EVERY };

static const struct amx_rule_param_def params[] = {
    [P_GAMMA] = {"gamma", 0.5, 0.0, 1.0, AMX_PARAM_LO_OPEN, NULL,
                 "factor applied to the rate at each step"},
    [P_EVERY] = {"every", 10.0, 1.0, HUGE_VAL, AMX_PARAM_INTEGER, NULL,
                 "epochs (or updates) between two steps"},
};

static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g, float *state,
                   float *velocity, size_t n, struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta = (float)(s->eta0 * pow(s->p[P_GAMMA], floor(ctx->t / s->p[P_EVERY])));
    apply_uniform(theta, ctx->theta16, g, velocity, n, eta, (float)s->momentum);
    stats_add_uniform(stats, eta, n);
}

const struct amx_rule amx_rule_step = {
    .name = "step",
    .alias = NULL,
    .summary = "eta = eta0 * gamma^floor(t/every)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 0,
    .uses_clock = true,
    .update = update,
    .epoch_begin = NULL,
};
