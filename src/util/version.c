/* Build identity. The commit comes from gitinfo.h, which the build regenerates
 * (tools/gitinfo.cmake); the BLAS facts are asked of OpenBLAS at run time. */
#include "adamix/version.h"

#include "gitinfo.h"

#include <cblas.h>

/* Declared by OpenBLAS's cblas.h on Debian; repeated in case another cblas.h is
 * found first. */
char *openblas_get_config(void);
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

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

const char *amx_blas_config(void)
{
    return openblas_get_config();
}

const char *amx_blas_corename(void)
{
    return openblas_get_corename();
}

int amx_blas_threads(void)
{
    return openblas_get_num_threads();
}

void amx_blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}
