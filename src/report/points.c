/* Sweep points: the complete runs grouped by their axis labels (repeats
 * pooled), in order of first appearance in the run list, so the expansion
 * order of the sweep is the order of report.json and of the figure's lines.
 * Also the statistics over a point's repeats: mean and sample standard
 * deviation sqrt(sum (x - mean)^2 / (n - 1)), 0 for a single value, over the
 * finite values only (a diverged run's last row may hold nan or inf). */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpt_stat rpt_stat_of(const double *x, size_t n)
{
    struct rpt_stat s = {NAN, NAN, 0};
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            sum += x[i];
            s.n++;
        }
    if (s.n == 0) return s;
    s.mean = sum / (double)s.n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = s.n > 1 ? sqrt(ss / (double)(s.n - 1)) : 0.0;
    return s;
}

struct rpt_stat rpt_point_epoch_stat(const struct rpt_ctx *ctx, size_t p, size_t col, size_t e)
{
    const struct rpt_point *pt = &ctx->points[p];
    struct rpt_stat s = {NAN, NAN, 0};
    if (col == RPT_NONE) return s;
    double *x = ctx->scratch;
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++) {
        const struct rpt_run *r = &ctx->runs[pt->runs[k]];
        size_t j = r->colmap[col];
        if (j == RPT_NONE || e >= r->curve.n_rows) continue;
        size_t at = e * r->curve.n_cols + j;
        if (r->curve.has[at]) x[n++] = r->curve.v[at];
    }
    return rpt_stat_of(x, n);
}

size_t rpt_point_epoch_rows(const struct rpt_ctx *ctx, size_t p, size_t e)
{
    const struct rpt_point *pt = &ctx->points[p];
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++)
        n += e < ctx->runs[pt->runs[k]].curve.n_rows;
    return n;
}

static bool same_point(const struct rpt_ctx *ctx, const struct rpt_run *a, const struct rpt_run *b)
{
    for (size_t ax = 0; ax < ctx->in->n_axes; ax++)
        if (strcmp(a->labels[ax], b->labels[ax]) != 0) return false;
    return true;
}

/* The line name: the series value, then "axis=value" for each other axis
 * whose value differs between points; the experiment's name without axes. */
static char *point_label(const struct rpt_ctx *ctx, size_t p, const bool *varies)
{
    const struct rpt_run *r = &ctx->runs[ctx->points[p].runs[0]];
    struct amx_buf b = {0};
    if (ctx->series_axis == RPT_NONE) {
        amx_buf_printf(&b, "%s", ctx->in->experiment_name);
    } else {
        amx_buf_printf(&b, "%s", r->labels[ctx->series_axis]);
        for (size_t a = 0; a < ctx->in->n_axes; a++)
            if (a != ctx->series_axis && varies[a])
                amx_buf_printf(&b, ", %s=%s", ctx->in->axes[a], r->labels[a]);
    }
    if (b.failed) {
        amx_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* report.metric names a column the runs' curves have (any of them: the
 * errors, losses, seconds, rates): otherwise an error with the nearest column
 * and the list, since a figure of another column would mislead. */
static enum amx_status rpt_check_metric(struct rpt_ctx *ctx, struct amx_error *err)
{
    if (ctx->res->n_complete == 0 || rpt_col_index(ctx, ctx->metric) != RPT_NONE ||
        strcmp(ctx->metric, "validation_error") == 0) /* warned below, shown as test_error */
        return AMX_OK;
    const char *s = amx_suggest(ctx->metric, (const char *const *)ctx->cols, ctx->n_cols);
    char list[1024] = "";
    for (size_t j = 0; j < ctx->n_cols; j++) {
        if (strcmp(ctx->cols[j], "epoch") == 0) continue;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", ctx->cols[j]);
    }
    return amx_fail(err, AMX_ERR_CONFIG, ctx->in->results_dir, 0, 0,
                    "report.metric: the runs' curve.csv has no column \"%s\"%s%s%s; its columns: "
                    "%s",
                    ctx->metric, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "", list);
}

enum amx_status rpt_group_points(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    /* the series axis */
    if (in->n_axes > 0) {
        ctx->series_axis = 0;
        if (in->report->series[0]) {
            size_t a = 0;
            while (a < in->n_axes && strcmp(in->axes[a], in->report->series) != 0)
                a++;
            if (a < in->n_axes)
                ctx->series_axis = a;
            else
                rpt_warn(ctx,
                         "report.series \"%s\" is not a sweep axis; the figure's lines are "
                         "named by the first axis, %s",
                         in->report->series, in->axes[0]);
        }
    }
    /* the metric */
    ctx->metric =
        in->report->column[0] ? in->report->column : rpt_metric_column(in->report->metric);
    enum amx_status st = rpt_check_metric(ctx, err);
    if (st != AMX_OK) return st;
    if (in->report->metric == AMX_METRIC_VALIDATION_ERROR && !ctx->has_validation) {
        if (ctx->res->n_complete > 0)
            rpt_warn(ctx, "report.metric is validation_error but the runs have no validation "
                          "split (data.validation: 0); the figure shows test_error");
        ctx->metric = "test_error";
    }
    /* the points */
    ctx->points = calloc(in->n_runs ? in->n_runs : 1, sizeof *ctx->points);
    ctx->scratch = malloc((in->n_runs ? in->n_runs : 1) * sizeof *ctx->scratch);
    if (!ctx->points || !ctx->scratch)
        return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    for (size_t i = 0; i < in->n_runs; i++) {
        struct rpt_run *r = &ctx->runs[i];
        if (!r->complete) continue;
        size_t p = 0;
        while (p < ctx->n_points && !same_point(ctx, &ctx->runs[ctx->points[p].runs[0]], r))
            p++;
        struct rpt_point *pt = &ctx->points[p];
        if (p == ctx->n_points) {
            ctx->n_points++;
            pt->runs = malloc(in->n_runs * sizeof *pt->runs);
            if (!pt->runs) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        }
        pt->runs[pt->n_runs++] = i;
        pt->n_diverged += r->diverged;
        if (r->curve.n_rows > pt->n_rows) pt->n_rows = r->curve.n_rows;
        r->point = p;
    }
    ctx->res->n_points = ctx->n_points;
    /* names */
    bool *varies = calloc(in->n_axes ? in->n_axes : 1, sizeof *varies);
    if (!varies) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    for (size_t a = 0; a < in->n_axes; a++)
        for (size_t p = 1; p < ctx->n_points && !varies[a]; p++)
            varies[a] = strcmp(ctx->runs[ctx->points[p].runs[0]].labels[a],
                               ctx->runs[ctx->points[0].runs[0]].labels[a]) != 0;
    for (size_t p = 0; p < ctx->n_points; p++) {
        ctx->points[p].label = point_label(ctx, p, varies);
        if (!ctx->points[p].label) {
            free(varies);
            return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        }
    }
    free(varies);
    return AMX_OK;
}
