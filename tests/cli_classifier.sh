#!/usr/bin/env bash
# A classifier experiment end to end on the committed fixtures (300 training
# digits with labels, 100 test digits with labels): it validates, runs,
# resumes, shards and merges like an autoencoder; -j 1 and -j 2 (two threads
# per run, then one) give byte-identical results; its curve has the error in
# percent and the cross-entropy per split, and confusion.csv's off-diagonal
# count is the final test error it reports; weights.npz reproduces that
# error in numpy; bad label files are exit 3 naming the file, and keys of
# the other task are refused at their line and column.
#
# usage: cli_classifier.sh PROGRAM SOURCE_DIR
set -u
prog=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-classifier-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
source "$src/tests/checklib.sh"

# the data under the work folder, named relatively: run ids do not depend
# on where the checkout sits
mkdir data
cp "$src"/tests/data/fixture-images-idx3-ubyte.gz "$src"/tests/data/fixture-labels-idx1-ubyte.gz \
    "$src"/tests/data/fixture-t10k-images-idx3-ubyte.gz \
    "$src"/tests/data/fixture-t10k-labels-idx1-ubyte.gz data/
cat >cls.yaml <<'EOF'
name: cls
seed: 3
repeats: 2
data:
  dir: data
  train: fixture-images-idx3-ubyte.gz
  train_labels: fixture-labels-idx1-ubyte.gz
  test: fixture-t10k-images-idx3-ubyte.gz
  test_labels: fixture-t10k-labels-idx1-ubyte.gz
  validation: 50
network:
  task: classifier
  layers: [784, 24, 16]
pretrain: {epochs: 2, batch_size: 50}
finetune:
  epochs: 6
  batch_size: 25
  rules: {all: {rule: constant, eta0: 0.5}}
sweep:
  finetune.rules:
    AdaMix:
      weights: {rule: current-gradient, eta0: 0.5, K: 1.0e-4, window: epoch}
      biases: {rule: power-exponential, eta0: 0.5}
    softmax-apart:
      all: {rule: constant, eta0: 0.5}
      softmax: {rule: adagrad, eta0: 0.2}
report: {series: finetune.rules}
EOF

"$prog" validate cls.yaml >val.txt 2>&1
check "a classifier validates (exit $?)" grep -q "4 runs" val.txt
"$prog" -q -j 1 -o j1 cls.yaml >log1.txt 2>&1
rc=$?
check "runs on one worker (exit $rc)" [ $rc -eq 0 ]
"$prog" -q -j 2 -o j2 cls.yaml >log2.txt 2>&1
check "and on two (exit $?)" [ -s j2/summary.csv ]
check "4 runs" [ "$(ls j1/runs | wc -l)" = 4 ]
check "the same run ids either way" diff <(ls j1/runs) <(ls j2/runs)
run=$(ls j1/runs | head -1)
for d in j1/runs/*/; do
    id=$(basename "$d")
    check "run $id: curve.csv identical on -j 1 and -j 2 (seconds aside)" \
        diff <(cut -d, -f1-7,9- "$d/curve.csv") <(cut -d, -f1-7,9- "j2/runs/$id/curve.csv")
    check "run $id: summary.json identical (timing aside)" \
        diff <(grep -v seconds "$d/summary.json") <(grep -v seconds "j2/runs/$id/summary.json")
done
check "the curve has the error and the cross-entropy of each split" \
    grep -q '^epoch,train_error,train_loss,validation_error,validation_loss,test_error,test_loss,seconds,' \
    "j1/runs/$run/curve.csv"
check "config.yaml names the task and the softmax output, no code unit" \
    bash -c "grep -q 'task: classifier' j1/runs/$run/config.yaml &&
             grep -q 'output: softmax' j1/runs/$run/config.yaml &&
             ! grep -q 'code:' j1/runs/$run/config.yaml"
check "the softmax layer is a group of its own" grep -q 'rate_mean.softmax' j1/runs/*/curve.csv
check "report.md says the measure is the classification error" \
    grep -q 'classification error' j1/report.md
check "the figure's axis too" grep -q "test classification error (%)" j1/figure.gp

# the first repeat's pictures, and the confusion matrix against the error
first=""
for d in j1/runs/*/; do grep -q '"repeat": 0' "$d/summary.json" && first=$d && break; done
for f in filters.png confusion.png confusion.csv misclassified.csv; do
    check "first repeat draws $f" [ -s "$first/$f" ]
done
err=$(python3 -c "import json; print(json.load(open('$first/summary.json'))['final_test_error'])")
off=$(awk -F, 'NR > 1 { for (j = 2; j <= NF; j++) { t += $j; if (j - 2 != $1) o += $j } }
               END { printf "%d %d", t, o }' "$first/confusion.csv")
check "confusion.csv counts the 100 test images and its off-diagonal is the test error ($off, $err%)" \
    python3 -c "t, o = map(int, '$off'.split()); assert t == 100 and abs(o - $err) < 1e-9"
nmis=$(($(wc -l <"$first/misclassified.csv") - 1))
check "misclassified.csv lists the misclassified images ($nmis)" \
    python3 -c "assert $nmis == min(32, round($err * 100 / 100))"
check "report.html lists true and predicted classes" grep -q 'class="misclassified"' j1/report.html

# resume, shards, merge
"$prog" -q -o j1 cls.yaml >again.txt 2>&1
check "a rerun finds every run complete" grep -q "4 already complete" again.txt
"$prog" -q -o s1 --shard 1/2 cls.yaml >/dev/null 2>&1
"$prog" -q -o s2 --shard 2/2 cls.yaml >/dev/null 2>&1
"$prog" merge m s1 s2 >merge.txt 2>&1
check "two shards merge (exit $?)" [ -s m/summary.csv ]
check "the merged folder holds every run" diff <(ls j1/runs) <(ls m/runs)
check "merged summary.csv equals the one-machine one (timing aside)" \
    diff <(cut -d, -f1-7 j1/summary.csv) <(cut -d, -f1-7 m/summary.csv)

# weights.npz: the test error again, from numpy
py=""
for p in /usr/bin/python3 python3; do
    if "$p" -c "import numpy" 2>/dev/null; then py=$p && break; fi
done
if [ -n "$py" ]; then
    "$prog" -q -o w --save-weights cls.yaml finetune.epochs=2 repeats=1 >/dev/null 2>&1
    for d in w/runs/*/; do
        check "weights.npz of $(basename "$d") gives its test error in numpy" "$py" - "$d" data <<'EOF'
import gzip, json, sys
import numpy as np
d, data = sys.argv[1], sys.argv[2]
w = np.load(d + "/weights.npz")
assert sorted(w.files) == ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"], w.files
assert w["0.weight"].shape == (24, 784) and w["4.weight"].shape == (10, 16)
raw = gzip.open(data + "/fixture-t10k-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw[16:], np.uint8).reshape(100, 784).astype(np.float32) / 255
y = np.frombuffer(gzip.open(data + "/fixture-t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8)
a = x
for k in (0, 2):
    a = 1 / (1 + np.exp(-(a @ w[f"{k}.weight"].T + w[f"{k}.bias"])))
z = a @ w["4.weight"].T + w["4.bias"]
error = 100.0 * np.mean(np.argmax(z, axis=1) != y)
s = json.load(open(d + "/summary.json"))
assert abs(error - s["final_test_error"]) < 1e-9, (error, s["final_test_error"])
EOF
    done
else
    echo "skipped: the numpy check of weights.npz (python3-numpy missing)"
fi

# bad label files: exit 3 naming the file, nothing written
bad() { # bad NAME DESCRIPTION: run on data/NAME as the training labels
    local name=$1 what=$2
    "$prog" -q -o "bad-$name" cls.yaml "data.train_labels=$name" >"bad-$name.txt" 2>&1
    local rc=$?
    check "$what: exit 3 (got $rc)" [ $rc -eq 3 ]
    check "$what: the message names the file" grep -q "$name" "bad-$name.txt"
    check "$what: nothing written" [ ! -e "bad-$name" ]
}
gzip -dc data/fixture-labels-idx1-ubyte.gz >labels
printf '\x00\x00\x08\x03' | dd of=data/magic.idx bs=1 conv=notrunc status=none
cat labels >data/magic.idx && printf '\x00\x00\x08\x03' | dd of=data/magic.idx bs=1 conv=notrunc status=none
bad magic.idx "labels with an image file's magic"
{ printf '\x00\x00\x08\x01\x00\x00\x01\x2b'; tail -c +9 labels | head -c 299; } >data/count.idx
bad count.idx "299 labels for 300 images"
head -c 200 labels >data/short.idx
bad short.idx "a truncated label file"
gzip -9nc labels >data/damaged.gz
printf '\xff' | dd of=data/damaged.gz bs=1 seek=20 conv=notrunc status=none
bad damaged.gz "a damaged gzip stream"
{ head -c 8 labels; tail -c +9 labels | tr '\011' '\014'; } >data/big.idx
"$prog" -q -o bad-big cls.yaml data.train_labels=big.idx network.classes=10 >bad-big.txt 2>&1
rc=$?
check "a label of 12 with network.classes 10: exit 3 (got $rc)" [ $rc -eq 3 ]
check "... naming the file and what was expected" grep -q "big.idx.*expected labels from 0 to 9" bad-big.txt

# EMNIST's layout: images stored column by column and labels from 1. The
# fixtures rewritten so (each image transposed, each label + 1) and read with
# data.transpose and data.label_offset train the very same network: other
# run ids, the same curves
python3 - data <<'EOF'
import gzip, sys
d = sys.argv[1]
for name in ("fixture-images-idx3-ubyte", "fixture-t10k-images-idx3-ubyte"):
    raw = gzip.open(f"{d}/{name}.gz").read()
    n, rows, cols = (int.from_bytes(raw[k:k + 4], "big") for k in (4, 8, 12))
    out = bytearray(raw[:16])
    for i in range(n):
        img = raw[16 + i * rows * cols:16 + (i + 1) * rows * cols]
        out += bytes(img[r * cols + c] for c in range(cols) for r in range(rows))
    open(f"{d}/T{name}", "wb").write(bytes(out))
for name in ("fixture-labels-idx1-ubyte", "fixture-t10k-labels-idx1-ubyte"):
    raw = gzip.open(f"{d}/{name}.gz").read()
    open(f"{d}/T{name}", "wb").write(raw[:8] + bytes(b + 1 for b in raw[8:]))
EOF
one=(repeats=1 'sweep={}' "report.series=''" finetune.epochs=2)
"$prog" -q -o plain1 cls.yaml "${one[@]}" >/dev/null 2>&1
"$prog" -q -o emnist cls.yaml "${one[@]}" data.transpose=true data.label_offset=1 \
    data.train=Tfixture-images-idx3-ubyte data.test=Tfixture-t10k-images-idx3-ubyte \
    data.train_labels=Tfixture-labels-idx1-ubyte data.test_labels=Tfixture-t10k-labels-idx1-ubyte \
    >emnist.txt 2>&1
check "EMNIST's layout runs (exit $?)" [ -s emnist/summary.csv ]
check "... under another run id" not diff <(ls plain1/runs) <(ls emnist/runs)
check "... with the same curve as the data stored the usual way (seconds aside)" \
    diff <(cut -d, -f1-7,9- plain1/runs/*/curve.csv) <(cut -d, -f1-7,9- emnist/runs/*/curve.csv)
"$prog" -q -o emnist-raw cls.yaml "${one[@]}" \
    data.train=Tfixture-images-idx3-ubyte data.test=Tfixture-t10k-images-idx3-ubyte \
    data.train_labels=Tfixture-labels-idx1-ubyte data.test_labels=Tfixture-t10k-labels-idx1-ubyte \
    network.classes=10 >emnist-raw.txt 2>&1
check "labels from 1 without data.label_offset: 10 is not below network.classes 10 (exit $?)" \
    grep -q "expected labels from 0 to 9" emnist-raw.txt

# keys of the other task, located
"$prog" validate cls.yaml network.code=linear >k1.txt 2>&1
check "network.code for a classifier: exit 2 (got $?)" grep -q "an autoencoder's key" k1.txt
cat >ae.yaml <<'EOF'
name: ae
data: {dir: data, train: fixture-images-idx3-ubyte.gz, test: fixture-t10k-images-idx3-ubyte.gz,
       train_labels: x}
network: {layers: [784, 8], output: softmax}
finetune: {rules: {all: {rule: constant, eta0: 0.1}}}
EOF
"$prog" validate ae.yaml >k2.txt 2>&1
check "train_labels for an autoencoder, at its line and column" grep -q "ae.yaml:3:22: error: data.train_labels is a classifier's key" k2.txt
check "softmax output for an autoencoder, at its line and column" grep -q "ae.yaml:4:37: error: network.output softmax" k2.txt
"$prog" validate cls.yaml finetune.loss=squared_error >k3.txt 2>&1
check "squared_error for a classifier is refused" grep -q "trained with finetune.loss cross_entropy" k3.txt
"$prog" validate cls.yaml 'sweep.finetune.rules={a: {encoder: constant, decoder: constant}}' >k4.txt 2>&1
check "an encoder group for a classifier names its parts" grep -q "no encoder part (its parts: softmax)" k4.txt
"$prog" validate cls.yaml 'network.layers=[784]' >k5.txt 2>&1
check "softmax regression with pretraining is refused" grep -q "no hidden layer to pretrain" k5.txt
"$prog" validate cls.yaml 'network.layers=[784]' pretrain=none >k6.txt 2>&1
check "softmax regression without pretraining validates (exit $?)" grep -q "4 runs" k6.txt

# a classifier's test_loss as the report metric: the axis and the tables say so
"$prog" report j1 report.metric=test_loss >loss.txt 2>&1
check "report.metric=test_loss on a classifier (exit $?)" grep -q "set ylabel 'test_loss: test loss" j1/figure.gp
check "report.metric=test_loss: the table is of it" grep -q "^## Final and best test_loss" j1/report.md
finish
