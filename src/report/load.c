/* Reading the per-run files the run module writes: runs/<id>/summary.json
 * (jansson), runs/<id>/curve.csv (a header, then one row of numbers per
 * epoch 0..E) and runs/<id>/config.yaml, and the one verdict on a run folder
 * (amx_result_judge) that the runner, the report, compare and merge share. A
 * summary that is absent makes the run "missing" (it is skipped, as an
 * unfinished run is); a summary that lacks a field, a curve that is absent,
 * malformed or of other numbers, or a config.yaml that is absent, malformed
 * or of another run beside it is a damaged folder, refused at its file, line
 * and column. This file also builds the union of the curve columns in the
 * order curves.csv uses. It writes nothing. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"
#include "adamix/node.h"
#include "adamix/sha256.h"
#include "adamix/sweep.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dupstr(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- summary.json ---- */

/* Number or null (NAN); false for anything else or when absent. */
static bool get_number_or_null(json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_null(v)) {
        *out = NAN;
        return true;
    }
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return true;
}

static enum amx_status read_summary_no_test(size_t n_axes, const char *const *axes,
                                            struct rpt_run *r, json_t *root, const char **why,
                                            const char **key, struct amx_error *err);
static enum amx_status read_summary_rest(size_t n_axes, const char *const *axes, struct rpt_run *r,
                                         json_t *root, const char **why, const char **key,
                                         struct amx_error *err);

/* Fills r from summary.json. Sets *why (and *key, the field at fault, NULL
 * for the whole file) when the summary is incomplete; only AMX_ERR_NOMEM is
 * an error. */
static enum amx_status read_summary(size_t n_axes, const char *const *axes, struct rpt_run *r,
                                    json_t *root, const char **why, const char **key,
                                    struct amx_error *err)
{
    *why = NULL;
    *key = NULL;
    if (!json_is_object(root)) {
        *why = "not a JSON object";
        return AMX_OK;
    }
    json_t *id = json_object_get(root, "run_id");
    if (!json_is_string(id) || strcmp(json_string_value(id), r->id) != 0) {
        *why = "\"run_id\" is not the folder's run id";
        *key = "run_id";
        return AMX_OK;
    }
    /* the configuration's full SHA-256 (absent in folders written before it
     * existed): the run id is its first 16 digits */
    json_t *cs = json_object_get(root, "config_sha256");
    if (cs) {
        const char *h = json_string_value(cs);
        bool hex = h && strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64;
        if (!hex || strncmp(h, r->id, strlen(r->id)) != 0) {
            *why = "\"config_sha256\" is not 64 hexadecimal digits beginning with the run id";
            *key = "config_sha256";
            return AMX_OK;
        }
    }
    const char *status = json_string_value(json_object_get(root, "status"));
    if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "diverged") != 0)) {
        *why = "\"status\" is not \"ok\" or \"diverged\"";
        *key = "status";
        return AMX_OK;
    }
    r->diverged = strcmp(status, "diverged") == 0;
    json_t *rep = json_object_get(root, "repeat");
    if (!json_is_integer(rep) || json_integer_value(rep) < 0) {
        *why = "\"repeat\" is not an integer >= 0";
        *key = "repeat";
        return AMX_OK;
    }
    r->repeat = (long)json_integer_value(rep);
    json_t *data = json_object_get(root, "data");
    const char *tr = json_string_value(json_object_get(data, "train_sha256"));
    const char *te = json_string_value(json_object_get(data, "test_sha256"));
    snprintf(r->train_sha, sizeof r->train_sha, "%s", tr ? tr : "");
    snprintf(r->test_sha, sizeof r->test_sha, "%s", te ? te : "");
    /* a run that measured no test error (a tuning run, evaluation.test:
     * false) has no test field, and its best epoch is the validation set's */
    r->no_test = !json_object_get(root, "final_test_error");
    if (r->no_test) return read_summary_no_test(n_axes, axes, r, root, why, key, err);
    if (!get_number_or_null(root, "final_test_error", &r->final_test)) {
        *why = "\"final_test_error\" is not a number or null";
        *key = "final_test_error";
        return AMX_OK;
    }
    if (!get_number_or_null(root, "best_test_error", &r->best_test)) {
        *why = "\"best_test_error\" is not a number or null";
        *key = "best_test_error";
        return AMX_OK;
    }
    if (!r->diverged && !isfinite(r->final_test)) {
        *why = "status \"ok\" without a finite \"final_test_error\"";
        *key = "final_test_error";
        return AMX_OK;
    }
    return read_summary_rest(n_axes, axes, r, root, why, key, err);
}

/* The fields of a run without the test set: a best_validation_error, a
 * finite final_validation_error when ok, and no other test field. */
static enum amx_status read_summary_no_test(size_t n_axes, const char *const *axes,
                                            struct rpt_run *r, json_t *root, const char **why,
                                            const char **key, struct amx_error *err)
{
    r->final_test = r->best_test = NAN;
    double fv = NAN;
    r->final_valid = NAN;
    if (json_object_get(root, "best_test_error") || json_object_get(root, "final_test_loss")) {
        *why = "a test field without \"final_test_error\"";
        *key = json_object_get(root, "best_test_error") ? "best_test_error" : "final_test_loss";
        return AMX_OK;
    }
    if (!get_number_or_null(root, "best_validation_error", &r->best_valid) ||
        !json_object_get(root, "best_validation_error")) {
        *why = "neither \"final_test_error\" nor \"best_validation_error\" (a run without the "
               "test set has the latter)";
        *key = "best_validation_error";
        return AMX_OK;
    }
    /* a run without held-out images has no validation error either */
    json_t *vi = json_object_get(json_object_get(root, "data"), "validation_images");
    bool held_out = !json_is_integer(vi) || json_integer_value(vi) > 0;
    if (!get_number_or_null(root, "final_validation_error", &fv) ||
        (!r->diverged && held_out && !isfinite(fv))) {
        *why = "status \"ok\" without a finite \"final_validation_error\" in a run without "
               "the test set";
        *key = "final_validation_error";
        return AMX_OK;
    }
    r->final_valid = fv;
    return read_summary_rest(n_axes, axes, r, root, why, key, err);
}

/* The fields every summary has after its errors. */
static enum amx_status read_summary_rest(size_t n_axes, const char *const *axes, struct rpt_run *r,
                                         json_t *root, const char **why, const char **key,
                                         struct amx_error *err)
{
    json_t *be = json_object_get(root, "best_epoch");
    if (json_is_integer(be)) {
        r->best_epoch = (long)json_integer_value(be);
        r->has_best_epoch = true;
    } else if (!json_is_null(be)) {
        *why = "\"best_epoch\" is not an integer or null";
        *key = "best_epoch";
        return AMX_OK;
    }
    json_t *secs = json_object_get(root, "seconds");
    if (!json_is_number(secs)) {
        *why = "\"seconds\" is not a number";
        *key = "seconds";
        return AMX_OK;
    }
    r->seconds = json_number_value(secs);
    json_t *sweep = json_object_get(root, "sweep");
    if (!json_is_object(sweep)) {
        *why = "\"sweep\" is not an object";
        *key = "sweep";
        return AMX_OK;
    }
    for (size_t a = 0; a < n_axes; a++) {
        if (!json_is_string(json_object_get(sweep, axes[a]))) {
            *why = "\"sweep\" lacks a label for one of the experiment's axes";
            *key = "sweep";
            return AMX_OK;
        }
    }
    json_t *ep = json_object_get(root, "epochs");
    if (ep && (!json_is_integer(ep) || json_integer_value(ep) < 0)) {
        *why = "\"epochs\" is not an integer >= 0";
        *key = "epochs";
        return AMX_OK;
    }
    r->epochs = ep ? (long)json_integer_value(ep) : -1;
    json_t *fe = json_object_get(root, "final_epoch");
    r->final_epoch = json_is_integer(fe) ? (long)json_integer_value(fe) : -1;
    r->labels = calloc(n_axes ? n_axes : 1, sizeof *r->labels);
    if (!r->labels) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    for (size_t a = 0; a < n_axes; a++) {
        json_t *l = json_object_get(sweep, axes[a]);
        r->labels[a] = dupstr(json_string_value(l), json_string_length(l));
        if (!r->labels[a]) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    return AMX_OK;
}

/* ---- curve.csv ---- */

/* Splits a line at commas in place; returns the number of fields (at most
 * max) or max + 1 when there are more. */
static size_t split_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return max + 1;
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* A field as a number: empty = absent; otherwise the whole field must parse
 * (strtod accepts nan, inf, -inf as the run module prints them). */
static bool parse_number(const char *s, double *v, bool *present)
{
    if (!*s) {
        *v = NAN;
        *present = false;
        return true;
    }
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end) return false;
    *v = x; /* ERANGE: an overflow is inf, an underflow 0; both print as the run wrote them */
    *present = true;
    return true;
}

static enum amx_status read_curve(const char *path, struct rpt_curve *c, struct amx_error *err)
{
    char *text = NULL;
    size_t len = 0;
    struct amx_error rerr = {0};
    if (amx_read_file(path, &text, &len, &rerr) != AMX_OK)
        return amx_fail(err, rerr.code == AMX_ERR_NOMEM ? AMX_ERR_NOMEM : AMX_ERR_IO, path, 0, 0,
                        "the run's summary.json is complete but its curve is unreadable (%s)",
                        rerr.msg);
    enum amx_status st = AMX_OK;
    char **fields = NULL;
    size_t cap_rows = 0;
    /* lines: cut at '\n', drop a trailing '\r' */
    char *line = text;
    int lineno = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = '\0';
        lineno++;
        char *next = nl ? nl + 1 : NULL;
        if (lineno == 1) {
            size_t nf = 1;
            for (const char *q = line; *q; q++)
                nf += *q == ',';
            c->cols = calloc(nf, sizeof *c->cols);
            fields = calloc(nf + 1, sizeof *fields);
            if (!c->cols || !fields) {
                st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
                goto done;
            }
            c->n_cols = split_fields(line, fields, nf);
            for (size_t j = 0; j < c->n_cols; j++) {
                if (!fields[j][0]) {
                    st = amx_fail(err, AMX_ERR_IO, path, 1, (int)(fields[j] - line) + 1,
                                  "empty column name in the header");
                    goto done;
                }
                for (size_t k = 0; k < j; k++)
                    if (strcmp(c->cols[k], fields[j]) == 0) {
                        st = amx_fail(err, AMX_ERR_IO, path, 1, (int)(fields[j] - line) + 1,
                                      "column \"%s\" appears twice", fields[j]);
                        goto done;
                    }
                c->cols[j] = dupstr(fields[j], strlen(fields[j]));
                if (!c->cols[j]) {
                    st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
                    goto done;
                }
            }
            /* test_error too, unless the run measured no test error
             * (load_run checks which) */
            static const char *const required[] = {"epoch", "train_error", "seconds"};
            for (size_t q = 0; q < sizeof required / sizeof *required; q++) {
                size_t k = 0;
                while (k < c->n_cols && strcmp(c->cols[k], required[q]) != 0)
                    k++;
                if (k == c->n_cols) {
                    st = amx_fail(err, AMX_ERR_IO, path, 1, 1, "the header has no \"%s\" column",
                                  required[q]);
                    goto done;
                }
            }
            line = next;
            continue;
        }
        if (ll == 0 && (!next || !*next)) break; /* a final empty line */
        size_t nf = split_fields(line, fields, c->n_cols);
        if (nf != c->n_cols) {
            st = amx_fail(err, AMX_ERR_IO, path, lineno, 1, "%s fields, expected %zu",
                          nf > c->n_cols ? "more" : "fewer", c->n_cols);
            goto done;
        }
        if (c->n_rows == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            double *v = realloc(c->v, cap_rows * c->n_cols * sizeof *v);
            if (v) c->v = v;
            unsigned char *h = realloc(c->has, cap_rows * c->n_cols);
            if (h) c->has = h;
            if (!v || !h) {
                st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
                goto done;
            }
        }
        double *v = c->v + c->n_rows * c->n_cols;
        unsigned char *h = c->has + c->n_rows * c->n_cols;
        for (size_t j = 0; j < c->n_cols; j++) {
            bool present;
            if (!parse_number(fields[j], &v[j], &present)) {
                st = amx_fail(err, AMX_ERR_IO, path, lineno, (int)(fields[j] - line) + 1,
                              "column %s: \"%s\" is not a number", c->cols[j], fields[j]);
                goto done;
            }
            h[j] = present;
            if (strcmp(c->cols[j], "epoch") == 0 && (!present || v[j] != (double)c->n_rows)) {
                st = amx_fail(err, AMX_ERR_IO, path, lineno, (int)(fields[j] - line) + 1,
                              "epoch \"%s\", expected %zu (rows are epochs 0, 1, 2, ...)",
                              fields[j], c->n_rows);
                goto done;
            }
        }
        c->n_rows++;
        line = next;
    }
    if (lineno == 0) {
        st = amx_fail(err, AMX_ERR_IO, path, 0, 0, "empty curve file");
    } else if (c->n_rows == 0) {
        st = amx_fail(err, AMX_ERR_IO, path, 2, 1, "no rows after the header (expected epoch 0)");
    }
done:
    free(fields);
    free(text);
    return st;
}

/* ---- column union ---- */

static enum amx_status add_name(char ***list, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], name) == 0) return AMX_OK;
    char **p = realloc(*list, (*n + 1) * sizeof *p);
    if (!p) return AMX_ERR_NOMEM;
    *list = p;
    p[*n] = dupstr(name, strlen(name));
    if (!p[*n]) return AMX_ERR_NOMEM;
    (*n)++;
    return AMX_OK;
}

static bool is_base_column(const char *n)
{
    return !strcmp(n, "epoch") || !strcmp(n, "train_error") || !strcmp(n, "validation_error") ||
           !strcmp(n, "test_error") || !strcmp(n, "seconds");
}

/* "rate_mean.weights" -> "weights"; NULL if not a rate column. */
static const char *rate_group(const char *n)
{
    static const char *const pre[] = {"rate_mean.", "rate_min.", "rate_max."};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(pre[i]);
        if (strncmp(n, pre[i], l) == 0 && n[l]) return n + l;
    }
    return NULL;
}

/* curves.csv column order: epoch, train_error, [validation_error,] test_error,
 * seconds; then rate_mean/min/max per group in order of first appearance over
 * the runs; then any other column in order of first appearance. */
static enum amx_status build_column_union(struct rpt_ctx *ctx, struct amx_error *err)
{
    char **groups = NULL, **others = NULL;
    size_t n_groups = 0, n_others = 0;
    enum amx_status st = AMX_OK;
    /* a folder of runs without the test set (a tuning stage) shows no test
     * column anywhere: every complete run is such a run */
    bool any = false, all_no_test = true;
    for (size_t i = 0; i < ctx->in->n_runs; i++)
        if (ctx->runs[i].complete) any = true, all_no_test = all_no_test && ctx->runs[i].no_test;
    ctx->no_test = any && all_no_test;
    for (size_t i = 0; i < ctx->in->n_runs && st == AMX_OK; i++) {
        const struct rpt_run *r = &ctx->runs[i];
        if (!r->complete) continue;
        for (size_t j = 0; j < r->curve.n_cols && st == AMX_OK; j++) {
            const char *n = r->curve.cols[j];
            const char *g = rate_group(n);
            if (!strcmp(n, "validation_error")) ctx->has_validation = true;
            if (g)
                st = add_name(&groups, &n_groups, g);
            else if (!is_base_column(n))
                st = add_name(&others, &n_others, n);
        }
    }
    static const char *const base[] = {"epoch", "train_error", "validation_error", "test_error",
                                       "seconds"};
    for (size_t b = 0; b < 5 && st == AMX_OK; b++)
        if ((b != 2 || ctx->has_validation) && (b != 3 || !ctx->no_test))
            st = add_name(&ctx->cols, &ctx->n_cols, base[b]);
    static const char *const stats[] = {"rate_mean.", "rate_min.", "rate_max."};
    for (size_t g = 0; g < n_groups && st == AMX_OK; g++) {
        for (size_t k = 0; k < 3 && st == AMX_OK; k++) {
            char name[512];
            snprintf(name, sizeof name, "%s%s", stats[k], groups[g]);
            st = add_name(&ctx->cols, &ctx->n_cols, name);
        }
    }
    for (size_t o = 0; o < n_others && st == AMX_OK; o++)
        st = add_name(&ctx->cols, &ctx->n_cols, others[o]);
    for (size_t g = 0; g < n_groups; g++)
        free(groups[g]);
    for (size_t o = 0; o < n_others; o++)
        free(others[o]);
    free(groups);
    free(others);
    if (st != AMX_OK) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    /* each run's column for each union column */
    for (size_t i = 0; i < ctx->in->n_runs; i++) {
        struct rpt_run *r = &ctx->runs[i];
        if (!r->complete) continue;
        r->colmap = malloc(ctx->n_cols * sizeof *r->colmap);
        if (!r->colmap) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        for (size_t u = 0; u < ctx->n_cols; u++) {
            r->colmap[u] = RPT_NONE;
            for (size_t j = 0; j < r->curve.n_cols; j++)
                if (strcmp(r->curve.cols[j], ctx->cols[u]) == 0) r->colmap[u] = j;
        }
    }
    return AMX_OK;
}

size_t rpt_col_index(const struct rpt_ctx *ctx, const char *name)
{
    for (size_t u = 0; u < ctx->n_cols; u++)
        if (strcmp(ctx->cols[u], name) == 0) return u;
    return RPT_NONE;
}

/* ---- the verdict on a run folder ---- */

/* INVALID at path:line:col, what is wrong (fmt). */
static void refuse(struct amx_result_verdict *v, const char *path, int line, int col,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void refuse(struct amx_result_verdict *v, const char *path, int line, int col,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    amx_vfail(&v->where, AMX_ERR_IO, path, line, col, fmt, ap);
    va_end(ap);
    v->state = AMX_RESULT_INVALID;
}

/* Whether path is a regular file; otherwise refuses it (at 1:1: the file as
 * a whole), saying what it is instead. */
static bool judge_file(const char *path, struct amx_result_verdict *v)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        refuse(v, path, 1, 1, "cannot read (%s): a complete run keeps its %s", strerror(errno),
               strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    else if (S_ISLNK(sb.st_mode))
        refuse(v, path, 1, 1,
               "is a symbolic link, expected a file: adamix-run follows no link inside a "
               "results folder");
    else if (!S_ISREG(sb.st_mode))
        refuse(v, path, 1, 1, "is not a regular file (a folder, pipe or device)");
    else
        return true;
    return false;
}

/* The line and column of "key": in JSON text (its first occurrence as a
 * key), or 1:1 when it is not there (the object as a whole). */
static void key_at(const char *text, const char *key, int *line, int *col)
{
    size_t kl = strlen(key);
    int l = 1, c = 1;
    *line = *col = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '"' && strncmp(p + 1, key, kl) == 0 && p[kl + 1] == '"') {
            const char *q = p + kl + 2;
            while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
                q++;
            if (*q == ':') {
                *line = l;
                *col = c;
                return;
            }
        }
        if (*p == '\n')
            l++, c = 1;
        else
            c++;
    }
}

/* Column name's value at row of curve c; NAN when the column or the value
 * is absent. */
static double curve_value(const struct rpt_curve *c, const char *name, size_t row)
{
    for (size_t j = 0; j < c->n_cols; j++)
        if (strcmp(c->cols[j], name) == 0)
            return c->has[row * c->n_cols + j] ? c->v[row * c->n_cols + j] : NAN;
    return NAN;
}

/* The same number as the run module wrote it twice (10 significant digits
 * in both files), or neither finite (summary.json writes null for what
 * curve.csv prints as nan or inf, or leaves empty). */
static bool same_number(double a, double b)
{
    if (!isfinite(a) || !isfinite(b)) return !isfinite(a) && !isfinite(b);
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* summary.json's number key (root, text at path) against the curve's column
 * at row: refused at the key when they differ. A key absent from an older
 * summary.json is not compared. */
static bool judge_number(json_t *root, const char *text, const char *path, const char *key,
                         const struct rpt_curve *c, const char *col, size_t row,
                         struct amx_result_verdict *v)
{
    json_t *j = json_object_get(root, key);
    if (!j) return true;
    double s = json_is_number(j) ? json_number_value(j) : NAN, x = curve_value(c, col, row);
    if (same_number(s, x)) return true;
    char a[32], b[32];
    rpt_fmt_num(a, s);
    rpt_fmt_num(b, x);
    int line, colno;
    key_at(text, key, &line, &colno);
    refuse(v, path, line, colno,
           "\"%s\" is %s, but curve.csv has %s %s at epoch %zu: summary.json and curve.csv "
           "are of different runs, or one was edited",
           key, json_is_null(j) ? "null" : a, col, b, row);
    return false;
}

/* The summary's numbers are the curve's: final errors at its last row (or
 * at final_epoch's, the epoch whose weights early stopping restored), the
 * best test error at best_epoch's row. */
static bool judge_numbers(json_t *root, const char *text, const char *path, const struct rpt_run *r,
                          struct amx_result_verdict *v)
{
    const struct rpt_curve *c = &r->curve;
    size_t last = c->n_rows - 1, fin = last;
    json_t *fe = json_object_get(root, "final_epoch");
    if (fe) {
        json_int_t e = json_is_integer(fe) ? json_integer_value(fe) : -1;
        if (e < 0 || (size_t)e > last) {
            int line, col;
            key_at(text, "final_epoch", &line, &col);
            refuse(v, path, line, col, "\"final_epoch\" is not an epoch of curve.csv (0..%zu)",
                   last);
            return false;
        }
        fin = (size_t)e;
    }
    if (r->has_best_epoch && (r->best_epoch < 0 || (size_t)r->best_epoch > last)) {
        int line, col;
        key_at(text, "best_epoch", &line, &col);
        refuse(v, path, line, col, "\"best_epoch\" is %ld, not an epoch of curve.csv (0..%zu)",
               r->best_epoch, last);
        return false;
    }
    const char *best_key = r->no_test ? "best_validation_error" : "best_test_error";
    const char *best_col = r->no_test ? "validation_error" : "test_error";
    return judge_number(root, text, path, "final_test_error", c, "test_error", fin, v) &&
           (!r->has_best_epoch ||
            judge_number(root, text, path, best_key, c, best_col, (size_t)r->best_epoch, v)) &&
           judge_number(root, text, path, "final_train_error", c, "train_error", fin, v) &&
           judge_number(root, text, path, "final_validation_error", c, "validation_error", fin, v);
}

/* config.yaml binds to a run configuration of summary.json's repeat (its
 * own repeat, or summary.json's when it has none: a folder older than the
 * field) and, when summary.json has config_sha256 (stored, which begins with
 * the folder's id), whose canonical form hashes to it. Otherwise the folder
 * holds another run's files. (A folder older than config_sha256 is checked
 * against the run it should hold by the runner and merge, which know it.) */
static enum amx_status judge_config(const char *run_dir, const char *id, long repeat,
                                    const char *stored, const char *summary_path,
                                    const char *summary_text, struct amx_result_verdict *v)
{
    char path[AMX_PATH_MAX + 600];
    if (!amx_path_join(path, sizeof path, run_dir, "config.yaml")) {
        refuse(v, run_dir, 0, 0, "path too long");
        return AMX_OK;
    }
    if (!judge_file(path, v)) return AMX_OK;
    struct amx_node *node = NULL;
    struct amx_error perr = {0};
    if (amx_node_parse_file(path, &node, &perr) != AMX_OK) {
        if (perr.code == AMX_ERR_NOMEM) {
            v->where = perr;
            return AMX_ERR_NOMEM;
        }
        refuse(v, path, perr.line > 0 ? perr.line : 1, perr.col > 0 ? perr.col : 1,
               "malformed config.yaml (%s)", perr.msg);
        return AMX_OK;
    }
    struct amx_run_config *cfg = calloc(1, sizeof *cfg);
    struct amx_errlist errs = {0};
    enum amx_status st = AMX_OK;
    if (!cfg) {
        st = amx_fail(&v->where, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    } else if (amx_config_bind(node, cfg, &errs) != AMX_OK) {
        const struct amx_error *e = errs.n ? &errs.items[0] : NULL;
        refuse(v, path, e && e->line > 0 ? e->line : 1, e && e->col > 0 ? e->col : 1,
               "does not bind to a run configuration (%s)", e ? e->msg : "");
    } else {
        const struct amx_node *rk = amx_node_map_get(node, "repeat");
        int line = rk ? rk->line : 1, col = rk ? rk->col : 1;
        if (!rk) cfg->repeat = (int)repeat;
        char *form = amx_canonical_form(cfg);
        char sha[65] = "";
        if (form) amx_sha256_hex(form, strlen(form), sha);
        free(form);
        if (!form) {
            st = amx_fail(&v->where, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
        } else if (stored && strcmp(stored, sha) != 0 && strncmp(sha, id, strlen(id)) != 0) {
            v->other_run = true;
            refuse(v, path, cfg->repeat != repeat ? line : 1, cfg->repeat != repeat ? col : 1,
                   "describes run %.16s, not %s (the folder's name and summary.json's "
                   "config_sha256)%s",
                   sha, id, cfg->repeat != repeat ? ": the config.yaml of another repeat" : "");
        } else if (stored && strcmp(stored, sha) != 0) {
            key_at(summary_text, "config_sha256", &line, &col);
            v->other_run = true;
            refuse(v, summary_path, line, col,
                   "\"config_sha256\" is not that of run %s (its config.yaml's configuration "
                   "hashes to %s)",
                   id, sha);
        } else if (cfg->repeat != repeat && stored) {
            key_at(summary_text, "repeat", &line, &col);
            v->other_run = true;
            refuse(v, summary_path, line, col,
                   "\"repeat\" is %ld, but the run's config.yaml (of its config_sha256) says %d",
                   repeat, cfg->repeat);
        } else if (cfg->repeat != repeat) {
            v->other_run = true;
            refuse(v, path, line, col,
                   "repeat %d, but summary.json's repeat is %ld: the config.yaml of another "
                   "repeat",
                   cfg->repeat, repeat);
        }
    }
    amx_errlist_free(&errs);
    free(cfg);
    amx_node_free(node);
    return st;
}

/* The one judgement of a run folder (amx_result_judge), reading its
 * summary.json and curve.csv into r. Only AMX_ERR_NOMEM is an error. */
/* curve.csv has a test_error column exactly when summary.json has a
 * final_test_error: a run without the test set shows none anywhere. */
static bool judge_test_column(const struct rpt_run *r, const char *cpath, const char *path,
                              const char *text, struct amx_result_verdict *v)
{
    bool has = false;
    for (size_t j = 0; j < r->curve.n_cols; j++)
        has = has || strcmp(r->curve.cols[j], "test_error") == 0;
    if (!r->no_test && !has) {
        refuse(v, cpath, 1, 1, "the header has no \"test_error\" column");
        return false;
    }
    if (r->no_test && has) {
        int line, col;
        key_at(text, "best_validation_error", &line, &col);
        refuse(v, path, line, col,
               "no \"final_test_error\" (a run without the test set), but curve.csv has a "
               "test_error column: summary.json and curve.csv are of different runs, or one was "
               "edited");
        return false;
    }
    return true;
}

static enum amx_status load_run(const char *run_dir, size_t n_axes, const char *const *axes,
                                struct rpt_run *r, struct amx_result_verdict *v,
                                struct amx_error *err)
{
    char path[AMX_PATH_MAX + 600], cpath[AMX_PATH_MAX + 600];
    memset(v, 0, sizeof *v);
    v->state = AMX_RESULT_INVALID;
    if (!amx_path_join(path, sizeof path, run_dir, "summary.json") ||
        !amx_path_join(cpath, sizeof cpath, run_dir, "curve.csv")) {
        refuse(v, run_dir, 0, 0, "path too long");
        return AMX_OK;
    }
    struct stat sb;
    if (lstat(path, &sb) != 0 && errno == ENOENT) {
        v->state = AMX_RESULT_ABSENT; /* not run yet: the ordinary case */
        return AMX_OK;
    }
    if (!judge_file(path, v)) return AMX_OK;
    char *text = NULL;
    struct amx_error rerr = {0};
    if (amx_read_file(path, &text, NULL, &rerr) != AMX_OK) {
        if (rerr.code == AMX_ERR_NOMEM)
            return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "%s", rerr.msg);
        refuse(v, path, 1, 1, "cannot read (%s)", rerr.msg);
        return AMX_OK;
    }
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    enum amx_status st = AMX_OK;
    const char *bad = NULL, *key = NULL;
    if (!root) {
        refuse(v, path, jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1,
               "malformed summary.json (%s)", jerr.text);
        goto done;
    }
    if ((st = read_summary(n_axes, axes, r, root, &bad, &key, err)) != AMX_OK) goto done;
    if (bad) {
        int line = 1, col = 1;
        if (key) key_at(text, key, &line, &col);
        refuse(v, path, line, col, "incomplete summary.json: %s", bad);
        goto done;
    }
    if (!judge_file(cpath, v)) goto done;
    struct amx_error cerr = {0};
    st = read_curve(cpath, &r->curve, &cerr);
    if (st == AMX_ERR_NOMEM) {
        amx_fail(err, st, cerr.path, 0, 0, "%s", cerr.msg);
        goto done;
    }
    if (st != AMX_OK) {
        st = AMX_OK;
        refuse(v, cerr.path, cerr.line > 0 ? cerr.line : 1, cerr.col > 0 ? cerr.col : 1, "%s",
               cerr.msg);
        goto done;
    }
    const struct rpt_curve *c = &r->curve;
    if (!judge_test_column(r, cpath, path, text, v)) goto done;
    if (r->epochs >= 0 && c->n_rows != (size_t)r->epochs + 1) {
        refuse(v, cpath, (int)c->n_rows + 1, 1,
               "%zu rows (epochs 0..%zu), but summary.json says %ld epochs", c->n_rows,
               c->n_rows - 1, r->epochs);
        goto done;
    }
    if (!judge_numbers(root, text, path, r, v)) goto done;
    const char *stored = json_string_value(json_object_get(root, "config_sha256"));
    st = judge_config(run_dir, r->id, r->repeat, stored, path, text, v);
    if (st != AMX_OK) {
        *err = v->where;
        goto done;
    }
    if (v->where.msg[0] == '\0') v->state = AMX_RESULT_COMPLETE;
done:
    json_decref(root);
    free(text);
    return st;
}

enum amx_result_state amx_result_judge(const char *run_dir, const char *run_id, size_t n_axes,
                                       const char *const *axes, struct amx_result_verdict *v)
{
    struct rpt_run r = {.id = run_id};
    struct amx_error err = {0};
    if (load_run(run_dir, n_axes, axes, &r, v, &err) != AMX_OK) {
        v->state = AMX_RESULT_INVALID;
        v->where = err;
    }
    rpt_run_clear(&r, n_axes);
    return v->state;
}

/* "path:line:col: what" (the parts known; cut to size). */
static void format_where(const struct amx_error *e, char *why, size_t size)
{
    int n;
    if (e->line > 0)
        n = snprintf(why, size, "%s:%d:%d: %s", e->path, e->line, e->col > 0 ? e->col : 1, e->msg);
    else if (e->path[0])
        n = snprintf(why, size, "%s: %s", e->path, e->msg);
    else
        n = snprintf(why, size, "%s", e->msg);
    (void)n;
}

enum amx_result_state amx_result_check(const char *run_dir, const char *run_id, size_t n_axes,
                                       const char *const *axes, char *why, size_t why_size)
{
    struct amx_result_verdict v;
    amx_result_judge(run_dir, run_id, n_axes, axes, &v);
    if (why_size) why[0] = '\0';
    if (v.state == AMX_RESULT_INVALID) format_where(&v.where, why, why_size);
    return v.state;
}

enum amx_status rpt_load_runs(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    ctx->runs = calloc(in->n_runs ? in->n_runs : 1, sizeof *ctx->runs);
    if (!ctx->runs) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    for (size_t i = 0; i < in->n_runs; i++) {
        struct rpt_run *r = &ctx->runs[i];
        r->id = in->run_ids[i];
        r->final_test = r->best_test = r->seconds = NAN;
        char rel[512], dir[AMX_PATH_MAX + 600], why[AMX_ERROR_PATH_MAX + AMX_ERROR_MSG_MAX + 32];
        struct amx_result_verdict v;
        snprintf(rel, sizeof rel, "runs/%s", r->id);
        if (!rpt_path(ctx, dir, sizeof dir, rel))
            return amx_fail(err, AMX_ERR_IO, in->results_dir, 0, 0, "path too long");
        enum amx_status st = load_run(dir, in->n_axes, in->axes, r, &v, err);
        if (st != AMX_OK) return st;
        if (v.state != AMX_RESULT_COMPLETE) {
            format_where(&v.where, why, sizeof why);
            if (v.state == AMX_RESULT_INVALID)
                rpt_warn(ctx, "%s; the run counts as missing (the next invocation redoes it)", why);
            rpt_run_clear(r, in->n_axes);
            r->final_test = r->best_test = r->seconds = NAN;
            ctx->res->n_missing++;
            continue;
        }
        r->complete = true;
        ctx->res->n_complete++;
        if (r->diverged) ctx->res->n_diverged++;
    }
    return build_column_union(ctx, err);
}
