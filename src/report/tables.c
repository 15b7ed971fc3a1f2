/* The experiment's tables: summary.csv (one row per complete run),
 * curves.csv (every complete run's curve in long form) and report.json (per
 * sweep point: statistics over its repeats per epoch, final errors, ranking).
 * Rows follow the given run order and points their first appearance in it,
 * so the bytes depend only on the run files and the input. Each file is built
 * in memory and written with amx_write_file_atomic. CSV fields that need it
 * (a label such as "[1, 2]") are quoted as RFC 4180 says. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void csv_field(struct amx_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        amx_buf_append(b, s, strlen(s));
        return;
    }
    amx_buf_append(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"') amx_buf_append(b, "\"", 1);
        amx_buf_append(b, p, 1);
    }
    amx_buf_append(b, "\"", 1);
}

/* A number, or an empty field for an absent one. */
static void csv_number(struct amx_buf *b, double x, bool present)
{
    amx_buf_append(b, ",", 1);
    if (!present) return;
    char s[32];
    rpt_fmt_num(s, x);
    amx_buf_append(b, s, strlen(s));
}

static void run_key_fields(const struct rpt_ctx *ctx, struct amx_buf *b, const struct rpt_run *r)
{
    csv_field(b, r->id);
    for (size_t a = 0; a < ctx->in->n_axes; a++) {
        amx_buf_append(b, ",", 1);
        csv_field(b, r->labels[a]);
    }
    amx_buf_printf(b, ",%ld", r->repeat);
}

static void key_header(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    amx_buf_printf(b, "run_id");
    for (size_t a = 0; a < ctx->in->n_axes; a++) {
        amx_buf_append(b, ",", 1);
        csv_field(b, ctx->in->axes[a]);
    }
    amx_buf_printf(b, ",repeat");
}

enum amx_status rpt_write_summary_csv(struct rpt_ctx *ctx, struct amx_error *err)
{
    struct amx_buf b = {0};
    key_header(ctx, &b);
    /* best: at the epoch of least validation error (empty without a
     * validation split); oracle: summary.json's smallest test error. A
     * tuning stage's runs measured no test error: their final and smallest
     * validation errors, and the epoch of the latter */
    if (ctx->no_test)
        amx_buf_printf(&b, ",status,final_validation_error,best_validation_error,best_epoch,"
                           "seconds\n");
    else
        amx_buf_printf(&b, ",status,final_test_error,best_validation_epoch,best_test_error,"
                           "oracle_test_error,oracle_epoch,seconds\n");
    for (size_t i = 0; i < ctx->in->n_runs; i++) {
        const struct rpt_run *r = &ctx->runs[i];
        if (!r->complete) continue;
        run_key_fields(ctx, &b, r);
        amx_buf_printf(&b, ",%s", r->diverged ? "diverged" : "ok");
        /* NAN here is JSON null: no value, an empty field */
        if (r->no_test) {
            csv_number(&b, r->final_valid, !isnan(r->final_valid));
            csv_number(&b, r->best_valid, !isnan(r->best_valid));
        } else {
            csv_number(&b, r->final_test, !isnan(r->final_test));
            amx_buf_printf(&b, ",");
            if (r->best_valid_epoch >= 0) amx_buf_printf(&b, "%ld", r->best_valid_epoch);
            csv_number(&b, r->test_at_best, !isnan(r->test_at_best));
            csv_number(&b, r->best_test, !isnan(r->best_test));
        }
        amx_buf_printf(&b, ",");
        if (r->has_best_epoch) amx_buf_printf(&b, "%ld", r->best_epoch);
        csv_number(&b, r->seconds, true);
        amx_buf_append(&b, "\n", 1);
    }
    return rpt_write_buf(ctx, "summary.csv", &b, err);
}

enum amx_status rpt_write_curves_csv(struct rpt_ctx *ctx, struct amx_error *err)
{
    struct amx_buf b = {0};
    key_header(ctx, &b);
    for (size_t u = 0; u < ctx->n_cols; u++) {
        amx_buf_append(&b, ",", 1);
        csv_field(&b, ctx->cols[u]);
    }
    amx_buf_append(&b, "\n", 1);
    for (size_t i = 0; i < ctx->in->n_runs && !b.failed; i++) {
        const struct rpt_run *r = &ctx->runs[i];
        if (!r->complete) continue;
        for (size_t e = 0; e < r->curve.n_rows; e++) {
            run_key_fields(ctx, &b, r);
            for (size_t u = 0; u < ctx->n_cols; u++) {
                size_t j = r->colmap[u];
                size_t at = e * r->curve.n_cols + j;
                bool present = j != RPT_NONE && r->curve.has[at];
                csv_number(&b, present ? r->curve.v[at] : 0.0, present);
            }
            amx_buf_append(&b, "\n", 1);
        }
    }
    return rpt_write_buf(ctx, "curves.csv", &b, err);
}

/* ---- report.json ---- */

/* Adds value to an object or array, remembering an allocation failure (a
 * NULL value or a failed insertion) so the file is never silently partial. */
static void jset(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || !obj || json_object_set_new(obj, key, v) != 0) *ok = false;
}

static void jappend(json_t *arr, json_t *v, bool *ok)
{
    if (!v || !arr || json_array_append_new(arr, v) != 0) *ok = false;
}

static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *jstat(struct rpt_stat s, bool *ok)
{
    json_t *o = json_object();
    jset(o, "mean", jnum(s.mean), ok);
    jset(o, "std", jnum(s.std), ok);
    jset(o, "n", json_integer((json_int_t)s.n), ok);
    return o;
}

static json_t *jsweep(const struct rpt_ctx *ctx, const struct rpt_run *r, bool *ok)
{
    json_t *o = json_object();
    for (size_t a = 0; a < ctx->in->n_axes; a++)
        jset(o, ctx->in->axes[a], json_string(r->labels[a]), ok);
    return o;
}

/* One measure against the baseline: the differences repeat by repeat (null
 * where there is no pair), their statistics and the counts. */
static json_t *jpairing(const struct rpt_pairing *pg, bool time, bool *ok)
{
    json_t *o = json_object();
    json_t *d = json_array();
    for (size_t i = 0; i < pg->n_repeats; i++)
        jappend(d, jnum(pg->diff[i]), ok);
    jset(o, "differences", d, ok);
    jset(o, "n", json_integer((json_int_t)pg->st.n), ok);
    jset(o, "mean", jnum(pg->st.mean), ok);
    jset(o, "std", jnum(pg->st.std), ok);
    json_t *ci = json_array();
    jappend(ci, jnum(pg->st.ci_lo), ok);
    jappend(ci, jnum(pg->st.ci_hi), ok);
    jset(o, "ci95", ci, ok);
    jset(o, "p", jnum(pg->st.p), ok);
    jset(o, "test", json_string(amx_paired_test_name(pg->st.test)), ok);
    jset(o, "nonzero", json_integer((json_int_t)pg->st.n_nonzero), ok);
    jset(o, "wins", json_integer((json_int_t)pg->wins), ok);
    jset(o, "losses", json_integer((json_int_t)pg->losses), ok);
    jset(o, "ties", json_integer((json_int_t)pg->ties), ok);
    jset(o, "missing", json_integer((json_int_t)pg->n_missing), ok);
    if (time) {
        jset(o, "censored", json_integer((json_int_t)pg->n_censored), ok);
        jset(o, "neither", json_integer((json_int_t)pg->n_neither), ok);
    } else {
        jset(o, "diverged", json_integer((json_int_t)pg->n_diverged), ok);
    }
    return o;
}

/* The baseline point's mean metric (final or best) over its repeats that
 * did not diverge, as the tables' means. */
static double base_mean(const struct rpt_ctx *ctx, size_t b, bool best)
{
    const struct rpt_point *pt = &ctx->points[b];
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++) {
        const struct rpt_run *r = &ctx->runs[pt->runs[k]];
        if (!r->diverged) ctx->scratch[n++] = best ? r->m_best : r->m_final;
    }
    return rpt_stat_of(ctx->scratch, n).mean;
}

/* jpairing of an error measure, with the mean difference as a percentage of
 * the baseline's mean beside the absolute one. */
static json_t *jpairing_rel(const struct rpt_ctx *ctx, const struct rpt_pairing *pg, size_t b,
                            bool best, bool *ok)
{
    json_t *o = jpairing(pg, false, ok);
    double m = base_mean(ctx, b, best);
    jset(o, "mean_percent_of_baseline", jnum(isfinite(m) && m != 0 ? 100.0 * pg->st.mean / m : NAN),
         ok);
    return o;
}

/* Every comparison of a list of baselines or of all-pairs (one series
 * value or point alone is the points' "paired"): its pairs, each point -
 * baseline on final and best. */
static void jcomparisons(const struct rpt_ctx *ctx, json_t *root, bool *ok)
{
    if (ctx->n_comparisons == 0 ||
        (ctx->n_comparisons == 1 && ctx->comparisons[0].kind != RPT_CMP_ALL_PAIRS))
        return;
    json_t *list = json_array();
    for (size_t k = 0; k < ctx->n_comparisons; k++) {
        const struct rpt_comparison *c = &ctx->comparisons[k];
        json_t *o = json_object(), *pairs = json_array();
        jset(o, "baseline", json_string(c->name), ok);
        for (size_t i = 0; i < c->n_pairs; i++) {
            json_t *po = json_object();
            jset(po, "point", json_string(ctx->points[c->pairs[i].point].label), ok);
            jset(po, "baseline", json_string(ctx->points[c->pairs[i].base].label), ok);
            size_t b = c->pairs[i].base;
            jset(po, "final", jpairing_rel(ctx, &c->pairs[i].final, b, false, ok), ok);
            jset(po, "best", jpairing_rel(ctx, &c->pairs[i].best, b, true, ok), ok);
            jappend(pairs, po, ok);
        }
        jset(o, "pairs", pairs, ok);
        jappend(list, o, ok);
    }
    jset(root, "comparisons", list, ok);
}

/* A median that may be "not reached" (inf): null then. */
static json_t *jmedian(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *jtargets(const struct rpt_ctx *ctx, size_t p, bool *ok)
{
    const struct amx_report_config *rep = ctx->in->report;
    const struct rpt_point *pt = &ctx->points[p];
    json_t *a = json_array();
    for (size_t t = 0; t < rep->n_targets && t < AMX_MAX_TARGETS; t++) {
        const struct rpt_target_stat *ts = &pt->targets[t];
        json_t *o = json_object();
        jset(o, "target", json_real(rep->targets[t]), ok);
        jset(o, "n", json_integer((json_int_t)ts->n), ok);
        jset(o, "reached", json_integer((json_int_t)ts->reached), ok);
        jset(o, "median_epoch", jmedian(ts->median_epoch), ok);
        jset(o, "median_finetune_seconds", jmedian(ts->median_finetune_seconds), ok);
        jset(o, "median_total_seconds", jmedian(ts->median_total_seconds), ok);
        json_t *runs = json_array();
        for (size_t k = 0; k < pt->n_runs; k++) {
            const struct rpt_run *r = &ctx->runs[pt->runs[k]];
            const struct rpt_reach *h = &r->reach[t];
            json_t *ro = json_object();
            jset(ro, "run_id", json_string(r->id), ok);
            jset(ro, "repeat", json_integer((json_int_t)r->repeat), ok);
            jset(ro, "epoch", h->reached ? json_integer((json_int_t)h->epoch) : json_null(), ok);
            jset(ro, "finetune_seconds", h->reached ? json_real(h->finetune_seconds) : json_null(),
                 ok);
            jset(ro, "total_seconds", h->reached ? json_real(h->total_seconds) : json_null(), ok);
            jappend(runs, ro, ok);
        }
        jset(o, "runs", runs, ok);
        if (pt->baseline != RPT_NONE) {
            jset(o, "paired_epochs", jpairing(&ts->epochs, true, ok), ok);
            jset(o, "paired_finetune_seconds", jpairing(&ts->seconds, true, ok), ok);
        }
        jappend(a, o, ok);
    }
    return a;
}

enum test_measure { TEST_FINAL, TEST_BEST, TEST_ORACLE };

/* The final test error, the test error at the epoch of least validation
 * error (best), or the smallest over epochs (oracle: summary.json's
 * best_test_error), over the point's repeats that finished ok. */
static struct rpt_stat point_summary_stat(const struct rpt_ctx *ctx, size_t p, enum test_measure m)
{
    const struct rpt_point *pt = &ctx->points[p];
    double *x = ctx->scratch;
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++) {
        const struct rpt_run *r = &ctx->runs[pt->runs[k]];
        if (r->diverged) continue;
        if (r->no_test) /* a tuning run: its validation error, the smallest for best */
            x[n++] = m == TEST_FINAL ? r->final_valid : r->best_valid;
        else
            x[n++] = m == TEST_BEST     ? r->test_at_best
                     : m == TEST_ORACLE ? r->best_test
                                        : r->final_test;
    }
    return rpt_stat_of(x, n);
}

struct rank_item {
    size_t point;
    bool diverged;
    double mean; /* NAN when no repeat finished ok */
};

/* Points without a diverged repeat first, by the mean over repeats of the
 * report metric at the last epoch (so a validation split ranks by validation
 * error, not by the test set); then
 * those with one; within each, a point without a mean last; ties keep the
 * sweep order. */
static int rank_cmp(const void *pa, const void *pb)
{
    const struct rank_item *a = pa, *b = pb;
    if (a->diverged != b->diverged) return a->diverged ? 1 : -1;
    bool ha = !isnan(a->mean), hb = !isnan(b->mean);
    if (ha != hb) return ha ? -1 : 1;
    if (ha && a->mean != b->mean) return a->mean < b->mean ? -1 : 1;
    return a->point < b->point ? -1 : a->point > b->point;
}

enum amx_status rpt_write_report_json(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    bool ok = true;
    json_t *root = json_object();
    jset(root, "name", json_string(in->experiment_name), &ok);
    jset(root, "title", json_string(in->report->title[0] ? in->report->title : in->experiment_name),
         &ok);
    jset(root, "metric", json_string(ctx->metric), &ok);
    jset(root, "series",
         ctx->series_axis == RPT_NONE ? json_null() : json_string(in->axes[ctx->series_axis]), &ok);
    json_t *axes = json_array();
    for (size_t a = 0; a < in->n_axes; a++)
        jappend(axes, json_string(in->axes[a]), &ok);
    jset(root, "axes", axes, &ok);
    json_t *counts = json_object();
    jset(counts, "listed", json_integer((json_int_t)ctx->res->n_listed), &ok);
    jset(counts, "complete", json_integer((json_int_t)ctx->res->n_complete), &ok);
    jset(counts, "missing", json_integer((json_int_t)ctx->res->n_missing), &ok);
    jset(counts, "diverged", json_integer((json_int_t)ctx->res->n_diverged), &ok);
    jset(root, "runs", counts, &ok);
    /* what "best" is: the epoch of least validation error, or none */
    jset(root, "best",
         json_string(ctx->has_validation
                         ? "at each run's epoch of least validation error (the earliest of ties); "
                           "oracle: the smallest over epochs, chosen on the values themselves"
                         : "none: no validation split, so no epoch can be chosen without the test "
                           "set; oracle: the smallest over epochs, chosen on the values "
                           "themselves"),
         &ok);
    /* paired statistics: differences point - baseline of the report metric,
     * final (last epoch) and best (at the least validation error) */
    jset(root, "baseline",
         rpt_baseline_text(ctx)[0] ? json_string(rpt_baseline_text(ctx)) : json_null(), &ok);
    jset(root, "repeats", json_integer(ctx->repeats), &ok);
    json_t *targets = json_array();
    for (size_t t = 0; t < in->report->n_targets && t < AMX_MAX_TARGETS; t++)
        jappend(targets, json_real(in->report->targets[t]), &ok);
    jset(root, "targets", targets, &ok);

    static const char *const metrics[] = {"train_error", "validation_error", "test_error"};
    size_t mcol[3];
    for (size_t m = 0; m < 3; m++)
        mcol[m] = rpt_col_index(ctx, metrics[m]);

    size_t rcol = rpt_col_index(ctx, ctx->metric);
    char final_metric[64];
    snprintf(final_metric, sizeof final_metric, "final_%s", ctx->metric);
    struct rank_item *rank = calloc(ctx->n_points ? ctx->n_points : 1, sizeof *rank);
    if (!rank) ok = false;
    json_t *points = json_array();
    for (size_t p = 0; p < ctx->n_points && ok; p++) {
        const struct rpt_point *pt = &ctx->points[p];
        json_t *o = json_object();
        jset(o, "label", json_string(pt->label), &ok);
        jset(o, "sweep", jsweep(ctx, &ctx->runs[pt->runs[0]], &ok), &ok);
        jset(o, "repeats", json_integer((json_int_t)pt->n_runs), &ok);
        jset(o, "diverged", json_integer((json_int_t)pt->n_diverged), &ok);
        json_t *ids = json_array();
        for (size_t k = 0; k < pt->n_runs; k++)
            jappend(ids, json_string(ctx->runs[pt->runs[k]].id), &ok);
        jset(o, "runs", ids, &ok);
        struct rpt_stat fin = point_summary_stat(ctx, p, TEST_FINAL);
        if (ctx->no_test) {
            jset(o, "final_validation_error", jstat(fin, &ok), &ok);
            jset(o, "best_validation_error", jstat(point_summary_stat(ctx, p, TEST_BEST), &ok),
                 &ok);
        } else {
            jset(o, "final_test_error", jstat(fin, &ok), &ok);
            jset(o, "best_test_error",
                 ctx->has_validation ? jstat(point_summary_stat(ctx, p, TEST_BEST), &ok)
                                     : json_null(),
                 &ok);
            jset(o, "oracle_test_error", jstat(point_summary_stat(ctx, p, TEST_ORACLE), &ok), &ok);
        }
        if (pt->baseline != RPT_NONE) {
            json_t *po = json_object();
            jset(po, "baseline", json_string(ctx->points[pt->baseline].label), &ok);
            jset(po, "final", jpairing_rel(ctx, &pt->final, pt->baseline, false, &ok), &ok);
            jset(po, "best",
                 ctx->has_validation ? jpairing_rel(ctx, &pt->best, pt->baseline, true, &ok)
                                     : json_null(),
                 &ok);
            jset(o, "paired", po, &ok);
        } else if (pt->is_baseline) {
            jset(o, "paired", json_string("baseline"), &ok);
        }
        if (in->report->n_targets > 0) jset(o, "targets", jtargets(ctx, p, &ok), &ok);
        double rmean = fin.mean;
        if (rcol != RPT_NONE && pt->n_rows > 0) {
            struct rpt_stat rs = rpt_point_epoch_stat(ctx, p, rcol, pt->n_rows - 1);
            rmean = rs.n > 0 ? rs.mean : NAN;
        }
        rank[p] = (struct rank_item){p, pt->n_diverged > 0, rmean};
        json_t *epochs = json_array();
        for (size_t e = 0; e < pt->n_rows && ok; e++) {
            json_t *eo = json_object();
            jset(eo, "epoch", json_integer((json_int_t)e), &ok);
            jset(eo, "n", json_integer((json_int_t)rpt_point_epoch_rows(ctx, p, e)), &ok);
            for (size_t m = 0; m < 3; m++)
                if (mcol[m] != RPT_NONE)
                    jset(eo, metrics[m], jstat(rpt_point_epoch_stat(ctx, p, mcol[m], e), &ok), &ok);
            jappend(epochs, eo, &ok);
        }
        jset(o, "epochs", epochs, &ok);
        jappend(points, o, &ok);
    }
    jset(root, "points", points, &ok);
    jset(root, "ranked_by", json_string(final_metric), &ok);
    if (ok) qsort(rank, ctx->n_points, sizeof *rank, rank_cmp);
    json_t *ranking = json_array();
    for (size_t k = 0; k < ctx->n_points && ok; k++) {
        const struct rpt_point *pt = &ctx->points[rank[k].point];
        json_t *o = json_object();
        jset(o, "rank", json_integer((json_int_t)(k + 1)), &ok);
        jset(o, "label", json_string(pt->label), &ok);
        jset(o, "sweep", jsweep(ctx, &ctx->runs[pt->runs[0]], &ok), &ok);
        if (strcmp(ctx->metric, "test_error") != 0)
            jset(o, final_metric, isnan(rank[k].mean) ? json_null() : json_real(rank[k].mean), &ok);
        if (!ctx->no_test)
            jset(o, "final_test_error", jstat(point_summary_stat(ctx, rank[k].point, false), &ok),
                 &ok);
        jset(o, "repeats", json_integer((json_int_t)pt->n_runs), &ok);
        jset(o, "diverged", json_integer((json_int_t)pt->n_diverged), &ok);
        jappend(ranking, o, &ok);
    }
    jset(root, "ranking", ranking, &ok);
    jcomparisons(ctx, root, &ok);
    free(rank);

    char *text =
        ok ? json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(10))
           : NULL;
    json_decref(root);
    char path[AMX_PATH_MAX + 64];
    if (!rpt_path(ctx, path, sizeof path, "report.json")) {
        free(text);
        return amx_fail(err, AMX_ERR_IO, in->results_dir, 0, 0, "path too long");
    }
    if (!text) return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    struct amx_buf b = {0};
    amx_buf_printf(&b, "%s\n", text);
    free(text);
    return rpt_write_buf(ctx, "report.json", &b, err);
}
