/* Canonical form and run identity (docs/design.md, "Run identity").
 *
 * The canonical form is a text made from the bound configuration, never from
 * the YAML as written: one "key=value" line per identity row of the schema
 * table (config/schema.c flags every row: identity, identity unless at its
 * default, provenance, report; amx_config_identity writes the lines), lines
 * sorted by key. Numbers are written as %.17g of the bound double (so 1e-2
 * and 0.01 are the same), enumerations by their one spelling, rules by their
 * registry name (an alias is resolved at binding), every rule parameter by
 * name, strings quoted and escaped. Name, description, repeats, report,
 * output and every file location are left out, so renaming an experiment,
 * reordering keys or editing comments keeps run ids. Keys added after runs
 * were committed (evaluation.train_subset, compute.precision, network.task,
 * ...) are written only when not at their default, so those runs keep their
 * ids. The backend (--backend) is provenance, never part of the form.
 *
 * It does not decide whether two different configurations compute the same
 * thing ({all: X} and {weights: X, biases: X} get different ids): an id may be
 * over-cautious, never wrongly shared. */
#include "adamix/sha256.h"
#include "adamix/sweep.h"
#include "sweep_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_list {
    char **items;
    size_t n, cap;
    bool failed; /* out of memory somewhere */
};

static void add_line(struct line_list *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_line(struct line_list *l, const char *fmt, ...)
{
    if (l->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!s) {
        l->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            free(s);
            l->failed = true;
            return;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = s;
}

static void take_line(void *ctx, const char *text)
{
    add_line(ctx, "%s", text);
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines and joins them with '\n' (one after each line). */
static char *join_lines(struct line_list *l)
{
    char *out = NULL;
    if (!l->failed) {
        qsort(l->items, l->n, sizeof *l->items, cmp_lines);
        size_t total = 1;
        for (size_t i = 0; i < l->n; i++)
            total += strlen(l->items[i]) + 1;
        out = malloc(total);
        if (out) {
            char *p = out;
            for (size_t i = 0; i < l->n; i++) {
                size_t len = strlen(l->items[i]);
                memcpy(p, l->items[i], len);
                p += len;
                *p++ = '\n';
            }
            *p = '\0';
        }
    }
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    return out;
}

char *amx_canonical_form(const struct amx_run_config *cfg)
{
    struct line_list l = {0};
    if (!amx_config_identity(cfg, take_line, &l)) l.failed = true;
    return join_lines(&l);
}

bool sweep_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1])
{
    char hex[65];
    char *form = amx_canonical_form(cfg);
    if (!form) return false;
    amx_sha256_hex(form, strlen(form), hex);
    free(form);
    memcpy(id, hex, AMX_RUN_ID_LEN);
    id[AMX_RUN_ID_LEN] = '\0';
    return true;
}

void amx_run_id(const struct amx_run_config *cfg, char id[AMX_RUN_ID_LEN + 1])
{
    /* Out of memory leaves all zeros, which no SHA-256 prefix is in practice;
     * amx_experiment_load uses sweep_run_id and reports the failure. */
    if (!sweep_run_id(cfg, id)) {
        memset(id, '0', AMX_RUN_ID_LEN);
        id[AMX_RUN_ID_LEN] = '\0';
    }
}
