#!/usr/bin/env bash
# The live progress display (on a terminal only) ends its head line with an
# ETA from the runs' own seconds per epoch and the runs left for the workers.
# Run under script(1) for a terminal. The bounds are generous on purpose (a
# shared machine): the first estimate, made after the first epoch, must be
# within a factor of 4 of the time the sweep then took, and the last smaller
# than the first. Without a terminal the output has no display at all.
#
# usage: cli_eta.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-eta-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
source "$src/tests/checklib.sh"
exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
# long enough (about 7 s on oneDNN, 18 s on OpenBLAS's Prescott kernel, on
# 2 cores) that the ETA, shown in whole seconds, starts well above 0
args=(-j 1 "$exp" finetune.epochs=120 'network.layers=[784, 256, 32]')

"$prog" -o plain "${args[@]}" >plain.txt 2>&1
check "not on a terminal: no live display" not grep -q "ETA\|runs done" plain.txt
if ! command -v script >/dev/null 2>&1; then
    echo "skipped: the terminal checks (script(1), from util-linux, is not installed)"
    finish
    exit $?
fi
start=$(date +%s.%N)
script -qec "$(printf '%q ' "$prog" -o tty "${args[@]}")" tty.log >/dev/null 2>&1
end=$(date +%s.%N)
check "on a terminal: the runs complete" [ -s tty/summary.csv ]
grep -ao "ETA [0-9]*m[0-9]*s" tty.log | sed 's/ETA \([0-9]*\)m\([0-9]*\)s/\1 \2/' |
    awk '{print $1 * 60 + $2}' >etas.txt
n=$(wc -l <etas.txt)
check "on a terminal: an ETA is shown ($n times)" [ "$n" -ge 3 ]
first=$(head -1 etas.txt)
last=$(tail -1 etas.txt)
wall=$(echo "$end - $start" | bc -l 2>/dev/null || awk -v a="$end" -v b="$start" 'BEGIN{print a - b}')
check "the first ETA ($first s) is within 4x of the sweep's time ($wall s)" \
    awk -v e="$first" -v w="$wall" 'BEGIN{exit !(e >= w / 4 && e <= 4 * w)}'
check "the last ETA ($last s) is below the first ($first s)" [ "$last" -lt "$first" ]
finish
