/* Command-line overrides (--set PATH=VALUE), and setting a dotted path, which
 * overrides and sweep axes share.
 *
 * An override edits the experiment's node tree before the sweep is expanded.
 * VALUE is YAML, parsed by the node parser under the name "--set PATH", so an
 * error in the value, or a range error found when the value is bound later,
 * points at the override rather than at the file. A path is checked against
 * the schema table (amx_config_path_check), the one binding reads a file
 * through, so --set accepts exactly the keys a file may have; whether a value
 * is acceptable is left to binding.
 *
 * Paths into the sweep: "sweep" replaces the whole section, and
 * "sweep.<axis>" sets or replaces one axis, where everything after "sweep."
 * is the axis key (itself a dotted path: "sweep.finetune.epochs=[5,10]" sets
 * the axis "finetune.epochs"); "sweep.zip" and "sweep.exclude" replace those
 * lists. A single value inside a sweep axis cannot be addressed. "tune" and
 * "tune.<key>..." set the tune section or a key of it (checked when it is
 * read, include/adamix/tune.h). */
#include "adamix/config.h"
#include "adamix/sweep.h"
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct amx_node *value = NULL;
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

    if (strcmp(path, "sweep") == 0) {
        st = amx_node_map_set(root, "sweep", value);
        value = NULL;
        if (st != AMX_OK) st = amx_fail(err, AMX_ERR_NOMEM, mark, 0, 0, "out of memory");
    } else if (strncmp(path, "sweep.", 6) == 0) {
        const char *axis = path + 6;
        if (strcmp(axis, "zip") != 0 && strcmp(axis, "exclude") != 0 &&
            !amx_config_path_check(axis, msg, sizeof msg)) {
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
    } else if (strcmp(path, "tune") == 0 || strncmp(path, "tune.", 5) == 0) {
        /* the tune section's keys are checked when it is read (tune.h) */
        st = sweep_set_path(root, path, value, mark, 1, 1, err);
        value = NULL;
    } else {
        if (!amx_config_path_check(path, msg, sizeof msg)) {
            st = amx_fail(err, AMX_ERR_CONFIG, mark, 0, 0, "%s", msg);
            goto done;
        }
        st = sweep_set_path(root, path, value, mark, 1, 1, err);
        value = NULL;
    }
done:
    amx_node_free(value);
    free(path);
    return st;
}
