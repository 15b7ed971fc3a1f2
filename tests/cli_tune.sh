#!/usr/bin/env bash
# Command-line tests of tune, then test (docs/experiment-language.md, "Tune"):
# both stages in one invocation on the committed fixture digits; --dry-run
# lists both; no tuning run holds a test error (curves, summaries, the
# stage's summary.csv and report.json), the final runs do; the selection in
# selection.csv is recomputed here from the tuning run folders' summaries
# (awk, not the program); another test set leaves the selection unchanged;
# a rerun after tuning runs were lost, or after final runs were lost, does
# exactly those again and selects the same; a run folder without the test
# set passes the verdict, one with a test column beside it does not; a grid
# whose best stays at an edge with no extension left warns; bad sections
# are refused at their place.
#
# usage: cli_tune.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-tune-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

mkdir -p tests && ln -s "$src/tests/data" tests/data
cat >tune.yaml <<'EOF'
name: tune-fixture
seed: 3
repeats: 2
data:
  dir: tests/data
  train: fixture-images-idx3-ubyte.gz
  test: fixture-t10k-images-idx3-ubyte.gz
  train_limit: 250
  validation: 50
network: {layers: [784, 16]}
pretrain: none
finetune:
  epochs: 3
  batch_size: 25
  rules: {all: {rule: constant, eta0: 0.01}}
sweep:
  finetune.rules:
    AdaGrad: {all: {rule: adagrad, eta0: 0.01, K: 1}}
    constant: {all: {rule: constant, eta0: 0.01}}
tune:
  grid: [0.01, 0.1, 1]
  epochs: 2
  extend: 1
report:
  series: finetune.rules
EOF

# ---- --dry-run: both stages, nothing written ----
out=$("$prog" --dry-run -o dry tune.yaml 2>&1)
check "--dry-run lists the tuning stage" grep -q "tuning stage, into dry/tune" <<<"$out"
check "--dry-run lists six tuning runs" grep -q "^6 runs" <<<"$out"
check "--dry-run names each value tried" grep -q "AdaGrad@0.1 " <<<"$out"
check "--dry-run lists the final stage after selection" \
    grep -q "final stage, into dry/final: after selection, 2 members at the chosen values x 2 repeats" <<<"$out"
check "--dry-run writes nothing" not test -e dry

# ---- both stages ----
"$prog" -q -j 2 -o a tune.yaml >a.log 2>&1
rc=$?
check "both stages run (exit 0)" [ "$rc" -eq 0 ]
check "the tuning runs are in a/tune" [ "$(ls a/tune/runs | wc -l)" -ge 6 ]
check "the final runs are in a/final (2 members x 2 repeats)" [ "$(ls a/final/runs | wc -l)" -eq 4 ]
for f in selection.csv tune.json tune.md sensitivity.gp sensitivity.dat report.html; do
    check "a/$f is written" test -s "a/$f"
done
if command -v gnuplot >/dev/null; then
    check "the sensitivity figure is rendered" test -s a/sensitivity.svg
fi
if command -v gnuplot >/dev/null; then
    check "report.html holds the sensitivity figure" grep -q 'Tuning: validation error by tuned value' a/report.html
    check "and the final comparison's figure" [ "$(grep -c '<svg' a/report.html)" -eq 2 ]
fi
check "report.html holds the chosen values" grep -q '| 1 | AdaGrad | eta0 | ' a/report.html
check "report.html links the final comparison" grep -q 'final/report.html' a/report.html

# ---- no test error in a tuning run ----
check "no tuning curve has a test column" \
    not grep -l "test_error" a/tune/runs/*/curve.csv
check "no tuning summary has a test error" \
    not grep -lE '"(final|best)_test_(error|loss)"' a/tune/runs/*/summary.json
check "the tuning stage's summary.csv has no test column" not grep -q test_error a/tune/summary.csv
check "the tuning stage's report.json has no test error" not grep -q test_error a/tune/report.json
check "every final run measures the test set" \
    [ "$(grep -l '"final_test_error": [0-9]' a/final/runs/*/summary.json | wc -l)" -eq 4 ]
check "every tuning config says evaluation.test: false" \
    [ "$(grep -l '^  test: false' a/tune/runs/*/config.yaml | wc -l)" -eq "$(ls a/tune/runs | wc -l)" ]

# ---- --dry-run over a computed tuning lists the final runs ----
out=$("$prog" --dry-run -o a tune.yaml 2>&1)
check "--dry-run after the tuning lists the final stage's runs" \
    [ "$(awk '/final stage, into a\/final: the values chosen/ { f = 1; next } f && /^[0-9a-f]+  / { print $1 }' <<<"$out" | sort)" = "$(ls a/final/runs | sort)" ]
out=$("$prog" --shard 1/2 -o sh tune.yaml 2>&1)
check "--shard with a tune section is refused (exit 2)" [ $? -eq 2 ]
check "saying why" grep -q "with a tune section is not supported" <<<"$out"

# ---- the selection, recomputed from the run folders ----
# per member, the value whose final_validation_error is smallest (ties: the
# smaller value), over runs whose status is ok; from summary.json alone
recompute() { # recompute DIR [KEY]: "member value metric" lines, sorted
    local key=${2:-final_validation_error}
    for s in "$1"/tune/runs/*/summary.json; do
        label=$(grep -o '"finetune.rules": "[^"]*"' "$s" | sed 's/.*: "//; s/"$//')
        status=$(grep -o '"status": "[a-z]*"' "$s" | sed 's/.*: "//; s/"$//')
        v=$(grep -o "\"$key\": [-0-9.e+]*" "$s" | sed 's/.*: //')
        echo "${label%@*} ${label#*@} $status $v"
    done | awk '$3 == "ok" && $4 != "" {
        if (!($1 in best) || $4 < best[$1] || ($4 == best[$1] && $2 + 0 < val[$1] + 0)) {
            best[$1] = $4; val[$1] = $2 } }
        END { for (m in val) printf "%s %s %.6g\n", m, val[m], best[m] }' | sort
}
chosen() { # chosen DIR: "member value metric" lines of selection.csv, sorted
    awk -F, 'NR > 1 { printf "%s %s %.6g\n", $2, $4, $5 }' "$1/selection.csv" | sort
}
check "the selection agrees with one recomputed from the tuning run folders" \
    [ "$(recompute a)" = "$(chosen a)" ]
check "selection.csv has a row per member" [ "$(chosen a | wc -l)" -eq 2 ]
check "the recomputation found both members" [ "$(recompute a | wc -l)" -eq 2 ]
# metric: best, the smallest validation error over the epochs
"$prog" -q -j 2 -o best --set tune.metric=best tune.yaml >best.log 2>&1
check "metric best: the selection agrees with one recomputed from best_validation_error" \
    [ "$(recompute best best_validation_error)" = "$(chosen best)" ]
points() { # points DIR KEY: "member value metric" of every tuning run ok, from summary.json
    for s in "$1"/tune/runs/*/summary.json; do
        grep -q '"status": "ok"' "$s" || continue
        label=$(grep -o '"finetune.rules": "[^"]*"' "$s" | sed 's/.*: "//; s/"$//')
        v=$(grep -o "\"$2\": [-0-9.e+]*" "$s" | sed 's/.*: //')
        printf '%s %s %.6g\n' "${label%@*}" "${label#*@}" "$v"
    done | sort
}
plotted() { # plotted DIR: the same from sensitivity.dat's blocks, one per member (diverged: nan)
    awk '/^# chosen/ { exit } /^# / { m = substr($0, 3); next }
        NF == 2 && m != "" && $2 != "nan" { printf "%s %s %.6g\n", m, $1 + 0, $2 }' "$1/sensitivity.dat" |
        sort
}
check "the sensitivity figure plots every tuning run's final validation error" \
    [ "$(points a final_validation_error)" = "$(plotted a)" ]
check "metric best: it plots their best validation error" \
    [ "$(points best best_validation_error)" = "$(plotted best)" ]

# ---- another test set: the same selection ----
"$prog" -q -j 2 -o b --set data.test_limit=40 tune.yaml >b.log 2>&1
check "with another test set the selection is the same" [ "$(chosen a)" = "$(chosen b)" ]
# (summary.csv's columns but the run id, which names the test set, and the seconds)
check "and so are the tuning runs' validation errors" \
    [ "$(cut -d, -f2-7 a/tune/summary.csv | sort)" = "$(cut -d, -f2-7 b/tune/summary.csv | sort)" ]

# ---- resume: tuning runs lost (as by a kill during the tuning) ----
cp -r a c
ls c/tune/runs | head -3 | while read -r id; do rm -rf "c/tune/runs/$id"; done
rm -rf c/final
out=$("$prog" -j 2 -o c tune.yaml 2>&1)
# the lost runs are done again, some perhaps only once the grid has grown
done_again=$(grep -o "runs: [0-9]* ok" <<<"$out" | awk '{ n += $2 } END { print n }')
check "a rerun does the three lost tuning runs and the four final runs again" [ "$done_again" -eq 7 ]
check "the tuning folder is whole again" [ "$(ls a/tune/runs | sort)" = "$(ls c/tune/runs | sort)" ]
check "and the final stage" [ "$(ls c/final/runs | wc -l)" -eq 4 ]
check "with the same selection" [ "$(chosen a)" = "$(chosen c)" ]
check "and the same final results" [ "$(cut -d, -f1-7 a/final/summary.csv)" = "$(cut -d, -f1-7 c/final/summary.csv)" ]

# ---- resume after the selection: final runs lost ----
rm -rf "c/final/runs/$(ls c/final/runs | head -1)"
out=$("$prog" -j 2 -o c tune.yaml 2>&1)
check "a rerun after the selection does the one lost final run" \
    grep -q "1 ok, 0 diverged, 0 failed, 3 already complete" <<<"$out"
check "and no tuning run" grep -q "0 ok, 0 diverged, 0 failed, [0-9]* already complete" <<<"$out"
check "the final results are the same again" [ "$(cut -d, -f1-7 a/final/summary.csv)" = "$(cut -d, -f1-7 c/final/summary.csv)" ]

# ---- a real kill during the tuning, then the same command ----
"$prog" -q -j 1 -o k tune.yaml >k1.log 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    [ "$(ls k/tune/runs/*/summary.json 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.05
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
"$prog" -q -j 2 -o k tune.yaml >k2.log 2>&1
check "after a kill the same command completes both stages" [ "$(chosen a)" = "$(chosen k)" ]
check "with the same final results" [ "$(cut -d, -f1-7 a/final/summary.csv)" = "$(cut -d, -f1-7 k/final/summary.csv)" ]

# ---- the verdict on a run without the test set ----
id=$(ls a/tune/runs | head -1)
cp -r a d
check "report counts every tuning run complete" \
    grep -q "$(ls a/tune/runs | wc -l) of $(ls a/tune/runs | wc -l) runs complete" <<<"$("$prog" report a/tune 2>&1)"
sed -i '1s/$/,test_error/; 2,$s/$/,1.5/' "d/tune/runs/$id/curve.csv"
out=$("$prog" report d/tune 2>&1)
check "a test column beside a summary without one is refused, at best_validation_error" \
    grep -q "runs/$id/summary.json:[0-9]*:[0-9]*: .*no \"final_test_error\" (a run without the test set), but curve.csv has a test_error column" <<<"$out"

# ---- an edge with no extension left ----
out=$("$prog" -j 2 -o e --set tune.extend=0 --set 'tune.grid=[0.0001, 0.0003]' tune.yaml 2>&1)
check "a best value at an edge with no extension left warns" \
    grep -q "warning: .* is at the upper edge of its grid, and the grid has grown there 0 times" <<<"$out"
check "and selection.csv says the limit was reached" grep -q ",true," e/selection.csv
out=$("$prog" -j 2 -o f --set tune.extend=1 --set 'tune.grid=[0.0001, 0.0003]' tune.yaml 2>&1)
check "with one extension the grid grows at the edge" grep -q "the grid grows to 0.0009" <<<"$out"
check "selection.csv records the extension" \
    [ "$(awk -F, 'NR > 1 && $8 == 1' f/selection.csv | wc -l)" -eq 2 ]

# ---- adamix-run report on the folder rebuilds the stages' and the tuning's reports ----
cp -r a r
rm r/selection.csv r/tune.md r/final/report.md r/tune/summary.csv
"$prog" report r >r.log 2>&1
check "report on a tuned folder exits 0" [ $? -eq 0 ]
check "and writes selection.csv again, the same" cmp -s a/selection.csv r/selection.csv
check "and the stages' reports" test -s r/final/report.md -a -s r/tune/summary.csv

# ---- three studies: the median over studies and the spreads ----
"$prog" -q -j 2 -o s --set tune.studies=3 tune.yaml >s.log 2>&1
check "three studies run (exit 0)" [ $? -eq 0 ]
for k in 1 2 3; do
    check "study-$k has its tuning and final stage" test -s "s/study-$k/tune/summary.csv" -a -s "s/study-$k/final/summary.csv"
done
check "study 1 is the single study's (same seed)" \
    [ "$(chosen a)" = "$(awk -F, 'NR > 1 && $1 == 1 { printf "%s %s %.6g\n", $2, $4, $5 }' s/selection.csv | sort)" ]
check "studies 2 and 3 ran other seeds" not cmp -s s/study-1/final/summary.csv s/study-2/final/summary.csv
check "selection.csv has a row per study and member" [ "$(awk 'NR > 1' s/selection.csv | wc -l)" -eq 6 ]
# the median of the three final means per member, from selection.csv, against tune.md's table
for m in AdaGrad constant; do
    want=$(awk -F, -v m=$m 'NR > 1 && $2 == m { print $10 }' s/selection.csv | sort -g | sed -n 2p |
        awk '{ printf "%.3f", $1 }')
    got=$(awk -F'|' -v m=" $m " '/^\| member \| chosen in each study/ { t = 1 } t && $2 == m { print $5 }' s/tune.md)
    check "tune.md's median final of $m is the median of its studies ($want)" \
        [ -n "$want" ] && [ "$want" = "$(echo $got)" ]
done
check "tune.md gives the spread across studies beside the spread within one" \
    grep -q "| member | chosen in each study | median chosen | median final | sd across studies | sd within a study |" s/tune.md
check "tune.json has the median over studies" grep -q '"median_final": [0-9]' s/tune.json

# ---- bad sections, each at its place ----
bad() { # bad WHAT LINE:COL WORDS SED: the file changed by SED is refused there
    sed "$4" tune.yaml >bad.yaml
    out=$("$prog" validate bad.yaml 2>&1)
    rc=$?
    check "$1: exit 2" [ "$rc" -eq 2 ]
    check "$1: at $2" grep -q "^bad.yaml:$2: error: .*$3" <<<"$out"
}
bad "a path that names nothing" 24:32 "names nothing in the member" \
    's/^  extend: 1$/  extend: 1\n  members: {constant: {values: weights.eta0}}/'
bad "a grid of one value" 21:9 "a grid of 1 value chooses nothing" 's/^  grid: .*/  grid: [0.1]/'
bad "a log grid from 0" 21:16 "a log grid has positive bounds" \
    's/^  grid: .*/  grid: {from: 0, to: 1, per_decade: 2}/'
bad "studies 0" 24:12 "tune.studies must be a whole number >= 1" 's/^  extend: 1$/  extend: 1\n  studies: 0/'
bad "tune without validation" 19:1 "hold out validation images" '/^  validation: 50$/d'
finish
