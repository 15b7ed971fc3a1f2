/* Command-line overrides (--set PATH=VALUE) and the checks of dotted paths
 * that overrides and sweep axes share.
 *
 * An override edits the experiment's node tree before the sweep is expanded.
 * VALUE is YAML, parsed by the node parser under the name "--set PATH", so an
 * error in the value, or a range error found when the value is bound later,
 * points at the override rather than at the file. A path is checked here
 * against the keys of the language (taken from a fully resolved default
 * configuration, so this file holds no second copy of the schema); whether a
 * value is acceptable is left to binding.
 *
 * Paths into the sweep: "sweep" replaces the whole section, and
 * "sweep.<axis>" sets or replaces one axis, where everything after "sweep."
 * is the axis key (itself a dotted path: "sweep.finetune.epochs=[5,10]" sets
 * the axis "finetune.epochs"); "sweep.zip" and "sweep.exclude" replace those
 * lists. A single value inside a sweep axis cannot be addressed. */
#include "adamix/config.h"
#include "adamix/sweep.h"
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct amx_node *sweep_schema_new(void)
{
    /* The smallest valid experiment; every other key takes its default and
     * amx_config_to_node writes them all. */
    static const char text[] = "name: schema\n"
                               "network: {layers: [2, 1]}\n"
                               "finetune: {rules: {all: {rule: constant, eta0: 0.1}}}\n";
    struct amx_node *tree = NULL, *schema = NULL;
    struct amx_error err;
    struct amx_errlist errs = {0};
    struct amx_run_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    if (amx_node_parse_string(text, sizeof text - 1, "schema", true, &tree, &err) == AMX_OK &&
        amx_config_bind(tree, cfg, &errs) == AMX_OK)
        schema = amx_config_to_node(cfg);
    amx_errlist_free(&errs);
    amx_node_free(tree);
    free(cfg);
    return schema;
}

/* Copies component i (0-based) of a dotted path into buf; returns its length
 * or -1 when there is no such component. */
static int component(const char *path, int i, char *buf, size_t size)
{
    const char *p = path;
    for (int k = 0; k < i; k++) {
        p = strchr(p, '.');
        if (!p) return -1;
        p++;
    }
    const char *end = strchr(p, '.');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    snprintf(buf, size, "%.*s", (int)len, p);
    return (int)len;
}

static void suggest_suffix(char *buf, size_t size, const char *word, const char *const *cands,
                           size_t n)
{
    const char *s = amx_suggest(word, cands, n);
    if (s)
        snprintf(buf, size, " (did you mean '%s'?)", s);
    else
        buf[0] = '\0';
}

bool sweep_path_check(const struct amx_node *schema, const char *path, char *msg, size_t size)
{
    char comp[256], sugg[300];
    size_t plen = strlen(path);
    if (plen == 0 || path[0] == '.' || path[plen - 1] == '.' || strstr(path, "..")) {
        snprintf(msg, size, "'%s' is not a dotted path of keys (an empty key)", path);
        return false;
    }
    component(path, 0, comp, sizeof comp);
    /* The top-level keys are the schema's (every key config.yaml writes), and
     * `sweep`: one list, so an override accepts what a file accepts. */
    if (strcmp(comp, "sweep") == 0) return true;
    if (!schema || !amx_node_map_get(schema, comp)) {
        size_t n = schema ? schema->n : 0;
        const char **cands = malloc((n + 1) * sizeof *cands);
        char list[400] = "";
        sugg[0] = '\0';
        if (cands) {
            for (size_t k = 0; k < n; k++) {
                cands[k] = schema->pairs[k].key;
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s, ", cands[k]);
            }
            cands[n] = "sweep";
            suggest_suffix(sugg, sizeof sugg, comp, cands, n + 1);
            free(cands);
        }
        snprintf(msg, size, "unknown key '%s'%s: an experiment has %ssweep", comp, sugg, list);
        return false;
    }
    const struct amx_node *cur = schema ? amx_node_map_get(schema, comp) : NULL;
    size_t prefix_len = strlen(comp);
    for (int i = 1; cur && component(path, i, comp, sizeof comp) >= 0; i++) {
        /* Selectors and rule parameters depend on the rule: binding checks them. */
        if (prefix_len == strlen("finetune.rules") &&
            strncmp(path, "finetune.rules", prefix_len) == 0)
            return true;
        if (cur->kind != AMX_NODE_MAP) {
            snprintf(msg, size, "%.*s is a single value; it has no key '%s'", (int)prefix_len, path,
                     comp);
            return false;
        }
        const struct amx_node *next = amx_node_map_get(cur, comp);
        if (!next) {
            const char **cands = malloc((cur->n ? cur->n : 1) * sizeof *cands);
            sugg[0] = '\0';
            if (cands) {
                for (size_t k = 0; k < cur->n; k++)
                    cands[k] = cur->pairs[k].key;
                suggest_suffix(sugg, sizeof sugg, comp, cands, cur->n);
                free(cands);
            }
            snprintf(msg, size, "unknown key '%s' in %.*s%s", comp, (int)prefix_len, path, sugg);
            return false;
        }
        cur = next;
        prefix_len += 1 + strlen(comp);
    }
    return true;
}

enum amx_status sweep_set_path(struct amx_node *root, const char *path, struct amx_node *value,
                               const char *file, int line, int col, struct amx_error *err)
{
    char comp[256];
    struct amx_node *cur = root;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len >= sizeof comp) {
            amx_node_free(value);
            return amx_fail(err, AMX_ERR_CONFIG, file, line, col,
                            "'%s' is not a dotted path of keys", path);
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        if (!dot) {
            if (amx_node_map_set(cur, comp, value) != AMX_OK)
                return amx_fail(err, AMX_ERR_NOMEM, file, line, col, "out of memory");
            return AMX_OK;
        }
        struct amx_node *next = amx_node_map_get(cur, comp);
        if (!next) {
            next = amx_node_new_map(file, line, col);
            if (!next || amx_node_map_set(cur, comp, next) != AMX_OK) {
                amx_node_free(value);
                return amx_fail(err, AMX_ERR_NOMEM, file, line, col, "out of memory");
            }
        } else if (next->kind != AMX_NODE_MAP) {
            amx_node_free(value);
            int plen = (int)(dot - path);
            const char *what = next->kind == AMX_NODE_SEQ ? "a list" : "a single value";
            return amx_fail(err, AMX_ERR_CONFIG, file, line, col,
                            "cannot set %s: %.*s is %s (at %s:%d:%d), not a mapping; set %.*s as "
                            "a whole instead",
                            path, plen, path, what, next->file ? next->file : "", next->line,
                            next->col, plen, path);
        }
        cur = next;
        p = dot + 1;
    }
}

enum amx_status amx_override_apply(struct amx_node *root, const char *assignment,
                                   struct amx_error *err)
{
    char mark[AMX_ERROR_PATH_MAX], msg[AMX_ERROR_MSG_MAX];
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return amx_fail(err, AMX_ERR_CONFIG, "--set", 0, 0,
                        "'%s' is not PATH=VALUE (e.g. finetune.epochs=20)", assignment);
    const char *start = assignment, *end = eq;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t plen = (size_t)(end - start);
    if (plen == 0)
        return amx_fail(err, AMX_ERR_CONFIG, "--set", 0, 0, "'%s' has no PATH before '='",
                        assignment);
    char *path = malloc(plen + 1);
    if (!path) return amx_fail(err, AMX_ERR_NOMEM, "--set", 0, 0, "out of memory");
    memcpy(path, start, plen);
    path[plen] = '\0';
    snprintf(mark, sizeof mark, "--set %s", path);

    enum amx_status st = AMX_OK;
    struct amx_node *value = NULL, *schema = NULL;
    const char *v = eq + 1;
    if (!root || root->kind != AMX_NODE_MAP) {
        st = amx_fail(err, AMX_ERR_CONFIG, mark, 0, 0, "the experiment is not a mapping of keys");
        goto done;
    }
    if (v[strspn(v, " \t\r\n")] == '\0') {
        st = amx_fail(err, AMX_ERR_CONFIG, mark, 0, 0,
                      "no value after '=' (write %s='' for an empty string)", path);
        goto done;
    }
    st = amx_node_parse_string(v, strlen(v), mark, false, &value, err);
    if (st != AMX_OK) goto done;

    /* without the schema no path can be checked: out of memory, not an
     * unknown key */
    schema = sweep_schema_new();
    if (!schema) {
        st = amx_fail(err, AMX_ERR_NOMEM, mark, 0, 0, "out of memory");
        goto done;
    }
    if (strcmp(path, "sweep") == 0) {
        st = amx_node_map_set(root, "sweep", value);
        value = NULL;
        if (st != AMX_OK) st = amx_fail(err, AMX_ERR_NOMEM, mark, 0, 0, "out of memory");
    } else if (strncmp(path, "sweep.", 6) == 0) {
        const char *axis = path + 6;
        if (strcmp(axis, "zip") != 0 && strcmp(axis, "exclude") != 0 &&
            !sweep_path_check(schema, axis, msg, sizeof msg)) {
            st = amx_fail(err, AMX_ERR_CONFIG, mark, 0, 0, "sweep axis '%s': %s", axis, msg);
            goto done;
        }
        struct amx_node *sweep = amx_node_map_get(root, "sweep");
        if (!sweep || (sweep->kind == AMX_NODE_SCALAR && !sweep->quoted &&
                       (!sweep->text[0] || strcmp(sweep->text, "~") == 0 ||
                        strcmp(sweep->text, "null") == 0))) {
            sweep = amx_node_new_map(mark, 1, 1);
            if (!sweep || amx_node_map_set(root, "sweep", sweep) != AMX_OK) {
                st = amx_fail(err, AMX_ERR_NOMEM, mark, 0, 0, "out of memory");
                goto done;
            }
        } else if (sweep->kind != AMX_NODE_MAP) {
            st = amx_fail(err, AMX_ERR_CONFIG, mark, 0, 0,
                          "cannot set axis '%s': sweep (at %s:%d:%d) is not a mapping", axis,
                          sweep->file, sweep->line, sweep->col);
            goto done;
        }
        st = amx_node_map_set(sweep, axis, value);
        value = NULL;
        if (st != AMX_OK) st = amx_fail(err, AMX_ERR_NOMEM, mark, 0, 0, "out of memory");
    } else {
        if (!sweep_path_check(schema, path, msg, sizeof msg)) {
            st = amx_fail(err, AMX_ERR_CONFIG, mark, 0, 0, "%s", msg);
            goto done;
        }
        st = sweep_set_path(root, path, value, mark, 1, 1, err);
        value = NULL;
    }
done:
    amx_node_free(value);
    amx_node_free(schema);
    free(path);
    return st;
}
