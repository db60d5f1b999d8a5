#!/usr/bin/env python3
"""bench/blas_rate.py — GFLOP/s of the machine's BLAS (numpy float32 matmul,
OpenBLAS here) on the GEMM shapes of the benchmark jobs, in the order of
build-bench/fl_gemm_rate; given that program's output, prints both side by
side with their ratio:

    build-bench/fl_gemm_rate > fl.txt && /usr/bin/python3 bench/blas_rate.py fl.txt

On a GPU machine, --torch-cuda times torch.matmul on the GPU (cuBLAS, FP32,
TF32 off as torch's default) instead:

    build-bench/fl_gemm_rate --tuning CACHE/tune/KEY.json > fl.txt
    python3 bench/blas_rate.py --torch-cuda fl.txt
"""
import sys
import time

import numpy as np

LAYERS = [(784, 256), (256, 10), (784, 512), (512, 256)]
BATCHES = [32, 128, 512]


def product(form, m, n, k, rand):
    """A call computing the (m, n) product of one form, on operands made by
    rand(rows, cols) in the layout fl_gemm_rate uses: NN A (m, k) B (k, n);
    TN A stored (k, m); NT B stored (n, k)."""
    if form == "NN":
        a, b = rand(m, k), rand(k, n)
        return lambda: a @ b
    if form == "TN":
        a, b = rand(k, m), rand(k, n)
        return lambda: a.T @ b
    a, b = rand(m, k), rand(n, k)
    return lambda: a @ b.T


def rate(form, m, n, k):
    rng = np.random.default_rng(1)
    f = product(form, m, n, k, lambda r, c: rng.random((r, c), np.float32))
    f()
    f()
    reps, t0 = 0, time.perf_counter()
    while True:
        f()
        reps += 1
        el = time.perf_counter() - t0
        if el > 0.2 and reps >= 5:
            break
    per = el / reps
    return per, 2.0 * m * n * k / per / 1e9


def rate_cuda(form, m, n, k):
    """As rate(), for torch.matmul on the GPU, timed with CUDA events over
    back-to-back calls (the way fl_gemm_rate queues its calls)."""
    import torch
    g = torch.Generator(device="cuda").manual_seed(1)
    f = product(form, m, n, k,
                lambda r, c: torch.rand(r, c, generator=g, device="cuda"))
    for _ in range(3):
        f()
    torch.cuda.synchronize()
    reps, total = 50, 0.0
    while True:
        t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0.record()
        for _ in range(reps):
            f()
        t1.record()
        t1.synchronize()
        total = t0.elapsed_time(t1) / 1e3
        if total > 0.05:
            break
        reps *= 4
    per = total / reps
    return per, 2.0 * m * n * k / per / 1e9


def flatline_rates(path):
    """(form, m, n, k) -> GFLOP/s from fl_gemm_rate's output."""
    out = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 6 and p[0] in ("NN", "TN", "NT"):
                out[(p[0], int(p[1]), int(p[2]), int(p[3]))] = float(p[5])
    return out


def main():
    args = sys.argv[1:]
    cuda = "--torch-cuda" in args
    args = [a for a in args if a != "--torch-cuda"]
    fl = flatline_rates(args[0]) if args else {}
    if cuda:
        import torch
        print("torch", torch.__version__, "matmul on", torch.cuda.get_device_name(),
              "(cuBLAS, FP32; TF32 allowed:", torch.backends.cuda.matmul.allow_tf32,
              ")")
    else:
        print("numpy", np.__version__, "(BLAS: the machine's libblas.so.3)")
    head = "%-4s %5s %5s %5s %10s %9s" % ("form", "m", "n", "k", "us/call", "GFLOP/s")
    print(head + ("  flatline GFLOP/s  flatline/BLAS" if fl else ""))
    for batch in BATCHES:
        for i, o in LAYERS:
            for form, (m, n, k) in (("NN", (batch, o, i)), ("TN", (i, o, batch)),
                                    ("NT", (batch, i, o))):
                per, gf = (rate_cuda if cuda else rate)(form, m, n, k)
                line = "%-4s %5d %5d %5d %10.1f %9.1f" % (form, m, n, k, per * 1e6, gf)
                if (form, m, n, k) in fl:
                    f = fl[(form, m, n, k)]
                    line += "  %16.1f  %13.2f" % (f, f / gf)
                print(line)


if __name__ == "__main__":
    main()
