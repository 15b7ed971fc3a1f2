/* The tuning report (include/adamix/report.h, "Tune"): reading one number
 * of each run of a stage back from its folder, and writing the files that
 * pool the stages: selection.csv, tune.json, tune.md, sensitivity.dat and
 * .gp (rendered to .svg and .png), tune.html. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/fsutil.h"
#include "adamix/report.h"
#include "adamix/sweep.h"
#include "internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum amx_status amx_tune_runs_read(const char *dir, const struct amx_experiment *exp,
                                   const char *key, double *value, int *state,
                                   struct amx_error *err)
{
    const char *axes[64];
    size_t n_axes = exp->n_axes < 64 ? exp->n_axes : 64;
    for (size_t a = 0; a < n_axes; a++)
        axes[a] = exp->axes[a].path;
    for (size_t i = 0; i < exp->n_runs; i++) {
        char run_dir[AMX_PATH_MAX + 64], path[AMX_PATH_MAX + 96];
        snprintf(run_dir, sizeof run_dir, "%s/runs/%s", dir, exp->runs[i].id);
        snprintf(path, sizeof path, "%s/summary.json", run_dir);
        value[i] = NAN;
        state[i] = AMX_TUNE_RUN_MISSING;
        struct amx_result_verdict v;
        if (amx_result_judge(run_dir, exp->runs[i].id, n_axes, axes, &v) != AMX_RESULT_COMPLETE)
            continue;
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        if (!root) return amx_fail(err, AMX_ERR_IO, path, jerr.line, jerr.column, "%s", jerr.text);
        const char *status = json_string_value(json_object_get(root, "status"));
        json_t *x = json_object_get(root, key);
        value[i] = json_is_number(x) ? json_number_value(x) : NAN;
        state[i] =
            status && strcmp(status, "diverged") == 0 ? AMX_TUNE_RUN_DIVERGED : AMX_TUNE_RUN_OK;
        json_decref(root);
    }
    return AMX_OK;
}

/* ---- the files ---- */

static void num(struct amx_buf *b, double x)
{
    char s[32];
    rpt_fmt_num(s, x);
    amx_buf_printf(b, "%s", s);
}

/* A number of tune.md: the chosen value as written (%g), an error with three
 * decimals as report.md has them; "n/a" when not finite. */
static void md_num(struct amx_buf *b, const char *fmt, double x)
{
    if (isfinite(x))
        amx_buf_printf(b, fmt, x);
    else
        amx_buf_printf(b, "n/a");
}

static const char *edge_note(const struct amx_tune_report_member *m, char *buf, size_t size)
{
    buf[0] = '\0';
    if (m->ext_low || m->ext_high)
        snprintf(buf, size, "grid extended %d below, %d above", m->ext_low, m->ext_high);
    if (m->limit_reached)
        snprintf(buf + strlen(buf), size - strlen(buf),
                 "%sWARNING: the best value is at the edge of the grid and the extension limit "
                 "is reached",
                 buf[0] ? "; " : "");
    return buf;
}

static enum amx_status write_selection_csv(struct rpt_ctx *ctx, const struct amx_tune_report *in,
                                           struct amx_error *err)
{
    struct amx_buf b = {0};
    amx_buf_printf(&b,
                   "study,member,values,chosen,metric,at_edge,extended_low,extended_high,"
                   "limit_reached,%s_mean,%s_sd,final_repeats\n",
                   in->final_metric, in->final_metric);
    for (int s = 0; s < in->studies; s++)
        for (size_t i = 0; i < in->n_members; i++) {
            const struct amx_tune_report_member *m = &in->members[s * in->n_members + i];
            amx_buf_printf(&b, "%d,%s,%s,", s + 1, m->name, m->values);
            num(&b, m->chosen >= 0 ? m->value[m->chosen] : NAN);
            amx_buf_printf(&b, ",");
            num(&b, m->chosen >= 0 ? m->metric[m->chosen] : NAN);
            amx_buf_printf(&b, ",%d,%d,%d,%s,", m->edge, m->ext_low, m->ext_high,
                           m->limit_reached ? "true" : "false");
            num(&b, m->final_mean);
            amx_buf_printf(&b, ",");
            num(&b, m->final_sd);
            amx_buf_printf(&b, ",%zu\n", m->final_n);
        }
    enum amx_status st = rpt_write_buf(ctx, "selection.csv", &b, err);
    amx_buf_free(&b);
    return st;
}

static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Over the studies of member i: the median and the sample standard
 * deviation of the final means, and the mean of the within-study sds. */
static void across_studies(const struct amx_tune_report *in, size_t i, double *median,
                           double *sd_between, double *sd_within, double *median_chosen)
{
    double x[256], c[256], sum = 0, within = 0;
    size_t n = 0, nw = 0, nc = 0;
    for (int s = 0; s < in->studies && n < 256; s++) {
        const struct amx_tune_report_member *m = &in->members[s * in->n_members + i];
        if (m->chosen >= 0) c[nc++] = m->value[m->chosen];
        if (!isfinite(m->final_mean)) continue;
        x[n++] = m->final_mean;
        sum += m->final_mean;
        if (m->final_n > 1 && isfinite(m->final_sd)) within += m->final_sd, nw++;
    }
    qsort(x, n, sizeof *x, cmp_double);
    qsort(c, nc, sizeof *c, cmp_double);
    *median = n ? (n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2) : NAN;
    *median_chosen = nc ? (nc % 2 ? c[nc / 2] : sqrt(c[nc / 2 - 1] * c[nc / 2])) : NAN;
    double mean = n ? sum / n : NAN, ss = 0;
    for (size_t k = 0; k < n; k++)
        ss += (x[k] - mean) * (x[k] - mean);
    *sd_between = n > 1 ? sqrt(ss / (n - 1)) : NAN;
    *sd_within = nw ? within / nw : NAN;
}

static enum amx_status write_tune_json(struct rpt_ctx *ctx, const struct amx_tune_report *in,
                                       struct amx_error *err)
{
    json_t *root = json_object(), *studies = json_array(), *summary = json_array();
    json_object_set_new(root, "name", json_string(in->name));
    json_object_set_new(root, "selection_metric", json_string(in->selection_metric));
    json_object_set_new(root, "final_metric", json_string(in->final_metric));
    for (int s = 0; s < in->studies; s++) {
        json_t *members = json_array();
        for (size_t i = 0; i < in->n_members; i++) {
            const struct amx_tune_report_member *m = &in->members[s * in->n_members + i];
            json_t *o = json_object(), *grid = json_array();
            json_object_set_new(o, "member", json_string(m->name));
            json_object_set_new(o, "values", json_string(m->values));
            for (size_t k = 0; k < m->n; k++) {
                json_t *p = json_object();
                json_object_set_new(p, "value", json_real(m->value[k]));
                json_object_set_new(p, "metric", jnum(m->metric[k]));
                json_object_set_new(p, "diverged", json_boolean(m->diverged[k]));
                json_array_append_new(grid, p);
            }
            json_object_set_new(o, "grid", grid);
            json_object_set_new(o, "chosen",
                                m->chosen >= 0 ? json_real(m->value[m->chosen]) : json_null());
            json_object_set_new(o, "edge", json_integer(m->edge));
            json_object_set_new(o, "extended_low", json_integer(m->ext_low));
            json_object_set_new(o, "extended_high", json_integer(m->ext_high));
            json_object_set_new(o, "limit_reached", json_boolean(m->limit_reached));
            json_object_set_new(o, "final_mean", jnum(m->final_mean));
            json_object_set_new(o, "final_sd", jnum(m->final_sd));
            json_object_set_new(o, "final_repeats", json_integer((json_int_t)m->final_n));
            json_array_append_new(members, o);
        }
        json_t *st = json_object();
        json_object_set_new(st, "study", json_integer(s + 1));
        json_object_set_new(st, "members", members);
        json_array_append_new(studies, st);
    }
    for (size_t i = 0; i < in->n_members; i++) {
        double med, between, within, chosen;
        across_studies(in, i, &med, &between, &within, &chosen);
        json_t *o = json_object();
        json_object_set_new(o, "member", json_string(in->members[i].name));
        json_t *each = json_array();
        for (int s = 0; s < in->studies; s++) {
            const struct amx_tune_report_member *m = &in->members[s * in->n_members + i];
            json_array_append_new(each,
                                  m->chosen >= 0 ? json_real(m->value[m->chosen]) : json_null());
        }
        json_object_set_new(o, "chosen_per_study", each);
        json_object_set_new(o, "median_final", jnum(med));
        json_object_set_new(o, "median_chosen", jnum(chosen));
        json_object_set_new(o, "sd_between_studies", jnum(between));
        json_object_set_new(o, "sd_within_study", jnum(within));
        json_array_append_new(summary, o);
    }
    json_object_set_new(root, "studies", studies);
    json_object_set_new(root, "over_studies", summary);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    struct amx_buf b = {0};
    amx_buf_printf(&b, "%s\n", text);
    free(text);
    enum amx_status st = rpt_write_buf(ctx, "tune.json", &b, err);
    amx_buf_free(&b);
    return st;
}

static void md_tables(struct amx_buf *b, const struct amx_tune_report *in)
{
    amx_buf_printf(b, "# %s: tune, then test\n\n", in->name);
    amx_buf_printf(b,
                   "Chosen on %s (the test set is not measured in the tuning runs); final: %s "
                   "at the chosen values (mean +- sd over repeats).\n\n",
                   in->selection_metric, in->final_metric);
    amx_buf_printf(b, "| study | member | values | chosen | selection metric | final | note |\n");
    amx_buf_printf(b, "|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < in->studies; s++)
        for (size_t i = 0; i < in->n_members; i++) {
            const struct amx_tune_report_member *m = &in->members[s * in->n_members + i];
            char note[256];
            amx_buf_printf(b, "| %d | %s | %s | ", s + 1, m->name, m->values);
            md_num(b, "%g", m->chosen >= 0 ? m->value[m->chosen] : NAN);
            amx_buf_printf(b, " | ");
            md_num(b, "%.3f", m->chosen >= 0 ? m->metric[m->chosen] : NAN);
            amx_buf_printf(b, " | ");
            md_num(b, "%.3f", m->final_mean);
            amx_buf_printf(b, " +- ");
            md_num(b, "%.3f", m->final_sd);
            amx_buf_printf(b, " | %s |\n", edge_note(m, note, sizeof note));
        }
    if (in->studies < 2) return;
    amx_buf_printf(b,
                   "\nOver the %d studies (the median, AlgoPerf's score; the spread of the "
                   "final results across studies beside the spread across repeats within "
                   "one):\n\n",
                   in->studies);
    amx_buf_printf(b, "| member | chosen in each study | median chosen | median final | sd across "
                      "studies | sd within a study |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < in->n_members; i++) {
        double med, between, within, chosen;
        across_studies(in, i, &med, &between, &within, &chosen);
        amx_buf_printf(b, "| %s | ", in->members[i].name);
        for (int s = 0; s < in->studies; s++) {
            const struct amx_tune_report_member *m = &in->members[s * in->n_members + i];
            amx_buf_printf(b, "%s", s ? ", " : "");
            md_num(b, "%g", m->chosen >= 0 ? m->value[m->chosen] : NAN);
        }
        amx_buf_printf(b, " | ");
        md_num(b, "%g", chosen);
        amx_buf_printf(b, " | ");
        md_num(b, "%.3f", med);
        amx_buf_printf(b, " | ");
        md_num(b, "%.3f", between);
        amx_buf_printf(b, " | ");
        md_num(b, "%.3f", within);
        amx_buf_printf(b, " |\n");
    }
}

static enum amx_status write_tune_md(struct rpt_ctx *ctx, const struct amx_tune_report *in,
                                     struct amx_error *err)
{
    struct amx_buf b = {0};
    md_tables(&b, in);
    enum amx_status st = rpt_write_buf(ctx, "tune.md", &b, err);
    amx_buf_free(&b);
    return st;
}

/* One block per member (of study 1): value, metric; then the chosen points
 * and the extension values as two more blocks. */
static enum amx_status write_sensitivity(struct rpt_ctx *ctx, const struct amx_tune_report *in,
                                         struct amx_error *err)
{
    struct amx_buf d = {0}, g = {0};
    amx_buf_printf(&d, "# value metric (one block per member; diverged: nan)\n");
    for (size_t i = 0; i < in->n_members; i++) {
        const struct amx_tune_report_member *m = &in->members[i];
        amx_buf_printf(&d, "# %s\n", m->name);
        for (size_t k = 0; k < m->n; k++) {
            amx_buf_printf(&d, "%.10g ", m->value[k]);
            num(&d, m->diverged[k] ? NAN : m->metric[k]);
            amx_buf_printf(&d, "\n");
        }
        amx_buf_printf(&d, "\n\n");
    }
    amx_buf_printf(&d, "# chosen\n");
    for (size_t i = 0; i < in->n_members; i++) {
        const struct amx_tune_report_member *m = &in->members[i];
        if (m->chosen >= 0)
            amx_buf_printf(&d, "%.10g %.10g\n", m->value[m->chosen], m->metric[m->chosen]);
    }
    amx_buf_printf(&d, "\n\n# extension values\n");
    size_t n_ext = 0;
    for (size_t i = 0; i < in->n_members; i++) {
        const struct amx_tune_report_member *m = &in->members[i];
        for (size_t k = 0; k < m->n; k++)
            if ((int)k < m->ext_low || k >= m->n - (size_t)m->ext_high) {
                amx_buf_printf(&d, "%.10g ", m->value[k]);
                num(&d, m->metric[k]);
                amx_buf_printf(&d, "\n");
                n_ext++;
            }
    }
    if (!n_ext) amx_buf_printf(&d, "nan nan\n");
    amx_buf_printf(&g,
                   "# The tuning's sensitivity: %s against the tuned value, one line per "
                   "member (study 1); gnuplot sensitivity.gp redraws it.\n",
                   in->selection_metric);
    amx_buf_printf(&g, "if (!exists(\"svg_out\")) svg_out = 'sensitivity.svg'\n"
                       "if (!exists(\"png_out\")) png_out = 'sensitivity.png'\n"
                       "set logscale x\nset xlabel 'tuned value (log scale)'\n"
                       "set ylabel 'validation error'\nset key outside right\n"
                       "set datafile missing 'nan'\n"
                       "set title 'Tuning: validation error by tuned value'\n"
                       "do for [out = 1:2] {\n"
                       "    if (out == 1) { set terminal svg size 900,500; set output svg_out }\n"
                       "    if (out == 2) { set terminal pngcairo size 900,500; "
                       "set output png_out }\n"
                       "    plot ");
    for (size_t i = 0; i < in->n_members; i++)
        amx_buf_printf(&g, "'sensitivity.dat' index %zu using 1:2 with linespoints title '%s', ", i,
                       in->members[i].name);
    amx_buf_printf(&g,
                   "'sensitivity.dat' index %zu using 1:2 with points pt 7 ps 2 lc 'black' "
                   "title 'chosen', 'sensitivity.dat' index %zu using 1:2 with points pt 6 ps 2.5 "
                   "lc 'red' title 'grid extension'\n    unset output\n}\n",
                   in->n_members, in->n_members + 1);
    enum amx_status st = rpt_write_buf(ctx, "sensitivity.dat", &d, err);
    if (st == AMX_OK) st = rpt_write_buf(ctx, "sensitivity.gp", &g, err);
    amx_buf_free(&d);
    amx_buf_free(&g);
    if (st == AMX_OK && ctx->in->render) st = rpt_render_named(ctx, "sensitivity", err);
    return st;
}

/* The SVG file rel of the folder inlined (a plain SVG document: no script,
 * no foreign object), else a link to it: the page stays self-contained. */
static void inline_svg(struct rpt_ctx *ctx, const char *rel, struct amx_buf *b)
{
    char path[AMX_PATH_MAX + 64];
    struct amx_error e;
    char *svg = NULL;
    size_t len = 0;
    if (!rpt_path(ctx, path, sizeof path, rel) || amx_read_file(path, &svg, &len, &e) != AMX_OK)
        svg = NULL;
    const char *root = svg ? strstr(svg, "<svg") : NULL;
    if (root && !strstr(root, "<script") && !strstr(root, "<foreignObject")) {
        amx_buf_printf(b, "<div class=\"figure\">\n");
        amx_buf_append(b, root, strlen(root));
        amx_buf_printf(b, "\n</div>\n");
    } else {
        amx_buf_printf(b,
                       "<p><a href=\"%s\">%s</a> (not rendered, or not a plain SVG "
                       "document)</p>\n",
                       rel, rel);
    }
    free(svg);
}

static void html_escaped(struct amx_buf *b, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '<')
            amx_buf_printf(b, "&lt;");
        else if (*c == '>')
            amx_buf_printf(b, "&gt;");
        else if (*c == '&')
            amx_buf_printf(b, "&amp;");
        else
            amx_buf_append(b, c, 1);
    }
}

/* One page, self-contained but for the links to each stage's own report:
 * the sensitivity figure, the tables, each study's final figure. */
static enum amx_status write_tune_html(struct rpt_ctx *ctx, const struct amx_tune_report *in,
                                       struct amx_error *err)
{
    struct amx_buf b = {0}, md = {0};
    md_tables(&md, in);
    amx_buf_printf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    html_escaped(&b, in->name);
    amx_buf_printf(&b, ": tune, then test</title><style>body{font-family:sans-serif;"
                       "max-width:70em;margin:auto}div.figure svg{max-width:100%%;height:auto}"
                       "</style></head><body>\n<h1>");
    html_escaped(&b, in->name);
    amx_buf_printf(&b, ": tune, then test</h1>\n<h2>Sensitivity</h2>\n");
    inline_svg(ctx, "sensitivity.svg", &b);
    amx_buf_printf(&b, "<h2>Chosen values</h2>\n<pre>");
    html_escaped(&b, md.data ? md.data : "");
    amx_buf_printf(&b, "</pre>\n<h2>The final comparison</h2>\n<ul>\n");
    for (int s = 0; s < in->studies; s++) {
        char dir[32] = "";
        if (in->studies > 1) snprintf(dir, sizeof dir, "study-%d/", s + 1);
        char fig[64];
        snprintf(fig, sizeof fig, "%sfinal/figure.svg", dir);
        amx_buf_printf(&b,
                       "<li>%s<a href=\"%stune/report.html\">the tuning</a>, "
                       "<a href=\"%sfinal/report.html\">the final comparison</a>\n",
                       dir, dir, dir);
        inline_svg(ctx, fig, &b);
        amx_buf_printf(&b, "</li>\n");
    }
    amx_buf_printf(&b, "</ul>\n</body></html>\n");
    amx_buf_free(&md);
    enum amx_status r = rpt_write_buf(ctx, "report.html", &b, err);
    amx_buf_free(&b);
    return r;
}

enum amx_status amx_tune_report_write(const struct amx_tune_report *in,
                                      struct amx_report_result *res, struct amx_error *err)
{
    memset(res, 0, sizeof *res);
    struct amx_report_input rin = {.results_dir = in->dir, .render = in->render};
    struct rpt_ctx ctx = {.in = &rin, .res = res};
    enum amx_status st = write_selection_csv(&ctx, in, err);
    if (st == AMX_OK) st = write_tune_json(&ctx, in, err);
    if (st == AMX_OK) st = write_tune_md(&ctx, in, err);
    if (st == AMX_OK) st = write_sensitivity(&ctx, in, err);
    if (st == AMX_OK) st = write_tune_html(&ctx, in, err);
    return st;
}
