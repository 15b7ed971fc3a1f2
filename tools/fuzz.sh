#!/usr/bin/env bash
# Runs one libFuzzer target of tests/fuzz/ for a while (docs/testing.md).
#
#   tools/fuzz.sh TARGET SECONDS [LIBFUZZER_OPTION...]
#   tools/fuzz.sh fuzz_result 60
#
# Builds the targets with clang into build-fuzz/ (cmake -DADAMIX_FUZZ=ON; a
# second run only rebuilds), starts from the committed seeds
# tests/fuzz/corpus/TARGET/ plus what earlier runs found
# (build-fuzz/corpus/TARGET/, never committed), and runs libFuzzer with
# AddressSanitizer and UBSan for SECONDS. Exit 0 when nothing was found; else
# libFuzzer's status, with the reproducer (crash-*, leak-*, timeout-*) left in
# build-fuzz/findings/TARGET/. The last line gives the executions. FUZZ_JOBS
# sets the parallel build jobs (default: the cores).
set -euo pipefail
usage() { echo "usage: tools/fuzz.sh TARGET SECONDS [LIBFUZZER_OPTION...] (targets: $(cd "$src/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//' | tr '\n' ' '))" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
[ -f "$src/tests/fuzz/$target.c" ] || { echo "tools/fuzz.sh: error: no tests/fuzz/$target.c" >&2; usage; }
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] || { echo "tools/fuzz.sh: error: SECONDS must be a whole number >= 1, got '$seconds'" >&2; exit 2; }
command -v clang >/dev/null || { echo "tools/fuzz.sh: error: clang not found: install the Debian package 'clang'" >&2; exit 2; }
build=$src/build-fuzz
mkdir -p "$build"
log=$build/fuzz-build.log
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DADAMIX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >"$log" 2>&1 ||
        { echo "tools/fuzz.sh: error: configuring build-fuzz failed; see $log" >&2; exit 1; }
fi
cmake --build "$build" --target "$target" -j "${FUZZ_JOBS:-$(nproc)}" >"$log" 2>&1 ||
    { echo "tools/fuzz.sh: error: building $target failed; see $log" >&2; exit 1; }
corpus=$build/corpus/$target
findings=$build/findings/$target
mkdir -p "$corpus" "$findings"
seeds=$src/tests/fuzz/corpus/$target
[ -d "$seeds" ] || seeds=
export TMPDIR=${TMPDIR:-/tmp}
set +e
"$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$@" "$corpus" ${seeds:+"$seeds"} 2>"$findings/log.txt"
rc=$?
set -e
grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$findings/log.txt" | tail -2 || true
if [ $rc -ne 0 ]; then
    echo "tools/fuzz.sh: $target found a problem (exit $rc): see $findings/log.txt and the reproducer there" >&2
    exit $rc
fi
echo "$target: $seconds s, no finding"
