/* Executing the planned tasks: up to `jobs` forked worker processes, one
 * task each. Workers report progress through one pipe in fixed-size records
 * (each below PIPE_BUF, so writes never interleave); the parent turns them
 * into events for the caller, reaps the workers, records what they left and
 * stops them all on SIGINT or SIGTERM. */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include "adamix/fsutil.h"
#include "adamix/results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* One progress record from a worker. */
struct msg {
    int task;
    int kind; /* 0 progress, 1 error */
    int layer, epoch, epochs;
    double error;
    char text[AMX_ERROR_MSG_MAX + AMX_ERROR_PATH_MAX / 2];
};

static int g_pipe_fd = -1; /* worker side: where to report */
static int g_task = -1;

static void worker_progress(void *ctx, int layer, int epoch, int epochs, double error)
{
    (void)ctx;
    struct msg m;
    memset(&m, 0, sizeof m);
    m.task = g_task;
    m.layer = layer;
    m.epoch = epoch;
    m.epochs = epochs;
    m.error = error;
    if (write(g_pipe_fd, &m, sizeof m) < 0) {
        /* the parent is gone (then SIGPIPE ends this worker; a rerun redoes
         * its run) */
    }
}

static void worker_error(const struct amx_error *err)
{
    struct msg m;
    memset(&m, 0, sizeof m);
    m.task = g_task;
    m.kind = 1;
    amx_error_format(err, m.text, sizeof m.text);
    if (write(g_pipe_fd, &m, sizeof m) < 0) {
        /* nothing more to do */
    }
}

void amx_task_paths(const struct runner *rn, const struct task *t, char *run_dir, size_t run_size,
                    char *cache, size_t cache_size)
{
    if (run_dir) snprintf(run_dir, run_size, "%s/%s", rn->runs_dir, t->id);
    if (cache) {
        const struct task *p =
            t->is_pretrain ? t : (t->pretrain >= 0 ? &rn->tasks[t->pretrain] : NULL);
        if (p)
            snprintf(cache, cache_size, "%s/pretrain-%.16s.bin", rn->cache_dir, p->key);
        else
            cache[0] = '\0';
    }
}

void amx_runner_emit(struct runner *rn, struct amx_event *ev)
{
    ev->total = rn->res->total;
    ev->to_run = rn->to_run;
    ev->skipped = rn->res->skipped;
    ev->done = rn->done;
    ev->failed = rn->failed;
    if (rn->on_event) rn->on_event(ev, rn->ctx);
}

static void label_of(const struct runner *rn, const struct task *t, char *buf, size_t size)
{
    if (t->is_pretrain) {
        const struct amx_run_config *c = &rn->exp->runs[t->run].cfg;
        snprintf(buf, size, "pretraining %.16s (repeat=%d)", t->key, c->repeat);
    } else {
        amx_run_label(rn->exp, t->run, buf, size);
    }
}

static void fail_task(struct runner *rn, size_t i, const char *text)
{
    struct task *t = &rn->tasks[i];
    t->state = T_FAILED;
    char label[1024];
    label_of(rn, t, label, sizeof label);
    struct amx_event ev = {.kind = AMX_EVENT_TASK_FAILED,
                           .run_id = t->id,
                           .label = label,
                           .is_pretrain = t->is_pretrain,
                           .message = text};
    if (!t->is_pretrain) {
        char run_dir[AMX_PATH_MAX + 64];
        amx_task_paths(rn, t, run_dir, sizeof run_dir, NULL, 0);
        amx_results_record_failure(run_dir, text);
        rn->failed++;
        rn->done++;
        rn->res->failed++;
    }
    amx_runner_emit(rn, &ev);
    /* runs waiting for a failed pretraining fail with it */
    if (t->is_pretrain) {
        for (size_t j = 0; j < rn->n_tasks; j++) {
            if (rn->tasks[j].pretrain == (int)i && rn->tasks[j].state == T_WAITING) {
                char msg[AMX_ERROR_MSG_MAX + 64];
                snprintf(msg, sizeof msg, "its pretraining failed: %s", text);
                fail_task(rn, j, msg);
            }
        }
    }
}

static void finish_run(struct runner *rn, size_t i)
{
    struct task *t = &rn->tasks[i];
    char run_dir[AMX_PATH_MAX + 64], path[AMX_PATH_MAX + 96];
    amx_task_paths(rn, t, run_dir, sizeof run_dir, NULL, 0);
    amx_path_join(path, sizeof path, run_dir, "summary.json");
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    const char *status = s ? json_string_value(json_object_get(s, "status")) : NULL;
    if (!status) {
        if (s) json_decref(s);
        fail_task(rn, i, "the worker ended without a readable summary.json");
        return;
    }
    t->state = T_DONE;
    rn->done++;
    if (strcmp(status, "diverged") == 0)
        rn->res->diverged++;
    else
        rn->res->ok++;
    rn->res->ran++;
    char label[1024];
    label_of(rn, t, label, sizeof label);
    json_t *fe = json_object_get(s, "final_test_error");
    struct amx_event ev = {.kind = AMX_EVENT_RUN_DONE,
                           .run_id = t->id,
                           .label = label,
                           .status = status,
                           .error = json_is_number(fe) ? json_number_value(fe) : NAN};
    amx_runner_emit(rn, &ev);
    json_decref(s);
}

static void run_worker(struct runner *rn, size_t i)
{
    struct task *t = &rn->tasks[i];
    g_task = (int)i;
    amx_blas_set_threads(1);
    char run_dir[AMX_PATH_MAX + 64], cache[AMX_PATH_MAX + 64];
    amx_task_paths(rn, t, run_dir, sizeof run_dir, cache, sizeof cache);
    struct amx_error err = {0};
    enum amx_status st;
    const struct amx_run_data *d = &rn->data[t->data];
    if (t->is_pretrain) {
        char log[AMX_PATH_MAX + 64];
        snprintf(log, sizeof log, "%s/%.16s.csv", rn->pretrain_dir, t->key);
        st = amx_task_pretrain(&rn->exp->runs[t->run].cfg, d, cache, log, t->threads,
                               worker_progress, NULL, &err);
    } else {
        amx_results_clear_failure(run_dir);
        st = amx_task_finetune(rn->exp, t->run, d, cache, run_dir, t->threads, worker_progress,
                               NULL, &err);
    }
    if (st != AMX_OK) worker_error(&err);
    _exit(st == AMX_OK ? 0 : 1);
}

static bool task_ready(const struct runner *rn, const struct task *t)
{
    if (t->state != T_WAITING) return false;
    if (t->is_pretrain || t->pretrain < 0) return true;
    return rn->tasks[t->pretrain].state == T_DONE || rn->tasks[t->pretrain].state == T_SKIPPED;
}

static void drain(struct runner *rn, int fd, char **errors)
{
    struct msg m;
    for (;;) {
        ssize_t got = read(fd, &m, sizeof m);
        if (got != (ssize_t)sizeof m) return;
        if (m.task < 0 || (size_t)m.task >= rn->n_tasks) continue;
        struct task *t = &rn->tasks[m.task];
        if (m.kind == 1) {
            m.text[sizeof m.text - 1] = '\0';
            free(errors[m.task]);
            errors[m.task] = strdup(m.text);
            t->error_lost = !errors[m.task];
            continue;
        }
        char label[1024];
        label_of(rn, t, label, sizeof label);
        struct amx_event ev = {.kind = AMX_EVENT_PROGRESS,
                               .run_id = t->id,
                               .label = label,
                               .is_pretrain = t->is_pretrain,
                               .layer = m.layer,
                               .epoch = m.epoch,
                               .epochs = m.epochs,
                               .error = m.error};
        amx_runner_emit(rn, &ev);
    }
}

/* Set by SIGINT/SIGTERM in the parent: start nothing more, stop the workers,
 * write what is known, and return. */
static volatile sig_atomic_t g_interrupted = 0;

static void on_interrupt(int sig)
{
    g_interrupted = sig;
}

/* Before a pretraining starts: take its cache entry's lock, so that another
 * process sharing the cache (a shard of the same array job) does not compute
 * it at the same time. False when it must not start now: the entry is
 * locked elsewhere (lock_busy: try again later), or it became complete while
 * this process waited (then it is reused, and the runs needing it can
 * start). Without locks on this file system it is computed regardless. */
static bool claim_pretrain(struct runner *rn, struct task *t)
{
    char cache[AMX_PATH_MAX + 64];
    amx_task_paths(rn, t, NULL, 0, cache, sizeof cache);
    t->lock_busy = false;
    enum amx_cache_lock_state ls = amx_cache_trylock(cache, &t->lock);
    if (ls == AMX_CACHE_BUSY) {
        t->lock_busy = true;
        return false;
    }
    if (ls == AMX_CACHE_UNLOCKABLE || rn->opt->force) return true;
    const struct amx_network_config *net = &rn->exp->runs[t->run].cfg.network;
    struct amx_rbm rbms[AMX_MAX_LAYERS];
    memset(rbms, 0, sizeof rbms);
    struct amx_error cerr;
    bool ok = true;
    for (int l = 0; l + 1 < net->n_layers && ok; l++)
        ok = amx_rbm_init(&rbms[l], net->layers[l], net->layers[l + 1],
                          l + 2 == net->n_layers && net->code == AMX_UNIT_LINEAR, 1,
                          &cerr) == AMX_OK;
    bool intact = ok && amx_cache_load(cache, rbms, net->n_layers - 1, NULL, &cerr) == AMX_OK;
    for (int l = 0; l + 1 < net->n_layers; l++)
        amx_rbm_free(&rbms[l]);
    if (!intact) return true;
    amx_cache_unlock(&t->lock);
    t->state = T_SKIPPED;
    rn->res->pretrain_reused++;
    return false;
}

/* A worker that was stopped or died may have been writing a file: its
 * temporary (named by its pid, now reaped) goes at once, so that an
 * interrupted sweep leaves nothing half-written behind, not only after the
 * next invocation's clean-up. */
static void remove_worker_leftovers(const struct runner *rn, const struct task *t)
{
    char run_dir[AMX_PATH_MAX + 64];
    amx_task_paths(rn, t, run_dir, sizeof run_dir, NULL, 0);
    if (!t->is_pretrain) amx_remove_temp_files(run_dir);
    amx_remove_temp_files(rn->pretrain_dir);
    amx_remove_temp_files(rn->cache_dir);
}

/* The scheduler's state over one amx_schedule call: the workers' message
 * pipe, their last error messages, the signal handlers to restore, and what
 * runs. */
struct sched {
    int fds[2];
    char **errors; /* [n_tasks]: the last error message of each task's worker */
    struct sigaction old_int, old_term;
    int running, busy; /* workers, and the cores they use */
    bool stop, killed, worker_stopped;
};

/* Forks a worker for task i, its threads chosen (a failed fork fails the
 * task). In the child, never returns. */
static void start_task(struct runner *rn, struct sched *s, size_t i)
{
    struct task *t = &rn->tasks[i];
    /* a task that is the only one ready gets the free cores (up to the
     * AMX_NN_SPLIT parts of a product); results do not depend on it, only
     * the speed does */
    size_t ready = 0;
    for (size_t j = i; j < rn->n_tasks; j++)
        ready += task_ready(rn, &rn->tasks[j]);
    t->threads = 1;
    if (ready == 1) {
        int free_cores = rn->opt->jobs - s->busy;
        t->threads = free_cores < AMX_NN_SPLIT ? free_cores : AMX_NN_SPLIT;
    }
    char label[1024];
    label_of(rn, t, label, sizeof label);
    pid_t pid = fork();
    if (pid < 0) {
        amx_cache_unlock(&t->lock);
        fail_task(rn, i, "could not start a worker process (fork failed)");
        return;
    }
    if (pid == 0) {
        /* the locks of other pretrainings stay with the parent */
        for (size_t j = 0; j < rn->n_tasks; j++)
            if (j != i && rn->tasks[j].lock.fd >= 0) close(rn->tasks[j].lock.fd);
        sigaction(SIGINT, &s->old_int, NULL);
        sigaction(SIGTERM, &s->old_term, NULL);
        /* a signal that came between fork and here hit our handler, not the
         * default action: take that action now */
        if (g_interrupted) raise((int)g_interrupted);
        close(s->fds[0]);
        g_pipe_fd = s->fds[1];
        run_worker(rn, i);
    }
    t->pid = pid;
    t->state = T_RUNNING;
    s->running++;
    s->busy += t->threads;
    struct amx_event ev = {.kind = AMX_EVENT_TASK_START,
                           .run_id = t->id,
                           .label = label,
                           .is_pretrain = t->is_pretrain};
    amx_runner_emit(rn, &ev);
}

/* The message of a worker that failed, from what it said or how it ended. */
static void failure_text(const struct task *t, const char *said, int status, char *text,
                         size_t size)
{
    if (said)
        snprintf(text, size, "%s", said);
    else if (t->error_lost)
        snprintf(text, size,
                 "out of memory keeping the worker's message (it exited with status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else if (WIFSIGNALED(status))
        snprintf(text, size, "worker killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(text, size, "worker exited with status %d", WEXITSTATUS(status));
}

/* Task i's worker ended with status: done, stopped or failed. */
static void reap_task(struct runner *rn, struct sched *s, size_t i, int status)
{
    struct task *t = &rn->tasks[i];
    s->running--;
    s->busy -= t->threads;
    amx_cache_unlock(&t->lock); /* written (or failed): others may go on */
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) remove_worker_leftovers(rn, t);
    if (ok && t->is_pretrain) {
        t->state = T_DONE;
        rn->res->pretrain_computed++;
        char label[1024];
        label_of(rn, t, label, sizeof label);
        struct amx_event ev = {
            .kind = AMX_EVENT_PRETRAIN_DONE, .run_id = t->id, .label = label, .is_pretrain = true};
        amx_runner_emit(rn, &ev);
    } else if (ok) {
        finish_run(rn, i);
    } else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT)) {
        /* stopped: by us, or by the Ctrl-C (or scancel) that reached the
         * whole process group and the worker first, before our own handler
         * ran or before this loop saw its flag. Never a failure of the run:
         * redone by the next invocation. */
        t->state = T_STOPPED;
        s->worker_stopped = true;
    } else {
        char text[AMX_ERROR_MSG_MAX + 128];
        failure_text(t, s->errors[i], status, text, sizeof text);
        fail_task(rn, i, text);
    }
    if (rn->opt->fail_fast && t->state == T_FAILED) s->stop = true;
}

/* Whether the loop is done: nothing runs here, and no pretraining waits for
 * another process to finish it (poll paces those retries). */
static bool all_done(const struct runner *rn, const struct sched *s)
{
    if (s->running != 0) return false;
    bool lock_wait = false;
    for (size_t i = 0; i < rn->n_tasks && !s->stop; i++)
        lock_wait |= rn->tasks[i].state == T_WAITING && rn->tasks[i].lock_busy;
    return !lock_wait;
}

enum amx_status amx_schedule(struct runner *rn, struct amx_error *err)
{
    struct sched s = {.running = 0};
    if (pipe(s.fds) != 0) return amx_fail(err, AMX_ERR_RUN, "", 0, 0, "pipe: %s", strerror(errno));
    fcntl(s.fds[0], F_SETFL, O_NONBLOCK);
    s.errors = calloc(rn->n_tasks ? rn->n_tasks : 1, sizeof *s.errors);
    if (!s.errors) {
        close(s.fds[0]);
        close(s.fds[1]);
        return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &s.old_int);
    sigaction(SIGTERM, &sa, &s.old_term);
    fflush(NULL);
    for (;;) {
        if (g_interrupted) s.stop = true;
        /* start what can start */
        for (size_t i = 0; i < rn->n_tasks && s.busy < rn->opt->jobs && !s.stop; i++) {
            struct task *t = &rn->tasks[i];
            if (!task_ready(rn, t)) continue;
            if (t->is_pretrain && !claim_pretrain(rn, t)) continue;
            start_task(rn, &s, i);
        }
        if (all_done(rn, &s)) break;
        if (s.stop && !s.killed) {
            for (size_t i = 0; i < rn->n_tasks; i++)
                if (rn->tasks[i].state == T_RUNNING) kill(rn->tasks[i].pid, SIGTERM);
            s.killed = true;
        }
        struct pollfd p = {.fd = s.fds[0], .events = POLLIN};
        poll(&p, 1, 100);
        drain(rn, s.fds[0], s.errors);
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            drain(rn, s.fds[0], s.errors);
            for (size_t i = 0; i < rn->n_tasks; i++)
                if (rn->tasks[i].state == T_RUNNING && rn->tasks[i].pid == pid)
                    reap_task(rn, &s, i, status);
        }
    }
    drain(rn, s.fds[0], s.errors);
    for (size_t i = 0; i < rn->n_tasks; i++) {
        amx_cache_unlock(&rn->tasks[i].lock);
        free(s.errors[i]);
    }
    free(s.errors);
    close(s.fds[0]);
    close(s.fds[1]);
    sigaction(SIGINT, &s.old_int, NULL);
    sigaction(SIGTERM, &s.old_term, NULL);
    if (g_interrupted || s.worker_stopped) rn->res->interrupted = true;
    return AMX_OK;
}
