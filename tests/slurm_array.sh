#!/usr/bin/env bash
# A sweep under a real Slurm (docs/scaling.md): starts munged (own key and socket),
# slurmctld and slurmd (a generated one-node slurm.conf, all state in a
# temporary folder), then
#   1. submits a 6-run sweep with tools/slurm/submit.sh as an array of 3
#      shards plus the dependent merge, and checks that the merged folder
#      equals the same sweep run unsharded with -j 2, byte for byte (timing
#      aside), and that the shards computed each pretraining once between them
#      (their shared cache);
#   2. submits it again with shard 2's data unreadable and one run of shard 3
#      unwritable: the afterok merge is cancelled by Slurm, the afterany merge
#      lists the missing runs with their shards and exits 1; shard 2
#      resubmitted as it was and shard 3 with --rerun-failed complete the
#      folder, which then equals the unsharded one.
# Every daemon it started is stopped by its process id and its files removed,
# also when a check fails. Bounded to about 3 minutes (SLURM_TEST_SECONDS).
# Skipped (exit 77) when not root, or when slurm-wlm and munge are missing and
# cannot be installed (the test installs them only in CI, CI=true); with
# ADAMIX_REQUIRE_SLURM=1 (.ci/run) a skip is a failure.
#
# usage: slurm_array.sh PROGRAM SOURCE_DIR
set -u
prog=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # jobs run elsewhere
src=$2
t0=$SECONDS
deadline=$((SECONDS + ${SLURM_TEST_SECONDS:-200}))

skip() { # exit 77: CTest reports the test as skipped (ADAMIX_REQUIRE_SLURM=1: failed)
    if [ "${ADAMIX_REQUIRE_SLURM:-}" = 1 ]; then
        echo "FAIL (ADAMIX_REQUIRE_SLURM=1, not skipped): $*"
        exit 1
    fi
    echo "SKIPPED: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root: it starts munged, slurmctld and slurmd (run the tests as root, e.g. in CI)"
need_bins() {
    for b in munged munge slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
        command -v "$b" >/dev/null 2>&1 || return 1
    done
}
if ! need_bins; then
    # a developer's machine gets no packages behind their back; CI installs them
    [ "${CI:-}" = true ] ||
        skip "slurm-wlm and munge are not installed: tools/setup.sh --slurm installs them (in CI, CI=true, this test does)"
    echo "slurm-wlm or munge missing: installing them with tools/setup.sh --slurm"
    bash "$src/tools/setup.sh" --slurm --no-data --no-build ||
        skip "could not install slurm-wlm and munge (tools/setup.sh --slurm failed, output above)"
    need_bins || skip "slurm-wlm and munge installed, but their programs are not on the PATH"
fi

source "$src/tests/checklib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-slurm-XXXXXX")
chmod 711 "$work" # munged wants its socket reachable
pids=() # daemons we started, stopped in reverse order

cleanup() {
    if [ -n "${SLURM_CONF:-}" ] && [ ${#pids[@]} -gt 0 ]; then
        # jobs first: their slurmstepd processes are not children of slurmd
        scancel --quiet --user=root 2>/dev/null
        for _ in $(seq 1 50); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
        kill -TERM "${pids[k]}" 2>/dev/null
    done
    for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
        for _ in $(seq 1 50); do
            kill -0 "${pids[k]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${pids[k]}" 2>/dev/null
        wait "${pids[k]}" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fatal() { # a step without which the rest cannot run
    echo "FAIL: $*"
    for f in "$work"/munge/munged.log "$work"/slurm/slurmctld.log "$work"/slurm/slurmd.log; do
        [ -s "$f" ] && { echo "--- last lines of $f"; tail -n 15 "$f"; }
    done
    fail=$((fail + 1))
    finish
    exit 1
}
left() { [ $SECONDS -lt $deadline ]; }

# --- munge: own key, socket, log, pid and seed files
mkdir -p "$work/munge" && chmod 711 "$work/munge"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
sock=$work/munge/munge.socket
munged -F --force --socket="$sock" --key-file="$work/munge/munge.key" \
    --log-file="$work/munge/munged.log" --pid-file="$work/munge/munged.pid" \
    --seed-file="$work/munge/munged.seed" >"$work/munge/stdout" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
    munge -S "$sock" -n 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1 && break
    sleep 0.1
done
munge -S "$sock" -n 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1 ||
    fatal "munged did not answer on $sock"

# --- slurm: free ports, a one-node configuration, the two daemons
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=0
for _ in $(seq 1 20); do
    p=$((20000 + RANDOM % 20000))
    port_free $p && port_free $((p + 1)) && { base=$p; break; }
done
[ $base -gt 0 ] || fatal "no two free TCP ports found"
host=$(hostname -s)
S=$work/slurm
mkdir -p "$S/state" "$S/spool"
# both daemons on 127.0.0.1: no name lookup of the host is needed
cat >"$S/slurm.conf" <<EOF
ClusterName=adamixtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf
slurmctld -D -f "$SLURM_CONF" >"$S/slurmctld.stdout" 2>&1 &
pids+=($!)
# slurmd registers at start: start it once the controller answers
for _ in $(seq 1 100); do
    scontrol ping 2>/dev/null | grep -q "is UP" && break
    sleep 0.2
done
scontrol ping 2>/dev/null | grep -q "is UP" || fatal "slurmctld does not answer (scontrol ping)"
slurmd -D -f "$SLURM_CONF" >"$S/slurmd.stdout" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.2
done
[ "${state:-}" = idle ] || fatal "the node did not become idle (sinfo says '${state:-nothing}')"
echo "slurm: slurmctld (pid ${pids[1]}) and slurmd (pid ${pids[2]}) on $host, ports $base/$((base + 1)); munged pid ${pids[0]}"

# --- the sweep: 3 rules x 2 batch sizes = 6 runs, one repeat, so all six
# need the same pretraining: two shards that start together contend for it.
# data.dir is relative (to the folder every command runs in), so the run ids,
# and with them the split into shards, do not depend on the temporary folder;
# the seed is the first that splits the runs 2/2/2 (a hash split is balanced
# only in expectation), so every shard has work whatever the run ids are.
cd "$work" || fatal "cannot enter $work"
mkdir -p data
cp "$src"/tests/data/fixture-*.gz data/
exp=$work/sweep.yaml
cat >"$exp" <<EOF
name: slurm-sweep
seed: SEED
data:
  dir: data
  train: fixture-images-idx3-ubyte.gz
  test: fixture-t10k-images-idx3-ubyte.gz
  train_limit: 200
network:
  layers: [784, 256, 32]
pretrain:
  epochs: 100
  batch_size: 20
finetune:
  epochs: 12
  batch_size: 20
  rules:
    all: {rule: constant, eta0: 0.01}
sweep:
  finetune.rules:
    AdaMix:
      weights: {rule: current-gradient, eta0: 0.01}
      biases: {rule: power-exponential, eta0: 0.01}
    AdaGrad:
      all: {rule: adagrad, eta0: 0.05}
    constant:
      all: {rule: constant, eta0: 0.01}
  finetune.batch_size: [20, 50]
report:
  series: finetune.rules
EOF
export ADAMIX_RUN=$prog OPENBLAS_NUM_THREADS=1
for seed in $(seq 1 100); do
    "$prog" --dry-run --shard 1/3 "$exp" seed=$seed | grep -q "^shard sizes of 3: 2 2 2 " && break
done
sed -i "s/^seed: SEED$/seed: $seed/" "$exp"
"$prog" --dry-run --shard 1/3 "$exp" >split.txt
check "the test sweep splits 2/2/2 (seed $seed)" grep -q "^shard sizes of 3: 2 2 2 " split.txt

# the unsharded reference
"$prog" -q -j 2 -o "$work/ref" "$exp" >"$work/ref.out" 2>&1 || fatal "the unsharded sweep failed: $(cat "$work/ref.out")"
check "unsharded: 6 runs, 1 pretraining" grep -q "pretraining: 1 computed" "$work/ref.out"

# Folder A equals folder B byte for byte, timing aside: the same files (the
# cache, manifest.json, the .lock file (its holder's process id) and
# report.html, which shows the manifest's times and command line, apart), CSV
# files without their seconds columns, JSON files without their *seconds
# fields.
norm() {
    case "$1" in
    *.csv) awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) drop[i] = ($i ~ /seconds/) }
        { line = ""; sep = ""; for (i = 1; i <= NF; i++) if (!drop[i]) { line = line sep $i; sep = OFS }; print line }' "$1" ;;
    *.json) grep -v -E '"[a-z_]*seconds"' "$1" ;;
    *) cat "$1" ;;
    esac
}
same_folder() { # same_folder A B: prints what differs
    local a=$1 b=$2 f ok=0 n=0
    local la lb
    la=$(cd "$a" && find . -type f ! -path './cache/*' ! -name manifest.json ! -name report.html ! -name .lock | sort)
    lb=$(cd "$b" && find . -type f ! -path './cache/*' ! -name manifest.json ! -name report.html ! -name .lock | sort)
    if [ "$la" != "$lb" ]; then
        echo "  the files differ:"
        diff <(echo "$la") <(echo "$lb") | sed 's/^/    /'
        return 1
    fi
    for f in $la; do
        n=$((n + 1))
        cmp -s <(norm "$a/$f") <(norm "$b/$f") || {
            echo "  differs: $f"
            ok=1
        }
    done
    [ $ok -eq 0 ] && echo "  $n files identical (timing columns aside)"
    return $ok
}

state_of() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1; }
exit_of() { scontrol show job "$1" 2>/dev/null | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' | head -1; }
# waits until job (or every task of an array) has ended; false at the deadline
wait_done() {
    while left; do
        local st
        st=$(squeue -h -j "$1" -o %T 2>/dev/null)
        [ -z "$st" ] && return 0
        sleep 0.5
    done
    echo "  timed out waiting for job $1 (squeue: $(squeue -h -j "$1" -o '%i %T %r' | tr '\n' ' '))"
    return 1
}
# one line per task of array job: ID_I STATE EXIT
array_states() {
    scontrol show job "$1" 2>/dev/null | awk '/^JobId=/ { id = ""; st = ""; ex = "" }
        { for (i = 1; i <= NF; i++) {
            if ($i ~ /^ArrayJobId=/) aj = substr($i, 12)
            if ($i ~ /^ArrayTaskId=/) id = substr($i, 13)
            if ($i ~ /^JobState=/) st = substr($i, 10)
            if ($i ~ /^ExitCode=/) { ex = substr($i, 10); print aj "_" id, st, ex } } }' | sort
}
start_of() { scontrol show job "$1" 2>/dev/null | sed -n 's/.* StartTime=\([^ ]*\).*/\1/p' | head -1; }
task_is() { # task_is ARRAY_JOB I "STATE EXIT"
    array_states "$1" | grep -q "^$1_$2 $3\$"
}
pretrain_count() { # pretrain_count FILES...: the sum of "pretraining: N computed"
    sed -n 's/^pretraining: \([0-9]*\) computed.*/\1/p' "$@" | awk '{ s += $1 } END { print s + 0 }'
}

# --- 0. what the scripts refuse, before anything is queued
printf 'name: bad\nnetwork: {layers: [784, 8]}\nfinetune: {rules: {all: {rule: nope}}}\n' >bad.yaml
bash "$src/tools/slurm/submit.sh" bad.yaml 3 >sub-bad.out 2>&1
rc=$?
check "submit.sh refuses an invalid experiment (exit 2; got $rc)" [ $rc -eq 2 ]
check "submit.sh names the invalid experiment" grep -q "bad.yaml is not a valid experiment" sub-bad.out
bash "$src/tools/slurm/submit.sh" "$exp" 0 >sub-zero.out 2>&1
rc=$?
check "submit.sh refuses N = 0 (exit 2; got $rc)" [ $rc -eq 2 ]
check "submit.sh says what N must be" grep -q "must be a whole number >= 1, got '0'" sub-zero.out
check "nothing was queued by the refusals" [ -z "$(squeue -h -o %i)" ]
env -u SLURM_ARRAY_TASK_ID bash "$src/tools/slurm/sweep.sbatch" "$exp" out 3 >sb.out 2>&1
rc=$?
check "sweep.sbatch outside an array job exits 2 (got $rc)" [ $rc -eq 2 ]
check "sweep.sbatch says how to submit it" grep -q "submit with --array=1-3" sb.out
SLURM_ARRAY_TASK_ID=4 bash "$src/tools/slurm/sweep.sbatch" "$exp" out 3 >sb4.out 2>&1
rc=$?
check "sweep.sbatch refuses array index 4 of 3 shards (got $rc)" [ $rc -eq 2 ]
check "sweep.sbatch says which indices are shards" grep -q "index 4 is not a shard of 1..3" sb4.out

# --- 1. array of 3 + afterok merge, through submit.sh
out1=$work/r1/slurm-sweep
echo "== 1. submit.sh: 3 shards and an afterok merge"
(cd "$work" && bash "$src/tools/slurm/submit.sh" --out "$out1" --throttle 2 "$exp" 3) >"$work/submit1.out" 2>&1 ||
    fatal "submit.sh failed: $(cat "$work/submit1.out")"
cat "$work/submit1.out"
a1=$(sed -n 's/^sweep job \([0-9]*\):.*/\1/p' "$work/submit1.out")
m1=$(sed -n 's/^merge job \([0-9]*\):.*/\1/p' "$work/submit1.out")
[ -n "$a1" ] && [ -n "$m1" ] || fatal "submit.sh printed no job ids"
wait_done "$a1" && wait_done "$m1" || fatal "round 1 did not finish in time"
array_states "$a1"
echo "merge $m1 $(state_of "$m1") $(exit_of "$m1")"
check "round 1: all 3 tasks COMPLETED" [ "$(array_states "$a1" | grep -c ' COMPLETED 0:0$')" -eq 3 ]
check "round 1: the merge job COMPLETED (exit 0:0)" [ "$(state_of "$m1") $(exit_of "$m1")" = "COMPLETED 0:0" ]
logs1=$out1.shards/logs
cat "$logs1/merge-$m1.out"
check "round 1: the merge says 6 of 6 runs complete" grep -q "(6 of 6 runs complete)" "$logs1/merge-$m1.out"
computed1=$(pretrain_count "$logs1"/sweep-*.out 2>/dev/null)
grep -h "^pretraining:" "$logs1"/sweep-*.out | sed 's/^/  shard log: /'
echo "round 1: pretrainings computed by the 3 shards together: $computed1 (distinct pretrainings: 1)"
check "round 1: the shards computed the pretraining once (shared cache, lock per entry)" [ "$computed1" = 1 ]
# the count means something only if two tasks needed it at the same time
start1=$(date -d "$(start_of "${a1}_1")" +%s)
start2=$(date -d "$(start_of "${a1}_2")" +%s)
took=$(awk -F, 'NR > 1 { s += $NF } END { printf "%.0f", s }' "$work"/ref/pretrain/*.csv)
echo "round 1: tasks 1 and 2 started at $(start_of "${a1}_1") and $(start_of "${a1}_2"); the pretraining takes about $took s"
check "round 1: tasks 1 and 2 ran at the same time as the pretraining (they contended for it)" \
    [ $((start1 > start2 ? start1 - start2 : start2 - start1)) -lt $((took > 1 ? took : 1)) ]
echo "round 1: merged folder against the unsharded -j 2 folder:"
check "round 1: the merged folder equals the unsharded one, byte for byte (timing aside)" \
    same_folder "$work/ref" "$out1"

# submit.sh --merge-after any (held, looked at, cancelled: nothing runs)
(cd "$work" && bash "$src/tools/slurm/submit.sh" --out "$work/r3/x" --merge-after any "$exp" 3 --hold) \
    >"$work/submit3.out" 2>&1
a3=$(sed -n 's/^sweep job \([0-9]*\):.*/\1/p' "$work/submit3.out")
m3=$(sed -n 's/^merge job \([0-9]*\):.*/\1/p' "$work/submit3.out")
check "submit.sh --merge-after any: the merge depends on the array with afterany" \
    bash -c "scontrol show job '${m3:-none}' | grep -q 'Dependency=afterany:${a3:-none}'"
scancel "${a3:-0}" "${m3:-0}" 2>/dev/null

# --- 2. failures: shard 2's data unreadable, one run of shard 3 unwritable
out2=$work/r2/slurm-sweep
sh2=$out2.shards
logs2=$sh2/logs
mkdir -p "$logs2"
echo "== 2. shard 2 without its data, a run of shard 3 that cannot be written"
a2=$(sbatch --parsable --hold --array=1-3 --output="$logs2/sweep-%A_%a.out" \
    "$src/tools/slurm/sweep.sbatch" "$exp" "$out2" 3) || fatal "sbatch of the array failed"
m2ok=$(sbatch --parsable --dependency="afterok:$a2" --kill-on-invalid-dep=yes \
    --output="$logs2/merge-%j.out" "$src/tools/slurm/merge.sbatch" "$exp" "$out2" 3) ||
    fatal "sbatch of the afterok merge failed"
m2any=$(sbatch --parsable --dependency="afterany:$a2" --output="$logs2/merge-%j.out" \
    "$src/tools/slurm/merge.sbatch" "$exp" "$out2" 3) || fatal "sbatch of the afterany merge failed"
echo "array job $a2 (held), afterok merge $m2ok, afterany merge $m2any"
victim=$("$prog" --dry-run --shard 3/3 "$exp" | sed -n 2p | cut -d' ' -f1)
[ -n "$victim" ] || fatal "shard 3/3 has no run"
mkdir -p "$sh2/shard-3/runs/$victim/config.yaml" # a folder where the run's file must go
scontrol release "${a2}_1" "${a2}_3" || fatal "scontrol release ${a2}_1 ${a2}_3 failed"
while left && [ "$(array_states "$a2" | grep -c -E ' (COMPLETED|FAILED) ')" -lt 2 ]; do sleep 0.5; done
mv "$work/data" "$work/data.away" # shard 2 cannot read its data
scontrol release "${a2}_2" || fatal "scontrol release ${a2}_2 failed"
wait_done "$a2"
mv "$work/data.away" "$work/data"
wait_done "$m2any"
array_states "$a2"
echo "merge (afterok) $m2ok $(state_of "$m2ok") $(exit_of "$m2ok"); merge (afterany) $m2any $(state_of "$m2any") $(exit_of "$m2any")"
check "round 2: task 1 COMPLETED" task_is "$a2" 1 "COMPLETED 0:0"
check "round 2: task 2 FAILED with exit 3 (its data unreadable)" task_is "$a2" 2 "FAILED 3:0"
check "round 2: task 3 FAILED with exit 1 (a run failed)" task_is "$a2" 3 "FAILED 1:0"
check "round 2: Slurm cancelled the afterok merge" [ "$(state_of "$m2ok")" = CANCELLED ]
check "round 2: the afterok merge never ran (no log)" [ ! -e "$logs2/merge-$m2ok.out" ]
check "round 2: the afterany merge FAILED with exit 1" [ "$(state_of "$m2any") $(exit_of "$m2any")" = "FAILED 1:0" ]
mlog=$logs2/merge-$m2any.out
cat "$mlog"
n2=$("$prog" --dry-run --shard 2/3 "$exp" | grep -c '^[0-9a-f]\{16\} ')
check "round 2: the merge counts the missing runs ($((n2 + 1)) of 6)" grep -q "$((n2 + 1)) of 6 runs of the experiment are in none of the shards" "$mlog"
for id in $("$prog" --dry-run --shard 2/3 "$exp" | grep -o '^[0-9a-f]\{16\}'); do
    check "round 2: missing run $id is reported as shard 2/3's, whose folder does not exist" \
        grep -q "^  $id  shard 2/3 .*no folder of its shard was merged (not there: $sh2/shard-2)" "$mlog"
done
check "round 2: the failed run $victim is reported as shard 3/3's, with its error" \
    grep -q "^  $victim  shard 3/3 .*failed in $sh2/shard-3: .*config.yaml" "$mlog"
check "round 2: the merge names the shards to resubmit" grep -q "sbatch --array=2,3 " "$mlog"

# resubmit: shard 2 as it was, shard 3 with --rerun-failed (its other runs stay)
rmdir "$sh2/shard-3/runs/$victim/config.yaml"
r2=$(sbatch --parsable --array=2 --output="$logs2/sweep-%A_%a.out" \
    "$src/tools/slurm/sweep.sbatch" "$exp" "$out2" 3) || fatal "resubmitting task 2 failed"
r3=$(sbatch --parsable --array=3 --output="$logs2/sweep-%A_%a.out" \
    "$src/tools/slurm/sweep.sbatch" "$exp" "$out2" 3 --rerun-failed) || fatal "resubmitting task 3 failed"
m2=$(sbatch --parsable --dependency="afterok:$r2:$r3" --kill-on-invalid-dep=yes \
    --output="$logs2/merge-%j.out" "$src/tools/slurm/merge.sbatch" "$exp" "$out2" 3) ||
    fatal "sbatch of the last merge failed"
echo "resubmitted: task 2 as job $r2, task 3 (--rerun-failed) as job $r3, merge $m2"
wait_done "$r2" && wait_done "$r3" && wait_done "$m2"
array_states "$r2"
array_states "$r3"
echo "merge $m2 $(state_of "$m2") $(exit_of "$m2")"
check "round 2: resubmitted task 2 COMPLETED" [ "$(state_of "$r2") $(exit_of "$r2")" = "COMPLETED 0:0" ]
check "round 2: resubmitted task 3 COMPLETED" [ "$(state_of "$r3") $(exit_of "$r3")" = "COMPLETED 0:0" ]
grep -h "runs:" "$logs2/sweep-${r3}_3.out" | sed 's/^/  task 3: /'
check "round 2: --rerun-failed redid only the failed run" \
    grep -q ": [0-9]* runs*: 1 ok, 0 diverged, 0 failed, [0-9]* already complete" "$logs2/sweep-${r3}_3.out"
check "round 2: the last merge COMPLETED" [ "$(state_of "$m2") $(exit_of "$m2")" = "COMPLETED 0:0" ]
computed2=$(pretrain_count "$logs2"/sweep-*.out 2>/dev/null)
echo "round 2: pretrainings computed by all its tasks: $computed2"
check "round 2: the pretraining computed once over all tasks" [ "$computed2" = 1 ]
echo "round 2: merged folder against the unsharded -j 2 folder:"
check "round 2: the completed folder equals the unsharded one (timing aside)" same_folder "$work/ref" "$out2"

echo "slurm test took $((SECONDS - t0)) s"
finish
