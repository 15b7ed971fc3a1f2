# `cmake --install BUILD [--prefix DIR]`: the program, its manual page
# adamix-run(1) and its bash completion, in their usual places under the
# prefix (default /usr/local): bin/, share/man/man1/,
# share/bash-completion/completions/ (where bash-completion looks for a
# command's file by its name).
include(GNUInstallDirs)
install(TARGETS adamix-run RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/docs/adamix-run.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/tools/completion/adamix-run.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME adamix-run)
# Keep the run path to the libraries found outside the system's default
# folders (Debian's OpenBLAS lives in .../openblas-pthread/), as the build has it.
set_target_properties(adamix-run PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
