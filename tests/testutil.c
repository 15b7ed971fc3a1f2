#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *templ = tu_fmt("%s/adamix-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!templ) return NULL;
    if (!mkdtemp(templ)) {
        free(templ);
        return NULL;
    }
    return templ;
}

void tu_rmtree(const char *path)
{
    char *cmd = tu_fmt("rm -rf '%s'", path);
    if (cmd && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
    free(cmd);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        cap *= 2;
        char *p = realloc(buf, cap + 1);
        if (!p) {
            free(buf);
            buf = NULL;
        } else {
            buf = p;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

int tu_run(const char *cmd, char **out, char **err)
{
    char *dir = tu_tmpdir("run");
    if (!dir) return -1;
    char *o = tu_fmt("%s/out", dir), *e = tu_fmt("%s/err", dir);
    char *full = tu_fmt("(%s) >'%s' 2>'%s' </dev/null", cmd, o, e);
    int st = system(full);
    int rc = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    if (out) *out = tu_read_file(o, NULL);
    if (err) *err = tu_read_file(e, NULL);
    free(full);
    free(o);
    free(e);
    tu_rmtree(dir);
    free(dir);
    return rc;
}
