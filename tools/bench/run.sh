#!/usr/bin/env bash
# The performance benchmarks of docs/performance.md, in one run, with one
# table of medians and ratios at the end (the targets of docs/performance.md, met or not).
#
#   tools/bench/run.sh [--rounds N] [--quick] [--no-torch] [--no-sweep] [--no-memory]
#                      [--build-dir DIR] [--keep DIR]
#
# 1. Fine-tuning and RBM throughput: build/bench_finetune (ours, with its GEMM
#    limit measured in the same process) and tools/bench/torch_autoencoder.py
#    (PyTorch from Debian's python3-torch), interleaved: each round runs ours,
#    PyTorch, ours tuned, PyTorch tuned. "Tuned" = glibc malloc tunables (no
#    mmap/munmap of every large tensor) and OMP_WAIT_POLICY=PASSIVE (OpenMP
#    threads sleep instead of spinning against OpenBLAS's). The table gives the
#    median over the rounds of each side's median.
# 2. Sweep: a fixed sweep of 8 small runs (4 rules x 2 repeats, a 784-256-64-16
#    autoencoder on 4,000 digits of data/mnist, or on the test fixture when
#    data/mnist is missing) with adamix-run -j 1 and -j 2, whole-process wall
#    time, alternating, median of the rounds.
# (At the end, the classifier's step: build/bench_classifier, its images/s
# against its own products' limit on each backend, 1 and 2 threads.)
# 3. Memory: one fine-tuning run of the 784-1000-500-250-30 network under
#    AdaMix (window: epoch, K 1e-4: the reading with rule state), its worker
#    process sampled through /proc: peak private dirty
#    memory (what it wrote and shares with no one; the data stay the
#    parent's) against parameters + gradients + rule state + activations; the
#    private clean pages (library code only this worker has read so far,
#    shared once a second worker maps it) are reported beside it; again at
#    compute.precision bf16 on oneDNN where available, the budget then with
#    the bf16 copies of the weights, activations and batch.
# bench_finetune also measures the oneDNN backend in fp32 and bf16
# and torch_autoencoder.py PyTorch's bf16 autocast; the second table and the
# backend targets come from those. 4. Threads: tools/bench/threads.py
#    samples every thread of adamix-run -j 1 and -j 2 on each backend: never
#    more busy at once than cores. 5. oneDNN's products one at a time, fp32
#    against bf16 (build/bench_matmul, in builds with oneDNN): what this CPU
#    gives bf16 products, and which implementation oneDNN picks.
#
# Builds bench_finetune and adamix-run in the build folder (default build/)
# when missing or stale; installs python3-torch with apt when it is missing
# and installable (skip with --no-torch). Takes about 5 minutes with the
# defaults on 2 cores; --quick (1 round, fewer repetitions) about 2.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$root/build"
rounds=3
reps=5
steps=10
do_torch=1
do_sweep=1
do_memory=1
keep=""

die() {
    echo "bench: error: $*" >&2
    exit 1
}
say() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=${2:?}; shift ;;
    --quick) rounds=1; reps=3 ;;
    --no-torch) do_torch=0 ;;
    --no-sweep) do_sweep=0 ;;
    --no-memory) do_memory=0 ;;
    --build-dir)
        build=${2:?}
        case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
        shift
        ;;
    --keep) keep=${2:?}; shift ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/amx-bench.XXXXXX")
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    tmp_keep=$(cd "$keep" && pwd)
    rmdir "$tmp"
    tmp=$tmp_keep
else
    trap 'rm -rf "$tmp"' EXIT
fi
results="$tmp/results.txt" # lines: side setting round name value
: >"$results"

# ---- build ---------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
    say "configuring $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 ||
        die "cmake failed (see $tmp/cmake.log)"
fi
say "building bench_finetune and adamix-run in $build"
cmake --build "$build" --target bench_finetune adamix-run -j 2 >"$tmp/build.log" 2>&1 ||
    die "build failed: $(tail -5 "$tmp/build.log")"
bench="$build/bench_finetune"
prog="$build/adamix-run"
# oneDNN's products alone, fp32 against bf16 (a target of builds with oneDNN only)
matmul=""
if cmake --build "$build" --target bench_matmul -j 2 >>"$tmp/build.log" 2>&1; then
    matmul="$build/bench_matmul"
fi

# ---- PyTorch ---------------------------------------------------------------
py=/usr/bin/python3
if [ "$do_torch" = 1 ] && ! "$py" -c 'import torch' 2>/dev/null; then
    if apt-cache policy python3-torch 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        say "installing python3-torch with apt (large; --no-torch skips it)"
        sudo_cmd=""
        [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends \
            python3-torch >"$tmp/apt.log" 2>&1 || say "apt-get failed (see $tmp/apt.log)"
    fi
    "$py" -c 'import torch' 2>/dev/null || {
        say "python3-torch unavailable: no PyTorch columns"
        do_torch=0
    }
fi

tuned_env=(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296:glibc.malloc.top_pad=67108864
    OMP_WAIT_POLICY=PASSIVE)
plain_env=(-u GLIBC_TUNABLES -u OMP_WAIT_POLICY)

collect() { # side setting round < output
    awk -v s="$1" -v t="$2" -v r="$3" '$1 == "RESULT" { print s, t, r, $2, $3 }' >>"$results"
}

# CPU time of this shell's children so far (seconds, user + system), and the
# whole machine's busy time from /proc/stat (seconds): their difference over
# a stretch of the run is what other processes took from the cores.
# (`times` must run in this shell, not in a $(...) subshell, to see its children)
child_cpu() {
    times >"$tmp/times"
    cpu_now=$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } print n }' "$tmp/times")
}
machine_busy() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat; }
record_load() { # label t0 cpu0 busy0
    local t1 cpu1 busy1
    t1=$(date +%s.%N)
    child_cpu
    cpu1=$cpu_now
    busy1=$(machine_busy)
    echo "load default 1 $1_others_cores $(awk "BEGIN { print (($busy1 - $4) - ($cpu1 - $3)) / ($t1 - $2) }")" >>"$results"
}

# ---- 1. throughput, interleaved ---------------------------------------------
lt0=$(date +%s.%N)
child_cpu
lc0=$cpu_now
lb0=$(machine_busy)
for r in $(seq 1 "$rounds"); do
    say "round $r of $rounds: adamix-run, PyTorch, adamix-run tuned, PyTorch tuned"
    env "${plain_env[@]}" "$bench" "$reps" "$steps" >"$tmp/ours-default-$r.txt"
    collect ours default "$r" <"$tmp/ours-default-$r.txt"
    if [ "$do_torch" = 1 ]; then
        env "${plain_env[@]}" "$py" "$root/tools/bench/torch_autoencoder.py" --threads 1,2 \
            --reps "$reps" --steps "$steps" >"$tmp/torch-default-$r.txt" 2>&1
        collect torch default "$r" <"$tmp/torch-default-$r.txt"
    fi
    env "${tuned_env[@]}" "$bench" "$reps" "$steps" >"$tmp/ours-tuned-$r.txt"
    collect ours tuned "$r" <"$tmp/ours-tuned-$r.txt"
    if [ "$do_torch" = 1 ]; then
        env "${tuned_env[@]}" "$py" "$root/tools/bench/torch_autoencoder.py" --threads 1,2 \
            --reps "$reps" --steps "$steps" >"$tmp/torch-tuned-$r.txt" 2>&1
        collect torch tuned "$r" <"$tmp/torch-tuned-$r.txt"
    fi
done
record_load throughput "$lt0" "$lc0" "$lb0"

# ---- 2. sweep of 8 runs, -j 1 against -j 2 -----------------------------------
if [ "$do_sweep" = 1 ]; then
    if [ -f "$root/data/mnist/train-images-idx3-ubyte.gz" ] || [ -f "$root/data/mnist/train-images-idx3-ubyte" ]; then
        data="dir: $root/data/mnist
  train_limit: 4000
  test_limit: 1000"
        data_name="data/mnist (4,000 train, 1,000 test)"
    else
        data="dir: $root/tests/data
  train: fixture-images-idx3-ubyte.gz
  test: fixture-t10k-images-idx3-ubyte.gz"
        data_name="tests/data fixture (300 train, 100 test)"
    fi
    cat >"$tmp/sweep-bench.yaml" <<EOF
# written by tools/bench/run.sh: 4 rules x 2 repeats = 8 runs
name: sweep-bench
seed: 8
repeats: 2
data:
  $data
network:
  layers: [784, 256, 64, 16]
pretrain:
  epochs: 3
  batch_size: 100
finetune:
  epochs: 10
  batch_size: 100
  rules:
    all: {rule: constant, eta0: 0.01}
sweep:
  finetune.rules:
    AdaMix:
      weights: {rule: current-gradient, eta0: 0.01, K: 1}
      biases: {rule: power-exponential, eta0: 0.01, r: 10, c: 1}
    AdaGrad: {all: {rule: adagrad, eta0: 0.01, K: 1}}
    AdaDec: {all: {rule: adadec, eta0: 0.01, K: 1}}
    constant: {all: {rule: constant, eta0: 0.01}}
EOF
    lt0=$(date +%s.%N)
    child_cpu
    lc0=$cpu_now
    lb0=$(machine_busy)
    for r in $(seq 1 "$rounds"); do
        for j in 1 2; do
            say "sweep round $r: 8 runs with -j $j"
            out="$tmp/sweep-j$j-r$r"
            t0=$(date +%s.%N)
            "$prog" -q -j "$j" -o "$out" "$tmp/sweep-bench.yaml" >"$out.log" 2>&1 ||
                die "adamix-run failed on the sweep (see $out.log)"
            t1=$(date +%s.%N)
            echo "sweep default $r sweep_j${j}_seconds $(awk "BEGIN { print $t1 - $t0 }")" >>"$results"
        done
    done
    record_load sweep "$lt0" "$lc0" "$lb0"
fi

# ---- 3. peak memory of one fine-tuning worker ---------------------------------
if [ "$do_memory" = 1 ]; then
    if [ -f "$root/data/mnist/train-images-idx3-ubyte.gz" ] || [ -f "$root/data/mnist/train-images-idx3-ubyte" ]; then
        mdata="dir: $root/data/mnist"
    else
        mdata="dir: $root/tests/data
  train: fixture-images-idx3-ubyte.gz
  test: fixture-t10k-images-idx3-ubyte.gz"
    fi
    for prec in fp32 bf16; do
        backend_opt=()
        if [ "$prec" = bf16 ]; then
            "$prog" --version | grep -q '^  onednn *available' || {
                say "memory: no oneDNN here, no bf16 measure"
                continue
            }
            backend_opt=(--backend onednn)
        fi
        cat >"$tmp/memory-bench-$prec.yaml" <<EOF
# written by tools/bench/run.sh: one AdaMix fine-tuning run of the full network
name: memory-bench
seed: 9
data:
  $mdata
network:
  layers: [784, 1000, 500, 250, 30]
pretrain: none
compute: {precision: $prec}
finetune:
  epochs: 2
  batch_size: 100
  rules:
    weights: {rule: current-gradient, eta0: 0.01, K: 1.0e-4, window: epoch}
    biases: {rule: power-exponential, eta0: 0.01, r: 10, c: 1}
EOF
        say "memory: one fine-tuning worker of 784-1000-500-250-30 under AdaMix, $prec"
        "$py" - "$prog" "$tmp/memory-bench-$prec.yaml" "$tmp/memory-out-$prec" "$prec" "${backend_opt[@]}" >>"$results" <<'EOF'
import os, subprocess, sys, time

prog, yaml, out, prec = sys.argv[1:5]
proc = subprocess.Popen([prog, "-q", "-j", "1", *sys.argv[5:], "-o", out, yaml],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def kb(pid, fields, name):
    try:
        with open(f"/proc/{pid}/{name}") as f:
            return sum(int(l.split()[1]) for l in f if l.split(":")[0] in fields)
    except OSError:
        return None

# A worker's own memory is what it writes: Private_Dirty (its heap, slabs,
# stacks, the libraries' data it wrote). Private_Clean adds file pages only it
# has mapped so far: library code read from the page cache (3.4 MiB of
# libdnnl's with onednn), shared as soon as a second worker runs; reported,
# not counted against the budget.
peak_private = peak_dirty = peak_hwm = parent_rss = 0
while proc.poll() is None:
    parent_rss = max(parent_rss, kb(proc.pid, {"VmRSS"}, "status") or 0)
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == proc.pid:
                kids.append(d)
    for k in kids:
        p = kb(k, {"Private_Clean", "Private_Dirty"}, "smaps_rollup")
        dirty = kb(k, {"Private_Dirty"}, "smaps_rollup")
        h = kb(k, {"VmHWM"}, "status")
        if p: peak_private = max(peak_private, p)
        if dirty: peak_dirty = max(peak_dirty, dirty)
        if h: peak_hwm = max(peak_hwm, h)
    time.sleep(0.02)
# the model's own memory: parameters, gradients, AdaMix state (current-gradient
# with window: epoch, the full-MNIST study's best reading, keeps one float per
# weight; with window: step none; power-exponential none), activations at batch 100;
# at bf16 also the 2-byte copies of the weights, the activations and the batch
s = [784, 1000, 500, 250, 30]
shapes = [(s[i], s[i + 1]) for i in range(4)] + [(s[i + 1], s[i]) for i in reversed(range(4))]
weights = sum(a * b for a, b in shapes)
biases = sum(b for _, b in shapes)
acts = 100 * (sum(b for _, b in shapes) + 2 * max(s))
budget = 4 * (2 * (weights + biases) + weights + acts) / 1024
if prec == "bf16":
    budget += 2 * (weights + biases + acts + 100 * s[0]) / 1024
tag = "" if prec == "fp32" else "bf16_"
print(f"memory default 1 {tag}worker_peak_private_kb {peak_private}")
print(f"memory default 1 {tag}worker_peak_dirty_kb {peak_dirty}")
print(f"memory default 1 {tag}worker_peak_rss_kb {peak_hwm}")
print(f"memory default 1 {tag}parent_rss_kb {parent_rss}")
print(f"memory default 1 {tag}model_budget_kb {budget:.0f}")
print(f"memory default 1 {tag}memory_ratio {peak_dirty / budget:.4f}")
print(f"memory default 1 {tag}memory_ratio_with_clean {peak_private / budget:.4f}")
EOF
    done
fi

# ---- 4. threads: never more busy than cores ------------------------------------
if [ -f "$root/data/mnist/train-images-idx3-ubyte.gz" ] || [ -f "$root/data/mnist/train-images-idx3-ubyte" ]; then
    backends=(openblas)
    "$prog" --version | grep -q '^  onednn *available' && backends+=(onednn)
    say "threads: busy threads of adamix-run -j 1 and -j 2 on ${backends[*]}"
    "$py" "$root/tools/bench/threads.py" "$prog" "$root/data/mnist" "${backends[@]}" >"$tmp/threads.txt" ||
        die "tools/bench/threads.py failed"
    collect threads default 1 <"$tmp/threads.txt"
else
    say "threads: no data/mnist, skipped"
fi

# ---- 5. oneDNN's products one at a time, fp32 against bf16 -----------------------
if [ -n "$matmul" ]; then
    say "oneDNN products one at a time: fp32 and bf16"
    OMP_NUM_THREADS=1 "$matmul" >"$tmp/matmul.txt" || die "bench_matmul failed"
fi

# ---- the table ------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cores=$(nproc)
blas=$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || echo "?")
"$py" - "$results" "$cpu" "$cores" "$blas" "$rounds" "$reps" "$steps" "${data_name:-}" <<'EOF'
import statistics, sys
from collections import defaultdict

path, cpu, cores, blas, rounds, reps, steps, data_name = sys.argv[1:9]
vals = defaultdict(list)
text = {}
for line in open(path):
    side, setting, rnd, name, value = line.split()
    try:
        vals[(side, setting, name)].append(float(value))
    except ValueError:
        text[(side, name)] = value

def med(side, setting, name):
    v = vals.get((side, setting, name))
    return statistics.median(v) if v else None

def fmt(x, spec="{:.0f}"):
    return "-" if x is None else spec.format(x)

def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b

print(f"adamix-run benchmarks: {cpu}, {cores} cores, OpenBLAS {blas} "
      f"(core {text.get(('ours', 'corename'), '?')}), "
      f"PyTorch {text.get(('torch', 'torch_version'), 'not run')} "
      f"(core {text.get(('torch', 'torch_corename'), '-')})")
print(f"medians over {rounds} interleaved rounds, each a median of {reps} repetitions "
      f"of {int(steps) * 100} images")
for phase in ("throughput", "sweep"):
    o = med("load", "default", f"{phase}_others_cores")
    if o is not None:
        print(f"other processes used {max(o, 0):.2f} of the {cores} cores on average during the "
              f"{phase} measurements")
print()
print("fine-tuning 784-1000-500-250-30, batch 100, cross-entropy (images/s)")
print(f"{'':28s} {'adamix-run':>10s} {'PyTorch':>8s} {'ratio':>6s}   "
      f"{'tuned:ours':>10s} {'PyTorch':>8s} {'ratio':>6s}")
rows = [("constant, 1 thread", "finetune_constant_1t", "torch_constant_1t"),
        ("AdaMix, 1 thread", "finetune_adamix_1t", "torch_adamix_1t"),
        ("constant, 2 threads", "finetune_constant_2t", "torch_constant_2t"),
        ("AdaMix, 2 threads", "finetune_adamix_2t", "torch_adamix_2t"),
        ("RBM CD-1 784x1000, 1 thread", "rbm_cd1_1t", "torch_rbm_cd1_1t")]
for label, ours, torch in rows:
    od, td = med("ours", "default", ours), med("torch", "default", torch)
    ot, tt = med("ours", "tuned", ours), med("torch", "tuned", torch)
    print(f"{label:28s} {fmt(od):>10s} {fmt(td):>8s} {fmt(ratio(od, td), '{:.2f}'):>6s}   "
          f"{fmt(ot):>10s} {fmt(tt):>8s} {fmt(ratio(ot, tt), '{:.2f}'):>6s}")
for label, name in [("GEMM limit, 1 thread", "gemm_limit_1t"),
                    ("GEMM limit, 2 OpenBLAS threads", "gemm_limit_2t_openblas"),
                    ("RBM GEMM limit, 1 thread", "rbm_gemm_limit_1t"),
                    ("evaluation, 1 thread", "eval_1t"), ("evaluation, 2 threads", "eval_2t")]:
    print(f"{label:28s} {fmt(med('ours', 'default', name)):>10s}")

targets = []
def target(label, value, op, goal):
    ok = None if value is None else (value >= goal if op == ">=" else value <= goal)
    targets.append((label, value, op, goal, ok))

e = lambda n: med("ours", "default", n)
target("fine-tune GEMM efficiency, 1 thread, constant", e("eff_constant_1t"), ">=", 0.90)
target("fine-tune GEMM efficiency, 1 thread, AdaMix", e("eff_adamix_1t"), ">=", 0.88)
target("vs PyTorch default, 1 thread, constant",
       ratio(e("finetune_constant_1t"), med("torch", "default", "torch_constant_1t")), ">=", 1.3)
target("vs PyTorch default, 1 thread, AdaMix",
       ratio(e("finetune_adamix_1t"), med("torch", "default", "torch_adamix_1t")), ">=", 1.3)
for t in (1, 2):
    for rule in ("constant", "adamix"):
        target(f"vs PyTorch tuned, {t} thread{'s' if t > 1 else ''}, {rule}",
               ratio(med("ours", "tuned", f"finetune_{rule}_{t}t"),
                     med("torch", "tuned", f"torch_{rule}_{t}t")), ">=", 1.1)
target("one run, 2 threads / 1 thread, constant", e("speedup_constant_2t"), ">=", 1.6)
target("one run, 2 threads / 1 thread, AdaMix", e("speedup_adamix_2t"), ">=", 1.6)
target("RBM CD-1 GEMM efficiency, 1 thread", e("eff_rbm_1t"), ">=", 0.90)
j1, j2 = med("sweep", "default", "sweep_j1_seconds"), med("sweep", "default", "sweep_j2_seconds")
target("sweep of 8 runs, -j 2 / -j 1 wall time", ratio(j1, j2), ">=", 1.85)
target("worker peak memory / (params+grads+state+acts)", med("memory", "default", "memory_ratio"),
       "<=", 1.25)

print()
sp = lambda n: fmt(med("ours", "default", n), "{:.2f}")
print(f"2 threads / 1 thread: fine-tuning constant {sp('speedup_constant_2t')}, AdaMix "
      f"{sp('speedup_adamix_2t')} (update on one thread: {sp('speedup_adamix_2t_serial_update')}); "
      f"evaluation {sp('speedup_eval_2t')}; RBM CD-1 {sp('speedup_rbm_2t')}")
print(f"GEMM efficiency, 1 thread: evaluation {fmt(med('ours', 'default', 'eff_eval_1t'), '{:.3f}')}")
if j1 is not None:
    print(f"sweep of 8 runs ({data_name}): -j 1 {j1:.1f} s, -j 2 {j2:.1f} s")
m = lambda n: med("memory", "default", n)
if m("model_budget_kb") is not None:
    dirty = m('worker_peak_dirty_kb')
    print(f"fine-tuning worker: peak private dirty {fmt(dirty and dirty / 1024, '{:.1f}')} MiB, "
          f"with its private clean pages {m('worker_peak_private_kb') / 1024:.1f} MiB "
          f"(peak RSS {m('worker_peak_rss_kb') / 1024:.1f} MiB with the shared data), model "
          f"{m('model_budget_kb') / 1024:.1f} MiB (params + grads + AdaMix state + activations)")
print("\ntargets (one backend)")
for label, value, op, goal, ok in targets:
    status = "not run" if ok is None else ("met" if ok else "NOT MET")
    print(f"  {label:50s} {fmt(value, '{:.3f}'):>7s}  {op} {goal:<5}  {status}")

# ---- the compute backends and bf16 ----
tags = [("openblas fp32", ""), ("onednn fp32", "onednn_fp32_"), ("onednn bf16", "onednn_bf16_")]
cols = ("finetune_adamix_1t", "finetune_adamix_2t", "finetune_constant_1t", "eval_1t", "rbm_cd1_1t")
print("\ncompute backends, images/s; the GEMM limits are OpenBLAS's, same process")
print(f"{'':14s} {'AdaMix 1t':>10s} {'AdaMix 2t':>10s} {'const 1t':>10s} {'eval 1t':>10s} "
      f"{'RBM 1t':>10s}   {'tuned 1t':>9s} {'tuned 2t':>9s}")
for label, t in tags:
    cells = [med("ours", "default", t + n) for n in cols]
    tuned = [med("ours", "tuned", t + n) for n in cols[:2]]
    print(f"{label:14s} " + " ".join(f"{fmt(c):>10s}" for c in cells) + "   " +
          " ".join(f"{fmt(c):>9s}" for c in tuned))
for label, name in [("PyTorch fp32", "torch_adamix"), ("PyTorch bf16", "torch_adamix_bf16")]:
    d = [med("torch", "default", f"{name}_{k}t") for k in (1, 2)]
    tn = [med("torch", "tuned", f"{name}_{k}t") for k in (1, 2)]
    print(f"{label:14s} {fmt(d[0]):>10s} {fmt(d[1]):>10s} {'':>10s} {'':>10s} {'':>10s}   "
          f"{fmt(tn[0]):>9s} {fmt(tn[1]):>9s}")
print(f"OpenBLAS limits, 1 thread: step {fmt(e('gemm_limit_1t'))}, evaluation "
      f"{fmt(e('eval_gemm_limit_1t'))}, RBM {fmt(e('rbm_gemm_limit_1t'))}")
print(f"the step's 23 products alone, 1 thread: OpenBLAS {fmt(e('gemm_limit_1t'))}, onednn fp32 "
      f"{fmt(e('onednn_fp32_gemm_limit_1t'))}, onednn bf16 on bf16 copies "
      f"{fmt(e('onednn_bf16_gemm_limit_1t'))} (bf16 / OpenBLAS "
      f"{fmt(ratio(e('onednn_bf16_gemm_limit_1t'), e('gemm_limit_1t')), '{:.2f}')}: what the "
      f"hardware gives bf16 here)")
# what a backend's products alone give against OpenBLAS's (same calls, same
# process): a step, an evaluation or an RBM epoch is its products and more, so
# a ratio target above its ceiling cannot be met on this CPU
print(f"the split step's products (AMX_NN_SPLIT parts) / the unsplit 23, 1 thread: OpenBLAS "
      f"{fmt(ratio(e('split_gemm_limit_1t'), e('gemm_limit_1t')), '{:.3f}')}, onednn fp32 "
      f"{fmt(ratio(e('onednn_fp32_split_gemm_limit_1t'), e('onednn_fp32_gemm_limit_1t')), '{:.3f}')}")
for tag in ("onednn_fp32", "onednn_bf16"):
    if e(tag + "_ceiling_step") is None:
        continue
    print(f"{tag} products / OpenBLAS's (the ceiling of the ratio targets): step "
          f"{fmt(e(tag + '_ceiling_step'), '{:.3f}')}, the split step's own products "
          f"{fmt(e(tag + '_ceiling_split'), '{:.3f}')}, evaluation "
          f"{fmt(e(tag + '_ceiling_eval'), '{:.3f}')}, RBM {fmt(e(tag + '_ceiling_rbm'), '{:.3f}')}; "
          f"AdaMix step / its products {fmt(e(tag + '_eff_split_adamix_1t'), '{:.3f}')}")
isa = text.get(("ours", "onednn_bf16_isa")) or text.get(("ours", "onednn_fp32_isa"))
print(f"oneDNN ISA: {isa or 'oneDNN not available'}")
t12 = []
def target12(label, value, op, goal):
    ok = None if value is None else (value >= goal if op == ">=" else value <= goal)
    t12.append((label, value, op, goal, ok))
tu = lambda side, n: med(side, "tuned", n)
target12("onednn fp32 step / OpenBLAS GEMM limit, 1 thread",
         ratio(e("onednn_fp32_finetune_adamix_1t"), e("gemm_limit_1t")), ">=", 1.10)
target12("onednn fp32 step / PyTorch fp32 tuned, 1 thread",
         ratio(tu("ours", "onednn_fp32_finetune_adamix_1t"), tu("torch", "torch_adamix_1t")),
         ">=", 1.25)
target12("onednn fp32 step, 2 threads / 1 thread",
         ratio(e("onednn_fp32_finetune_adamix_2t"), e("onednn_fp32_finetune_adamix_1t")), ">=", 1.8)
target12("bf16 step / our OpenBLAS fp32 step, 1 thread",
         ratio(e("onednn_bf16_finetune_adamix_1t"), e("finetune_adamix_1t")), ">=", 1.7)
for k in (1, 2):
    target12(f"bf16 step / PyTorch bf16 autocast tuned, {k} thread{'s' if k > 1 else ''}",
             ratio(tu("ours", f"onednn_bf16_finetune_adamix_{k}t"),
                   tu("torch", f"torch_adamix_bf16_{k}t")), ">=", 1.5)
for what, lim, label in (("eval_1t", "eval_gemm_limit_1t", "evaluation"),
                         ("rbm_cd1_1t", "rbm_gemm_limit_1t", "RBM CD-1 epoch")):
    target12(f"{label}, onednn fp32 / OpenBLAS limit, 1 thread",
             ratio(e("onednn_fp32_" + what), e(lim)), ">=", 1.10)
    target12(f"{label}, onednn bf16 / OpenBLAS limit, 1 thread",
             ratio(e("onednn_bf16_" + what), e(lim)), ">=", 1.6)
target12("sweep of 8 runs, -j 2 / -j 1 wall time", ratio(j1, j2), ">=", 1.9)
# oversubscription is threads waiting for a core: the run-queue wait of the
# run's threads against their CPU time, worst case (threads.py; quiet cores)
waits = [v[0] for (side, _, n), v in vals.items() if side == "threads" and n.startswith("threads_wait_")]
# calibrated by spinning processes measured the same way: `cores` of them
# (nothing oversubscribed) and `cores` + 1 (one thread too many); the excess
# over the first, in units of the gap, is threads too many on average
ref, ref_over = (med("threads", "default", n) for n in ("threads_ref_wait", "threads_ref_wait_over"))
worst = max(waits) if waits else None
if worst is not None and ref is not None and ref_over is not None and ref_over > ref:
    print(f"threads: run-queue wait, worst case {100 * worst:.1f}% of the CPU time; spinning "
          f"processes as many as the cores {100 * ref:.1f}%, one more {100 * ref_over:.1f}%")
    excess = (worst - ref) / (ref_over - ref)
else:
    excess = None
target12("busy threads too many, worst case (wait, calibrated)", excess, "<=", 0.25)
busy = [v[0] for (side, _, n), v in vals.items() if side == "threads" and n.startswith("threads_busy_")]
tcores = med("threads", "default", "threads_cores")
if busy and tcores:
    print(f"threads: at most {max(busy):.0f} busy in one 0.2 s interval on {tcores:.0f} cores "
          "(two threads that ran one after the other in an interval both count)")
target12("worker peak memory / model, fp32", med("memory", "default", "memory_ratio"), "<=", 1.25)
target12("worker peak memory / model with the bf16 copies, bf16",
         med("memory", "default", "bf16_memory_ratio"), "<=", 1.25)
print("\ntargets (backends and bf16)")
for label, value, op, goal, ok in t12:
    status = "not run" if ok is None else ("met" if ok else "NOT MET")
    print(f"  {label:56s} {fmt(value, '{:.3f}'):>7s}  {op} {goal:<5}  {status}")

EOF
if [ -n "$matmul" ]; then
    echo
    grep -v '^RESULT' "$tmp/matmul.txt"
fi
# The classifier's step (784-500-500-2000-10) against its own products, each
# backend: its table as bench_classifier prints it (medians of 9 rounds)
if cmake --build "$build" --target bench_classifier -j 2 >>"$tmp/build.log" 2>&1; then
    echo
    "$build/bench_classifier" 9 20 >"$tmp/classifier.txt" 2>&1 && grep -v '^RESULT' "$tmp/classifier.txt" ||
        say "bench_classifier failed: $(tail -2 "$tmp/classifier.txt")"
fi
if [ -n "$keep" ]; then say "raw outputs kept in $tmp"; fi
