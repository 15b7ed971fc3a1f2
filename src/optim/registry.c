/* The registry of learning-rate rules: a table of the rule objects, looked up
 * by name or alias, and the defaults of a rule's spec. Adding a rule is its
 * file (rule_<name>.c) plus one line in `rules` below. Validating a spec's
 * values against the parameter tables is src/config's job, not this file's. */
#include "rule_impl.h"

#include <string.h>

static const struct amx_rule *const rules[] = {
    &amx_rule_constant, &amx_rule_power,  &amx_rule_exponential,      &amx_rule_step,
    &amx_rule_adagrad,  &amx_rule_adadec, &amx_rule_current_gradient, &amx_rule_rmsprop,
    &amx_rule_adam,
};

/* eta0 when a rule entry gives none (the value of the examples in docs/). */
#define DEFAULT_ETA0 0.01

size_t amx_rule_count(void)
{
    return sizeof rules / sizeof rules[0];
}

const struct amx_rule *amx_rule_at(size_t i)
{
    return i < amx_rule_count() ? rules[i] : NULL;
}

const struct amx_rule *amx_rule_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < amx_rule_count(); i++) {
        if (strcmp(rules[i]->name, name) == 0) return rules[i];
        if (rules[i]->alias && strcmp(rules[i]->alias, name) == 0) return rules[i];
    }
    return NULL;
}

int amx_rule_param_index(const struct amx_rule *rule, const char *name)
{
    if (!rule || !name) return -1;
    for (int i = 0; i < rule->n_params; i++)
        if (strcmp(rule->params[i].name, name) == 0) return i;
    return -1;
}

void amx_rule_spec_defaults(struct amx_rule_spec *spec, const struct amx_rule *rule)
{
    memset(spec, 0, sizeof *spec);
    spec->rule = rule;
    spec->eta0 = DEFAULT_ETA0;
    spec->momentum = 0.0;
    spec->per = AMX_CLOCK_EPOCH;
    amx_plateau_defaults(&spec->plateau);
    if (!rule) return;
    for (int i = 0; i < rule->n_params && i < AMX_RULE_MAX_PARAMS; i++)
        spec->p[i] = rule->params[i].def;
}
