/* Allocation-failure injection for tests (SQLite's technique):
 * in a build configured with -DADAMIX_ALLOC_FAIL=ON, the linker sends the
 * program's own malloc, calloc, realloc, strdup and aligned_alloc calls here
 * (ld --wrap), and
 *
 *     ADAMIX_ALLOC_FAIL=N     makes the Nth of them (counted from 1 in each
 *                             process; a forked worker goes on counting
 *                             from its parent's count) return NULL with
 *                             errno ENOMEM, once; every other call succeeds
 *     ADAMIX_ALLOC_COUNT=1    prints "adamix-alloc: K allocations" to stderr
 *                             when the main process exits, so that a test
 *                             knows how far N has to walk.
 *
 * Only the calls compiled into adamix-run are counted: libyaml, jansson,
 * zlib, libpng and OpenBLAS allocate through their own references, which the
 * wrapping does not reach. In every other build this file is empty. */
#ifdef AMX_ALLOC_FAIL
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t m, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t m, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void *__wrap_aligned_alloc(size_t a, size_t n);

static atomic_ulong g_count;
static unsigned long g_fail_at; /* 0: never */
static pid_t g_main_pid;

static void report_count(void)
{
    if (getpid() == g_main_pid)
        fprintf(stderr, "adamix-alloc: %lu allocations\n", (unsigned long)atomic_load(&g_count));
}

/* Before main: the environment is read once, without allocating. */
__attribute__((constructor)) static void alloc_fail_init(void)
{
    const char *s = getenv("ADAMIX_ALLOC_FAIL");
    if (s && *s) g_fail_at = strtoul(s, NULL, 10);
    const char *c = getenv("ADAMIX_ALLOC_COUNT");
    if (c && *c && strcmp(c, "0") != 0) {
        g_main_pid = getpid();
        atexit(report_count);
    }
}

static int fail_now(void)
{
    unsigned long k = atomic_fetch_add(&g_count, 1) + 1;
    if (g_fail_at && k == g_fail_at) {
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t m, size_t n)
{
    return fail_now() ? NULL : __real_calloc(m, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    return fail_now() ? NULL : __real_aligned_alloc(a, n);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int amx_alloc_fail_unused;
#endif
