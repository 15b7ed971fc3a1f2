#!/usr/bin/env bash
# Command-line tests of hostile experiment files: paths that are not regular files or never end, a file over the size
# limit, a UTF-8 byte-order mark, an exclude that leaves no run, too many
# runs, pretraining into units it cannot give, and `validate` checking the
# data (the first layer against the images, data.validation, missing or
# malformed files). Each refusal: the exit status of docs/design.md, a
# message with file:line:col (or the file, for a file that cannot be read),
# nothing written, within a few seconds.
#
# usage: cli_experiment.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-experiment-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

# run NAME ARGS...: bounded in time and memory (the old reader grew without
# bound on /dev/zero); stdout in NAME.out, stderr in NAME.err, status in $rc.
# AddressSanitizer reserves terabytes of address space at start, so a
# sanitizer build runs without the memory bound (its allocator has its own).
vlimit=4000000
if grep -qa __asan_init "$prog"; then vlimit=unlimited; fi
run() {
    local name=$1
    shift
    (ulimit -v $vlimit && exec timeout 20 "$prog" "$@") >"$name.out" 2>"$name.err"
    rc=$?
}
msg() { head -c 400 "$1.err"; }

# the smoke experiment on the committed fixture digits (200 training, 100 test)
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >smoke.yaml

run smoke validate smoke.yaml
check "the smoke experiment validates (exit $rc: $(msg smoke))" [ $rc -eq 0 ]
check "validate says the data was checked" grep -q "ok (4 runs, data checked)" smoke.out

# ---- item 2: not a regular file, or too large
mkfifo fifo.yaml
mkdir folder.yaml
for c in "zero /dev/zero a character device" "urandom /dev/urandom a character device" \
    "fifo fifo.yaml a FIFO (named pipe)" "folder folder.yaml a directory"; do
    set -- $c
    name=$1 path=$2 what="${*:3}"
    run "$name" validate "$path"
    check "$name: exit 2 (got $rc: $(msg "$name"))" [ $rc -eq 2 ]
    check "$name: says it is $what" grep -qF "$path: error: is $what, not a regular file" "$name.err"
    run "run-$name" -q -o "out-$name" "$path"
    check "$name: a run exits 2 and writes nothing" [ $rc -eq 2 ] && [ ! -e "out-$name" ]
done
{
    cat smoke.yaml
    head -c 1048576 /dev/zero | tr '\0' '#'
} >big.yaml
run big validate big.yaml
check "a file over 1 MiB: exit 2 (got $rc: $(msg big))" [ $rc -eq 2 ]
check "a file over 1 MiB: the message says the limit" grep -q "big.yaml: error: the experiment file is [0-9]* bytes: the limit is 1048576 bytes (1 MiB)" big.err

# ---- item 7: a UTF-8 byte-order mark is accepted, its columns unchanged
# (the old parser took it for content: a file starting BOM + "name:" gave
# "did not find expected <document start>"; one starting with a comment
# happened to pass)
grep -v '^#' smoke.yaml >nocomment.yaml
printf '\xef\xbb\xbf' | cat - nocomment.yaml >bom.yaml
run bom validate bom.yaml
check "a UTF-8 BOM is accepted (exit $rc: $(msg bom))" [ $rc -eq 0 ]
printf '\xef\xbb\xbf' | cat - nocomment.yaml | sed 's/^seed: 7/seed: -7/' >bom-bad.yaml
line=$(grep -n "^seed: -7" bom-bad.yaml | cut -d: -f1)
run bombad validate bom-bad.yaml
check "after a BOM, errors keep their columns ($line:7)" grep -q "bom-bad.yaml:$line:7: error: seed must be" bombad.err
printf '\xef\xbb\xbfname: x\n' >bom-first.yaml
run bomfirst validate bom-first.yaml
check "a BOM right before the first key: read as the key name" grep -q "bom-first.yaml:1:1: error: network is required" bomfirst.err

# ---- item 6: an exclude that leaves no run
sed '/^report:/i \\  exclude: [{finetune.rules: AdaMix}, {finetune.rules: constant}]' smoke.yaml >none.yaml
line=$(grep -n "^  exclude:" none.yaml | cut -d: -f1)
run none validate none.yaml
check "no run left: exit 2 (got $rc: $(msg none))" [ $rc -eq 2 ]
check "no run left: located at the exclude ($line:3)" grep -q "none.yaml:$line:3: error: sweep.exclude removes every point" none.err
run runnone -q -o out-none none.yaml
check "no run left: a run exits 2 and writes nothing" [ $rc -eq 2 ] && [ ! -e out-none ]

# ---- item 8: too many runs, refused at once and located at repeats
sed 's/^repeats: 2/repeats: 1000000/' smoke.yaml >many.yaml
line=$(grep -n "^repeats:" many.yaml | cut -d: -f1)
start=$(date +%s%N)
run many validate many.yaml
ms=$((($(date +%s%N) - start) / 1000000))
check "repeats 1000000: exit 2 (got $rc: $(msg many))" [ $rc -eq 2 ]
check "repeats 1000000: located at repeats ($line:10)" grep -q "many.yaml:$line:10: error: the experiment has 2000000 runs (2 sweep points x 1000000 repeats), more than the limit of 20000" many.err
check "repeats 1000000: refused in under 0.5 s (took $ms ms)" [ $ms -lt 500 ]

# ---- item 15: pretraining into relu or tanh units
run relu validate smoke.yaml network.hidden=relu
check "hidden relu with pretraining: exit 2 (got $rc: $(msg relu))" [ $rc -eq 2 ]
check "hidden relu with pretraining: located at the override, says what to do" grep -q "^--set network.hidden:1:1: error: network.hidden relu cannot be pretrained.*or pretrain: none" relu.err
run relunone validate smoke.yaml network.hidden=relu network.code=tanh pretrain=none
check "hidden relu, code tanh without pretraining: valid (exit $rc: $(msg relunone))" [ $rc -eq 0 ]

# ---- items 9, 16: validate checks the data, each problem located
sed 's/layers: \[784, 32, 8\]/layers: [785, 32, 8]/' smoke.yaml >layers.yaml
line=$(grep -n "layers: \[785" layers.yaml | cut -d: -f1)
run layers validate layers.yaml
check "layers against the images: exit 2 (got $rc: $(msg layers))" [ $rc -eq 2 ]
check "layers against the images: located at the first size ($line:12)" grep -q "layers.yaml:$line:12: error: network.layers starts with 785 but the images of .* have 784 pixels" layers.err
run runlayers -q -o out-layers layers.yaml
check "layers against the images: a run says the same" grep -q "layers.yaml:$line:12: error: network.layers starts with 785" runlayers.err

sed 's/^  train_limit: 200/  train_limit: 0\n  validation: 300/' smoke.yaml >valid.yaml
line=$(grep -n "^  validation: 300" valid.yaml | cut -d: -f1)
run valid validate valid.yaml
check "validation >= the images: exit 2 (got $rc: $(msg valid))" [ $rc -eq 2 ]
check "validation >= the images: located at data.validation ($line:15)" grep -q "valid.yaml:$line:15: error: data.validation is 300 but .* gives only 300 training images" valid.err
run runvalid -q -o out-valid valid.yaml
check "validation >= the images: a run says the same, located (exit $rc)" grep -q "valid.yaml:$line:15: error: data.validation is 300" runvalid.err
check "validation >= the images: a run writes nothing" [ ! -e out-valid/runs ]

run missing validate smoke.yaml data.train=no-such-file.gz
check "a missing data file: exit 3 (got $rc: $(msg missing))" [ $rc -eq 3 ]
check "a missing data file: named" grep -q "no-such-file.gz: error: cannot open image file" missing.err
echo "not IDX data" >junk.gz
run junk validate smoke.yaml "data.test=$work/junk.gz"
check "a malformed data file: exit 3 (got $rc: $(msg junk))" [ $rc -eq 3 ]
check "a malformed data file: named, saying what is wrong" grep -q "junk.gz: error: bad magic" junk.err
run limit validate smoke.yaml data.test_limit=101
check "a limit above the file's images: exit 3 (got $rc: $(msg limit))" [ $rc -eq 3 ]
check "a limit above the file's images: says so" grep -q "holds 100 images, fewer than the 101 asked for" limit.err
run fifodata validate smoke.yaml "data.train=$work/fifo.yaml"
check "a FIFO as data in validate: exit 3, no hang (got $rc: $(msg fifodata))" [ $rc -eq 3 ]

finish
