/* Unit tests of src/report: a hand-written results folder (three sweep
 * points of two axes, repeats, a diverged run, a run with a truncated
 * summary.json, a listed run never started and a folder of a run not in the
 * list) is reported, and the files are checked against values written out
 * or computed by hand here: summary.csv byte for byte, curves.csv rows,
 * report.json means and sample standard deviations, the ranking, the figure
 * script and the rendered images, determinism, and the error and warning
 * paths (no gnuplot on PATH, unwritable files, malformed curves). */
#define _POSIX_C_SOURCE 200809L
#include "adamix/fsutil.h"
#include "adamix/report.h"
#include "private.h" /* the statistics */
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the fixture ---- */

#define ID_A0 "f1a0000000000000" /* AdaMix, [784, 30], repeat 0 */
#define ID_A1 "0a10000000000000" /* AdaMix, [784, 30], repeat 1 */
#define ID_B0 "b000000000000000" /* AdaGrad, [784, 30], repeat 0 */
#define ID_B1 "b100000000000000" /* AdaGrad, [784, 30], repeat 1 */
#define ID_C0 "c000000000000000" /* AdaMix, [784, 60], repeat 0: diverged */
#define ID_C1 "c100000000000000" /* AdaMix, [784, 60], repeat 1: truncated summary.json */
#define ID_C2 "c200000000000000" /* AdaMix, [784, 60], repeat 2 */
#define ID_D0 "d000000000000000" /* listed, never started: no folder */
#define ID_E0 "eeee000000000000" /* a folder not in the list */

static const char *const run_ids[] = {ID_A0, ID_A1, ID_B0, ID_B1, ID_C0, ID_C1, ID_C2, ID_D0};
#define N_RUNS (sizeof run_ids / sizeof *run_ids)
static const char *const axes[] = {"finetune.rules", "network.layers"};

#define HDR_MIX                                                                                    \
    "epoch,train_error,validation_error,test_error,seconds,rate_mean.weights,rate_min.weights,"    \
    "rate_max.weights,rate_mean.biases,rate_min.biases,rate_max.biases\n"
#define HDR_ALL                                                                                    \
    "epoch,train_error,validation_error,test_error,seconds,rate_mean.all,rate_min.all,rate_max."   \
    "all\n"

struct fixture_run {
    const char *id, *rules, *layers;
    int repeat;
    const char *status, *final, *best, *best_epoch, *seconds;
    const char *curve;
};

static const struct fixture_run fixture[] = {
    {ID_C2, "AdaMix", "[784, 60]", 2, "ok", "3", "3", "3", "9",
     HDR_MIX "0,28,29,30,5,,,,,,\n"
             "1,8,9,10,1,0.01,0.005,0.02,0.01,0.01,0.01\n"
             "2,4,5,6,1,0.009,0.004,0.019,0.0095,0.0095,0.0095\n"
             "3,1,2,3,1,0.008,0.003,0.018,0.009,0.009,0.009\n"},
    {ID_A0, "AdaMix", "[784, 30]", 0, "ok", "14.0", "14", "3", "8",
     HDR_MIX "0,30,31,32,5,,,,,,\n"
             "1,20,21,22,1,0.01,0.005,0.02,0.01,0.01,0.01\n"
             "2,15,16,17,1,0.009,0.004,0.019,0.0095,0.0095,0.0095\n"
             "3,12,13,14,1,0.008,0.003,0.018,0.009,0.009,0.009\n"},
    {ID_E0, "AdaGrad", "[784, 30]", 2, "ok", "1", "1", "3", "1",
     HDR_ALL "0,1,1,1,1,,,\n1,1,1,1,1,1,1,1\n"},
    {ID_A1, "AdaMix", "[784, 30]", 1, "ok", "15", "15", "3", "8.5",
     HDR_MIX "0,29,30,34,5,0,0,0,0,0,0\n"
             "1,19,20,24,1,0.01,0.005,0.02,0.01,0.01,0.01\n"
             "2,14,15,18,1,0.009,0.004,0.019,0.0095,0.0095,0.0095\n"
             "3,11,12,15,1,0.008,0.003,0.018,0.009,0.009,0.009\n"},
    {ID_B1, "AdaGrad", "[784, 30]", 1, "ok", "12.5", "12.5", "3", "7.25",
     HDR_ALL "0,29,30,34,5,,,\n"
             "1,17,18,21,1,0.02,0.001,0.05\n"
             "2,12,13,13,1,0.015,0.001,0.04\n"
             "3,10.5,11.5,12.5,1,0.012,0.001,0.03\n"},
    {ID_B0, "AdaGrad", "[784, 30]", 0, "ok", "11.5", "11.5", "3", "7",
     HDR_ALL "0,30,31,32,5,,,\n"
             "1,18,19,20,1,0.02,0.001,0.05\n"
             "2,13,14,12,1,0.015,0.001,0.04\n"
             "3,10,11,11.5,1,0.012,0.001,0.03\n"},
    {ID_C0, "AdaMix", "[784, 60]", 0, "diverged", "null", "32", "0", "6.5",
     HDR_MIX "0,30,31,32,5,,,,,,\n"
             "1,900,950,1000,1,1,1,1,1,1,1\n"
             "2,nan,nan,nan,1,inf,inf,inf,inf,inf,inf\n"},
};
#define N_FIXTURE (sizeof fixture / sizeof *fixture)

static void put(const char *dir, const char *rel, const char *text)
{
    char *path = tu_fmt("%s/%s", dir, rel);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    free(path);
}

static void make_run_dir(const char *dir, const char *id)
{
    char *p = tu_fmt("%s/runs", dir);
    mkdir(p, 0777);
    free(p);
    p = tu_fmt("%s/runs/%s", dir, id);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    free(p);
}

/* The run's config.yaml: a configuration of the given repeat (a folder
 * without config.yaml is damaged). These fixtures have no config_sha256, so
 * the verdict checks that it binds and is of summary.json's repeat. */
static void put_config(const char *dir, const char *id, int repeat)
{
    char *rel = tu_fmt("runs/%s/config.yaml", id);
    char *yaml = tu_fmt("name: exp\nrepeats: 3\nrepeat: %d\nnetwork: {layers: [784, 30]}\n"
                        "finetune: {rules: {all: {rule: constant, eta0: 0.01}}}\n",
                        repeat);
    put(dir, rel, yaml);
    free(yaml);
    free(rel);
}

/* The epochs a curve text covers: its rows after the header, less epoch 0
 * (summary.json's "epochs" must agree). */
static int curve_epochs(const char *curve)
{
    int lines = 0;
    for (const char *p = curve; *p; p++)
        lines += *p == '\n';
    return lines - 2;
}

/* The run files of the fixture, created in the given order (forward or
 * backward), so two folders differ in the order the file system lists them. */
static char *make_fixture(bool backward)
{
    char *dir = tu_tmpdir("report");
    ck_assert_ptr_nonnull(dir);
    for (size_t k = 0; k < N_FIXTURE; k++) {
        const struct fixture_run *f = &fixture[backward ? N_FIXTURE - 1 - k : k];
        make_run_dir(dir, f->id);
        put_config(dir, f->id, f->repeat);
        char *rel = tu_fmt("runs/%s/curve.csv", f->id);
        put(dir, rel, f->curve);
        free(rel);
        char *json =
            tu_fmt("{\n  \"run_id\": \"%s\",\n  \"name\": \"exp\",\n  \"status\": \"%s\",\n"
                   "  \"sweep\": {\"finetune.rules\": \"%s\", \"network.layers\": \"%s\"},\n"
                   "  \"repeat\": %d,\n  \"seed\": 2016,\n  \"epochs\": %d,\n"
                   "  \"final_test_error\": %s,\n  \"best_test_error\": %s,\n"
                   "  \"best_epoch\": %s,\n  \"seconds\": %s,\n"
                   "  \"pretrain_seconds\": 1.0,\n  \"finetune_seconds\": 2.0\n}\n",
                   f->id, f->status, f->rules, f->layers, f->repeat, curve_epochs(f->curve),
                   f->final, f->best, f->best_epoch, f->seconds);
        rel = tu_fmt("runs/%s/summary.json", f->id);
        put(dir, rel, json);
        free(rel);
        free(json);
        if (k == 2) {
            /* the run killed while writing (by hand: the run module renames
             * into place, but a damaged folder must not stop the report) */
            make_run_dir(dir, ID_C1);
            put(dir, "runs/" ID_C1 "/curve.csv", HDR_MIX "0,30,31,32,5,,,,,,\n");
            put(dir, "runs/" ID_C1 "/summary.json", "{\"run_id\": \"" ID_C1 "\", \"status\": ");
        }
    }
    return dir;
}

static struct amx_report_config report_config(const char *title)
{
    struct amx_report_config rc;
    memset(&rc, 0, sizeof rc);
    rc.metric = AMX_METRIC_TEST_ERROR;
    snprintf(rc.series, sizeof rc.series, "finetune.rules");
    snprintf(rc.title, sizeof rc.title, "%s", title);
    rc.log_y = false;
    return rc;
}

static enum amx_status build(const char *dir, const struct amx_report_config *rc, bool render,
                             struct amx_report_result *res, struct amx_error *err)
{
    struct amx_report_input in = {
        dir, rc, "exp", 2, axes, N_RUNS, run_ids, render, 0, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    memset(err, 0, sizeof *err);
    return amx_report_build(&in, res, err);
}

static char *slurp(const char *dir, const char *name)
{
    char *p = tu_fmt("%s/%s", dir, name);
    char *t = tu_read_file(p, NULL);
    free(p);
    return t;
}

static bool exists(const char *dir, const char *name)
{
    char *p = tu_fmt("%s/%s", dir, name);
    struct stat st;
    bool e = stat(p, &st) == 0;
    free(p);
    return e;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static bool no_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    bool clean = true;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp")) clean = false;
    closedir(d);
    return clean;
}

/* Sample mean and standard deviation, written out here independently. */
static double mean_of(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

static double sd_of(const double *x, int n)
{
    if (n < 2) return 0.0;
    double m = mean_of(x, n), s = 0;
    for (int i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

static void assert_close(double got, double want)
{
    ck_assert_msg(fabs(got - want) <= 1e-9 * (1 + fabs(want)), "got %.17g, want %.17g", got, want);
}

/* ---- tests ---- */

START_TEST(test_counts_and_summary_csv)
{
    char *dir = make_fixture(false);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    ck_assert_uint_eq(res.n_listed, 8);
    ck_assert_uint_eq(res.n_complete, 6);
    ck_assert_uint_eq(res.n_missing, 2); /* the truncated summary and the run never started */
    ck_assert_uint_eq(res.n_diverged, 1);
    ck_assert_uint_eq(res.n_points, 3);
    ck_assert(!res.rendered);
    /* the truncated summary.json is named; the run never started is not */
    ck_assert_ptr_nonnull(strstr(res.warning, ID_C1 "/summary.json"));
    ck_assert_ptr_null(strstr(res.warning, ID_D0));
    char *csv = slurp(dir, "summary.csv");
    ck_assert_ptr_nonnull(csv);
    ck_assert_str_eq(csv, "run_id,finetune.rules,network.layers,repeat,status,final_test_error,"
                          "best_validation_epoch,best_test_error,oracle_test_error,oracle_epoch,"
                          "seconds\n"
                          "f1a0000000000000,AdaMix,\"[784, 30]\",0,ok,14,3,14,14,3,8\n"
                          "0a10000000000000,AdaMix,\"[784, 30]\",1,ok,15,3,15,15,3,8.5\n"
                          "b000000000000000,AdaGrad,\"[784, 30]\",0,ok,11.5,3,11.5,11.5,3,7\n"
                          "b100000000000000,AdaGrad,\"[784, 30]\",1,ok,12.5,3,12.5,12.5,3,7.25\n"
                          "c000000000000000,AdaMix,\"[784, 60]\",0,diverged,,0,32,32,0,6.5\n"
                          "c200000000000000,AdaMix,\"[784, 60]\",2,ok,3,3,3,3,3,9\n");
    ck_assert(no_temp_files(dir));
    free(csv);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_curves_csv)
{
    char *dir = make_fixture(false);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    char *csv = slurp(dir, "curves.csv");
    ck_assert_ptr_nonnull(csv);
    /* header + 4 + 4 + 4 + 4 + 3 (diverged at epoch 2) + 4 rows */
    ck_assert_uint_eq(count_lines(csv), 1 + 23);
    const char *hdr = "run_id,finetune.rules,network.layers,repeat,epoch,train_error,"
                      "validation_error,test_error,seconds,rate_mean.weights,rate_min.weights,"
                      "rate_max.weights,rate_mean.biases,rate_min.biases,rate_max.biases,"
                      "rate_mean.all,rate_min.all,rate_max.all\n";
    ck_assert_int_eq(strncmp(csv, hdr, strlen(hdr)), 0);
    /* first row: row 0 rates empty, the AdaGrad group absent */
    ck_assert_int_eq(strncmp(csv + strlen(hdr),
                             "f1a0000000000000,AdaMix,\"[784, 30]\",0,0,30,31,32,5,,,,,,,,,\n",
                             strlen("f1a0000000000000,AdaMix,\"[784, 30]\",0,0,30,31,32,5,,,,,,,,,"
                                    "\n")),
                     0);
    /* a run with only the "all" group */
    ck_assert_ptr_nonnull(strstr(
        csv, "\nb000000000000000,AdaGrad,\"[784, 30]\",0,1,18,19,20,1,,,,,,,0.02,0.001,0.05\n"));
    /* the diverged row keeps its nan and inf */
    ck_assert_ptr_nonnull(strstr(
        csv,
        "\nc000000000000000,AdaMix,\"[784, 60]\",0,2,nan,nan,nan,1,inf,inf,inf,inf,inf,inf,,,\n"));
    ck_assert_ptr_nonnull(strstr(
        csv, "\n0a10000000000000,AdaMix,\"[784, 30]\",1,3,11,12,15,1,0.008,0.003,0.018,0.009,0.009,"
             "0.009,,,\n"));
    /* neither the folder outside the list nor the incomplete run */
    ck_assert_ptr_null(strstr(csv, ID_E0));
    ck_assert_ptr_null(strstr(csv, ID_C1));
    free(csv);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static json_t *point_at(json_t *root, size_t i)
{
    json_t *pts = json_object_get(root, "points");
    ck_assert(json_is_array(pts));
    json_t *p = json_array_get(pts, i);
    ck_assert_ptr_nonnull(p);
    return p;
}

static json_t *epoch_stat(json_t *point, size_t e, const char *metric)
{
    json_t *ep = json_array_get(json_object_get(point, "epochs"), e);
    ck_assert_ptr_nonnull(ep);
    ck_assert_int_eq(json_integer_value(json_object_get(ep, "epoch")), (json_int_t)e);
    json_t *s = json_object_get(ep, metric);
    ck_assert(json_is_object(s));
    return s;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

START_TEST(test_report_json_statistics)
{
    char *dir = make_fixture(false);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    char *path = tu_fmt("%s/report.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s", jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(root, "metric")), "test_error");
    ck_assert_str_eq(json_string_value(json_object_get(root, "series")), "finetune.rules");
    ck_assert_str_eq(json_string_value(json_object_get(root, "title")), "Fig. 4");
    ck_assert_uint_eq(json_array_size(json_object_get(root, "points")), 3);

    /* point 0: AdaMix [784, 30], repeats a0 and a1 */
    json_t *p0 = point_at(root, 0);
    ck_assert_str_eq(json_string_value(json_object_get(p0, "label")),
                     "AdaMix, network.layers=[784, 30]");
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "repeats")), 2);
    double fin0[] = {14, 15};
    json_t *f0 = json_object_get(p0, "final_test_error");
    assert_close(num(f0, "mean"), mean_of(fin0, 2));
    assert_close(num(f0, "std"), sd_of(fin0, 2));
    double t0[] = {32, 34}, tr3[] = {12, 11}, v2[] = {16, 15};
    assert_close(num(epoch_stat(p0, 0, "test_error"), "mean"), mean_of(t0, 2));
    assert_close(num(epoch_stat(p0, 0, "test_error"), "std"), sd_of(t0, 2));
    assert_close(num(epoch_stat(p0, 3, "train_error"), "mean"), mean_of(tr3, 2));
    assert_close(num(epoch_stat(p0, 3, "train_error"), "std"), sd_of(tr3, 2));
    assert_close(num(epoch_stat(p0, 2, "validation_error"), "std"), sd_of(v2, 2));
    ck_assert_uint_eq(json_array_size(json_object_get(p0, "epochs")), 4);

    /* point 1: AdaGrad */
    json_t *p1 = point_at(root, 1);
    double fin1[] = {11.5, 12.5}, t2[] = {12, 13};
    assert_close(num(json_object_get(p1, "final_test_error"), "mean"), mean_of(fin1, 2));
    assert_close(num(epoch_stat(p1, 2, "test_error"), "mean"), mean_of(t2, 2));
    assert_close(num(epoch_stat(p1, 2, "test_error"), "std"), sd_of(t2, 2));

    /* point 2: AdaMix [784, 60]: c0 diverged (rows 0..2, nan at 2), c2 ok */
    json_t *p2 = point_at(root, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(p2, "repeats")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(p2, "diverged")), 1);
    double t1[] = {1000, 10};
    assert_close(num(epoch_stat(p2, 1, "test_error"), "mean"), mean_of(t1, 2));
    assert_close(num(epoch_stat(p2, 1, "test_error"), "std"), sd_of(t1, 2));
    /* epoch 2: both runs have the row, only c2's value is finite */
    json_t *e2 = json_array_get(json_object_get(p2, "epochs"), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(e2, "n")), 2);
    json_t *s2 = epoch_stat(p2, 2, "test_error");
    ck_assert_int_eq(json_integer_value(json_object_get(s2, "n")), 1);
    assert_close(num(s2, "mean"), 6);
    assert_close(num(s2, "std"), 0);
    /* epoch 3: only c2 has it */
    json_t *e3 = json_array_get(json_object_get(p2, "epochs"), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(e3, "n")), 1);
    /* final test error over the repeats that finished ok: c2 alone */
    json_t *f2 = json_object_get(p2, "final_test_error");
    assert_close(num(f2, "mean"), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(f2, "n")), 1);

    /* ranking: AdaGrad (12) before AdaMix (14.5); the point with a diverged
     * repeat last even though its mean (3) is the lowest */
    json_t *rank = json_object_get(root, "ranking");
    ck_assert_uint_eq(json_array_size(rank), 3);
    const char *want[] = {"AdaGrad, network.layers=[784, 30]", "AdaMix, network.layers=[784, 30]",
                          "AdaMix, network.layers=[784, 60]"};
    for (size_t k = 0; k < 3; k++) {
        json_t *r = json_array_get(rank, k);
        ck_assert_str_eq(json_string_value(json_object_get(r, "label")), want[k]);
        ck_assert_int_eq(json_integer_value(json_object_get(r, "rank")), (json_int_t)k + 1);
    }
    assert_close(num(json_object_get(json_array_get(rank, 0), "final_test_error"), "mean"),
                 mean_of(fin1, 2));
    json_t *runs = json_object_get(root, "runs");
    ck_assert_int_eq(json_integer_value(json_object_get(runs, "missing")), 2);
    json_decref(root);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_deterministic)
{
    char *d1 = make_fixture(false), *d2 = make_fixture(true);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(d1, &rc, false, &res, &err), AMX_OK);
    const char *files[] = {"summary.csv", "curves.csv", "report.json", "figure.dat", "figure.gp"};
    char *first[5];
    for (int i = 0; i < 5; i++)
        first[i] = slurp(d1, files[i]);
    ck_assert_int_eq(build(d1, &rc, false, &res, &err), AMX_OK); /* again, same folder */
    ck_assert_int_eq(build(d2, &rc, false, &res, &err), AMX_OK); /* files made in reverse */
    for (int i = 0; i < 5; i++) {
        ck_assert_ptr_nonnull(first[i]);
        char *again = slurp(d1, files[i]), *other = slurp(d2, files[i]);
        ck_assert_ptr_nonnull(again);
        ck_assert_ptr_nonnull(other);
        ck_assert_msg(strcmp(first[i], again) == 0, "%s differs on a second build", files[i]);
        ck_assert_msg(strcmp(first[i], other) == 0, "%s depends on file order", files[i]);
        free(again);
        free(other);
        free(first[i]);
    }
    tu_rmtree(d1);
    tu_rmtree(d2);
    free(d1);
    free(d2);
}
END_TEST

START_TEST(test_figure_script)
{
    char *dir = make_fixture(false);
    struct amx_report_config rc = report_config("Fig. 4 `touch pwned` it's");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    char *gp = slurp(dir, "figure.gp");
    ck_assert_ptr_nonnull(gp);
    ck_assert_ptr_nonnull(strstr(gp, "'AdaMix, network.layers=[784, 30]'"));
    ck_assert_ptr_nonnull(strstr(gp, "'AdaGrad, network.layers=[784, 30]'"));
    ck_assert_ptr_nonnull(strstr(gp, "'AdaMix, network.layers=[784, 60] (1 of 2 diverged)'"));
    /* the title as a single-quoted string, its quote doubled */
    ck_assert_ptr_nonnull(strstr(gp, "set title 'Fig. 4 `touch pwned` it''s'"));
    ck_assert_ptr_nonnull(strstr(gp, "fine-tuning epoch"));
    ck_assert_ptr_nonnull(strstr(gp, "test reconstruction error (squared error per image)"));
    /* bands for the two points of two ok repeats; none for the one with a diverged repeat */
    ck_assert_ptr_nonnull(strstr(gp, "index 0 using 1:($2-$3):($2+$3) with filledcurves"));
    ck_assert_ptr_nonnull(strstr(gp, "index 1 using 1:($2-$3):($2+$3) with filledcurves"));
    ck_assert_ptr_null(strstr(gp, "index 2 using 1:($2-$3)"));
    ck_assert_ptr_nonnull(strstr(gp, "set terminal svg"));
    ck_assert_ptr_nonnull(strstr(gp, "set terminal pngcairo"));
    ck_assert_ptr_null(strstr(gp, "logscale"));
    /* a short title keeps the full sizes (SVG 20, PNG 16) */
    ck_assert_ptr_nonnull(strstr(gp, "set title font ',20'"));
    ck_assert_ptr_nonnull(strstr(gp, "set title font ',16'"));
    /* the data: three blocks; AdaMix [784, 30] at epoch 0 is mean 33, sd sqrt(2) */
    char *dat = slurp(dir, "figure.dat");
    ck_assert_ptr_nonnull(dat);
    ck_assert_ptr_nonnull(strstr(dat, "\n0 33 1.414213562 2\n"));
    ck_assert_ptr_nonnull(strstr(dat, "# index 2: "));
    ck_assert_ptr_null(strstr(dat, "# index 3: "));
    free(gp);
    free(dat);
    /* a title too long for 800 pixels at those sizes gets smaller fonts, so
     * that it is not cut: its 69 characters need 0.8 f 69 <= 0.92 * 800,
     * f <= 13, in the PNG and 0.6 f 69 <= 736, f <= 17, in the SVG */
    struct amx_report_config lt =
        report_config("Fig. 4 on full MNIST: AdaMix against AdaGrad, AdaDec and constant SGD");
    ck_assert_uint_eq(strlen(lt.title), 69);
    ck_assert_int_eq(build(dir, &lt, false, &res, &err), AMX_OK);
    gp = slurp(dir, "figure.gp");
    ck_assert_ptr_nonnull(strstr(gp, "set title font ',17'"));
    ck_assert_ptr_nonnull(strstr(gp, "set title font ',13'"));
    free(gp);
    /* log_y and the train metric */
    rc.log_y = true;
    rc.metric = AMX_METRIC_TRAIN_ERROR;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    gp = slurp(dir, "figure.gp");
    ck_assert_ptr_nonnull(strstr(gp, "set logscale y"));
    ck_assert_ptr_nonnull(strstr(gp, "training reconstruction error"));
    free(gp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static bool have_gnuplot(void)
{
    return tu_run("command -v gnuplot", NULL, NULL) == 0;
}

START_TEST(test_render)
{
    if (!have_gnuplot()) return; /* nothing to render with; the next test covers the warning */
    char *dir = make_fixture(false);
    struct amx_report_config rc = report_config("Fig. 4 `touch pwned` it's");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, true, &res, &err), AMX_OK);
    ck_assert_msg(res.rendered, "not rendered: %s", res.warning);
    size_t len = 0;
    char *p = tu_fmt("%s/figure.png", dir);
    char *png = tu_read_file(p, &len);
    free(p);
    ck_assert_ptr_nonnull(png);
    ck_assert_uint_gt(len, 1000);
    ck_assert_int_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
    free(png);
    char *svg = slurp(dir, "figure.svg");
    ck_assert_ptr_nonnull(svg);
    ck_assert_ptr_nonnull(strstr(svg, "<svg"));
    ck_assert_ptr_nonnull(strstr(svg, "AdaGrad, network.layers=[784, 30]"));
    free(svg);
    ck_assert(exists(dir, "figure.log"));
    ck_assert(!exists(dir, "pwned")); /* the backquotes in the title ran nothing */
    ck_assert(no_temp_files(dir));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_no_gnuplot_warns)
{
    char *dir = make_fixture(false);
    char *empty = tu_tmpdir("emptypath");
    char *old_path = tu_fmt("%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", empty, 1); /* fork mode: only this test's process */
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, true, &res, &err), AMX_OK);
    ck_assert(!res.rendered);
    char *want =
        tu_fmt("gnuplot not found: install gnuplot-nox and run `gnuplot figure.gp` in %s", dir);
    ck_assert_msg(strstr(res.warning, want) != NULL, "warning: %s", res.warning);
    ck_assert(exists(dir, "figure.gp"));
    ck_assert(exists(dir, "figure.dat"));
    ck_assert(!exists(dir, "figure.svg"));
    ck_assert(!exists(dir, "figure.png"));
    setenv("PATH", old_path, 1); /* for tu_rmtree's rm */
    free(old_path);
    free(want);
    tu_rmtree(empty);
    free(empty);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_unwritable_file)
{
    char *dir = make_fixture(false);
    /* a folder where summary.csv should go: the rename into place fails */
    char *p = tu_fmt("%s/summary.csv", dir);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    char *q = tu_fmt("%s/summary.csv/keep", dir);
    ck_assert_int_eq(tu_write_file(q, "x", 1), 0);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_ERR_IO);
    ck_assert_str_eq(err.path, p);
    ck_assert(no_temp_files(dir));
    ck_assert(!exists(dir, "curves.csv")); /* stopped at the first failure */
    free(p);
    free(q);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_unwritable_folder)
{
    if (geteuid() == 0) return; /* permissions do not stop root; the test above covers it */
    char *dir = make_fixture(false);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    enum amx_status st = build(dir, &rc, false, &res, &err);
    chmod(dir, 0755);
    ck_assert_int_eq(st, AMX_ERR_IO);
    char *p = tu_fmt("%s/summary.csv", dir);
    ck_assert_str_eq(err.path, p);
    ck_assert(no_temp_files(dir));
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ID_B1's summary.json with the given numbers (its curve ends at 12.5) */
#define SUMMARY_B1(final, best, best_epoch)                                                        \
    "{\"run_id\": \"" ID_B1 "\", \"status\": \"ok\", \"sweep\": {\"finetune.rules\": "             \
    "\"AdaGrad\", \"network.layers\": \"[784, 30]\"}, \"repeat\": 1, \"epochs\": 3, "              \
    "\"final_test_error\": " final ", \"best_test_error\": " best ", \"best_epoch\": " best_epoch  \
    ", \"seconds\": 1}"

/* Damaged results beside a complete-looking summary (docs/design.md, "Where results go"): each
 * makes ID_B1 count as missing, with a warning at the file (and line:col),
 * and never stops the report; amx_result_check, the runner's test, says the
 * same. Before, a damaged curve was an AMX_ERR_IO that failed every report. */
static const struct {
    const char *file, *text; /* written into runs/ID_B1/ */
    const char *where;       /* in the warning after the run folder */
    const char *what;        /* in the warning */
} damaged[] = {
    {"curve.csv", HDR_ALL "0,29,30,34,5,,,\n1,17,1x8,21,1,0.02,0.001,0.05\n",
     "/curve.csv:3:6:", "1x8"},
    {"curve.csv", HDR_ALL "0,29,30,34,5,,,\n2,17,18,21,1,0.02,0.001,0.05\n",
     "/curve.csv:3:1:", "expected 1"},
    {"curve.csv", HDR_ALL "0,29,30,34,5,,\n", "/curve.csv:2:1:", "fewer fields"},
    {"curve.csv", "", "/curve.csv:1:1:", "empty curve file"},
    {"curve.csv", "\x7f\x45LF\x01\x02garbage\n", "/curve.csv:1:1:", "no \"epoch\" column"},
    /* cut at a line boundary: parses, but lacks epochs 2 and 3 */
    {"curve.csv", HDR_ALL "0,29,30,34,5,,,\n1,17,18,21,1,0.02,0.001,0.05\n",
     "/curve.csv:3:1:", "says 3 epochs"},
    {"summary.json",
     "{\"run_id\": \"" ID_B1 "\", \"status\": \"bogus\", \"sweep\": {\"finetune.rules\": "
     "\"AdaGrad\", \"network.layers\": \"[784, 30]\"}, \"repeat\": 1, \"epochs\": 3, "
     "\"final_test_error\": 12.5, \"best_test_error\": 12.5, \"best_epoch\": 3, \"seconds\": 1}",
     "/summary.json:1:32:", "\"status\" is not \"ok\" or \"diverged\""},
    {"summary.json", "[1, 2]", "/summary.json:1:1:", "not a JSON object"},
    /* numbers that contradict the curve beside them (edited by hand) */
    {"summary.json", SUMMARY_B1("1.0", "12.5", "3"),
     "/summary.json:1:", "\"final_test_error\" is 1, but curve.csv has test_error 12.5 at epoch 3"},
    {"summary.json", SUMMARY_B1("12.5", "2", "3"),
     "/summary.json:1:", "\"best_test_error\" is 2, but curve.csv has test_error 12.5 at epoch 3"},
    {"summary.json", SUMMARY_B1("12.5", "12.5", "7"),
     "/summary.json:1:", "\"best_epoch\" is 7, not an epoch of curve.csv (0..3)"},
    /* final_epoch (early stopping's restored epoch, newbob's last kept one):
     * the final numbers are that row's, and it must be a row */
    {"summary.json",
     "{\"run_id\": \"" ID_B1 "\", \"status\": \"ok\", \"sweep\": {\"finetune.rules\": "
     "\"AdaGrad\", \"network.layers\": \"[784, 30]\"}, \"repeat\": 1, \"epochs\": 3, "
     "\"final_test_error\": 12.5, \"best_test_error\": 12.5, \"best_epoch\": 3, "
     "\"final_epoch\": 1, \"seconds\": 1}",
     "/summary.json:1:",
     "\"final_test_error\" is 12.5, but curve.csv has test_error 21 at epoch 1"},
    {"summary.json",
     "{\"run_id\": \"" ID_B1 "\", \"status\": \"ok\", \"sweep\": {\"finetune.rules\": "
     "\"AdaGrad\", \"network.layers\": \"[784, 30]\"}, \"repeat\": 1, \"epochs\": 3, "
     "\"final_test_error\": 12.5, \"best_test_error\": 12.5, \"best_epoch\": 3, "
     "\"final_epoch\": 9, \"seconds\": 1}",
     "/summary.json:1:", "\"final_epoch\" is not an epoch of curve.csv (0..3)"},
    /* config.yaml: of the other repeat of the point, not YAML, not a configuration */
    {"config.yaml",
     "name: exp\nrepeats: 3\nrepeat: 0\nnetwork: {layers: [784, 30]}\n"
     "finetune: {rules: {all: {rule: constant, eta0: 0.01}}}\n",
     "/config.yaml:3:9:",
     "repeat 0, but summary.json's repeat is 1: the config.yaml of another repeat"},
    {"config.yaml", "junk: [\n", "/config.yaml:2:", "malformed config.yaml"},
    {"config.yaml", "name: exp\n", "/config.yaml:1:1:", "does not bind to a run configuration"},
    {"summary.json", "{\"run_id\": 7", "/summary.json:1:", "malformed summary.json"},
};

START_TEST(test_damaged_run)
{
    char *dir = make_fixture(false);
    char *rel = tu_fmt("runs/" ID_B1 "/%s", damaged[_i].file);
    put(dir, rel, damaged[_i].text);
    free(rel);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    ck_assert_uint_eq(res.n_complete, 5);
    ck_assert_uint_eq(res.n_missing, 3);
    char *where = tu_fmt("%s/runs/" ID_B1 "%s", dir, damaged[_i].where);
    ck_assert_msg(strstr(res.warning, where), "no \"%s\" in: %s", where, res.warning);
    ck_assert_msg(strstr(res.warning, damaged[_i].what), "no \"%s\" in: %s", damaged[_i].what,
                  res.warning);
    ck_assert_ptr_nonnull(strstr(res.warning, "counts as missing"));
    char *csv = slurp(dir, "summary.csv");
    ck_assert_ptr_null(strstr(csv, ID_B1));
    free(csv);
    /* the runner's test: the same verdict and the same words */
    char *run_dir = tu_fmt("%s/runs/" ID_B1, dir), why[2048];
    ck_assert_int_eq(amx_result_check(run_dir, ID_B1, 2, axes, why, sizeof why),
                     AMX_RESULT_INVALID);
    ck_assert_ptr_nonnull(strstr(why, where));
    ck_assert_int_eq(amx_result_check(run_dir, ID_B1, 0, NULL, why, sizeof why),
                     AMX_RESULT_INVALID);
    free(run_dir);
    free(where);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A run file deleted from a complete folder: curve.csv or config.yaml (the
 * latter a "complete" run to the runner before, and refused by merge) */
static const char *const deleted[] = {"curve.csv", "config.yaml"};

START_TEST(test_deleted_file)
{
    char *dir = make_fixture(false);
    char *path = tu_fmt("%s/runs/" ID_B1 "/%s", dir, deleted[_i]);
    ck_assert_int_eq(unlink(path), 0);
    struct amx_report_config rc = report_config("Fig. 4");
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(build(dir, &rc, false, &res, &err), AMX_OK);
    ck_assert_uint_eq(res.n_complete, 5);
    char *where = tu_fmt("%s:1:1: cannot read (", path);
    ck_assert_msg(strstr(res.warning, where), "no \"%s\" in: %s", where, res.warning);
    char *run_dir = tu_fmt("%s/runs/" ID_B1, dir), why[2048];
    ck_assert_int_eq(amx_result_check(run_dir, ID_B1, 2, axes, why, sizeof why),
                     AMX_RESULT_INVALID);
    ck_assert_ptr_nonnull(strstr(why, where));
    free(run_dir);
    free(where);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_result_check_states)
{
    char *dir = make_fixture(false);
    char why[2048];
    char *p = tu_fmt("%s/runs/" ID_B1, dir);
    ck_assert_int_eq(amx_result_check(p, ID_B1, 2, axes, why, sizeof why), AMX_RESULT_COMPLETE);
    /* another id than the folder's summary names */
    ck_assert_int_eq(amx_result_check(p, ID_B0, 2, axes, why, sizeof why), AMX_RESULT_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "run_id"));
    /* a required axis label absent; none required: complete */
    const char *more[] = {"finetune.rules", "seed"};
    ck_assert_int_eq(amx_result_check(p, ID_B1, 2, more, why, sizeof why), AMX_RESULT_INVALID);
    ck_assert_int_eq(amx_result_check(p, ID_B1, 0, NULL, why, sizeof why), AMX_RESULT_COMPLETE);
    free(p);
    /* no folder, or no summary.json: absent (no warning for those) */
    p = tu_fmt("%s/runs/" ID_D0, dir);
    ck_assert_int_eq(amx_result_check(p, ID_D0, 2, axes, why, sizeof why), AMX_RESULT_ABSENT);
    free(p);
    /* a diverged run with fewer rows than its epochs would have: its summary
     * says how many it did, and that is checked */
    p = tu_fmt("%s/runs/" ID_C0, dir);
    ck_assert_int_eq(amx_result_check(p, ID_C0, 2, axes, why, sizeof why), AMX_RESULT_COMPLETE);
    free(p);
    /* a curve.csv that is a symbolic link to an intact one is not followed */
    char *target = tu_fmt("%s/runs/" ID_B1 "/curve.csv", dir);
    char *copy = tu_fmt("%s/elsewhere.csv", dir);
    ck_assert_int_eq(rename(target, copy), 0);
    ck_assert_int_eq(symlink(copy, target), 0);
    p = tu_fmt("%s/runs/" ID_B1, dir);
    ck_assert_int_eq(amx_result_check(p, ID_B1, 2, axes, why, sizeof why), AMX_RESULT_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "symbolic link"));
    free(p);
    free(copy);
    free(target);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_no_axes_and_fallbacks)
{
    char *dir = tu_tmpdir("report1");
    make_run_dir(dir, "0123456789abcdef");
    put_config(dir, "0123456789abcdef", 0);
    put(dir, "runs/0123456789abcdef/curve.csv",
        "epoch,train_error,test_error,seconds,rate_mean.all,rate_min.all,rate_max.all\n"
        "0,10,11,2,,,\n1,5,6,1,0.1,0.1,0.1\n");
    put(dir, "runs/0123456789abcdef/summary.json",
        "{\"run_id\": \"0123456789abcdef\", \"name\": \"quick\", \"status\": \"ok\", \"sweep\": {},"
        " \"repeat\": 0, \"seed\": 1, \"epochs\": 1, \"final_test_error\": 6,"
        " \"best_test_error\": 6, \"best_epoch\": 1, \"final_train_error\": 5,"
        " \"final_validation_error\": null, \"seconds\": 3}");
    struct amx_report_config rc = report_config("");
    rc.metric = AMX_METRIC_VALIDATION_ERROR; /* no validation split: warn, show test error */
    snprintf(rc.series, sizeof rc.series, "finetune.rules"); /* not an axis here */
    const char *ids[] = {"0123456789abcdef"};
    struct amx_report_input in = {dir, &rc,  "quick-start",        0, NULL, 1, ids, false,
                                  0,   NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    ck_assert_ptr_nonnull(strstr(res.warning, "validation"));
    char *csv = slurp(dir, "summary.csv");
    ck_assert_str_eq(csv, "run_id,repeat,status,final_test_error,best_validation_epoch,"
                          "best_test_error,oracle_test_error,oracle_epoch,seconds\n"
                          "0123456789abcdef,0,ok,6,,,6,1,3\n");
    char *gp = slurp(dir, "figure.gp");
    ck_assert_ptr_nonnull(strstr(gp, "title 'quick-start'")); /* the line, and the default title */
    ck_assert_ptr_nonnull(strstr(gp, "set title 'quick-start'"));
    ck_assert_ptr_null(strstr(gp, "filledcurves lt")); /* one repeat: no band */
    free(gp);
    free(csv);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_bad_run_id)
{
    struct amx_report_config rc = report_config("");
    const char *ids[] = {"../escape"};
    struct amx_report_input in = {
        "/tmp", &rc, "x", 0, NULL, 1, ids, false, 0, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_ERR_USAGE);
}
END_TEST

#define PI_ 3.14159265358979323846

/* ---- statistics (src/report/stats.h), against independent truths ---- */

START_TEST(test_t_distribution)
{
    /* df = 1 is the Cauchy distribution: P(T <= t) = 1/2 + atan(t)/pi;
     * df = 2 has P(T <= t) = 1/2 + t / (2 sqrt(2 + t^2)) (closed forms) */
    const double ts[] = {-30, -3.5, -1, -0.2, 0, 0.7, 2, 12.7062};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) {
        double t = ts[i];
        ck_assert_double_eq_tol(amx_t_cdf(t, 1), 0.5 + atan(t) / PI_, 1e-12);
        ck_assert_double_eq_tol(amx_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-12);
    }
    /* the two-sided 5% points of the printed t tables (e.g. Fisher & Yates;
     * NIST/SEMATECH e-Handbook 1.3.6.7.2), to their 3 decimals */
    const struct {
        double df, t;
    } table[] = {{1, 12.706}, {2, 4.303},  {3, 3.182},  {4, 2.776},   {5, 2.571},
                 {9, 2.262},  {10, 2.228}, {29, 2.045}, {100, 1.984}, {1e9, 1.960}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        ck_assert_double_eq_tol(amx_t_quantile(0.975, table[i].df), table[i].t, 5e-4);
    /* closed form quantile of df = 1: tan(pi (p - 1/2)) */
    ck_assert_double_eq_tol(amx_t_quantile(0.9, 1), tan(PI_ * 0.4), 1e-9);
    ck_assert_double_eq_tol(amx_t_quantile(0.025, 4), -amx_t_quantile(0.975, 4), 1e-12);
    ck_assert(isnan(amx_t_quantile(1.0, 3)));
    ck_assert(isnan(amx_t_cdf(1.0, 0)));
}
END_TEST

START_TEST(test_sign_test)
{
    /* 2 P(X <= k), X ~ Bin(n, 1/2), by hand */
    ck_assert_double_eq_tol(amx_sign_test_p(3, 0), 2.0 / 8, 1e-15);
    ck_assert_double_eq_tol(amx_sign_test_p(4, 1), 2.0 * (1 + 5) / 32, 1e-15);
    ck_assert_double_eq_tol(amx_sign_test_p(1, 9), 2.0 * (1 + 10) / 1024, 1e-15);
    ck_assert_double_eq_tol(amx_sign_test_p(1, 1), 1.0, 1e-15); /* 2 * 3/4, capped */
    ck_assert_double_eq(amx_sign_test_p(0, 0), 1.0);
}
END_TEST

/* 2^m sign patterns of the given ranks, counted directly: the share whose
 * positive-rank sum is at least as far from the mean as w. No code shared
 * with the program's counting by sums. */
static double brute_wilcoxon(const double *rank, size_t m, double w)
{
    double total = 0;
    for (size_t i = 0; i < m; i++)
        total += rank[i];
    size_t hits = 0;
    for (unsigned long mask = 0; mask < (1ul << m); mask++) {
        double s = 0;
        for (size_t i = 0; i < m; i++)
            if (mask & (1ul << i)) s += rank[i];
        hits += fabs(s - total / 2) >= fabs(w - total / 2) - 1e-9;
    }
    return (double)hits / (double)(1ul << m);
}

START_TEST(test_wilcoxon_exact)
{
    size_t nz;
    /* all six positive: only the all-positive and all-negative patterns are
     * as extreme: 2 / 64 */
    const double a[] = {1, 2, 3, 4, 5, 6};
    ck_assert_double_eq_tol(amx_wilcoxon_p(a, 6, &nz), 2.0 / 64, 1e-15);
    ck_assert_uint_eq(nz, 6);
    /* rank 2 negative: W+ = 19 of 21; subsets summing to <= 2 ({}, {1},
     * {2}) and their complements: 6 / 64 */
    const double b[] = {1, -2, 3, 4, 5, 6};
    ck_assert_double_eq_tol(amx_wilcoxon_p(b, 6, &nz), 6.0 / 64, 1e-15);
    /* ties: |d| = 1,1,2,2,3,4 get mid-ranks 1.5,1.5,3.5,3.5,5,6; the one
     * negative has rank 1.5, W+ = 19.5 of 21; as extreme: sums <= 1.5
     * ({}, {1.5a}, {1.5b}) and their complements: 6 / 64 */
    const double c[] = {1, -1, 2, 2, 3, 4};
    ck_assert_double_eq_tol(amx_wilcoxon_p(c, 6, &nz), 6.0 / 64, 1e-15);
    /* zero differences are dropped: the same as a[] */
    const double z[] = {0, 1, 2, 0, 3, 4, 5, 6};
    ck_assert_double_eq_tol(amx_wilcoxon_p(z, 8, &nz), 2.0 / 64, 1e-15);
    ck_assert_uint_eq(nz, 6);
    const double zeros[] = {0, 0};
    ck_assert_double_eq(amx_wilcoxon_p(zeros, 2, &nz), 1.0);
    ck_assert_uint_eq(nz, 0);
    /* random differences with ties against the brute-force count */
    unsigned long st = 12345;
    for (int iter = 0; iter < 40; iter++) {
        size_t m = 6 + (size_t)(iter % 9); /* 6..14 */
        double d[14], rank[14];
        for (size_t i = 0; i < m; i++) {
            st = st * 6364136223846793005ul + 1442695040888963407ul;
            int v = (int)((st >> 33) % 7) + 1; /* 1..7: many ties */
            d[i] = ((st >> 20) & 1) ? v : -v;
        }
        /* mid-ranks by counting: rank = #smaller + (#equal + 1) / 2 */
        double w = 0;
        for (size_t i = 0; i < m; i++) {
            size_t less = 0, eq = 0;
            for (size_t j = 0; j < m; j++) {
                less += fabs(d[j]) < fabs(d[i]);
                eq += fabs(d[j]) == fabs(d[i]);
            }
            rank[i] = (double)less + (double)(eq + 1) / 2.0;
            if (d[i] > 0) w += rank[i];
        }
        ck_assert_double_eq_tol(amx_wilcoxon_p(d, m, &nz), brute_wilcoxon(rank, m, w), 1e-12);
    }
}
END_TEST

START_TEST(test_paired_stats_small)
{
    /* n = 2: mean 1, sd sqrt(0.5), half width t(0.975, 1) * sd / sqrt(2) =
     * 12.7062047 * 0.5; below 6 non-zero differences: the sign test, 2 * 1/4 */
    const double d[] = {0.5, 1.5};
    struct amx_paired s = amx_paired_stats(d, 2);
    ck_assert_double_eq_tol(s.mean, 1.0, 1e-15);
    ck_assert_double_eq_tol(s.std, sqrt(0.5), 1e-15);
    ck_assert_double_eq_tol(s.ci_lo, 1.0 - 12.7062047 * 0.5, 1e-6);
    ck_assert_double_eq_tol(s.ci_hi, 1.0 + 12.7062047 * 0.5, 1e-6);
    ck_assert_int_eq(s.test, AMX_TEST_SIGN);
    ck_assert_double_eq_tol(s.p, 0.5, 1e-15);
    /* n = 1: a mean, no interval */
    s = amx_paired_stats(d, 1);
    ck_assert(isnan(s.ci_lo) && isnan(s.std));
    /* six non-zero of seven: Wilcoxon on the six (a zero is dropped) */
    const double e[] = {-1, -2, -3, 0, -4, -5, -6};
    s = amx_paired_stats(e, 7);
    ck_assert_int_eq(s.test, AMX_TEST_WILCOXON);
    ck_assert_uint_eq(s.n_nonzero, 6);
    ck_assert_uint_eq(s.n_neg, 6);
    ck_assert_double_eq_tol(s.p, 2.0 / 64, 1e-15);
    s = amx_paired_stats(e, 0);
    ck_assert(isnan(s.mean) && isnan(s.p));
}
END_TEST

START_TEST(test_median_censored)
{
    double a[] = {3, INFINITY, 1};
    ck_assert_double_eq(amx_median(a, 3), 3);
    double b[] = {4, 1, 3, 2};
    ck_assert_double_eq(amx_median(b, 4), 2.5);
    double c[] = {1, INFINITY};
    ck_assert(isinf(amx_median(c, 2)));
    ck_assert(isnan(amx_median(c, 0)));
}
END_TEST

/* ---- paired report: a second fixture, one axis, baseline B ----
 *
 * test_error by epoch (seconds: row 0 10, rows 1..3 2 each):
 *   B: r0 30 20 15 12 | r1 31 22 16 13 | r2 29 21 14 11
 *   X: r0 30 18 13 11 | r1 31 19 14 12.5 | r2 29 20 15 12
 *   D: r0 30 20 15 10 | r1 diverged (30, 1000, nan) | r2 never started
 * Final X - B: -1, -0.5, +1: mean -1/6, sd sqrt(13/12) = 1.040833,
 * t(0.975, 2) = 4.302653 -> half width 4.302653 * 1.040833 / sqrt(3) =
 * 2.585574; signs 2 negative, 1 positive -> sign test p = 2 * 4/8 = 1.
 * Target 20: B reaches at epochs 1, 2, 2; X at 1, 1, 1 -> diffs 0, -1, -1.
 * Target 12: B at 3, never, 3; X at 3, never, 3 -> two ties, one neither.
 * D: r0 10 - 12 = -2 (a win), r1 diverged (a loss), r2 missing. */
#define PID(x) x "00000000000000"
static const struct {
    const char *id, *rule;
    int repeat;
    const char *status, *final, *curve;
} pfix[] = {
    {PID("b0"), "B", 0, "ok", "12", "30,20,15,12"},
    {PID("b1"), "B", 1, "ok", "13", "31,22,16,13"},
    {PID("b2"), "B", 2, "ok", "11", "29,21,14,11"},
    {PID("a0"), "X", 0, "ok", "11", "30,18,13,11"},
    {PID("a1"), "X", 1, "ok", "12.5", "31,19,14,12.5"},
    {PID("a2"), "X", 2, "ok", "12", "29,20,15,12"},
    {PID("d0"), "D", 0, "ok", "10", "30,20,15,10"},
    {PID("d1"), "D", 1, "diverged", "null", "30,1000,nan"},
};
static const char *const pids[] = {PID("b0"), PID("b1"), PID("b2"), PID("a0"), PID("a1"),
                                   PID("a2"), PID("d0"), PID("d1"), PID("d2")};

static char *make_paired_fixture(void)
{
    char *dir = tu_tmpdir("paired");
    ck_assert_ptr_nonnull(dir);
    for (size_t k = 0; k < sizeof pfix / sizeof *pfix; k++) {
        make_run_dir(dir, pfix[k].id);
        put_config(dir, pfix[k].id, pfix[k].repeat);
        struct amx_buf b = {0};
        amx_buf_printf(&b, "epoch,train_error,test_error,seconds\n");
        char *copy = strdup(pfix[k].curve), *save = NULL;
        int e = 0, best_epoch = 0;
        double best = INFINITY;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), e++) {
            amx_buf_printf(&b, "%d,%s,%s,%s\n", e, t, t, e == 0 ? "10" : "2");
            if (strtod(t, NULL) < best) best = strtod(t, NULL), best_epoch = e;
        }
        free(copy);
        char *rel = tu_fmt("runs/%s/curve.csv", pfix[k].id);
        put(dir, rel, b.data);
        free(rel);
        amx_buf_free(&b);
        char *json =
            tu_fmt("{\"run_id\": \"%s\", \"status\": \"%s\", \"sweep\": "
                   "{\"finetune.rules\": \"%s\"}, \"repeat\": %d, "
                   "\"final_test_error\": %s, \"best_test_error\": %g, \"best_epoch\": %d, "
                   "\"seconds\": 16}\n",
                   pfix[k].id, pfix[k].status, pfix[k].rule, pfix[k].repeat, pfix[k].final, best,
                   best_epoch);
        rel = tu_fmt("runs/%s/summary.json", pfix[k].id);
        put(dir, rel, json);
        free(rel);
        free(json);
    }
    return dir;
}

static json_t *jpath(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return b ? json_object_get(x, b) : x;
}

START_TEST(test_paired_report)
{
    char *dir = make_paired_fixture();
    struct amx_report_config rc = report_config("paired");
    snprintf(rc.baseline, sizeof rc.baseline, "B");
    rc.n_targets = 2;
    rc.targets[0] = 20;
    rc.targets[1] = 12;
    const char *ax[] = {"finetune.rules"};
    struct amx_report_input in = {
        dir, &rc, "exp", 1, ax, 9, pids, false, 3, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    ck_assert_uint_eq(res.n_complete, 8);
    char *path = tu_fmt("%s/report.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    free(path);
    ck_assert_ptr_nonnull(root);
    json_t *pts = json_object_get(root, "points");
    ck_assert_uint_eq(json_array_size(pts), 3);
    json_t *b = json_array_get(pts, 0), *x = json_array_get(pts, 1), *d = json_array_get(pts, 2);
    ck_assert_str_eq(json_string_value(json_object_get(b, "paired")), "baseline");
    json_t *f = jpath(json_object_get(x, "paired"), "final", NULL);
    ck_assert_double_eq_tol(json_number_value(json_object_get(f, "mean")), -1.0 / 6, 1e-9);
    ck_assert_double_eq_tol(json_number_value(json_object_get(f, "std")), sqrt(13.0 / 12), 1e-9);
    json_t *ci = json_object_get(f, "ci95");
    ck_assert_double_eq_tol(json_number_value(json_array_get(ci, 0)), -1.0 / 6 - 2.585574, 1e-5);
    ck_assert_double_eq_tol(json_number_value(json_array_get(ci, 1)), -1.0 / 6 + 2.585574, 1e-5);
    ck_assert_double_eq_tol(json_number_value(json_object_get(f, "p")), 1.0, 1e-12);
    ck_assert_str_eq(json_string_value(json_object_get(f, "test")), "sign");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "wins")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(f, "losses")), 1);
    json_t *diffs = json_object_get(f, "differences");
    ck_assert_double_eq_tol(json_number_value(json_array_get(diffs, 0)), -1, 1e-12);
    ck_assert_double_eq_tol(json_number_value(json_array_get(diffs, 1)), -0.5, 1e-12);
    ck_assert_double_eq_tol(json_number_value(json_array_get(diffs, 2)), 1, 1e-12);
    /* time to 20 */
    json_t *t0 = json_array_get(json_object_get(x, "targets"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(t0, "reached")), 3);
    ck_assert_double_eq(json_number_value(json_object_get(t0, "median_epoch")), 1);
    ck_assert_double_eq(json_number_value(json_object_get(t0, "median_finetune_seconds")), 2);
    ck_assert_double_eq(json_number_value(json_object_get(t0, "median_total_seconds")), 12);
    json_t *pe = json_object_get(t0, "paired_epochs");
    ck_assert_double_eq_tol(json_number_value(json_object_get(pe, "mean")), -2.0 / 3, 1e-9);
    ck_assert_int_eq(json_integer_value(json_object_get(pe, "wins")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(pe, "ties")), 1);
    /* time to 12: B reached by 2 of 3, median 3; X the same; one "neither" */
    json_t *bt1 = json_array_get(json_object_get(b, "targets"), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(bt1, "reached")), 2);
    ck_assert_double_eq(json_number_value(json_object_get(bt1, "median_epoch")), 3);
    json_t *xt1 =
        json_object_get(json_array_get(json_object_get(x, "targets"), 1), "paired_epochs");
    ck_assert_int_eq(json_integer_value(json_object_get(xt1, "neither")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(xt1, "ties")), 2);
    /* D: one pair, one diverged (a loss), one missing */
    json_t *df = jpath(json_object_get(d, "paired"), "final", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(df, "n")), 1);
    ck_assert_double_eq_tol(json_number_value(json_object_get(df, "mean")), -2, 1e-12);
    ck_assert_int_eq(json_integer_value(json_object_get(df, "diverged")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(df, "missing")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(df, "wins")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(df, "losses")), 1);
    ck_assert(json_is_null(json_array_get(json_object_get(df, "ci95"), 0)));
    json_decref(root);
    /* report.md: the same numbers in the tables */
    char *md = slurp(dir, "report.md");
    ck_assert_ptr_nonnull(strstr(md, "## Paired difference to the baseline, B"));
    ck_assert_ptr_nonnull(strstr(md, "| X | 3 | 0 | 0 | -0.167 [-2.752, 2.419] | 1 (S) | 2/3 |"));
    ck_assert_ptr_nonnull(strstr(md, "| D | 1 | 1 | 1 | -2.000 | 1 (S) | 1/2 |"));
    ck_assert_ptr_nonnull(strstr(md, "| B | 12 | 2/3 | 3 | 6.0 | 16.0 | (baseline) | | |"));
    ck_assert_ptr_nonnull(strstr(md, "| X | 20 | 3/3 | 1 | 2.0 | 12.0 | -0.7 [-2.1, 0.8] |"));
    free(md);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* No paired table, and a warning that says why: the baseline names no
 * series value that has complete runs, or every listed point is the
 * baseline itself (a sweep cut down to the baseline's value). */
START_TEST(test_paired_warnings)
{
    char *dir = make_paired_fixture();
    const char *ax[] = {"finetune.rules"};
    struct amx_report_result res;
    struct amx_error err;
    struct amx_report_config rc = report_config("paired");
    snprintf(rc.baseline, sizeof rc.baseline, "Z"); /* no such value */
    struct amx_report_input in = {
        dir, &rc, "exp", 1, ax, 9, pids, false, 3, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    ck_assert_msg(strstr(res.warning, "report.baseline \"Z\": no complete run has that "
                                      "finetune.rules; no paired statistics"),
                  "warning: %s", res.warning);
    snprintf(rc.baseline, sizeof rc.baseline, "B");
    struct amx_report_input only_b = {
        dir, &rc, "exp", 1, ax, 3, pids, false, 3, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    ck_assert_int_eq(amx_report_build(&only_b, &res, &err), AMX_OK);
    ck_assert_uint_eq(res.n_complete, 3);
    ck_assert_msg(strstr(res.warning, "report.baseline \"B\": every point is a baseline point"),
                  "warning: %s", res.warning);
    ck_assert_ptr_null(strstr(res.warning, "no complete run has that"));
    char *md = slurp(dir, "report.md");
    ck_assert_ptr_null(strstr(md, "## Paired"));
    free(md);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_md_escapes_labels)
{
    char *dir = make_paired_fixture();
    struct amx_report_config rc = report_config("a|b");
    const char *ax[] = {"finetune.rules"};
    struct amx_report_input in = {
        dir, &rc, "exp", 1, ax, 3, pids, false, 0, "line one\nline two", AMX_TASK_AUTOENCODER,
        0,   NULL};
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    char *md = slurp(dir, "report.md");
    ck_assert_ptr_nonnull(strstr(md, "# a|b\n"));
    ck_assert_ptr_null(strstr(md, "## Paired")); /* no baseline: no paired table */
    ck_assert_ptr_null(strstr(md, "## Time to target"));
    free(md);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* report.x: seconds. Every fixture run has 2 s per fine-tuning epoch (row 0,
 * the pretraining, 10 s, not counted): the cumulative mean at epoch e is 2e. */
START_TEST(test_figure_against_seconds)
{
    char *dir = make_paired_fixture();
    struct amx_report_config rc = report_config("by time");
    rc.x = AMX_X_SECONDS;
    const char *ax[] = {"finetune.rules"};
    struct amx_report_input in = {
        dir, &rc, "exp", 1, ax, 9, pids, false, 3, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    char *dat = slurp(dir, "figure.dat");
    ck_assert_ptr_nonnull(strstr(dat, "# epoch mean sd n seconds"));
    ck_assert_ptr_nonnull(strstr(dat, "\n0 30 1 3 0\n")); /* B, epoch 0: 0 s */
    ck_assert_ptr_nonnull(strstr(dat, "\n3 12 1 3 6\n")); /* B, epoch 3: 3 x 2 s */
    char *gp = slurp(dir, "figure.gp");
    ck_assert_ptr_nonnull(strstr(gp, "using 5:2 with lines"));
    ck_assert_ptr_nonnull(strstr(gp, "set xlabel 'fine-tuning seconds"));
    ck_assert_ptr_nonnull(strstr(gp, "set xrange [0:6]"));
    free(gp);
    free(dat);
    /* the default, epoch: four columns, as before */
    rc.x = AMX_X_EPOCH;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    dat = slurp(dir, "figure.dat");
    ck_assert_ptr_nonnull(strstr(dat, "\n3 12 1 3\n"));
    gp = slurp(dir, "figure.gp");
    ck_assert_ptr_nonnull(strstr(gp, "using 1:2 with lines"));
    free(gp);
    free(dat);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* best: the test error at the epoch of least validation error, the
 * earliest of ties (epoch 1 here, where epochs 1 and 3 tie), not the
 * smallest test error (epoch 3: the oracle, so named) */
START_TEST(test_best_at_least_validation_error)
{
    char *dir = tu_tmpdir("report-best");
    make_run_dir(dir, "0123456789abcdef");
    put_config(dir, "0123456789abcdef", 0);
    put(dir, "runs/0123456789abcdef/curve.csv",
        "epoch,train_error,validation_error,test_error,seconds\n"
        "0,10,11,12,2\n1,5,6,9,1\n2,4,7,8,1\n3,3,6,5,1\n4,2,8,7,1\n");
    put(dir, "runs/0123456789abcdef/summary.json",
        "{\"run_id\": \"0123456789abcdef\", \"name\": \"quick\", \"status\": \"ok\", \"sweep\": {},"
        " \"repeat\": 0, \"seed\": 1, \"epochs\": 4, \"final_test_error\": 7,"
        " \"best_test_error\": 5, \"best_epoch\": 3, \"final_train_error\": 2,"
        " \"final_validation_error\": 8, \"seconds\": 6}");
    struct amx_report_config rc = report_config("");
    snprintf(rc.series, sizeof rc.series, "finetune.rules");
    const char *ids[] = {"0123456789abcdef"};
    struct amx_report_input in = {
        dir, &rc, "best", 0, NULL, 1, ids, false, 0, NULL, AMX_TASK_AUTOENCODER, 0, NULL};
    struct amx_report_result res;
    struct amx_error err;
    ck_assert_int_eq(amx_report_build(&in, &res, &err), AMX_OK);
    char *csv = slurp(dir, "summary.csv");
    ck_assert_str_eq(csv, "run_id,repeat,status,final_test_error,best_validation_epoch,"
                          "best_test_error,oracle_test_error,oracle_epoch,seconds\n"
                          "0123456789abcdef,0,ok,7,1,9,5,3,6\n");
    char *md = slurp(dir, "report.md");
    ck_assert_ptr_nonnull(strstr(md, "| point | repeats | diverged | final | best | oracle |"));
    ck_assert_ptr_nonnull(strstr(md, "| 7.000 | 9.000 | 5.000 |"));
    ck_assert_ptr_nonnull(strstr(md, "best: at the epoch of least validation error"));
    char *json = slurp(dir, "report.json");
    ck_assert_ptr_nonnull(strstr(json, "\"best_test_error\": {\n        \"mean\": 9.0,"));
    ck_assert_ptr_nonnull(strstr(json, "\"oracle_test_error\": {\n        \"mean\": 5.0,"));
    free(json);
    free(md);
    free(csv);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_counts_and_summary_csv);
    tcase_add_test(tc, test_curves_csv);
    tcase_add_test(tc, test_report_json_statistics);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_figure_script);
    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_no_gnuplot_warns);
    tcase_add_test(tc, test_unwritable_file);
    tcase_add_test(tc, test_unwritable_folder);
    tcase_add_loop_test(tc, test_damaged_run, 0, sizeof damaged / sizeof *damaged);
    tcase_add_loop_test(tc, test_deleted_file, 0, sizeof deleted / sizeof *deleted);
    tcase_add_test(tc, test_result_check_states);
    tcase_add_test(tc, test_no_axes_and_fallbacks);
    tcase_add_test(tc, test_best_at_least_validation_error);
    tcase_add_test(tc, test_bad_run_id);
    tcase_add_test(tc, test_t_distribution);
    tcase_add_test(tc, test_sign_test);
    tcase_add_test(tc, test_wilcoxon_exact);
    tcase_add_test(tc, test_paired_stats_small);
    tcase_add_test(tc, test_median_censored);
    tcase_add_test(tc, test_paired_report);
    tcase_add_test(tc, test_paired_warnings);
    tcase_add_test(tc, test_md_escapes_labels);
    tcase_add_test(tc, test_figure_against_seconds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
