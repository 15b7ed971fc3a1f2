/* Shared between the files of src/run (not public). */
#ifndef ADAMIX_RUN_INTERNAL_H
#define ADAMIX_RUN_INTERNAL_H

#include "adamix/config.h"
#include "adamix/data.h"
#include "adamix/error.h"
#include "adamix/nn.h"
#include "adamix/run.h"
#include "adamix/sweep.h"

/* The images one data configuration gives: training rows [0, n_train), then
 * the held-out validation rows, all in one array; the test rows apart. A
 * classifier's data also has every image's label (label_offset already
 * subtracted), in the same order. */
struct amx_run_data {
    char key[65]; /* SHA-256 of the data section's canonical text */
    struct amx_images train_all;
    struct amx_images test;
    size_t n_train, n_valid;
    const float *train, *valid;
    char train_path[2 * AMX_PATH_MAX + 2], test_path[2 * AMX_PATH_MAX + 2];
    /* labels: NULL but for a classifier */
    uint8_t *train_labels_all, *test_labels;
    const uint8_t *train_labels, *valid_labels;
    int max_label; /* the largest label of either file */
    char train_labels_path[2 * AMX_PATH_MAX + 2], test_labels_path[2 * AMX_PATH_MAX + 2];
    char train_labels_sha256[65], test_labels_sha256[65];
};

/* A classifier's number of classes: network.classes, or one more than the
 * largest label when it is 0. */
int amx_run_data_classes(const struct amx_run_config *cfg, const struct amx_run_data *d);

/* Loads (or finds already loaded) the data of cfg. */
enum amx_status amx_run_data_load(const struct amx_run_config *cfg, struct amx_run_data *d,
                                  struct amx_error *err);
void amx_run_data_free(struct amx_run_data *d);
/* The checks of one run's configuration against its loaded data that the
 * data load itself does not make (evaluation.train_subset at most the
 * training images; a classifier's labels below network.classes);
 * AMX_ERR_CONFIG located at the key. */
enum amx_status amx_run_data_check(const struct amx_run_config *cfg, const struct amx_run_data *d,
                                   struct amx_error *err);

/* Pretraining cache: the RBM stack in a small binary file with a header
 * (magic, version, shapes, the seconds the pretraining took) and a SHA-256 of
 * everything before it. */
enum amx_status amx_cache_save(const char *path, const struct amx_rbm *rbms, int n, double seconds,
                               struct amx_error *err);
/* AMX_OK when the file exists, is intact and has exactly these shapes;
 * AMX_ERR_DATA (with the reason) when it is missing, corrupt or different. */
enum amx_status amx_cache_load(const char *path, struct amx_rbm *rbms, int n, double *seconds,
                               struct amx_error *err);

/* The lock of one cache entry (cache.c says why and how). */
struct amx_cache_lock {
    int fd; /* >= 0 while held */
    char path[AMX_PATH_MAX + 80];
    char reason[AMX_PATH_MAX + 160]; /* UNLOCKABLE: why */
};
enum amx_cache_lock_state {
    AMX_CACHE_LOCKED,    /* ours until amx_cache_unlock */
    AMX_CACHE_BUSY,      /* another process holds it: try again later */
    AMX_CACHE_UNLOCKABLE /* no locks here (reason says why): compute without */
};
/* Tries, without waiting, to lock the entry at cache_path. */
enum amx_cache_lock_state amx_cache_trylock(const char *cache_path, struct amx_cache_lock *lk);
/* Removes the lock file and lets go; nothing when not held. */
void amx_cache_unlock(struct amx_cache_lock *lk);

/* The pretraining key: SHA-256 of what pretraining depends on (the canonical
 * pretrain form and the training file's contents). False when out of memory
 * (key then undefined: a key of half the text could name another stack). */
bool amx_pretrain_key(const struct amx_run_config *cfg, const struct amx_run_data *d, char key[65]);

typedef void (*amx_progress_fn)(void *ctx, int layer, int epoch, int epochs, double error);

/* `threads` (1 or 2) only changes the speed: results are bit-identical
 * (src/nn splits every product into AMX_NN_SPLIT fixed parts). */

/* Pretrains the stack of cfg on d and stores it at cache_path; writes the
 * per-epoch log (layer, epoch, RBM reconstruction error, seconds) to
 * log_path. */
enum amx_status amx_task_pretrain(const struct amx_run_config *cfg, const struct amx_run_data *d,
                                  const char *cache_path, const char *log_path, int threads,
                                  amx_progress_fn progress, void *pctx, struct amx_error *err);

/* One run: loads the pretrained stack (when pretraining is on), fine-tunes,
 * writes config.yaml, curve.csv and, last, summary.json into run_dir. */
enum amx_status amx_task_finetune(const struct amx_experiment *exp, size_t run,
                                  const struct amx_run_data *d, const char *cache_path,
                                  const char *run_dir, int threads, amx_progress_fn progress,
                                  void *pctx, struct amx_error *err);

/* weights.c: the network's parameters as a numpy .npz (names, shapes and
 * orientation of torch.nn.Linear: encoder.K.weight (out, in), ..., or a
 * classifier's torch.nn.Sequential names 0.weight, 2.weight, ...). */
enum amx_status amx_write_weights_npz(const char *path, const struct amx_net *ae,
                                      struct amx_error *err);

/* pictures.c (libpng): gallery.png, the n images orig (n x rows*cols, in
 * [0,1]) above their reconstructions first (epoch 0) and last; filters.png,
 * the first layer's weights as image tiles. Into the run folder dir. */
enum amx_status amx_write_gallery(const char *dir, const float *orig, const float *first,
                                  const float *last, size_t n, size_t rows, size_t cols,
                                  struct amx_error *err);
enum amx_status amx_write_filters(const char *dir, const struct amx_net *ae, size_t rows,
                                  size_t cols, struct amx_error *err);
/* `name` (a PNG): the n images (n x rows*cols, in [0,1]) in rows of 16,
 * scaled 2x. */
enum amx_status amx_write_image_row(const char *dir, const char *name, const float *images,
                                    size_t n, size_t rows, size_t cols, struct amx_error *err);
/* confusion.png from counts (C x C, row: true class, column: predicted). */
enum amx_status amx_write_confusion_png(const char *dir, const long *counts, int C,
                                        struct amx_error *err);

#endif
