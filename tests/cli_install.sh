#!/usr/bin/env bash
# Installation (cmake --install): the program, the man page adamix-run(1) and
# the bash completion land in their usual places under the prefix; the man
# page renders without warnings and names exactly the options and
# subcommands of `adamix-run --help`; the completion offers them.
#
# usage: cli_install.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
build=$(dirname "$prog")
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
source "$src/tests/checklib.sh"

cmake --install "$build" --prefix "$work/p" >"$work/install.log" 2>&1
rc=$?
check "cmake --install --prefix (exit $rc)" [ "$rc" = 0 ]
check "bin/adamix-run runs" "$work/p/bin/adamix-run" --version
check "the man page in share/man/man1" [ -s "$work/p/share/man/man1/adamix-run.1" ]
check "the bash completion in share/bash-completion/completions" \
    [ -s "$work/p/share/bash-completion/completions/adamix-run" ]

man=$src/docs/adamix-run.1
if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$man" 2>"$work/groff.txt"
    check "the man page renders without warnings" [ ! -s "$work/groff.txt" ]
else
    echo "skipped: rendering the man page (groff is not installed)"
fi

"$prog" --help >"$work/help.txt"
# long options: "--name" in --help; "\-\-name" in the roff source
grep -oE -- '--[a-z][a-z-]*[a-z]' "$work/help.txt" | sort -u >"$work/help-long"
sed 's/\\-/-/g' "$man" | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u >"$work/man-long"
check "man page and --help name the same long options" diff "$work/help-long" "$work/man-long"
check "at least 15 long options" [ "$(wc -l <"$work/help-long")" -ge 15 ]
grep -oE '^  -[a-zA-Z],' "$work/help.txt" | tr -d ' ,' | sort -u >"$work/help-short"
sed 's/\\-/-/g' "$man" | grep -oE '^\\fB-[a-zA-Z]\\fR,' | sed 's/\\fB//; s/\\fR,//' | sort -u >"$work/man-short"
check "man page and --help name the same short options" diff "$work/help-short" "$work/man-short"
grep -oE '^ +adamix-run [a-z]+' "$work/help.txt" | awk '{print $2}' | sort -u >"$work/help-cmds"
grep -E '^\.B adamix-run [a-z]+' "$man" | awk '{print $3}' | sort -u >"$work/man-cmds"
check "man page and --help name the same subcommands" diff "$work/help-cmds" "$work/man-cmds"
check "four subcommands" [ "$(wc -l <"$work/help-cmds")" = 4 ]

comp=$src/tools/completion/adamix-run.bash
complete_words() { # complete_words WORD...: what the completion offers for the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _adamix_run; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$comp" "$@"
}
got=$(cd "$work" && complete_words adamix-run --rt)
check "completion: --rt gives --rtol (got '$got')" [ "$got" = "--rtol" ]
got=$(cd "$work" && complete_words adamix-run com)
check "completion: com gives compare (got '$got')" [ "$got" = "compare" ]
bash -c 'source "$1"; declare -f _adamix_run' _ "$comp" | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u >"$work/comp-long"
check "completion offers every long option of --help" diff "$work/help-long" "$work/comp-long"
finish
