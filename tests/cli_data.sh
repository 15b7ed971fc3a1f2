#!/usr/bin/env bash
# Command-line tests of hostile data files (docs/design.md, "Data"): a gzip
# file whose trailer is cut, one with a flipped byte, garbage or zeros after
# the gzip stream, and paths that are not regular files (a FIFO, a folder,
# /dev/zero). Each must stop the run with exit 3, a message naming the file
# and saying what is wrong, and nothing written; none may hang.
#
# usage: cli_data.sh PROGRAM SOURCE_DIR
set -u
prog=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/adamix-cli-data-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OPENBLAS_NUM_THREADS=1

source "$src/tests/checklib.sh"

exp=$work/smoke.yaml
sed "s|dir: tests/data|dir: $src/tests/data|" "$src/tests/experiments/smoke.yaml" >"$exp"

# 1,000 images of random bytes: deflate stores them, so the gzip file is
# ~785 kB and zlib reads it in several pieces (the case gzread got wrong).
{
    printf '\x00\x00\x08\x03\x00\x00\x03\xe8\x00\x00\x00\x1c\x00\x00\x00\x1c'
    head -c 784000 /dev/urandom
} | gzip -1n >good.gz
len=$(stat -c %s good.gz)
head -c $((len - 8)) good.gz >cut-trailer.gz
head -c $((len - 1)) good.gz >cut-last-byte.gz
cp good.gz flipped.gz
printf '\x55' | dd of=flipped.gz bs=1 seek=$((len / 2)) conv=notrunc status=none
head -c $((len - 8)) flipped.gz >flipped-cut.gz
{ cat good.gz; head -c 1000 /dev/zero; } >zeros-after.gz
{ cat good.gz; echo "not gzip"; } >garbage-after.gz
mkfifo fifo-idx3-ubyte
mkdir folder-idx3-ubyte

# refused NAME PATH WORDS: exit 3, the path and WORDS in the message, no
# results folder, within 30 s.
refused() {
    local name=$1 path=$2 words=$3 rc
    timeout 30 "$prog" -q -o "out-$name" "$exp" "data.train=$path" >"$name.out" 2>"$name.err"
    rc=$?
    check "$name: exit 3 (got $rc: $(head -c 300 "$name.err"))" [ $rc -eq 3 ]
    check "$name: the message names $path" grep -qF "$path: error: " "$name.err"
    check "$name: the message says '$words'" grep -qF "$words" "$name.err"
    check "$name: nothing written" [ ! -e "out-$name" ]
}

"$prog" -q -o out-good "$exp" "data.train=$work/good.gz" >good.out 2>good.err
rc=$?
check "the intact noise file trains (exit $rc: $(head -c 300 good.err))" [ $rc -eq 0 ]

refused cut-trailer "$work/cut-trailer.gz" "truncated gzip data"
refused cut-last-byte "$work/cut-last-byte.gz" "truncated gzip data"
if cmp -s good.gz flipped.gz; then
    echo "skip: the flipped byte was already 0x55"
else
    refused flipped "$work/flipped.gz" "CRC-32"
    refused flipped-cut "$work/flipped-cut.gz" "truncated gzip data"
fi
refused zeros-after "$work/zeros-after.gz" "after the end of the gzip data"
refused garbage-after "$work/garbage-after.gz" "after the end of the gzip data"
refused fifo "$work/fifo-idx3-ubyte" "is a FIFO (named pipe), not a regular file"
refused folder "$work/folder-idx3-ubyte" "is a directory, not a regular file"
if [ -c /dev/zero ]; then
    refused dev-zero /dev/zero "is a character device, not a regular file"
fi

# training images of 14x56 against test images of 28x28: the same 784
# pixels, another shape (accepted before, when only the count was compared)
{
    printf '\x00\x00\x08\x03\x00\x00\x03\xe8\x00\x00\x00\x0e\x00\x00\x00\x38'
    head -c 784000 /dev/urandom
} | gzip -1n >wide.gz
timeout 30 "$prog" -q -o out-wide "$exp" "data.train=$work/wide.gz" >wide.out 2>wide.err
rc=$?
check "14x56 training, 28x28 test images: exit 3 (got $rc)" [ $rc -eq 3 ]
check "... naming the test file and both shapes" \
    grep -q "fixture-t10k-images-idx3-ubyte.gz: error: test images are 28x28 but the training images 14x56" wide.err
check "... nothing written" [ ! -e out-wide ]

finish
