/* amx_report_build: reads the listed runs, pools them into sweep points,
 * pairs them with the baseline and writes the experiment's summary.csv,
 * curves.csv, report.json, report.md and figure, in that order, each through amx_write_file_atomic
 * (whole or not at all). The work is split over load.c, points.c, paired.c, tables.c, md.c and
 * figure.c; this file only sequences them, owns the shared state and frees it. It does not decide
 * what a run is (the sweep and run modules do) and never prints. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rpt_warn(struct rpt_ctx *ctx, const char *fmt, ...)
{
    char *w = ctx->res->warning;
    size_t cap = sizeof ctx->res->warning;
    size_t len = strlen(w);
    if (len + 2 >= cap) return; /* full: the first warnings are the ones kept */
    if (len > 0) w[len++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w + len, cap - len, fmt, ap);
    va_end(ap);
}

void rpt_fmt_num(char buf[32], double x)
{
    if (isnan(x))
        snprintf(buf, 32, "nan");
    else if (isinf(x))
        snprintf(buf, 32, x > 0 ? "inf" : "-inf");
    else
        snprintf(buf, 32, "%.10g", x);
}

bool rpt_path(const struct rpt_ctx *ctx, char *buf, size_t size, const char *rel)
{
    int n = snprintf(buf, size, "%s/%s", ctx->in->results_dir, rel);
    return n >= 0 && (size_t)n < size;
}

enum amx_status rpt_write_buf(struct rpt_ctx *ctx, const char *name, struct amx_buf *b,
                              struct amx_error *err)
{
    char path[AMX_PATH_MAX + 64];
    enum amx_status st;
    if (!rpt_path(ctx, path, sizeof path, name))
        st = amx_fail(err, AMX_ERR_IO, ctx->in->results_dir, 0, 0, "path too long");
    else if (b->failed)
        st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    else
        st = amx_write_file_atomic(path, b->data ? b->data : "", b->len, err);
    amx_buf_free(b);
    return st;
}

const char *rpt_baseline_text(struct rpt_ctx *ctx)
{
    const struct amx_report_config *rep = ctx->in->report;
    if (!rep->baseline_point[0]) return rep->baseline;
    if (!ctx->baseline_text[0]) {
        size_t len = 0, cap = sizeof ctx->baseline_text;
        const char *sep = "";
        for (const char *l = rep->baseline_point; *l && len + 1 < cap;) {
            size_t n = strcspn(l, "\n");
            int w = 0;
            if (l[0] == '|')
                sep = "; ";
            else if (l[0] == '*')
                w = snprintf(ctx->baseline_text + len, cap - len, "%sall pairs", sep);
            else
                w = snprintf(ctx->baseline_text + len, cap - len, "%s%.*s", sep,
                             (int)(l[0] == '=' ? n - 1 : n), l + (l[0] == '='));
            if (l[0] != '|') sep = ", ";
            len += w > 0 ? (size_t)w : 0;
            if (len >= cap) len = cap - 1;
            l += n + (l[n] == '\n');
        }
    }
    return ctx->baseline_text;
}

const char *rpt_metric_column(enum amx_metric m)
{
    switch (m) {
    case AMX_METRIC_TEST_ERROR:
        return "test_error";
    case AMX_METRIC_TRAIN_ERROR:
        return "train_error";
    case AMX_METRIC_VALIDATION_ERROR:
        return "validation_error";
    }
    return "test_error";
}

static void curve_free(struct rpt_curve *c)
{
    for (size_t j = 0; j < c->n_cols; j++)
        free(c->cols[j]);
    free(c->cols);
    free(c->v);
    free(c->has);
}

void rpt_run_clear(struct rpt_run *r, size_t n_axes)
{
    if (r->labels)
        for (size_t a = 0; a < n_axes; a++)
            free(r->labels[a]);
    free(r->labels);
    curve_free(&r->curve);
    free(r->colmap);
    const char *id = r->id;
    memset(r, 0, sizeof *r);
    r->id = id;
}

void rpt_ctx_free(struct rpt_ctx *ctx)
{
    if (ctx->runs) {
        for (size_t i = 0; i < ctx->in->n_runs; i++)
            rpt_run_clear(&ctx->runs[i], ctx->in->n_axes);
        free(ctx->runs);
    }
    for (size_t j = 0; j < ctx->n_cols; j++)
        free(ctx->cols[j]);
    free(ctx->cols);
    if (ctx->points) rpt_free_paired(ctx);
    for (size_t p = 0; p < ctx->n_points; p++) {
        free(ctx->points[p].runs);
        free(ctx->points[p].label);
    }
    free(ctx->points);
    free(ctx->scratch);
}

static bool valid_run_id(const char *id)
{
    return id && id[0] && id[0] != '.' && !strchr(id, '/');
}

enum amx_status amx_report_build(const struct amx_report_input *in, struct amx_report_result *res,
                                 struct amx_error *err)
{
    memset(res, 0, sizeof *res);
    if (!in->results_dir || !in->results_dir[0] || !in->report || !in->experiment_name ||
        (in->n_axes && !in->axes) || (in->n_runs && !in->run_ids))
        return amx_fail(err, AMX_ERR_USAGE, "", 0, 0, "amx_report_build: incomplete input");
    for (size_t a = 0; a < in->n_axes; a++)
        if (!in->axes[a] || !in->axes[a][0])
            return amx_fail(err, AMX_ERR_USAGE, "", 0, 0, "amx_report_build: empty axis path");
    for (size_t i = 0; i < in->n_runs; i++)
        if (!valid_run_id(in->run_ids[i]))
            return amx_fail(err, AMX_ERR_USAGE, in->results_dir, 0, 0, "invalid run id \"%s\"",
                            in->run_ids[i] ? in->run_ids[i] : "(null)");

    struct rpt_ctx ctx = {.in = in, .res = res, .series_axis = RPT_NONE};
    res->n_listed = in->n_runs;
    enum amx_status st = rpt_load_runs(&ctx, err);
    if (st == AMX_OK) st = rpt_group_points(&ctx, err);
    if (st == AMX_OK) st = rpt_compute_paired(&ctx, err);
    if (st == AMX_OK) st = rpt_write_summary_csv(&ctx, err);
    if (st == AMX_OK) st = rpt_write_curves_csv(&ctx, err);
    if (st == AMX_OK) st = rpt_write_report_json(&ctx, err);
    if (st == AMX_OK) st = rpt_write_report_md(&ctx, err);
    if (st == AMX_OK) st = rpt_write_figure(&ctx, err);
    if (st == AMX_OK && in->render) st = rpt_render_figure(&ctx, err);
    if (st == AMX_OK) st = rpt_write_report_html(&ctx, err);
    rpt_ctx_free(&ctx);
    return st;
}
