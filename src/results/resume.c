/* Resume policy: whether a run folder already holds this run's result, what
 * of a reused result follows the experiment, and the record of a failure. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/results.h"

#include "adamix/fsutil.h"
#include "adamix/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The old way, for a folder written before summary.json had config_sha256:
 * whether its config.yaml binds to a configuration of cfg's canonical form,
 * with its own repeat (or cfg's when it has none). The folder's verdict
 * (amx_result_check) has parsed and bound it already. */
static bool same_config_yaml(const char *run_dir, const struct amx_run_config *cfg)
{
    char path[AMX_PATH_MAX + 64];
    amx_path_join(path, sizeof path, run_dir, "config.yaml");
    struct amx_node *node = NULL;
    struct amx_error err;
    if (amx_node_parse_file(path, &node, &err) != AMX_OK) return false;
    struct amx_run_config *old = calloc(1, sizeof *old);
    struct amx_errlist errs = {0};
    bool same = false;
    if (old && amx_config_bind(node, old, &errs) == AMX_OK) {
        if (!amx_node_map_get(node, "repeat")) old->repeat = cfg->repeat;
        char *a = amx_canonical_form(old), *b = amx_canonical_form(cfg);
        same = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
    }
    amx_errlist_free(&errs);
    free(old);
    amx_node_free(node);
    return same;
}

enum amx_result_state amx_results_run_state(const char *run_dir, const char *id,
                                            const struct amx_run_config *cfg, const char *train_sha,
                                            const char *test_sha, char *why, size_t why_size)
{
    enum amx_result_state state = amx_result_check(run_dir, id, 0, NULL, why, why_size);
    if (state != AMX_RESULT_COMPLETE) return state;
    char path[AMX_PATH_MAX + 64];
    amx_path_join(path, sizeof path, run_dir, "summary.json");
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    if (!s) return AMX_RESULT_ABSENT; /* gone since the check */
    json_t *data = json_object_get(s, "data");
    const char *train = json_string_value(json_object_get(data, "train_sha256"));
    const char *test = json_string_value(json_object_get(data, "test_sha256"));
    bool same_data = train && test && strcmp(train, train_sha) == 0 && strcmp(test, test_sha) == 0;
    /* amx_result_check has made sure it is 64 hex digits when present */
    const char *stored = json_string_value(json_object_get(s, "config_sha256"));
    char sha[65] = "";
    bool same_config = false;
    if (stored) same_config = amx_config_sha256(cfg, sha) && strcmp(stored, sha) == 0;
    json_decref(s);
    if (!same_data) return AMX_RESULT_ABSENT;
    /* weights asked for after the run finished: computed again to write them
     * (same numbers; output is not part of the run id) */
    amx_path_join(path, sizeof path, run_dir, "weights.npz");
    if (cfg->output.weights && !amx_file_exists(path)) return AMX_RESULT_ABSENT;
    if (stored) return same_config ? AMX_RESULT_COMPLETE : AMX_RESULT_ABSENT;
    return same_config_yaml(run_dir, cfg) ? AMX_RESULT_COMPLETE : AMX_RESULT_ABSENT;
}

void amx_results_refresh_identity(const struct amx_experiment *exp, size_t run, const char *run_dir)
{
    char path[AMX_PATH_MAX + 64];
    struct amx_error err;
    struct amx_node *node = amx_config_to_node(&exp->runs[run].cfg);
    char *yaml = node ? amx_node_emit_string(node) : NULL;
    amx_node_free(node);
    char *old = NULL;
    amx_path_join(path, sizeof path, run_dir, "config.yaml");
    if (yaml && amx_read_file(path, &old, NULL, &err) == AMX_OK && strcmp(old, yaml) != 0)
        amx_write_file_atomic(path, yaml, strlen(yaml), &err);
    free(old);
    free(yaml);

    amx_path_join(path, sizeof path, run_dir, "summary.json");
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    if (!s) return;
    char *before = json_dumps(s, AMX_SUMMARY_JSON_FLAGS);
    amx_summary_identity(exp, run, s);
    char sha[65];
    if (!json_object_get(s, "config_sha256") && amx_config_sha256(&exp->runs[run].cfg, sha)) {
        /* an older folder, found to be of this configuration the old way:
         * the next invocation compares the hash */
        json_t *upgraded = json_object();
        const char *key;
        json_t *v;
        json_object_foreach(s, key, v)
        {
            json_object_set(upgraded, key, v);
            if (strcmp(key, "run_id") == 0)
                json_object_set_new(upgraded, "config_sha256", json_string(sha));
        }
        json_decref(s);
        s = upgraded;
    }
    char *after = json_dumps(s, AMX_SUMMARY_JSON_FLAGS);
    if (before && after && strcmp(before, after) != 0) {
        struct amx_buf b = {0};
        amx_buf_printf(&b, "%s\n", after);
        if (!b.failed) amx_write_file_atomic(path, b.data, b.len, &err);
        amx_buf_free(&b);
    }
    free(before);
    free(after);
    json_decref(s);
}

bool amx_results_failed_before(const char *run_dir)
{
    char path[AMX_PATH_MAX + 64];
    amx_path_join(path, sizeof path, run_dir, "error.txt");
    return amx_file_exists(path);
}

void amx_results_record_failure(const char *run_dir, const char *text)
{
    char path[AMX_PATH_MAX + 64];
    struct amx_error err;
    if (amx_mkdir_nofollow(run_dir, &err) != AMX_OK) return;
    amx_path_join(path, sizeof path, run_dir, "error.txt");
    struct amx_buf b = {0};
    amx_buf_printf(&b, "%s\n", text);
    if (!b.failed) amx_write_file_atomic(path, b.data, b.len, &err);
    amx_buf_free(&b);
}

void amx_results_clear_failure(const char *run_dir)
{
    char path[AMX_PATH_MAX + 64];
    amx_path_join(path, sizeof path, run_dir, "error.txt");
    unlink(path);
}
