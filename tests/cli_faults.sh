#!/usr/bin/env bash
# Fault tests of the runner (docs/design.md, "Where results go"), bounded
# in time: SIGKILL of the main process and of a worker at random moments of
# the smoke sweep, each resumed to byte-identical results with no temporary
# file left; a disk that fills up (a small tmpfs) at several points of a
# sweep; a read-only results folder. cli_run.sh has the single kill after
# the first finished run and the results path that is a file;
# cli_results_faults.sh the damaged results, locks and Ctrl-C.
#
# The kill moments come from FAULT_SEED (printed; default: the process id),
# so a failure reproduces with FAULT_SEED=N. The tmpfs checks need mount(8)
# and root; elsewhere they are skipped with a message (as root without mount
# the read-only check is skipped too: root writes through permissions).
#
# usage: cli_faults.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-faults-kill-XXXXXX")
mnt=$work/mnt
cleanup() {
    mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
# longer fine-tuning, so that kills land inside runs as well as between them
slow=$work/slow.yaml
sed -e 's/epochs: 3/epochs: 12/' "$exp" >"$slow"

seed=${FAULT_SEED:-$$}
RANDOM=$seed
echo "kill moments from FAULT_SEED=$seed"

norm_curve() { cut -d, -f1-3,5- "$1"; }
norm_summary() { grep -v -E '"(seconds|pretrain_seconds|finetune_seconds)"' "$1"; }
# same_results REF DIR: DIR has every run of REF, with the same curve and
# summary (timing aside)
same_results() {
    local a=$1 b=$2 id n=0
    for d in "$a"/runs/*/; do
        id=$(basename "$d")
        [ -f "$b/runs/$id/summary.json" ] || return 1
        diff <(norm_curve "$a/runs/$id/curve.csv") <(norm_curve "$b/runs/$id/curve.csv") >/dev/null || return 1
        diff <(norm_summary "$a/runs/$id/summary.json") <(norm_summary "$b/runs/$id/summary.json") >/dev/null || return 1
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] && [ "$(ls "$b/runs" | wc -l)" -eq "$n" ]
}
# no_torn REF DIR: every run file DIR holds is whole (equal to REF's)
no_torn() {
    local ref=$1 dir=$2 f id
    for f in "$dir"/runs/*/curve.csv; do
        [ -e "$f" ] || continue
        id=$(basename "$(dirname "$f")")
        diff <(norm_curve "$ref/runs/$id/curve.csv") <(norm_curve "$f") >/dev/null || return 1
    done
    for f in "$dir"/runs/*/summary.json; do
        [ -e "$f" ] || continue
        id=$(basename "$(dirname "$f")")
        diff <(norm_summary "$ref/runs/$id/summary.json") <(norm_summary "$f") >/dev/null || return 1
    done
    for f in "$dir"/runs/*/config.yaml; do
        [ -e "$f" ] || continue
        id=$(basename "$(dirname "$f")")
        cmp -s "$ref/runs/$id/config.yaml" "$f" || return 1
    done
}
no_temp_files() { ! find "$1" -name '*.amx-tmp.*' | grep -q .; }
workers_of() { pgrep -P "$1" -x adamix-run; }
# kill_all PID DIR: SIGKILL to the main process, then to the workers it had
# (they hold the folder's lock through the inherited descriptor)
kill_all() {
    local kids k mine=""
    kids=$(workers_of "$1")
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    # only the workers still ours: a worker that ended in between may have
    # given its process id to another test's process (ids wrap at pid_max)
    for k in $kids; do
        tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null | grep -q -- "-o $2 " && mine="$mine $k"
    done
    kids=$mine
    [ -n "$kids" ] && kill -9 $kids 2>/dev/null
    for _ in $(seq 1 100); do
        [ -z "$kids" ] || ! kill -0 $kids 2>/dev/null && break
        sleep 0.02
    done
}

# the uninterrupted reference, and its duration (the kills fall inside it)
t0=$(date +%s%N)
"$prog" -q -j 2 -o ref "$slow" >ref.txt 2>&1
rc=$?
t1=$(date +%s%N)
check "the reference sweep exits 0 (got $rc: $(head -c 300 ref.txt))" [ $rc -eq 0 ]
dur_ms=$(((t1 - t0) / 1000000))
echo "reference sweep: $dur_ms ms"
[ "$dur_ms" -ge 200 ] || dur_ms=200

kills=0 # that hit a sweep still running
# ---- SIGKILL of the main process, 6 times, at random moments; each resumed
# (a sweep that finished before its kill, on a machine busier or quieter
# than during the reference, is started again with a shorter delay, up to 5
# times, so the kills land in running sweeps)
for k in 1 2 3 4 5 6; do
    dir=main$k
    for attempt in 1 2 3 4 5; do
        rm -rf $dir
        "$prog" -q -j 2 -o $dir "$slow" >/dev/null 2>&1 &
        pid=$!
        ms=$((50 + RANDOM % (dur_ms * 8 / 10 / attempt)))
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        if kill -0 $pid 2>/dev/null; then
            kills=$((kills + 1))
            kill_all $pid $dir
            # a worker forked between listing the workers and the kill (on a
            # busy machine) outlives its parent: its command line is the
            # parent's, so find it by its -o folder
            for _ in $(seq 1 100); do
                pkill -9 -f -- "-j 2 -o $dir " 2>/dev/null || break
                sleep 0.02
            done
            break
        fi
        wait $pid 2>/dev/null
    done
    before=$(find $dir/runs -name summary.json 2>/dev/null | wc -l)
    check "main kill $k at $ms ms: what it left is whole ($before of 4 runs done)" no_torn ref $dir
    "$prog" -q -j 2 -o $dir "$slow" >resume-$dir.txt 2>&1
    rc=$?
    check "main kill $k: the resumed sweep exits 0 (got $rc: $(tail -c 300 resume-$dir.txt))" [ $rc -eq 0 ]
    check "main kill $k: resumed results equal the uninterrupted sweep" same_results ref $dir
    check "main kill $k: no temporary file left" no_temp_files $dir
done

# ---- SIGKILL of one worker, 4 times, at random moments of its life: the
# sweep goes on (exit 1, the killed run reported), the rerun redoes it. A
# kill that finds the worker already ended (a zombie not yet reaped) hurts
# nothing; it is tried again at another moment, up to 5 times.
for k in 1 2 3 4; do
    dir=worker$k
    for attempt in 1 2 3 4 5; do
        rm -rf $dir
        "$prog" -q -j 2 -o $dir "$slow" >wk-$dir.txt 2>&1 &
        pid=$!
        ms=$((RANDOM % (dur_ms * 6 / 10)))
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        victim=
        for _ in $(seq 1 200); do
            victim=$(workers_of $pid | head -1)
            [ -n "$victim" ] && break
            sleep 0.01
        done
        [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
        wait $pid
        rc=$?
        grep -q "worker killed by signal 9" wk-$dir.txt && break
        check "worker kill $k, attempt $attempt at $ms ms: a kill that hit no work leaves exit 0 (got $rc)" [ $rc -eq 0 ]
    done
    if grep -q "worker killed by signal 9" wk-$dir.txt; then
        kills=$((kills + 1))
        check "worker kill $k at $ms ms: the sweep goes on and exits 1 (got $rc)" [ $rc -eq 1 ]
        check "worker kill $k: the killed run (a pretraining: its runs) is reported failed" grep -q -E " [1-9] failed," wk-$dir.txt
        check "worker kill $k: what it left is whole" no_torn ref $dir
    fi
    "$prog" -q -j 2 -o $dir "$slow" >resume-$dir.txt 2>&1
    rc=$?
    check "worker kill $k: the rerun exits 0 (got $rc: $(tail -c 300 resume-$dir.txt))" [ $rc -eq 0 ]
    check "worker kill $k: rerun results equal the uninterrupted sweep" same_results ref $dir
    check "worker kill $k: no temporary file left" no_temp_files $dir
done
check "at least 8 kills hit a running sweep (got $kills)" [ $kills -ge 8 ]

# ---- a disk that fills up, and a read-only results folder (tmpfs)
can_mount=0
if [ "$(id -u)" = 0 ] && command -v mount >/dev/null && mkdir -p "$mnt" &&
    mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
    umount "$mnt"
    can_mount=1
fi
if [ $can_mount = 0 ]; then
    echo "skipped: disk full and read-only folder (mounting a tmpfs needs root and mount(8))"
else
    # results of the smoke sweep take about $(du -sk ref) KiB: sizes from a
    # few KiB to most of it make it fail at different files
    total_k=$(du -sk ref | cut -f1)
    for size_k in 8 48 $((total_k / 3)) $((total_k * 2 / 3)); do
        mount -t tmpfs -o size=${size_k}k tmpfs "$mnt"
        "$prog" -q -j 2 -o "$mnt/full" "$slow" >full-$size_k.txt 2>&1
        rc=$?
        check "disk full at ${size_k} KiB: exit 1 (got $rc: $(tail -c 200 full-$size_k.txt))" [ $rc -eq 1 ]
        check "disk full at ${size_k} KiB: the error says the disk is full" \
            grep -q -i "no space left" full-$size_k.txt
        check "disk full at ${size_k} KiB: no temporary file left" no_temp_files "$mnt/full"
        check "disk full at ${size_k} KiB: no half-written run file" no_torn ref "$mnt/full"
        # with room again, the same folder completes to the same results
        rm -rf full
        cp -a "$mnt/full" full 2>/dev/null || mkdir full
        umount "$mnt"
        "$prog" -q -j 2 -o full "$slow" >full-resume-$size_k.txt 2>&1
        rc=$?
        check "disk full at ${size_k} KiB: resumed with room, exit 0 (got $rc)" [ $rc -eq 0 ]
        check "disk full at ${size_k} KiB: resumed results equal the uninterrupted sweep" same_results ref full
    done

    # read-only: an empty results folder, and a complete one
    mount -t tmpfs -o size=4m tmpfs "$mnt"
    mkdir "$mnt/empty"
    cp -a ref "$mnt/done"
    mount -o remount,ro "$mnt"
    (cd "$mnt" && find . -type f -exec sha256sum {} + | sort) >ro-before.txt
    for d in empty done; do
        "$prog" -q -j 2 -o "$mnt/$d" "$slow" >ro-$d.txt 2>&1
        rc=$?
        check "read-only $d folder: exit 1 (got $rc: $(tail -c 200 ro-$d.txt))" [ $rc -eq 1 ]
        check "read-only $d folder: an error naming the folder" grep -q -F "$mnt/$d" ro-$d.txt
        check "read-only $d folder: says read-only" grep -q -i "read-only" ro-$d.txt
    done
    (cd "$mnt" && find . -type f -exec sha256sum {} + | sort) >ro-after.txt
    check "read-only folders unchanged" cmp -s ro-before.txt ro-after.txt
    umount "$mnt"
fi

finish
