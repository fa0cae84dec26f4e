"""DeiT forward throughput: semcom (Swift, OpenBLAS) against PyTorch + timm,
side by side on the same machine, same thread count, float32, random weights.

Runs the two alternately for several rounds (the machines are shared and
noisy), each in a fresh process so that neither's idle threads share the cores
with the other's timing, and prints the median throughput of each and the
median of the per-round ratios.

    make release
    python3 Benchmarks/compare_pytorch.py [--threads 2] [--rounds 5] [--archs tiny,small,base] [--batches 1,16]

Needs torch and timm (development tools only: pip install torch timm).
"""
import argparse
import re
import statistics
import subprocess
import sys

import torch
import timm

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--archs", default="tiny,small,base")
ap.add_argument("--batches", default="1,16")
ap.add_argument("--semcom", default=".build/release/semcom")
ap.add_argument("--verbose", action="store_true", help="print every round")
args = ap.parse_args()


def iters_for(arch, batch):
    work = {"tiny": 1, "small": 4, "base": 14}[arch] * batch
    return max(2, min(20, int(60 / work)))


TORCH_TIMER = """
import statistics, sys, time, torch, timm
name, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
model = timm.create_model(name, pretrained=False).eval()
x = torch.randn(batch, 3, 224, 224)
with torch.inference_mode():
    model(x)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t)
print(batch / statistics.median(times))
"""


def torch_throughput(name, batch, iters):
    out = subprocess.run([sys.executable, "-c", TORCH_TIMER, name, str(batch), str(iters), str(args.threads)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def semcom_throughput(name, batch, iters):
    out = subprocess.run([args.semcom, "bench", "--arch", name, "--batch", str(batch), "--iters", str(iters),
                          "--threads", str(args.threads)], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"throughput: ([0-9.]+) img/s", out.strip().splitlines()[-1]).group(1))



print(f"torch {torch.__version__}, timm {timm.__version__}, threads {args.threads}, rounds {args.rounds}")
print(f"{'model':<24}{'batch':>6}{'PyTorch img/s':>15}{'semcom img/s':>14}{'semcom/PyTorch':>16}")
for arch in args.archs.split(","):
    name = f"deit_{arch}_patch16_224"
    for batch in map(int, args.batches.split(",")):
        iters = iters_for(arch, batch)
        pt, sc, ratios = [], [], []
        for _ in range(args.rounds):
            a = torch_throughput(name, batch, iters)
            b = semcom_throughput(name, batch, iters)
            pt.append(a); sc.append(b); ratios.append(b / a)
            if args.verbose:
                print(f"  round: PyTorch {a:.2f}, semcom {b:.2f} img/s", flush=True)
        print(f"{name:<24}{batch:>6}{statistics.median(pt):>15.2f}{statistics.median(sc):>14.2f}"
              f"{statistics.median(ratios):>16.2f}", flush=True)
