/* Atomic whole-file writes, mkdir -p, whole-file reads and a text buffer.
 * Every result file of the program goes through amx_write_file_atomic. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/fsutil.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum amx_status amx_mkdir_p(const char *path, struct amx_error *err)
{
    char buf[AMX_ERROR_PATH_MAX];
    if (!path[0]) return amx_fail(err, AMX_ERR_IO, path, 0, 0, "empty folder name");
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "path too long");
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return amx_fail(err, AMX_ERR_IO, buf, 0, 0, "cannot create folder: %s",
                                strerror(errno));
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return amx_fail(err, AMX_ERR_IO, buf, 0, 0, "exists and is not a folder");
            *p = c;
            if (c == '\0') break;
        }
    }
    return AMX_OK;
}

/* The temporary name of a file being written: "<path>.amx-tmp.<host>.<pid>",
 * so that leftovers can be told from anyone else's files and from those of a
 * live process (on this host, or on another sharing the file system). */
bool amx_temp_name(char *out, size_t size, const char *path)
{
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-') *p = '_';
    int n = snprintf(out, size, "%s%s%s.%ld", path, AMX_TEMP_MARK, host, (long)getpid());
    return n >= 0 && (size_t)n < size;
}

enum amx_status amx_write_file_atomic(const char *path, const void *data, size_t len,
                                      struct amx_error *err)
{
    char tmp[AMX_ERROR_PATH_MAX + 128];
    if (!amx_temp_name(tmp, sizeof tmp, path))
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot write: %s", strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return amx_fail(err, AMX_ERR_IO, path, 0, 0, "write failed: %s", strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "fsync failed: %s", strerror(e));
    }
    if (close(fd) != 0) {
        unlink(tmp);
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "close failed: %s", strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "rename failed: %s", strerror(e));
    }
    return AMX_OK;
}

enum amx_status amx_read_file(const char *path, char **data, size_t *len, struct amx_error *err)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot read: %s", strerror(errno));
    struct amx_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        amx_buf_append(&b, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad || b.failed) {
        amx_buf_free(&b);
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "read failed");
    }
    if (!b.data) amx_buf_append(&b, "", 0);
    if (b.failed) return amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
    *data = b.data;
    if (len) *len = b.len;
    return AMX_OK;
}

bool amx_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool amx_path_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < size;
}

void amx_remove_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char me[AMX_ERROR_PATH_MAX + 128];
    if (!amx_temp_name(me, sizeof me, "")) {
        closedir(d);
        return;
    }
    /* me = ".amx-tmp.<host>.<pid>": keep the host part */
    char *dot = strrchr(me, '.');
    if (dot) dot[1] = '\0';
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *mark = strstr(e->d_name, me);
        if (!mark) continue; /* not ours, or another host's */
        char *end;
        long pid = strtol(mark + strlen(me), &end, 10);
        if (*end || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno == EPERM) continue; /* still being written */
        char p[AMX_ERROR_PATH_MAX + 256];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

void amx_buf_append(struct amx_buf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void amx_buf_printf(struct amx_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        amx_buf_append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    amx_buf_append(b, big, (size_t)n);
    free(big);
}

void amx_buf_free(struct amx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}
