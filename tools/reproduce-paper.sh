#!/usr/bin/env bash
# Reruns every experiment behind the paper figures, in order: the tuning
# sweeps (on held-out training images), then Figures 4-7 with the tuned
# constants (and, for full MNIST, Hinton and Salakhutdinov's anchor), each
# into a fresh folder, and ends by comparing every one with its committed
# results folder (adamix-run compare), printing the deviations. The
# pretraining cache is shared in OUT/.cache.
#
#   tools/reproduce-paper.sh [-j N] [--study full|small] [--out DIR] [--data DIR] [--rtol X]
#
#   --study S    full (default): the full-MNIST study of experiments/paper/
#                (tune60k-baselines, adamix-readings-tune, fig4..fig7-full-mnist,
#                adamix-readings-full-mnist, hs-anchor; docs/paper.md),
#                computed with OPENBLAS_CORETYPE=SkylakeX: pin it for a
#                bit-identical rerun. small: the superseded first study on
#                the 10,000-digit set, experiments/archive/ (tune-*,
#                fig4-adamix-vs-baselines, fig5..7; docs/archive.md),
#                computed on Haswell; run it with --data data/mnist-10k
#                (after tools/get-mnist.sh --source mnist-10k)
#   --out DIR    where the reruns go (default: reproduce/<date>-<time>; never results/)
#   --data DIR   the data folder (data.dir) for every experiment; default: the
#                experiments' own (data/mnist). Another data.dir changes the
#                run ids, and compare joins the runs by their sweep values instead.
#   --rtol X     compare's relative tolerance (default 0.01)
#
# Every committed result was computed on the openblas backend, so this script
# computes on it too (ADAMIX_BACKEND=openblas unless ADAMIX_BACKEND is set:
# onednn, the program's default where it is built in, is faster and agrees
# within the spread between repeats, not bit for bit). Same build, same data,
# same OpenBLAS kernel as the committed manifests name (OPENBLAS_CORETYPE pins
# it): every run bit-identical (timing aside). Another kernel or backend:
# agreement within the spread between repeats, which compare reports per
# sweep point. Exit 0 when every experiment agrees, 1 when one differs or
# fails, 2 for bad usage.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
prog=build/adamix-run
usage() {
    echo "usage: tools/reproduce-paper.sh [-j N] [--study full|small] [--out DIR] [--data DIR] [--rtol X]" >&2
    exit 2
}
[ -x "$prog" ] || {
    echo "reproduce-paper: $prog not found: run tools/setup.sh first" >&2
    exit 1
}

out=reproduce/$(date -u +%Y%m%d-%H%M%S)
data=
rtol=0.01
study=full
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    -j)
        [ $# -ge 2 ] || usage
        args+=(-j "$2")
        shift
        ;;
    --out)
        [ $# -ge 2 ] || usage
        out=$2
        shift
        ;;
    --study)
        [ $# -ge 2 ] || usage
        case "$2" in full | small) study=$2 ;; *) usage ;; esac
        shift
        ;;
    --data)
        [ $# -ge 2 ] || usage
        data=$2
        shift
        ;;
    --rtol)
        [ $# -ge 2 ] || usage
        rtol=$2
        shift
        ;;
    -h | --help)
        sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) usage ;;
    esac
    shift
done
case "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/$(basename "$out")" in
"$root/results" | "$root"/results/*)
    echo "reproduce-paper: --out must not be under results/ (the committed reference)" >&2
    exit 2
    ;;
esac
if [ -n "$data" ]; then
    [ -f "$data/SOURCE" ] || [ -f "$data/train-images-idx3-ubyte.gz" ] || {
        echo "reproduce-paper: $data holds no MNIST (tools/get-mnist.sh fetches it)" >&2
        exit 1
    }
    args+=(--set "data.dir=$data")
else
    [ -f data/mnist/SOURCE ] || {
        echo "reproduce-paper: no data: run tools/get-mnist.sh first" >&2
        exit 1
    }
fi
mkdir -p "$out"
args+=(--cache "$out/.cache")
export ADAMIX_BACKEND=${ADAMIX_BACKEND:-openblas}

# experiments/S/F.yaml, its committed results/S/F, its rerun OUT/S/F
if [ "$study" = full ]; then
    exps=(paper/tune60k-baselines paper/adamix-readings-tune paper/fig4-full-mnist
        paper/fig5-full-mnist paper/fig6-full-mnist paper/fig7-full-mnist
        paper/adamix-readings-full-mnist paper/hs-anchor)
else
    exps=(archive/tune-constant archive/tune-adagrad archive/tune-adadec archive/tune-adamix
        archive/fig4-adamix-vs-baselines archive/fig5-weights-and-biases
        archive/fig6-weight-learning-rates archive/fig7-bias-learning-rates)
fi
start=$(date +%s)
failed=0
for exp in "${exps[@]}"; do
    f=experiments/$exp.yaml
    [ -f "$f" ] || {
        echo "reproduce-paper: $f is missing" >&2
        exit 1
    }
    echo "== $exp -> $out/$exp"
    "$prog" -q "${args[@]}" -o "$out/$exp" "$f" || failed=1
done
echo "reproduce-paper: computed in $((($(date +%s) - start) / 60)) minutes"

echo "== compare with the committed results (rtol $rtol)"
verdict=0
for exp in "${exps[@]}"; do
    if [ ! -d "results/$exp" ]; then
        echo "$exp: no committed results/$exp to compare with"
        continue
    fi
    set +e
    "$prog" compare --rtol "$rtol" "results/$exp" "$out/$exp" >"$out/$exp.compare.txt" 2>&1
    rc=$?
    set -e
    # the runs that differ and the per-point lines, then the verdict
    grep -E "differs|DIFFERS|different|^result:" "$out/$exp.compare.txt" | sed "s|^|$exp: |" || true
    [ "$rc" = 0 ] || verdict=1
done
echo "reproduce-paper: full compare reports in $out/*.compare.txt"
[ "$failed" = 0 ] && [ "$verdict" = 0 ]
