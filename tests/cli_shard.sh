#!/usr/bin/env bash
# Command-line tests of sharding without a cluster (docs/scaling.md): the balance
# --dry-run reports, runs that stay on their shard when the sweep grows, two
# processes sharing one pretraining cache (computed once, no lock file left),
# and what `merge` says about missing runs, missing shard folders and shards
# of different splits. tests/slurm_array.sh does the same under a real Slurm.
#
# usage: cli_shard.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-shard-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

# The smoke experiment as committed: its data folder tests/data is relative
# to the current folder, here a link to the fixtures, so the run ids (and the
# split into shards) are the same in every checkout.
mkdir -p tests && ln -s "$src/tests/data" tests/data
exp=$src/tests/experiments/smoke.yaml
ids_of() { grep -o '^[0-9a-f]\{16\} ' "$1" | tr -d ' ' | sort; }

# 1. --dry-run --shard: the sizes of every shard, which add up to the runs
#    and agree with what each shard lists.
sizes=""
for i in 1 2 3; do
    "$prog" --dry-run --shard $i/3 "$exp" repeats=4 >dry$i.txt 2>&1
    sizes="$sizes $(ids_of dry$i.txt | wc -l)"
done
check "dry run prints the shard sizes" grep -q "^shard sizes of 3:$sizes (mean 2.67; the largest [0-9]*% above it" dry1.txt
check "every shard's dry run prints the same sizes" cmp -s <(tail -1 dry1.txt) <(tail -1 dry3.txt)
check "the shards hold the 8 runs between them" [ "$(cat dry[123].txt | ids_of /dev/stdin | sort -u | wc -l)" -eq 8 ]
"$prog" --dry-run --shard 2/40 "$exp" >dry40.txt 2>&1
check "many shards: the range, and how many are empty" \
    grep -q "^shard sizes of 40: 0 to [1-4] (mean 0.10; the largest [0-9]*% above it; 3[6-9] empty)" dry40.txt

# 2. Adding points (here repeats 2 -> 4) leaves every run on its shard.
stay=0
for i in 1 2 3; do
    "$prog" --dry-run --shard $i/3 "$exp" >small$i.txt 2>&1
    comm -23 <(ids_of small$i.txt) <(ids_of dry$i.txt) | grep -q . || stay=$((stay + 1))
done
check "a grown sweep keeps every run on its shard (in $stay of 3 shards)" [ $stay -eq 3 ]
check "the grown and the small sweep were listed" grep -q "runs in shard 1/3" small1.txt

# 3. Two processes that need the same pretraining at the same time, sharing
#    --cache: it is computed once (the other waits on the entry's lock, then
#    reuses it), and the lock file is gone afterwards.
slow=(repeats=1 pretrain.epochs=300)
"$prog" -q -j 1 -o a --cache shared "$exp" "${slow[@]}" >a.txt 2>&1 &
pa=$!
"$prog" -q -j 1 -o b --cache shared "$exp" "${slow[@]}" >b.txt 2>&1 &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
check "two processes sharing a cache: both exit 0 ($ra, $rb)" [ "$ra $rb" = "0 0" ]
computed=$(cat a.txt b.txt | sed -n 's/^pretraining: \([0-9]*\) computed.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
check "two processes sharing a cache: the pretraining computed once (got $computed)" [ "$computed" = 1 ]
check "two processes sharing a cache: only the cache entry is left" [ "$(ls shared)" = "$(cd shared && ls pretrain-*.bin)" ]
check "two processes sharing a cache: same results" \
    cmp -s <(cut -d, -f1-7 a/summary.csv) <(cut -d, -f1-7 b/summary.csv)
check "two processes sharing a cache: 2 runs each" [ "$(wc -l <a/summary.csv)" -eq 3 ]

# 4. merge: which runs are missing, from which shard, and why.
"$prog" -q -j 2 -o s1 --shard 1/2 --cache c "$exp" >/dev/null 2>&1
"$prog" --dry-run --shard 2/2 "$exp" >dry-s2.txt
n2=$(ids_of dry-s2.txt | wc -l)
check "this sweep puts runs in both shards ($((4 - n2)) + $n2)" [ "$n2" -ge 1 -a "$n2" -le 3 ]
"$prog" merge m1 s1 s2 >m1.out 2>m1.err
rc=$?
check "merge without shard 2's folder exits 1 (got $rc)" [ $rc -eq 1 ]
check "merge says which folder is not there" grep -q "warning: s2 does not exist" m1.err
check "merge counts the missing runs" grep -q "error: $n2 of 4 runs of the experiment are in none of the shards" m1.err
ok=$((n2 > 0))
for id in $(ids_of dry-s2.txt); do
    grep -q "^  $id  shard 2/2  .*: no folder of its shard was merged (not there: s2)$" m1.err || ok=0
done
check "merge lists each missing run with its shard and the missing folder" [ $ok -eq 1 ]
check "merge names the shards to rerun" grep -q "^adamix-run: shards to rerun: 2$" m1.err
check "merge still writes the report of what is there" [ -s m1/summary.csv ]
check "merge copies the pretraining logs" [ "$(ls m1/pretrain | wc -l)" -ge 1 ]

# a failed run, a run not finished, a run never started, in shard 2's folder
if [ "$n2" -ge 1 ]; then
    "$prog" -q -j 2 -o s2 --shard 2/2 --cache c "$exp" >/dev/null 2>&1
    first=$(ids_of dry-s2.txt | head -1)
    rm s2/runs/$first/summary.json
    echo "s2/runs/$first/curve.csv: error: disk full" >s2/runs/$first/error.txt
    "$prog" merge m2 s1 s2 >m2.out 2>m2.err
    check "merge with a failed run exits 1" [ $? -eq 1 ]
    check "merge gives the failed run's error" grep -q "^  $first  shard 2/2  .*: failed in s2: s2/runs/$first/curve.csv: error: disk full$" m2.err
    rm s2/runs/$first/error.txt
    "$prog" merge m2 s1 s2 >m2.out 2>m2.err
    check "merge says a run is not finished" grep -q "^  $first  shard 2/2  .*: not finished in s2 (no summary.json)$" m2.err
    rm -r s2/runs/$first
    "$prog" merge m2 s1 s2 >m2.out 2>m2.err
    check "merge says a run was not started" grep -q "^  $first  shard 2/2  .*: not started in s2$" m2.err
fi

# refusals: shards of different splits; nothing to merge
"$prog" -q -j 2 -o t1 --shard 1/3 --cache c "$exp" >/dev/null 2>&1
"$prog" merge m3 s1 t1 >m3.out 2>m3.err
rc=$?
check "merging shards of a 2-way and a 3-way split exits 2 (got $rc)" [ $rc -eq 2 ]
check "the refusal names both splits" grep -q "t1: error: a shard of a 3-way split, but s1 is of a 2-way split" m3.err
"$prog" merge m4 gone1 gone2 >m4.out 2>m4.err
rc=$?
check "merging folders none of which exists exits 1 (got $rc)" [ $rc -eq 1 ]
check "and says so" grep -q "none of the 2 shard folders exists" m4.err
check "and writes nothing" [ ! -e m4 ]

finish
