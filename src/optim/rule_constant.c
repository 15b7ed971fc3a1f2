/* The constant rule: every parameter moves by eta0 * g at every update.
 * No parameters of its own, no state. It is the baseline the AdaMix overhead
 * is measured against (tools/bench/bench_update.c). */
#include "rule_impl.h"

static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g, float *state,
                   float *velocity, size_t n, struct amx_rate_stats *stats)
{
    const float eta = (float)ctx->spec->eta0;
    apply_uniform(theta, ctx->theta16, g, velocity, n, eta, (float)ctx->spec->momentum);
    stats_add_uniform(stats, eta, n);
}

const struct amx_rule amx_rule_constant = {
    .name = "constant",
    .alias = NULL,
    .summary = "eta = eta0",
    .params = NULL,
    .n_params = 0,
    .state_floats = 0,
    .update = update,
    .epoch_begin = NULL,
};
