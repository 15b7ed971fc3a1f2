/* report.html: one self-contained page of the results folder, for a browser:
 * the figure (figure.svg inlined), the paper tables (the same table model as
 * report.md), the manifest in readable form, one row per run with its status
 * and a link to its folder, the pictures of each point's first repeat
 * (gallery.png, filters.png in its run folder), and the experiment text. No script, no network:
 * the styles are inline and every resource is in the page or in the folder.
 *
 * Every text that comes from the experiment or from a file of the folder
 * (names, labels, descriptions, the manifest, the YAML) is HTML-escaped
 * (& < > " ' as entities). The SVG comes from gnuplot, which writes labels
 * as escaped XML text; before it is inlined the XML declaration and DOCTYPE
 * are cut, and a file that does not start its root element with "<svg" is
 * not inlined (the page links to it instead). Written with the other files
 * (amx_write_file_atomic) after the figure is rendered. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void esc(struct amx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        switch (*p) {
        case '&':
            amx_buf_printf(b, "&amp;");
            break;
        case '<':
            amx_buf_printf(b, "&lt;");
            break;
        case '>':
            amx_buf_printf(b, "&gt;");
            break;
        case '"':
            amx_buf_printf(b, "&quot;");
            break;
        case '\'':
            amx_buf_printf(b, "&#39;");
            break;
        default:
            if (*p < 0x20 && *p != '\n' && *p != '\t')
                amx_buf_printf(b, " ");
            else
                amx_buf_append(b, (const char *)p, 1);
        }
    }
}

/* A file of the results folder, or NULL. */
static char *read_rel(const struct rpt_ctx *ctx, const char *rel, size_t *len)
{
    char path[AMX_PATH_MAX + 64];
    struct amx_error e;
    char *data = NULL;
    if (!rpt_path(ctx, path, sizeof path, rel)) return NULL;
    if (amx_read_file(path, &data, len, &e) != AMX_OK) return NULL;
    return data;
}

static void figure(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    size_t len = 0;
    /* only the figure this report just rendered: an older one may show other runs */
    char *svg = ctx->res->rendered ? read_rel(ctx, "figure.svg", &len) : NULL;
    const char *root = svg ? strstr(svg, "<svg") : NULL;
    amx_buf_printf(b, "<section id=\"figure\"><h2>Figure</h2>\n");
    if (root && !strstr(root, "<script") && !strstr(root, "<foreignObject")) {
        amx_buf_printf(b, "<div class=\"figure\">\n");
        amx_buf_append(b, root, strlen(root));
        amx_buf_printf(b, "\n</div>\n");
    } else if (svg) {
        amx_buf_printf(b, "<p>The figure is <a href=\"figure.svg\">figure.svg</a> "
                          "(not inlined: not a plain SVG document).</p>\n");
    } else {
        amx_buf_printf(b, "<p>The figure was not rendered (is gnuplot installed?): "
                          "<code>gnuplot figure.gp</code> in this folder draws it.</p>\n");
    }
    amx_buf_printf(b, "</section>\n");
    free(svg);
}

/* esc, with `code` spans (Markdown's, as report.md writes them) as <code>. */
static void esc_code(struct amx_buf *b, const char *s)
{
    bool open = false;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "`");
        char *part = strndup(p, n);
        if (part) esc(b, part);
        free(part);
        p += n;
        if (*p == '`') {
            amx_buf_printf(b, open ? "</code>" : "<code>");
            open = !open;
            p++;
        }
    }
    if (open) amx_buf_printf(b, "</code>");
}

/* A table's verdict lines as a list. */
static void outro_list(const char *outro, struct amx_buf *b)
{
    if (!outro || !outro[0]) return;
    amx_buf_printf(b, "\n<ul class=\"verdicts\">\n");
    for (const char *l = outro; *l;) {
        size_t n = strcspn(l, "\n");
        char *line = strndup(l, n);
        amx_buf_printf(b, "<li>");
        if (line) esc(b, line);
        free(line);
        amx_buf_printf(b, "</li>\n");
        l += n + (l[n] == '\n');
    }
    amx_buf_printf(b, "</ul>\n");
}

static void tables(const struct rpt_table *t, size_t n, struct amx_buf *b)
{
    for (size_t k = 0; k < n; k++) {
        amx_buf_printf(b, "<section class=\"table\" id=\"table-%zu\"><h2>", k + 1);
        esc(b, t[k].title);
        amx_buf_printf(b, "</h2>\n<p>");
        esc(b, t[k].intro);
        amx_buf_printf(b, "</p>\n<table>\n<thead><tr>");
        for (size_t j = 0; j < t[k].n_cols; j++) {
            amx_buf_printf(b, "<th>");
            esc(b, t[k].head[j]);
            amx_buf_printf(b, "</th>");
        }
        amx_buf_printf(b, "</tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < t[k].n_rows; i++) {
            amx_buf_printf(b, "<tr>");
            for (size_t j = 0; j < t[k].n_cols; j++) {
                amx_buf_printf(b, "<td%s>", t[k].align[j] == 'r' ? " class=\"num\"" : "");
                esc(b, t[k].cells[i * t[k].n_cols + j]);
                amx_buf_printf(b, "</td>");
            }
            amx_buf_printf(b, "</tr>\n");
        }
        amx_buf_printf(b, "</tbody>\n</table>");
        outro_list(t[k].outro, b);
        amx_buf_printf(b, "</section>\n");
    }
}

/* A classifier's misclassified.csv (index,label,predicted per line, as
 * src/run/model_classifier.c writes it) as "index: label -> predicted"
 * items; a file that does not read so is named as unreadable, never
 * half-shown. */
static void misclassified_list(const struct rpt_ctx *ctx, const char *rel, struct amx_buf *b)
{
    char path[AMX_PATH_MAX + 300];
    char *data = NULL;
    size_t len = 0;
    struct amx_error e;
    if (!rpt_path(ctx, path, sizeof path, rel) || amx_read_file(path, &data, &len, &e) != AMX_OK)
        return;
    struct amx_buf items = {0};
    bool ok = len > 0 && strncmp(data, "index,label,predicted\n", 22) == 0 && data[len - 1] == '\n';
    for (char *line = ok ? strchr(data, '\n') + 1 : NULL; ok && *line;) {
        char *end = strchr(line, '\n');
        unsigned long i, t, pr;
        int used = 0;
        *end = '\0';
        ok = sscanf(line, "%lu,%lu,%lu%n", &i, &t, &pr, &used) == 3 && line[used] == '\0' &&
             t < 256 && pr < 256 && t != pr;
        if (ok) amx_buf_printf(&items, "<li>image %lu: %lu &rarr; %lu</li>", i, t, pr);
        line = end + 1;
    }
    if (ok && !items.failed)
        amx_buf_printf(b, "<ol class=\"misclassified\">%s</ol>\n", items.data ? items.data : "");
    else
        amx_buf_printf(b, "<p>%s: unreadable (not the list this program writes)</p>\n", rel);
    amx_buf_free(&items);
    free(data);
}

/* The pictures each point's first repeat draws into its run folder
 * (src/run/pictures.c): an autoencoder's gallery.png and filters.png, a
 * classifier's filters.png, confusion.png and misclassified.png (with the
 * misclassified images' true and predicted classes); the page shows those
 * that are there. */
struct picture {
    const char *file, *alt, *caption;
};

static const struct picture ae_pictures[] = {
    {"gallery.png", "reconstructions", "test images and reconstructions"},
    {"filters.png", "filters", "first-layer filters"},
};
static const struct picture cls_pictures[] = {
    {"filters.png", "filters", "first-layer filters"},
    {"confusion.png", "confusion matrix",
     "confusion matrix of the test set (rows: true class, "
     "columns: predicted; black: every image of the row)"},
    {"misclassified.png", "misclassified test images",
     "the first misclassified test images, in test-set order (listed: true &rarr; predicted)"},
};

static void pictures(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    const bool cls = ctx->in->task == AMX_TASK_CLASSIFIER;
    const struct picture *pics = cls ? cls_pictures : ae_pictures;
    const size_t n_pics = cls ? 3 : 2;
    bool any = false;
    for (size_t p = 0; p < ctx->n_points; p++) {
        const struct rpt_point *pt = &ctx->points[p];
        const struct rpt_run *first = NULL;
        for (size_t k = 0; k < pt->n_runs && !first; k++)
            if (ctx->runs[pt->runs[k]].repeat == 0) first = &ctx->runs[pt->runs[k]];
        if (!first) continue;
        for (size_t f = 0; f < n_pics; f++) {
            char rel[256], path[AMX_PATH_MAX + 300];
            snprintf(rel, sizeof rel, "runs/%s/%s", first->id, pics[f].file);
            if (!rpt_path(ctx, path, sizeof path, rel) || !amx_file_exists(path)) continue;
            if (!any && cls)
                amx_buf_printf(b, "<section id=\"pictures\"><h2>Filters and errors</h2>\n"
                                  "<p>Per sweep point, its first repeat after the last epoch: "
                                  "the first layer's weights, one tile per hidden unit (grey 0, "
                                  "white positive, black negative, each tile to its own scale); "
                                  "the test set's confusion matrix; the first misclassified test "
                                  "images.</p>\n");
            else if (!any)
                amx_buf_printf(b, "<section id=\"pictures\"><h2>Reconstructions and filters</h2>\n"
                                  "<p>Per sweep point, its first repeat: the first 16 test images "
                                  "(top), their reconstructions before fine-tuning (middle) and "
                                  "after the last epoch (bottom); and the first layer's weights, "
                                  "one tile per hidden unit (grey 0, white positive, black "
                                  "negative, each tile to its own scale).</p>\n");
            any = true;
            amx_buf_printf(b, "<figure><img src=\"%s\" alt=\"%s of ", rel, pics[f].alt);
            esc(b, pt->label);
            amx_buf_printf(b, "\"><figcaption>");
            esc(b, pt->label);
            amx_buf_printf(b, ": %s</figcaption></figure>\n", pics[f].caption);
            if (cls && !strcmp(pics[f].file, "misclassified.png")) {
                snprintf(rel, sizeof rel, "runs/%s/misclassified.csv", first->id);
                misclassified_list(ctx, rel, b);
            }
        }
    }
    if (any) amx_buf_printf(b, "</section>\n");
}

static void kv(struct amx_buf *b, const char *key, const char *value)
{
    amx_buf_printf(b, "<tr><th>");
    esc(b, key);
    amx_buf_printf(b, "</th><td>");
    esc(b, value ? value : "(not recorded)");
    amx_buf_printf(b, "</td></tr>\n");
}

/* manifest.json is a file we wrote, but files are untrusted: every read is
 * type-checked and a missing value says so. */
static void manifest(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    size_t len = 0;
    char *text = read_rel(ctx, "manifest.json", &len);
    json_error_t je;
    json_t *m = text ? json_loadb(text, len, 0, &je) : NULL;
    free(text);
    amx_buf_printf(b, "<section id=\"manifest\"><h2>Manifest</h2>\n");
    if (!json_is_object(m)) {
        amx_buf_printf(b, "<p>No readable manifest.json in this folder.</p></section>\n");
        json_decref(m);
        return;
    }
    amx_buf_printf(b, "<table class=\"kv\">\n");
    char commit[160];
    const char *c = json_string_value(json_object_get(m, "git_commit"));
    snprintf(commit, sizeof commit, "%s%s", c ? c : "(not recorded)",
             json_is_true(json_object_get(m, "git_dirty")) ? " (with uncommitted changes)" : "");
    kv(b, "program", json_string_value(json_object_get(m, "version")));
    kv(b, "commit", commit);
    kv(b, "compiler", json_string_value(json_object_get(m, "compiler")));
    kv(b, "BLAS", json_string_value(json_object_get(m, "blas")));
    kv(b, "BLAS kernel", json_string_value(json_object_get(m, "blas_core")));
    kv(b, "host", json_string_value(json_object_get(m, "host")));
    kv(b, "CPU", json_string_value(json_object_get(m, "cpu")));
    kv(b, "started", json_string_value(json_object_get(m, "started")));
    kv(b, "ended", json_string_value(json_object_get(m, "ended")));
    json_t *cl = json_object_get(m, "command_line");
    struct amx_buf line = {0};
    for (size_t i = 0; json_is_array(cl) && i < json_array_size(cl); i++) {
        const char *w = json_string_value(json_array_get(cl, i));
        amx_buf_printf(&line, "%s%s", i ? " " : "", w ? w : "?");
    }
    kv(b, "command line", line.data ? line.data : NULL);
    amx_buf_free(&line);
    json_t *data = json_object_get(m, "data_sha256");
    const char *file;
    json_t *v;
    json_object_foreach(data, file, v)
    {
        char key[AMX_PATH_MAX + 16];
        snprintf(key, sizeof key, "SHA-256 of %s", file);
        kv(b, key, json_string_value(v));
    }
    amx_buf_printf(b, "</table></section>\n");
    json_decref(m);
}

static void runs(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    const struct amx_report_input *in = ctx->in;
    amx_buf_printf(b, "<section id=\"runs\"><h2>Runs</h2>\n<table>\n<thead><tr><th>run</th>");
    for (size_t a = 0; a < in->n_axes; a++) {
        amx_buf_printf(b, "<th>");
        esc(b, in->axes[a]);
        amx_buf_printf(b, "</th>");
    }
    amx_buf_printf(b, "<th>repeat</th><th>status</th><th>final %s</th></tr></thead>\n<tbody>\n",
                   ctx->metric);
    for (size_t i = 0; i < in->n_runs; i++) {
        const struct rpt_run *r = &ctx->runs[i];
        amx_buf_printf(b, "<tr><td><a href=\"runs/");
        esc(b, r->id);
        amx_buf_printf(b, "/\"><code>");
        esc(b, r->id);
        amx_buf_printf(b, "</code></a></td>");
        for (size_t a = 0; a < in->n_axes; a++) {
            amx_buf_printf(b, "<td>");
            esc(b, r->complete && r->labels && r->labels[a] ? r->labels[a] : "");
            amx_buf_printf(b, "</td>");
        }
        if (!r->complete) {
            amx_buf_printf(b, "<td></td><td class=\"missing\">missing</td><td></td></tr>\n");
            continue;
        }
        char num[32] = "";
        if (!isnan(r->m_final)) rpt_fmt_num(num, r->m_final);
        amx_buf_printf(
            b, "<td class=\"num\">%ld</td><td class=\"%s\">%s</td><td class=\"num\">%s</td></tr>\n",
            r->repeat, r->diverged ? "diverged" : "ok", r->diverged ? "diverged" : "ok", num);
    }
    amx_buf_printf(b, "</tbody>\n</table></section>\n");
}

static void experiment_text(const struct rpt_ctx *ctx, struct amx_buf *b)
{
    size_t len = 0;
    char *text = read_rel(ctx, "experiment.yaml", &len);
    amx_buf_printf(b, "<section id=\"experiment\"><h2>Experiment</h2>\n");
    if (text) {
        amx_buf_printf(b, "<pre>");
        esc(b, text);
        amx_buf_printf(b, "</pre>\n");
    } else {
        amx_buf_printf(b, "<p>No experiment.yaml in this folder.</p>\n");
    }
    amx_buf_printf(b, "</section>\n");
    free(text);
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:78em;padding:0 1em;"
    "color:#222}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{border-bottom:1px solid #ddd;"
    "padding:.25em .6em;text-align:left;vertical-align:top}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}table.kv th{font-weight:normal;color:#555}"
    "td.diverged{color:#b35c00}td.missing{color:#b00}pre{background:#f6f6f6;padding:1em;"
    "overflow:auto}div.figure svg{max-width:100%;height:auto}code{font-size:.95em}"
    "figure{margin:1em 0}figure img{max-width:100%;image-rendering:pixelated}"
    "figcaption{color:#555;font-size:.9em}";

enum amx_status rpt_write_report_html(struct rpt_ctx *ctx, struct amx_error *err)
{
    const struct amx_report_input *in = ctx->in;
    struct rpt_table t[RPT_MAX_TABLES];
    size_t n = 0;
    enum amx_status st = rpt_paper_tables(ctx, t, &n, err);
    if (st != AMX_OK) return st;
    const char *title = in->report->title[0] ? in->report->title : in->experiment_name;
    struct amx_buf b = {0};
    amx_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"generator\" content=\"adamix-run\">\n<title>");
    esc(&b, title);
    amx_buf_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
    esc(&b, title);
    amx_buf_printf(&b, "</h1>\n");
    if (in->description && in->description[0]) {
        amx_buf_printf(&b, "<p class=\"description\">");
        esc(&b, in->description);
        amx_buf_printf(&b, "</p>\n");
    }
    struct amx_buf ov = {0};
    rpt_overrides_note(ctx, &ov);
    if (ov.len) {
        amx_buf_printf(&b, "<p class=\"overrides\"><strong>");
        esc_code(&b, ov.data);
        amx_buf_printf(&b, "</strong></p>\n");
    }
    amx_buf_free(&ov);
    struct amx_buf pre = {0};
    rpt_report_preamble(ctx, &pre);
    amx_buf_printf(&b, "<p>");
    esc(&b, pre.data ? pre.data : "");
    amx_buf_printf(
        &b, " Files: <a href=\"report.md\">report.md</a>, "
            "<a href=\"report.json\">report.json</a>, <a href=\"summary.csv\">summary.csv</a>, "
            "<a href=\"curves.csv\">curves.csv</a>.</p>\n");
    amx_buf_free(&pre);
    figure(ctx, &b);
    tables(t, n, &b);
    rpt_tables_free(t, n);
    pictures(ctx, &b);
    manifest(ctx, &b);
    runs(ctx, &b);
    experiment_text(ctx, &b);
    amx_buf_printf(&b, "</body>\n</html>\n");
    return rpt_write_buf(ctx, "report.html", &b, err);
}
