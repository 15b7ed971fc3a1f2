/* The AdaMix weight rule (HE Yu-Yao, LI Bao-Qi, Acta Automatica Sinica 2016,
 * our reading of its abstract): a rate from the current gradient only,
 *   eta = eta0 / sqrt(K + G)
 * with G = g^2 of this update (window: step, the default; no state is read)
 * or the sum of g^2 over this epoch's updates so far, this one included
 * (window: epoch; the sum is reset by epoch_begin). State: the epoch sum,
 * one float per parameter, with window: epoch only. */
#include "rule_impl.h"

#include <string.h>

enum { P_K, P_WINDOW };
enum { WINDOW_STEP, WINDOW_EPOCH };

static const char *const windows[] = {"step", "epoch", NULL};

static const struct amx_rule_param_def params[] = {
    [P_K] = {"K", 1.0, 0.0, HUGE_VAL, AMX_PARAM_LO_OPEN, NULL, "added under the square root"},
    [P_WINDOW] = {"window", WINDOW_STEP, 0.0, 1.0, AMX_PARAM_INTEGER, windows,
                  "which squared gradients G sums: this update's (step) or this epoch's (epoch)"},
};

static inline void block_step(float eta0, float K, const float *restrict g, float *restrict r,
                              float *restrict d, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        r[j] = eta0 / sqrtf(K + g[j] * g[j]);
        d[j] = r[j] * g[j];
    }
}

AMX_VECTOR_CLONES static void update(const struct amx_rule_ctx *ctx, float *theta, const float *g,
                                     float *state, float *velocity, size_t n,
                                     struct amx_rate_stats *stats)
{
    const struct amx_rule_spec *s = ctx->spec;
    const float eta0 = (float)s->eta0, K = (float)s->p[P_K], mu = (float)s->momentum;
    const int window = (int)s->p[P_WINDOW];
    float r[AMX_CHUNK], d[AMX_CHUNK];
    struct lane_stats L;
    lanes_init(&L);
    for (size_t i = 0; i < n; i += AMX_CHUNK) {
        const size_t m = n - i < AMX_CHUNK ? n - i : AMX_CHUNK;
        if (window == WINDOW_EPOCH)
            block_sum_rate(eta0, K, g + i, state + i, r, d, m);
        else
            block_step(eta0, K, g + i, r, d, m);
        apply_step(theta + i, ctx->theta16 ? ctx->theta16 + i : NULL, d,
                   velocity ? velocity + i : NULL, m, mu);
        lanes_add(&L, r, m);
    }
    lanes_finish(&L, n, stats);
}

/* window: step reads no state: none is allocated (11 MB of the 35 MB of
 * the full network's worker). */
static int state_floats_for(const struct amx_rule_spec *spec)
{
    return (int)spec->p[P_WINDOW] == WINDOW_EPOCH ? 1 : 0;
}

static void epoch_begin(const struct amx_rule_spec *spec, float *state, size_t n)
{
    if ((int)spec->p[P_WINDOW] == WINDOW_EPOCH) memset(state, 0, n * sizeof *state);
}

const struct amx_rule amx_rule_current_gradient = {
    .name = "current-gradient",
    .alias = NULL,
    .summary = "eta = eta0 / sqrt(K + G), G = g^2 of this update (or of this epoch so far)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .state_floats = 1,
    .state_floats_for = state_floats_for,
    .update = update,
    .epoch_begin = epoch_begin,
};
