#!/usr/bin/python3
"""PyTorch side of the benchmark: the same work as tools/bench/bench_finetune.c.

The 784-1000-500-250-30 autoencoder unrolled into 8 linear layers (logistic
hidden units, linear code, logistic output), batch 100, cross-entropy from the
logits summed over pixels and averaged over the batch (BCEWithLogitsLoss with
reduction='sum', divided by B), one step = gather a batch of 100 random rows of
the data set, forward, backward, update. Updates: the constant rule
(torch.optim.SGD, lr 0.01) and AdaMix written as a researcher would in
PyTorch (weights: theta -= eta0 g / sqrt(K + g^2); biases:
theta -= eta0 (1 + t/r)^-c g); AdaMix also under torch.autocast("cpu",
dtype=torch.bfloat16), PyTorch's own bf16 mixed precision (the forward and
the loss in autocast, the backward and the update as PyTorch then does them:
the bf16 peer of docs/performance.md). Also one RBM CD-1 epoch on 784 x 1000 (Hinton's
recipe: probabilities for the statistics, sampled hidden states, momentum and
weight decay), as amx_rbm_train_epoch does it.

Run it with Debian's interpreter, which sees Debian's python3-torch:

    /usr/bin/python3 tools/bench/torch_autoencoder.py [--threads 1,2] [--reps 5] [--steps 10]

Threads are set explicitly for every measure: OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS before torch is imported, then torch.set_num_threads and
OpenBLAS's openblas_set_num_threads (Debian's torch does its matrix products
in the system BLAS, OpenBLAS here). Malloc tunables and OMP_WAIT_POLICY are
left to the caller (tools/bench/run.sh runs it with and without them). Prints a
human-readable table, then one "RESULT name value" line per number. Installs
nothing.
"""
import argparse
import ctypes
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--reps", type=int, default=5, help="repetitions per measure (default 5)")
    p.add_argument("--steps", type=int, default=10, help="steps of 100 images per repetition")
    return p.parse_args()


ARGS = parse_args()
THREADS = [int(t) for t in ARGS.threads.split(",")]
os.environ["OMP_NUM_THREADS"] = str(max(THREADS))
os.environ["OPENBLAS_NUM_THREADS"] = str(max(THREADS))

import torch  # noqa: E402  (after the thread variables, on purpose)

SIZES = [784, 1000, 500, 250, 30]
BATCH = 100
N_DATA = 2000


def openblas():
    """The OpenBLAS that torch's matrix products go through, or None."""
    for name in ("libblas.so.3", "libopenblas.so.0"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib
        except (OSError, AttributeError):
            continue
    return None


BLAS = openblas()


def set_threads(n):
    torch.set_num_threads(n)
    if BLAS is not None:
        BLAS.openblas_set_num_threads(n)


def build_model():
    layers = []
    sizes = SIZES + SIZES[-2::-1]  # 784 1000 500 250 30 250 500 1000 784
    n_dense = len(sizes) - 1
    for i in range(n_dense):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        code = i == len(SIZES) - 2
        last = i == n_dense - 1
        if not code and not last:
            layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.weight.normal_(0.0, 0.1)
                m.bias.zero_()
    return model


class AdaMix:
    """weights: eta0 / sqrt(K + g^2) (current gradient); biases: eta0 (1 + t/r)^-c."""

    def __init__(self, model, eta0=0.01, K=1.0, r=10.0, c=1.0):
        self.weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
        self.biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
        self.eta0, self.K, self.r, self.c = eta0, K, r, c
        self.epoch = 0

    def zero_grad(self):
        for p in self.weights + self.biases:
            p.grad = None

    @torch.no_grad()
    def step(self):
        for p in self.weights:
            g = p.grad
            p.addcdiv_(g, g.square().add_(self.K).sqrt_(), value=-self.eta0)
        rate = self.eta0 * (1.0 + self.epoch / self.r) ** (-self.c)
        for p in self.biases:
            p.add_(p.grad, alpha=-rate)


def finetune_rate(rule, threads, data, reps, steps, bf16=False):
    set_threads(threads)
    torch.manual_seed(1)
    model = build_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01) if rule == "constant" else AdaMix(model)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    perm = torch.randperm(N_DATA)
    pos = [0]

    def step():
        if pos[0] + BATCH > N_DATA:
            pos[0] = 0
        x = data[perm[pos[0]:pos[0] + BATCH]]
        pos[0] += BATCH
        opt.zero_grad()
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = loss_fn(model(x), x) / BATCH
        else:
            loss = loss_fn(model(x), x) / BATCH
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append(time.perf_counter() - t0)
    return steps * BATCH / statistics.median(times)


@torch.no_grad()
def rbm_rate(data, reps, rows):
    """One CD-1 epoch over `rows` rows, batch 100, 784 x 1000, 1 thread."""
    set_threads(1)
    torch.manual_seed(2)
    V, H = 784, 1000
    W = torch.randn(V, H) * 0.1
    bv, bh = torch.zeros(V), torch.zeros(H)
    vW, vbv, vbh = torch.zeros(V, H), torch.zeros(V), torch.zeros(H)
    lr, mom, wd = 0.1, 0.9, 0.0002

    def epoch():
        perm = torch.randperm(rows)
        for s in range(0, rows, BATCH):
            v0 = data[perm[s:s + BATCH]]
            B = v0.shape[0]
            h0 = torch.sigmoid(v0 @ W + bh)
            hs = (torch.rand(B, H) < h0).float()
            v1 = torch.sigmoid(hs @ W.t() + bv)
            h1 = torch.sigmoid(v1 @ W + bh)
            gW = v0.t() @ h0
            gW.addmm_(v1.t(), h1, alpha=-1.0)  # B * (positive - negative)
            vW.mul_(mom).add_(gW, alpha=lr / B).add_(W, alpha=-lr * wd)
            vbv.mul_(mom).add_((v0 - v1).sum(0) / B, alpha=lr)
            vbh.mul_(mom).add_((h0 - h1).sum(0) / B, alpha=lr)
            W.add_(vW)
            bv.add_(vbv)
            bh.add_(vbh)

    epoch()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    return rows / statistics.median(times)


def main():
    torch.manual_seed(0)
    data = torch.rand(N_DATA, 784)
    core = BLAS.openblas_get_corename().decode() if BLAS is not None else "unknown"
    results = {}
    for t in THREADS:
        for rule in ("constant", "adamix"):
            results[f"torch_{rule}_{t}t"] = finetune_rate(rule, t, data, ARGS.reps, ARGS.steps)
        results[f"torch_adamix_bf16_{t}t"] = finetune_rate("adamix", t, data, ARGS.reps,
                                                           ARGS.steps, bf16=True)
    results["torch_rbm_cd1_1t"] = rbm_rate(data, ARGS.reps, min(ARGS.steps * BATCH, N_DATA))

    print(f"torch_autoencoder: PyTorch {torch.__version__}, OpenBLAS core {core}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(unset)')}")
    print(f"medians of {ARGS.reps} repetitions of {ARGS.steps * BATCH} images\n")
    for k, v in results.items():
        print(f"{k:34s} {v:10.0f} images/s")
    print(f"\nRESULT torch_version {torch.__version__}")
    print(f"RESULT torch_corename {core}")
    for k, v in results.items():
        print(f"RESULT {k} {v:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
