/* How many workers this machine can take: by its cores and by the memory
 * each worker needs against what is available. */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
int amx_cap_jobs(const struct amx_experiment *exp, const struct amx_run_data *data,
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
