#!/usr/bin/env bash
# Every committed result is found by its experiment file: for each results
# folder with runs, P/results/S/F, its experiment file P/experiments/S/F.yaml
# (the default results folder mirrors experiments/: docs/design.md) expands
# (--dry-run) to a set of run ids that holds every committed run folder
# (the stages of a tuned experiment, DIR/tune and DIR/final, by its dry run
# over DIR). A change of the canonical form or of the schema's identity flags
# that renamed committed runs (so that a resume would recompute them, and a
# merge would not join them) fails here.
#
# usage: cli_committed_ids.sh PROGRAM SOURCE_DIR
set -u
prog=$(realpath "$1")
src=$(realpath "$2")
source "$src/tests/checklib.sh"
cd "$src" || exit 1
n_folders=0
while IFS= read -r runs; do
    dir=$(dirname "$runs")
    # a stage of a tuned experiment (docs/experiment-language.md, "Tune"):
    # DIR/tune, DIR/final, DIR/study-K/...; its dry run over DIR lists the
    # tuning runs and, once they are there, the final ones
    top=$dir
    case "$top" in */tune | */final) top=${top%/*} ;; esac
    case "$top" in */study-[0-9]*) top=${top%/*} ;; esac
    exp="${top%%results/*}experiments/${top#*results/}.yaml"
    check "$dir has its experiment file $exp" [ -f "$exp" ]
    [ -f "$exp" ] || continue
    ids=$("$prog" --dry-run -o "$top" "$exp" 2>/dev/null | awk 'NR > 1 { print $1 }' | sort)
    missing=$(comm -23 <(ls "$runs" | sort) <(echo "$ids"))
    check "$exp expands to every run folder of $dir (missing: ${missing:-none})" [ -z "$missing" ]
    n_folders=$((n_folders + $(ls "$runs" | wc -l)))
done < <(find results tests/results -mindepth 2 -maxdepth 4 -type d -name runs | sort)
check "committed run folders were checked ($n_folders)" [ "$n_folders" -ge 300 ]
finish
