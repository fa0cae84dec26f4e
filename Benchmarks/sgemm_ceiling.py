"""The matrix-product ceiling of this machine: single-precision GEMM rates
(GFLOP/s, 2 m n k flops a product) at a given thread count, of the OpenBLAS
that semcom links (Debian's libopenblas, through ctypes) and of PyTorch's
torch.mm, on a large square product and on DeiT-Base's three linear shapes
at batch 16 (3,152 token rows). A DeiT forward can run no faster than its
FLOPs at these rates; README "Speed" turns them into the highest images/s a
BLAS-based forward could reach. The last lines give that bound per model: its
FLOPs an image at the best OpenBLAS rate measured.

    python3 Benchmarks/sgemm_ceiling.py [--threads 2] [--reps 7]
    OPENBLAS_CORETYPE=Haswell python3 Benchmarks/sgemm_ceiling.py   # another kernel set

Needs numpy and torch (development tools only). Prints the medians of --reps
timed products after one warm-up.
"""
import argparse
import ctypes
import statistics
import time

import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--reps", type=int, default=7)
args = ap.parse_args()

torch.set_num_threads(args.threads)
blas = ctypes.CDLL("libopenblas.so.0")
blas.openblas_set_num_threads(args.threads)
blas.openblas_get_corename.restype = ctypes.c_char_p
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def rate(seconds, m, n, k):
    return 2 * m * n * k / statistics.median(seconds) / 1e9


def openblas(m, n, k):
    """C[m x n] = A[m x k] B[n x k]^T, as a linear layer."""
    a, b = np.random.rand(m, k).astype(np.float32), np.random.rand(n, k).astype(np.float32)
    c = np.zeros((m, n), np.float32)
    f = ctypes.POINTER(ctypes.c_float)
    call = (ROW_MAJOR, NO_TRANS, TRANS, m, n, k, ctypes.c_float(1), a.ctypes.data_as(f), k,
            b.ctypes.data_as(f), k, ctypes.c_float(0), c.ctypes.data_as(f), n)
    blas.cblas_sgemm(*call)
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        blas.cblas_sgemm(*call)
        times.append(time.perf_counter() - t)
    return rate(times, m, n, k)


def pytorch(m, n, k):
    a, b = torch.rand(m, k), torch.rand(n, k)
    with torch.no_grad():
        torch.mm(a, b.t())
        times = []
        for _ in range(args.reps):
            t = time.perf_counter()
            torch.mm(a, b.t())
            times.append(time.perf_counter() - t)
    return rate(times, m, n, k)


MODELS = {"deit_tiny_patch16_224": 192, "deit_small_patch16_224": 384, "deit_base_patch16_224": 768}


def gflop(dim, tokens=197, layers=12):
    """FLOPs of one image's forward, in G (2 per multiply-add): per layer
    12 D^2 T in the linear layers and 2 T^2 D in attention, plus the patch
    embedding (196 patches of 768 values to D)."""
    return 2 * (layers * (12 * dim * dim * tokens + 2 * tokens * tokens * dim) + 196 * 768 * dim) / 1e9


print(f"{args.threads} threads, OpenBLAS kernels {blas.openblas_get_corename().decode()}, torch {torch.__version__}")
print(f"{'m x n x k':>22}  {'OpenBLAS GFLOP/s':>16}  {'torch.mm GFLOP/s':>16}")
rates = []
for name, (m, n, k) in [("square", (3072, 3072, 3072)), ("qkv", (3152, 2304, 768)),
                        ("fc1", (3152, 3072, 768)), ("fc2", (3152, 768, 3072))]:
    rates.append(openblas(m, n, k))
    print(f"{name:>5} {m:>5} x {n:>4} x {k:>4}  {rates[-1]:16.1f}  {pytorch(m, n, k):16.1f}")
best = max(rates)
for name, dim in MODELS.items():
    print(f"{name}: {gflop(dim):.3f} GFLOP an image, at most {best / gflop(dim):.2f} img/s at {best:.1f} GFLOP/s")
