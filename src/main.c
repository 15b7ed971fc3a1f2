/* adamix-run: the command line (DESIGN.md section 4). Only this file prints to
 * the terminal or exits; everything it does is a call into the modules. */
#include "adamix/version.h"

#include <stdio.h>
#include <string.h>

static void print_version(void)
{
    printf("adamix-run %s (commit %s%s)\n", amx_version(), amx_git_commit(),
           amx_git_dirty() ? "-dirty" : "");
    printf("BLAS: %s; %d thread%s\n", amx_blas_config(), amx_blas_threads(),
           amx_blas_threads() == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        print_version();
        return 0;
    }
    fprintf(stderr, "adamix-run: not implemented yet\n");
    return 2;
}
