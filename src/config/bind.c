/* Binding: a node tree -> struct amx_run_config, through the schema table of
 * schema.c and, for finetune.rules, the rule registry of optim.h
 * (bind_rules.c).
 *
 * Every default is filled first; then each key of the tree is looked up in
 * the table and its value checked for type and range; then the cross-field
 * checks run (validation < train_limit, repeat < repeats, every parameter
 * covered by exactly one rule). Every problem is added to the error list at
 * the file:line:col of the offending node, and binding goes on, so one pass
 * reports all of them.
 *
 * Scalars are read strictly: numbers are decimal (an optional sign, digits, an
 * optional fraction and exponent: "1e-2", "0.5", "-3"; no hex, no "inf" or
 * "nan", no "1_000"), must be plain (a quoted "50" is a string), and must fit
 * their type; integer keys accept a whole number in any of those spellings
 * ("6e4"); booleans are exactly true or false; a string key takes any scalar
 * but null (write "" for an empty string).
 *
 * Not here: the `sweep` key (the sweep module removes it before binding, and
 * it is ignored if present), checks that need the data (first layer size
 * against the image size), and anything about files. */
#include "bind_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(enum amx_unit) == sizeof(int) && sizeof(enum amx_loss) == sizeof(int) &&
                   sizeof(enum amx_metric) == sizeof(int) &&
                   sizeof(enum amx_report_x) == sizeof(int),
               "enums are stored through int pointers");

void bind_error_at(struct ctx *c, const struct amx_node *at, int line, int col, const char *fmt,
                   ...)
{
    struct amx_error e;
    const char *file = at && at->file && at->file[0] ? at->file : c->root->file;
    va_list ap;
    va_start(ap, fmt);
    amx_vfail(&e, AMX_ERR_CONFIG, file, line, col, fmt, ap);
    va_end(ap);
    amx_errlist_add(c->errs, &e);
    c->n_errors++;
}

static void *field(struct ctx *c, size_t off)
{
    return (char *)c->cfg + off;
}

void bind_join(char *buf, const char *prefix, const char *key)
{
    if (prefix[0])
        snprintf(buf, PATH_LEN, "%.150s.%.150s", prefix, key);
    else
        snprintf(buf, PATH_LEN, "%s", key);
}

/* -------------------------------------------------------------- scalars -- */

static bool is_null(const struct amx_node *v)
{
    if (v->kind != AMX_NODE_SCALAR || v->quoted) return false;
    static const char *const words[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(v->text, words[i]) == 0) return true;
    return false;
}

/* What a node is, for "(got ...)": the text as written, shortened. */
const char *bind_describe(const struct amx_node *v, char *buf, size_t size)
{
    if (v->kind == AMX_NODE_MAP) return "a mapping";
    if (v->kind == AMX_NODE_SEQ) return "a sequence";
    if (is_null(v)) return v->text[0] ? "null" : "an empty value";
    int n = (int)strlen(v->text);
    const char *more = n > 60 ? "..." : "";
    if (v->quoted)
        snprintf(buf, size, "the string \"%.60s%s\"", v->text, more);
    else
        snprintf(buf, size, "%.60s%s", v->text, more);
    return buf;
}

/* A plain decimal number: [+-] digits [. digits] [(e|E) [+-] digits], at
 * least one digit before the exponent. *integer: no fraction, no exponent. */
static bool number_syntax(const char *s, bool *integer)
{
    const char *p = s;
    int digits = 0;
    *integer = true;
    if (*p == '+' || *p == '-') p++;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        *integer = false;
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits) return false;
    if (*p == 'e' || *p == 'E') {
        *integer = false;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* A number of any spelling as a double; false (reported) when v is not one. */
bool bind_real(struct ctx *c, const struct amx_node *v, const char *path, const char *what,
               double *out)
{
    char d[96];
    bool integer;
    if (v->kind != AMX_NODE_SCALAR || v->quoted || !number_syntax(v->text, &integer)) {
        ERROR(c, v, "%s must be %s (got %s)", path, what, bind_describe(v, d, sizeof d));
        return false;
    }
    errno = 0;
    double x = strtod(v->text, NULL);
    if (errno == ERANGE || !isfinite(x)) {
        ERROR(c, v, "%s is %s to be represented (got %s)", path,
              fabs(x) > 1 ? "too large" : "too small", v->text);
        return false;
    }
    *out = x;
    return true;
}

/* A whole number as a long long: "12", "-3", "6e4", "100.0". */
bool bind_integer(struct ctx *c, const struct amx_node *v, const char *path, long long *out)
{
    char d[96];
    bool integer;
    if (v->kind != AMX_NODE_SCALAR || v->quoted || !number_syntax(v->text, &integer)) {
        ERROR(c, v, "%s must be an integer (got %s)", path, bind_describe(v, d, sizeof d));
        return false;
    }
    errno = 0;
    if (integer) {
        long long x = strtoll(v->text, NULL, 10);
        if (errno == ERANGE) {
            ERROR(c, v, "%s is too large (got %s)", path, v->text);
            return false;
        }
        *out = x;
        return true;
    }
    double x = strtod(v->text, NULL);
    if (errno == ERANGE || !isfinite(x) || fabs(x) >= 9.2e18) {
        ERROR(c, v, "%s is too large (got %s)", path, v->text);
        return false;
    }
    if (x != floor(x)) {
        ERROR(c, v, "%s must be a whole number (got %s)", path, v->text);
        return false;
    }
    *out = (long long)x;
    return true;
}

static bool in_range(double x, double lo, double hi, unsigned flags)
{
    bool lo_ok = (flags & AMX_PARAM_LO_OPEN) ? x > lo : x >= lo;
    bool hi_ok = (flags & AMX_PARAM_HI_OPEN) ? x < hi : x <= hi;
    return lo_ok && hi_ok;
}

/* Reports x out of [lo, hi] as "path must be >= lo and < hi (got text)"; the
 * upper bound is left out when it is only the limit of the type. */
bool bind_check_range(struct ctx *c, const struct amx_node *v, const char *path, double x,
                      double lo, double hi, unsigned flags)
{
    if (in_range(x, lo, hi, flags)) return true;
    char a[40] = "", b[40] = "", msg[100] = "";
    if (lo != -HUGE_VAL) {
        amx_format_double(lo, a, sizeof a);
        snprintf(msg, sizeof msg, "%s %s", flags & AMX_PARAM_LO_OPEN ? ">" : ">=", a);
    }
    bool hi_violated = (flags & AMX_PARAM_HI_OPEN) ? !(x < hi) : !(x <= hi);
    if (hi != HUGE_VAL && (hi < 1e9 || hi_violated)) {
        amx_format_double(hi, b, sizeof b);
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, "%s%s %s", l ? " and " : "",
                 flags & AMX_PARAM_HI_OPEN ? "<" : "<=", b);
    }
    ERROR(c, v, "%s must be %s (got %s)", path, msg, v->text);
    return false;
}

/* Index of v's text in a NULL-terminated word list, or -1 (reported, with a
 * suggestion). */
int bind_word(struct ctx *c, const struct amx_node *v, const char *path, const char *const *words)
{
    char d[96], list[300] = "";
    size_t n = 0;
    for (; words[n]; n++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", n ? ", " : "", words[n]);
    }
    if (v->kind == AMX_NODE_SCALAR)
        for (size_t i = 0; i < n; i++)
            if (strcmp(v->text, words[i]) == 0) return (int)i;
    const char *s = v->kind == AMX_NODE_SCALAR ? amx_suggest(v->text, words, n) : NULL;
    if (s)
        ERROR(c, v, "%s must be one of %s (got %s); did you mean '%s'?", path, list,
              bind_describe(v, d, sizeof d), s);
    else
        ERROR(c, v, "%s must be one of %s (got %s)", path, list, bind_describe(v, d, sizeof d));
    return -1;
}

/* The curve columns report.metric may name besides the errors; a run's
 * curve.csv decides which it has (the report checks, with a did-you-mean). */
static const char *const column_words[] = {"test_error", "train_error", "validation_error",
                                           "test_loss",  "train_loss",  "validation_loss",
                                           "seconds",    NULL};
static const char *const column_prefixes[] = {"rate_mean.", "rate_min.", "rate_max."};

static bool column_name_ok(const char *s)
{
    for (size_t i = 0; column_words[i]; i++)
        if (strcmp(s, column_words[i]) == 0) return true;
    for (size_t i = 0; i < sizeof column_prefixes / sizeof *column_prefixes; i++) {
        size_t n = strlen(column_prefixes[i]);
        if (strncmp(s, column_prefixes[i], n) == 0 && s[n] && !strchr(s + n, ',')) return true;
    }
    return false;
}

/* report.metric: an error word (the enum) or any other curve column (the
 * text at aux, kept for every value). */
static void bind_column(struct ctx *c, const struct key *k, const struct amx_node *v,
                        const char *path)
{
    char d[96];
    if (v->kind == AMX_NODE_SCALAR && strlen(v->text) < AMX_NAME_MAX && column_name_ok(v->text)) {
        snprintf((char *)field(c, k->aux), AMX_NAME_MAX, "%s", v->text);
        int w = 0;
        for (int i = 0; k->words[i]; i++)
            if (strcmp(v->text, k->words[i]) == 0) w = i;
        *(int *)field(c, k->off) = w;
        return;
    }
    const char *s = NULL;
    char cand[16][AMX_NAME_MAX];
    const char *cands[16];
    size_t n = 0;
    if (v->kind == AMX_NODE_SCALAR) {
        for (; column_words[n]; n++)
            cands[n] = column_words[n];
        const char *dot = strchr(v->text, '.'); /* rate_maen.weights: the group as written */
        for (size_t i = 0; dot && i < sizeof column_prefixes / sizeof *column_prefixes; i++) {
            snprintf(cand[n], sizeof cand[n], "%.*s%s", (int)strlen(column_prefixes[i]) - 1,
                     column_prefixes[i], dot);
            cands[n] = cand[n];
            n++;
        }
        s = amx_suggest(v->text, cands, n);
    }
    ERROR(c, v,
          "%s must be a curve column: test_error, train_error, validation_error, test_loss, "
          "train_loss, validation_loss, seconds, rate_mean.GROUP, rate_min.GROUP or "
          "rate_max.GROUP (got %s)%s%s%s",
          path, bind_describe(v, d, sizeof d), s ? "; did you mean '" : "", s ? s : "",
          s ? "'?" : "");
}

/* Appends text to the KO_POINT buffer out (len so far); false, with an
 * error at v, when it does not fit. */
static bool point_put(struct ctx *c, const struct amx_node *v, const char *path, char *out,
                      size_t *len, const char *a, const char *b)
{
    int n = snprintf(out + *len, AMX_TEXT_MAX - *len, "%s%s\n", a, b);
    if (n < 0 || (size_t)n >= AMX_TEXT_MAX - *len) {
        out[0] = '\0';
        ERROR(c, v, "%s is too long (at most %d characters)", path, AMX_TEXT_MAX - 1);
        return false;
    }
    *len += (size_t)n;
    return true;
}

/* One baseline of report.baseline: a series value ("=value" line) or a point
 * {axis: value, ...} ("axis=value" lines). */
static bool bind_one_baseline(struct ctx *c, const struct amx_node *v, const char *path, char *out,
                              size_t *len)
{
    char d[96];
    if (v->kind == AMX_NODE_SCALAR && !strchr(v->text, '\n') && v->text[0])
        return point_put(c, v, path, out, len, "=", v->text);
    if (v->kind != AMX_NODE_MAP || v->n == 0) {
        ERROR(c, v, "%s must be a series value or a point {AXIS: VALUE, ...} (got %s)", path,
              v->kind == AMX_NODE_MAP ? "an empty mapping" : bind_describe(v, d, sizeof d));
        return false;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct amx_node *x = v->pairs[i].value;
        if (x->kind != AMX_NODE_SCALAR || strchr(x->text, '\n')) {
            ERROR(c, x, "%s.%s must be a sweep value (got %s)", path, v->pairs[i].key,
                  bind_describe(x, d, sizeof d));
            return false;
        }
        char key[AMX_TEXT_MAX];
        snprintf(key, sizeof key, "%s=", v->pairs[i].key);
        if (!point_put(c, v, path, out, len, key, x->text)) return false;
    }
    return true;
}

/* report.baseline other than one series value (which the string takes): a
 * point {axis: value, ...}, a list of baselines, or all-pairs; kept at aux
 * as lines, "axis=value" for a point's axis, "=value" for a series value,
 * "|" between the baselines of a list, "*" for all-pairs (the report reads
 * them: paired.c). */
static void bind_point(struct ctx *c, const struct key *k, const struct amx_node *v,
                       const char *path)
{
    char *out = (char *)field(c, k->aux);
    size_t len = 0;
    out[0] = '\0';
    bool ok = true;
    if (v->kind == AMX_NODE_SCALAR) {
        ok = point_put(c, v, path, out, &len, "*", "");
    } else if (v->kind == AMX_NODE_MAP) {
        ok = bind_one_baseline(c, v, path, out, &len);
    } else if (v->n == 0) {
        ERROR(c, v, "%s must list at least one baseline (got an empty list)", path);
        ok = false;
    } else {
        for (size_t i = 0; i < v->n && ok; i++) {
            char item[400];
            snprintf(item, sizeof item, "%s[%zu]", path, i + 1);
            ok = (i == 0 || point_put(c, v, path, out, &len, "|", "")) &&
                 bind_one_baseline(c, v->items[i], item, out, &len);
        }
    }
    if (!ok) out[0] = '\0';
    *(char *)field(c, k->off) = '\0';
}

static void bind_string(struct ctx *c, const struct key *k, const struct amx_node *v,
                        const char *path)
{
    char d[96];
    if (v->kind != AMX_NODE_SCALAR || is_null(v)) {
        ERROR(c, v, "%s must be a string (got %s)%s", path, bind_describe(v, d, sizeof d),
              is_null(v) ? "; write \"\" for an empty string" : "");
        return;
    }
    size_t len = strlen(v->text);
    if (len >= k->size) {
        ERROR(c, v, "%s is too long (%zu bytes; at most %zu)", path, len, k->size - 1);
        return;
    }
    if ((k->opts & KO_NONEMPTY) && len == 0) {
        ERROR(c, v, "%s must not be empty", path);
        return;
    }
    if (k->type == KT_NAME) {
        bool ok = len > 0 && strcmp(v->text, ".") != 0 && strcmp(v->text, "..") != 0;
        for (size_t i = 0; ok && i < len; i++) {
            char ch = v->text[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                 ch == '-';
        }
        if (!ok) {
            ERROR(c, v,
                  "%s must be made of a-z, 0-9, '.', '_' and '-' (not \".\" or \"..\"), as it "
                  "names the results folder (got %s)",
                  path, bind_describe(v, d, sizeof d));
            return;
        }
    }
    memcpy(field(c, k->off), v->text, len + 1);
}

static void bind_seed(struct ctx *c, const struct key *k, const struct amx_node *v,
                      const char *path)
{
    char d[96];
    bool ok = v->kind == AMX_NODE_SCALAR && !v->quoted && v->text[0] != '\0';
    for (const char *p = ok ? v->text : ""; *p; p++)
        if (*p < '0' || *p > '9') ok = false;
    if (!ok) {
        ERROR(c, v, "%s must be a non-negative integer (got %s)", path,
              bind_describe(v, d, sizeof d));
        return;
    }
    errno = 0;
    unsigned long long x = strtoull(v->text, NULL, 10);
    if (errno == ERANGE) {
        ERROR(c, v, "%s must be at most %" PRIu64 " (got %s)", path, UINT64_MAX, v->text);
        return;
    }
    *(uint64_t *)field(c, k->off) = (uint64_t)x;
}

/* ------------------------------------------------------- network.layers -- */

static void bind_layers(struct ctx *c, const struct key *k, const struct amx_node *v)
{
    char d[96], path[PATH_LEN];
    struct amx_network_config *net = &c->cfg->network;
    net->layers_line = v->line;
    net->layers_col = v->col;
    snprintf(net->layers_file, sizeof net->layers_file, "%s", v->file ? v->file : "");
    if (v->kind != AMX_NODE_SEQ) {
        ERROR(c, v,
              "network.layers must be a sequence of layer sizes like [784, 1000, 500, 250, 30] "
              "(got %s)",
              bind_describe(v, d, sizeof d));
        return;
    }
    bool ok = true;
    /* a classifier's layers may be the input alone (softmax regression) */
    const struct amx_node *task = amx_node_get_path(c->root, "network.task");
    bool classifier = task && task->kind == AMX_NODE_SCALAR && !strcmp(task->text, "classifier");
    if (v->n < 1 || (!classifier && v->n < 2)) {
        if (classifier)
            ERROR(c, v, "network.layers must list at least the image size; got none");
        else
            ERROR(c, v,
                  "network.layers must list at least 2 sizes (the image size first, the code "
                  "size last); got %zu",
                  v->n);
        ok = false;
    } else if (v->n > AMX_MAX_LAYERS) {
        ERROR(c, v, "network.layers has %zu sizes; at most %d are supported", v->n, AMX_MAX_LAYERS);
        ok = false;
    }
    if (v->n > 0) { /* the first size is what the data check compares */
        net->layers_line = v->items[0]->line;
        net->layers_col = v->items[0]->col;
        if (v->items[0]->file && v->items[0]->file[0])
            snprintf(net->layers_file, sizeof net->layers_file, "%s", v->items[0]->file);
    }
    for (size_t i = 0; i < v->n && i < AMX_MAX_LAYERS; i++) {
        long long x;
        snprintf(path, sizeof path, "network.layers[%zu]", i);
        if (!bind_integer(c, v->items[i], path, &x) ||
            !bind_check_range(c, v->items[i], path, (double)x, k->lo, k->hi, 0)) {
            ok = false;
            continue;
        }
        net->layers[i] = (int)x;
    }
    if (ok) {
        net->n_layers = (int)v->n;
        c->layers_ok = true;
    }
}

/* ------------------------------------------------------- report.targets -- */

/* A sequence of distinct finite numbers >= 0 (values of the report metric);
 * a single number is a sequence of one. */
static void bind_targets(struct ctx *c, const struct key *k, const struct amx_node *v)
{
    char d[96], path[PATH_LEN];
    struct amx_report_config *rep = &c->cfg->report;
    rep->n_targets = 0;
    const struct amx_node *const *items = &v;
    size_t n = 1;
    if (v->kind == AMX_NODE_SEQ) {
        items = (const struct amx_node *const *)v->items;
        n = v->n;
    } else if (v->kind != AMX_NODE_SCALAR) {
        ERROR(c, v, "report.targets must be a sequence of error values like [7.5, 7.0] (got %s)",
              bind_describe(v, d, sizeof d));
        return;
    }
    if (n > AMX_MAX_TARGETS) {
        ERROR(c, v, "report.targets has %zu values; at most %d are supported", n, AMX_MAX_TARGETS);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double x;
        snprintf(path, sizeof path, "report.targets[%zu]", i);
        if (!bind_real(c, items[i], path, "a number", &x) ||
            !bind_check_range(c, items[i], path, x, k->lo, k->hi, 0))
            continue;
        bool dup = false;
        for (size_t j = 0; j < rep->n_targets; j++)
            dup = dup || rep->targets[j] == x;
        if (dup) {
            ERROR(c, items[i], "%s repeats the target %s", path, items[i]->text);
            continue;
        }
        rep->targets[rep->n_targets++] = x;
    }
}

/* ------------------------------------------------------------- sections -- */

static void set_defaults(struct amx_run_config *cfg, const struct section *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct key *k = &sec->keys[i];
        void *f = (char *)cfg + k->off;
        switch (k->type) {
        case KT_SECTION:
            if (k->opts & KO_NONE) *(bool *)((char *)cfg + k->aux) = !(k->opts & KO_OFF);
            set_defaults(cfg, k->sub);
            break;
        case KT_STRING:
        case KT_NAME:
            snprintf(f, k->size, "%s", k->sdef ? k->sdef : "");
            if (k->opts & KO_POINT) *((char *)cfg + k->aux) = '\0';
            break;
        case KT_SEED:
            *(uint64_t *)f = (uint64_t)k->def;
            break;
        case KT_INT:
            *(int *)f = (int)k->def;
            break;
        case KT_LONG:
            *(long *)f = (long)k->def;
            break;
        case KT_DOUBLE:
            *(double *)f = k->def;
            break;
        case KT_BOOL:
            *(bool *)f = k->def != 0;
            break;
        case KT_ENUM:
            *(int *)f = (int)k->def;
            if (k->opts & KO_COLUMN)
                snprintf((char *)cfg + k->aux, AMX_NAME_MAX, "%s", k->words[(int)k->def]);
            break;
        case KT_LAYERS:
            cfg->network.n_layers = 0;
            break;
        case KT_RULES:
            cfg->finetune.n_rules = 0;
            break;
        case KT_TARGETS:
            cfg->report.n_targets = 0;
            break;
        }
    }
}

static void bind_section(struct ctx *c, const struct section *sec, const struct amx_node *map);

static void bind_key(struct ctx *c, const struct key *k, const struct amx_node_pair *p,
                     const char *path)
{
    char d[96];
    const struct amx_node *v = p->value;
    long long i;
    double x;
    int w;
    switch (k->type) {
    case KT_SECTION:
        if ((k->opts & KO_NONE) && v->kind == AMX_NODE_SCALAR && !v->quoted &&
            strcmp(v->text, "none") == 0) {
            *(bool *)field(c, k->aux) = false;
        } else if (v->kind == AMX_NODE_MAP) {
            if (k->opts & KO_NONE) *(bool *)field(c, k->aux) = true; /* given: on */
            bind_section(c, k->sub, v);
        } else {
            ERROR(c, v, "%s must be a mapping of keys%s (got %s)", path,
                  k->opts & KO_NONE ? " or none" : "", bind_describe(v, d, sizeof d));
        }
        break;
    case KT_STRING:
    case KT_NAME:
        if ((k->opts & KO_POINT) &&
            (v->kind != AMX_NODE_SCALAR || (!v->quoted && strcmp(v->text, "all-pairs") == 0)))
            bind_point(c, k, v, path);
        else
            bind_string(c, k, v, path);
        break;
    case KT_SEED:
        bind_seed(c, k, v, path);
        break;
    case KT_INT:
    case KT_LONG:
        if (bind_integer(c, v, path, &i) &&
            bind_check_range(c, v, path, (double)i, k->lo, k->hi, 0)) {
            if (k->type == KT_INT)
                *(int *)field(c, k->off) = (int)i;
            else
                *(long *)field(c, k->off) = (long)i;
        }
        break;
    case KT_DOUBLE:
        if (bind_real(c, v, path, "a number", &x) &&
            bind_check_range(c, v, path, x, k->lo, k->hi, k->range))
            *(double *)field(c, k->off) = x;
        break;
    case KT_BOOL:
        if (v->kind == AMX_NODE_SCALAR && !v->quoted &&
            (strcmp(v->text, "true") == 0 || strcmp(v->text, "false") == 0))
            *(bool *)field(c, k->off) = v->text[0] == 't';
        else
            ERROR(c, v, "%s must be true or false (got %s)", path, bind_describe(v, d, sizeof d));
        break;
    case KT_ENUM:
        if (k->opts & KO_COLUMN)
            bind_column(c, k, v, path);
        else if ((w = bind_word(c, v, path, k->words)) >= 0)
            *(int *)field(c, k->off) = w;
        break;
    case KT_LAYERS:
        bind_layers(c, k, v);
        break;
    case KT_RULES:
        bind_rules(c, p);
        break;
    case KT_TARGETS:
        bind_targets(c, k, v);
        break;
    }
}

static void unknown_key(struct ctx *c, const struct section *sec, const struct amx_node_pair *p)
{
    const char *names[32];
    char list[400] = "";
    size_t n = 0;
    for (size_t i = 0; i < sec->n && n < 31; i++) {
        names[n++] = sec->keys[i].name;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", sec->keys[i].name);
    }
    if (sec == &amx_schema_top) {
        names[n++] = "sweep";
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, ", sweep");
    }
    const char *s = amx_suggest(p->key, names, n);
    char where[PATH_LEN];
    if (sec->path[0])
        snprintf(where, sizeof where, " in %s", sec->path);
    else
        snprintf(where, sizeof where, " at the top level");
    if (s)
        bind_error_at(c, p->value, p->line, p->col, "unknown key '%s'%s; did you mean '%s'?",
                      p->key, where, s);
    else
        bind_error_at(c, p->value, p->line, p->col, "unknown key '%s'%s (expected one of: %s)",
                      p->key, where, list);
}

static void bind_section(struct ctx *c, const struct section *sec, const struct amx_node *map)
{
    char path[PATH_LEN];
    for (size_t i = 0; i < map->n; i++) {
        const struct amx_node_pair *p = &map->pairs[i];
        if (sec == &amx_schema_top && strcmp(p->key, "sweep") == 0) continue;
        const struct key *k = NULL;
        for (size_t j = 0; j < sec->n && !k; j++)
            if (strcmp(sec->keys[j].name, p->key) == 0) k = &sec->keys[j];
        if (!k) {
            unknown_key(c, sec, p);
            continue;
        }
        bind_join(path, sec->path, k->name);
        bind_key(c, k, p, path);
    }
    for (size_t j = 0; j < sec->n; j++) {
        const struct key *k = &sec->keys[j];
        if (!(k->opts & KO_REQUIRED) || amx_node_map_pair(map, k->name)) continue;
        bind_join(path, sec->path, k->name);
        ERROR(c, map, "%s is required (e.g. %s)", path, k->example ? k->example : "...");
    }
}

/* ---------------------------------------------------------- cross-field -- */

/* Keys of another task's runs, refused where written (schema rows' tasks),
 * with what to write instead. */
static void task_keys(struct ctx *c, const struct section *sec, const struct amx_node *map)
{
    const enum amx_task task = c->cfg->network.task;
    for (size_t i = 0; map && map->kind == AMX_NODE_MAP && i < sec->n; i++) {
        const struct key *k = &sec->keys[i];
        const struct amx_node *v = amx_node_map_get(map, k->name);
        if (!v) continue;
        if (k->type == KT_SECTION) {
            task_keys(c, k->sub, v);
            continue;
        }
        if (amx_schema_key_for(k, task)) continue;
        const char *dot = sec->path[0] ? "." : "";
        if (task == AMX_TASK_CLASSIFIER)
            ERROR(c, v,
                  "%s%s%s is an autoencoder's key; a classifier has none (its layers run from "
                  "the image size to the last hidden layer, under a softmax layer of "
                  "network.classes units): remove it, or set network.task: autoencoder",
                  sec->path, dot, k->name);
        else
            ERROR(c, v,
                  "%s%s%s is a classifier's key; this network is an autoencoder: remove it, or "
                  "set network.task: classifier",
                  sec->path, dot, k->name);
    }
}

/* The checks that make a classifier what net.h builds: a softmax output
 * (set here when not written, so config.yaml says it), trained with
 * cross-entropy, and a stack to pretrain when pretraining is on. */
static void classifier_checks(struct ctx *c)
{
    struct amx_run_config *cfg = c->cfg;
    const struct amx_node *v = amx_node_get_path(c->root, "network.output");
    if (!v)
        cfg->network.output = AMX_UNIT_SOFTMAX;
    else if (cfg->network.output != AMX_UNIT_SOFTMAX)
        ERROR(c, v,
              "a classifier's network.output must be softmax (got %s); leave it out, or set "
              "network.task: autoencoder",
              amx_unit_name(cfg->network.output));
    v = amx_node_get_path(c->root, "finetune.loss");
    if (v && cfg->finetune.loss != AMX_LOSS_CROSS_ENTROPY)
        ERROR(c, v,
              "a classifier is trained with finetune.loss cross_entropy (-log p(label) of its "
              "softmax) (got %s); leave it out",
              amx_loss_name(cfg->finetune.loss));
    if (cfg->pretrain.enabled && c->layers_ok && cfg->network.n_layers < 2) {
        v = amx_node_get_path(c->root, "network.layers");
        ERROR(c, v ? v : c->root,
              "network.layers [%d] has no hidden layer to pretrain (softmax regression); set "
              "pretrain: none",
              cfg->network.layers[0]);
    }
}

/* A plateau modifier and early stopping are driven by the validation
 * error: they need held-out images. */
static void plateau_checks(struct ctx *c)
{
    const struct amx_finetune_config *ft = &c->cfg->finetune;
    const struct amx_node *rules = amx_node_get_path(c->root, "finetune.rules");
    for (size_t i = 0; rules && i < ft->n_rules; i++) {
        const struct amx_plateau *pl = &ft->rules[i].spec.plateau;
        if (pl->on && c->cfg->data.validation == 0)
            bind_error_at(c, rules, pl->line, pl->col,
                          "finetune.rules.%s.plateau is driven by the validation error, which "
                          "needs held-out images: set data.validation (got no validation split)",
                          ft->rules[i].selector);
    }
    const struct amx_node *es = amx_node_get_path(c->root, "finetune.early_stop");
    if (es && ft->early_stop.enabled && c->cfg->data.validation == 0)
        ERROR(c, es,
              "finetune.early_stop watches the validation error, which needs held-out images: "
              "set data.validation (got no validation split)");
    const struct amx_node *nb = amx_node_get_path(c->root, "finetune.newbob");
    if (!nb || !ft->newbob.enabled) return;
    if (c->cfg->data.validation == 0)
        ERROR(c, nb,
              "finetune.newbob keeps or rejects each epoch by the validation error, which needs "
              "held-out images: set data.validation (got no validation split)");
    if (ft->early_stop.enabled)
        ERROR(c, nb,
              "finetune.newbob stops training itself: it cannot go with finetune.early_stop "
              "(set one of them)");
    for (size_t i = 0; i < ft->n_rules; i++)
        if (ft->rules[i].spec.plateau.on)
            ERROR(c, nb,
                  "finetune.newbob sets every group's rate: it cannot go with the plateau of "
                  "finetune.rules.%s (set one of them)",
                  ft->rules[i].selector);
}

static void cross_checks(struct ctx *c)
{
    struct amx_run_config *cfg = c->cfg;
    const struct amx_node *v;
    task_keys(c, &amx_schema_top, c->root);
    if (cfg->network.task == AMX_TASK_CLASSIFIER) classifier_checks(c);
    v = amx_node_get_path(c->root, "network.output");
    if (v && cfg->network.task == AMX_TASK_AUTOENCODER && cfg->network.output == AMX_UNIT_SOFTMAX)
        ERROR(c, v,
              "network.output softmax is a classifier's output layer; an autoencoder's outputs "
              "are logistic, linear, relu or tanh (or set network.task: classifier)");
    static const char *const hidden_keys[] = {"network.hidden", "network.code"};
    for (size_t i = 0; i < 2; i++) {
        v = amx_node_get_path(c->root, hidden_keys[i]);
        if (v && *(i ? &cfg->network.code : &cfg->network.hidden) == AMX_UNIT_SOFTMAX)
            ERROR(c, v, "%s cannot be softmax: softmax units are a classifier's output layer only",
                  hidden_keys[i]);
    }
    if (!amx_node_get_path(c->root, "report.title"))
        snprintf(cfg->report.title, sizeof cfg->report.title, "%s", cfg->name);
    v = amx_node_get_path(c->root, "data.validation");
    if (v) { /* for the check against the data, made when it is read */
        cfg->data.validation_line = v->line;
        cfg->data.validation_col = v->col;
        snprintf(cfg->data.validation_file, sizeof cfg->data.validation_file, "%s",
                 v->file && v->file[0] ? v->file : cfg->file);
    }
    if (v && cfg->data.train_limit > 0 && cfg->data.validation >= cfg->data.train_limit)
        ERROR(c, v,
              "data.validation must be < data.train_limit (%ld), so that some images are left "
              "to train on (got %ld)",
              cfg->data.train_limit, cfg->data.validation);
    v = amx_node_get_path(c->root, "evaluation.train_subset");
    if (v) {
        cfg->evaluation.train_subset_line = v->line;
        cfg->evaluation.train_subset_col = v->col;
        snprintf(cfg->evaluation.train_subset_file, sizeof cfg->evaluation.train_subset_file, "%s",
                 v->file && v->file[0] ? v->file : cfg->file);
    }
    if (v && cfg->data.train_limit > 0 &&
        cfg->evaluation.train_subset > cfg->data.train_limit - cfg->data.validation)
        ERROR(c, v,
              "evaluation.train_subset must be at most the number of training images (%ld: "
              "data.train_limit %ld less data.validation %ld) (got %ld)",
              cfg->data.train_limit - cfg->data.validation, cfg->data.train_limit,
              cfg->data.validation, cfg->evaluation.train_subset);
    if (cfg->report.metric == AMX_METRIC_VALIDATION_ERROR && cfg->data.validation == 0) {
        v = amx_node_get_path(c->root, "report.metric");
        ERROR(c, v ? v : c->root,
              "report.metric validation_error needs held-out images: set data.validation "
              "(got no validation split)");
    }
    plateau_checks(c);
    /* cross_entropy's gradient p - x is that of logistic outputs' logits */
    if (cfg->network.task == AMX_TASK_AUTOENCODER && cfg->finetune.loss == AMX_LOSS_CROSS_ENTROPY &&
        cfg->network.output != AMX_UNIT_LOGISTIC && cfg->network.output != AMX_UNIT_SOFTMAX) {
        v = amx_node_get_path(c->root, "finetune.loss");
        const struct amx_node *o = amx_node_get_path(c->root, "network.output");
        const struct amx_node *at = v ? v : o ? o : c->root;
        ERROR(c, at,
              "finetune.loss cross_entropy needs network.output: logistic (got output %s); "
              "use loss: squared_error for %s outputs",
              amx_unit_name(cfg->network.output), amx_unit_name(cfg->network.output));
    }
    /* Pretraining trains RBMs with logistic hidden units (the top one linear
     * when the code is linear) and unrolls their weights into the network:
     * other units would start from weights trained for another function. */
    if (cfg->pretrain.enabled) {
        v = amx_node_get_path(c->root, "network.hidden");
        /* an autoencoder of two sizes has no hidden layer; a classifier's hidden
         * layers are all but the softmax */
        int hidden_from = cfg->network.task == AMX_TASK_CLASSIFIER ? 2 : 3;
        if (v && cfg->network.hidden != AMX_UNIT_LOGISTIC && c->layers_ok &&
            cfg->network.n_layers >= hidden_from)
            ERROR(c, v,
                  "network.hidden %s cannot be pretrained: the RBMs of pretraining have logistic "
                  "hidden units, so their weights would be unrolled into %s units; expected "
                  "hidden: logistic, or pretrain: none (random initial weights)",
                  amx_unit_name(cfg->network.hidden), amx_unit_name(cfg->network.hidden));
        v = amx_node_get_path(c->root, "network.code");
        if (v && cfg->network.task == AMX_TASK_AUTOENCODER &&
            cfg->network.code != AMX_UNIT_LOGISTIC && cfg->network.code != AMX_UNIT_LINEAR &&
            cfg->network.code != AMX_UNIT_SOFTMAX)
            ERROR(c, v,
                  "network.code %s cannot be pretrained: the top RBM of pretraining has logistic "
                  "or linear hidden units, so its weights would be unrolled into %s units; "
                  "expected code: logistic or linear, or pretrain: none (random initial weights)",
                  amx_unit_name(cfg->network.code), amx_unit_name(cfg->network.code));
    }
    v = amx_node_map_get(c->root, "repeat");
    if (v && cfg->repeat >= cfg->repeats)
        ERROR(c, v, "repeat must be < repeats (%d) (got %d)", cfg->repeats, cfg->repeat);
    if (c->layers_ok && c->rules_ok) {
        struct amx_error e;
        const struct amx_node_pair *p =
            amx_node_map_pair(amx_node_map_get(c->root, "finetune"), "rules");
        const char *file = p && p->value->file[0] ? p->value->file : c->root->file;
        if (amx_groups_check_layers(cfg->network.task, cfg->network.n_layers, cfg->finetune.rules,
                                    cfg->finetune.n_rules, file, cfg->finetune.rules_line,
                                    cfg->finetune.rules_col, &e) != AMX_OK) {
            e.code = AMX_ERR_CONFIG;
            amx_errlist_add(c->errs, &e);
            c->n_errors++;
        }
    }
}

enum amx_status amx_config_bind(const struct amx_node *root, struct amx_run_config *cfg,
                                struct amx_errlist *errs)
{
    memset(cfg, 0, sizeof *cfg);
    set_defaults(cfg, &amx_schema_top);
    struct ctx c = {.root = root, .cfg = cfg, .errs = errs};
    if (!root) {
        struct amx_error e;
        amx_fail(&e, AMX_ERR_CONFIG, "", 0, 0, "no experiment to bind");
        amx_errlist_add(errs, &e);
        return AMX_ERR_CONFIG;
    }
    snprintf(cfg->file, sizeof cfg->file, "%s", root->file ? root->file : "");
    if (root->kind != AMX_NODE_MAP) {
        char d[96];
        ERROR(&c, root, "the top level of an experiment must be a mapping of keys (got %s)",
              bind_describe(root, d, sizeof d));
        return AMX_ERR_CONFIG;
    }
    bind_section(&c, &amx_schema_top, root);
    cross_checks(&c);
    return c.n_errors ? AMX_ERR_CONFIG : AMX_OK;
}
