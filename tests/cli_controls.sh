#!/usr/bin/env bash
# Command-line tests of the validation-driven controls (plateau, early_stop,
# newbob: docs/experiment-language.md): they run, shard, merge and resume
# like any rule. Four runs on the fixture digits: one process, two shards
# merged, and a rerun after a run folder was damaged give the same curves
# and summaries (but for wall time); the verdict accepts every folder.
#
# usage: cli_controls.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-controls-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

mkdir -p tests && ln -s "$src/tests/data" tests/data
cat >controls.yaml <<'YAML'
name: controls
seed: 3
data:
  dir: tests/data
  train: fixture-images-idx3-ubyte.gz
  test: fixture-t10k-images-idx3-ubyte.gz
  train_limit: 200
  validation: 50
network:
  layers: [784, 32, 8]
pretrain: {epochs: 2, batch_size: 50}
finetune:
  epochs: 8
  batch_size: 50
  rules: {all: {rule: adagrad, eta0: 0.3}}
sweep:
  finetune.rules:
    plateau: {all: {rule: adagrad, eta0: 0.3, plateau: {factor: 0.5, patience: 0}}}
    early: {all: {rule: adagrad, eta0: 0.3}}
  finetune.early_stop:
    patience1: {patience: 1, restore_best: true}
    none: none
YAML
# a run's files without wall time: curve.csv less its seconds column,
# summary.json less its seconds and the machine's backend lines
strip() {
    for d in "$1"/runs/*/; do
        echo "== $(basename "$d")"
        cut -d, -f1-4,6- "$d/curve.csv"
        grep -vE '"(seconds|pretrain_seconds|finetune_seconds|backend_impl)"' "$d/summary.json"
    done
}

"$prog" -q -j 2 -o one controls.yaml >one.txt 2>&1
check "the controls run (exit $?)" [ -s one/summary.csv ]
check "4 runs complete" [ "$(ls one/runs/*/summary.json | wc -l)" -eq 4 ]
check "a plateau logs eta0" grep -q "eta0.all" one/runs/*/curve.csv
check "early stopping says why it ended" grep -q '"reason"' one/runs/*/summary.json

"$prog" -q -j 1 -o s1 --shard 1/2 controls.yaml >/dev/null 2>&1
"$prog" -q -j 1 -o s2 --shard 2/2 controls.yaml >/dev/null 2>&1
"$prog" merge merged s1 s2 >merge.out 2>&1
check "the shards merge (exit $?)" [ -s merged/summary.csv ]
check "two shards merged hold the same runs as one process" cmp -s <(strip one) <(strip merged)

victim=$(ls one/runs | head -1)
rm one/runs/$victim/summary.json
"$prog" -q -j 2 -o one controls.yaml >resume.txt 2>&1
check "a resumed run is the same" cmp -s <(strip one) <(strip merged)
check "the report of the resumed folder is the merged one's (but for seconds)" \
    cmp -s <(sed 's/,[^,]*$//' one/summary.csv) <(sed 's/,[^,]*$//' merged/summary.csv)
finish
