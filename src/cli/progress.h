/* The live progress display of a sweep (a terminal, not --quiet): one line
 * per active task, the counts and the time left, redrawn in place; and the
 * failures, kept for the table at the end. */
#ifndef ADAMIX_CLI_PROGRESS_H
#define ADAMIX_CLI_PROGRESS_H

#include "adamix/run.h"

#include <stdbool.h>
#include <stddef.h>

#define MAX_ACTIVE 64

struct display {
    bool live; /* a terminal and not --quiet */
    int lines; /* live lines drawn last time */
    double started, last_draw;
    size_t total, to_run, skipped, done, failed;
    struct {
        char id[40];
        char text[300];
        bool pretrain;
        double started;    /* when the task started */
        double epoch_at;   /* when its fine-tuning epoch 0 was measured (< 0: not yet) */
        int epoch, epochs; /* fine-tuning progress */
    } active[MAX_ACTIVE];
    int n_active;
    int workers;        /* --jobs: the runs that go on at once */
    double run_seconds; /* fine-tuning seconds of the runs finished here, summed */
    int runs_timed;     /* ... and their count */
    struct failure {
        char id[40];
        char *label, *message;
    } * failures; /* for the table at the end */
    size_t n_failures;
};

/* Monotonic seconds. */
double cli_now(void);
/* Erases the live lines drawn last (before printing anything else). */
void cli_clear_live(struct display *d);
/* The runner's event callback (amx_event_fn); ctx is a struct display. */
void cli_on_event(const struct amx_event *ev, void *ctx);
/* Frees the failures kept. */
void cli_display_free(struct display *d);

#endif
