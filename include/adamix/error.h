/* Errors: every library function that can fail returns an amx_status and fills
 * a struct amx_error, which says where (file, 1-based line and column, or 0
 * when not applicable) and what. The library never prints and never exits;
 * src/cli formats errors as compilers do ("file:line:col: error: ...") and
 * maps each status to the exit code of docs/design.md. */
#ifndef ADAMIX_ERROR_H
#define ADAMIX_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum amx_status {
    AMX_OK = 0,
    AMX_ERR_USAGE,  /* bad command line: exit 2 */
    AMX_ERR_CONFIG, /* invalid experiment file or override: exit 2 */
    AMX_ERR_DATA,   /* missing or malformed data file: exit 3 */
    AMX_ERR_IO,     /* could not read or write a result file: exit 1 */
    AMX_ERR_NOMEM,  /* out of memory: exit 1 */
    AMX_ERR_RUN     /* a run failed for another reason: exit 1 */
};

#define AMX_ERROR_PATH_MAX 1024
#define AMX_ERROR_MSG_MAX 1024

struct amx_error {
    enum amx_status code;
    char path[AMX_ERROR_PATH_MAX]; /* file the error is about, "" when none */
    int line;                      /* 1-based, 0 when not applicable */
    int col;                       /* 1-based, 0 when not applicable */
    char msg[AMX_ERROR_MSG_MAX];   /* what was found; what was expected */
};

/* Fills err (if not NULL) and returns code, so a failing call site is one line:
 * return amx_fail(err, AMX_ERR_DATA, path, 0, 0, "bad magic %08x", m); */
enum amx_status amx_fail(struct amx_error *err, enum amx_status code, const char *path, int line,
                         int col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
enum amx_status amx_vfail(struct amx_error *err, enum amx_status code, const char *path, int line,
                          int col, const char *fmt, va_list ap);

/* The exit status (docs/design.md, "Command line") for a status. */
int amx_status_exit_code(enum amx_status s);

/* "path:line:col: error: msg" (parts omitted when absent) into buf. */
void amx_error_format(const struct amx_error *err, char *buf, size_t size);

/* A list of errors, so validation can report every problem of a file in one
 * pass. Owned strings; amx_errlist_free is safe on a zeroed list. */
struct amx_errlist {
    struct amx_error *items;
    size_t n, cap;
};
void amx_errlist_add(struct amx_errlist *list, const struct amx_error *err);
void amx_errlist_free(struct amx_errlist *list);

#endif
