/* The plateau modifier: PyTorch's ReduceLROnPlateau in mode min, applied
 * to a rule's eta0 once per epoch from the validation error. Its parameter
 * table is read by src/config as a rule's is (names, defaults, ranges), so
 * the language and the docs follow this one table. Pure arithmetic: the
 * run module feeds it each epoch's validation error and sets the next
 * epoch's eta0. */
#include "adamix/optim.h"

#include <math.h>
#include <string.h>

static const char *const mode_words[] = {"min", NULL};
static const char *const threshold_mode_words[] = {"rel", "abs", NULL};

const struct amx_rule_param_def amx_plateau_params[AMX_PLATEAU_N_PARAMS] = {
    [AMX_PLATEAU_MODE] = {"mode", 0, 0, 0, 0, mode_words,
                          "min: a smaller validation error is an improvement"},
    [AMX_PLATEAU_FACTOR] = {"factor", 0.1, 0.0, 1.0, AMX_PARAM_LO_OPEN | AMX_PARAM_HI_OPEN, NULL,
                            "eta0 is multiplied by factor at a reduction"},
    [AMX_PLATEAU_PATIENCE] = {"patience", 10, 0.0, HUGE_VAL, AMX_PARAM_INTEGER, NULL,
                              "epochs without improvement before a reduction"},
    [AMX_PLATEAU_THRESHOLD] = {"threshold", 1e-4, 0.0, HUGE_VAL, 0, NULL,
                               "how much better than the best counts as an improvement"},
    [AMX_PLATEAU_THRESHOLD_MODE] = {"threshold_mode", 0, 0, 0, 0, threshold_mode_words,
                                    "rel: below best*(1-threshold); abs: below best-threshold"},
    [AMX_PLATEAU_COOLDOWN] = {"cooldown", 0, 0.0, HUGE_VAL, AMX_PARAM_INTEGER, NULL,
                              "epochs after a reduction during which none counts as bad"},
    [AMX_PLATEAU_MIN_LR] = {"min_lr", 0, 0.0, HUGE_VAL, 0, NULL, "the least eta0"},
    [AMX_PLATEAU_EPS] = {"eps", 1e-8, 0.0, HUGE_VAL, 0, NULL,
                         "a reduction of eta0 by eps or less is skipped"},
};

void amx_plateau_defaults(struct amx_plateau *pl)
{
    memset(pl, 0, sizeof *pl);
    for (int i = 0; i < AMX_PLATEAU_N_PARAMS; i++)
        pl->p[i] = amx_plateau_params[i].def;
}

void amx_plateau_start(struct amx_plateau_state *s, double eta0)
{
    s->eta = eta0;
    s->best = HUGE_VAL;
    s->bad_epochs = 0;
    s->cooldown = 0;
}

/* PyTorch's is_better in mode min (a NaN never is). */
static bool improves(const struct amx_plateau *pl, double metric, double best)
{
    double th = pl->p[AMX_PLATEAU_THRESHOLD];
    if (pl->p[AMX_PLATEAU_THRESHOLD_MODE] == 1) return metric < best - th;
    return metric < best * (1.0 - th);
}

/* PyTorch's _reduce_lr: by factor, not below min_lr, not by eps or less. */
static double reduced(const struct amx_plateau *pl, double eta)
{
    double next = fmax(eta * pl->p[AMX_PLATEAU_FACTOR], pl->p[AMX_PLATEAU_MIN_LR]);
    return eta - next > pl->p[AMX_PLATEAU_EPS] ? next : eta;
}

double amx_plateau_step(const struct amx_plateau *pl, struct amx_plateau_state *s, double metric)
{
    if (improves(pl, metric, s->best)) {
        s->best = metric;
        s->bad_epochs = 0;
    } else {
        s->bad_epochs++;
    }
    if (s->cooldown > 0) {
        s->cooldown--;
        s->bad_epochs = 0;
    }
    if ((double)s->bad_epochs > pl->p[AMX_PLATEAU_PATIENCE]) {
        s->eta = reduced(pl, s->eta);
        s->cooldown = (long)pl->p[AMX_PLATEAU_COOLDOWN];
        s->bad_epochs = 0;
    }
    return s->eta;
}
