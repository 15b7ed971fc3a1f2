#!/usr/bin/env bash
# Command-line basics: --help, --version, usage errors, `validate` and the
# messages a newcomer gets for a misspelt key, a negative rate or broken YAML
# (file:line:column, exit 2, nothing written).
#
# usage: cli_basics.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-basics-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

source "$src/tests/checklib.sh"
run() { # run NAME ARGS... : stdout in NAME.out, stderr in NAME.err, status in $rc
    local name=$1
    shift
    "$prog" "$@" >"$name.out" 2>"$name.err"
    rc=$?
}

run help --help
check "--help exits 0" [ $rc -eq 0 ]
check "--help shows the usage" grep -q "usage: adamix-run" help.out
check "--help documents --shard" grep -q -- "--shard I/N" help.out

run version --version
check "--version exits 0" [ $rc -eq 0 ]
check "--version names the commit" grep -qE "commit [0-9a-f]{7,}|commit unknown" version.out
check "--version names the BLAS and its threads" grep -qE "BLAS: OpenBLAS.*thread" version.out

# usage errors, each with a valid experiment file, so only the option is wrong
cp "$src/experiments/examples/quickstart.yaml" good.yaml
run noargs
check "no arguments exits 2" [ $rc -eq 2 ]
run goodshard --dry-run --shard 1/2 good.yaml
check "a valid --shard is accepted (dry run)" [ $rc -eq 0 ]
check "the dry run says which shard" grep -q "in shard 1/2" goodshard.out
run badopt --no-such-option --dry-run good.yaml
check "an unknown option exits 2" [ $rc -eq 2 ]
run badjobs -j zero --dry-run good.yaml
check "-j zero exits 2 with a message" [ $rc -eq 2 ]
check "-j message says what was expected" grep -q "whole number" badjobs.err
run badshard --shard 3/2 --dry-run good.yaml
check "--shard 3/2 exits 2" [ $rc -eq 2 ]
check "--shard message says what was expected" grep -q "1 <= I <= N" badshard.err
run emptyout -o '' --dry-run good.yaml
check "-o '' exits 2" [ $rc -eq 2 ]
SLURM_ARRAY_TASK_ID=abc SLURM_ARRAY_TASK_COUNT=2 "$prog" --dry-run good.yaml >slurm.out 2>slurm.err
check "a malformed SLURM_ARRAY_TASK_ID exits 2" [ $? -eq 2 ]
run nofile does-not-exist.yaml
check "a missing experiment file exits 2" [ $rc -eq 2 ]
check "a missing experiment file is named" grep -q "does-not-exist.yaml" nofile.err

# validate reads the data's headers too: here (a fresh folder) data/mnist is
# missing, which is exit 3; on the committed fixture digits it is valid
run nodata validate good.yaml
check "validate without the data exits 3 (got $rc)" [ $rc -eq 3 ]
check "validate without the data names the file" grep -q "data/mnist/train-images-idx3-ubyte.gz: error: " nodata.err
run valid validate good.yaml "data.dir=$src/tests/data" data.train=fixture-images-idx3-ubyte.gz \
    data.test=fixture-t10k-images-idx3-ubyte.gz data.train_limit=300 data.test_limit=100
check "validate of the quick start on the fixture exits 0 (got $rc: $(head -c 300 valid.err))" [ $rc -eq 0 ]

# a misspelt key: located, with a suggestion
sed 's/^  epochs: 30/  epoch: 30/' good.yaml >typo.yaml
line=$(grep -n "^  epoch: 30" typo.yaml | cut -d: -f1)
run typo validate typo.yaml
check "misspelt key exits 2" [ $rc -eq 2 ]
check "misspelt key is located at line $line col 3" grep -q "typo.yaml:$line:3:" typo.err
check "misspelt key gets a did-you-mean" grep -q "did you mean 'epochs'" typo.err

# a negative rate: located at the value
sed 's/learning_rate: 0.1$/learning_rate: -0.1/' good.yaml >neg.yaml
line=$(grep -n "learning_rate: -0.1" neg.yaml | cut -d: -f1)
run neg validate neg.yaml
check "negative rate exits 2" [ $rc -eq 2 ]
check "negative rate located at line $line" grep -q "neg.yaml:$line:" neg.err
check "negative rate message says what was found" grep -q -- "-0.1" neg.err

# broken YAML
printf 'name: x\nnetwork: {layers: [784, 10\n' >broken.yaml
run broken validate broken.yaml
check "broken YAML exits 2" [ $rc -eq 2 ]
check "broken YAML is located" grep -qE "broken.yaml:[0-9]+:[0-9]+: error" broken.err

# several errors in one pass
sed -e 's/^  epochs: 30/  epoch: 30/' -e 's/learning_rate: 0.1$/learning_rate: -0.1/' good.yaml >two.yaml
run two validate two.yaml
check "two errors are both reported" [ "$(grep -c ': error:' two.err)" -ge 2 ]

# an override with an unknown path is an error that names it
run ov validate good.yaml finetune.epoks=3
check "unknown override path exits 2" [ $rc -eq 2 ]
check "unknown override path is named" grep -q "epoks" ov.err

# running an invalid experiment writes nothing
run inv -o out typo.yaml
check "invalid experiment run exits 2" [ $rc -eq 2 ]
check "invalid experiment run writes nothing" [ ! -e out ] && [ ! -e results ]


# Every committed experiment file loads (--dry-run reads no data) and is
# indexed, one line each, in experiments/README.md.
for f in "$src"/experiments/*/*.yaml "$src"/tests/experiments/*.yaml; do
    rel=${f#"$src"/}
    "$prog" --dry-run "$f" >dry.out 2>&1
    rc=$?
    check "$rel expands (exit $rc: $(head -c 200 dry.out))" [ $rc -eq 0 ]
    case "$rel" in
    experiments/*) link=${rel#experiments/} ;;
    *) link=../$rel ;;
    esac
    check "$rel is indexed in experiments/README.md" grep -qF "]($link)" "$src/experiments/README.md"
done

finish
