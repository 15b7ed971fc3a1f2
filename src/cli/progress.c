/* The live progress display (progress.h). */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_clear_live(struct display *d)
{
    if (!d->live) return;
    for (int i = 0; i < d->lines; i++)
        fputs("\033[1A\033[2K", stdout);
    d->lines = 0;
}

/* The terminal's size, so that no live line wraps (a wrapped line would
 * make clear_live move up too few rows) and the block fits the screen. */
static void term_size(int *cols, int *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

/* Seconds until every run is done, or -1 when nothing tells yet. From the
 * runs themselves: an active run's seconds per epoch so far times its epochs
 * left; a run not started yet takes what the finished runs took on average
 * (or, before any finished, what the active ones will take); the work left
 * is shared by the workers. Pretraining is not estimated (its runs wait). */
static double eta_seconds(const struct display *d)
{
    double t = cli_now(), active_left = 0, projected = 0;
    int n_runs = 0, n_projected = 0;
    for (int i = 0; i < d->n_active; i++) {
        if (d->active[i].pretrain) continue;
        n_runs++;
        if (d->active[i].epoch_at < 0 || d->active[i].epoch < 1) continue;
        double per_epoch = (t - d->active[i].epoch_at) / d->active[i].epoch;
        active_left += per_epoch * (d->active[i].epochs - d->active[i].epoch);
        projected += per_epoch * d->active[i].epochs;
        n_projected++;
    }
    double per_run = d->runs_timed ? d->run_seconds / d->runs_timed
                     : n_projected ? projected / n_projected
                                   : -1;
    if (per_run < 0) return -1;
    long waiting = (long)d->to_run - (long)d->done - (long)d->failed - n_runs;
    if (waiting < 0) waiting = 0;
    int workers = d->workers > 0 ? d->workers : 1;
    return (active_left + (double)waiting * per_run) / workers;
}

static void draw_live(struct display *d)
{
    if (!d->live) return;
    cli_clear_live(d);
    int cols, rows;
    term_size(&cols, &rows);
    int width = cols > 4 ? cols - 1 : 3;
    double el = cli_now() - d->started;
    char eta[64] = "";
    double left = eta_seconds(d);
    if (left >= 0)
        snprintf(eta, sizeof eta, ", ETA %dm%02ds", (int)(left / 60), (int)fmod(left, 60));
    char head[256];
    snprintf(head, sizeof head, "[%zu/%zu runs done%s, %dm%02ds elapsed%s]", d->done, d->to_run,
             d->failed ? ", some failed" : "", (int)(el / 60), (int)fmod(el, 60), eta);
    printf("%.*s\n", width, head);
    d->lines = 1;
    int room = rows - 2 > 1 ? rows - 2 : 1; /* lines for active tasks */
    for (int i = 0; i < d->n_active; i++) {
        if (i == room - 1 && d->n_active > room) {
            printf("  ... and %d more\n", d->n_active - i);
            d->lines++;
            break;
        }
        printf("  %.*s\n", width - 2, d->active[i].text);
        d->lines++;
    }
    fflush(stdout);
    d->last_draw = cli_now();
}

static int find_active(struct display *d, const char *id)
{
    for (int i = 0; i < d->n_active; i++)
        if (strcmp(d->active[i].id, id) == 0) return i;
    return -1;
}

static void remove_active(struct display *d, const char *id)
{
    int i = find_active(d, id);
    if (i < 0) return;
    d->active[i] = d->active[--d->n_active];
}

void cli_on_event(const struct amx_event *ev, void *ctx)
{
    struct display *d = ctx;
    d->total = ev->total;
    d->to_run = ev->to_run;
    d->skipped = ev->skipped;
    d->done = ev->done;
    d->failed = ev->failed;
    switch (ev->kind) {
    case AMX_EVENT_PLAN:
        if (d->live)
            printf("%zu runs: %zu to run, %zu already complete\n", ev->total, ev->to_run,
                   ev->skipped);
        break;
    case AMX_EVENT_TASK_START:
        if (d->n_active < MAX_ACTIVE) {
            int i = d->n_active++;
            snprintf(d->active[i].id, sizeof d->active[i].id, "%s", ev->run_id);
            snprintf(d->active[i].text, sizeof d->active[i].text, "%s: starting", ev->label);
            d->active[i].pretrain = ev->is_pretrain;
            d->active[i].started = cli_now();
            d->active[i].epoch_at = -1;
            d->active[i].epoch = d->active[i].epochs = 0;
        }
        break;
    case AMX_EVENT_PROGRESS: {
        int i = find_active(d, ev->run_id);
        if (i < 0) break;
        if (ev->is_pretrain)
            snprintf(d->active[i].text, sizeof d->active[i].text,
                     "%s: RBM %d epoch %d/%d, reconstruction error %.3f", ev->label, ev->layer,
                     ev->epoch, ev->epochs, ev->error);
        else {
            snprintf(d->active[i].text, sizeof d->active[i].text,
                     "%s: fine-tuning epoch %d/%d, test error %.3f", ev->label, ev->epoch,
                     ev->epochs, ev->error);
            if (ev->epoch == 0) d->active[i].epoch_at = cli_now();
            d->active[i].epoch = ev->epoch;
            d->active[i].epochs = ev->epochs;
        }
        if (cli_now() - d->last_draw < 0.2) return;
        break;
    }
    case AMX_EVENT_RUN_DONE: {
        int i = find_active(d, ev->run_id);
        if (i >= 0 && d->active[i].epoch_at >= 0 && d->active[i].epoch > 0) {
            /* what a waiting run will take: its fine-tuning, at this pace */
            d->run_seconds +=
                (cli_now() - d->active[i].epoch_at) * d->active[i].epochs / d->active[i].epoch;
            d->runs_timed++;
        }
        remove_active(d, ev->run_id);
        if (d->live) {
            cli_clear_live(d);
            printf("done %s %s: final test error %.4f (%s)\n", ev->run_id, ev->label, ev->error,
                   ev->status);
        }
        break;
    }
    case AMX_EVENT_PRETRAIN_DONE:
        remove_active(d, ev->run_id);
        break;
    case AMX_EVENT_NOTE:
        cli_clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: note: %s\n", ev->message);
        break;
    case AMX_EVENT_WARNING:
        cli_clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: warning: %s\n", ev->message);
        break;
    case AMX_EVENT_RUN_REDONE:
        cli_clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: warning: run %s (%s) has a damaged result, redoing it: %s\n",
                ev->run_id, ev->label, ev->message);
        break;
    case AMX_EVENT_TASK_FAILED: {
        struct failure *f = realloc(d->failures, (d->n_failures + 1) * sizeof *f);
        if (f) {
            d->failures = f;
            f = &f[d->n_failures++];
            snprintf(f->id, sizeof f->id, "%s", ev->is_pretrain ? "(pretraining)" : ev->run_id);
            f->label = strdup(ev->label ? ev->label : "");
            f->message = strdup(ev->message ? ev->message : "");
        }
        remove_active(d, ev->run_id);
        cli_clear_live(d);
        fflush(stdout);
        fprintf(stderr, "adamix-run: %s %s failed: %s\n", ev->is_pretrain ? "task" : "run",
                ev->label, ev->message);
        break;
    }
    }
    draw_live(d);
}

void cli_display_free(struct display *d)
{
    for (size_t i = 0; i < d->n_failures; i++) {
        free(d->failures[i].label);
        free(d->failures[i].message);
    }
    free(d->failures);
    d->failures = NULL;
    d->n_failures = 0;
}
