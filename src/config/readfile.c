/* Reading an experiment file whole, and parsing it (node.h).
 *
 * Only regular files of at most AMX_NODE_MAX_FILE_BYTES are read, so a path
 * such as /dev/zero or a FIFO can neither hang the reader nor grow it without
 * bound; the limit is checked as the file is read too, in case it grows. */
#define _POSIX_C_SOURCE 200809L
#include "adamix/node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a path that is not a regular file is, for the message. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

/* size: what fstat said, or -1 when the file grew past the limit as it was
 * read. */
static enum amx_status too_large(const char *path, long long size, struct amx_error *err)
{
    char what[80];
    if (size >= 0)
        snprintf(what, sizeof what, "%lld bytes", size);
    else
        snprintf(what, sizeof what, "more than %u bytes (it grew as it was read)",
                 AMX_NODE_MAX_FILE_BYTES);
    return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                    "the experiment file is %s: the limit is %u bytes (1 MiB); expected a YAML "
                    "text of at most that size",
                    what, AMX_NODE_MAX_FILE_BYTES);
}

enum amx_status amx_node_read_file(const char *path, char **text, size_t *len,
                                   struct amx_error *err)
{
    *text = NULL;
    if (len) *len = 0;
    /* O_NONBLOCK: opening a FIFO without a writer returns at once (and is then
     * refused) instead of waiting; on a regular file it changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0, "cannot open the experiment file: %s",
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0, "cannot stat the experiment file: %s",
                        strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                        "is %s, not a regular file; expected an experiment file (YAML text)",
                        file_kind(sb.st_mode));
    }
    if (sb.st_size > (off_t)AMX_NODE_MAX_FILE_BYTES) {
        close(fd);
        return too_large(path, (long long)sb.st_size, err);
    }
    /* room for the size fstat gave, one byte to see whether the file grew
     * past the limit since, and the NUL */
    size_t cap = (size_t)sb.st_size + 2, n = 0;
    char *buf = malloc(cap);
    enum amx_status st = AMX_OK;
    if (!buf) st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
    while (st == AMX_OK) {
        if (n + 1 == cap) { /* full (the NUL aside): the file grew */
            if (n > AMX_NODE_MAX_FILE_BYTES) {
                st = too_large(path, -1, err);
                break;
            }
            size_t want =
                2 * cap < AMX_NODE_MAX_FILE_BYTES + 2 ? 2 * cap : AMX_NODE_MAX_FILE_BYTES + 2;
            char *p = realloc(buf, want);
            if (!p) {
                st = amx_fail(err, AMX_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
                break;
            }
            buf = p;
            cap = want;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = amx_fail(err, AMX_ERR_CONFIG, path, 0, 0,
                          "cannot read the experiment file (read error after %zu bytes): %s", n,
                          strerror(errno));
            break;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (st == AMX_OK && n > AMX_NODE_MAX_FILE_BYTES) st = too_large(path, -1, err);
    if (st != AMX_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *text = buf;
    if (len) *len = n;
    return AMX_OK;
}

enum amx_status amx_node_parse_file(const char *path, struct amx_node **out, struct amx_error *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    enum amx_status s = amx_node_read_file(path, &buf, &len, err);
    if (s != AMX_OK) return s;
    s = amx_node_parse_string(buf, len, path, true, out, err);
    free(buf);
    return s;
}
