/* Reading the per-run files the run module writes: runs/<id>/summary.json
 * (jansson) and runs/<id>/curve.csv (a header, then one row of numbers per
 * epoch 0..E). A summary that is absent or lacks a field makes the run
 * "missing" (it is skipped, as an unfinished run is); a curve that is absent
 * or malformed beside a complete summary is an error at its line and column,
 * because the two are written together and a broken one means a damaged
 * folder. This file also builds the union of the curve columns in the order
 * curves.csv uses. It writes nothing. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
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

/* Fills r from summary.json. Returns false (with *why set) when the summary is
 * incomplete; only AMX_ERR_NOMEM is an error. */
static enum amx_status read_summary(size_t n_axes, const char *const *axes, struct rpt_run *r,
                                    json_t *root, const char **why, struct amx_error *err)
{
    *why = NULL;
    if (!json_is_object(root)) {
        *why = "not a JSON object";
        return AMX_OK;
    }
    json_t *id = json_object_get(root, "run_id");
    if (!json_is_string(id) || strcmp(json_string_value(id), r->id) != 0) {
        *why = "\"run_id\" is not the folder's run id";
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
            return AMX_OK;
        }
    }
    const char *status = json_string_value(json_object_get(root, "status"));
    if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "diverged") != 0)) {
        *why = "\"status\" is not \"ok\" or \"diverged\"";
        return AMX_OK;
    }
    r->diverged = strcmp(status, "diverged") == 0;
    json_t *rep = json_object_get(root, "repeat");
    if (!json_is_integer(rep) || json_integer_value(rep) < 0) {
        *why = "\"repeat\" is not an integer >= 0";
        return AMX_OK;
    }
    r->repeat = (long)json_integer_value(rep);
    json_t *data = json_object_get(root, "data");
    const char *tr = json_string_value(json_object_get(data, "train_sha256"));
    const char *te = json_string_value(json_object_get(data, "test_sha256"));
    snprintf(r->train_sha, sizeof r->train_sha, "%s", tr ? tr : "");
    snprintf(r->test_sha, sizeof r->test_sha, "%s", te ? te : "");
    if (!get_number_or_null(root, "final_test_error", &r->final_test) ||
        !get_number_or_null(root, "best_test_error", &r->best_test)) {
        *why = "\"final_test_error\" or \"best_test_error\" is not a number or null";
        return AMX_OK;
    }
    if (!r->diverged && !isfinite(r->final_test)) {
        *why = "status \"ok\" without a finite \"final_test_error\"";
        return AMX_OK;
    }
    json_t *be = json_object_get(root, "best_epoch");
    if (json_is_integer(be)) {
        r->best_epoch = (long)json_integer_value(be);
        r->has_best_epoch = true;
    } else if (!json_is_null(be)) {
        *why = "\"best_epoch\" is not an integer or null";
        return AMX_OK;
    }
    json_t *secs = json_object_get(root, "seconds");
    if (!json_is_number(secs)) {
        *why = "\"seconds\" is not a number";
        return AMX_OK;
    }
    r->seconds = json_number_value(secs);
    json_t *sweep = json_object_get(root, "sweep");
    if (!json_is_object(sweep)) {
        *why = "\"sweep\" is not an object";
        return AMX_OK;
    }
    for (size_t a = 0; a < n_axes; a++) {
        if (!json_is_string(json_object_get(sweep, axes[a]))) {
            *why = "\"sweep\" lacks a label for one of the experiment's axes";
            return AMX_OK;
        }
    }
    json_t *ep = json_object_get(root, "epochs");
    if (ep && (!json_is_integer(ep) || json_integer_value(ep) < 0)) {
        *why = "\"epochs\" is not an integer >= 0";
        return AMX_OK;
    }
    r->epochs = ep ? (long)json_integer_value(ep) : -1;
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
            static const char *const required[] = {"epoch", "train_error", "test_error", "seconds"};
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
        if (b != 2 || ctx->has_validation) st = add_name(&ctx->cols, &ctx->n_cols, base[b]);
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

/* A why-text "path:line:col: what" (line and column when known). */
static void where(char *why, size_t size, const char *path, int line, int col, const char *what)
{
    if (line > 0)
        snprintf(why, size, "%s:%d:%d: %s", path, line, col > 0 ? col : 1, what);
    else
        snprintf(why, size, "%s: %s", path, what);
}

/* The one judgement of a run folder, for the runner and the report alike:
 * reads run_dir's summary.json and, when that is complete, its curve.csv
 * into r, and checks the two against each other (a curve cut at a line
 * boundary still parses, but no longer has the summary's epochs). The
 * values are not compared: tools and tests edit curves on purpose. *state says what the folder
 * holds; why (when INVALID) what is wrong, at its file:line:col. Only AMX_ERR_NOMEM is an error. */
static enum amx_status load_run(const char *run_dir, size_t n_axes, const char *const *axes,
                                struct rpt_run *r, enum amx_result_state *state, char *why,
                                size_t why_size, struct amx_error *err)
{
    char path[AMX_PATH_MAX + 600];
    *state = AMX_RESULT_INVALID;
    why[0] = '\0';
    if (!amx_path_join(path, sizeof path, run_dir, "summary.json")) {
        where(why, why_size, run_dir, 0, 0, "path too long");
        return AMX_OK;
    }
    struct stat sb;
    if (lstat(path, &sb) != 0 && errno == ENOENT) {
        *state = AMX_RESULT_ABSENT; /* not run yet: the ordinary case */
        return AMX_OK;
    }
    if (!amx_regular_file(path, why, why_size)) return AMX_OK;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        char what[JSON_ERROR_TEXT_LENGTH + 64];
        snprintf(what, sizeof what, "malformed summary.json (%s)", jerr.text);
        where(why, why_size, path, jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1,
              what);
        return AMX_OK;
    }
    const char *bad;
    enum amx_status st = read_summary(n_axes, axes, r, root, &bad, err);
    json_decref(root);
    if (st != AMX_OK) return st;
    if (bad) {
        char what[256];
        snprintf(what, sizeof what, "incomplete summary.json: %s", bad);
        where(why, why_size, path, 0, 0, what);
        return AMX_OK;
    }
    if (!amx_path_join(path, sizeof path, run_dir, "curve.csv")) {
        where(why, why_size, run_dir, 0, 0, "path too long");
        return AMX_OK;
    }
    if (!amx_regular_file(path, why, why_size)) return AMX_OK;
    struct amx_error cerr = {0};
    st = read_curve(path, &r->curve, &cerr);
    if (st == AMX_ERR_NOMEM) return amx_fail(err, st, cerr.path, 0, 0, "%s", cerr.msg);
    if (st != AMX_OK) {
        where(why, why_size, cerr.path, cerr.line, cerr.col, cerr.msg);
        return AMX_OK;
    }
    const struct rpt_curve *c = &r->curve;
    char what[256];
    if (r->epochs >= 0 && c->n_rows != (size_t)r->epochs + 1) {
        snprintf(what, sizeof what, "%zu rows (epochs 0..%zu), but summary.json says %ld epochs",
                 c->n_rows, c->n_rows - 1, r->epochs);
        where(why, why_size, path, (int)c->n_rows + 1, 1, what);
        return AMX_OK;
    }
    *state = AMX_RESULT_COMPLETE;
    return AMX_OK;
}

enum amx_result_state amx_result_check(const char *run_dir, const char *run_id, size_t n_axes,
                                       const char *const *axes, char *why, size_t why_size)
{
    struct rpt_run r = {.id = run_id};
    enum amx_result_state state;
    struct amx_error err = {0};
    if (load_run(run_dir, n_axes, axes, &r, &state, why, why_size, &err) != AMX_OK) {
        state = AMX_RESULT_INVALID;
        snprintf(why, why_size, "%s: %s", run_dir, err.msg);
    }
    rpt_run_clear(&r, n_axes);
    return state;
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
        char rel[512], dir[AMX_PATH_MAX + 600], why[AMX_ERROR_MSG_MAX + AMX_PATH_MAX];
        snprintf(rel, sizeof rel, "runs/%s", r->id);
        if (!rpt_path(ctx, dir, sizeof dir, rel))
            return amx_fail(err, AMX_ERR_IO, in->results_dir, 0, 0, "path too long");
        enum amx_result_state state;
        enum amx_status st = load_run(dir, in->n_axes, in->axes, r, &state, why, sizeof why, err);
        if (st != AMX_OK) return st;
        if (state != AMX_RESULT_COMPLETE) {
            if (state == AMX_RESULT_INVALID)
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
