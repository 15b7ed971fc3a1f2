/* Reading a results folder back: the experiment it was made from, and its
 * report. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/results.h"

#include "adamix/node.h"

#include <stdio.h>
#include <stdlib.h>

enum amx_status amx_results_load(const char *dir, struct amx_experiment **exp,
                                 struct amx_errlist *errs)
{
    return amx_results_load_with(dir, NULL, 0, exp, errs);
}

enum amx_status amx_results_load_with(const char *dir, const char *const *extra, size_t n_extra,
                                      struct amx_experiment **exp, struct amx_errlist *errs)
{
    struct amx_error e = {0};
    char path[AMX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m) {
        amx_fail(&e, AMX_ERR_CONFIG, path, jerr.line > 0 ? jerr.line : 1,
                 jerr.column > 0 ? jerr.column : 1, "not a results folder of adamix-run (%s)",
                 jerr.text);
        amx_errlist_add(errs, &e);
        return e.code;
    }
    /* what an earlier invocation wrote is read as strictly as any input */
    json_t *ov = json_object_get(m, "overrides");
    if (!json_is_object(m) || (ov && !json_is_array(ov))) {
        amx_fail(&e, AMX_ERR_CONFIG, path, 0, 0, "%s",
                 !json_is_object(m) ? "expected a JSON object, found another value"
                                    : "\"overrides\" must be an array of strings");
        amx_errlist_add(errs, &e);
        json_decref(m);
        return e.code;
    }
    size_t n = json_array_size(ov);
    const char **o = calloc(n + n_extra + 1, sizeof *o);
    if (!o) {
        json_decref(m);
        amx_fail(&e, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        amx_errlist_add(errs, &e);
        return e.code;
    }
    for (size_t i = 0; i < n; i++) {
        o[i] = json_string_value(json_array_get(ov, i));
        if (!o[i]) {
            amx_fail(&e, AMX_ERR_CONFIG, path, 0, 0,
                     "\"overrides\" item %zu is not a string (expected PATH=VALUE)", i + 1);
            amx_errlist_add(errs, &e);
            free(o);
            json_decref(m);
            return e.code;
        }
    }
    for (size_t i = 0; i < n_extra; i++) /* after the folder's: the last one wins */
        o[n + i] = extra[i];
    snprintf(path, sizeof path, "%s/experiment.yaml", dir);
    char *text = NULL;
    size_t len = 0;
    enum amx_status st = amx_node_read_file(path, &text, &len, &e);
    if (st != AMX_OK)
        amx_errlist_add(errs, &e);
    else
        st = amx_experiment_load_string(text, len, path, o, n + n_extra, exp, errs);
    free(text);
    free(o);
    json_decref(m);
    return st;
}

enum amx_status amx_results_report(const struct amx_experiment *exp, const char *dir,
                                   struct amx_report_result *res, struct amx_error *err)
{
    const char **axes = calloc(exp->n_axes + 1, sizeof *axes);
    const char **ids = calloc(exp->n_runs + 1, sizeof *ids);
    if (!axes || !ids) {
        free(axes);
        free(ids);
        return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    for (size_t a = 0; a < exp->n_axes; a++)
        axes[a] = exp->axes[a].path;
    /* a run id appears once per repeat-distinct run; the list is distinct */
    for (size_t i = 0; i < exp->n_runs; i++)
        ids[i] = exp->runs[i].id;
    const struct amx_run_config *cfg = exp->n_runs ? &exp->runs[0].cfg : NULL;
    struct amx_report_config rc = {0};
    if (cfg) rc = cfg->report;
    struct amx_report_input in = {.results_dir = dir,
                                  .report = &rc,
                                  .experiment_name = cfg ? cfg->name : "",
                                  .n_axes = exp->n_axes,
                                  .axes = axes,
                                  .n_runs = exp->n_runs,
                                  .run_ids = ids,
                                  .render = true,
                                  .repeats = cfg ? cfg->repeats : 0,
                                  .description = cfg ? cfg->description : NULL,
                                  .task = cfg ? cfg->network.task : AMX_TASK_AUTOENCODER,
                                  .n_overrides = exp->n_overrides,
                                  .overrides = (const char *const *)exp->overrides};
    enum amx_status st = amx_report_build(&in, res, err);
    free(axes);
    free(ids);
    return st;
}
