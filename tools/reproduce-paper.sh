#!/usr/bin/env bash
# Reruns every experiment behind the paper figures, in order: the tuning
# sweeps (tune-*.yaml, on held-out training images), then Figures 4-7 with
# the tuned constants. Results go to results/<name>/ (committed); the
# pretraining cache is shared in results/.cache (not committed).
#
#   tools/reproduce-paper.sh [-j N] [--force]
#
# Same build, same data: the committed curve.csv and summary.json files come
# back byte-identical (timing columns aside). Needs the default data
# (tools/get-mnist.sh) and a build (tools/setup.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
prog=build/adamix-run
[ -x "$prog" ] || { echo "reproduce-paper: $prog not found: run tools/setup.sh first" >&2; exit 1; }
[ -f data/mnist/SOURCE ] || { echo "reproduce-paper: no data: run tools/get-mnist.sh first" >&2; exit 1; }

args=(--cache results/.cache)
while [ $# -gt 0 ]; do
    case "$1" in
    -j) args+=(-j "$2"); shift ;;
    --force) args+=(--force) ;;
    *) echo "usage: tools/reproduce-paper.sh [-j N] [--force]" >&2; exit 2 ;;
    esac
    shift
done

start=$(date +%s)
for exp in tune-constant tune-adagrad tune-adadec tune-adamix \
    fig4-adamix-vs-baselines fig5-weights-and-biases fig6-weight-learning-rates \
    fig7-bias-learning-rates; do
    f=experiments/$exp.yaml
    [ -f "$f" ] || { echo "reproduce-paper: $f is missing" >&2; exit 1; }
    echo "== $exp"
    "$prog" -q "${args[@]}" "$f"
done
echo "reproduce-paper: done in $(( ($(date +%s) - start) / 60 )) minutes"
