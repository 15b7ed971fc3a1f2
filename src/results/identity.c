/* What names a result: the configuration's full hash and summary.json's
 * identity fields. */
#include "adamix/results.h"

#include "adamix/sha256.h"

#include <stdlib.h>
#include <string.h>

bool amx_config_sha256(const struct amx_run_config *cfg, char hex[65])
{
    char *form = amx_canonical_form(cfg);
    if (!form) return false;
    amx_sha256_hex(form, strlen(form), hex);
    free(form);
    return true;
}

void amx_summary_identity(const struct amx_experiment *exp, size_t run, json_t *root)
{
    const struct amx_run *r = &exp->runs[run];
    json_t *sweep = json_object();
    for (size_t a = 0; a < exp->n_axes; a++)
        json_object_set_new(sweep, exp->axes[a].path,
                            json_string(exp->axes[a].labels[r->value[a]]));
    json_object_set_new(root, "name", json_string(r->cfg.name));
    json_object_set_new(root, "sweep", sweep);
    json_object_set_new(root, "repeat", json_integer(r->repeat));
    json_object_set_new(root, "seed", json_integer((json_int_t)r->cfg.seed));
}
