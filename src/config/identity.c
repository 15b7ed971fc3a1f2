/* A run's identity read off the schema table: every row flagged IDENTITY
 * (or IDENTITY_UNLESS_DEFAULT and not at its default) that applies to the
 * run's task becomes one "key=value" line, key the row's dotted path. The
 * sweep module sorts the lines into the canonical form and hashes it
 * (sweep/canonical.c); nothing here decides what a run computes, the
 * table's flags do, so a key added to the language enters the id by its
 * row alone. Also the list of keys with their classes, for the tests that
 * change every row in turn. */
#include "schema.h"

#include "adamix/fsutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct walk {
    enum amx_task task;
    void (*line)(void *ctx, const char *text);
    void *ctx;
    struct amx_buf b;
    bool oom;
};

static void emit(struct walk *w)
{
    if (w->b.failed || !w->b.data)
        w->oom = true;
    else
        w->line(w->ctx, w->b.data);
    w->b.len = 0;
    if (w->b.data) w->b.data[0] = '\0';
}

/* %.17g round-trips every double; -0 is written 0. */
static void put_double(struct amx_buf *b, double v)
{
    if (v == 0) v = 0;
    amx_buf_printf(b, "%.17g", v);
}

/* A string in double quotes, with \", \\ and every byte outside printable
 * ASCII as \xHH, so no string can read as another line or value. */
static void put_string(struct amx_buf *b, const char *s)
{
    amx_buf_printf(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            amx_buf_printf(b, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f)
            amx_buf_printf(b, "\\x%02x", *c);
        else
            amx_buf_printf(b, "%c", *c);
    }
    amx_buf_printf(b, "\"");
}

/* A parameter's value: a choice by its word, so reordering a choice list
 * keeps ids. */
static void put_param(struct amx_buf *b, const struct amx_rule_param_def *d, double v)
{
    long count = 0;
    while (d->choices && d->choices[count])
        count++;
    long idx = (long)v;
    if (d->choices && idx >= 0 && idx < count && (double)idx == v)
        put_string(b, d->choices[idx]);
    else
        put_double(b, v);
}

/* The plateau modifier's lines, every parameter by name, only when the
 * entry has one: an entry without it keeps the id it had before plateau
 * existed. */
static void plateau_lines(struct walk *w, const char *path, const struct amx_rule_binding *rb)
{
    const struct amx_plateau *pl = &rb->spec.plateau;
    if (!pl->on) return;
    for (int i = 0; i < AMX_PLATEAU_N_PARAMS; i++) {
        amx_buf_printf(&w->b, "%s.%s.plateau.%s=", path, rb->selector, amx_plateau_params[i].name);
        put_param(&w->b, &amx_plateau_params[i], pl->p[i]);
        emit(w);
    }
}

static void rule_lines(struct walk *w, const char *path, const struct amx_rule_binding *rb)
{
    const struct amx_rule_spec *s = &rb->spec;
    amx_buf_printf(&w->b, "%s.%s.rule=", path, rb->selector);
    put_string(&w->b, s->rule ? s->rule->name : "");
    emit(w);
    amx_buf_printf(&w->b, "%s.%s.eta0=", path, rb->selector);
    put_double(&w->b, s->eta0);
    emit(w);
    amx_buf_printf(&w->b, "%s.%s.momentum=", path, rb->selector);
    put_double(&w->b, s->momentum);
    emit(w);
    amx_buf_printf(&w->b, "%s.%s.per=", path, rb->selector);
    put_string(&w->b, s->per == AMX_CLOCK_STEP ? "step" : "epoch");
    emit(w);
    for (int i = 0; s->rule && i < s->rule->n_params && i < AMX_RULE_MAX_PARAMS; i++) {
        const struct amx_rule_param_def *d = &s->rule->params[i];
        /* "param." keeps a parameter apart from rule, eta0, momentum, per */
        amx_buf_printf(&w->b, "%s.%s.param.%s=", path, rb->selector, d->name);
        put_param(&w->b, d, s->p[i]);
        emit(w);
    }
    plateau_lines(w, path, rb);
}

/* Whether the value of row k in cfg is its default. */
static bool at_default(const struct key *k, const void *f)
{
    switch (k->type) {
    case KT_STRING:
        return strcmp(f, k->sdef ? k->sdef : "") == 0;
    case KT_INT:
    case KT_ENUM:
        return *(const int *)f == (int)k->def;
    case KT_LONG:
        return *(const long *)f == (long)k->def;
    case KT_DOUBLE:
        return *(const double *)f == k->def;
    case KT_BOOL:
        return *(const bool *)f == (k->def != 0);
    default:
        return false; /* no NEW row of the other types: always written */
    }
}

static void walk_section(struct walk *w, const struct amx_run_config *cfg,
                         const struct section *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct key *k = &sec->keys[i];
        if (!amx_schema_key_for(k, w->task)) continue;
        if (k->id == AMX_KEY_PROVENANCE || k->id == AMX_KEY_REPORT) continue;
        const char *dot = sec->path[0] ? "." : "";
        const void *f = (const char *)cfg + k->off;
        if (k->type == KT_SECTION) {
            bool on = (k->opts & KO_NONE) && *(const bool *)((const char *)cfg + k->aux);
            if ((k->opts & KO_OFF) && !on) continue; /* as before the section existed */
            if (k->opts & KO_NONE) {                 /* every field follows, even when disabled */
                amx_buf_printf(&w->b, "%s%s%s.enabled=%s", sec->path, dot, k->name,
                               *(const bool *)((const char *)cfg + k->aux) ? "true" : "false");
                emit(w);
            }
            walk_section(w, cfg, k->sub);
            continue;
        }
        if (k->id == AMX_KEY_IDENTITY_UNLESS_DEFAULT && at_default(k, f)) continue;
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", sec->path, dot, k->name);
        if (k->type == KT_RULES) {
            for (size_t j = 0; j < cfg->finetune.n_rules && j < AMX_MAX_RULE_BINDINGS; j++)
                rule_lines(w, path, &cfg->finetune.rules[j]);
            continue;
        }
        amx_buf_printf(&w->b, "%s=", path);
        switch (k->type) {
        case KT_STRING:
        case KT_NAME:
            put_string(&w->b, f);
            break;
        case KT_SEED:
            amx_buf_printf(&w->b, "%" PRIu64, *(const uint64_t *)f);
            break;
        case KT_INT:
            amx_buf_printf(&w->b, "%d", *(const int *)f);
            break;
        case KT_LONG:
            amx_buf_printf(&w->b, "%ld", *(const long *)f);
            break;
        case KT_DOUBLE:
            put_double(&w->b, *(const double *)f);
            break;
        case KT_BOOL:
            amx_buf_printf(&w->b, "%s", *(const bool *)f ? "true" : "false");
            break;
        case KT_ENUM: {
            int v = *(const int *)f, n = 0;
            while (k->words[n])
                n++;
            amx_buf_printf(&w->b, "%s", v >= 0 && v < n ? k->words[v] : "?");
            break;
        }
        case KT_LAYERS:
            amx_buf_printf(&w->b, "[");
            for (int j = 0; j < cfg->network.n_layers && j < AMX_MAX_LAYERS; j++)
                amx_buf_printf(&w->b, "%s%d", j ? "," : "", cfg->network.layers[j]);
            amx_buf_printf(&w->b, "]");
            break;
        case KT_TARGETS: /* report.targets: never identity */
        case KT_SECTION:
        case KT_RULES:
            break;
        }
        emit(w);
    }
}

bool amx_config_identity(const struct amx_run_config *cfg,
                         void (*line)(void *ctx, const char *text), void *ctx)
{
    struct walk w = {.task = cfg->network.task, .line = line, .ctx = ctx};
    walk_section(&w, cfg, &amx_schema_top);
    amx_buf_free(&w.b);
    return !w.oom;
}

/* The i-th key of sec and its subsections (depth first, table order), with
 * its path; false when there are fewer. */
static bool key_at(const struct section *sec, size_t *i, const struct key **out, char *path,
                   size_t size)
{
    for (size_t j = 0; j < sec->n; j++) {
        const struct key *k = &sec->keys[j];
        if (k->type == KT_SECTION) {
            if (key_at(k->sub, i, out, path, size)) return true;
            continue;
        }
        if ((*i)-- == 0) {
            snprintf(path, size, "%s%s%s", sec->path, sec->path[0] ? "." : "", k->name);
            *out = k;
            return true;
        }
    }
    return false;
}

bool amx_config_key_at(size_t i, const char **path, enum amx_key_class *cls, unsigned *task_mask)
{
    static char buf[128];
    const struct key *k = NULL;
    if (!key_at(&amx_schema_top, &i, &k, buf, sizeof buf)) return false;
    *path = buf;
    *cls = k->id;
    *task_mask =
        k->tasks ? k->tasks : TASK_BIT(AMX_TASK_AUTOENCODER) | TASK_BIT(AMX_TASK_CLASSIFIER);
    return true;
}
