/* The figure: figure.dat (one block per line: epoch, mean, standard
 * deviation and count of the report metric over the point's repeats),
 * figure.gp (an editable gnuplot script that reads it and draws SVG and PNG)
 * and the rendering, which runs gnuplot on that script in the results folder.
 *
 * Every text that comes from the experiment (title, labels) enters the script
 * as a gnuplot single-quoted string: gnuplot runs `backquoted` commands inside
 * double-quoted strings but not inside single-quoted ones, where the only
 * escape is '' for a quote. The terminals are `noenhanced`, so _ ^ { } @ in a
 * label are printed as they are. gnuplot is started with fork/execv (no
 * shell), with its output and errors in figure.log; it writes to temporary
 * names that are renamed into place only when both images are complete. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Colour-blind-aware categorical palette (the "tab10" colours) and ten dash
 * patterns (gnuplot dt: solid, or pairs of dash and gap lengths). */
static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const dashes[] = {
    "1",     "(8,4)",         "(2,3)",      "(8,4,2,4)", "(16,5)",
    "(2,6)", "(8,3,2,3,2,3)", "(16,4,4,4)", "(4,4)",     "(12,3,2,3,2,3,2,3)"};
#define N_COLOURS (sizeof colours / sizeof *colours)
#define N_DASHES (sizeof dashes / sizeof *dashes)

/* A gnuplot single-quoted string: ' doubled, control characters as spaces. */
static void gp_quote(struct amx_buf *b, const char *s)
{
    amx_buf_append(b, "'", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\'')
            amx_buf_append(b, "''", 2);
        else if (*p < 0x20 || *p == 0x7f)
            amx_buf_append(b, " ", 1);
        else
            amx_buf_append(b, (const char *)p, 1);
    }
    amx_buf_append(b, "'", 1);
}

/* A run cut down or changed by overrides says so under the title: the
 * title is the experiment file's. */
static void figure_subtitle(const struct rpt_ctx *ctx, struct amx_buf *g)
{
    struct amx_buf o = {0};
    if (rpt_run_overrides(ctx, &o) > 0 && o.data) {
        char *text = malloc(o.len + 16);
        if (text) {
            amx_buf_printf(g, ".\"\\n\".");
            snprintf(text, o.len + 16, "with %s", o.data);
            gp_quote(g, text);
        } else {
            g->failed = true; /* out of memory: never half a title */
        }
        free(text);
    }
    if (o.failed) g->failed = true;
    amx_buf_free(&o);
}

/* The same text on one comment line. */
static void gp_comment_text(struct amx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        amx_buf_append(b, (*p < 0x20 || *p == 0x7f) ? " " : (const char *)p, 1);
}

static const char *axis_label(const char *metric, enum amx_task task, char *buf, size_t size)
{
    if (task == AMX_TASK_CLASSIFIER) {
        if (!strcmp(metric, "train_error")) return "training classification error (%)";
        if (!strcmp(metric, "validation_error")) return "validation classification error (%)";
        if (!strcmp(metric, "test_error")) return "test classification error (%)";
    } else {
        if (!strcmp(metric, "train_error"))
            return "training reconstruction error (squared error per image)";
        if (!strcmp(metric, "validation_error"))
            return "validation reconstruction error (squared error per image)";
        if (!strcmp(metric, "test_error"))
            return "test reconstruction error (squared error per image)";
    }
    /* any other curve column: named as curve.csv names it, with what it is */
    static const struct {
        const char *prefix, *what;
    } kinds[] = {{"rate_mean.", "mean learning rate of group "},
                 {"rate_min.", "smallest learning rate of group "},
                 {"rate_max.", "largest learning rate of group "},
                 {"test_loss", "test loss (mean per image)"},
                 {"train_loss", "training loss (mean per image)"},
                 {"validation_loss", "validation loss (mean per image)"},
                 {"seconds", "seconds (as curve.csv records them)"}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(metric, kinds[i].prefix, n) == 0) {
            bool group = kinds[i].prefix[n - 1] == '.';
            snprintf(buf, size, "%s: %s%s", metric, kinds[i].what, group ? metric + n : "");
            return buf;
        }
    }
    snprintf(buf, size, "%s", metric);
    return buf;
}

/* Whether points p and q agree on the series axis (series=true) or on every
 * other axis (series=false). */
static bool same_class(const struct rpt_ctx *ctx, size_t p, size_t q, bool series)
{
    const struct rpt_run *rp = &ctx->runs[ctx->points[p].runs[0]];
    const struct rpt_run *rq = &ctx->runs[ctx->points[q].runs[0]];
    for (size_t a = 0; a < ctx->in->n_axes; a++)
        if ((a == ctx->series_axis) == series && strcmp(rp->labels[a], rq->labels[a]) != 0)
            return false;
    return true;
}

/* cls[p] = 0, 1, 2, ... numbering the distinct classes in order of first
 * appearance; returns how many there are. */
static size_t number_classes(const struct rpt_ctx *ctx, bool series, size_t *cls)
{
    size_t n = 0;
    for (size_t p = 0; p < ctx->n_points; p++) {
        size_t q = 0;
        while (q < p && !same_class(ctx, p, q, series))
            q++;
        cls[p] = q < p ? cls[q] : n++;
    }
    return n;
}

/* A line's key entry: its label, and how many of its repeats diverged. */
static void key_name(const struct rpt_point *pt, char *buf, size_t size)
{
    if (pt->n_diverged == pt->n_runs)
        snprintf(buf, size, "%s (diverged)", pt->label);
    else if (pt->n_diverged)
        snprintf(buf, size, "%s (%zu of %zu diverged)", pt->label, pt->n_diverged, pt->n_runs);
    else
        snprintf(buf, size, "%s", pt->label);
}

struct extent {
    double lo, hi, pos_min;
};

static void extent_add(struct extent *x, struct rpt_stat s)
{
    double lo = s.mean - s.std, hi = s.mean + s.std;
    if (!isfinite(lo) || !isfinite(hi)) return;
    if (lo < x->lo) x->lo = lo;
    if (hi > x->hi) x->hi = hi;
    double pos = lo > 0 ? lo : s.mean;
    if (pos > 0 && pos < x->pos_min) x->pos_min = pos;
}

/* The y range and, on a log axis, ticks at 1, 2, 5 times the powers of ten
 * (gnuplot labels only whole decades, often one or none on such plots).
 * With a diverged line the range is that of the other lines: a diverging
 * run's errors (and the spread they give its line's band) would otherwise
 * flatten every other line against the axis. */
static void y_range(struct amx_buf *g, bool log_y, bool any_diverged, const struct extent *all,
                    const struct extent *ok)
{
    bool clip = any_diverged && ok->hi >= ok->lo;
    const struct extent *x = clip ? ok : all;
    if (clip) {
        amx_buf_printf(g, "# the range of the lines without a diverged run (the others leave "
                          "the plot); comment out to see them whole\n");
        if (log_y && ok->pos_min < HUGE_VAL) {
            amx_buf_printf(g, "set yrange [%.4g:%.4g]\n", ok->pos_min / 1.2, ok->hi * 1.2);
        } else if (!log_y) {
            double span = ok->hi - ok->lo > 0 ? ok->hi - ok->lo : fabs(ok->hi) + 1;
            double lo = ok->lo - 0.05 * span;
            if (ok->lo >= 0 && (lo < 0 || ok->lo < span)) lo = 0; /* errors: from 0 if near */
            amx_buf_printf(g, "set yrange [%.4g:%.4g]\n", lo, ok->hi + 0.08 * span);
        }
    }
    if (log_y && x->pos_min < HUGE_VAL && x->hi > 0) {
        int k0 = (int)floor(log10(x->pos_min)), k1 = (int)ceil(log10(x->hi));
        if (k1 - k0 <= 8) {
            amx_buf_printf(g, "set ytics (");
            for (int k = k0; k <= k1; k++)
                amx_buf_printf(g, "%s%g, %g, %g", k > k0 ? ", " : "", pow(10, k), 2 * pow(10, k),
                               5 * pow(10, k));
            amx_buf_printf(g, ")\n");
        }
    }
}

/* report.x: seconds. The mean over the point's runs that have epoch e of
 * their cumulative fine-tuning seconds to it (curve.csv rows 1..e; 0 at
 * epoch 0: the pretraining is shared by the variants and not counted). */
static double point_seconds(const struct rpt_ctx *ctx, size_t p, size_t scol, size_t e)
{
    const struct rpt_point *pt = &ctx->points[p];
    double sum = 0;
    size_t n = 0;
    for (size_t k = 0; k < pt->n_runs; k++) {
        const struct rpt_run *r = &ctx->runs[pt->runs[k]];
        size_t j = scol == RPT_NONE ? RPT_NONE : r->colmap[scol];
        if (j == RPT_NONE || e >= r->curve.n_rows) continue;
        double t = 0;
        for (size_t i = 1; i <= e; i++) {
            size_t at = i * r->curve.n_cols + j;
            if (r->curve.has[at] && isfinite(r->curve.v[at])) t += r->curve.v[at];
        }
        sum += t;
        n++;
    }
    return n ? sum / (double)n : NAN;
}

enum amx_status rpt_write_figure(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    size_t mcol = rpt_col_index(ctx, ctx->metric);
    size_t np = ctx->n_points;
    bool by_seconds = in->report->x == AMX_X_SECONDS;
    size_t scol = rpt_col_index(ctx, "seconds");
    double max_seconds = 0;

    /* ---- figure.dat ---- */
    struct amx_buf d = {0};
    amx_buf_printf(&d, "# %s of experiment ", ctx->metric);
    gp_comment_text(&d, in->experiment_name);
    amx_buf_printf(&d, " over the repeats of each sweep point, written by adamix-run.\n"
                       "# One block per line of figure.gp (gnuplot `index`), blocks apart by two "
                       "empty lines; ? = no value.\n");
    bool any_band = false, any_diverged = false;
    size_t min_rep = (size_t)-1, max_rep = 0;
    /* the data's extent (mean +- sd) over all lines and over the lines
     * without a diverged repeat; pos_min: the smallest positive value, for
     * log axes */
    struct extent all = {HUGE_VAL, -HUGE_VAL, HUGE_VAL}, ok = all;
    size_t max_epoch = 0;
    /* finite[p]: line p has at least one value to draw (not so for a point
     * whose every repeat diverged to nan or inf from the start) */
    bool *finite = calloc(np ? np : 1, sizeof *finite);
    if (!finite) {
        amx_buf_free(&d);
        return amx_fail(err, AMX_ERR_NOMEM, in->results_dir, 0, 0, "out of memory");
    }
    bool any_finite = false;
    for (size_t p = 0; p < np; p++) {
        const struct rpt_point *pt = &ctx->points[p];
        if (pt->n_runs > 1 && !pt->n_diverged) any_band = true;
        if (pt->n_diverged) any_diverged = true;
        if (pt->n_runs < min_rep) min_rep = pt->n_runs;
        if (pt->n_runs > max_rep) max_rep = pt->n_runs;
        if (p > 0) amx_buf_printf(&d, "\n\n");
        amx_buf_printf(&d, "# index %zu: ", p);
        gp_comment_text(&d, pt->label);
        amx_buf_printf(&d, " (%zu repeat%s)\n# epoch mean sd n%s\n", pt->n_runs,
                       pt->n_runs == 1 ? "" : "s",
                       by_seconds ? " seconds (cumulative fine-tuning, mean)" : "");
        for (size_t e = 0; e < pt->n_rows; e++) {
            struct rpt_stat s = rpt_point_epoch_stat(ctx, p, mcol, e);
            char sec[40] = "";
            if (by_seconds) {
                double t = point_seconds(ctx, p, scol, e);
                char num[32];
                rpt_fmt_num(num, t);
                snprintf(sec, sizeof sec, " %s", isfinite(t) ? num : "?");
                if (isfinite(t) && t > max_seconds) max_seconds = t;
            }
            if (s.n == 0) {
                amx_buf_printf(&d, "%zu ? ? 0%s\n", e, sec);
                continue;
            }
            char m[32], sd[32];
            rpt_fmt_num(m, s.mean);
            rpt_fmt_num(sd, s.std);
            amx_buf_printf(&d, "%zu %s %s %zu%s\n", e, m, sd, s.n, sec);
            finite[p] = any_finite = true;
            extent_add(&all, s);
            if (!pt->n_diverged) extent_add(&ok, s);
            if (e > max_epoch) max_epoch = e;
        }
    }
    char path[AMX_PATH_MAX + 64];
    enum amx_status st = AMX_OK;
    if (!rpt_path(ctx, path, sizeof path, "figure.dat"))
        st = amx_fail(err, AMX_ERR_IO, in->results_dir, 0, 0, "path too long");
    else if (d.failed)
        st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    else
        st = amx_write_file_atomic(path, d.data ? d.data : "", d.len, err);
    amx_buf_free(&d);
    if (st != AMX_OK) {
        free(finite);
        return st;
    }

    /* ---- figure.gp ---- */
    const char *title = in->report->title[0] ? in->report->title : in->experiment_name;
    struct amx_buf g = {0};
    amx_buf_printf(&g, "# ");
    gp_comment_text(&g, title);
    amx_buf_printf(&g,
                   "\n# Written by adamix-run from figure.dat (beside this file). Edit freely, "
                   "then run\n#   gnuplot figure.gp\n# in this folder: it writes figure.svg and "
                   "figure.png (choose with -e \"formats='png'\").\n\n");
    amx_buf_printf(&g, "if (!exists(\"formats\")) formats = 'svg png'\n"
                       "if (!exists(\"svg_out\")) svg_out = 'figure.svg'\n"
                       "if (!exists(\"png_out\")) png_out = 'figure.png'\n"
                       "data = 'figure.dat'\n\n");
    amx_buf_printf(&g, "set encoding utf8\nset datafile missing '?'\n");
    amx_buf_printf(&g, "set title ");
    gp_quote(&g, title);
    figure_subtitle(ctx, &g);
    amx_buf_printf(&g, "\n");
    char ylabel[AMX_NAME_MAX + 64];
    amx_buf_printf(&g, "set xlabel '%s'\nset ylabel '%s'\n",
                   by_seconds ? "fine-tuning seconds (cumulative, mean over repeats)"
                              : "fine-tuning epoch",
                   axis_label(ctx->metric, ctx->in->task, ylabel, sizeof ylabel));
    amx_buf_printf(&g, "set grid xtics ytics mytics back lc rgb '#e0e0e0' lw 1 dt 1, lc rgb "
                       "'#f0f0f0' lw 1 dt 1\n"
                       "set border 3 lw 1.2 lc rgb '#404040'\n"
                       "set tics nomirror out scale 0.6\n");
    if (by_seconds) {
        char xmax[32];
        rpt_fmt_num(xmax, max_seconds > 0 ? max_seconds : 1);
        amx_buf_printf(&g, "set xrange [0:%s]\n", xmax);
    } else {
        amx_buf_printf(&g, "set xrange [0:%zu]\n%s", max_epoch > 0 ? max_epoch : 1,
                       max_epoch <= 10 ? "set xtics 1\n" : "");
    }
    if (in->report->log_y)
        amx_buf_printf(&g, "set logscale y\nset mytics 10\n"
                           "# the data's range plus a margin, rather than whole decades\n"
                           "set autoscale yfix\nset offsets 0, 0, graph 0.05, graph 0.05\n");
    else
        amx_buf_printf(&g, "set mytics 2\n");
    y_range(&g, in->report->log_y, any_diverged, &all, &ok);
    if (np > 0 && !any_finite) {
        /* every run diverged before its first measure: nothing to scale the
         * axis by, and gnuplot refuses a plot without a defined point; the
         * frame, the key and a note are drawn instead */
        amx_buf_printf(&g, "set yrange [%s]\nset label 2 ", in->report->log_y ? "1:10" : "0:1");
        char note[160];
        snprintf(note, sizeof note, "no finite %s: every run diverged", ctx->metric);
        gp_quote(&g, note);
        amx_buf_printf(&g, " at graph 0.5, graph 0.5 center\n");
    }
    /* with many lines the key goes to the right of the plot, and the canvas
     * grows by its width, so the plot keeps its size */
    bool key_outside = np > 6;
    size_t longest = 0; /* the longest key entry, in bytes */
    for (size_t p = 0; p < np; p++) {
        char name[AMX_TEXT_MAX * 4];
        key_name(&ctx->points[p], name, sizeof name);
        if (strlen(name) > longest) longest = strlen(name);
    }
    if (longest > 120) longest = 120;
    /* gnuplot reserves about 10.6 pixels a character for the key at these
     * font sizes, the text takes about 8.2: `width` takes back a sixth */
    if (key_outside)
        amx_buf_printf(&g,
                       "set key outside right top vertical Left reverse samplen 3 spacing 1.2 "
                       "width %d",
                       -(int)(longest / 6));
    else
        amx_buf_printf(&g, "set key inside right top vertical Left reverse samplen 3 spacing 1.2 "
                           "opaque box lc rgb '#c0c0c0'");
    if (any_band) {
        amx_buf_printf(&g, " title ");
        char kt[128];
        if (min_rep == max_rep)
            snprintf(kt, sizeof kt, "mean ± s.d. of %zu repeats", max_rep);
        else
            snprintf(kt, sizeof kt, "mean ± s.d. of %zu-%zu repeats", min_rep, max_rep);
        gp_quote(&g, kt);
    }
    amx_buf_printf(&g, "\nset style fill transparent solid 0.18 noborder\n\n");

    /* styles: one linetype per line */
    size_t *scls = malloc((np ? np : 1) * sizeof *scls);
    size_t *ocls = malloc((np ? np : 1) * sizeof *ocls);
    if (!scls || !ocls) g.failed = true;
    size_t n_series = 0, n_other = 0;
    if (scls && ocls && ctx->series_axis != RPT_NONE) {
        n_series = number_classes(ctx, true, scls);
        n_other = number_classes(ctx, false, ocls);
    }
    /* both vary: colour = the series value, dash = the rest; else one of each per line */
    bool two_way = n_series > 1 && n_other > 1;
    if (two_way)
        amx_buf_printf(&g, "# colour: the series value; dash pattern: the other sweep values\n");
    for (size_t p = 0; p < np && !g.failed; p++) {
        size_t c = two_way ? scls[p] : p;
        size_t k = two_way ? ocls[p] : p;
        amx_buf_printf(&g, "set linetype %zu lc rgb '%s' lw 2.2 dt %s pt %zu\n", p + 1,
                       colours[c % N_COLOURS], dashes[k % N_DASHES], (p % 13) + 1);
    }
    free(scls);
    free(ocls);

    int width = 800;
    if (key_outside) width = 800 + 9 * (int)longest;
    /* A long title gets a smaller font rather than being cut at the edges:
     * DejaVu Sans averages about 0.6 em per character, and pngcairo draws a
     * point as 4/3 pixels (SVG: 1), so n characters at size f take about
     * 0.8 f n pixels in the PNG (0.6 f n in the SVG); keep that within 92%
     * of the width. */
    size_t chars = 0;
    for (const char *c = title; *c; c++)
        chars += ((unsigned char)*c & 0xC0) != 0x80; /* UTF-8: count the first bytes */
    double room = 0.92 * width;
    int png_title = 16, svg_title = 20;
    if (chars > 0 && 0.8 * png_title * (double)chars > room)
        png_title = (int)(room / (0.8 * (double)chars));
    if (chars > 0 && 0.6 * svg_title * (double)chars > room)
        svg_title = (int)(room / (0.6 * (double)chars));
    if (png_title < 8) png_title = 8;
    if (svg_title < 10) svg_title = 10;
    amx_buf_printf(&g,
                   "\ndo for [fmt in formats] {\n"
                   "    if (fmt eq 'svg') {\n"
                   "        set terminal svg size %d,500 dynamic noenhanced font 'DejaVu "
                   "Sans,15' background rgb 'white'\n"
                   "        set title font ',%d'\n"
                   "        set output svg_out\n"
                   "    } else {\n"
                   "        set terminal pngcairo size %d,500 noenhanced font 'DejaVu "
                   "Sans,12' background rgb 'white'\n"
                   "        set title font ',%d'\n"
                   "        set output png_out\n"
                   "    }\n",
                   width, svg_title, width, png_title);
    if (np == 0) {
        amx_buf_printf(&g, "    # no complete run yet: an empty frame\n"
                           "    set label 1 'no complete run yet' at graph 0.5, graph 0.5 "
                           "center\n"
                           "    plot [0:1] [0:1] NaN notitle\n");
    } else {
        amx_buf_printf(&g, "    plot \\\n");
        bool first = true;
        for (size_t p = 0; p < np; p++) {
            /* no band for one repeat, nor for a point with a diverged repeat:
             * its spread is that of the divergence, not of the seeds */
            if (ctx->points[p].n_runs < 2 || ctx->points[p].n_diverged || !finite[p]) continue;
            amx_buf_printf(&g,
                           "%s        data index %zu using %d:($2-$3):($2+$3) with "
                           "filledcurves lt %zu notitle",
                           first ? "" : ", \\\n", p, by_seconds ? 5 : 1, p + 1);
            first = false;
        }
        for (size_t p = 0; p < np; p++) {
            const struct rpt_point *pt = &ctx->points[p];
            char name[AMX_TEXT_MAX * 4];
            key_name(pt, name, sizeof name);
            /* a line without one finite value: its key entry only (NaN draws
             * nothing; `data index` would make gnuplot fail when no line has
             * a point) */
            if (finite[p])
                amx_buf_printf(&g, "%s        data index %zu using %d:2 with lines lt %zu title ",
                               first ? "" : ", \\\n", p, by_seconds ? 5 : 1, p + 1);
            else
                amx_buf_printf(&g, "%s        NaN with lines lt %zu title ", first ? "" : ", \\\n",
                               p + 1);
            gp_quote(&g, name);
            first = false;
        }
        amx_buf_printf(&g, "\n");
    }
    amx_buf_printf(&g, "    unset output\n}\n");
    free(finite);

    if (!rpt_path(ctx, path, sizeof path, "figure.gp"))
        return amx_fail(err, AMX_ERR_IO, in->results_dir, 0, 0, "path too long");
    if (g.failed) {
        amx_buf_free(&g);
        return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    st = amx_write_file_atomic(path, g.data, g.len, err);
    amx_buf_free(&g);
    return st;
}

/* ---- rendering ---- */

/* The first gnuplot on PATH (absolute folders only: the child changes
 * folder before exec). false when there is none. */
static bool find_gnuplot(char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && p[0] == '/') {
            int n = snprintf(buf, size, "%.*s/gnuplot", (int)len, p);
            struct stat st;
            if (n > 0 && (size_t)n < size && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
                access(buf, X_OK) == 0)
                return true;
        }
        if (!colon) break;
        p = colon + 1;
    }
    return false;
}

static bool nonempty_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Runs gnuplot on figure.gp in dir, which writes the temporaries svg_path
 * and png_path (its log goes to log_path), and renames the three to their
 * final names. Every temporary is gone when it returns. */
static enum amx_status run_gnuplot(struct rpt_ctx *ctx, const char *gp, char *const argv[],
                                   const char *svg_path, const char *png_path, const char *log_path,
                                   const char *svg_final, const char *png_final,
                                   const char *log_final, struct amx_error *err)
{
    const char *dir = ctx->in->results_dir;
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (logfd < 0)
        return amx_fail(err, AMX_ERR_IO, log_final, 0, 0, "cannot write: %s", strerror(errno));
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        int e = errno;
        close(logfd);
        unlink(log_path);
        return amx_fail(err, AMX_ERR_IO, "/dev/null", 0, 0, "cannot open: %s", strerror(e));
    }
    pid_t child = fork();
    if (child == 0) {
        /* only async-signal-safe calls until exec */
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) _exit(126);
        if (chdir(dir) != 0) _exit(126);
        execv(gp, argv);
        _exit(127);
    }
    int fork_errno = errno;
    close(nullfd);
    close(logfd);
    if (child < 0) {
        unlink(log_path);
        return amx_fail(err, AMX_ERR_RUN, gp, 0, 0, "cannot start gnuplot: %s",
                        strerror(fork_errno));
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            int e = errno;
            unlink(svg_path);
            unlink(png_path);
            unlink(log_path);
            return amx_fail(err, AMX_ERR_RUN, gp, 0, 0, "waiting for gnuplot: %s", strerror(e));
        }
    }
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && nonempty_file(svg_path) &&
              nonempty_file(png_path);
    if (rename(log_path, log_final) != 0) unlink(log_path);
    if (!ok) {
        unlink(svg_path);
        unlink(png_path);
        if (WIFEXITED(status))
            rpt_warn(ctx, "gnuplot failed (exit status %d): the figure was not rendered; see %s",
                     WEXITSTATUS(status), log_final);
        else
            rpt_warn(ctx, "gnuplot was killed (signal %d): the figure was not rendered",
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return AMX_OK;
    }
    if (rename(svg_path, svg_final) != 0) {
        int e = errno;
        unlink(svg_path);
        unlink(png_path);
        return amx_fail(err, AMX_ERR_IO, svg_final, 0, 0, "rename failed: %s", strerror(e));
    }
    if (rename(png_path, png_final) != 0) {
        int e = errno;
        unlink(png_path);
        return amx_fail(err, AMX_ERR_IO, png_final, 0, 0, "rename failed: %s", strerror(e));
    }
    ctx->res->rendered = true;
    return AMX_OK;
}

enum amx_status rpt_render_figure(struct rpt_ctx *ctx, struct amx_error *err)
{
    return rpt_render_named(ctx, "figure", err);
}

enum amx_status rpt_render_named(struct rpt_ctx *ctx, const char *stem, struct amx_error *err)
{
    const char *dir = ctx->in->results_dir;
    char gp[4096];
    if (!find_gnuplot(gp, sizeof gp)) {
        rpt_warn(ctx, "gnuplot not found: install gnuplot-nox and run `gnuplot %s.gp` in %s", stem,
                 dir);
        return AMX_OK;
    }
    char name_svg[64], name_png[64], name_log[64], name_gp[64];
    snprintf(name_svg, sizeof name_svg, "%s.svg", stem);
    snprintf(name_png, sizeof name_png, "%s.png", stem);
    snprintf(name_log, sizeof name_log, "%s.log", stem);
    snprintf(name_gp, sizeof name_gp, "%s.gp", stem);
    /* temporary names that amx_remove_temp_files recognises */
    char svg_tmp[160], png_tmp[160], log_tmp[160];
    amx_temp_name(svg_tmp, sizeof svg_tmp, name_svg);
    amx_temp_name(png_tmp, sizeof png_tmp, name_png);
    amx_temp_name(log_tmp, sizeof log_tmp, name_log);
    char svg_path[AMX_PATH_MAX + 64], png_path[AMX_PATH_MAX + 64], log_path[AMX_PATH_MAX + 64];
    char svg_final[AMX_PATH_MAX + 64], png_final[AMX_PATH_MAX + 64], log_final[AMX_PATH_MAX + 64];
    if (!rpt_path(ctx, svg_path, sizeof svg_path, svg_tmp) ||
        !rpt_path(ctx, png_path, sizeof png_path, png_tmp) ||
        !rpt_path(ctx, log_path, sizeof log_path, log_tmp) ||
        !rpt_path(ctx, svg_final, sizeof svg_final, name_svg) ||
        !rpt_path(ctx, png_final, sizeof png_final, name_png) ||
        !rpt_path(ctx, log_final, sizeof log_final, name_log))
        return amx_fail(err, AMX_ERR_IO, dir, 0, 0, "path too long");
    /* The temporary names hold only letters, digits, '.', '-' and '_': safe
     * inside single quotes in -e. */
    char setvars[512];
    snprintf(setvars, sizeof setvars, "svg_out='%s'; png_out='%s'", svg_tmp, png_tmp);
    char *const argv[] = {gp, "-e", setvars, name_gp, NULL};

    /* tracked: a Ctrl-C while gnuplot draws removes them (the group's
     * signal stops gnuplot too) */
    int slots[3] = {amx_temp_track(svg_path), amx_temp_track(png_path), amx_temp_track(log_path)};
    enum amx_status st = run_gnuplot(ctx, gp, argv, svg_path, png_path, log_path, svg_final,
                                     png_final, log_final, err);
    for (int i = 0; i < 3; i++)
        amx_temp_untrack(slots[i]);
    return st;
}
