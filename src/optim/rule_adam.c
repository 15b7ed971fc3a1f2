/* Adam (Kingma & Ba, ICLR 2015, Algorithm 1), with k = the update count
 * (step + 1, over the whole fine-tuning):
 *   m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2
 *   mhat = m/(1 - b1^k);   vhat = v/(1 - b2^k)
 *   eta = eta0 / (sqrt(vhat) + eps);   step = eta * mhat
 * The logged effective rate is eta, the factor applied to the bias-corrected
 * first moment mhat (which stands where g stands in the other rules). With
 * momentum mu > 0, v_mom <- mu*v_mom - eta*mhat as for every rule. State: m
 * then v, two floats per parameter. No schedule: per is not used. */
#include "rule_impl.h"

enum { P_BETA1, P_BETA2, P_EPS };

static const struct amx_rule_param_def params[] = {
    [P_BETA1] = {"beta1", 0.9, 0.0, 1.0, AMX_PARAM_HI_OPEN, NULL, "decay of the first moment"},
    [P_BETA2] = {"beta2", 0.999, 0.0, 1.0, AMX_PARAM_HI_OPEN, NULL, "decay of the second moment"},
    [P_EPS] = {"eps", 1e-8, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL,
               "added to the root of the second moment"},
};

struct coef {
    float eta0, b1, b2, eps, c1, c2; /* c1 = 1/(1-b1^k), c2 = 1/(1-b2^k) */
};

static inline void block(const struct coef *restrict c, const float *restrict g, float *restrict m1,
                         float *restrict m2, float *restrict r, float *restrict d, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        const float a = c->b1 * m1[j] + (1.0f - c->b1) * g[j];
        const float b = c->b2 * m2[j] + (1.0f - c->b2) * (g[j] * g[j]);
        m1[j] = a;
        m2[j] = b;
        r[j] = c->eta0 / (sqrtf(b * c->c2) + c->eps);
        d[j] = r[j] * (a * c->c1);
    }
}

AMX_VECTOR_CLONES static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g,
                                     float *state, float *velocity, size_t n,
                                     struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const double k = (double)(ctx->step + 1);
    const struct coef c = {
        .eta0 = (float)s->eta0,
        .b1 = (float)s->p[P_BETA1],
        .b2 = (float)s->p[P_BETA2],
        .eps = (float)s->p[P_EPS],
        .c1 = (float)(1.0 / (1.0 - pow(s->p[P_BETA1], k))),
        .c2 = (float)(1.0 / (1.0 - pow(s->p[P_BETA2], k))),
    };
    const float mu = (float)s->momentum;
    float *m1 = state, *m2 = state + n;
    float r[AMX_CHUNK], d[AMX_CHUNK];
    struct lane_stats L;
    lanes_init(&L);
    for (size_t i = 0; i < n; i += AMX_CHUNK) {
        const size_t m = n - i < AMX_CHUNK ? n - i : AMX_CHUNK;
        block(&c, g + i, m1 + i, m2 + i, r, d, m);
        apply_step(theta + i, ctx->theta16 ? ctx->theta16 + i : NULL, d,
                   velocity ? velocity + i : NULL, m, mu);
        lanes_add(&L, r, m);
    }
    lanes_finish(&L, n, stats);
}

const struct amx_rule amx_rule_adam = {
    .name = "adam",
    .alias = NULL,
    .summary = "eta = eta0 / (sqrt(vhat) + eps), step = eta * mhat (bias-corrected moments)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 2,
    .update = update,
    .epoch_begin = NULL,
};
