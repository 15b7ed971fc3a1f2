#!/usr/bin/env bash
# get-data.sh NAME [--dir DIR] [--force]: puts a data set by name into a
# folder as the four standard gzipped IDX files (train-images-idx3-ubyte.gz,
# train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
# t10k-labels-idx1-ubyte.gz) with a SOURCE file saying where they came from,
# when, and the SHA-256 of each file (sha256= of the .gz, idx_sha256= of its
# uncompressed content). Any IDX set works by data.dir; these are the ones
# fetched by name:
#
#   mnist          full MNIST into data/mnist: tools/get-mnist.sh (its
#                  header says the sources and checks)
#   mnist-10k      the 10,000-digit set of the first study into
#                  data/mnist-10k: tools/get-mnist.sh --source mnist-10k
#   fashion-mnist  Fashion-MNIST (Xiao, Rasul & Vollgraf 2017: 60,000
#                  training and 10,000 test images of clothing, 28x28, ten
#                  classes; MIT licence) into data/fashion-mnist, from
#                  Debian's package dataset-fashion-mnist (gzipped IDX files
#                  under /usr/share/datasets/fashion-mnist/; tools/setup.sh
#                  installs it). Its .gz files are Debian's recompression (their
#                  MD5s are not the upstream ones), so the check is on the
#                  content: each uncompressed file must have the SHA-256
#                  pinned below, then it is gzipped with `gzip -9n`, so the
#                  files are the same bytes on every machine.
#
# A second run checks the files and copies nothing (--force copies again).
# A failure says which file failed and why, and leaves no partial folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="${1:-}"
[ $# -gt 0 ] && shift
dir=""
force=0
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --force) force=1; shift ;;
    *) echo "usage: tools/get-data.sh mnist|mnist-10k|fashion-mnist [--dir DIR] [--force]" >&2; exit 2 ;;
    esac
done
die() {
    echo "get-data: error: $*" >&2
    exit 1
}

case "$name" in
mnist) exec bash "$ROOT/tools/get-mnist.sh" ${dir:+--dir "$dir"} $([ $force = 1 ] && echo --force) ;;
mnist-10k) exec bash "$ROOT/tools/get-mnist.sh" --source mnist-10k ${dir:+--dir "$dir"} $([ $force = 1 ] && echo --force) ;;
fashion-mnist) ;;
*) echo "usage: tools/get-data.sh mnist|mnist-10k|fashion-mnist [--dir DIR] [--force]" >&2; exit 2 ;;
esac

SRC=/usr/share/datasets/fashion-mnist
dir="${dir:-$ROOT/data/fashion-mnist}"
# SHA-256 of the uncompressed files (their headers: 60,000 / 10,000 items)
declare -A want=(
    [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
    [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
    [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
    [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

check_folder() { # every file there and of the pinned content
    for f in "${files[@]}"; do
        [ -f "$1/$f.gz" ] || return 1
        [ "$(gzip -dc "$1/$f.gz" 2>/dev/null | sha256sum | cut -c1-64)" = "${want[$f]}" ] || return 1
    done
}
if [ $force = 0 ] && check_folder "$dir"; then
    echo "get-data: fashion-mnist already in $dir (checked)"
    exit 0
fi
for f in "${files[@]}"; do
    [ -f "$SRC/$f.gz" ] ||
        die "$SRC/$f.gz not found: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist, or tools/setup.sh)"
done
mkdir -p "$(dirname "$dir")"
tmp="$(mktemp -d "$(dirname "$dir")/.get-data-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
{
    echo "source: Debian package dataset-fashion-mnist $(dpkg-query -W -f='${Version}' dataset-fashion-mnist 2>/dev/null || echo '(version unknown)') ($SRC)"
    echo "data set: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), MIT licence"
    echo "fetched: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$tmp/SOURCE"
for f in "${files[@]}"; do
    gzip -dc "$SRC/$f.gz" >"$tmp/$f" || die "$SRC/$f.gz: not a readable gzip file"
    got=$(sha256sum "$tmp/$f" | cut -c1-64)
    [ "$got" = "${want[$f]}" ] || die "$SRC/$f.gz: its content has SHA-256 $got, expected ${want[$f]}"
    gzip -9n "$tmp/$f"
    echo "$f.gz: sha256=$(sha256sum "$tmp/$f.gz" | cut -c1-64) idx_sha256=${want[$f]}" >>"$tmp/SOURCE"
done
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "get-data: fashion-mnist (60,000 train + 10,000 test) in $dir"
