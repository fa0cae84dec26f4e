"""Server forwards on patch subsets (the memo fill's unit of work): DeiT-Base
on the class token plus k patches, k = 16, 49, 98, 147, 196, in semcom (Swift,
OpenBLAS) and in PyTorch + timm, side by side on the same machine, same
thread count, float32, random weights and random subsets.

For each k it prints subset forwards per second of
- PyTorch at batch 1 (the authors' loop: one forward per sent image),
- PyTorch at batch 16 (the same, batched by equal k),
- semcom at batch 16 (`semcom bench --keep k`, what `memo fill` runs),
and semcom's ratio to each, and each rate's ratio to its own full-image rate
(k = 196): eq. 9 says the cost grows with the tokens kept. Rounds alternate
the three, each in a fresh process; medians over rounds.

    make release
    python3 Benchmarks/subset_forward.py [--threads 2] [--rounds 3] [--ks 16,49,98,147,196]

Needs torch and timm (development tools only).
"""
import argparse
import re
import statistics
import subprocess
import sys

import timm
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--ks", default="16,49,98,147,196")
ap.add_argument("--arch", default="deit_base_patch16_224")
ap.add_argument("--semcom", default=".build/release/semcom")
args = ap.parse_args()

TORCH_TIMER = """
import statistics, sys, time, torch, timm
name, batch, k, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model = timm.create_model(name, pretrained=False).eval()
g = torch.Generator().manual_seed(1)
x = torch.randn(batch, 3, 224, 224, generator=g)
keep = torch.stack([torch.randperm(196, generator=g)[:k] for _ in range(batch)])

def subset_forward(x, keep):
    # the class token plus the kept patches, each with its own position embedding (as the server does)
    t = model._pos_embed(model.patch_embed(x))
    index = torch.cat([torch.zeros(len(x), 1, dtype=torch.long), keep + 1], 1)
    t = torch.gather(t, 1, index.unsqueeze(-1).expand(-1, -1, t.shape[-1]))
    return model.forward_head(model.norm(model.blocks(t)))

with torch.inference_mode():
    subset_forward(x, keep)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        subset_forward(x, keep)
        times.append(time.perf_counter() - t)
print(batch / statistics.median(times))
"""


def torch_rate(batch, k, iters):
    out = subprocess.run([sys.executable, "-c", TORCH_TIMER, args.arch, str(batch), str(k), str(iters), str(args.threads)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def semcom_rate(batch, k, iters):
    out = subprocess.run([args.semcom, "bench", "--arch", args.arch, "--batch", str(batch), "--keep", str(k), "--iters", str(iters),
                          "--threads", str(args.threads)], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"throughput: ([0-9.]+) img/s", out.strip().splitlines()[-1]).group(1))


ks = [int(k) for k in args.ks.split(",")]
rates = {}
for k in ks:
    iters1, iters16 = max(4, int(20 * 196 / (k + 1))), max(2, int(3 * 196 / (k + 1)))
    runs = {"pt1": [], "pt16": [], "sc16": []}
    for _ in range(args.rounds):
        runs["pt1"].append(torch_rate(1, k, iters1))
        runs["pt16"].append(torch_rate(16, k, iters16))
        runs["sc16"].append(semcom_rate(16, k, iters16))
    rates[k] = {name: statistics.median(v) for name, v in runs.items()}
    rates[k]["ratio1"] = statistics.median(s / p for s, p in zip(runs["sc16"], runs["pt1"]))
    rates[k]["ratio16"] = statistics.median(s / p for s, p in zip(runs["sc16"], runs["pt16"]))
    print(f"k={k} done", file=sys.stderr, flush=True)

full = rates[max(ks)]
print(f"{args.arch}, torch {torch.__version__}, timm {timm.__version__}, threads {args.threads}, rounds {args.rounds}; subset forwards/s (x full-image rate)")
print(f"{'k':>4}{'PyTorch b1':>18}{'PyTorch b16':>18}{'semcom b16':>18}{'semcom/PT b1':>14}{'semcom/PT b16':>15}")
for k in ks:
    r = rates[k]
    cells = [f"{r[n]:8.2f} ({r[n] / full[n]:4.2f}x)" for n in ("pt1", "pt16", "sc16")]
    print(f"{k:>4}" + "".join(f"{c:>18}" for c in cells) + f"{r['ratio1']:>14.2f}{r['ratio16']:>15.2f}")
