/* What the runner's files share (src/run: runner.c plans, schedule.c runs
 * the worker processes, jobs.c sizes them). Not part of the module's
 * interface. */
#ifndef ADAMIX_RUN_RUNNER_H
#define ADAMIX_RUN_RUNNER_H

#include "internal.h"

#include "adamix/run.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* T_STOPPED: killed by us (--fail-fast or an interrupt), not a failure of
 * its own: no error.txt, not counted as failed, redone by the next run. */
enum task_state { T_WAITING, T_RUNNING, T_DONE, T_FAILED, T_SKIPPED, T_STOPPED };

struct task {
    bool is_pretrain;
    size_t run;   /* run index (for a pretraining: the first run needing it) */
    int data;     /* index into the loaded data sets */
    int pretrain; /* run tasks: index of the pretraining task they wait for, or -1 */
    char key[65]; /* pretraining key */
    enum task_state state;
    pid_t pid;
    int threads; /* of the worker running it: 1, or 2 when it is alone */
    char id[AMX_RUN_ID_LEN + 1];
    /* pretraining: the cache entry's lock, held by the parent from before the
     * worker starts until it ends; lock_busy: another process holds it */
    struct amx_cache_lock lock;
    bool lock_busy;
    bool error_lost; /* its worker's message came but could not be kept */
};

struct runner {
    const struct amx_experiment *exp;
    const struct amx_runner_options *opt;
    struct amx_run_data *data;
    int n_data;
    struct task *tasks;
    size_t n_tasks;
    char runs_dir[AMX_PATH_MAX + 16];
    char cache_dir[AMX_PATH_MAX + 16];
    char pretrain_dir[AMX_PATH_MAX + 16];
    amx_event_fn on_event;
    void *ctx;
    struct amx_runner_result *res;
    size_t done, failed, to_run;
};

/* The folder of a task's run (run tasks; may be NULL) and the cache entry of
 * its pretraining ("" when it has none; may be NULL). */
void amx_task_paths(const struct runner *rn, const struct task *t, char *run_dir, size_t run_size,
                    char *cache, size_t cache_size);
/* Passes ev to the caller with the runner's counts. */
void amx_runner_emit(struct runner *rn, struct amx_event *ev);
/* Runs every planned task in up to rn->opt->jobs workers, until all are done,
 * or stopped (SIGINT, SIGTERM, --fail-fast); fills rn->res. */
enum amx_status amx_schedule(struct runner *rn, struct amx_error *err);
/* The workers this machine can take for exp (jobs.c): the --jobs asked for,
 * at most the cores, and at most what fits in the available memory; note
 * gets why, when capped. */
int amx_cap_jobs(const struct amx_experiment *exp, const struct amx_run_data *data,
                 const int *data_of, int jobs, char *note, size_t size);

#endif
