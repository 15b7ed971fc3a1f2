/* The error record and its formatting. No I/O here: main.c prints. */
#include "adamix/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum amx_status amx_vfail(struct amx_error *err, enum amx_status code, const char *path, int line,
                          int col, const char *fmt, va_list ap)
{
    if (!err) return code;
    err->code = code;
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
    err->line = line;
    err->col = col;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

enum amx_status amx_fail(struct amx_error *err, enum amx_status code, const char *path, int line,
                         int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    amx_vfail(err, code, path, line, col, fmt, ap);
    va_end(ap);
    return code;
}

int amx_status_exit_code(enum amx_status s)
{
    switch (s) {
    case AMX_OK:
        return 0;
    case AMX_ERR_USAGE:
    case AMX_ERR_CONFIG:
        return 2;
    case AMX_ERR_DATA:
        return 3;
    case AMX_ERR_IO:
    case AMX_ERR_NOMEM:
    case AMX_ERR_RUN:
        return 1;
    }
    return 1;
}

void amx_error_format(const struct amx_error *err, char *buf, size_t size)
{
    if (err->path[0] && err->line > 0)
        snprintf(buf, size, "%s:%d:%d: error: %s", err->path, err->line,
                 err->col > 0 ? err->col : 1, err->msg);
    else if (err->path[0])
        snprintf(buf, size, "%s: error: %s", err->path, err->msg);
    else
        snprintf(buf, size, "error: %s", err->msg);
}

void amx_errlist_add(struct amx_errlist *list, const struct amx_error *err)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 8;
        struct amx_error *p = realloc(list->items, cap * sizeof *p);
        if (!p) return; /* keep the errors we have; the first one is what matters */
        list->items = p;
        list->cap = cap;
    }
    list->items[list->n++] = *err;
}

void amx_errlist_free(struct amx_errlist *list)
{
    free(list->items);
    list->items = NULL;
    list->n = list->cap = 0;
}
