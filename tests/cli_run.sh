#!/usr/bin/env bash
# Command-line tests of the runner (docs/design.md), on the
# committed fixture digits: files written, reproducibility across --jobs,
# resume after SIGKILL, reuse when a sweep grows, divergence, I/O errors,
# shared pretraining, the pretraining cache, and `report`.
#
# usage: cli_run.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-run-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

# The smoke experiment with the data folder made absolute.
exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"

# Strips what may differ between identical computations: the seconds column
# of curve.csv and the timing fields of summary.json.
norm_curve() { cut -d, -f1-3,5- "$1"; }
norm_summary() { grep -v -E '"(seconds|pretrain_seconds|finetune_seconds)"' "$1"; }
same_results() { # same_results DIR_A DIR_B
    local a=$1 b=$2 id n=0
    for d in "$a"/runs/*/; do
        id=$(basename "$d")
        [ -f "$b/runs/$id/summary.json" ] || return 1
        diff <(norm_curve "$a/runs/$id/curve.csv") <(norm_curve "$b/runs/$id/curve.csv") >/dev/null || return 1
        diff <(norm_summary "$a/runs/$id/summary.json") <(norm_summary "$b/runs/$id/summary.json") >/dev/null || return 1
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
}
no_temp_files() { ! find "$1" -name '*.amx-tmp.*' | grep -q .; }

# 1. A sweep of 4 runs writes the files of docs/design.md, "Files written".
"$prog" -q -j 1 -o j1 "$exp" >out1.txt 2>err1.txt
rc=$?
check "smoke sweep exits 0 (got $rc: $(head -c 300 err1.txt))" [ $rc -eq 0 ]
check "4 run folders" [ "$(ls j1/runs | wc -l)" -eq 4 ]
for f in experiment.yaml manifest.json summary.csv curves.csv report.json figure.gp; do
    check "results folder has $f" [ -s "j1/$f" ]
done
for d in j1/runs/*/; do
    for f in config.yaml curve.csv summary.json; do
        check "run $(basename "$d") has $f" [ -s "$d/$f" ]
    done
done
check "summary.csv has a header and 4 rows" [ "$(wc -l <j1/summary.csv)" -eq 5 ]
check "curve.csv has epochs 0..3" [ "$(wc -l <"$(ls -d j1/runs/*/ | head -1)/curve.csv")" -eq 5 ]
check "two repeats share nothing but each pretrains once: 2 pretrainings computed" \
    grep -q "pretraining: 2 computed, 0 reused" out1.txt
check "cache holds 2 pretrained stacks" [ "$(ls j1/cache | wc -l)" -eq 2 ]
check "manifest records the BLAS and the data checksums" \
    grep -q '"data_sha256"' j1/manifest.json

# 2. -j 2 gives byte-identical curves and summaries (timing aside).
"$prog" -q -j 2 -o j2 "$exp" >out2.txt 2>&1
check "-j 2 exits 0" [ $? -eq 0 ]
check "-j 1 and -j 2 results are identical" same_results j1 j2
check "-j 2 results equal -j 1 results (both ways)" same_results j2 j1

# 2b. A run alone gets both cores (2 threads): still the same bits as 1.
one=(repeats=1 'sweep.finetune.rules={AdaMix: {weights: {rule: current-gradient, eta0: 0.01}, biases: {rule: power-exponential, eta0: 0.01}}}')
"$prog" -q -j 1 -o t1 "$exp" "${one[@]}" >/dev/null 2>&1
"$prog" -q -j 2 -o t2 "$exp" "${one[@]}" >/dev/null 2>&1
check "one run on 2 threads equals one run on 1 thread" same_results t1 t2
check "the 2-thread run's manifest says 2 jobs" grep -q '"jobs": 2' t2/manifest.json

# 3. A second invocation does nothing and changes nothing.
cp -r j1 j1.before
"$prog" -q -o j1 "$exp" >out3.txt 2>&1
check "second invocation exits 0" [ $? -eq 0 ]
check "second invocation skips all 4 runs" grep -q "4 already complete" out3.txt
check "second invocation leaves curves untouched" diff -r j1.before/runs j1/runs

# 3b. Without -o, results mirror experiments: P/experiments/S/F.yaml writes
#     into P/results/S/F (by the file's place, whatever its name: says), from
#     any current folder; a file outside an experiments/ folder writes into
#     results/<name>. A moved pair of experiment and results folder resumes.
mkdir -p proj/experiments/sub elsewhere
sed 's/^name: smoke/name: other-name/' "$exp" >proj/experiments/sub/moved.yaml
(cd proj && "$prog" -q -j 2 experiments/sub/moved.yaml repeats=1 >../out3b.txt 2>&1)
check "experiments/sub/moved.yaml writes into results/sub/moved" [ -s proj/results/sub/moved/summary.csv ]
check "... and nothing into results/<name>" [ ! -e proj/results/other-name ]
(cd elsewhere && "$prog" -q "$work/proj/experiments/sub/moved.yaml" repeats=1 >../out3c.txt 2>&1)
check "an absolute path finds the same folder from elsewhere: 2 already complete" \
    grep -q "2 already complete" out3c.txt
mkdir -p proj/experiments/other proj/results/other
mv proj/experiments/sub/moved.yaml proj/experiments/other/
mv proj/results/sub/moved proj/results/other/
(cd proj && "$prog" -q experiments/other/moved.yaml repeats=1 >../out3d.txt 2>&1)
check "moved together, the runs are found complete" grep -q "2 already complete" out3d.txt
(cd elsewhere && "$prog" -q "$exp" repeats=1 >../out3e.txt 2>&1)
check "a file outside experiments/ writes into results/<name>" [ -s elsewhere/results/smoke/summary.csv ]

# 4. report rebuilds identical summary.csv, curves.csv and report.json.
cp j1/summary.csv j1/curves.csv j1/report.json "$work/"
rm j1/summary.csv j1/curves.csv j1/report.json
"$prog" report j1 >out4.txt 2>&1
check "report exits 0" [ $? -eq 0 ]
for f in summary.csv curves.csv report.json; do
    check "report rebuilds identical $f" cmp -s "$work/$f" "j1/$f"
done

# 5. Killed with SIGKILL in the middle, then run again: exactly the missing
#    runs are done, no temporary file is left, results equal an uninterrupted
#    sweep.
slow=$work/slow.yaml
sed -e 's/epochs: 3/epochs: 40/' "$exp" >"$slow"
"$prog" -q -j 1 -o full "$slow" >/dev/null 2>&1
"$prog" -q -j 1 -o killed "$slow" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    [ "$(find killed/runs -name summary.json 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.05
done
kill -9 $pid 2>/dev/null
pkill -9 -P $pid 2>/dev/null
wait $pid 2>/dev/null
sleep 0.2
pkill -9 -f "adamix-run -q -j 1 -o killed" 2>/dev/null
done_before=$(find killed/runs -name summary.json | wc -l)
check "the kill left the sweep unfinished ($done_before of 4 done)" [ "$done_before" -lt 4 ]
"$prog" -q -j 1 -o killed "$slow" >out5.txt 2>&1
check "rerun after kill exits 0" [ $? -eq 0 ]
check "rerun skips the $done_before complete runs" grep -q "$done_before already complete" out5.txt
check "no temporary files after the rerun" no_temp_files killed
check "resumed results equal the uninterrupted sweep" same_results full killed

# 6. Adding a value to a sweep axis adds runs and reuses the earlier ones.
"$prog" -q -o j1 "$exp" 'sweep.seed=[7, 8]' >out6.txt 2>&1
check "grown sweep exits 0" [ $? -eq 0 ]
check "grown sweep: 8 runs, 4 reused" grep -q "8 runs: .* 4 already complete" out6.txt
first=$(ls j1.before/runs | head -1)
check "grown sweep keeps the earlier runs' curves" cmp -s j1.before/runs/$first/curve.csv j1/runs/$first/curve.csv
check "grown sweep labels the earlier runs with the new axis" grep -q '"seed": "7"' j1/runs/$first/summary.json

# 7. An absurd rate diverges: a result, exit 0. (Linear outputs: with
#    logistic ones the error is bounded by the pixel count and cannot exceed
#    the divergence limit.)
"$prog" -q -o div "$exp" 'sweep.finetune.rules={huge: {all: {rule: constant, eta0: 1000}}}' \
    repeats=1 network.output=linear finetune.loss=squared_error >out7.txt 2>&1
rc=$?
check "diverged run exits 0 (got $rc)" [ $rc -eq 0 ]
check "diverged run recorded as diverged" grep -q '"status": "diverged"' div/runs/*/summary.json
check "summary says 1 diverged" grep -q "1 diverged" out7.txt

# 8. An unwritable results folder: a clear error and status 1.
touch notadir
"$prog" -q -o notadir/results "$exp" >out8.txt 2>err8.txt
rc=$?
check "unwritable results folder exits 1 (got $rc)" [ $rc -eq 1 ]
check "the error names the folder" grep -q "notadir" err8.txt

# 9. Two runs sharing a pretraining cause exactly one pretraining.
"$prog" -q -o share "$exp" repeats=1 >out9.txt 2>&1
check "two rules, one repeat: one pretraining" grep -q "pretraining: 1 computed, 0 reused" out9.txt

# 10. A corrupt cache file is detected and recomputed; an intact one reused.
cache=$(ls share/cache/*.bin | head -1)
"$prog" -q -o share "$exp" repeats=1 'sweep.finetune.epochs=[4]' >out10a.txt 2>&1
check "an intact cache is reused" grep -q "pretraining: 0 computed, 1 reused" out10a.txt
printf 'garbage' | dd of="$cache" bs=1 seek=100 conv=notrunc status=none
"$prog" -q -o share "$exp" repeats=1 'sweep.finetune.epochs=[5]' >out10b.txt 2>&1
check "a corrupt cache is recomputed" grep -q "pretraining: 1 computed, 0 reused" out10b.txt

# 11. An invalid experiment writes nothing and points at the spot.
sed 's/eta0: 0.01}/eta0: -0.01}/' "$exp" >invalid.yaml
"$prog" -q -o inv invalid.yaml >out11.txt 2>err11.txt
rc=$?
check "invalid experiment exits 2 (got $rc)" [ $rc -eq 2 ]
check "invalid experiment writes nothing" [ ! -e inv ]
check "the error has file:line:col" grep -qE "invalid.yaml:[0-9]+:[0-9]+: error" err11.txt

# 12. Missing data: exit 3 and a message naming the file.
"$prog" -q -o nodata "$exp" data.dir=/nonexistent >out12.txt 2>err12.txt
rc=$?
check "missing data exits 3 (got $rc)" [ $rc -eq 3 ]
check "missing data message names the file" grep -q "/nonexistent" err12.txt
check "missing data writes nothing" [ ! -e nodata ]

# 13. --dry-run and --print-config write nothing.
"$prog" --dry-run "$exp" >out13.txt 2>&1
check "--dry-run lists 4 runs" grep -q "^4 runs" out13.txt
"$prog" --print-config "$exp" >out14.txt 2>&1
check "--print-config prints 4 documents" [ "$(grep -c '^--- # run' out14.txt)" -eq 4 ]

# 14. Shards: 1/2 and 2/2 together do every run once; merged, the report
#     equals the unsharded one.
"$prog" -q -o s1 --shard 1/2 "$exp" >out15a.txt 2>&1
rc1=$?
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 "$prog" -q -o s2 "$exp" >out15b.txt 2>&1
rc2=$?
check "shard 1 exits 0" [ $rc1 -eq 0 ]
check "shard 2 exits 0" [ $rc2 -eq 0 ]
n1=$(ls s1/runs | wc -l)
n2=$(ls s2/runs | wc -l)
check "shards split the 4 runs ($n1 + $n2)" [ $((n1 + n2)) -eq 4 ]
check "shards share no run" [ -z "$(comm -12 <(ls s1/runs) <(ls s2/runs))" ]
"$prog" merge merged s1 s2 >out15c.txt 2>&1
check "merge exits 0" [ $? -eq 0 ]
check "merged results equal the unsharded ones" same_results j2 merged
check "merged summary.csv equals the unsharded one" \
    diff <(cut -d, -f1-7 j2/summary.csv) <(cut -d, -f1-7 merged/summary.csv)
"$prog" merge merged1 s1 >out15d.txt 2>err15d.txt
check "merging one shard of two exits 1" [ $? -eq 1 ]
check "merging one shard of two says runs are missing" grep -q "in none of the shards" err15d.txt
"$prog" -q -o other "$exp" repeats=1 >/dev/null 2>&1
"$prog" merge merged2 s1 other >out15e.txt 2>err15e.txt
check "merging shards of different experiments exits 2" [ $? -eq 2 ]

# 15. Renaming a variant reruns nothing (same computation, same run ids) and
#     the reports show the new name.
sed 's/^    constant:/    plain-sgd:/' "$exp" >renamed.yaml
"$prog" -q -o j2 renamed.yaml >out16.txt 2>&1
check "renamed variant: exit 0" [ $? -eq 0 ]
check "renamed variant: all 4 runs reused" grep -q "4 already complete" out16.txt
check "renamed variant: summary.csv shows the new name" grep -q ",plain-sgd," j2/summary.csv
check "renamed variant: the old name is gone" bash -c "! grep -q ',constant,' j2/summary.csv"

# 16. --cache shares pretrainings between results folders.
"$prog" -q -o c1 --cache shared "$exp" repeats=1 >out17a.txt 2>&1
"$prog" -q -o c2 --cache shared "$exp" repeats=1 >out17b.txt 2>&1
check "a shared cache: the first folder pretrains" grep -q "pretraining: 1 computed" out17a.txt
check "a shared cache: the second folder reuses it" grep -q "pretraining: 0 computed, 1 reused" out17b.txt

# 17. A failing run: reported, the others finish, exit 1; --fail-fast stops
#     the rest without calling them failed; --rerun-failed redoes only it.
victim=$("$prog" --dry-run "$exp" | sed -n 2p | cut -d' ' -f1)
mkdir -p ff/runs/$victim/config.yaml # a folder where a file must go: the run cannot write
"$prog" -q -j 1 -o ff "$exp" >out18a.txt 2>err18a.txt
rc=$?
check "a failed run gives exit 1 (got $rc)" [ $rc -eq 1 ]
check "the other 3 runs finish" grep -q "3 ok, 0 diverged, 1 failed" out18a.txt
check "the failure is reported with the run id" grep -q "$victim" err18a.txt
check "the failure is recorded in error.txt" [ -s ff/runs/$victim/error.txt ]
rm -rf ff2 && mkdir -p ff2/runs/$victim/config.yaml
"$prog" -q -j 1 --fail-fast -o ff2 "$exp" >out18b.txt 2>err18b.txt
rc=$?
check "--fail-fast gives exit 1 (got $rc)" [ $rc -eq 1 ]
check "--fail-fast: exactly one failure" grep -q " 1 failed" out18b.txt
check "--fail-fast: the rest are not done, not failed" grep -q "not done" out18b.txt
check "--fail-fast: only the failed run has an error.txt" [ "$(find ff2 -name error.txt | wc -l)" -eq 1 ]
rmdir ff/runs/$victim/config.yaml
"$prog" -q -j 1 --rerun-failed -o ff "$exp" >out18c.txt 2>&1
check "--rerun-failed exits 0" [ $? -eq 0 ]
check "--rerun-failed reruns only the failed run" grep -q "1 ok, 0 diverged, 0 failed, 3 already complete" out18c.txt
check "--rerun-failed clears error.txt" [ ! -e ff/runs/$victim/error.txt ]

# 18. Changed data files invalidate finished runs (same run ids, other data).
mkdir -p mydata
cp "$src"/tests/data/fixture-*.gz mydata/
sed "s|dir: $src/tests/data|dir: $work/mydata|" "$exp" >mydata.yaml
"$prog" -q -o md mydata.yaml repeats=1 >/dev/null 2>&1
cp mydata/fixture-images-idx3-ubyte.gz mydata/fixture-t10k-images-idx3-ubyte.gz
"$prog" -q -o md mydata.yaml repeats=1 >out19.txt 2>&1
check "new test data: runs are redone, not reused" grep -q "2 ok, 0 diverged, 0 failed, 0 already complete" out19.txt

# 19. SIGINT: workers stop, nothing is recorded as failed, exit 130, and the
#     next invocation finishes exactly the rest.
"$prog" -q -j 1 -o int "$slow" >out20.txt 2>err20.txt &
pid=$!
for _ in $(seq 1 200); do
    [ "$(find int/runs -name summary.json 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
check "interrupted sweep exits 130 (got $rc)" [ $rc -eq 130 ]
check "interrupted sweep says how to resume" grep -q "interrupted" err20.txt
check "an interrupt records no failure" [ "$(find int -name error.txt | wc -l)" -eq 0 ]
check "an interrupt leaves no temporary files" no_temp_files int
"$prog" -q -j 1 -o int "$slow" >out21.txt 2>&1
check "the sweep resumes after an interrupt" [ $? -eq 0 ]
check "resumed after interrupt equals the uninterrupted sweep" same_results full int

finish
