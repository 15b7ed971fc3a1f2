/* Small helpers shared by the Check suites: temporary folders, whole-file
 * reads and writes, running the program and capturing its output. */
#ifndef ADAMIX_TESTUTIL_H
#define ADAMIX_TESTUTIL_H

#include <stddef.h>

/* A fresh empty folder under $TMPDIR (or /tmp); malloc'ed path. */
char *tu_tmpdir(const char *tag);
/* Removes a folder tree (rm -rf). */
void tu_rmtree(const char *path);
/* Whole file into a malloc'ed NUL-terminated buffer (NULL if unreadable). */
char *tu_read_file(const char *path, size_t *len);
/* Writes len bytes; returns 0 or -1. */
int tu_write_file(const char *path, const void *data, size_t len);
/* Runs a shell command; stdout and stderr are captured into malloc'ed strings
 * (either pointer may be NULL). Returns the exit status, or -1. */
int tu_run(const char *cmd, char **out, char **err);
/* malloc'ed printf. */
char *tu_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
