/* Tune, then test (docs/experiment-language.md, "Tune"): the two stages of
 * an experiment with a `tune` section, in one invocation.
 *
 * Per study: the tuning experiment (include/adamix/tune.h) runs into
 * <out>[/study-K]/tune like any experiment (ids, resume, cache, lock); the
 * selection is computed from its run folders (never stored and read back);
 * a member whose best value sits at an edge grows its grid there (up to
 * tune.extend times a side) and the tuning runs again for the new values;
 * then the final experiment, each member at its chosen values, runs into
 * <out>[/study-K]/final. The tuning report (selection.csv, tune.json,
 * tune.md, the sensitivity figure, report.html) goes into <out>. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "adamix/fsutil.h"
#include "adamix/node.h"
#include "adamix/report.h"
#include "adamix/results.h"
#include "adamix/sweep.h"
#include "adamix/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* One study's stage folders. */
struct stage_dirs {
    char base[AMX_PATH_MAX], tune[AMX_PATH_MAX + 8], final[AMX_PATH_MAX + 8];
};

static void stage_dirs(const char *out, int study, int studies, struct stage_dirs *d)
{
    if (studies > 1)
        snprintf(d->base, sizeof d->base, "%s/study-%d", out, study + 1);
    else
        snprintf(d->base, sizeof d->base, "%s", out);
    snprintf(d->tune, sizeof d->tune, "%s/tune", d->base);
    snprintf(d->final, sizeof d->final, "%s/final", d->base);
}

/* The tree loaded as an experiment; its YAML into *text (experiment.yaml). */
static int load_stage(struct amx_node *tree, const char *file, struct amx_experiment **exp,
                      char **text)
{
    *text = tree ? amx_node_emit_string(tree) : NULL;
    struct amx_errlist errs = {0};
    enum amx_status st = amx_experiment_load_tree(tree, file, exp, &errs);
    if (st != AMX_OK || !*text) {
        int rc = errs.n ? cli_print_errors(&errs) : 1;
        amx_errlist_free(&errs);
        free(*text);
        *text = NULL;
        return rc ? rc : 2;
    }
    amx_errlist_free(&errs);
    return 0;
}

/* A member's tuning points from the tuning runs' values and states. */
static void gather(const struct amx_experiment *texp, const size_t *member_of,
                   const double *value_of, size_t n_variants, size_t member, const double *val,
                   const int *state, struct amx_tune_point *pts, size_t *n)
{
    *n = 0;
    for (size_t v = 0; v < n_variants; v++) {
        if (member_of[v] != member) continue;
        struct amx_tune_point *p = &pts[(*n)++];
        memset(p, 0, sizeof *p);
        p->value = value_of[v];
        double sum = 0;
        for (size_t i = 0; i < texp->n_runs; i++) {
            if (texp->runs[i].value[0] != v) continue;
            p->n_wanted++;
            if (state[i] == AMX_TUNE_RUN_MISSING) continue;
            p->n_done++;
            if (state[i] == AMX_TUNE_RUN_DIVERGED || !isfinite(val[i])) p->diverged = true;
            sum += val[i];
        }
        p->metric = p->n_done && !p->diverged ? sum / (double)p->n_done : NAN;
    }
}

/* What one study keeps for the report. */
struct member_result {
    size_t n;
    double value[AMX_TUNE_MAX_GRID], metric[AMX_TUNE_MAX_GRID];
    bool diverged[AMX_TUNE_MAX_GRID];
    struct amx_tune_choice choice;
    int ext_low, ext_high;
    bool limit_reached;
    double final_mean, final_sd;
    size_t final_n;
};

/* Selects every member from the tuning folder; grows the grids whose best
 * value is at an edge. *grown: a grid grew (the tuning runs again). */
static int select_all(struct amx_tune *t, const struct amx_experiment *texp, const char *dir,
                      const size_t *member_of, const double *value_of, size_t nv,
                      struct member_result *res, bool *grown, bool quiet)
{
    const char *key =
        t->metric == AMX_TUNE_BEST ? "best_validation_error" : "final_validation_error";
    double *val = calloc(texp->n_runs + 1, sizeof *val);
    int *state = calloc(texp->n_runs + 1, sizeof *state);
    struct amx_error err = {0};
    if (!val || !state || amx_tune_runs_read(dir, texp, key, val, state, &err) != AMX_OK) {
        if (err.msg[0]) cli_print_error(&err);
        free(val);
        free(state);
        return 1;
    }
    *grown = false;
    int rc = 0;
    for (size_t m = 0; m < t->n_members; m++) {
        struct amx_tune_member *mem = &t->members[m];
        struct amx_tune_point pts[AMX_TUNE_MAX_GRID];
        size_t n;
        gather(texp, member_of, value_of, nv, m, val, state, pts, &n);
        struct member_result *r = &res[m];
        r->n = n;
        for (size_t k = 0; k < n; k++) {
            r->value[k] = pts[k].value;
            r->metric[k] = pts[k].metric;
            r->diverged[k] = pts[k].diverged;
        }
        r->choice = amx_tune_select(pts, n, t->ties);
        r->ext_low = mem->ext_low;
        r->ext_high = mem->ext_high;
        r->limit_reached = false;
        if (!r->choice.complete) {
            if (!quiet)
                fprintf(stderr,
                        "adamix-run: %s: the tuning of %s is incomplete; the final stage waits "
                        "for it (run the same command again)\n",
                        dir, mem->name);
            rc = 1;
            continue;
        }
        if (r->choice.chosen < 0) {
            if (!quiet)
                fprintf(stderr, "adamix-run: %s: every value of %s diverged: nothing to choose\n",
                        dir, mem->name);
            rc = 1;
            continue;
        }
        int side = r->choice.edge;
        int used = side < 0 ? mem->ext_low : mem->ext_high;
        if (side != 0 && used < t->extend && amx_tune_extend(mem, side)) {
            printf("tune: %s's best %s = %.6g is at the %s edge of its grid: the grid grows to "
                   "%.6g\n",
                   mem->name, mem->values, r->value[r->choice.chosen], side < 0 ? "lower" : "upper",
                   side < 0 ? mem->grid[0] : mem->grid[mem->n_grid - 1]);
            *grown = true;
        } else if (side != 0) {
            r->limit_reached = true;
            fprintf(stderr,
                    "adamix-run: warning: %s's best %s = %.6g is at the %s edge of its grid, and "
                    "the grid has grown there %d time%s (tune.extend): the best value may lie "
                    "beyond it\n",
                    mem->name, mem->values, r->value[r->choice.chosen],
                    side < 0 ? "lower" : "upper", used, used == 1 ? "" : "s");
        }
    }
    free(val);
    free(state);
    return rc;
}

/* The base grids again (a new study starts from the grid as written). */
static void reset_grids(struct amx_tune *t)
{
    for (size_t m = 0; m < t->n_members; m++) {
        struct amx_tune_member *mem = &t->members[m];
        memmove(mem->grid, mem->grid + mem->ext_low, mem->n_base * sizeof *mem->grid);
        mem->n_grid = mem->n_base;
        mem->ext_low = mem->ext_high = 0;
    }
}

/* The tuning stage of one study, grown until no grid grows; res filled. */
static int tuning_stage(struct amx_experiment *exp, int study, const struct stage_dirs *d,
                        const char *cache, const struct options *o, int argc, char **argv,
                        struct member_result *res)
{
    struct amx_tune *t = exp->tune;
    for (;;) {
        size_t *member_of = NULL, nv = 0;
        double *value_of = NULL;
        struct amx_node *tree =
            amx_tune_tuning_tree(exp->root, t, study, &member_of, &value_of, &nv);
        struct amx_experiment *texp = NULL;
        char *text = NULL;
        int rc = load_stage(tree, exp->file, &texp, &text);
        if (!rc && o->dry_run) {
            printf("== study %d: tuning stage, into %s\n", study + 1, d->tune);
            cli_print_dry_run(texp, o);
        }
        if (!rc && !o->dry_run)
            rc = o->report_only ? cli_build_report(texp, d->tune)
                                : cli_run_into(texp, text, d->tune, cache, o, argc, argv);
        bool grown = false;
        if (!rc && !o->dry_run)
            rc = select_all(t, texp, d->tune, member_of, value_of, nv, res, &grown, false);
        /* a dry run over a tuning already computed shows what comes next */
        if (!rc && o->dry_run && is_dir(d->tune) &&
            select_all(t, texp, d->tune, member_of, value_of, nv, res, &grown, true) != 0)
            grown = false;
        free(member_of);
        free(value_of);
        free(text);
        amx_experiment_free(texp);
        if (rc || !grown) return rc;
    }
}

/* Mean and sample sd of the final metric of each member's final runs. */
static int read_final(const struct amx_experiment *fexp, const char *dir, const char *key,
                      size_t n_members, struct member_result *res)
{
    double *val = calloc(fexp->n_runs + 1, sizeof *val);
    int *state = calloc(fexp->n_runs + 1, sizeof *state);
    struct amx_error err = {0};
    if (!val || !state || amx_tune_runs_read(dir, fexp, key, val, state, &err) != AMX_OK) {
        if (err.msg[0]) cli_print_error(&err);
        free(val);
        free(state);
        return 1;
    }
    for (size_t m = 0; m < n_members; m++) {
        double sum = 0, ss = 0;
        size_t n = 0;
        for (size_t i = 0; i < fexp->n_runs; i++)
            if (fexp->runs[i].value[0] == m && state[i] == AMX_TUNE_RUN_OK && isfinite(val[i]))
                sum += val[i], n++;
        double mean = n ? sum / (double)n : NAN;
        for (size_t i = 0; i < fexp->n_runs; i++)
            if (fexp->runs[i].value[0] == m && state[i] == AMX_TUNE_RUN_OK && isfinite(val[i]))
                ss += (val[i] - mean) * (val[i] - mean);
        res[m].final_mean = mean;
        res[m].final_sd = n > 1 ? sqrt(ss / (double)(n - 1)) : (n ? 0 : NAN);
        res[m].final_n = n;
    }
    free(val);
    free(state);
    return 0;
}

static int final_stage(struct amx_experiment *exp, int study, const struct stage_dirs *d,
                       const char *cache, const struct options *o, int argc, char **argv,
                       struct member_result *res)
{
    struct amx_tune *t = exp->tune;
    bool selected = true;
    for (size_t m = 0; m < t->n_members; m++)
        selected = selected && res[m].choice.complete && res[m].choice.chosen >= 0;
    if (o->dry_run && selected) {
        printf("== study %d: final stage, into %s: the values chosen from the tuning runs there\n",
               study + 1, d->final);
    } else if (o->dry_run) {
        printf("== study %d: final stage, into %s: after selection, %zu member%s at the chosen "
               "values x %d repeat%s\n",
               study + 1, d->final, t->n_members, t->n_members == 1 ? "" : "s",
               exp->n_runs ? exp->runs[0].cfg.repeats : 1,
               exp->n_runs && exp->runs[0].cfg.repeats == 1 ? "" : "s");
        return 0;
    }
    double chosen[AMX_TUNE_MAX_MEMBERS];
    for (size_t m = 0; m < t->n_members; m++)
        chosen[m] = res[m].value[res[m].choice.chosen];
    struct amx_experiment *fexp = NULL;
    char *text = NULL;
    int rc = load_stage(amx_tune_final_tree(exp->root, t, study, chosen), exp->file, &fexp, &text);
    if (!rc && o->dry_run) {
        cli_print_dry_run(fexp, o);
        free(text);
        amx_experiment_free(fexp);
        return 0;
    }
    if (!rc)
        rc = o->report_only ? cli_build_report(fexp, d->final)
                            : cli_run_into(fexp, text, d->final, cache, o, argc, argv);
    const char *key = "final_test_error";
    if (!rc && fexp->n_runs && fexp->runs[0].cfg.report.metric == AMX_METRIC_VALIDATION_ERROR)
        key = "final_validation_error";
    if (!rc) rc = read_final(fexp, d->final, key, t->n_members, res);
    free(text);
    amx_experiment_free(fexp);
    return rc;
}

static int write_report(const struct amx_experiment *exp, const char *out, int studies,
                        struct member_result *res)
{
    const struct amx_tune *t = exp->tune;
    size_t n = (size_t)studies * t->n_members;
    struct amx_tune_report_member *rm = calloc(n ? n : 1, sizeof *rm);
    if (!rm) return 1;
    for (size_t k = 0; k < n; k++) {
        const struct member_result *r = &res[k];
        const struct amx_tune_member *m = &t->members[k % t->n_members];
        rm[k] = (struct amx_tune_report_member){
            m->name,          m->values,        r->n,           r->value,   r->metric,
            r->diverged,      r->choice.chosen, r->choice.edge, r->ext_low, r->ext_high,
            r->limit_reached, r->final_mean,    r->final_sd,    r->final_n};
    }
    const char *fm = exp->n_runs && exp->runs[0].cfg.report.metric == AMX_METRIC_VALIDATION_ERROR
                         ? "final_validation_error"
                         : "final_test_error";
    struct amx_tune_report in = {out,
                                 exp->n_runs ? exp->runs[0].cfg.name : "",
                                 t->metric == AMX_TUNE_BEST ? "validation_error at its best epoch"
                                                            : "validation_error at the last epoch",
                                 fm,
                                 studies,
                                 t->n_members,
                                 rm,
                                 true};
    struct amx_report_result rr;
    struct amx_error err = {0};
    int rc = 0;
    if (amx_tune_report_write(&in, &rr, &err) != AMX_OK) {
        cli_print_error(&err);
        rc = 1;
    } else {
        if (rr.warning[0]) fprintf(stderr, "adamix-run: warning: %s\n", rr.warning);
        printf("tune: %s/tune.md, %s/selection.csv, %s/tune.json, %s/sensitivity.png, "
               "%s/report.html\n",
               out, out, out, out, out);
    }
    free(rm);
    return rc;
}

/* The folder's own record: experiment.yaml (the file as given, overrides
 * as comments) and manifest.json, so `adamix-run report` reads it back. */
static int write_record(const struct amx_experiment *exp, const char *text, const char *out,
                        const struct options *o, int argc, char **argv)
{
    struct amx_error err = {0};
    struct amx_manifest_info info = {.out_dir = out, .jobs = o->jobs, .argc = argc, .argv = argv};
    enum amx_status st = amx_mkdir_p(out, &err);
    if (st == AMX_OK) st = amx_results_write_experiment(out, text, exp, &err);
    if (st == AMX_OK) st = amx_results_write_manifest(exp, &info, "", NULL, NULL, &err);
    if (st != AMX_OK) {
        cli_print_error(&err);
        return amx_status_exit_code(st);
    }
    return 0;
}

int cli_tune_report(struct amx_experiment *exp, const char *dir)
{
    struct options o = {.report_only = true, .jobs = 1, .quiet = true};
    return cli_tune(exp, NULL, dir, &o, 0, NULL);
}

int cli_tune(struct amx_experiment *exp, const char *text, const char *out, const struct options *o,
             int argc, char **argv)
{
    if (o->shard_n > 0) {
        /* the final stage needs every shard's tuning before its selection */
        fprintf(stderr,
                "adamix-run: error: %s: --shard (or a Slurm array) with a tune section is not "
                "supported: the final stage needs the whole tuning; run it without --shard (-j "
                "runs the stages' runs in parallel)\n",
                exp->file);
        return 2;
    }
    if (!o->dry_run && !o->report_only) {
        int rc = write_record(exp, text, out, o, argc, argv);
        if (rc) return rc;
    }
    struct amx_tune *t = exp->tune;
    char cache[AMX_PATH_MAX + 16];
    /* both stages and every study share one pretraining cache */
    snprintf(cache, sizeof cache, "%s/cache", out);
    const char *cache_dir = o->cache ? o->cache : cache;
    struct member_result *res = calloc((size_t)t->studies * t->n_members + 1, sizeof *res);
    if (!res) return 1;
    int rc = 0;
    for (int s = 0; s < t->studies && !rc; s++) {
        struct stage_dirs d;
        stage_dirs(out, s, t->studies, &d);
        reset_grids(t);
        struct member_result *r = res + (size_t)s * t->n_members;
        rc = tuning_stage(exp, s, &d, cache_dir, o, argc, argv, r);
        if (!rc) rc = final_stage(exp, s, &d, cache_dir, o, argc, argv, r);
    }
    if (!rc && !o->dry_run) rc = write_report(exp, out, t->studies, res);
    free(res);
    return rc;
}
