#!/usr/bin/env bash
# Submits an adamix-run sweep to Slurm: an array job of N shards
# (tools/slurm/sweep.sbatch) and a merge job that depends on it
# (tools/slurm/merge.sbatch), and prints their job ids.
#
#   tools/slurm/submit.sh [options] EXPERIMENT.yaml N [sbatch options...]
#
#   --out DIR          merged results folder (default: adamix-run's, results/
#                      mirroring experiments/, docs/design.md); the
#                      shards go to DIR.shards/shard-I, their shared pretraining
#                      cache to DIR.shards/cache, the job logs to DIR.shards/logs
#   --throttle K       at most K tasks at once (--array=1-N%K)
#   --merge-after any  merge even when tasks failed: it reports the missing runs
#                      and exits 1 (default: ok, the merge runs only when every
#                      task succeeded and Slurm cancels it otherwise)
#   --run-args "..."   more adamix-run options for every task (e.g. "--set seed=3")
#   -h, --help         this text
#
# sbatch options (--partition, --time, --cpus-per-task, --account, ...) go to
# both jobs. The program is $ADAMIX_RUN, else build/adamix-run of this
# checkout, else adamix-run on the PATH; the folders must be on a file system
# that every node sees. Prints "sweep job ID" and "merge job ID" lines.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
    echo "submit.sh: error: $*" >&2
    exit 2
}

out=""
throttle=""
after=ok
run_args=""
while [ $# -gt 0 ]; do
    case "$1" in
    --out)
        [ $# -ge 2 ] || die "--out needs a folder"
        out=$2
        shift 2
        ;;
    --throttle)
        [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "--throttle needs a whole number >= 1, got '${2:-}'"
        throttle=$2
        shift 2
        ;;
    --merge-after)
        [ $# -ge 2 ] && [[ "$2" =~ ^(ok|any)$ ]] || die "--merge-after expects ok or any, got '${2:-}'"
        after=$2
        shift 2
        ;;
    --run-args)
        [ $# -ge 2 ] || die "--run-args needs a string"
        run_args=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*) die "unknown option '$1' before EXPERIMENT.yaml (try --help)" ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || die "usage: submit.sh [options] EXPERIMENT.yaml N [sbatch options...] (try --help)"
exp=$1
n=$2
shift 2
[ -f "$exp" ] || die "no such experiment file: $exp"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N (the number of shards) must be a whole number >= 1, got '$n'"
command -v sbatch >/dev/null 2>&1 || die "sbatch not found: run this on a Slurm login node"

prog=${ADAMIX_RUN:-}
if [ -z "$prog" ]; then
    if [ -x "$here/../../build/adamix-run" ]; then
        prog=$here/../../build/adamix-run
    else
        prog=$(command -v adamix-run) || die "adamix-run not found: build it (tools/setup.sh) or set ADAMIX_RUN"
    fi
fi
prog=$(cd "$(dirname "$prog")" && pwd)/$(basename "$prog")
export ADAMIX_RUN=$prog

# an invalid experiment is refused here, not N times on the cluster
# shellcheck disable=SC2086
"$prog" validate "$exp" $run_args >/dev/null || die "$exp is not a valid experiment (errors above)"
# adamix-run's own default (docs/design.md, "Where results go"): results
# mirror experiments, P/experiments/S/F.yaml -> P/results/S/F; a file outside
# an experiments/ folder -> results/<name>
default_out() {
    local parts i last=-1 pre= rest=
    IFS=/ read -ra parts <<<"$1"
    for ((i = 0; i < ${#parts[@]} - 1; i++)); do
        [ "${parts[i]}" = experiments ] && last=$i
    done
    if [ "$last" -ge 0 ]; then
        for ((i = 0; i < last; i++)); do pre+="${parts[i]}/"; done
        for ((i = last + 1; i < ${#parts[@]}; i++)); do rest+="${rest:+/}${parts[i]}"; done
        case "/$rest" in */../*) ;; *)
            rest=${rest%.yaml}
            echo "${pre}results/${rest%.yml}"
            return
            ;;
        esac
    fi
    local name
    name=$("$prog" --print-config "$1" | sed -n 's/^name: *//p' | head -1)
    [ -n "$name" ] || die "could not read the experiment's name from --print-config"
    echo "results/$name"
}
[ -n "$out" ] || out=$(default_out "$exp")
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac }
exp=$(abs "$exp")
out=$(abs "$out")
logs=$out.shards/logs
mkdir -p "$logs"

array=1-$n
[ -n "$throttle" ] && array="$array%$throttle"
# shellcheck disable=SC2086
sweep=$(sbatch --parsable --array="$array" --output="$logs/sweep-%A_%a.out" "$@" \
    "$here/sweep.sbatch" "$exp" "$out" "$n" $run_args) || {
    echo "submit.sh: error: sbatch of the sweep failed (its message is above); nothing was submitted" >&2
    exit 1
}
sweep=${sweep%%;*} # --parsable: "ID" or "ID;CLUSTER"
# afterok: Slurm cancels the merge when a task fails (--kill-on-invalid-dep),
# rather than leaving it pending for ever (DependencyNeverSatisfied)
dep=(--dependency="afterok:$sweep" --kill-on-invalid-dep=yes)
[ "$after" = any ] && dep=(--dependency="afterany:$sweep")
merge=$(sbatch --parsable "${dep[@]}" --output="$logs/merge-%j.out" "$@" \
    "$here/merge.sbatch" "$exp" "$out" "$n") || {
    echo "submit.sh: error: sbatch of the merge failed (message above); the sweep job $sweep stays queued:" >&2
    echo "  cancel it with: scancel $sweep" >&2
    exit 1
}
merge=${merge%%;*}
echo "sweep job $sweep: $n tasks (--array=$array), shard I into $out.shards/shard-I, logs $logs/sweep-${sweep}_I.out"
echo "merge job $merge: after$after:$sweep, into $out, log $logs/merge-$merge.out"
