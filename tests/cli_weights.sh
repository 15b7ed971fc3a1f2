#!/usr/bin/env bash
# output.weights / --save-weights: runs/<id>/weights.npz is what numpy.load
# reads, with the documented names, shapes (torch.nn.Linear's (out, in)),
# dtype float32; the forward pass computed in numpy from it on the test
# images gives the program's final test error within 1e-5 relative. The
# numpy part is skipped, with a message, where python3-numpy is missing
# (tools/setup.sh --dev installs it).
#
# usage: cli_weights.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-weights-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
"$prog" -q -o plain "$exp" >/dev/null 2>&1
check "without output.weights: no weights.npz" not ls plain/runs/*/weights.npz
"$prog" -q -o plain --save-weights "$exp" >again.txt 2>&1
n=$(ls plain/runs/*/weights.npz 2>/dev/null | wc -l)
check "--save-weights on finished runs computes them again to write the weights (got $n)" [ "$n" = 4 ]
"$prog" -q -o w "$exp" output.weights=true >/dev/null 2>&1
check "output.weights=true: the same run ids" diff <(ls plain/runs) <(ls w/runs)
for d in plain/runs/*/; do
    id=$(basename "$d")
    check "run $id: the same curve with and without weights (seconds aside)" \
        diff <(cut -d, -f1-3,5- "$d/curve.csv") <(cut -d, -f1-3,5- "w/runs/$id/curve.csv")
done
check "weights.npz is a zip archive" bash -c "head -c 4 w/runs/*/weights.npz | od -An -tx1 | grep -q '50 4b 03 04'"

py=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ]; then
    echo "skipped: the numpy checks (python3-numpy is not installed; tools/setup.sh --dev installs it)"
    finish
    exit $?
fi
cat >check.py <<'PY'
# numpy's own reading of weights.npz and an independent forward pass: the
# network of tests/experiments/smoke.yaml (784-32-8: logistic hidden, linear code,
# logistic output), the committed test images, pixels / 255; the error of an
# image is the sum over its pixels of the squared difference, averaged.
import gzip, json, sys
import numpy as np
run, images = sys.argv[1], sys.argv[2]
w = np.load(run + "/weights.npz")
names = sorted(w.files)
want = sorted(["encoder.1.weight", "encoder.1.bias", "encoder.2.weight", "encoder.2.bias",
               "decoder.1.weight", "decoder.1.bias", "decoder.2.weight", "decoder.2.bias"])
assert names == want, names
shapes = {"encoder.1.weight": (32, 784), "encoder.2.weight": (8, 32),
          "decoder.1.weight": (32, 8), "decoder.2.weight": (784, 32),
          "encoder.1.bias": (32,), "encoder.2.bias": (8,), "decoder.1.bias": (32,),
          "decoder.2.bias": (784,)}
for k, s in shapes.items():
    assert w[k].shape == s and w[k].dtype == np.float32, (k, w[k].shape, w[k].dtype)
raw = gzip.open(images).read()
n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols).astype(np.float64) / 255.0
sig = lambda z: 1.0 / (1.0 + np.exp(-z))
lin = lambda k, h: h @ w[k + ".weight"].astype(np.float64).T + w[k + ".bias"]
h = sig(lin("encoder.1", x))
code = lin("encoder.2", h)
h = sig(lin("decoder.1", code))
y = sig(lin("decoder.2", h))
err = float(np.mean(np.sum((y - x) ** 2, axis=1)))
want = json.load(open(run + "/summary.json"))["final_test_error"]
rel = abs(err - want) / want
print("numpy %.10g program %.10g rel %.2e" % (err, want, rel))
sys.exit(0 if rel < 1e-5 else 1)
PY
for d in w/runs/*/; do
    out=$("$py" check.py "$d" "$src/tests/data/fixture-t10k-images-idx3-ubyte.gz" 2>&1)
    rc=$?
    check "run $(basename "$d"): numpy's forward pass from weights.npz matches ($out)" [ "$rc" = 0 ]
done
finish
