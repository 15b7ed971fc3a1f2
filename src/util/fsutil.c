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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

enum amx_status amx_mkdir_nofollow(const char *path, struct amx_error *err)
{
    if (!path[0]) return amx_fail(err, AMX_ERR_IO, path, 0, 0, "empty folder name");
    if (mkdir(path, 0777) == 0) return AMX_OK;
    if (errno != EEXIST)
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot create folder: %s", strerror(errno));
    struct stat st;
    if (lstat(path, &st) != 0)
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot examine: %s", strerror(errno));
    if (S_ISLNK(st.st_mode))
        return amx_fail(err, AMX_ERR_IO, path, 0, 0,
                        "is a symbolic link, expected a folder: adamix-run follows no link "
                        "inside a results folder (remove the link)");
    if (!S_ISDIR(st.st_mode))
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "exists and is not a folder");
    return AMX_OK;
}

bool amx_regular_file(const char *path, char *why, size_t size)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        snprintf(why, size, "%s: cannot read: %s", path, strerror(errno));
    else if (S_ISLNK(st.st_mode))
        snprintf(why, size,
                 "%s: is a symbolic link, expected a file: adamix-run follows no link inside a "
                 "results folder",
                 path);
    else if (!S_ISREG(st.st_mode))
        snprintf(why, size, "%s: is not a regular file (a folder, pipe or device)", path);
    else
        return true;
    return false;
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

/* Tracked temporaries: a slot's name is complete before the slot is marked
 * used (the signal fence keeps the compiler from reordering the two), so the
 * handler only ever unlinks whole names. */
#define AMX_TEMP_SLOTS 8
static char g_temp_path[AMX_TEMP_SLOTS][AMX_ERROR_PATH_MAX + 128];
static volatile sig_atomic_t g_temp_used[AMX_TEMP_SLOTS];

int amx_temp_track(const char *tmp_path)
{
    if (strlen(tmp_path) >= sizeof g_temp_path[0]) return -1;
    for (int i = 0; i < AMX_TEMP_SLOTS; i++) {
        if (g_temp_used[i]) continue;
        strcpy(g_temp_path[i], tmp_path);
        atomic_signal_fence(memory_order_seq_cst);
        g_temp_used[i] = 1;
        return i;
    }
    return -1;
}

void amx_temp_untrack(int slot)
{
    if (slot >= 0 && slot < AMX_TEMP_SLOTS) g_temp_used[slot] = 0;
}

static void on_fatal_signal(int sig)
{
    int e = errno;
    for (int i = 0; i < AMX_TEMP_SLOTS; i++)
        if (g_temp_used[i]) unlink(g_temp_path[i]); /* async-signal-safe */
    signal(sig, SIG_DFL);
    errno = e;
    raise(sig);
}

void amx_temp_cleanup_on_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* a signal ignored by whoever started us (nohup, a script's
         * background job) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t j = 0; j < sizeof sigs / sizeof sigs[0]; j++)
            sigaddset(&sa.sa_mask, sigs[j]);
        sa.sa_flags = SA_RESTART;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Writes data to tmp, then renames it to path; tmp is gone either way. */
static enum amx_status write_whole(const char *tmp, const char *path, const void *data, size_t len,
                                   struct amx_error *err)
{
    /* O_NOFOLLOW: a link planted at the temporary name is not written
     * through; rename replaces a link at path itself, never its target */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
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

enum amx_status amx_write_file_atomic(const char *path, const void *data, size_t len,
                                      struct amx_error *err)
{
    char tmp[AMX_ERROR_PATH_MAX + 128];
    if (!amx_temp_name(tmp, sizeof tmp, path))
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "path too long");
    int slot = amx_temp_track(tmp);
    enum amx_status st = write_whole(tmp, path, data, len, err);
    amx_temp_untrack(slot);
    return st;
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
    if (bad || b.failed) { /* a buffer that could not grow is out of memory, not a read error */
        amx_buf_free(&b);
        return bad ? amx_fail(err, AMX_ERR_IO, path, 0, 0, "read failed")
                   : amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory");
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

enum amx_status amx_dir_lock(const char *dir, struct amx_dir_lock *lk, struct amx_error *err)
{
    lk->fd = -1;
    char path[AMX_ERROR_PATH_MAX + 16];
    if (!amx_path_join(path, sizeof path, dir, ".lock"))
        return amx_fail(err, AMX_ERR_IO, dir, 0, 0, "path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot open the results folder's lock: %s",
                        errno == ELOOP ? "it is a symbolic link (remove it)" : strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL) {
            close(fd); /* no locks here: written unlocked, as before locks existed */
            return AMX_OK;
        }
        char text[256] = "";
        ssize_t got = pread(fd, text, sizeof text - 1, 0);
        close(fd);
        if (e != EWOULDBLOCK)
            return amx_fail(err, AMX_ERR_IO, path, 0, 0, "cannot lock: %s", strerror(e));
        text[got > 0 ? got : 0] = '\0';
        long pid = 0;
        char host[128] = "";
        int n = sscanf(text, "%ld %127s", &pid, host);
        if (n < 1 || pid <= 0)
            return amx_fail(err, AMX_ERR_IO, path, 0, 0,
                            "another adamix-run is writing this results folder (its process id "
                            "is not recorded yet); wait for it to end, or give another -o folder");
        char me[64] = "";
        gethostname(me, sizeof me - 1);
        bool here = n < 2 || strcmp(host, me) == 0;
        bool alive = here && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
        return amx_fail(
            err, AMX_ERR_IO, path, 0, 0,
            "another adamix-run (process %ld%s%s) is writing this results folder%s; wait for it "
            "to end, or give another -o folder",
            pid, here ? "" : " on ", here ? "" : host,
            here && !alive ? " (that process has ended; its workers are still finishing)" : "");
    }
    char text[160];
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    int len = snprintf(text, sizeof text, "%ld %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        /* the lock holds all the same; only the message of a refusal is poorer */
    }
    lk->fd = fd;
    return AMX_OK;
}

void amx_dir_unlock(struct amx_dir_lock *lk)
{
    if (lk->fd < 0) return;
    flock(lk->fd, LOCK_UN);
    close(lk->fd);
    lk->fd = -1;
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
