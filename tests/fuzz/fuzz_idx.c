/* libFuzzer target: the IDX reader, plain and gzipped.
 *
 * The input's first byte chooses how the rest becomes the file read:
 *   bit 0    the rest is gzip-compressed by this target before it is written
 *            (so the IDX checks behind the gzip layer are reached with valid
 *            streams); clear: the rest is written as it is (a raw IDX file,
 *            or a gzip stream the fuzzer corrupts: cut trailers, flipped
 *            bytes, garbage after the stream)
 *   bit 1    read it as a label file (amx_idx_read_labels), else as images
 *   bits 2-3 the limit: 0 (all), 1, 2, or 1000000 (more than any input holds)
 * The file is written under $TMPDIR (or /tmp). Besides crashes, leaks and
 * UBSan reports, it checks the contract of include/adamix/data.h:
 *   - every failure is AMX_ERR_DATA or AMX_ERR_NOMEM, names the file in
 *     err.path, has a message, and returns nothing (zeroed struct, NULL
 *     pointer);
 *   - images: the header read agrees with the full read (a success of the
 *     full read implies one of the header read, with the same counts and
 *     sizes); the kept pixels are in [0,1] and the SHA-256 is the file's;
 *   - the limit is kept: n equals it, or the file's count when it is 0.
 *
 * Seeds: tests/fuzz/corpus/fuzz_idx/ (first byte as above, then the file). */
#define _POSIX_C_SOURCE 200809L
#include "adamix/data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char g_path[512];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_idx: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void remove_file(void)
{
    unlink(g_path);
}

static void put(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) fail("cannot write", g_path);
}

/* The rest of the input as one gzip member (deflate level 1: speed). */
static void put_gzip(const uint8_t *data, size_t size)
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
    put(out, cap - z.avail_out);
    deflateEnd(&z);
    free(out);
}

static void check_error(enum amx_status st, const struct amx_error *err)
{
    if (st != AMX_ERR_DATA && st != AMX_ERR_NOMEM) fail("a failure of another code", err->msg);
    if (err->code != st) fail("err.code differs from the status", err->msg);
    if (strcmp(err->path, g_path) != 0) fail("the error does not name the file", err->path);
    if (!err->msg[0]) fail("an error without a message", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20)) return 0;
    if (!g_path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_path, sizeof g_path, "%s/adamix-fuzz-idx-%ld", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        atexit(remove_file);
    }
    const unsigned mode = data[0];
    static const long limits[] = {0, 1, 2, 1000000};
    const long limit = limits[(mode >> 2) & 3];
    if (mode & 1)
        put_gzip(data + 1, size - 1);
    else
        put(data + 1, size - 1);

    struct amx_error err;
    memset(&err, 0, sizeof err);
    if (mode & 2) {
        uint8_t *labels = (uint8_t *)&err; /* must become NULL on failure */
        size_t n = 12345;
        enum amx_status st = amx_idx_read_labels(g_path, limit, &labels, &n, &err);
        if (st != AMX_OK) {
            check_error(st, &err);
            if (labels != NULL || n != 0) fail("a failed label read returned something", NULL);
        } else {
            if (n == 0 || (limit && n != (size_t)limit)) fail("labels: n against the limit", NULL);
            free(labels);
        }
        return 0;
    }

    struct amx_idx_header h;
    struct amx_error herr;
    memset(&herr, 0, sizeof herr);
    enum amx_status hst = amx_idx_read_images_header(g_path, limit, &h, &herr);
    if (hst != AMX_OK) {
        check_error(hst, &herr);
        static const struct amx_idx_header zero;
        if (memcmp(&h, &zero, sizeof h) != 0) fail("a failed header read returned something", NULL);
    }
    struct amx_images im;
    enum amx_status st = amx_idx_read_images(g_path, limit, &im, &err);
    if (st != AMX_OK) {
        check_error(st, &err);
        if (im.x != NULL || im.n != 0 || im.dim != 0)
            fail("a failed read returned something", NULL);
        return 0;
    }
    if (hst != AMX_OK) fail("the full read accepts what the header read refuses", herr.msg);
    if (im.n != h.n || im.rows != h.rows || im.cols != h.cols || im.dim != h.dim ||
        im.dim != im.rows * im.cols)
        fail("the header read and the full read disagree", NULL);
    if (im.n == 0 || (limit ? im.n != (size_t)limit : im.n != h.n_file))
        fail("images: n against the limit", NULL);
    for (size_t i = 0; i < im.n * im.dim; i++)
        if (!(im.x[i] >= 0.0f && im.x[i] <= 1.0f)) fail("a pixel outside [0,1]", NULL);
    char hex[65];
    if (amx_file_sha256(g_path, hex, &err) != AMX_OK || strcmp(hex, im.sha256) != 0)
        fail("the SHA-256 is not the file's", NULL);
    amx_images_free(&im);
    return 0;
}
