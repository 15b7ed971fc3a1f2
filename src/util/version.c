/* Build identity. The commit comes from gitinfo.h, which the build regenerates
 * (tools/gitinfo.cmake). The BLAS facts are nn/'s (amx_blas_*, src/nn/blas.c). */
#include "adamix/version.h"

#include "gitinfo.h"

const char *amx_version(void)
{
    return AMX_VERSION;
}

const char *amx_git_commit(void)
{
    return AMX_GIT_COMMIT;
}

bool amx_git_dirty(void)
{
    return AMX_GIT_DIRTY != 0;
}

const char *amx_compiler(void)
{
    return AMX_COMPILER;
}

const char *amx_cflags(void)
{
    return AMX_CFLAGS;
}
