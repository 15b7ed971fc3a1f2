#!/usr/bin/python3
"""Oversubscription check (docs/performance.md): do our worker pool, OpenBLAS's
threads and oneDNN's OpenMP threads ever keep more threads busy than there
are cores?

Runs adamix-run on a small sweep (2 repeats of a 784-500-250-30 AdaMix run,
5,000 training images; and 1 repeat alone, whose only run gets every core)
for each backend and -j 1, -j 2, and samples every thread of every process
of the run through /proc every 0.2 s: a thread is busy in an interval when
it used more than 10% of it. Two threads that ran one after the other
within one interval both count, so a count above the cores in a few
intervals is not yet oversubscription; what is, is threads waiting for a
core: each thread's run-queue wait (/proc/.../schedstat, the time it was
runnable but not running) is summed over the run's working threads (those
with 50 ms or more on a core), against the CPU time they got. Prints, per case, the most threads busy in one interval, the
intervals with more busy threads than cores, the run-queue wait as a share
of the CPU time, and the most threads a process had (idle pool threads
count there, not in "busy"). Then the calibration, measured the same way:
the wait of `cores` processes that only spin (nothing oversubscribed: the
machine's background, this sampler included) and of `cores` + 1 (one busy
thread too many). A run's excess wait over the first, as a fraction of the
gap between the two, is how many threads too many it kept busy on average
(tools/bench/run.sh's target: at most 0.25). Then "RESULT name value" lines
for tools/bench/run.sh. Meaningful on quiet cores only.

    /usr/bin/python3 tools/bench/threads.py ADAMIX_RUN DATA_DIR [BACKEND...]
"""
import os
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")


def children(root):
    pids = [root]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == root:
                pids.append(int(d))
    return pids


def measure(cmd, cores):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    prev, most_busy, most_threads, over = {}, 0, 0, 0
    sched = {}  # (pid, tid) -> (ns on a core, ns waiting for one), the last read
    while p.poll() is None:
        busy = 0
        for pid in children(p.pid):
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            most_threads = max(most_threads, len(tids))
            for t in tids:
                try:
                    f = open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()
                    run_ns, wait_ns = map(int, open(f"/proc/{pid}/task/{t}/schedstat").read().split()[:2])
                except (OSError, ValueError):
                    continue
                cpu = (int(f[11]) + int(f[12])) / HZ
                if (pid, t) in prev and cpu - prev[(pid, t)] > 0.02:
                    busy += 1
                prev[(pid, t)] = cpu
                sched[(pid, t)] = (run_ns, wait_ns)
        most_busy = max(most_busy, busy)
        over += busy > cores
        time.sleep(0.2)
    if p.returncode != 0:
        sys.exit(f"threads.py: {' '.join(cmd)} failed: {p.stderr.read().decode()[-400:]}")
    # threads that computed (50 ms or more on a core): a thread that is made
    # and parks at once (a pool's idle helper) waits about 0.1 s for a core
    # at its start on 2 busy cores while doing nothing, which would swamp the
    # wait of a short run's working threads
    work = [(r, w) for r, w in sched.values() if r >= 50_000_000]
    run = sum(r for r, _ in work)
    wait = sum(w for _, w in work)
    return most_busy, most_threads, over, wait / run if run else 0.0


# k processes that do nothing but spin for a few seconds: the calibration of
# the wait. With k = cores nothing is oversubscribed and what they wait is
# this machine's background (the sampler, the kernel, other processes); with
# k = cores + 1 one busy thread is too many, and each waits about 1 / cores
# of the time it runs.
SPIN = """import os, sys, time
k, secs = int(sys.argv[1]), float(sys.argv[2])
kids = []
for _ in range(k):
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + secs
        while time.monotonic() < end:
            pass
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
"""


def calibrate(cores):
    """The run-queue wait of cores and of cores + 1 spinning processes."""
    return [measure([sys.executable, "-c", SPIN, str(k), "6"], cores)[3] for k in (cores, cores + 1)]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    prog, data = sys.argv[1], sys.argv[2]
    backends = sys.argv[3:] or ["openblas"]
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        for repeats in (2, 1):
            exp = os.path.join(tmp, f"threads-{repeats}.yaml")
            with open(exp, "w") as f:
                f.write(f"""name: threads
seed: 1
repeats: {repeats}
data:
  dir: {data}
  train_limit: 5000
  test_limit: 1000
network:
  layers: [784, 500, 250, 30]
pretrain:
  epochs: 2
finetune:
  epochs: 3
  rules:
    weights: {{rule: current-gradient, eta0: 0.01, K: 1.0e-4, window: epoch}}
    biases: {{rule: power-exponential, eta0: 0.01, r: 10, c: 1}}
""")
            for b in backends:
                for j in (1, 2):
                    out = os.path.join(tmp, f"out-{b}-{j}-{repeats}")
                    busy, threads, over, wait = measure(
                        [prog, "-q", "-j", str(j), "--backend", b, "-o", out, exp], cores)
                    runs = f"{repeats} run{'s' if repeats > 1 else ''}"
                    print(f"{b:9s} -j {j}, {runs}: at most {busy} threads busy in one interval "
                          f"({cores} cores; {over} intervals above), run-queue wait "
                          f"{100 * wait:.1f}% of the CPU time, at most {threads} threads in a "
                          f"process")
                    print(f"RESULT threads_busy_{b}_j{j}_runs{repeats} {busy}")
                    print(f"RESULT threads_over_{b}_j{j}_runs{repeats} {over}")
                    print(f"RESULT threads_wait_{b}_j{j}_runs{repeats} {wait:.4f}")
                    print(f"RESULT threads_max_{b}_j{j}_runs{repeats} {threads}")
    ref, ref_over = calibrate(cores)
    print(f"calibration: {cores} spinning processes wait {100 * ref:.1f}% of their CPU time, "
          f"{cores + 1} wait {100 * ref_over:.1f}% (one busy thread too many)")
    print(f"RESULT threads_ref_wait {ref:.4f}")
    print(f"RESULT threads_ref_wait_over {ref_over:.4f}")
    print(f"RESULT threads_cores {cores}")


if __name__ == "__main__":
    main()
