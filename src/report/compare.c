/* adamix-run compare A B: do two results folders of one experiment agree?
 *
 * Runs are joined by run id, and those left over by their sweep values and
 * repeat (a rerun whose ids differ, e.g. with the data folder spelt another
 * way). A joined pair is bit-identical when every curve column but the
 * timing (`seconds`) holds the same numbers at every epoch; otherwise each
 * column's largest absolute and relative deviation is given, relative to the
 * larger magnitude of the two values.
 *
 * Per sweep point, the final and oracle (smallest over the epochs) values of
 * the report metric (mean over the repeats complete in both folders) are
 * compared against the spread
 * between repeats: the point agrees when |mean A - mean B| <= rtol * |mean A|
 * or <= 2 SE, SE = sqrt(sd_A^2 / n + sd_B^2 / n) being the standard error of
 * the difference of the two means (so a rerun that moves the result like a
 * change of seed agrees, as docs/design.md says reruns under another
 * BLAS kernel do). Verdict: identical (every run bit-identical), agree (every
 * point within the tolerance), or differ; different experiments (other name
 * or sweep axes, or no run in common) are refused, and so are folders whose
 * configurations differ beyond the sweep axes unless forced
 * (amx_compare_configs): both list the identity keys that differ. A run folder the verdict
 * on a run folder refuses (amx_result_judge: damaged, or another run's
 * files) is named, "damaged in A: file:line:col: what", and counts as
 * missing on its side.
 *
 * Writes nothing; the caller prints the text. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct side {
    struct amx_report_input in;
    struct amx_report_result res;
    struct amx_report_config rc;
    struct rpt_ctx ctx;
};

static enum amx_status load_side(struct side *s, const struct amx_compare_side *cs,
                                 const char *metric, struct amx_error *err)
{
    memset(s, 0, sizeof *s);
    s->rc.metric = AMX_METRIC_TEST_ERROR;
    s->in = (struct amx_report_input){.results_dir = cs->dir,
                                      .report = &s->rc,
                                      .experiment_name = cs->name,
                                      .n_axes = cs->n_axes,
                                      .axes = cs->axes,
                                      .n_runs = cs->n_runs,
                                      .run_ids = cs->run_ids};
    s->ctx = (struct rpt_ctx){.in = &s->in, .res = &s->res, .series_axis = RPT_NONE};
    s->ctx.metric = metric;
    return rpt_load_runs(&s->ctx, err);
}

/* The runs of side s (A or B) that the verdict on a run folder refused
 * (their warnings, one a line): into out, and into list for --json. They
 * count as missing there, so the comparison cannot find the folders
 * identical. */
static void name_damaged(const struct side *s, const char *which, struct amx_buf *out, json_t *list)
{
    for (const char *w = s->res.warning; *w;) {
        size_t n = strcspn(w, "\n");
        amx_buf_printf(out, "damaged in %s: %.*s\n", which, (int)n, w);
        json_array_append_new(list, json_stringn(w, n));
        w += n + (w[n] == '\n');
    }
}

/* Index of axis `path` in side s, or RPT_NONE. */
static size_t axis_of(const struct side *s, const char *path)
{
    for (size_t a = 0; a < s->in.n_axes; a++)
        if (strcmp(s->in.axes[a], path) == 0) return a;
    return RPT_NONE;
}

/* Same sweep values (by axis name) and repeat. */
static bool same_values(const struct side *a, const struct rpt_run *ra, const struct side *b,
                        const struct rpt_run *rb)
{
    if (ra->repeat != rb->repeat) return false;
    for (size_t x = 0; x < a->in.n_axes; x++) {
        size_t y = axis_of(b, a->in.axes[x]);
        if (y == RPT_NONE || strcmp(ra->labels[x], rb->labels[y]) != 0) return false;
    }
    return true;
}

static size_t col_of(const struct rpt_curve *c, const char *name)
{
    for (size_t j = 0; j < c->n_cols; j++)
        if (strcmp(c->cols[j], name) == 0) return j;
    return RPT_NONE;
}

struct dev {
    const char *col;
    double max_abs, max_rel;
    size_t at; /* epoch of max_abs */
};

/* Compares two curves; returns whether they are bit-identical; fills devs[]
 * (one per column of a that differs) and *note for a structural difference. */
static bool compare_curves(const struct rpt_curve *a, const struct rpt_curve *b, struct dev *devs,
                           size_t *n_devs, char *note, size_t note_size)
{
    bool same = true;
    *n_devs = 0;
    note[0] = '\0';
    if (a->n_rows != b->n_rows) {
        snprintf(note, note_size, "A has epochs 0..%zu, B 0..%zu", a->n_rows - 1, b->n_rows - 1);
        same = false;
    }
    for (size_t j = 0; j < a->n_cols; j++) {
        if (!strcmp(a->cols[j], "seconds") || !strcmp(a->cols[j], "epoch")) continue;
        size_t k = col_of(b, a->cols[j]);
        if (k == RPT_NONE) {
            snprintf(note, note_size, "column %s only in A", a->cols[j]);
            same = false;
            continue;
        }
        struct dev d = {a->cols[j], 0, 0, 0};
        bool differs = false;
        size_t rows = a->n_rows < b->n_rows ? a->n_rows : b->n_rows;
        for (size_t e = 0; e < rows; e++) {
            size_t ia = e * a->n_cols + j, ib = e * b->n_cols + k;
            if (a->has[ia] != b->has[ib]) {
                differs = true;
                continue;
            }
            if (!a->has[ia]) continue;
            double x = a->v[ia], y = b->v[ib];
            if (x == y || (isnan(x) && isnan(y))) continue;
            differs = true;
            double ad = fabs(x - y);
            if (!isfinite(ad)) ad = INFINITY;
            double m = fmax(fabs(x), fabs(y));
            double rd = m > 0 ? ad / m : 0;
            if (ad > d.max_abs || (isinf(ad) && !isinf(d.max_abs))) {
                d.max_abs = ad;
                d.at = e;
            }
            if (rd > d.max_rel) d.max_rel = rd;
        }
        if (differs) {
            same = false;
            devs[(*n_devs)++] = d;
        }
    }
    for (size_t k = 0; k < b->n_cols; k++)
        if (strcmp(b->cols[k], "seconds") && col_of(a, b->cols[k]) == RPT_NONE) {
            snprintf(note, note_size, "column %s only in B", b->cols[k]);
            same = false;
        }
    return same;
}

static void label_of(const struct side *s, const struct rpt_run *r, struct amx_buf *b)
{
    for (size_t a = 0; a < s->in.n_axes; a++)
        amx_buf_printf(b, "%s%s=%s", a ? " " : "", s->in.axes[a], r->labels[a]);
    amx_buf_printf(b, "%srepeat=%ld", s->in.n_axes ? " " : "", r->repeat);
}

static double metric_value(const struct rpt_run *r, const char *metric, bool best)
{
    size_t j = col_of(&r->curve, metric);
    if (j == RPT_NONE || r->curve.n_rows == 0 || r->diverged) return NAN;
    if (!best) {
        size_t at = (r->curve.n_rows - 1) * r->curve.n_cols + j;
        return r->curve.has[at] ? r->curve.v[at] : NAN;
    }
    double m = NAN;
    for (size_t e = 0; e < r->curve.n_rows; e++) {
        size_t at = e * r->curve.n_cols + j;
        if (r->curve.has[at] && isfinite(r->curve.v[at]) && (isnan(m) || r->curve.v[at] < m))
            m = r->curve.v[at];
    }
    return m;
}

static json_t *jnum_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* The identity lines ("key=value") of one configuration, sorted. */
struct id_lines {
    size_t n, cap;
    char **v;
    bool failed;
};

static void id_take(void *ctx, const char *text)
{
    struct id_lines *l = ctx;
    if (l->failed) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(text)))
        l->failed = true;
    else
        l->n++;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void id_free(struct id_lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Whether identity key `key` (a rule parameter spelt P.S.param.N) is, or is
 * inside, sweep axis `axis` (P.S.N). */
static bool under_axis(const char *key, size_t klen, const char *axis)
{
    char k[256];
    snprintf(k, sizeof k, "%.*s", (int)klen, key);
    char *p = strstr(k, ".param.");
    if (p) memmove(p, p + 6, strlen(p + 6) + 1); /* ".param.c" -> ".c" */
    size_t n = strlen(axis);
    return strncmp(k, axis, n) == 0 && (k[n] == '\0' || k[n] == '.');
}

static bool under_any_axis(const char *key, size_t klen, const struct amx_compare_side *s)
{
    if (klen == 6 && strncmp(key, "repeat", 6) == 0)
        return true; /* a run's, not the experiment's */
    for (size_t a = 0; a < s->n_axes; a++)
        if (under_axis(key, klen, s->axes[a])) return true;
    return false;
}

static size_t key_len(const char *line)
{
    return strcspn(line, "=");
}

/* Adds "  key: x in A, y in B" for one key to out (and to list). */
static void add_diff(struct amx_buf *out, json_t *list, const char *key, size_t klen,
                     const char *va, const char *vb)
{
    amx_buf_printf(out, "  %.*s: %s in A, %s in B\n", (int)klen, key, va, vb);
    json_t *o = json_object();
    json_object_set_new(o, "key", json_stringn(key, klen));
    json_object_set_new(o, "a", json_string(va));
    json_object_set_new(o, "b", json_string(vb));
    json_array_append_new(list, o);
}

/* The identity keys whose values differ between the two sides' configs,
 * outside the sweep axes of either side: one line each into out, an object
 * each into list; the count, or (size_t)-1 on out of memory. */
static size_t config_diffs(const struct amx_compare_side *ca, const struct amx_compare_side *cb,
                           struct amx_buf *out, json_t *list)
{
    if (!ca->config || !cb->config) return 0;
    struct id_lines la = {0}, lb = {0};
    bool ok = amx_config_identity(ca->config, id_take, &la) &&
              amx_config_identity(cb->config, id_take, &lb) && !la.failed && !lb.failed;
    size_t n = 0, i = 0, j = 0;
    if (ok) {
        qsort(la.v, la.n, sizeof *la.v, id_cmp);
        qsort(lb.v, lb.n, sizeof *lb.v, id_cmp);
    }
    while (ok && (i < la.n || j < lb.n)) {
        const char *a = i < la.n ? la.v[i] : NULL, *b = j < lb.n ? lb.v[j] : NULL;
        size_t ka = a ? key_len(a) : 0, kb = b ? key_len(b) : 0;
        int c = !a ? 1 : !b ? -1 : strncmp(a, b, ka > kb ? ka : kb);
        if (c == 0 && ka != kb) c = ka < kb ? -1 : 1;
        const char *key = c <= 0 ? a : b;
        size_t klen = c <= 0 ? ka : kb;
        bool skip = under_any_axis(key, klen, ca) || under_any_axis(key, klen, cb);
        if (!skip && (c != 0 || strcmp(a + ka, b + kb) != 0)) {
            add_diff(out, list, key, klen, c <= 0 ? a + ka + 1 : "(the default)",
                     c >= 0 ? b + kb + 1 : "(the default)");
            n++;
        }
        i += c <= 0;
        j += c >= 0;
    }
    id_free(&la);
    id_free(&lb);
    return ok ? n : (size_t)-1;
}

enum amx_status amx_compare(const struct amx_compare_side *ca, const struct amx_compare_side *cb,
                            const char *metric, double rtol, bool as_json, char **text,
                            int *verdict, struct amx_error *err)
{
    return amx_compare_configs(ca, cb, metric, rtol, as_json, false, text, verdict, err);
}

/* Different experiments (name or sweep axes): why, and the configuration
 * keys beyond the axes that differ. */
static bool different_experiments(const struct amx_compare_side *ca,
                                  const struct amx_compare_side *cb, struct amx_buf *out,
                                  json_t *diffs)
{
    const char *axis = NULL, *where = NULL;
    for (int s = 0; s < 2 && !axis; s++) {
        const struct amx_compare_side *x = s ? cb : ca, *y = s ? ca : cb;
        for (size_t i = 0; i < x->n_axes && !axis; i++) {
            bool found = false;
            for (size_t k = 0; k < y->n_axes; k++)
                found = found || strcmp(x->axes[i], y->axes[k]) == 0;
            if (!found) axis = x->axes[i], where = x->dir;
        }
    }
    bool named = strcmp(ca->name, cb->name) != 0;
    if (!named && !axis) return false;
    if (named)
        amx_buf_printf(out,
                       "%s and %s hold different experiments (%s with %zu sweep axes, %s with "
                       "%zu)",
                       ca->dir, cb->dir, ca->name, ca->n_axes, cb->name, cb->n_axes);
    else
        amx_buf_printf(out, "%s and %s hold different experiments", ca->dir, cb->dir);
    if (axis)
        amx_buf_printf(out, "%sthe sweep axis %s is only in %s", named ? "; " : ": ", axis, where);
    amx_buf_printf(out, "; compare joins runs of one experiment\n");
    size_t before = out->len;
    amx_buf_printf(out, "configuration beyond the sweep axes:\n");
    size_t n = config_diffs(ca, cb, out, diffs);
    if (n == 0) {
        out->len = before;
        amx_buf_printf(out, "configuration beyond the sweep axes: the same\n");
    }
    return true;
}

enum amx_status amx_compare_configs(const struct amx_compare_side *ca,
                                    const struct amx_compare_side *cb, const char *metric,
                                    double rtol, bool as_json, bool force, char **text,
                                    int *verdict, struct amx_error *err)
{
    *text = NULL;
    *verdict = 2;
    struct amx_buf out = {0};
    json_t *diffs = json_array();
    if (!diffs) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    if (different_experiments(ca, cb, &out, diffs)) {
        json_decref(diffs);
        *text = out.data;
        return out.failed ? amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory") : AMX_OK;
    }
    struct amx_buf dtext = {0};
    size_t n_diff = config_diffs(ca, cb, &dtext, diffs);
    if (n_diff == (size_t)-1) dtext.failed = true;
    if (n_diff && n_diff != (size_t)-1) {
        amx_buf_printf(&out,
                       "%s and %s were made with configurations that differ beyond the sweep "
                       "axes:\n%s",
                       ca->dir, cb->dir, dtext.data ? dtext.data : "");
        if (!force) {
            amx_buf_printf(&out, "compare joins reruns of one configuration; --force joins "
                                 "their runs by sweep values anyway\n");
            amx_buf_free(&dtext);
            json_decref(diffs);
            *text = out.data;
            return out.failed ? amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory") : AMX_OK;
        }
        amx_buf_printf(&out, "joined by sweep values as --force asks: the differences below are "
                             "those of the configurations, not only of the computation\n");
    }
    amx_buf_free(&dtext);
    bool forced = n_diff && n_diff != (size_t)-1;
    struct side *A = calloc(1, sizeof *A), *B = calloc(1, sizeof *B);
    size_t *match = NULL;
    bool *by_id = NULL, *taken = NULL;
    struct dev *devs = NULL;
    json_t *root = NULL, *damaged = NULL;
    enum amx_status st = A && B ? AMX_OK : amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    if (st == AMX_OK) st = load_side(A, ca, metric, err);
    if (st == AMX_OK) st = load_side(B, cb, metric, err);
    size_t na = ca->n_runs, nb = cb->n_runs;
    if (st == AMX_OK) {
        match = malloc((na ? na : 1) * sizeof *match);
        by_id = calloc(na ? na : 1, sizeof *by_id);
        taken = calloc(nb ? nb : 1, sizeof *taken);
        size_t maxc = 1;
        for (size_t i = 0; i < na; i++)
            if (A->ctx.runs[i].curve.n_cols > maxc) maxc = A->ctx.runs[i].curve.n_cols;
        devs = malloc(maxc * sizeof *devs);
        if (!match || !by_id || !taken || !devs)
            st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    if (st != AMX_OK) goto done;
    damaged = json_array();
    name_damaged(A, "A", &out, damaged);
    name_damaged(B, "B", &out, damaged);

    /* join: by id first, then by sweep values and repeat */
    for (size_t i = 0; i < na; i++) {
        match[i] = RPT_NONE;
        if (!A->ctx.runs[i].complete) continue;
        for (size_t j = 0; j < nb && match[i] == RPT_NONE; j++)
            if (B->ctx.runs[j].complete && !taken[j] &&
                strcmp(A->ctx.runs[i].id, B->ctx.runs[j].id) == 0) {
                match[i] = j;
                by_id[i] = taken[j] = true;
            }
    }
    for (size_t i = 0; i < na; i++) {
        if (!A->ctx.runs[i].complete || match[i] != RPT_NONE) continue;
        for (size_t j = 0; j < nb && match[i] == RPT_NONE; j++)
            if (B->ctx.runs[j].complete && !taken[j] &&
                same_values(A, &A->ctx.runs[i], B, &B->ctx.runs[j])) {
                match[i] = j;
                taken[j] = true;
            }
    }
    size_t joined = 0, joined_id = 0, identical = 0, only_a = 0, only_b = 0;
    for (size_t i = 0; i < na; i++) {
        if (!A->ctx.runs[i].complete) continue;
        if (match[i] == RPT_NONE)
            only_a++;
        else
            joined++, joined_id += by_id[i];
    }
    for (size_t j = 0; j < nb; j++)
        only_b += B->ctx.runs[j].complete && !taken[j];
    /* runs computed from other data files are not reruns of each other */
    for (size_t i = 0; i < na; i++) {
        if (match[i] == RPT_NONE) continue;
        const struct rpt_run *ra = &A->ctx.runs[i], *rb = &B->ctx.runs[match[i]];
        bool tr = ra->train_sha[0] && rb->train_sha[0] && strcmp(ra->train_sha, rb->train_sha);
        bool te = ra->test_sha[0] && rb->test_sha[0] && strcmp(ra->test_sha, rb->test_sha);
        if (!tr && !te) continue;
        amx_buf_printf(&out,
                       "%s and %s were computed from different data: run %s read a %s set with "
                       "SHA-256 %.12s... in A and %.12s... in B; compare joins reruns of one "
                       "experiment on the same data\n",
                       ca->dir, cb->dir, ra->id, tr ? "training" : "test",
                       tr ? ra->train_sha : ra->test_sha, tr ? rb->train_sha : rb->test_sha);
        *verdict = 2;
        goto done;
    }
    if (joined == 0) {
        amx_buf_printf(&out,
                       "%s and %s have no complete run in common (by id or by sweep values and "
                       "repeat): different experiments, or nothing to compare yet\n",
                       ca->dir, cb->dir);
        *verdict = 2;
        goto done;
    }

    root = json_object();
    json_t *jruns = json_array(), *jpoints = json_array();
    amx_buf_printf(&out, "compare %s (A) with %s (B): experiment %s, rtol %g\n", ca->dir, cb->dir,
                   ca->name, rtol);
    /* runs */
    char note[160];
    for (size_t i = 0; i < na; i++) {
        const struct rpt_run *ra = &A->ctx.runs[i];
        if (!ra->complete || match[i] == RPT_NONE) continue;
        const struct rpt_run *rb = &B->ctx.runs[match[i]];
        size_t nd;
        bool same = compare_curves(&ra->curve, &rb->curve, devs, &nd, note, sizeof note);
        same = same && ra->diverged == rb->diverged;
        identical += same;
        struct amx_buf lab = {0};
        label_of(A, ra, &lab);
        json_t *jr = json_object();
        json_object_set_new(jr, "run_id", json_string(ra->id));
        if (!by_id[i]) json_object_set_new(jr, "run_id_b", json_string(rb->id));
        json_object_set_new(jr, "label", json_string(lab.data ? lab.data : ""));
        json_object_set_new(jr, "identical", json_boolean(same));
        amx_buf_printf(&out, "  run %s%s%s  %s: ", ra->id, by_id[i] ? "" : " / ",
                       by_id[i] ? "" : rb->id, lab.data ? lab.data : "");
        if (same) {
            amx_buf_printf(&out, "bit-identical\n");
        } else {
            json_t *jd = json_object();
            amx_buf_printf(&out, "differs");
            if (ra->diverged != rb->diverged)
                amx_buf_printf(&out, " (%s diverged)", ra->diverged ? "A" : "B");
            if (note[0]) amx_buf_printf(&out, " (%s)", note);
            for (size_t k = 0; k < nd; k++) {
                amx_buf_printf(&out, "%s %s max |d| %.4g at epoch %zu (rel %.3g)", k ? ";" : ":",
                               devs[k].col, devs[k].max_abs, devs[k].at, devs[k].max_rel);
                json_t *o = json_object();
                json_object_set_new(o, "max_abs", jnum_or_null(devs[k].max_abs));
                json_object_set_new(o, "max_rel", jnum_or_null(devs[k].max_rel));
                json_object_set_new(o, "epoch", json_integer((json_int_t)devs[k].at));
                json_object_set_new(jd, devs[k].col, o);
            }
            amx_buf_printf(&out, "\n");
            json_object_set_new(jr, "deviations", jd);
            if (note[0]) json_object_set_new(jr, "note", json_string(note));
        }
        amx_buf_free(&lab);
        json_array_append_new(jruns, jr);
    }
    /* points: group A's joined runs by sweep values */
    bool all_agree = true;
    size_t n_points = 0, n_agree = 0;
    bool *done = calloc(na ? na : 1, sizeof *done);
    double *xs = malloc(4 * (na ? na : 1) * sizeof *xs);
    if (!done || !xs) {
        free(done);
        free(xs);
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto done;
    }
    amx_buf_printf(&out,
                   "points (%s, mean over the repeats complete in both; agree: |A - B| <= "
                   "rtol |A| or <= 2 SE of the difference):\n",
                   metric);
    for (size_t i = 0; i < na; i++) {
        const struct rpt_run *r0 = &A->ctx.runs[i];
        if (!r0->complete || match[i] == RPT_NONE || done[i]) continue;
        n_points++;
        struct amx_buf lab = {0};
        for (size_t a = 0; a < A->in.n_axes; a++)
            amx_buf_printf(&lab, "%s%s=%s", a ? " " : "", A->in.axes[a], r0->labels[a]);
        if (!A->in.n_axes) amx_buf_printf(&lab, "%s", ca->name);
        json_t *jp = json_object();
        json_object_set_new(jp, "label", json_string(lab.data ? lab.data : ""));
        amx_buf_printf(&out, "  %s:", lab.data ? lab.data : "");
        bool point_ok = true;
        for (int best = 0; best <= 1; best++) {
            size_t n = 0;
            double *fa = xs, *fb = xs + na;
            for (size_t k = i; k < na; k++) {
                const struct rpt_run *rk = &A->ctx.runs[k];
                if (!rk->complete || match[k] == RPT_NONE) continue;
                bool same = true;
                for (size_t a = 0; a < A->in.n_axes && same; a++)
                    same = strcmp(rk->labels[a], r0->labels[a]) == 0;
                if (!same) continue;
                done[k] = true;
                fa[n] = metric_value(rk, metric, best);
                fb[n] = metric_value(&B->ctx.runs[match[k]], metric, best);
                n++;
            }
            struct rpt_stat sa = rpt_stat_of(fa, n), sb = rpt_stat_of(fb, n);
            double d = sa.mean - sb.mean;
            double se = (sa.n > 1 && sb.n > 1)
                            ? sqrt(sa.std * sa.std / (double)sa.n + sb.std * sb.std / (double)sb.n)
                            : NAN;
            bool ok = sa.n == sb.n && sa.n > 0 &&
                      (fabs(d) <= rtol * fabs(sa.mean) || (!isnan(se) && fabs(d) <= 2 * se));
            if (sa.n == 0 && sb.n == 0) ok = true; /* every repeat diverged in both */
            point_ok = point_ok && ok;
            const char *what = best ? "oracle" : "final";
            char se_text[40] = "n/a";
            if (!isnan(se)) snprintf(se_text, sizeof se_text, "%.3g", 2 * se);
            amx_buf_printf(&out, "%s %s A %.4f, B %.4f, d %+.4g (%+.2f%%), 2 SE %s: %s",
                           best ? ";" : "", what, sa.mean, sb.mean, d, 100 * d / sb.mean, se_text,
                           ok ? "agrees" : "DIFFERS");
            json_t *o = json_object();
            json_object_set_new(o, "a", jnum_or_null(sa.mean));
            json_object_set_new(o, "b", jnum_or_null(sb.mean));
            json_object_set_new(o, "difference", jnum_or_null(d));
            json_object_set_new(o, "se", jnum_or_null(se));
            json_object_set_new(o, "repeats", json_integer((json_int_t)n));
            json_object_set_new(o, "agrees", json_boolean(ok));
            json_object_set_new(jp, what, o);
        }
        amx_buf_printf(&out, "\n");
        json_object_set_new(jp, "agrees", json_boolean(point_ok));
        json_array_append_new(jpoints, jp);
        all_agree = all_agree && point_ok;
        n_agree += point_ok;
        amx_buf_free(&lab);
    }
    free(done);
    free(xs);
    bool all_identical = identical == joined && only_a == 0 && only_b == 0;
    *verdict = all_identical || (all_agree && only_a == 0 && only_b == 0) ? 0 : 1;
    const char *word = all_identical ? "identical" : *verdict == 0 ? "agree" : "differ";
    amx_buf_printf(&out,
                   "runs: %zu joined (%zu by id, %zu by sweep values), %zu bit-identical, %zu "
                   "differ; %zu only in A, %zu only in B\n",
                   joined, joined_id, joined - joined_id, identical, joined - identical, only_a,
                   only_b);
    amx_buf_printf(&out, "points: %zu of %zu agree within the tolerance\n", n_agree, n_points);
    if (forced)
        amx_buf_printf(&out,
                       "result: %s (configurations differ beyond the sweep axes: %zu key%s, "
                       "joined by --force)\n",
                       word, n_diff, n_diff == 1 ? "" : "s");
    else
        amx_buf_printf(&out, "result: %s\n", word);
    if (as_json) {
        json_object_set_new(root, "a", json_string(ca->dir));
        json_object_set_new(root, "b", json_string(cb->dir));
        json_object_set_new(root, "experiment", json_string(ca->name));
        json_object_set_new(root, "metric", json_string(metric));
        json_object_set_new(root, "rtol", json_real(rtol));
        json_object_set_new(root, "result", json_string(word));
        json_object_set(root, "config_differences", diffs);
        json_object_set_new(root, "forced", json_boolean(forced));
        json_object_set_new(root, "joined", json_integer((json_int_t)joined));
        json_object_set_new(root, "joined_by_id", json_integer((json_int_t)joined_id));
        json_object_set_new(root, "identical", json_integer((json_int_t)identical));
        json_object_set_new(root, "only_a", json_integer((json_int_t)only_a));
        json_object_set_new(root, "only_b", json_integer((json_int_t)only_b));
        json_object_set(root, "damaged", damaged);
        json_object_set_new(root, "runs", jruns);
        json_object_set_new(root, "points", jpoints);
        char *j = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        amx_buf_free(&out);
        if (!j) {
            st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
            goto done;
        }
        amx_buf_printf(&out, "%s\n", j);
        free(j);
    } else {
        json_decref(jruns);
        json_decref(jpoints);
    }
done:
    json_decref(diffs);
    if (root) json_decref(root);
    if (damaged) json_decref(damaged);
    if (A) rpt_ctx_free(&A->ctx);
    if (B) rpt_ctx_free(&B->ctx);
    free(A);
    free(B);
    free(match);
    free(by_id);
    free(taken);
    free(devs);
    if (st == AMX_OK && out.failed) st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    if (st == AMX_OK)
        *text = out.data;
    else
        amx_buf_free(&out);
    return st;
}
