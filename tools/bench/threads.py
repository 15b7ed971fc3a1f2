#!/usr/bin/python3
"""Oversubscription check (issue 12, item 3): do our worker pool, OpenBLAS's
threads and oneDNN's OpenMP threads ever keep more threads busy than there
are cores?

Runs adamix-run on a small sweep (2 repeats of a 784-500-250-30 AdaMix run,
5,000 training images; and 1 repeat alone, whose only run gets every core)
for each backend and -j 1, -j 2, and samples every thread of every process
of the run through /proc every 0.2 s: a thread is busy in an interval when
it used more than 10% of it. Prints, per case, the most threads busy at once
and the most threads a process had (idle pool threads count there, not in
"busy"), then "RESULT name value" lines for tools/bench/run.sh.

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


def measure(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    prev, most_busy, most_threads = {}, 0, 0
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
                except OSError:
                    continue
                cpu = (int(f[11]) + int(f[12])) / HZ
                if (pid, t) in prev and cpu - prev[(pid, t)] > 0.02:
                    busy += 1
                prev[(pid, t)] = cpu
        most_busy = max(most_busy, busy)
        time.sleep(0.2)
    if p.returncode != 0:
        sys.exit(f"threads.py: {' '.join(cmd)} failed: {p.stderr.read().decode()[-400:]}")
    return most_busy, most_threads


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
                    busy, threads = measure([prog, "-q", "-j", str(j), "--backend", b, "-o", out,
                                             exp])
                    runs = f"{repeats} run{'s' if repeats > 1 else ''}"
                    print(f"{b:9s} -j {j}, {runs}: at most {busy} threads busy at once "
                          f"({cores} cores), at most {threads} threads in a process")
                    print(f"RESULT threads_busy_{b}_j{j}_runs{repeats} {busy}")
                    print(f"RESULT threads_max_{b}_j{j}_runs{repeats} {threads}")
    print(f"RESULT threads_cores {cores}")


if __name__ == "__main__":
    main()
