/* The runner: decides which runs to do (resume by results/, shard, --force,
 * --rerun-failed), loads the data once, plans a pretraining task per
 * pretraining key and a task per run, and has schedule.c execute them in up
 * to `jobs` forked worker processes (jobs.c caps that number).
 *
 * Results never depend on the number of workers: every task is a function of
 * its configuration and streams only, and each worker uses one BLAS thread. */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/results.h"
#include "adamix/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What one loaded data set is: its files, cuts and reading (labels only for
 * a classifier, which reads them). */
static void data_key(const struct amx_run_config *cfg, char key[65])
{
    const struct amx_data_config *dc = &cfg->data;
    char text[7 * AMX_PATH_MAX];
    int len = snprintf(text, sizeof text, "%s\n%s\n%s\n%ld\n%ld\n%ld\n%d", dc->dir, dc->train,
                       dc->test, dc->train_limit, dc->test_limit, dc->validation, dc->transpose);
    if (cfg->network.task == AMX_TASK_CLASSIFIER && len > 0 && (size_t)len < sizeof text)
        snprintf(text + len, sizeof text - (size_t)len, "\nlabels\n%s\n%s\n%d", dc->train_labels,
                 dc->test_labels, dc->label_offset);
    amx_sha256_hex(text, strlen(text), key);
}

static void iso_time(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* manifest.json of this invocation: its options and the data files read */
static enum amx_status write_manifest(const struct runner *rn, const char *started,
                                      const char *ended, json_t *previous, struct amx_error *err)
{
    size_t n = 2 * (size_t)rn->n_data;
    const char **paths = calloc(n + 1, sizeof *paths), **shas = calloc(n + 1, sizeof *shas);
    enum amx_status st;
    if (!paths || !shas) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    } else {
        for (int k = 0; k < rn->n_data; k++) {
            paths[2 * k] = rn->data[k].train_path;
            shas[2 * k] = rn->data[k].train_all.sha256;
            paths[2 * k + 1] = rn->data[k].test_path;
            shas[2 * k + 1] = rn->data[k].test.sha256;
        }
        const struct amx_runner_options *o = rn->opt;
        struct amx_manifest_info info = {.out_dir = o->out_dir,
                                         .jobs = o->jobs,
                                         .argc = o->argc,
                                         .argv = o->argv,
                                         .shard_index = o->shard_index,
                                         .shard_count = o->shard_count,
                                         .n_files = n,
                                         .file_paths = paths,
                                         .file_sha256 = shas};
        st = amx_results_write_manifest(rn->exp, &info, started, ended, previous, err);
    }
    free(paths);
    free(shas);
    return st;
}

enum amx_status amx_runner_run(const struct amx_experiment *exp,
                               const struct amx_runner_options *opt, amx_event_fn on_event,
                               void *ctx, struct amx_runner_result *res, struct amx_error *err)
{
    memset(res, 0, sizeof *res);
    struct runner rn = {.exp = exp, .opt = opt, .on_event = on_event, .ctx = ctx, .res = res};
    enum amx_status st = AMX_OK;
    char started[64];
    iso_time(started, sizeof started);
    json_t *previous = NULL;
    struct amx_dir_lock lock = {.fd = -1};
    struct amx_runner_options capped;

    /* which runs are ours, and what they need */
    size_t n = exp->n_runs;
    int *data_of = calloc(n ? n : 1, sizeof *data_of);
    rn.data = calloc(n ? n : 1, sizeof *rn.data);
    rn.tasks = calloc(2 * (n ? n : 1), sizeof *rn.tasks);
    char(*keys)[65] = calloc(n ? n : 1, sizeof *keys);
    if (!data_of || !rn.data || !rn.tasks || !keys) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto out;
    }
    /* load every data set first: a data error or a layer mismatch writes nothing */
    for (size_t i = 0; i < n; i++) {
        data_key(&exp->runs[i].cfg, keys[i]);
        int found = -1;
        for (int k = 0; k < rn.n_data; k++)
            if (strcmp(rn.data[k].key, keys[i]) == 0) found = k;
        if (found >= 0) {
            data_of[i] = found;
            if (exp->runs[i].cfg.network.layers[0] != (int)rn.data[found].train_all.dim) {
                /* same data, other network: check it the same way */
                struct amx_run_data tmp;
                st = amx_run_data_load(&exp->runs[i].cfg, &tmp, err);
                if (st == AMX_OK) amx_run_data_free(&tmp);
                if (st != AMX_OK) goto out;
            }
            continue;
        }
        st = amx_run_data_load(&exp->runs[i].cfg, &rn.data[rn.n_data], err);
        if (st != AMX_OK) goto out;
        snprintf(rn.data[rn.n_data].key, sizeof rn.data[rn.n_data].key, "%s", keys[i]);
        data_of[i] = rn.n_data++;
    }
    for (size_t i = 0; i < n; i++)
        if ((st = amx_run_data_check(&exp->runs[i].cfg, &rn.data[data_of[i]], err)) != AMX_OK)
            goto out;
    {
        /* never more workers than the cores and the memory take */
        char note[512];
        capped = *opt;
        capped.jobs = amx_cap_jobs(exp, rn.data, data_of, opt->jobs, note, sizeof note);
        opt = rn.opt = &capped;
        res->jobs = capped.jobs;
        if (note[0]) {
            struct amx_event ev = {.kind = AMX_EVENT_NOTE, .message = note};
            amx_runner_emit(&rn, &ev);
        }
    }

    snprintf(rn.runs_dir, sizeof rn.runs_dir, "%s/runs", opt->out_dir);
    if (opt->cache_dir)
        snprintf(rn.cache_dir, sizeof rn.cache_dir, "%s", opt->cache_dir);
    else
        snprintf(rn.cache_dir, sizeof rn.cache_dir, "%s/cache", opt->out_dir);
    snprintf(rn.pretrain_dir, sizeof rn.pretrain_dir, "%s/pretrain", opt->out_dir);
    /* Inside the results folder nothing is a link: a runs/<id> replaced by a
     * symbolic link would have the run's files written into its target. The
     * folder itself and a --cache folder may be links (the user chose them). */
    if ((st = amx_mkdir_p(opt->out_dir, err)) != AMX_OK) goto out;
    /* one invocation at a time writes a results folder: a second one is
     * refused at once, naming the first (docs/design.md, "Where results go") */
    if ((st = amx_dir_lock(opt->out_dir, &lock, err)) != AMX_OK) goto out;
    if ((st = amx_mkdir_nofollow(rn.runs_dir, err)) != AMX_OK) goto out;
    if ((st = opt->cache_dir ? amx_mkdir_p(rn.cache_dir, err)
                             : amx_mkdir_nofollow(rn.cache_dir, err)) != AMX_OK)
        goto out;
    if ((st = amx_mkdir_nofollow(rn.pretrain_dir, err)) != AMX_OK) goto out;
    for (size_t i = 0; i < n; i++) {
        if (!amx_run_in_shard(exp, i, opt->shard_index, opt->shard_count)) continue;
        char run_dir[AMX_PATH_MAX + 64];
        snprintf(run_dir, sizeof run_dir, "%s/%s", rn.runs_dir, exp->runs[i].id);
        struct stat sb;
        if (lstat(run_dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            st = amx_fail(err, AMX_ERR_IO, run_dir, 0, 0, "%s",
                          S_ISLNK(sb.st_mode)
                              ? "is a symbolic link, expected the run's folder: adamix-run "
                                "follows no link inside a results folder (remove the link)"
                              : "is not a folder, expected the run's folder (remove it)");
            goto out;
        }
    }
    amx_remove_temp_files(rn.pretrain_dir);
    amx_remove_temp_files(opt->out_dir);
    amx_remove_temp_files(rn.cache_dir);
    if ((st = amx_results_write_experiment(opt->out_dir, opt->experiment_text, exp, err)) != AMX_OK)
        goto out;
    /* keep the record of earlier invocations that wrote into this folder */
    previous = amx_results_previous_invocations(opt->out_dir);
    if (!previous) {
        st = amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
        goto out;
    }
    if ((st = write_manifest(&rn, started, NULL, previous, err)) != AMX_OK) goto out;

    /* plan: pretraining tasks first (one per key), then the runs */
    for (size_t i = 0; i < n; i++) {
        const struct amx_run *r = &exp->runs[i];
        if (!amx_run_in_shard(exp, i, opt->shard_index, opt->shard_count)) continue;
        res->total++;
        char run_dir[AMX_PATH_MAX + 64];
        snprintf(run_dir, sizeof run_dir, "%s/%s", rn.runs_dir, r->id);
        amx_remove_temp_files(run_dir);
        char why[AMX_ERROR_MSG_MAX + AMX_PATH_MAX];
        enum amx_result_state state =
            amx_results_run_state(run_dir, r->id, &r->cfg, rn.data[data_of[i]].train_all.sha256,
                                  rn.data[data_of[i]].test.sha256, why, sizeof why);
        bool complete = state == AMX_RESULT_COMPLETE;
        bool want;
        if (opt->force)
            want = true;
        else if (opt->rerun_failed)
            want = !complete && amx_results_failed_before(run_dir);
        else
            want = !complete;
        if (!want) {
            if (complete) {
                amx_results_refresh_identity(exp, i, run_dir);
                /* a complete result supersedes an earlier attempt's failure */
                amx_results_clear_failure(run_dir);
            }
            res->skipped++;
            continue;
        }
        if (state == AMX_RESULT_INVALID && !opt->force) {
            /* a damaged result heals: it is redone, and the user told why */
            char label[1024];
            amx_run_label(exp, i, label, sizeof label);
            struct amx_event ev = {
                .kind = AMX_EVENT_RUN_REDONE, .run_id = r->id, .label = label, .message = why};
            amx_runner_emit(&rn, &ev);
            res->redone++;
        }
        struct task *t = &rn.tasks[rn.n_tasks];
        memset(t, 0, sizeof *t);
        t->lock.fd = -1;
        t->run = i;
        t->data = data_of[i];
        t->pretrain = -1;
        memcpy(t->id, r->id, sizeof t->id);
        if (r->cfg.pretrain.enabled) {
            char key[65];
            if (!amx_pretrain_key(&r->cfg, &rn.data[data_of[i]], key)) {
                st = amx_fail(err, AMX_ERR_NOMEM, opt->out_dir, 0, 0,
                              "out of memory computing a pretraining key");
                goto out;
            }
            int found = -1;
            for (size_t k = 0; k < rn.n_tasks; k++)
                if (rn.tasks[k].is_pretrain && strcmp(rn.tasks[k].key, key) == 0) found = (int)k;
            if (found < 0) {
                /* a new pretraining task, placed before this run */
                struct task p = {.is_pretrain = true,
                                 .run = i,
                                 .data = data_of[i],
                                 .pretrain = -1,
                                 .state = T_WAITING,
                                 .lock = {.fd = -1}};
                memcpy(p.key, key, sizeof p.key);
                snprintf(p.id, sizeof p.id, "%.16s", key);
                char cache[AMX_PATH_MAX + 64];
                amx_task_paths(&rn, &p, NULL, 0, cache, sizeof cache);
                struct stat cs;
                if (lstat(cache, &cs) == 0 && S_ISDIR(cs.st_mode)) {
                    st = amx_fail(err, AMX_ERR_IO, cache, 0, 0,
                                  "is a folder, expected a pretraining cache file: remove it "
                                  "(the pretraining is computed again)");
                    goto out;
                }
                if (!opt->force) {
                    /* an intact cache file is reused; a corrupt one is recomputed */
                    const struct amx_network_config *net = &r->cfg.network;
                    struct amx_rbm rbms[AMX_MAX_LAYERS];
                    memset(rbms, 0, sizeof rbms);
                    bool ok = true;
                    for (int l = 0; l + 1 < net->n_layers && ok; l++)
                        ok = amx_rbm_init(&rbms[l], net->layers[l], net->layers[l + 1],
                                          l + 2 == net->n_layers && net->code == AMX_UNIT_LINEAR, 1,
                                          err) == AMX_OK;
                    struct amx_error cerr;
                    bool there = amx_file_exists(cache);
                    if (ok &&
                        amx_cache_load(cache, rbms, net->n_layers - 1, NULL, &cerr) == AMX_OK) {
                        p.state = T_SKIPPED;
                        res->pretrain_reused++;
                    } else if (ok && there) {
                        /* said once: one task per cache entry */
                        char msg[AMX_ERROR_MSG_MAX + 2 * AMX_PATH_MAX + 64];
                        snprintf(msg, sizeof msg, "%s: %s: computing the pretraining again", cache,
                                 cerr.msg);
                        struct amx_event ev = {.kind = AMX_EVENT_WARNING, .message = msg};
                        amx_runner_emit(&rn, &ev);
                    }
                    for (int l = 0; l + 1 < net->n_layers; l++)
                        amx_rbm_free(&rbms[l]);
                }
                rn.tasks[rn.n_tasks] = p;
                found = (int)rn.n_tasks++;
                t = &rn.tasks[rn.n_tasks];
                memset(t, 0, sizeof *t);
                t->lock.fd = -1;
                t->run = i;
                t->data = data_of[i];
                memcpy(t->id, r->id, sizeof t->id);
            }
            t->pretrain = found;
        } else {
            t->pretrain = -1;
        }
        t->state = T_WAITING;
        rn.n_tasks++;
        rn.to_run++;
    }
    struct amx_event plan = {.kind = AMX_EVENT_PLAN};
    amx_runner_emit(&rn, &plan);

    st = amx_schedule(&rn, err);
    /* runs never started or stopped by us: not failures, redone next time */
    for (size_t i = 0; i < rn.n_tasks; i++)
        if (!rn.tasks[i].is_pretrain &&
            (rn.tasks[i].state == T_WAITING || rn.tasks[i].state == T_STOPPED))
            res->not_done++;
    if (st == AMX_OK && res->interrupted)
        st = amx_fail(err, AMX_ERR_RUN, "", 0, 0,
                      "interrupted; %zu run%s not done (rerun the same command to resume)",
                      res->not_done, res->not_done == 1 ? "" : "s");
    else if (st == AMX_OK && res->failed > 0 && res->not_done > 0)
        st =
            amx_fail(err, AMX_ERR_RUN, "", 0, 0,
                     "%zu run%s failed; stopped (--fail-fast) with %zu run%s not done", res->failed,
                     res->failed == 1 ? "" : "s", res->not_done, res->not_done == 1 ? "" : "s");
    else if (st == AMX_OK && res->failed > 0)
        st = amx_fail(err, AMX_ERR_RUN, "", 0, 0, "%zu run%s failed", res->failed,
                      res->failed == 1 ? "" : "s");
    char ended[64];
    iso_time(ended, sizeof ended);
    struct amx_error merr;
    if (write_manifest(&rn, started, ended, previous, &merr) != AMX_OK && st == AMX_OK) {
        *err = merr;
        st = merr.code;
    }
out:
    amx_dir_unlock(&lock);
    if (previous) json_decref(previous);
    for (int k = 0; k < rn.n_data; k++)
        amx_run_data_free(&rn.data[k]);
    free(rn.data);
    free(rn.tasks);
    free(data_of);
    free(keys);
    return st;
}
