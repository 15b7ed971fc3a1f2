/* libFuzzer target: a classifier's labels as a run reads them
 * (amx_run_data_load and amx_run_data_check, src/run/data.c): the label file
 * is the fuzzer's, paired with a fixed images file of 8 images of 2x2 pixels
 * (training and test alike).
 *
 * The input's first byte chooses how the rest becomes the label file and how
 * it is read:
 *   bit 0    the rest is gzip-compressed by this target before it is written
 *            (so the checks behind the gzip layer are reached); clear: the
 *            rest is written as it is
 *   bits 1-2 data.label_offset: 0, 1, 2 or 7
 *   bit 3    network.classes 10, else 0 (from the labels)
 *   bit 4    data.validation 2, else 0
 * Besides crashes, leaks and UBSan reports, it checks the contract:
 *   - a failure is AMX_ERR_DATA, AMX_ERR_CONFIG or AMX_ERR_NOMEM with a
 *     message, and leaves the data zeroed;
 *   - a success holds 8 training and 8 test labels, each the file's byte
 *     less the offset (never below 0), max_label their largest, and the
 *     validation split's labels the last ones of the training labels;
 *   - the check then passes only when every label is below the classes it
 *     names (network.classes, or max_label + 1) and there are at least 2.
 * The raw file is also read back by amx_idx_read_labels to know what the
 * bytes said, so the check is against the reader, not against itself.
 *
 * Seeds: tests/fuzz/corpus/fuzz_labels/ (first byte as above, then the file). */
#define _POSIX_C_SOURCE 200809L
#include "../private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char g_dir[512], g_labels[600], g_images[600];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_labels: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void cleanup(void)
{
    unlink(g_labels);
    unlink(g_images);
    rmdir(g_dir);
}

static void put(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) fail("cannot write", path);
}

static void put_gzip(const char *path, const uint8_t *data, size_t size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fail("deflateInit2", NULL);
    uLong cap = deflateBound(&z, (uLong)size) + 32;
    uint8_t *out = malloc(cap);
    if (!out) fail("out of memory", NULL);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) fail("deflate", NULL);
    put(path, out, cap - z.avail_out);
    deflateEnd(&z);
    free(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fuzz_labels.%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    mkdir(g_dir, 0700);
    snprintf(g_labels, sizeof g_labels, "%s/labels", g_dir);
    snprintf(g_images, sizeof g_images, "%s/images", g_dir);
    /* 8 images of 2 x 2 pixels */
    uint8_t im[16 + 32] = {0, 0, 8, 3, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 32; i++)
        im[16 + i] = (uint8_t)(i * 8);
    put(g_images, im, sizeof im);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    if (mode & 1)
        put_gzip(g_labels, data + 1, size - 1);
    else
        put(g_labels, data + 1, size - 1);
    static const int offsets[4] = {0, 1, 2, 7};
    struct amx_run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.data.dir, sizeof cfg.data.dir, "%s", g_dir);
    snprintf(cfg.data.train, sizeof cfg.data.train, "images");
    snprintf(cfg.data.test, sizeof cfg.data.test, "images");
    snprintf(cfg.data.train_labels, sizeof cfg.data.train_labels, "labels");
    snprintf(cfg.data.test_labels, sizeof cfg.data.test_labels, "labels");
    cfg.data.label_offset = offsets[(mode >> 1) & 3];
    cfg.data.validation = mode & 16 ? 2 : 0;
    cfg.network.task = AMX_TASK_CLASSIFIER;
    cfg.network.classes = mode & 8 ? 10 : 0;
    cfg.network.n_layers = 1;
    cfg.network.layers[0] = 4;

    /* what the bytes say, by the reader itself */
    uint8_t *raw = NULL;
    size_t n_raw = 0;
    struct amx_error rerr;
    enum amx_status rst = amx_idx_read_labels(g_labels, 0, &raw, &n_raw, &rerr);

    struct amx_run_data d;
    struct amx_error err;
    memset(&err, 0, sizeof err);
    enum amx_status st = amx_run_data_load(&cfg, &d, &err);
    if (st != AMX_OK) {
        if (st != AMX_ERR_DATA && st != AMX_ERR_CONFIG && st != AMX_ERR_NOMEM)
            fail("unexpected status", err.msg);
        if (!err.msg[0]) fail("failure without a message", NULL);
        if (d.train_labels_all || d.test_labels || d.train_all.x)
            fail("failure returned data", NULL);
        free(raw);
        return 0;
    }
    if (rst != AMX_OK || n_raw != 8)
        fail("loaded labels the reader refuses or miscounts", rerr.msg);
    int max = 0;
    for (size_t i = 0; i < 8; i++) {
        if (raw[i] < cfg.data.label_offset) fail("a label below the offset was accepted", NULL);
        int want = raw[i] - cfg.data.label_offset;
        if (d.train_labels_all[i] != want || d.test_labels[i] != want) fail("label changed", NULL);
        if (want > max) max = want;
    }
    if (d.max_label != max) fail("max_label is not the largest label", NULL);
    if (d.valid_labels != d.train_labels_all + d.n_train || d.n_train + d.n_valid != 8)
        fail("validation labels are not the training labels' tail", NULL);
    int classes = amx_run_data_classes(&cfg, &d);
    bool ok = classes >= 2 && max < classes;
    enum amx_status cst = amx_run_data_check(&cfg, &d, &err);
    if ((cst == AMX_OK) != ok) fail("the check disagrees with the labels and classes", err.msg);
    amx_run_data_free(&d);
    free(raw);
    return 0;
}
