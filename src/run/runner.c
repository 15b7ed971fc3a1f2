/* The runner: decides which runs to do (resume, shard, --force,
 * --rerun-failed), loads the data once, and executes pretraining and run tasks
 * in up to `jobs` forked worker processes. Workers report progress through one
 * pipe in fixed-size records (each below PIPE_BUF, so writes never interleave);
 * the parent turns them into events for the caller to display.
 *
 * Results never depend on the number of workers: every task is a function of
 * its configuration and streams only, and each worker uses one BLAS thread. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"
#include "adamix/nn.h" /* amx_blas_* */
#include "adamix/report.h"
#include "adamix/results.h"
#include "adamix/sha256.h"
#include "adamix/version.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static void data_key(const struct amx_data_config *dc, char key[65])
{
    char text[4 * AMX_PATH_MAX];
    snprintf(text, sizeof text, "%s\n%s\n%s\n%ld\n%ld\n%ld", dc->dir, dc->train, dc->test,
             dc->train_limit, dc->test_limit, dc->validation);
    amx_sha256_hex(text, strlen(text), key);
}

static void iso_time(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

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

static void task_paths(const struct runner *rn, const struct task *t, char *run_dir,
                       size_t run_size, char *cache, size_t cache_size)
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

static void emit(struct runner *rn, struct amx_event *ev)
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
        task_paths(rn, t, run_dir, sizeof run_dir, NULL, 0);
        amx_results_record_failure(run_dir, text);
        rn->failed++;
        rn->done++;
        rn->res->failed++;
    }
    emit(rn, &ev);
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
    task_paths(rn, t, run_dir, sizeof run_dir, NULL, 0);
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
    emit(rn, &ev);
    json_decref(s);
}

static void run_worker(struct runner *rn, size_t i)
{
    struct task *t = &rn->tasks[i];
    g_task = (int)i;
    amx_blas_set_threads(1);
    char run_dir[AMX_PATH_MAX + 64], cache[AMX_PATH_MAX + 64];
    task_paths(rn, t, run_dir, sizeof run_dir, cache, sizeof cache);
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
        emit(rn, &ev);
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
    task_paths(rn, t, NULL, 0, cache, sizeof cache);
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
    task_paths(rn, t, run_dir, sizeof run_dir, NULL, 0);
    if (!t->is_pretrain) amx_remove_temp_files(run_dir);
    amx_remove_temp_files(rn->pretrain_dir);
    amx_remove_temp_files(rn->cache_dir);
}

static enum amx_status schedule(struct runner *rn, struct amx_error *err)
{
    int fds[2];
    if (pipe(fds) != 0) return amx_fail(err, AMX_ERR_RUN, "", 0, 0, "pipe: %s", strerror(errno));
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char **errors = calloc(rn->n_tasks ? rn->n_tasks : 1, sizeof *errors);
    if (!errors) {
        close(fds[0]);
        close(fds[1]);
        return amx_fail(err, AMX_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int running = 0, busy = 0; /* workers, and the cores they use */
    bool stop = false, killed = false, worker_stopped = false;
    fflush(NULL);
    for (;;) {
        if (g_interrupted) stop = true;
        /* start what can start */
        for (size_t i = 0; i < rn->n_tasks && busy < rn->opt->jobs && !stop; i++) {
            struct task *t = &rn->tasks[i];
            if (!task_ready(rn, t)) continue;
            if (t->is_pretrain && !claim_pretrain(rn, t)) continue;
            /* a task that is the only one ready gets the free cores (up to
             * the AMX_NN_SPLIT parts of a product); results do not depend on
             * it, only the speed does */
            size_t ready = 0;
            for (size_t j = i; j < rn->n_tasks; j++)
                ready += task_ready(rn, &rn->tasks[j]);
            t->threads = 1;
            if (ready == 1) {
                int free_cores = rn->opt->jobs - busy;
                t->threads = free_cores < AMX_NN_SPLIT ? free_cores : AMX_NN_SPLIT;
            }
            char label[1024];
            label_of(rn, t, label, sizeof label);
            pid_t pid = fork();
            if (pid < 0) {
                amx_cache_unlock(&t->lock);
                fail_task(rn, i, "could not start a worker process (fork failed)");
                continue;
            }
            if (pid == 0) {
                /* the locks of other pretrainings stay with the parent */
                for (size_t j = 0; j < rn->n_tasks; j++)
                    if (j != i && rn->tasks[j].lock.fd >= 0) close(rn->tasks[j].lock.fd);
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGTERM, &old_term, NULL);
                /* a signal that came between fork and here hit our handler,
                 * not the default action: take that action now */
                if (g_interrupted) raise((int)g_interrupted);
                close(fds[0]);
                g_pipe_fd = fds[1];
                run_worker(rn, i);
            }
            t->pid = pid;
            t->state = T_RUNNING;
            running++;
            busy += t->threads;
            struct amx_event ev = {.kind = AMX_EVENT_TASK_START,
                                   .run_id = t->id,
                                   .label = label,
                                   .is_pretrain = t->is_pretrain};
            emit(rn, &ev);
        }
        if (running == 0) {
            /* nothing runs here: done, unless a pretraining waits for another
             * process to finish it (poll below paces the retries) */
            bool lock_wait = false;
            for (size_t i = 0; i < rn->n_tasks && !stop; i++)
                lock_wait |= rn->tasks[i].state == T_WAITING && rn->tasks[i].lock_busy;
            if (!lock_wait) break;
        }
        if (stop && !killed) {
            for (size_t i = 0; i < rn->n_tasks; i++)
                if (rn->tasks[i].state == T_RUNNING) kill(rn->tasks[i].pid, SIGTERM);
            killed = true;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        poll(&p, 1, 100);
        drain(rn, fds[0], errors);
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            drain(rn, fds[0], errors);
            for (size_t i = 0; i < rn->n_tasks; i++) {
                struct task *t = &rn->tasks[i];
                if (t->state != T_RUNNING || t->pid != pid) continue;
                running--;
                busy -= t->threads;
                amx_cache_unlock(&t->lock); /* written (or failed): others may go on */
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) remove_worker_leftovers(rn, t);
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                    if (t->is_pretrain) {
                        t->state = T_DONE;
                        rn->res->pretrain_computed++;
                        char label[1024];
                        label_of(rn, t, label, sizeof label);
                        struct amx_event ev = {.kind = AMX_EVENT_PRETRAIN_DONE,
                                               .run_id = t->id,
                                               .label = label,
                                               .is_pretrain = true};
                        emit(rn, &ev);
                    } else {
                        finish_run(rn, i);
                    }
                } else if (WIFSIGNALED(status) &&
                           (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT)) {
                    /* stopped: by us, or by the Ctrl-C (or scancel) that reached the
                     * whole process group and the worker first, before our own
                     * handler ran or before this loop saw its flag. Never a
                     * failure of the run: redone by the next invocation. */
                    t->state = T_STOPPED;
                    worker_stopped = true;
                } else {
                    char text[AMX_ERROR_MSG_MAX + 128];
                    if (errors[i])
                        snprintf(text, sizeof text, "%s", errors[i]);
                    else if (t->error_lost)
                        snprintf(text, sizeof text,
                                 "out of memory keeping the worker's message (it exited with "
                                 "status %d)",
                                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                    else if (WIFSIGNALED(status))
                        snprintf(text, sizeof text, "worker killed by signal %d (%s)",
                                 WTERMSIG(status), strsignal(WTERMSIG(status)));
                    else
                        snprintf(text, sizeof text, "worker exited with status %d",
                                 WEXITSTATUS(status));
                    fail_task(rn, i, text);
                }
                if (rn->opt->fail_fast && t->state == T_FAILED) stop = true;
            }
        }
    }
    drain(rn, fds[0], errors);
    for (size_t i = 0; i < rn->n_tasks; i++) {
        amx_cache_unlock(&rn->tasks[i].lock);
        free(errors[i]);
    }
    free(errors);
    close(fds[0]);
    close(fds[1]);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (g_interrupted || worker_stopped) rn->res->interrupted = true;
    return AMX_OK;
}

/* Bytes one worker process needs for a run, estimated from the sizes alone
 * (an upper bound of what it allocates, not a measure): fine-tuning holds
 * the unrolled network's parameters P, their gradients, up to three values
 * of rule state per parameter (Adam's two moments and a momentum) and, per
 * batch row, every layer's activations and deltas in encoder and decoder;
 * pretraining holds the training images' hidden probabilities of the layer
 * below and above the RBM being trained. The images themselves are shared
 * with the parent (copy-on-write) and not counted; a fixed 32 MiB covers the
 * process and OpenBLAS's buffers. */
static double worker_bytes(const struct amx_run_config *cfg, size_t n_train)
{
    const struct amx_network_config *net = &cfg->network;
    double p = net->layers[0], act = 0, widest = 0;
    for (int l = 0; l + 1 < net->n_layers; l++) {
        double in = net->layers[l], out = net->layers[l + 1];
        p += 2 * (in * out) + in + out; /* encoder and decoder weights and biases */
        act += in + out;
        if (out > widest) widest = out;
    }
    double finetune = 4.0 * (5 * p + 4 * act * cfg->finetune.batch_size);
    double pretrain = cfg->pretrain.enabled ? 4.0 * (2 * widest * (double)n_train + 3 * p) : 0;
    return (finetune > pretrain ? finetune : pretrain) + 32.0 * 1024 * 1024;
}

/* MemAvailable of /proc/meminfo in bytes; 0 when unknown. The tests set
 * ADAMIX_TEST_MEM_AVAILABLE (bytes) to stand for it. */
static double mem_available(void)
{
    const char *test = getenv("ADAMIX_TEST_MEM_AVAILABLE");
    if (test && *test) return strtod(test, NULL);
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

/* The workers this machine can take: the --jobs asked for, at most the
 * cores online and the number of the largest worker (worker_bytes) that fit
 * in 90% of the available memory, at least 1. note gets why, when capped. */
static int cap_jobs(const struct amx_experiment *exp, const struct amx_run_data *data,
                    const int *data_of, int jobs, char *note, size_t size)
{
    note[0] = '\0';
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double need = 0;
    for (size_t i = 0; i < exp->n_runs; i++) {
        double b = worker_bytes(&exp->runs[i].cfg, data[data_of[i]].n_train);
        if (b > need) need = b;
    }
    double avail = mem_available();
    int by_cores = cores > 0 && cores < jobs ? (int)cores : jobs;
    int by_mem = jobs;
    if (avail > 0 && need > 0 && 0.9 * avail / need < jobs) {
        double fit = floor(0.9 * avail / need);
        by_mem = fit < 1 ? 1 : (int)fit;
    }
    int n = by_cores < by_mem ? by_cores : by_mem;
    if (n < jobs) {
        const double gib = 1024.0 * 1024 * 1024;
        if (by_mem <= by_cores)
            snprintf(note, size,
                     "--jobs %d capped to %d: each worker may need about %.2f GiB (the largest "
                     "run's parameters, gradients, rule state and activations, or its "
                     "pretraining data) and %.2f GiB of memory are available",
                     jobs, n, need / gib, avail / gib);
        else
            snprintf(note, size, "--jobs %d capped to %d: the number of cores", jobs, n);
    }
    return n;
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
        data_key(&exp->runs[i].cfg.data, keys[i]);
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
        capped.jobs = cap_jobs(exp, rn.data, data_of, opt->jobs, note, sizeof note);
        opt = rn.opt = &capped;
        res->jobs = capped.jobs;
        if (note[0]) {
            struct amx_event ev = {.kind = AMX_EVENT_NOTE, .message = note};
            emit(&rn, &ev);
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
     * refused at once, naming the first (README, "Running experiments") */
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
            if (complete) amx_results_refresh_identity(exp, i, run_dir);
            res->skipped++;
            continue;
        }
        if (state == AMX_RESULT_INVALID && !opt->force) {
            /* a damaged result heals: it is redone, and the user told why */
            char label[1024];
            amx_run_label(exp, i, label, sizeof label);
            struct amx_event ev = {
                .kind = AMX_EVENT_RUN_REDONE, .run_id = r->id, .label = label, .message = why};
            emit(&rn, &ev);
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
                task_paths(&rn, &p, NULL, 0, cache, sizeof cache);
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
                    if (ok &&
                        amx_cache_load(cache, rbms, net->n_layers - 1, NULL, &cerr) == AMX_OK) {
                        p.state = T_SKIPPED;
                        res->pretrain_reused++;
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
    emit(&rn, &plan);

    st = schedule(&rn, err);
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
