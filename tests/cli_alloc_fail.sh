#!/usr/bin/env bash
# Allocation-failure injection (SQLite's technique): in a build
# configured with -DADAMIX_ALLOC_FAIL=ON (src/util/allocfail.c), the Nth
# allocation of the program fails. N walks over every allocation of
# `adamix-run validate` on the smoke experiment and over one short run (one
# run of the smoke sweep): each failure must end in a clean error (exit 1, 2
# or 3 and a message saying out of memory), never a crash, a sanitizer
# report or a leak (LeakSanitizer, in a sanitizer build). A failure the
# program absorbs (exit 0) must leave the same output and files as none. In
# other builds the test says it is skipped.
#
# ALLOC_STEPS (default 400) caps the invocations per walk: above it, N
# takes every k-th value (from 1, so the first allocations are all tried).
#
# usage: cli_alloc_fail.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-alloc-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
# a sanitizer report must not pass for an exit status of the program
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:exitcode=99:detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:exitcode=99
export LSAN_OPTIONS=${LSAN_OPTIONS:-}:exitcode=99

source "$src/tests/checklib.sh"

if ! ADAMIX_ALLOC_COUNT=1 "$prog" --version 2>&1 >/dev/null | grep -q '^adamix-alloc: '; then
    echo "skipped: allocation-failure injection (the program is not built with -DADAMIX_ALLOC_FAIL=ON)"
    finish
    exit
fi

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
steps=${ALLOC_STEPS:-400}

files_of() { [ -d "$1" ] && (cd "$1" && find . -type f | sort); }
# walk NAME COMMAND...: COMMAND succeeds unharmed; then with each injected
# failure it must fail cleanly. The command runs in a fresh folder "out".
walk() {
    local name=$1 total n stride rc bad=0 clean=0 absorbed=0 first_bad=""
    shift
    rm -rf out
    ADAMIX_ALLOC_COUNT=1 "$@" >ok.txt 2>ok-err.txt
    rc=$?
    ok_files=$(files_of out)
    total=$(sed -n 's/^adamix-alloc: \([0-9]*\) allocations$/\1/p' ok-err.txt)
    check "$name without a failure exits 0 (got $rc: $(head -c 300 ok-err.txt))" [ $rc -eq 0 ]
    check "$name counts its allocations (got '$total')" [ -n "$total" ]
    [ -n "$total" ] || return
    stride=$(((total + steps - 1) / steps))
    for ((n = 1; n <= total; n += stride)); do
        rm -rf out
        ADAMIX_ALLOC_FAIL=$n "$@" >out.txt 2>err.txt
        rc=$?
        if grep -q -E 'Sanitizer|runtime error' err.txt; then
            rc=99
        fi
        case $rc in
        0) # an allocation the program can do without: then it must do
            # exactly what it does unharmed (same output, same files)
            if cmp -s out.txt ok.txt && [ "$(files_of out)" = "$ok_files" ]; then
                absorbed=$((absorbed + 1))
            else
                bad=$((bad + 1))
                echo "N=$n: exit 0 with other output or files than unharmed" >>bad.txt
                [ -n "$first_bad" ] || first_bad="N=$n: exit 0 with other output or files than unharmed: $(diff <(files_of out) <(echo "$ok_files") | head -c 300)"
            fi
            ;;
        1 | 2 | 3)
            if grep -q -i "out of memory" err.txt; then
                clean=$((clean + 1))
            else
                bad=$((bad + 1))
                echo "N=$n: exit $rc without 'out of memory': $(head -c 300 err.txt)" >>bad.txt
                [ -n "$first_bad" ] || first_bad="N=$n: exit $rc without 'out of memory': $(head -c 300 err.txt)"
            fi
            ;;
        *)
            bad=$((bad + 1))
            echo "N=$n: exit $rc: $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' err.txt | head -c 400)" >>bad.txt
            [ -n "$first_bad" ] || first_bad="N=$n: exit $rc: $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' err.txt | head -c 400)"
            ;;
        esac
    done
    echo "$name: $total allocations, every ${stride}th failed: $clean clean errors, $absorbed absorbed, $bad bad"
    check "$name: every injected failure is a clean out-of-memory error ($bad bad; first: $first_bad)" [ $bad -eq 0 ]
    check "$name: the injected failures were felt ($clean clean errors)" [ $clean -gt 0 ]
}

walk validate "$prog" validate "$exp"
walk "one short run" "$prog" -q -j 1 -o out "$exp" repeats=1 \
    'sweep.finetune.rules={constant: {all: {rule: constant, eta0: 0.01}}}' finetune.epochs=1

finish
