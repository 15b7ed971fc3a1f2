#!/usr/bin/env bash
# Command-line tests of what a researcher steers in a results folder: report
# DIR with report settings (and the refusal of any other), any curve column
# as the report metric, compare across experiments that differ, cut-down runs
# that say so, on the committed fixture digits.
#
# usage: cli_results_ux.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-ux-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1
source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"
"$prog" -q -o a "$exp" >run.txt 2>&1
check "the smoke sweep runs" [ -s a/summary.csv ]

# report DIR takes report settings, as --set or PATH=VALUE, and uses them
"$prog" report a --set report.baseline=constant >r1.txt 2>&1
rc=$?
check "report --set report.baseline: exit 0 (got $rc)" [ "$rc" = 0 ]
check "report --set report.baseline: the paired table is there" grep -q "^## Paired difference to the baseline, constant" a/report.md
# a baseline the folder has no point of is refused, not silently ignored
"$prog" report a --set report.baseline=Adam >r0.txt 2>&1
rc=$?
check "report --set report.baseline=Adam: exit 2 (got $rc)" [ "$rc" = 2 ]
check "report --set report.baseline=Adam: says which values there are" \
    grep -q "report.baseline 'Adam' is not a value of the series axis finetune.rules (its values: AdaMix, constant)" r0.txt
"$prog" report a report.title=Steered >r2.txt 2>&1
check "report PATH=VALUE: the title is used" grep -q "^# Steered" a/report.md
# and refuses any other key, naming it, before touching the folder
cp a/report.md before.md
"$prog" report a --set finetune.epochs=5 >r3.txt 2>&1
rc=$?
check "report --set finetune.epochs: exit 2 (got $rc)" [ "$rc" = 2 ]
check "report --set finetune.epochs: names what is not a report setting" \
    grep -q "finetune.epochs is not a report setting" r3.txt
check "report --set finetune.epochs: lists the report settings" grep -q "report.metric, report.series" r3.txt
check "report --set finetune.epochs: report.md untouched" cmp -s before.md a/report.md
"$prog" report a sweep.finetune.epochs=[1,2] >r4.txt 2>&1
check "report with a sweep axis: refused" grep -q "sweep.finetune.epochs is not a report setting" r4.txt

# any curve column as the metric: the figure's axis names it
"$prog" report a --set report.metric=rate_mean.weights >m1.txt 2>&1
rc=$?
check "report.metric=rate_mean.weights: exit 0 (got $rc)" [ "$rc" = 0 ]
check "report.metric=rate_mean.weights: the axis names it" \
    grep -q "set ylabel 'rate_mean.weights: mean learning rate of group weights'" a/figure.gp
check "report.metric=rate_mean.weights: the table is of it" grep -q "Final and best rate_mean.weights" a/report.md
check "report.metric=rate_mean.weights: report.json says so" grep -q '"metric": "rate_mean.weights"' a/report.json
# a column no run has: refused with the nearest one and the list
"$prog" report a --set report.metric=rate_mean.weight >m2.txt 2>&1
rc=$?
check "report.metric=rate_mean.weight: exit 2 (got $rc)" [ "$rc" = 2 ]
check "report.metric=rate_mean.weight: did you mean" grep -q "did you mean 'rate_mean.weights'" m2.txt
check "report.metric=rate_mean.weight: the columns listed" grep -q "its columns: .*rate_max.all" m2.txt
# a name that is no curve column at all: refused when the file is read
"$prog" report a --set report.metric=rate_maen.all >m3.txt 2>&1
check "report.metric=rate_maen.all: did you mean" grep -q "did you mean 'rate_mean.all'" m3.txt
"$prog" validate "$exp" report.metric=test_loss >m4.txt 2>&1
check "report.metric=test_loss validates" grep -q ": ok" m4.txt

# compare explains: a cut-down copy (other epochs, fewer images) is not a
# rerun; its runs are not joined by sweep values unless --force asks
"$prog" -q -o cut "$exp" finetune.epochs=2 data.train_limit=100 >run2.txt 2>&1
"$prog" compare a cut >k1.txt 2>&1
rc=$?
check "compare with a cut-down copy: exit 2 (got $rc)" [ "$rc" = 2 ]
check "compare with a cut-down copy: names finetune.epochs with both values" \
    grep -q "^  finetune.epochs: 3 in A, 2 in B" k1.txt
check "compare with a cut-down copy: names data.train_limit" grep -q "^  data.train_limit: 200 in A, 100 in B" k1.txt
check "compare with a cut-down copy: no verdict on joined runs" not grep -q "^result:" k1.txt
"$prog" compare --force a cut >k2.txt 2>&1
rc=$?
check "compare --force: exit 1 (got $rc)" [ "$rc" = 1 ]
check "compare --force: the result says the configurations differ" \
    grep -q "^result: differ (configurations differ beyond the sweep axes: 2 keys, joined by --force)" k2.txt
"$prog" compare --force --json a cut >k3.json 2>&1
check "compare --force --json: the differences listed" grep -q '"key": "finetune.epochs"' k3.json
# different experiments: what differs beyond the name
sed 's/^name: smoke/name: smoke-other/' "$exp" >other.yaml
"$prog" -q -o other other.yaml finetune.epochs=2 >run3.txt 2>&1
"$prog" compare a other >k4.txt 2>&1
check "compare across experiments: says what differs" grep -q "^  finetune.epochs: 3 in A, 2 in B" k4.txt
"$prog" compare a a >k5.txt 2>&1
check "compare a folder with itself: identical, nothing listed" grep -q "^result: identical$" k5.txt

# baselines: a verdict line per comparison, relative to the baseline's mean,
# and the smallest p so few pairs can give
"$prog" report a --set report.baseline=constant >b1.txt 2>&1
check "a verdict line per comparison" \
    grep -Eq "^- AdaMix: [0-9.]+ (lower|higher) than constant \[[-0-9., ]+\] \([-+][0-9.e+-]+% of its mean [0-9.]+\), (lower|higher) in [0-9]/2 repeats" a/report.md
check "the p floor of 2 pairs said" grep -q "2 pairs cannot give a p below 0.5" a/report.md
check "the verdicts in report.html" grep -q '<ul class="verdicts">' a/report.html
check "report.json: the relative difference beside the absolute one" \
    grep -q '"mean_percent_of_baseline": [-0-9]' a/report.json
# a whole point as the baseline: every other point paired with it, also the
# points that differ from it on another axis than the series
"$prog" -q -o pt "$exp" 'sweep.finetune.batch_size=[25, 50]' >run4.txt 2>&1
"$prog" report pt 'report.baseline={finetune.rules: constant, finetune.batch_size: 50}' >b2.txt 2>&1
rc=$?
check "report.baseline as a point: exit 0 (got $rc)" [ "$rc" = 0 ]
check "report.baseline as a point: named in the heading" \
    grep -q "^## Paired difference to the baseline, finetune.rules=constant, finetune.batch_size=50" pt/report.md
check "report.baseline as a point: three points paired with it" \
    [ "$(grep -c '^- .* than constant, finetune.batch_size=50' pt/report.md)" = 3 ]
check "report.baseline as a point: the point that differs off the series is paired" \
    grep -q "^- constant, finetune.batch_size=25: " pt/report.md
"$prog" report pt 'report.baseline={finetune.rule: constant}' >b3.txt 2>&1
check "report.baseline with an axis that is none: said" grep -q "report.baseline: finetune.rule is not a sweep axis" b3.txt

# a cut-down run says so: report.md, report.html near the title, the figure
check "cut-down: report.md names the overrides" \
    grep -q '^Computed with overrides of the experiment file: `finetune.epochs=2`, `data.train_limit=100`' cut/report.md
check "cut-down: report.html shows them right after the title" \
    grep -A2 '^<h1>' cut/report.html | grep -q '<p class="overrides"><strong>Computed with overrides'
check "cut-down: the figure's subtitle" \
    grep -q "^set title 'Smoke test'.\"\\\\n\".'with finetune.epochs=2, data.train_limit=100'" cut/figure.gp
check "cut-down: report.html shows the overrides as code" \
    grep -q '<p class="overrides"><strong>Computed with overrides of the experiment file: <code>finetune.epochs=2</code>, <code>data.train_limit=100</code>' cut/report.html
check "a folder without overrides: no note" not grep -q "Computed with overrides" a/report.md
check "a folder without overrides: the title alone" grep -q "^set title 'Smoke test'$" a/figure.gp
# targets no run reached: one note, not a row per point
"$prog" report cut 'report.targets=[1, 2, 1000]' >t1.txt 2>&1
check "unreached targets: one note" \
    grep -q "^- Targets 1, 2: no run reached these targets (the lowest test_error of any run: [0-9.]*), so they are not in the table" cut/report.md
check "unreached targets: no row says not reached" not grep -q "^|.*not reached" cut/report.md
check "a reached target keeps its rows" [ "$(grep -c '^| [a-zA-Z]* | 1000 |' cut/report.md)" = 2 ]
check "report settings from the command line are named" \
    grep -q 'Report settings given on the command line: `report.targets=\[1, 2, 1000\]`' cut/report.md

# --set with an unknown key and no near one: the keys it could be, as a file gets
"$prog" validate "$exp" --set finetune.foo=3 >u1.txt 2>&1
check "--set finetune.foo: the valid keys listed" \
    grep -q "unknown key 'foo' in finetune (expected one of: epochs, batch_size, loss, rules, divergence_limit, early_stop, newbob)" u1.txt
"$prog" validate "$exp" --set finetune.epoch=3 >u2.txt 2>&1
check "--set finetune.epoch: the near one suggested" grep -q "did you mean 'epochs'" u2.txt

# a list of baselines: one paired table each, each saying which pairs it holds
"$prog" report pt 'report.baseline=[constant, AdaMix]' >b4.txt 2>&1
check "a list of baselines: a table against constant" grep -q "^## Paired difference to the baseline, constant$" pt/report.md
check "a list of baselines: a table against AdaMix" grep -q "^## Paired difference to the baseline, AdaMix$" pt/report.md
check "a list of baselines: each says its pairs" \
    [ "$(grep -c '^Point − baseline (finetune.rules = \(constant\|AdaMix\) with the same other sweep values)' pt/report.md)" = 2 ]
check "a list of baselines: AdaMix against constant and constant against AdaMix, per batch size" \
    [ "$(grep -c '^- .* than \(constant\|AdaMix\), finetune.batch_size=' pt/report.md)" = 4 ]
check "a list of baselines: report.json's comparisons" grep -q '"comparisons": \[' pt/report.json
# all pairs: every pair of the 4 points once
"$prog" report pt report.baseline=all-pairs >b5.txt 2>&1
check "all-pairs: its table" grep -q "^## Paired difference, all pairs$" pt/report.md
check "all-pairs: 6 pairs of 4 points" [ "$(grep -c '^| .* − .* | 2 |' pt/report.md)" = 6 ]
check "all-pairs: a verdict line each" [ "$(grep -c '^- .* than ' pt/report.md)" = 6 ]
"$prog" --print-config "$exp" 'report.baseline=[constant, {finetune.rules: AdaMix}]' >b6.txt 2>&1
check "a list of baselines as config.yaml writes it" \
    bash -c "grep -A3 '^  baseline:$' b6.txt | head -3 | tr -d '\n' | grep -q '  - constant  - finetune.rules: AdaMix'"

finish
