/* AdaGrad with Senior et al.'s constant K (Duchi, Hazan, Singer 2011;
 * Senior, Heigold, Ranzato, Yang, ICASSP 2013):
 *   A <- A + g^2;   eta = eta0 / sqrt(K + A)
 * per parameter, where A sums the squared gradients of every update so far,
 * this one included (state first, then the rate). State: A, one float per
 * parameter. No schedule: the clock is not used. */
#include "rule_impl.h"

enum { P_K };

static const struct amx_rule_param_def params[] = {
    [P_K] = {"K", 1.0, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL,
             "added under the square root; bounds the first rates by eta0/sqrt(K)"},
};

AMX_VECTOR_CLONES static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g,
                                     float *state, float *velocity, size_t n,
                                     struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta0 = (float)s->eta0, K = (float)s->p[P_K], mu = (float)s->momentum;
    float r[AMX_CHUNK], d[AMX_CHUNK];
    struct lane_stats L;
    lanes_init(&L);
    for (size_t i = 0; i < n; i += AMX_CHUNK) {
        const size_t m = n - i < AMX_CHUNK ? n - i : AMX_CHUNK;
        block_sum_rate(eta0, K, g + i, state + i, r, d, m);
        apply_step(theta + i, ctx->theta16 ? ctx->theta16 + i : NULL, d,
                   velocity ? velocity + i : NULL, m, mu);
        lanes_add(&L, r, m);
    }
    lanes_finish(&L, n, stats);
}

const struct amx_rule amx_rule_adagrad = {
    .name = "adagrad",
    .alias = NULL,
    .summary = "eta = eta0 / sqrt(K + sum of g^2 over every update so far)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 1,
    .update = update,
    .epoch_begin = NULL,
};
