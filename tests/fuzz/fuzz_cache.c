/* libFuzzer target: the pretraining-cache reader amx_cache_load
 * (src/run/cache.c).
 *
 * Input layout:
 *   byte 0   flags: bit 0 set: this target overwrites the file's last 32
 *            bytes with the SHA-256 of the bytes before them, so that inputs
 *            get past the checksum to the shape and copy code (without it
 *            nearly every mutation stops at the checksum)
 *   byte 1   the stack the caller expects: n = 1 + byte % 3 RBMs
 *   bytes 2.. n + 1 layer sizes, each 1 + byte % 8 (RBM i is sizes[i] x
 *            sizes[i + 1]; the last has linear hidden units, as a real stack)
 *   the rest the cache file, written under $TMPDIR (or /tmp)
 * Besides crashes, leaks and UBSan reports, it checks the contract:
 *   - the status is AMX_OK or AMX_ERR_DATA, a failure with a message that
 *     names the file, and a failure leaves the caller's RBMs untouched;
 *   - AMX_OK only for a file that amx_cache_save writes back byte for byte
 *     from what was loaded (the format has one encoding per stack), with the
 *     seconds of its header.
 *
 * Seeds: tests/fuzz/corpus/fuzz_cache/ (valid files of several stacks, and
 * damaged ones). */
#define _POSIX_C_SOURCE 200809L
#include "../private.h"
#include "adamix/fsutil.h"
#include "adamix/sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_RBMS = 3 };

static char g_path[512], g_back[520];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_cache: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void remove_files(void)
{
    unlink(g_path);
    unlink(g_back);
}

static void put(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) fail("cannot write", path);
}

/* A pattern the reader must not change when it refuses the file. */
static void fill(struct amx_rbm *r, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < r[i].V * r[i].H; k++)
            r[i].W[k] = (float)k + 0.5f;
        for (int k = 0; k < r[i].V; k++)
            r[i].bv[k] = -(float)k;
        for (int k = 0; k < r[i].H; k++)
            r[i].bh[k] = 2.0f * (float)k;
    }
}

static int filled(const struct amx_rbm *r, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < r[i].V * r[i].H; k++)
            if (r[i].W[k] != (float)k + 0.5f) return 0;
        for (int k = 0; k < r[i].V; k++)
            if (r[i].bv[k] != -(float)k) return 0;
        for (int k = 0; k < r[i].H; k++)
            if (r[i].bh[k] != 2.0f * (float)k) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1 << 20)) return 0;
    const int n = 1 + data[1] % MAX_RBMS;
    if (size < 2 + (size_t)n + 1) return 0;
    int sizes[MAX_RBMS + 1];
    for (int i = 0; i <= n; i++)
        sizes[i] = 1 + data[2 + i] % 8;
    const uint8_t *file = data + 3 + n;
    size_t len = size - (size_t)(3 + n);
    if (!g_path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_path, sizeof g_path, "%s/adamix-fuzz-cache-%ld", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        snprintf(g_back, sizeof g_back, "%s.back", g_path);
        atexit(remove_files);
    }
    if ((data[0] & 1) && len >= 32) {
        uint8_t *copy = malloc(len);
        if (!copy) fail("out of memory", NULL);
        memcpy(copy, file, len);
        struct amx_sha256 s;
        amx_sha256_init(&s);
        amx_sha256_update(&s, copy, len - 32);
        amx_sha256_final(&s, copy + len - 32);
        put(g_path, copy, len);
        free(copy);
    } else {
        put(g_path, file, len);
    }

    struct amx_rbm rbms[MAX_RBMS];
    struct amx_error err;
    memset(rbms, 0, sizeof rbms);
    memset(&err, 0, sizeof err);
    for (int i = 0; i < n; i++)
        if (amx_rbm_init(&rbms[i], sizes[i], sizes[i + 1], i == n - 1, 1, &err) != AMX_OK)
            fail("amx_rbm_init", err.msg);
    fill(rbms, n);
    double seconds = -1;
    enum amx_status st = amx_cache_load(g_path, rbms, n, &seconds, &err);
    if (st != AMX_OK) {
        if (st != AMX_ERR_DATA || err.code != AMX_ERR_DATA)
            fail("a failure of another code", err.msg);
        if (!err.msg[0]) fail("an error without a message", NULL);
        if (strcmp(err.path, g_path) != 0) fail("the error does not name the file", err.path);
        if (!filled(rbms, n)) fail("a refused file changed the caller's RBMs", err.msg);
        if (seconds != -1) fail("a refused file set the seconds", NULL);
    } else {
        /* the file is the one encoding of what was loaded */
        if (amx_cache_save(g_back, rbms, n, seconds, &err) != AMX_OK) fail("save", err.msg);
        char *back = NULL, *orig = NULL;
        size_t blen = 0, olen = 0;
        if (amx_read_file(g_back, &back, &blen, &err) != AMX_OK ||
            amx_read_file(g_path, &orig, &olen, &err) != AMX_OK)
            fail("read back", err.msg);
        /* NaN payloads survive memcpy, so the bytes must agree exactly */
        if (blen != olen || memcmp(back, orig, blen) != 0)
            fail("an accepted file is not what save writes for its content", NULL);
        free(back);
        free(orig);
    }
    for (int i = 0; i < n; i++)
        amx_rbm_free(&rbms[i]);
    return 0;
}
