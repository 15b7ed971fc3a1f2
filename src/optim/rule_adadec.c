/* AdaDec (Senior, Heigold, Ranzato, Yang, ICASSP 2013): AdaGrad whose sum
 * decays, times a power schedule that carries the long-term decrease:
 *   A <- gamma*A + g^2;   eta = eta0 * (1 + t/r)^(-c) / sqrt(K + A)
 * per parameter (state first, then the rate). With gamma = 1 and c = 0 it is
 * AdaGrad. State: A, one float per parameter. The schedule factor is computed
 * once per call in double. */
#include "rule_impl.h"

enum { P_GAMMA, P_K, P_R, P_C };

static const struct amx_rule_param_def params[] = {
    [P_GAMMA] = {"gamma", 0.999, 0.0, 1.0, AMX_PARAM_LO_OPEN, NULL,
                 "decay of the sum of squared gradients per update (1 = AdaGrad's sum)"},
    [P_K] = {"K", 1.0, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL, "added under the square root"},
    [P_R] = {"r", 10.0, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL,
             "time constant of the power schedule"},
    [P_C] = {"c", 1.0, 0.0, HUGE_VAL, 0, NULL, "exponent of the power schedule (0 = none)"},
};

static inline void block(float eta, float gamma, float K, const float *restrict g,
                         float *restrict A, float *restrict r, float *restrict d, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        const float a = gamma * A[j] + g[j] * g[j];
        A[j] = a;
        r[j] = eta / sqrtf(K + a);
        d[j] = r[j] * g[j];
    }
}

AMX_VECTOR_CLONES static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g,
                                     float *state, float *velocity, size_t n,
                                     struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta = (float)(s->eta0 * power_schedule(ctx->t, s->p[P_R], s->p[P_C]));
    const float gamma = (float)s->p[P_GAMMA], K = (float)s->p[P_K], mu = (float)s->momentum;
    float r[AMX_CHUNK], d[AMX_CHUNK];
    struct lane_stats L;
    lanes_init(&L);
    for (size_t i = 0; i < n; i += AMX_CHUNK) {
        const size_t m = n - i < AMX_CHUNK ? n - i : AMX_CHUNK;
        block(eta, gamma, K, g + i, state + i, r, d, m);
        apply_step(theta + i, ctx->theta16 ? ctx->theta16 + i : NULL, d,
                   velocity ? velocity + i : NULL, m, mu);
        lanes_add(&L, r, m);
    }
    lanes_finish(&L, n, stats);
}

const struct amx_rule amx_rule_adadec = {
    .name = "adadec",
    .alias = NULL,
    .summary = "eta = eta0 * (1 + t/r)^(-c) / sqrt(K + A), A <- gamma*A + g^2",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 1,
    .uses_clock = true,
    .update = update,
    .epoch_begin = NULL,
};
