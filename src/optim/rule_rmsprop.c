/* RMSprop (Tieleman & Hinton, COURSERA lecture 6.5, 2012):
 *   v <- rho*v + (1 - rho)*g^2;   eta = eta0 / (sqrt(v) + eps)
 * per parameter, v starting at 0 (state first, then the rate). State: v.
 * No schedule: the clock is not used. */
#include "rule_impl.h"

enum { P_RHO, P_EPS };

static const struct amx_rule_param_def params[] = {
    [P_RHO] = {"rho", 0.9, 0.0, 1.0, AMX_PARAM_HI_OPEN, NULL,
               "decay of the mean of squared gradients"},
    [P_EPS] = {"eps", 1e-8, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL,
               "added to the root mean square"},
};

static inline void block(float eta0, float rho, float eps, const float *restrict g,
                         float *restrict v, float *restrict r, float *restrict d, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        const float a = rho * v[j] + (1.0f - rho) * (g[j] * g[j]);
        v[j] = a;
        r[j] = eta0 / (sqrtf(a) + eps);
        d[j] = r[j] * g[j];
    }
}

AMX_VECTOR_CLONES static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g,
                                     float *state, float *velocity, size_t n,
                                     struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta0 = (float)s->eta0, rho = (float)s->p[P_RHO], eps = (float)s->p[P_EPS];
    const float mu = (float)s->momentum;
    float r[AMX_CHUNK], d[AMX_CHUNK];
    struct lane_stats L;
    lanes_init(&L);
    for (size_t i = 0; i < n; i += AMX_CHUNK) {
        const size_t m = n - i < AMX_CHUNK ? n - i : AMX_CHUNK;
        block(eta0, rho, eps, g + i, state + i, r, d, m);
        apply_step(theta + i, ctx->theta16 ? ctx->theta16 + i : NULL, d,
                   velocity ? velocity + i : NULL, m, mu);
        lanes_add(&L, r, m);
    }
    lanes_finish(&L, n, stats);
}

const struct amx_rule amx_rule_rmsprop = {
    .name = "rmsprop",
    .alias = NULL,
    .summary = "eta = eta0 / (sqrt(v) + eps), v <- rho*v + (1-rho)*g^2",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 1,
    .update = update,
    .epoch_begin = NULL,
};
