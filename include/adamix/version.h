/* What this build is: version, commit, compiler, BLAS. For --version and for
 * manifest.json. */
#ifndef ADAMIX_VERSION_H
#define ADAMIX_VERSION_H

#include <stdbool.h>

const char *amx_version(void);    /* "0.1.0" */
const char *amx_git_commit(void); /* short hash, or "unknown" */
bool amx_git_dirty(void);         /* built from a tree with uncommitted changes */
const char *amx_compiler(void);   /* "GNU 12.2.0" */
const char *amx_cflags(void);
const char *amx_blas_config(void);   /* openblas_get_config() */
const char *amx_blas_corename(void); /* openblas_get_corename() */
int amx_blas_threads(void);          /* openblas_get_num_threads() */
void amx_blas_set_threads(int n);

#endif
