/* Files written whole or not at all: every result file goes to a temporary
 * name in its own folder and is renamed into place, so a killed process never
 * leaves a half-written result (docs/design.md, "Where results go"). Plus mkdir -p. */
#ifndef ADAMIX_FSUTIL_H
#define ADAMIX_FSUTIL_H

#include "adamix/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Creates the folder and its parents (mode 0777 & umask). */
enum amx_status amx_mkdir_p(const char *path, struct amx_error *err);
/* Creates one folder (its parent must exist), or accepts an existing one;
 * an existing symbolic link is an error (what is inside a results folder is
 * never followed), as is anything else that is not a folder. */
enum amx_status amx_mkdir_nofollow(const char *path, struct amx_error *err);
/* Whether path is a regular file itself (lstat: not a link to one); when not,
 * why gets "path: what it is instead". */
bool amx_regular_file(const char *path, char *why, size_t size);
/* Temporary files are named "<path>" AMX_TEMP_MARK "<host>.<pid>". */
#define AMX_TEMP_MARK ".amx-tmp."
/* out = the temporary name of path for this process; false when too long.
 * The host part keeps only letters, digits and '-' (others become '_'). */
bool amx_temp_name(char *out, size_t size, const char *path);
/* Writes data to path via a temporary name, fsync and rename. */
enum amx_status amx_write_file_atomic(const char *path, const void *data, size_t len,
                                      struct amx_error *err);
/* Reads a whole file into a malloc'ed NUL-terminated buffer. */
enum amx_status amx_read_file(const char *path, char **data, size_t *len, struct amx_error *err);
bool amx_file_exists(const char *path);
/* out = dir + "/" + name; false (and out truncated) when it does not fit. */
bool amx_path_join(char *out, size_t size, const char *dir, const char *name);
/* The temporaries of this process that a fatal SIGINT, SIGTERM or SIGHUP
 * removes before the process dies (see amx_temp_cleanup_on_signals): track
 * a name before its file is created, untrack it once renamed or unlinked.
 * Returns the slot to untrack, or -1 when every slot is taken (the file is
 * then only removed by a later invocation's amx_remove_temp_files). */
int amx_temp_track(const char *tmp_path);
void amx_temp_untrack(int slot);
/* Installs, for SIGINT, SIGTERM and SIGHUP, a handler that unlinks the
 * tracked temporaries and then dies of the signal as it would have. Forked
 * workers inherit it. */
void amx_temp_cleanup_on_signals(void);
/* Removes the temporary files that processes of this host left in a folder
 * when they were killed (not those of live processes, not recursive). */
void amx_remove_temp_files(const char *dir);

/* The advisory lock of a results folder (docs/design.md: dir/.lock,
 * held while an invocation writes the folder). flock on a file that is
 * never removed (removing it would let two processes lock two files of the
 * same name); the holder writes "<pid> <host>" into it, so a refusal can
 * name it. Forked workers inherit it: it is held until the last of them
 * ends, even when the main process was killed before them. */
struct amx_dir_lock {
    int fd; /* >= 0 while held; -1 when not held, or locks are not supported here */
};
/* Takes the lock without waiting. Another process holding it is an
 * AMX_ERR_IO error naming the lock file and the holder's process id; a file
 * system without locks (NFS without lockd) is no error: the lock is then
 * not held (fd -1) and the folder is written unlocked. */
enum amx_status amx_dir_lock(const char *dir, struct amx_dir_lock *lk, struct amx_error *err);
/* Lets go; nothing when not held. */
void amx_dir_unlock(struct amx_dir_lock *lk);

/* A growable text buffer for building files in memory before writing them. */
struct amx_buf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed: the content is incomplete */
};
void amx_buf_printf(struct amx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void amx_buf_append(struct amx_buf *b, const char *s, size_t n);
void amx_buf_free(struct amx_buf *b);

#endif
