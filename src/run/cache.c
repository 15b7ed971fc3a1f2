/* The pretraining cache file: a pretrained RBM stack, content-addressed by
 * the pretraining key (internal.h) and stored under the results folder.
 *
 * Layout (little-endian as the machine writes it; the header says which):
 *   "AMXRBM\0\0"  magic, 8 bytes
 *   u32 version (2), u32 byte-order mark 0x01020304, u32 number of RBMs n
 *   n x (u32 V, u32 H, u32 linear_hidden)
 *   f64 seconds the pretraining took (so every run sharing it can report it)
 *   n x (W: V*H floats row-major V x H, b_vis: V floats, b_hid: H floats)
 *   32 bytes: SHA-256 of everything above
 * A file that is missing, short, long, of other shapes or with a wrong
 * checksum is reported (AMX_ERR_DATA) and the caller recomputes it.
 *
 * Concurrent writers (shards of an array job sharing --cache) never corrupt
 * an entry: it is written to a temporary name and renamed into place, and
 * every read verifies the checksum. So that they also compute it only once,
 * an entry has a lock, flock(2) on "<entry>.lock": the process that holds it
 * computes, the others do other work or wait, then find the entry complete.
 * The kernel (or the NFS server) drops the lock of a process that dies, so a
 * killed shard never blocks the others. Where the file system refuses locks
 * the caller computes anyway: twice the work, never a corrupt entry. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include "adamix/fsutil.h"
#include "adamix/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'A', 'M', 'X', 'R', 'B', 'M', 0, 0};
enum { CACHE_VERSION = 2, BOM = 0x01020304 };

static void put_u32(struct amx_buf *b, uint32_t v)
{
    amx_buf_append(b, (const char *)&v, sizeof v);
}

enum amx_status amx_cache_save(const char *path, const struct amx_rbm *rbms, int n, double seconds,
                               struct amx_error *err)
{
    struct amx_buf b = {0};
    amx_buf_append(&b, magic, sizeof magic);
    put_u32(&b, CACHE_VERSION);
    put_u32(&b, BOM);
    put_u32(&b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put_u32(&b, (uint32_t)rbms[i].V);
        put_u32(&b, (uint32_t)rbms[i].H);
        put_u32(&b, rbms[i].linear_hidden ? 1u : 0u);
    }
    amx_buf_append(&b, (const char *)&seconds, sizeof seconds);
    for (int i = 0; i < n; i++) {
        size_t V = (size_t)rbms[i].V, H = (size_t)rbms[i].H;
        amx_buf_append(&b, (const char *)rbms[i].W, sizeof(float) * V * H);
        amx_buf_append(&b, (const char *)rbms[i].bv, sizeof(float) * V);
        amx_buf_append(&b, (const char *)rbms[i].bh, sizeof(float) * H);
    }
    if (b.failed) {
        amx_buf_free(&b);
        return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    struct amx_sha256 s;
    uint8_t digest[32];
    amx_sha256_init(&s);
    amx_sha256_update(&s, b.data, b.len);
    amx_sha256_final(&s, digest);
    amx_buf_append(&b, (const char *)digest, sizeof digest);
    enum amx_status st = b.failed ? amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory")
                                  : amx_write_file_atomic(path, b.data, b.len, err);
    amx_buf_free(&b);
    return st;
}

static uint32_t get_u32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

enum amx_status amx_cache_load(const char *path, struct amx_rbm *rbms, int n, double *seconds,
                               struct amx_error *err)
{
    char *data = NULL;
    size_t len = 0;
    if (!amx_file_exists(path)) return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "missing");
    enum amx_status st = amx_read_file(path, &data, &len, err);
    if (st != AMX_OK) return AMX_ERR_DATA;
    size_t header = sizeof magic + 12 + 12 * (size_t)n + sizeof(double);
    size_t body = 0;
    for (int i = 0; i < n; i++)
        body += sizeof(float) *
                ((size_t)rbms[i].V * (size_t)rbms[i].H + (size_t)rbms[i].V + (size_t)rbms[i].H);
    st = AMX_ERR_DATA;
    if (len < sizeof magic + 12 || memcmp(data, magic, sizeof magic) != 0) {
        amx_fail(err, st, path, 0, 0, "not a pretraining cache file (bad magic)");
        goto out;
    }
    if (get_u32(data + 8) != CACHE_VERSION || get_u32(data + 12) != BOM) {
        amx_fail(err, st, path, 0, 0, "cache file of another version or byte order");
        goto out;
    }
    if (get_u32(data + 16) != (uint32_t)n || len != header + body + 32) {
        amx_fail(err, st, path, 0, 0, "cache file has %zu bytes, expected %zu", len,
                 header + body + 32);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const char *p = data + sizeof magic + 12 + 12 * (size_t)i;
        if (get_u32(p) != (uint32_t)rbms[i].V || get_u32(p + 4) != (uint32_t)rbms[i].H ||
            get_u32(p + 8) != (rbms[i].linear_hidden ? 1u : 0u)) {
            amx_fail(err, st, path, 0, 0, "cache file holds RBM %d of another shape", i + 1);
            goto out;
        }
    }
    uint8_t digest[32];
    struct amx_sha256 s;
    amx_sha256_init(&s);
    amx_sha256_update(&s, data, header + body);
    amx_sha256_final(&s, digest);
    if (memcmp(digest, data + header + body, 32) != 0) {
        amx_fail(err, st, path, 0, 0, "cache file checksum mismatch (corrupt)");
        goto out;
    }
    if (seconds) memcpy(seconds, data + header - sizeof(double), sizeof(double));
    const char *p = data + header;
    for (int i = 0; i < n; i++) {
        size_t V = (size_t)rbms[i].V, H = (size_t)rbms[i].H;
        memcpy(rbms[i].W, p, sizeof(float) * V * H);
        p += sizeof(float) * V * H;
        memcpy(rbms[i].bv, p, sizeof(float) * V);
        p += sizeof(float) * V;
        memcpy(rbms[i].bh, p, sizeof(float) * H);
        p += sizeof(float) * H;
        amx_rbm_sync_bf16(&rbms[i]); /* their bf16 copies, if they have any */
    }
    st = AMX_OK;
out:
    free(data);
    return st;
}

enum amx_cache_lock_state amx_cache_trylock(const char *cache_path, struct amx_cache_lock *lk)
{
    lk->fd = -1;
    lk->reason[0] = '\0';
    if (snprintf(lk->path, sizeof lk->path, "%s.lock", cache_path) >= (int)sizeof lk->path) {
        snprintf(lk->reason, sizeof lk->reason, "path too long");
        return AMX_CACHE_UNLOCKABLE;
    }
    /* The holder unlinks the lock file before it lets go (amx_cache_unlock),
     * so whoever locked the file it opened checks that the file is still the
     * one at the path; if not, it opens the new one. Two rounds are enough
     * unless the entry is being finished over and over; then it is busy. */
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) {
            snprintf(lk->reason, sizeof lk->reason, "cannot open %s: %s", lk->path,
                     strerror(errno));
            return AMX_CACHE_UNLOCKABLE;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK || e == EINTR) return AMX_CACHE_BUSY;
            snprintf(lk->reason, sizeof lk->reason, "flock on %s: %s", lk->path, strerror(e));
            return AMX_CACHE_UNLOCKABLE;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(lk->path, &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino) {
            lk->fd = fd;
            return AMX_CACHE_LOCKED;
        }
        close(fd); /* locked a file its holder had already removed */
    }
    return AMX_CACHE_BUSY;
}

void amx_cache_unlock(struct amx_cache_lock *lk)
{
    if (lk->fd < 0) return;
    unlink(lk->path);
    close(lk->fd);
    lk->fd = -1;
}
