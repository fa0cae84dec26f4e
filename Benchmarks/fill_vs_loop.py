"""The memo fill against the authors' per-image loop, side by side on this
machine, same threads: the server answers of a plan computed by
`semcom memo fill --plan` and by a PyTorch loop that does what the authors'
code does for each sent image: a DeiT-Base forward on the class token plus
its k kept patches, batch 1.

Setup (not timed): DeiT-Tiny (edge) and DeiT-Base (server) with random
weights (the same in both), a semcom cache of --images ImageNet JPEGs (the
sample of ../shared/imagenet-sample, repeated), and two plans:
- `default`: the paper's operating point, attention sum 0.97, min-entropy 0.8;
- `fig8`: Fig. 8's fills, attention sums 0.80 to 0.99 (step 0.01) at
  threshold 0 (every image sent), i.e. every distinct k of 20 rules.
(Random weights give near-uniform softmaxes, so every image is sent.)
The loop reads each image once (PIL, torchvision transforms), orders its
patches by the cache's mean attention (descending, ties to the lower
index, as semcom) and runs every (image, k) of the plan at batch 1.
Rounds alternate the two; it prints answers/s and the median ratio.

    make release
    python3 Benchmarks/fill_vs_loop.py [--threads 2] [--rounds 3] [--images 52]

Needs torch, timm, torchvision, safetensors, h5py (development tools only).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--images", type=int, default=52)
ap.add_argument("--semcom", default=".build/release/semcom")
ap.add_argument("--sample", default="../shared/imagenet-sample")
ap.add_argument("--loop-only", nargs=3, metavar=("CACHE", "WEIGHTS", "PLAN"), help=argparse.SUPPRESS)
args = ap.parse_args()


def authors_loop(cache, weights, plan_path):
    """Every (image, k) of the plan, batch 1 (run in its own process by the benchmark)."""
    import h5py
    import numpy as np
    import timm
    import torch
    from PIL import Image
    from safetensors.torch import load_file
    from torchvision import transforms
    torch.set_num_threads(args.threads)
    plan = json.load(open(plan_path))
    with h5py.File(cache, "r") as f:
        root = f.attrs["images_root"]
        root = root.decode() if isinstance(root, bytes) else root
        paths = [os.path.join(root, p.decode() if isinstance(p, bytes) else p) for p in f["images/path"][()]]
        scores = f["runs/tiny/importance/mean"][()]
    model = timm.create_model("deit_base_patch16_224", pretrained=False).eval()
    model.load_state_dict(load_file(os.path.join(weights, "base.safetensors")))
    transform = transforms.Compose([transforms.Resize(248, interpolation=transforms.InterpolationMode.BICUBIC),
                                    transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    ks = {}
    for i, k in zip(plan["images"], plan["ks"]):
        ks.setdefault(i, []).append(k)
    with torch.inference_mode():
        for i, kk in ks.items():
            x = transform(Image.open(paths[i]).convert("RGB")).unsqueeze(0)
            order = np.lexsort((np.arange(196), -scores[i]))  # descending score, ties to the lower index
            tokens = model._pos_embed(model.patch_embed(x))
            for k in kk:
                t = tokens[:, [0] + [1 + int(j) for j in order[:k]]]
                model.forward_head(model.norm(model.blocks(t))).argmax()


if args.loop_only:
    authors_loop(*args.loop_only)
    sys.exit(0)

import timm  # noqa: E402
import torch  # noqa: E402
from bench_setup import random_weights, sample_images  # noqa: E402

work = tempfile.mkdtemp(prefix="semcom-fill-bench-")
try:
    images = os.path.join(work, "images")
    sample_images(args.sample, images, args.images)
    random_weights(work, {"tiny": "deit_tiny_patch16_224", "base": "deit_base_patch16_224"})
    cache = os.path.join(work, "c.h5")
    subprocess.run([args.semcom, "cache", "build", "--images", images, "--out", cache, "--threads", str(args.threads),
                    "--model", f"tiny=deit_tiny_patch16_224:{work}/tiny.safetensors",
                    "--model", f"base=deit_base_patch16_224:{work}/base.safetensors"], check=True, capture_output=True)
    plans = {"default": ["--rule", "sum:0.97", "--gate", "min:0.8"],
             "fig8": ["--rule-range", "0.80:0.99:0.01", "--gate-range", "0"]}
    print(f"DeiT-Base server answers, {args.images} ImageNet JPEGs, {args.threads} threads, torch {torch.__version__}, timm {timm.__version__}")
    for name, options in plans.items():
        plan = os.path.join(work, f"{name}.json")
        subprocess.run([args.semcom, "plan", "--cache", cache, "--edge", "tiny", "--server", "base", "--no-calibrate", "--out", plan] + options,
                       check=True, capture_output=True)
        p = json.load(open(plan))
        n = len(p["ks"])
        rates = {"loop": [], "semcom": []}
        for r in range(args.rounds):
            for which in ("loop", "semcom"):
                shard = os.path.join(work, "m.h5")
                for leftover in (shard, shard + ".lock"):
                    if os.path.exists(leftover):
                        os.remove(leftover)
                cmd = [sys.executable, __file__, "--threads", str(args.threads), "--loop-only", cache, work, plan] if which == "loop" else \
                    [args.semcom, "memo", "fill", "--plan", plan, "--out", shard, "--threads", str(args.threads)]
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                rates[which].append(n / (time.perf_counter() - start))
        ratio = statistics.median(s / l for s, l in zip(rates["semcom"], rates["loop"]))
        print(f"{name}: {n} answers over {len(set(p['images']))} images (mean k {sum(p['ks']) / n:.1f}): authors' loop "
              f"{statistics.median(rates['loop']):.2f} answers/s, semcom memo fill {statistics.median(rates['semcom']):.2f} answers/s, "
              f"semcom/loop {ratio:.2f} (median of {args.rounds} rounds)", flush=True)
finally:
    shutil.rmtree(work, ignore_errors=True)
