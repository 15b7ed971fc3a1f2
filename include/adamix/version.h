/* What this build is: version, commit, compiler (the BLAS: amx_blas_* in
 * nn.h). For --version and for manifest.json. */
#ifndef ADAMIX_VERSION_H
#define ADAMIX_VERSION_H

#include <stdbool.h>

const char *amx_version(void);    /* "0.1.0" */
const char *amx_git_commit(void); /* short hash, or "unknown" */
bool amx_git_dirty(void);         /* built from a tree with uncommitted changes */
const char *amx_compiler(void);   /* "GNU 12.2.0" */
const char *amx_cflags(void);

#endif
