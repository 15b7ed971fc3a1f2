#!/usr/bin/env bash
# Command-line tests of `adamix-run compare A B` (docs/statistics.md), of
# report.md with a baseline and targets, of evaluation.train_subset and of
# the kernel note, on the committed fixture digits.
#
# The changes compare must see are made by hand to a copy of a results
# folder: one printed digit of one run (the smallest change the files can
# show: not bit-identical, within any tolerance), and +5% on every error of
# every repeat of one sweep point (outside the tolerance, and outside the
# spread between its repeats).
#
# usage: cli_compare.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-compare-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
"$prog" -q -o a "$exp" report.baseline=constant 'report.targets=[200, 60]' >run.txt 2>&1
check "the smoke sweep runs" [ -s a/summary.csv ]
cp -r a b

# 1. a folder against its copy: identical, exit 0
"$prog" compare a b >c1.txt 2>&1
rc=$?
check "identical folders: exit 0 (got $rc)" [ "$rc" = 0 ]
check "identical folders: result identical" grep -q "^result: identical" c1.txt
check "identical folders: every run bit-identical" grep -q "4 bit-identical, 0 differ" c1.txt

# 2. the last printed digit of one test error of one run: not bit-identical,
# within the tolerance
run=$(ls b/runs | head -1)
awk -F, -v OFS=, 'NR == 3 {
    for (j = 1; j <= NF; j++) if (h[j] == "test_error") {
        d = substr($j, length($j), 1); $j = substr($j, 1, length($j) - 1) (d < 9 ? d + 1 : d - 1) }
} NR == 1 { for (j = 1; j <= NF; j++) h[j] = $j } { print }' "b/runs/$run/curve.csv" >t.csv
mv t.csv "b/runs/$run/curve.csv"
check "the digit changed" not cmp -s "a/runs/$run/curve.csv" "b/runs/$run/curve.csv"
"$prog" compare a b >c2.txt 2>&1
rc=$?
check "one digit: exit 0 (got $rc)" [ "$rc" = 0 ]
check "one digit: the run differs" grep -q "run $run .*differs: test_error max |d|" c2.txt
check "one digit: 3 bit-identical, 1 differ" grep -q "3 bit-identical, 1 differ" c2.txt
check "one digit: result agree" grep -q "^result: agree" c2.txt

# 3. +5% on every error of both repeats of the AdaMix point: exit 1
for d in b/runs/*/; do
    grep -q '"finetune.rules": "AdaMix"' "$d/summary.json" || continue
    awk -F, -v OFS=, 'NR == 1 { for (j = 1; j <= NF; j++) h[j] = $j; print; next }
        { for (j = 1; j <= NF; j++) if (h[j] ~ /_error$/) $j = sprintf("%.10g", $j * 1.05); print }' \
        "$d/curve.csv" >t.csv
    mv t.csv "$d/curve.csv"
    # summary.json's errors are the curve's (a folder whose two disagree is damaged)
    awk '/"(final|best)_[a-z_]*error": [-0-9.e+]+/ {
        match($0, /[-0-9.e+]+,?$/); v = substr($0, RSTART, RLENGTH); c = sub(/,$/, "", v)
        $0 = substr($0, 1, RSTART - 1) sprintf("%.10g", v * 1.05) (c ? "," : "") } { print }' \
        "$d/summary.json" >t.json
    mv t.json "$d/summary.json"
done
"$prog" compare a b >c3.txt 2>&1
rc=$?
check "5% on one point: exit 1 (got $rc)" [ "$rc" = 1 ]
check "5% on one point: that point differs" grep -q "finetune.rules=AdaMix: final .*DIFFERS" c3.txt
check "5% on one point: the other agrees" grep -q "finetune.rules=constant: final .*agrees" c3.txt
check "5% on one point: result differ" grep -q "^result: differ" c3.txt
"$prog" compare --rtol 0.1 a b >c4.txt 2>&1
rc=$?
check "5% within --rtol 0.1: exit 0 (got $rc)" [ "$rc" = 0 ]
"$prog" compare --json a b >c5.json 2>&1
rc=$?
check "--json: exit 1 (got $rc)" [ "$rc" = 1 ]
check "--json: valid JSON with the result" \
    bash -c "python3 -c 'import json,sys; d=json.load(open(\"c5.json\")); sys.exit(d[\"result\"] != \"differ\" or d[\"joined\"] != 4)' 2>/dev/null || grep -q '\"result\": \"differ\"' c5.json"

# 4. another experiment: exit 2 with a message
"$prog" -q -o other "$exp" name=other >/dev/null 2>&1
"$prog" compare a other >c6.txt 2>&1
rc=$?
check "other experiment: exit 2 (got $rc)" [ "$rc" = 2 ]
check "other experiment: says so" grep -q "different experiments" c6.txt
cp -r a data2
sed -i 's/"train_sha256": "[0-9a-f]*"/"train_sha256": "0123456789abcdef"/' "data2/runs/$run/summary.json"
"$prog" compare a data2 >c6b.txt 2>&1
rc=$?
check "a run computed from other data: exit 2 (got $rc)" [ "$rc" = 2 ]
check "... says which run and set" grep -q "computed from different data: run $run read a training set" c6b.txt
"$prog" compare --rtol 0.1 a >c7.txt 2>&1
rc=$?
check "compare with one folder: usage error (got $rc)" [ "$rc" = 2 ]
"$prog" --json validate "$exp" >c8.txt 2>&1
rc=$?
check "--json outside compare: usage error (got $rc)" [ "$rc" = 2 ]

# 5. report.md: the tables, with the paired difference and the targets
check "report.md has the final and best table" grep -q "^## Final and best test_error" a/report.md
check "report.md has the paired table" grep -q "^## Paired difference to the baseline, constant" a/report.md
check "report.md has AdaMix against constant" grep -q "^| AdaMix | 2 | 0 | 0 | " a/report.md
check "report.md has the time to target" grep -q "^| AdaMix | 200 | 2/2 | " a/report.md
check "report.json has the paired final difference" grep -q '"paired": {' a/report.json
"$prog" -q -o bad "$exp" report.baseline=AdaGrad >c9.txt 2>&1
rc=$?
check "a baseline that is no series value: exit 2 (got $rc)" [ "$rc" = 2 ]
check "... located, with the values" grep -q "is not a value of the series axis finetune.rules (its values: AdaMix, constant)" c9.txt

# 6. the provenance note: a folder computed on another OpenBLAS kernel (its
# manifest says so), then on another backend
sed -e 's/"blas_core": "[^"]*"/"blas_core": "Elsewhere"/' \
    -e 's/"backend": "[^"]*"/"backend": "openblas"/' \
    -e 's/"backend_isa": "[^"]*"/"backend_isa": "Elsewhere"/' a/manifest.json >m.json && mv m.json a/manifest.json
"$prog" -q --backend openblas -o a "$exp" report.baseline=constant >c10.txt 2>&1
check "rerun on another kernel: one note naming it" \
    grep -q "^note: a/manifest.json names the OpenBLAS kernel Elsewhere.*OPENBLAS_CORETYPE=Elsewhere" c10.txt
"$prog" -q --backend openblas -o a "$exp" report.baseline=constant >c11.txt 2>&1
check "... also on the next invocation (the kernel stays in the manifest's history)" \
    grep -q "^note: .*Elsewhere" c11.txt
if "$prog" --backend onednn --version >/dev/null 2>&1; then
    "$prog" -q --backend onednn -o a "$exp" report.baseline=constant >c13.txt 2>&1
    check "rerun on another backend: one note naming it, with how to pin it" \
        grep -q "^note: a/manifest.json names the backend openblas ([^)]*), this run computes on onednn .*--backend openblas and OPENBLAS_CORETYPE=" c13.txt
    check "... one note only" [ "$(grep -c '^note:' c13.txt)" = 1 ]
fi
"$prog" -q -o fresh "$exp" >c12.txt 2>&1
check "a fresh folder: no note" not grep -q "^note:" c12.txt

# 7. evaluation.train_subset: train_error on the first N images, a new id;
# too large is refused at the key
"$prog" -q -o sub "$exp" evaluation.train_subset=50 >c13.txt 2>&1
check "train_subset runs" [ -s sub/summary.csv ]
check "train_subset: other run ids" not diff -q <(ls a/runs) <(ls sub/runs) >/dev/null
check "train_subset: summary.json says 50 images" grep -q '"train_error_images": 50' sub/runs/*/summary.json
# training is the same, only what train_error is measured on differs
check "train_subset: test errors unchanged" \
    diff <(cut -d, -f2-4,6 a/curves.csv) <(cut -d, -f2-4,6 sub/curves.csv)
check "train_subset: train errors differ" \
    not diff -q <(cut -d, -f2-5 a/curves.csv) <(cut -d, -f2-5 sub/curves.csv) >/dev/null
"$prog" -q -o sub2 "$exp" evaluation.train_subset=201 >c14.txt 2>&1
rc=$?
check "train_subset above the training images: exit 2 (got $rc)" [ "$rc" = 2 ]
check "... located at the override" grep -q "^--set evaluation.train_subset.*: error: evaluation.train_subset must be at most the number of training images (200" c14.txt
finish
