/* Dotted paths of the experiment language ("pretrain.momentum.final"),
 * checked against the schema table of schema.c: the keys --set and sweep
 * axes may name are exactly the keys binding reads from a file, because both
 * walk the same rows.
 *
 * Below finetune.rules the keys (parameter groups, rule parameters) depend on
 * the rule, so they are left to binding, which knows the rule registry. What
 * a value must be is binding's business too; only the path is checked here. */
#include "schema.h"

#include <stdio.h>
#include <string.h>

/* The row of sec named by the len bytes at name, or NULL. */
static const struct key *find_key(const struct section *sec, const char *name, size_t len)
{
    for (size_t i = 0; i < sec->n; i++)
        if (strlen(sec->keys[i].name) == len && strncmp(sec->keys[i].name, name, len) == 0)
            return &sec->keys[i];
    return NULL;
}

/* " (did you mean 'x'?)" for the word among sec's keys (and `extra`), or "". */
static void suggestion(char *buf, size_t size, const char *word, const struct section *sec,
                       const char *extra)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < sec->n && n < 63; i++)
        names[n++] = sec->keys[i].name;
    if (extra) names[n++] = extra;
    const char *s = amx_suggest(word, names, n);
    if (s)
        snprintf(buf, size, " (did you mean '%s'?)", s);
    else
        buf[0] = '\0';
}

/* " (expected one of: a, b, c)": what a file's unknown key is told too. */
static void expected_keys(char *buf, size_t size, const struct section *sec)
{
    int n = snprintf(buf, size, " (expected one of: ");
    for (size_t i = 0; i < sec->n && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%s", i ? ", " : "", sec->keys[i].name);
    if (n > 0 && (size_t)n < size) snprintf(buf + n, size - (size_t)n, ")");
}

bool amx_config_path_check(const char *path, char *msg, size_t size)
{
    char word[256], sugg[300];
    size_t plen = strlen(path);
    if (plen == 0 || path[0] == '.' || path[plen - 1] == '.' || strstr(path, "..")) {
        snprintf(msg, size, "'%s' is not a dotted path of keys (an empty key)", path);
        return false;
    }
    const struct section *sec = &amx_schema_top;
    const struct key *k = NULL;
    for (const char *p = path; p;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        int prefix = (int)(p - path) - 1; /* the path before this key, without its dot */
        snprintf(word, sizeof word, "%.*s", (int)len, p);
        if (k && k->type == KT_RULES) return true; /* below finetune.rules: binding's */
        if (k && k->type != KT_SECTION) {
            snprintf(msg, size, "%.*s is a single value; it has no key '%s'", prefix, path, word);
            return false;
        }
        if (k) sec = k->sub;
        k = find_key(sec, p, len);
        if (!k && sec == &amx_schema_top) {
            /* the top level also has `sweep`, whose keys are the sweep's */
            if (strcmp(word, "sweep") == 0) return true;
            char list[400] = "";
            for (size_t i = 0; i < sec->n; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s, ", sec->keys[i].name);
            }
            suggestion(sugg, sizeof sugg, word, sec, "sweep");
            snprintf(msg, size, "unknown key '%s'%s: an experiment has %ssweep", word, sugg, list);
            return false;
        }
        if (!k) {
            suggestion(sugg, sizeof sugg, word, sec, NULL);
            if (!sugg[0]) expected_keys(sugg, sizeof sugg, sec);
            snprintf(msg, size, "unknown key '%s' in %.*s%s", word, prefix, path, sugg);
            return false;
        }
        p = dot ? dot + 1 : NULL;
    }
    return true;
}
