#!/usr/bin/env bash
# Command-line tests of the matrix-product backends (--backend,
# ADAMIX_BACKEND; docs/backends.md): unknown and unavailable names are usage
# errors naming the choices and write nothing; --version lists the backends;
# tests/experiments/smoke.yaml completes on onednn, every summary.json and the
# manifest saying so (version, ISA, implementations, no fallback); two onednn
# invocations (-j 1 and -j 2) agree bit for bit, timing aside; the run ids are
# those of openblas (provenance, not identity) and `compare` finds the two
# backends' results in agreement; compute.precision: bf16 fails on openblas
# saying why and, where oneDNN has AVX-512 BF16, runs on onednn under ids of
# its own. AMX_EXPECT_ONEDNN (from CMake) says whether
# this build has oneDNN: a build that should and does not fails here.
#
# usage: cli_backend.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
expect=${AMX_EXPECT_ONEDNN:-0}
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-backend-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
unset ADAMIX_BACKEND

source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
norm_curve() { cut -d, -f1-3,5- "$1"; }
norm_summary() { grep -v -E '"(seconds|pretrain_seconds|finetune_seconds)"' "$1"; }

# --- names -------------------------------------------------------------------
"$prog" --backend cublas -q -o "$work/bad" "$exp" >"$work/out" 2>"$work/err"
check "unknown --backend: exit 2 (got $?)" [ "$?" = 2 ]
check "unknown --backend: names it and the choices" \
    grep -q "unknown backend 'cublas': expected openblas or onednn" "$work/err"
check "unknown --backend: nothing written" [ ! -e "$work/bad" ]
ADAMIX_BACKEND=cublas "$prog" -q -o "$work/bad" "$exp" >"$work/out" 2>"$work/err"
check "unknown ADAMIX_BACKEND: exit 2 (got $?)" [ "$?" = 2 ]
check "unknown ADAMIX_BACKEND: says where it came from" grep -q '^adamix-run: error: ADAMIX_BACKEND: ' "$work/err"
check "unknown ADAMIX_BACKEND: nothing written" [ ! -e "$work/bad" ]
"$prog" --version >"$work/version"
# the program's default: onednn where it is built in (the fastest), else openblas
if [ "$expect" = 1 ]; then
    check "--version: the default backend is onednn" grep -q '^backend: onednn (oneDNN ' "$work/version"
else
    check "--version: the default backend is openblas" grep -q '^backend: openblas (OpenBLAS ' "$work/version"
fi
check "--version lists openblas as available" grep -qE '^  openblas +available$' "$work/version"
ADAMIX_BACKEND=cublas "$prog" --backend openblas --version >/dev/null 2>&1
check "--backend wins over ADAMIX_BACKEND (exit $?)" [ "$?" = 0 ]

if [ "$expect" != 1 ]; then
    check "--version: onednn not built in" grep -qE '^  onednn +this build has no oneDNN' "$work/version"
    "$prog" --backend onednn -q -o "$work/bad" "$exp" >"$work/out" 2>"$work/err"
    check "--backend onednn without oneDNN: exit 2 (got $?)" [ "$?" = 2 ]
    check "--backend onednn without oneDNN: says why and what to choose" \
        grep -q "backend 'onednn' is not available: this build has no oneDNN.*choose openblas" "$work/err"
    check "--backend onednn without oneDNN: nothing written" [ ! -e "$work/bad" ]
    finish
    exit
fi

check "--version lists onednn as available" grep -qE '^  onednn +available$' "$work/version"
"$prog" --backend onednn --version >"$work/version2"
check "--backend onednn --version: version and ISA" \
    grep -qE '^backend: onednn \(oneDNN [0-9]+\.[0-9]+\.[0-9]+; ISA [a-z0-9_]+;' "$work/version2"

# --- the smoke experiment on onednn --------------------------------------------
"$prog" --backend onednn -q -j 1 -o "$work/a" "$exp" >"$work/log" 2>&1
check "smoke on onednn (-j 1) finishes (exit $?)" grep -q '4 runs: 4 ok' "$work/log"
n=0
for s in "$work"/a/runs/*/summary.json; do
    n=$((n + 1))
    grep -q '"backend": "onednn"' "$s" &&
        grep -qE '"backend_version": "oneDNN [0-9.]+"' "$s" &&
        grep -qE '"backend_isa": "[a-z0-9_]+"' "$s" &&
        grep -qE '"backend_impl": "[^"]+"' "$s" && ! grep -q fallback "$s" || break
done
check "every summary.json names onednn, its version, ISA and implementations, no fallback ($n of 4)" \
    [ "$n" = 4 ] && [ "$(grep -l '"backend": "onednn"' "$work"/a/runs/*/summary.json | wc -l)" = 4 ]
check "manifest.json names the onednn backend" grep -q '"backend": "onednn"' "$work/a/manifest.json"

ADAMIX_BACKEND=onednn "$prog" -q -j 2 -o "$work/b" "$exp" >"$work/log" 2>&1
check "smoke on onednn by ADAMIX_BACKEND (-j 2) finishes" grep -q '4 runs: 4 ok' "$work/log"
same=0
for d in "$work"/a/runs/*/; do
    id=$(basename "$d")
    cmp -s <(norm_curve "$d/curve.csv") <(norm_curve "$work/b/runs/$id/curve.csv") &&
        cmp -s <(norm_summary "$d/summary.json") <(norm_summary "$work/b/runs/$id/summary.json") &&
        same=$((same + 1))
done
check "onednn: -j 1 and -j 2 invocations bit-identical, timing aside ($same of 4 runs)" [ "$same" = 4 ]

"$prog" -q -j 2 -o "$work/f" "$exp" >"$work/log" 2>&1
check "smoke with no backend named: computed on onednn" \
    [ "$(grep -l '"backend": "onednn"' "$work"/f/runs/*/summary.json | wc -l)" = 4 ]
same=0
for d in "$work"/a/runs/*/; do
    id=$(basename "$d")
    cmp -s <(norm_curve "$d/curve.csv") <(norm_curve "$work/f/runs/$id/curve.csv") && same=$((same + 1))
done
check "... bit-identical to --backend onednn ($same of 4 runs)" [ "$same" = 4 ]

"$prog" --backend openblas -q -j 2 -o "$work/c" "$exp" >"$work/log" 2>&1
check "smoke on openblas finishes" grep -q '4 runs: 4 ok' "$work/log"
check "the same run ids on both backends (provenance, not identity)" \
    diff <(ls "$work/a/runs") <(ls "$work/c/runs")
check "openblas summaries name openblas" \
    [ "$(grep -l '"backend": "openblas"' "$work"/c/runs/*/summary.json | wc -l)" = 4 ]
"$prog" compare "$work/a" "$work/c" >"$work/cmp" 2>&1
check "compare: the two backends' results agree (exit $?)" [ "$?" = 0 ]

# --- compute.precision: bf16 -------------------------------------------------------
"$prog" --backend openblas -q -j 2 -o "$work/d" "$exp" compute.precision=bf16 >"$work/log" 2>&1
check "bf16 on openblas: every run fails (exit $?)" grep -q '4 runs: 0 ok, 0 diverged, 4 failed' "$work/log"
check "bf16 on openblas: says why, naming the key and the backend to choose" \
    grep -q 'compute.precision is bf16, but the openblas backend has no bf16 products.*--backend onednn' "$work/log"
if grep -qE '^backend: onednn \(oneDNN [0-9.]+; ISA [a-z0-9_]*(bf16|amx)' "$work/version2"; then
    "$prog" --backend onednn -q -j 2 -o "$work/e" "$exp" compute.precision=bf16 >"$work/log" 2>&1
    check "bf16 on onednn: smoke finishes" grep -q '4 runs: 4 ok' "$work/log"
    check "bf16 runs have ids of their own" not cmp -s <(ls "$work/a/runs") <(ls "$work/e/runs")
    check "bf16 runs ran bf16 primitives, no fallback" \
        [ "$(grep -l '"backend_impl": "[^"]*(bf16)' "$work"/e/runs/*/summary.json | wc -l)" = 4 ] &&
        ! grep -q fallback "$work"/e/runs/*/summary.json
    check "bf16 config.yaml says so" grep -q 'precision: bf16' "$work"/e/runs/*/config.yaml
    # the two differ in compute.precision, beyond the sweep axes: compare
    # says so and joins them only when asked
    "$prog" compare "$work/a" "$work/e" >"$work/cmp" 2>&1
    check "compare: bf16 and fp32 folders are other configurations (exit $?)" [ "$?" = 2 ]
    check "compare: names compute.precision" grep -q "^  compute.precision: (the default) in A, bf16 in B" "$work/cmp"
    "$prog" compare --force "$work/a" "$work/e" >"$work/cmp" 2>&1
    check "compare --force: bf16 agrees with fp32 on the smoke experiment (exit $?)" [ "$?" = 0 ]
else
    echo "skipped: bf16 on onednn (oneDNN's ISA here has no AVX-512 BF16: $(head -1 "$work/version2"))"
fi
finish
