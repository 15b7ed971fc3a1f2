/* Power scheduling (Senior, Heigold, Ranzato, Yang, ICASSP 2013):
 * eta(t) = eta0 * (1 + t/r)^(-c), one rate for every parameter, t the epoch
 * (or the update with per: step). The AdaMix bias rule. This is not the
 * "polynomial decay to an end value" of PyTorch, Optax or Keras. The rate is
 * computed once per call in double; statistics are closed-form. */
#include "rule_impl.h"

enum { P_R, P_C };

static const struct amx_rule_param_def params[] = {
    [P_R] = {"r", 10.0, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL,
             "time constant: the rate has fallen to eta0 * 2^(-c) at t = r"},
    [P_C] = {"c", 1.0, 0.0, HUGE_VAL, 0, NULL, "decay exponent (0 = constant rate)"},
};

static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g, float *state,
                   float *velocity, size_t n, struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta = (float)(s->eta0 * power_schedule(ctx->t, s->p[P_R], s->p[P_C]));
    apply_uniform(theta, ctx->theta16, g, velocity, n, eta, (float)s->momentum);
    stats_add_uniform(stats, eta, n);
}

const struct amx_rule amx_rule_power = {
    .name = "power-exponential",
    .alias = "power",
    .summary = "eta = eta0 * (1 + t/r)^(-c)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 0,
    .uses_clock = true,
    .update = update,
    .epoch_begin = NULL,
};
