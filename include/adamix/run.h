/* Running an experiment: data, pretraining (cached), fine-tuning, per-run
 * files, and the pool of worker processes (docs/design.md).
 *
 * The parent process loads every data set once, then forks up to `jobs`
 * workers; a forked worker sees the data copy-on-write, uses single-threaded
 * BLAS, runs one task (a pretraining or a run) and exits. Pretraining is a
 * task of its own: runs that share it wait for it, and it is computed once.
 * A run's results are complete when its summary.json exists, written last. */
#ifndef ADAMIX_RUN_H
#define ADAMIX_RUN_H

#include "adamix/config.h"
#include "adamix/error.h"
#include "adamix/results.h" /* amx_run_shard, amx_run_in_shard, amx_run_label */
#include "adamix/sweep.h"

#include <stdbool.h>
#include <stddef.h>

struct amx_runner_options {
    const char *out_dir;   /* results folder */
    const char *cache_dir; /* pretraining cache; NULL: out_dir/cache */
    int jobs;              /* worker processes, >= 1; capped by the cores and by the memory
                              each worker needs against MemAvailable (an AMX_EVENT_NOTE says so) */
    int shard_index;       /* 1-based; 0 = no sharding */
    int shard_count;
    bool force;        /* rerun complete runs */
    bool rerun_failed; /* only runs whose last attempt failed */
    bool fail_fast;    /* stop at the first failure */
    int argc;          /* the command line, for the manifest */
    char **argv;
    const char *experiment_text; /* the experiment file as given */
};

enum amx_event_kind {
    AMX_EVENT_PLAN,          /* planned: total runs, to_run, skipped */
    AMX_EVENT_TASK_START,    /* a pretraining or run started */
    AMX_EVENT_PROGRESS,      /* phase/epoch/error of an active task */
    AMX_EVENT_RUN_DONE,      /* a run finished: status ok or diverged */
    AMX_EVENT_PRETRAIN_DONE, /* a pretraining finished and is cached */
    AMX_EVENT_TASK_FAILED,   /* with message */
    AMX_EVENT_RUN_REDONE,    /* planned: a damaged result is redone; message says what is wrong */
    AMX_EVENT_NOTE,          /* something to tell (message): --jobs capped */
    AMX_EVENT_WARNING        /* something wrong that is mended (message): a damaged cache entry */
};

struct amx_event {
    enum amx_event_kind kind;
    const char *run_id; /* or the pretraining key */
    const char *label;  /* sweep values and repeat, for display */
    bool is_pretrain;
    int layer;           /* pretraining: 1-based RBM being trained */
    int epoch, epochs;   /* current and total of the phase */
    double error;        /* latest test error (or RBM reconstruction error) */
    const char *status;  /* RUN_DONE: "ok" | "diverged" */
    const char *message; /* TASK_FAILED */
    size_t total, to_run, skipped, done, failed; /* counts */
};

typedef void (*amx_event_fn)(const struct amx_event *ev, void *ctx);

struct amx_runner_result {
    size_t total, skipped, ran, ok, diverged, failed;
    size_t pretrain_computed; /* pretrainings run by this invocation */
    size_t pretrain_reused;   /* intact cache files used instead */
    size_t not_done;          /* stopped or never started (--fail-fast, interrupt) */
    size_t redone;            /* damaged results (amx_result_check: INVALID) planned again */
    int jobs;                 /* workers used: --jobs capped by the cores and the memory */
    bool interrupted;         /* SIGINT or SIGTERM stopped the sweep */
};

/* Loads the data every run needs (checking layers[0] against the image size,
 * located at the layers line), then runs every run of exp that is not already
 * complete. Returns AMX_OK when no run failed (diverged runs are results);
 * AMX_ERR_RUN when some failed (events told which); other codes for errors
 * before anything ran (data: AMX_ERR_DATA; unwritable folder: AMX_ERR_IO). */
enum amx_status amx_runner_run(const struct amx_experiment *exp,
                               const struct amx_runner_options *opt, amx_event_fn on_event,
                               void *ctx, struct amx_runner_result *res, struct amx_error *err);

/* What `adamix-run validate` checks of the data without reading the pixels:
 * the header of every run's training and test file (read once per file and
 * limit) against its configuration, with the checks a run makes when it
 * loads the data: network.layers' first size against the image size,
 * data.validation and evaluation.train_subset against the number of images
 * (AMX_ERR_CONFIG, located at the key), and a missing or malformed file or a
 * limit above its count (AMX_ERR_DATA, naming the file). Each distinct
 * problem is added to errs once; returns the first one's code, or AMX_OK. */
enum amx_status amx_experiment_check_data(const struct amx_experiment *exp,
                                          struct amx_errlist *errs);

#endif
