#!/usr/bin/env bash
# Command-line tests of a results folder under faults (docs/design.md, "Where
# results go"): damaged results that heal, a manifest with a non-string
# override, symbolic links inside the folder, merge of untrustworthy shards,
# two invocations on one folder, Ctrl-C to the whole process group, a figure
# of runs that all diverged and -j capped by cores and memory. Each check
# failed before its fix.
#
# usage: cli_results_faults.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-faults-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

# The smoke experiment as committed: its data folder tests/data is relative
# to the current folder, here a link to the fixtures, so the run ids (which
# hash data.dir) and the split into shards are the same wherever the
# checkout is.
mkdir -p tests && ln -s "$src/tests/data" tests/data
exp=$work/smoke.yaml
cp "$src/tests/experiments/smoke.yaml" "$exp"
slow=$work/slow.yaml
sed -e 's/epochs: 3/epochs: 40/' "$exp" >"$slow"
no_temp_files() { ! find "$1" -name '*.amx-tmp.*' | grep -q .; }
n_complete() { find "$1/runs" -name summary.json | wc -l; }

"$prog" -q -j 1 -o base "$exp" >/dev/null 2>&1
check "the smoke sweep runs" [ "$(n_complete base)" -eq 4 ]
mapfile -t ids < <(ls base/runs)

# ---- item 3: a damaged result is redone, and said so; report counts it missing
cp -r base dmg
sed -i 's/"status": "ok"/"status": "bogus"/' "dmg/runs/${ids[0]}/summary.json"
printf 'junk\x00\x01 not a curve\n' >"dmg/runs/${ids[1]}/curve.csv"
: >"dmg/runs/${ids[2]}/curve.csv"
sed -i '$d' "dmg/runs/${ids[3]}/curve.csv" # cut at a line boundary: one epoch less
"$prog" report dmg >rep3.txt 2>&1
rc=$?
check "report of damaged runs exits 0 (got $rc)" [ $rc -eq 0 ]
check "report counts the 4 damaged runs missing" grep -q "(0 of 4 runs complete)" rep3.txt
check "report warns with the file, line, column and the reason" \
    grep -q "runs/${ids[0]}/summary.json:[0-9]*:3: incomplete summary.json: \"status\" is not" rep3.txt
check "report locates the junk curve" grep -q "runs/${ids[1]}/curve.csv:1:1: " rep3.txt
check "report locates the empty curve" grep -q "runs/${ids[2]}/curve.csv:1:1: empty curve file" rep3.txt
check "report names the cut curve" grep -q "runs/${ids[3]}/curve.csv:4:1: 3 rows (epochs 0..2), but summary.json says 3 epochs" rep3.txt
"$prog" -q -j 1 -o dmg "$exp" >run3.txt 2>&1
rc=$?
check "a run over damaged results exits 0 (got $rc)" [ $rc -eq 0 ]
check "it redoes the 4 damaged runs" grep -q "4 ok, 0 diverged, 0 failed, 0 already complete" run3.txt
for i in 0 1 2 3; do
    check "it says run ${ids[$i]} is redone" grep -q "run ${ids[$i]} .*damaged result, redoing it" run3.txt
done
check "the redone runs equal the first ones" diff <(cut -d, -f1-3 base/summary.csv) <(cut -d, -f1-3 dmg/summary.csv)
"$prog" -q -j 1 -o dmg "$exp" >run3b.txt 2>&1
check "healed: the next invocation reuses all 4" grep -q "4 already complete" run3b.txt

# ---- resume by the configuration's hash: summary.json's
# config_sha256 decides, config.yaml is not parsed again; an older folder
# without the hash is checked the old way (config.yaml) and then gets it
summary0="base/runs/${ids[0]}/summary.json"
check "summary.json has config_sha256, the run id its first 16 digits" \
    grep -q "\"config_sha256\": \"${ids[0]}[0-9a-f]\{48\}\"" "$summary0"
cp -r base h1
printf 'junk: [\n' >"h1/runs/${ids[0]}/config.yaml" # not YAML: a damaged folder, hash or not
"$prog" -q -j 1 -o h1 "$exp" >h1.txt 2>&1
check "a config.yaml that is not YAML: redone and said so, at its line" \
    grep -q "run ${ids[0]} .*redoing it: .*runs/${ids[0]}/config.yaml:2:1: malformed config.yaml" h1.txt
check "... the others reused" grep -q "1 ok, 0 diverged, 0 failed, 3 already complete" h1.txt
check "... and config.yaml written again" \
    cmp "h1/runs/${ids[0]}/config.yaml" "base/runs/${ids[0]}/config.yaml"
cp -r base h2
sed -i '/"config_sha256"/d' h2/runs/*/summary.json
"$prog" -q -j 1 -o h2 "$exp" >h2.txt 2>&1
check "no hash (an older folder): reused after the old check" grep -q "4 already complete" h2.txt
check "... and the hash added, as a fresh run writes it" cmp "$summary0" "h2/runs/${ids[0]}/summary.json"
cp -r base h3
sed -i "s/\"config_sha256\": \"${ids[0]}[0-9a-f]*\"/\"config_sha256\": \"${ids[0]}$(printf '0%.0s' {1..48})\"/" \
    "h3/runs/${ids[0]}/summary.json"
"$prog" -q -j 1 -o h3 "$exp" >h3.txt 2>&1
check "another configuration's hash (same id prefix): run again" grep -q "1 ok, 0 diverged, 0 failed, 3 already complete" h3.txt
cp -r base h4
sed -i 's/"config_sha256": "\(.\{20\}\)[^"]*"/"config_sha256": "\1-not-hex"/' "h4/runs/${ids[0]}/summary.json"
"$prog" -q -j 1 -o h4 "$exp" >h4.txt 2>&1
check "a malformed hash: a damaged result, redone and said so" grep -q "run ${ids[0]} .*redoing it: .*\"config_sha256\" is not 64 hexadecimal digits" h4.txt

# ---- item 13: manifest.json's overrides holding a non-string
cp -r base m13
sed -i 's/"overrides": \[\]/"overrides": [1, {"a": 2}]/' m13/manifest.json
"$prog" report m13 >rep13.txt 2>&1
rc=$?
check "report with a non-string override exits 2, no crash (got $rc)" [ $rc -eq 2 ]
check "... names the file and the item" grep -q "m13/manifest.json: error: \"overrides\" item 1 is not a string" rep13.txt
echo '[1, 2]' >m13/manifest.json
"$prog" report m13 >rep13b.txt 2>&1
check "a manifest that is no object: exit 2" [ $? -eq 2 ]
"$prog" merge m13out m13 >rep13c.txt 2>&1
check "merge of it: exit 2, no crash" [ $? -eq 2 ]

# ---- item 11: a runs/<id> that is a symbolic link is refused, its target untouched
cp -r base l11
mkdir elsewhere
mv "l11/runs/${ids[0]}" "elsewhere/${ids[0]}"
rm "elsewhere/${ids[0]}/summary.json"
ln -s "$work/elsewhere/${ids[0]}" "l11/runs/${ids[0]}"
before=$(ls -l --time-style=+%s.%N "elsewhere/${ids[0]}" | md5sum)
"$prog" -q -j 1 -o l11 "$exp" >run11.txt 2>&1
rc=$?
check "a linked run folder: exit 1 (got $rc)" [ $rc -eq 1 ]
check "... names it as a symbolic link" grep -q "runs/${ids[0]}: error: is a symbolic link" run11.txt
check "... writes nothing into the link's target" [ "$before" = "$(ls -l --time-style=+%s.%N "elsewhere/${ids[0]}" | md5sum)" ]
check "... and no summary.json there" [ ! -e "elsewhere/${ids[0]}/summary.json" ]
rm "l11/runs/${ids[0]}"
rm -rf l11/pretrain && ln -s "$work/elsewhere" l11/pretrain
"$prog" -q -j 1 -o l11 "$exp" >run11b.txt 2>&1
check "a linked pretrain folder: exit 1" [ $? -eq 1 ]
check "... named" grep -q "l11/pretrain: error: is a symbolic link" run11b.txt

# ---- item 4: merge verifies every run of its shards
"$prog" -q -o s1 --shard 1/2 "$exp" >/dev/null 2>&1
"$prog" -q -o s2 --shard 2/2 "$exp" >/dev/null 2>&1
"$prog" merge m4 s1 s2 s1 s2 >merge4.txt 2>&1
check "merging each shard twice: exit 0" [ $? -eq 0 ]
check "... counts unique runs" grep -q "^merged 4 runs from 4 shard folders into m4 (4 runs found in more than one shard folder, merged once)" merge4.txt
a=$(ls s1/runs | head -1)
b=$(ls s2/runs | head -1)
cp -r s1 s1x
cp "s2/runs/$b/config.yaml" "s1x/runs/$a/config.yaml"
"$prog" merge m4x s1x s2 >merge4x.txt 2>&1
rc=$?
check "a config.yaml that does not match its id: exit 2 (got $rc)" [ $rc -eq 2 ]
check "... says which run it describes" grep -q "s1x/runs/$a/config.yaml:[0-9]*:[0-9]*: error: describes run [0-9a-f]\{16\}, not $a" merge4x.txt
check "... and the refusal writes nothing" [ ! -e m4x ]
# the two repeats of one point: their config.yaml differ only in repeat
# (merge hashed config.yaml with the folder's repeat, so this one went through)
r0=$(grep -l '"repeat": 0' s1/runs/*/summary.json s2/runs/*/summary.json | grep -m1 . | xargs dirname)
label=$(grep -o '"finetune.rules": "[^"]*"' "$r0/summary.json")
r1=$(grep -l '"repeat": 1' s1/runs/*/summary.json s2/runs/*/summary.json | xargs grep -l "$label" | xargs dirname)
check "two repeats of one point found" [ -d "$r0" ] && [ -d "$r1" ]
cp -r s1 s1r && cp -r s2 s2r
cp "$r0/config.yaml" "$(echo "$r1" | sed 's/^s[12]/&r/')/config.yaml"
cp "$r1/config.yaml" "$(echo "$r0" | sed 's/^s[12]/&r/')/config.yaml"
"$prog" merge m4r s1r s2r >merge4r.txt 2>&1
rc=$?
check "config.yaml swapped between two repeats of a point: exit 2 (got $rc)" [ $rc -eq 2 ]
check "... naming the file, line and column of its repeat" \
    grep -q "s[12]r/runs/[0-9a-f]*/config.yaml:[0-9]*:9: error: describes run [0-9a-f]\{16\}, not [0-9a-f]\{16\} .*the config.yaml of another repeat" merge4r.txt
check "... and writes nothing" [ ! -e m4r ]
cp -r s1 s1y
echo '{"run_id": "'$a'", "status": "bogus"}' >"s1y/runs/$a/summary.json"
"$prog" merge m4y s1y s2 >merge4y.txt 2>&1
check "a damaged run in a shard: exit 1" [ $? -eq 1 ]
check "... named with the reason" grep -q "s1y/runs/$a: error: a damaged result, not merged: .*\"status\" is not" merge4y.txt
cp -r s1 s1z
mv "s1z/runs/$a" "s1z/runs/0000000000000000"
sed -i "s/\"$a\"/\"0000000000000000\"/" s1z/runs/0000000000000000/summary.json
"$prog" merge m4z s1z s2 >merge4z.txt 2>&1
check "a run of no run id of the experiment: exit 2" [ $? -eq 2 ]
check "... named" grep -q "s1z/runs/0000000000000000: error: not a run of the merged experiment" merge4z.txt
cp -r s1 s1h
sed -i "s/\"config_sha256\": \"$a[0-9a-f]*\"/\"config_sha256\": \"$a$(printf 'f%.0s' {1..48})\"/" "s1h/runs/$a/summary.json"
"$prog" merge m4h s1h s2 >merge4h.txt 2>&1
check "a summary.json of another configuration (config_sha256): exit 2" [ $? -eq 2 ]
check "... named" grep -q "s1h/runs/$a/summary.json:[0-9]*:[0-9]*: error: \"config_sha256\" is not that of run $a" merge4h.txt
cp -r s2 s2b
sed -i 's/"git_commit": "[^"]*"/"git_commit": "0123456"/' s2b/manifest.json
"$prog" merge m4b s1 s2b >merge4b.txt 2>&1
check "shards of different builds: exit 2" [ $? -eq 2 ]
check "... says which field" grep -q "s2b/manifest.json: error: \"git_commit\" is \"0123456\"" merge4b.txt
cp -r s2 s2c
sed -i 's/"backend": "[^"]*"/"backend": "onednn-elsewhere"/' s2c/manifest.json
"$prog" merge m4c s1 s2c >merge4c.txt 2>&1
check "shards of different backends: exit 2" [ $? -eq 2 ]
check "... says so" grep -q "s2c/manifest.json: error: \"backend\" is \"onednn-elsewhere\"" merge4c.txt

# ---- item 5: a second invocation on a folder in use is refused at once
"$prog" -q -j 1 -o busy "$slow" >busy1.txt 2>&1 &
first=$!
for _ in $(seq 1 200); do
    [ -s busy/.lock ] && break
    sleep 0.05
done
t0=$(date +%s)
"$prog" -q -j 1 -o busy "$slow" >busy2.txt 2>&1
rc=$?
t1=$(date +%s)
check "the second invocation exits 1 (got $rc)" [ $rc -eq 1 ]
check "... at once" [ $((t1 - t0)) -le 2 ]
check "... naming the first one's process id" grep -q "busy/.lock: error: another adamix-run (process $first) is writing this results folder" busy2.txt
"$prog" merge busy s1 s2 >busy3.txt 2>&1
check "merge into the folder in use is refused too" grep -q "process $first" busy3.txt
wait $first
check "the first invocation finishes (exit 0)" [ $? -eq 0 ]
check "... all 4 runs" [ "$(n_complete busy)" -eq 4 ]
"$prog" -q -j 1 -o busy "$slow" >busy4.txt 2>&1
check "once it ended, the folder is free again" grep -q "4 already complete" busy4.txt

# ---- item 14: Ctrl-C reaches the whole process group, workers first or not
# The program is started in a process group of its own with SIGINT at its
# default (as in a terminal; a script's background job would ignore it).
group='setpgrp(0, 0); $SIG{INT} = "DEFAULT"; exec @ARGV or die' # perl, run directly: $! is its pid
long=$work/long.yaml # about 10 s of runs on 2 cores
sed -e 's/epochs: 3/epochs: 400/' "$exp" >"$long"
k=0
for moment in 0.05 0.3 0.7 1.2 2 3 4.5 6; do
    k=$((k + 1))
    perl -e "$group" "$prog" -q -j 2 -o int "$long" >int$k.txt 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do # until perl has made the group and exec'd
        [ "$(readlink /proc/$pid/exe 2>/dev/null)" = "$(readlink -f "$prog")" ] && break
        sleep 0.01
    done
    sleep $moment
    kill -INT -- -$pid 2>/dev/null
    wait $pid
    rc=$?
    done_now=$(n_complete int 2>/dev/null || echo 0)
    [ "$rc" -eq 0 ] && [ "$done_now" -eq 4 ] && break # finished before the signal
    check "Ctrl-C at ${moment}s: exit 130 (got $rc)" [ $rc -eq 130 ]
    check "Ctrl-C at ${moment}s: no run recorded failed" [ "$(find int -name error.txt 2>/dev/null | wc -l)" -eq 0 ]
    check "Ctrl-C at ${moment}s: not reported failed" bash -c "! grep -q 'failed:' int$k.txt"
    check "Ctrl-C at ${moment}s: no temporary file" no_temp_files int
done
check "the interrupts came before the end (got $k)" [ $k -ge 4 ]
"$prog" -q -j 2 -o int "$long" >int-resume.txt 2>&1
check "after the interrupts the sweep resumes (exit 0)" [ $? -eq 0 ]
check "... to all 4 runs" [ "$(n_complete int)" -eq 4 ]

# ... and while the report is drawn: a gnuplot that has begun its files and
# hangs, the Ctrl-C then reaches it and adamix-run, and neither leaves a
# temporary behind (a Ctrl-C at the end of a sweep, once a flaky CI failure)
mkdir -p fakebin
cat >fakebin/gnuplot <<'EOF_GP'
#!/bin/sh
eval "$2" # svg_out='...'; png_out='...'
printf 'partial' >"$svg_out"
printf 'partial' >"$png_out"
exec sleep 30
EOF_GP
chmod +x fakebin/gnuplot
cp -r base rint
cmp_png=$(sha256sum rint/figure.png 2>/dev/null | cut -c1-64)
PATH=$work/fakebin:$PATH perl -e "$group" "$prog" report rint >rint.txt 2>&1 &
pid=$!
for _ in $(seq 1 500); do
    find rint -name 'figure.png.amx-tmp.*' | grep -q . && break
    sleep 0.01
done
check "Ctrl-C while drawing: gnuplot had begun" bash -c "find rint -name 'figure.png.amx-tmp.*' | grep -q ."
kill -INT -- -$pid 2>/dev/null
wait $pid
rc=$?
check "Ctrl-C while drawing: exit 130 (got $rc)" [ $rc -eq 130 ]
check "Ctrl-C while drawing: no temporary file" no_temp_files rint
check "Ctrl-C while drawing: the earlier figure is intact" \
    [ "$(sha256sum rint/figure.png 2>/dev/null | cut -c1-64)" = "$cmp_png" ]

# ---- item 17: every run diverged before its first measure: a figure all the same
if command -v gnuplot >/dev/null; then
    cp -r base div
    for c in div/runs/*/curve.csv; do
        awk -F, -v OFS=, 'NR == 1 { print; next } { for (j = 2; j <= NF; j++) if ($j != "") $j = "nan"; print }' "$c" >t.csv
        mv t.csv "$c"
    done
    sed -i -e 's/"status": "ok"/"status": "diverged"/; s/"best_epoch": [0-9]*/"best_epoch": 0/' \
        -e 's/"\(final_test\|best_test\|final_train\|final_validation\)_error": [-0-9.e+][-0-9.e+]*/"\1_error": null/' \
        div/runs/*/summary.json
    rm -f div/figure.png div/figure.svg
    "$prog" report div >rep17.txt 2>&1
    check "all diverged: report exits 0" [ $? -eq 0 ]
    check "all diverged: no gnuplot failure" bash -c "! grep -q 'gnuplot failed' rep17.txt"
    check "all diverged: the figure is rendered" [ -s div/figure.png ] && [ -s div/figure.svg ]
    check "all diverged: the figure says so" grep -q "every run diverged" div/figure.gp
else
    echo "skipped: gnuplot not installed (the figure of item 17)"
fi

# ---- item 18: -j capped by the cores and by the memory a worker needs
cores=$(getconf _NPROCESSORS_ONLN)
"$prog" -q -j 64 -o j64 "$exp" repeats=1 >j64.txt 2>&1
check "-j 64 runs (exit 0)" [ $? -eq 0 ]
if [ "$cores" -lt 64 ]; then
    check "-j 64 on $cores cores is capped, and says so" grep -q "note: --jobs 64 capped to $cores: the number of cores" j64.txt
    check "... the manifest records the workers used" grep -q "\"jobs\": $cores," j64/manifest.json
fi
# about 33 MiB a worker of this tiny network: 50 MB available take one
ADAMIX_TEST_MEM_AVAILABLE=50000000 "$prog" -q -j 2 -o mem "$exp" repeats=1 >mem.txt 2>&1
check "little memory: runs (exit 0)" [ $? -eq 0 ]
check "little memory: capped to 1 worker, with the estimate" \
    grep -q "note: --jobs 2 capped to 1: each worker may need about 0.03 GiB .* and 0.05 GiB of memory are available" mem.txt
ADAMIX_TEST_MEM_AVAILABLE=50000000000 "$prog" -q -j 1 -o mem2 "$exp" repeats=1 >mem2.txt 2>&1
check "enough memory, -j 1: no note" bash -c "! grep -q 'capped' mem2.txt"

# ---- smaller holes: cache entries, a stale error.txt, shards that disagree
# a damaged cache entry is computed again, and said so once (two runs use it)
cp -r base c1
entry=$(ls c1/cache/pretrain-*.bin | head -1)
printf 'damaged' | dd of="$entry" bs=1 seek=100 conv=notrunc status=none
rm c1/runs/*/summary.json
"$prog" -q -j 1 -o c1 "$exp" >c1.txt 2>&1
check "a damaged cache entry: the sweep runs (exit $?)" grep -q "4 ok, 0 diverged, 0 failed" c1.txt
check "... and says so once, naming it" \
    [ "$(grep -c "warning: $entry: .*computing the pretraining again" c1.txt)" -eq 1 ]
# a cache entry that is a folder: refused before anything runs, saying what to do
cp -r base c2
entry=$(ls c2/cache/pretrain-*.bin | head -1)
rm "$entry" && mkdir "$entry"
rm c2/runs/*/summary.json
"$prog" -q -j 1 -o c2 "$exp" >c2.txt 2>&1
rc=$?
check "a cache entry that is a folder: exit 1 (got $rc)" [ $rc -eq 1 ]
check "... says so and what to do" grep -q "$entry: error: is a folder, expected a pretraining cache file: remove it" c2.txt
check "... before any run" [ "$(n_complete c2)" -eq 0 ]
# an error.txt beside a complete result (the attempt before it failed) goes
cp -r base e1
echo "runs/${ids[0]}/curve.csv: error: disk full" >"e1/runs/${ids[0]}/error.txt"
"$prog" -q -j 1 -o e1 "$exp" >e1.txt 2>&1
check "a stale error.txt: the run is complete" grep -q "4 already complete" e1.txt
check "... and the error.txt is gone" [ ! -e "e1/runs/${ids[0]}/error.txt" ]
# one run in two shard folders with different curves: merged from the first
# listed, and said so (before, silently)
dup=$(grep -l '"best_epoch": 3' s1/runs/*/summary.json | head -1 | xargs dirname | xargs basename)
cp -r s1 s1d
awk -F, -v OFS=, 'NR == 3 { $3 = $3 + 0.5 } { print }' "s1/runs/$dup/curve.csv" >"s1d/runs/$dup/curve.csv"
"$prog" merge md s1 s1d s2 >merged.txt 2>&1
check "the same run with another curve in two shards: merged (exit $?)" [ -e "md/runs/$dup/summary.json" ]
check "... with a warning saying which" \
    grep -q "warning: run $dup is in s1 and in s1d with different curves (from epoch 1 on): merged from s1, the first listed" merged.txt
check "... from the first listed" cmp "s1/runs/$dup/curve.csv" "md/runs/$dup/curve.csv"
"$prog" merge md2 s1 s1 s2 >merged2.txt 2>&1
check "the same curves twice: no warning" not grep -q "different curves" merged2.txt

finish
