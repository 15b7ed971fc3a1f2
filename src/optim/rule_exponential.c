/* Exponential scheduling (Senior et al., ICASSP 2013):
 * eta(t) = eta0 * 10^(-t/r): the rate falls tenfold every r epochs (or
 * updates with per: step). One rate per call, closed-form statistics. */
#include "rule_impl.h"

enum { P_R };

static const struct amx_rule_param_def params[] = {
    [P_R] = {"r", 10.0, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL,
             "the rate falls tenfold every r epochs (or updates)"},
};

static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g, float *state,
                   float *velocity, size_t n, struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta = (float)(s->eta0 * pow(10.0, -ctx->t / s->p[P_R]));
    apply_uniform(theta, ctx->theta16, g, velocity, n, eta, (float)s->momentum);
    stats_add_uniform(stats, eta, n);
}

const struct amx_rule amx_rule_exponential = {
    .name = "exponential",
    .alias = NULL,
    .summary = "eta = eta0 * 10^(-t/r)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 0,
    .uses_clock = true,
    .update = update,
    .epoch_begin = NULL,
};
