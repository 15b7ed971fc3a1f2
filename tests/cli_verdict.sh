#!/usr/bin/env bash
# Command-line tests of the one verdict on a run folder (amx_result_judge):
# each damage below is made to one run of a copy of a complete folder, and
# the four callers must agree on it, with the same file:line:col and words:
# the runner redoes the run and says why, report counts it missing with that
# warning, compare names it "damaged in B" (so the folders are not
# identical), and merge refuses it naming it. Before, they disagreed: a
# summary.json whose final_test_error contradicts its curve was "complete"
# to the runner and "identical" to compare; a run without config.yaml was
# complete to the runner and refused by merge.
#
# usage: cli_verdict.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-verdict-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

# the smoke experiment as committed, its data through a relative link (run
# ids independent of where the checkout is)
mkdir -p tests && ln -s "$src/tests/data" tests/data
exp=$src/tests/experiments/smoke.yaml

"$prog" -q -j 1 -o base "$exp" >/dev/null 2>&1
check "the smoke sweep runs" [ "$(find base/runs -name summary.json | wc -l)" -eq 4 ]
id=$(ls base/runs | head -1)
r=runs/$id
# the other repeat of id's point, for a config.yaml of another repeat
label=$(grep -o '"finetune.rules": "[^"]*"' "base/$r/summary.json")
other=$(grep -l "$label" base/runs/*/summary.json | grep -v "$id" | xargs dirname)

# damage NAME FILE WHERE WORDS: applies the damage named NAME to run id of
# a copy of base (the function damage_NAME), then checks that the four
# callers all say "$r/FILE:WHERE: WORDS"
damage_final_test_error() { sed -i 's/"final_test_error": [0-9.]*/"final_test_error": 1.0/' "$1/$r/summary.json"; }
damage_best_test_error() { sed -i 's/"best_test_error": [0-9.]*/"best_test_error": 99.5/' "$1/$r/summary.json"; }
damage_config_deleted() { rm "$1/$r/config.yaml"; }
damage_config_other_repeat() { cp "$other/config.yaml" "$1/$r/config.yaml"; }
damage_status_garbage() { sed -i 's/"status": "ok"/"status": "garbage"/' "$1/$r/summary.json"; }
damage_curve_empty() { : >"$1/$r/curve.csv"; }
damage_curve_deleted() { rm "$1/$r/curve.csv"; }

# line:col of "key" in the base run's summary.json (its key, 2 spaces in)
at_key() { echo "$(grep -n "\"$1\":" "base/$r/summary.json" | head -1 | cut -d: -f1):3"; }
repeat_at=$(grep -n '^repeat:' "$other/config.yaml" | cut -d: -f1):9

agree() {
    local name=$1 file=$2 where=$3 words=$4 rc
    local want="$r/$file:$where: $words"
    rm -rf d m
    cp -r base d
    "damage_$name" d
    # report: missing, with the warning
    "$prog" report d >"$name.report" 2>&1
    rc=$?
    check "$name: report exits 0 (got $rc)" [ $rc -eq 0 ]
    check "$name: report counts the run missing" grep -q "(3 of 4 runs complete)" "$name.report"
    check "$name: report says $want" grep -qF "d/$want" "$name.report"
    # compare: named, so not identical
    "$prog" compare base d >"$name.compare" 2>&1
    rc=$?
    check "$name: compare exits 1 (got $rc)" [ $rc -eq 1 ]
    check "$name: compare names it damaged in B" grep -qF "damaged in B: d/$want" "$name.compare"
    check "$name: compare does not find them identical" not grep -q "^result: identical" "$name.compare"
    # merge: refused, named, nothing written
    "$prog" merge m d >"$name.merge" 2>&1
    rc=$?
    check "$name: merge refuses it (exit 1 or 2, got $rc)" [ $rc -eq 1 -o $rc -eq 2 ]
    check "$name: merge says $want" \
        bash -c 'grep -qF "$1" "$3" || grep -qF "$2" "$3"' _ "d/$want" "d/$r/$file:$where: error: $words" "$name.merge"
    check "$name: merge writes nothing" [ ! -e m ]
    # the runner: redone, and said so; the folder healed
    "$prog" -q -j 1 -o d "$exp" >"$name.run" 2>&1
    rc=$?
    check "$name: the runner exits 0 (got $rc)" [ $rc -eq 0 ]
    check "$name: the runner redoes it, saying $want" \
        grep -qF "run $id (" "$name.run"
    check "$name: ... with the verdict's words" grep -qF "has a damaged result, redoing it: d/$want" "$name.run"
    check "$name: ... only that run" grep -q "1 ok, 0 diverged, 0 failed, 3 already complete" "$name.run"
    check "$name: healed: its summary is the first run's" \
        cmp <(grep -v seconds "base/$r/summary.json") <(grep -v seconds "d/$r/summary.json")
    check "$name: ... and its config.yaml" cmp "base/$r/config.yaml" "d/$r/config.yaml"
}

agree final_test_error summary.json "$(at_key final_test_error)" '"final_test_error" is 1, but curve.csv has test_error '
agree best_test_error summary.json "$(at_key best_test_error)" '"best_test_error" is 99.5, but curve.csv has test_error '
agree status_garbage summary.json "$(at_key status)" 'incomplete summary.json: "status" is not "ok" or "diverged"'
agree config_deleted config.yaml 1:1 'cannot read (No such file or directory): a complete run keeps its config.yaml'
agree config_other_repeat config.yaml "$repeat_at" "describes run $(basename "$other"), not $id (the folder's name and summary.json's config_sha256): the config.yaml of another repeat"
agree curve_empty curve.csv 1:1 'empty curve file'
agree curve_deleted curve.csv 1:1 'cannot read (No such file or directory): a complete run keeps its curve.csv'

# Every committed results folder passes the verdict: compared with itself
# (compare writes nothing), no run is named damaged. The verdict binds each
# config.yaml with today's schema, so a change of the experiment language
# that stops an older config.yaml from binding shows here (every such run
# would otherwise be redone, or refused by merge).
n_dirs=0
while IFS= read -r yaml; do
    dir=$(dirname "$yaml")
    [ -n "$(find "$dir/runs" -name summary.json -print -quit 2>/dev/null)" ] || continue # none complete yet
    name=${dir#"$src"/}
    "$prog" compare "$dir" "$dir" >"committed-${name//\//_}.txt" 2>&1
    check "committed $name: every run folder passes the verdict" \
        bash -c '! grep -q "damaged in" "$1" && grep -q "^result: identical" "$1"' _ "committed-${name//\//_}.txt"
    n_dirs=$((n_dirs + 1))
done < <(find "$src/results" "$src/tests/results" -name experiment.yaml | sort)
check "committed results folders were checked ($n_dirs)" [ "$n_dirs" -ge 20 ]

finish
