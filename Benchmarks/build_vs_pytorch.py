"""The cache build against what a user would otherwise run: a PyTorch
pipeline doing the same work, side by side on this machine, same threads.

Both read the same JPEGs (the ImageNet sample of ../shared/imagenet-sample,
repeated to --images files), decode, resize (shorter side 248, bicubic) and
centre-crop to 224, run DeiT-Tiny and DeiT-Base (random weights, the same
in both) with every layer's attention, and write per model what a semcom
cache holds: logits (N x 1000), the last layer's class-token attention
(N x H x 197), and three importance maps (N x 196: head-mean class
attention; the authors' rollout, per head; Abnar and Zuidema's rollout),
the rollouts computed as the class row only, e_0ᵀ(A_L + I)...(A_1 + I), as
semcom does.
- semcom: `semcom cache build --model tiny=... --model base=... --batch 16 --threads T`.
- PyTorch: torchvision transforms on PIL images in a DataLoader with T - 1
  worker processes (at least 1), timm models in inference mode at batch 16
  and T threads, attention caught by hooks, arrays written with h5py.
Rounds alternate the two (fresh processes); it prints images/s of each and
the median of the per-round ratios.

    make release
    python3 Benchmarks/build_vs_pytorch.py [--threads 2] [--rounds 3] [--images 104]

Needs torch, timm, torchvision, safetensors, h5py (development tools only).
"""
import argparse
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
ap.add_argument("--images", type=int, default=104)
ap.add_argument("--semcom", default=".build/release/semcom")
ap.add_argument("--sample", default="../shared/imagenet-sample")
ap.add_argument("--pytorch-only", nargs=3, metavar=("FOLDER", "WEIGHTS", "OUT"), help=argparse.SUPPRESS)
args = ap.parse_args()

MODELS = {"tiny": "deit_tiny_patch16_224", "base": "deit_base_patch16_224"}


def pytorch_pipeline(folder, weights, out):
    """The PyTorch build (run in its own process by the benchmark)."""
    import h5py
    import numpy as np
    import timm
    import torch
    from PIL import Image
    from safetensors.torch import load_file
    from torchvision import transforms
    torch.set_num_threads(args.threads)
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    transform = transforms.Compose([transforms.Resize(248, interpolation=transforms.InterpolationMode.BICUBIC),
                                    transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return transform(Image.open(files[i]).convert("RGB"))

    loader = torch.utils.data.DataLoader(Files(), batch_size=16, num_workers=max(1, args.threads - 1))
    models = {}
    for name, arch in MODELS.items():
        m = timm.create_model(arch, pretrained=False).eval()
        m.load_state_dict(load_file(os.path.join(weights, f"{name}.safetensors")))
        seen = []
        for blk in m.blocks:
            blk.attn.fused_attn = False
            blk.attn.attn_drop.register_forward_hook(lambda mod, i, o, seen=seen: seen.append(o))
        models[name] = (m, seen)
    n = len(files)
    with h5py.File(out, "w") as f:
        ds = {}
        for name, (m, _) in models.items():
            h = m.blocks[0].attn.num_heads
            ds[name] = {"logits": f.create_dataset(f"{name}/logits", (n, 1000), "f4"),
                        "last": f.create_dataset(f"{name}/attention/last", (n, h, 197), "f4"),
                        **{k: f.create_dataset(f"{name}/importance/{k}", (n, 196), "f4") for k in ("mean", "rollout", "textbook")}}
        row = 0
        with torch.inference_mode():
            for x in loader:
                b = len(x)
                for name, (m, seen) in models.items():
                    seen.clear()
                    logits = m(x)
                    att = torch.stack(seen, 1)  # B x L x H x T x T
                    last = att[:, -1, :, 0, :]  # B x H x T
                    mean = last.mean(1)[:, 1:]
                    # the authors' rollout: per head, e_0 (A_L + I) ... (A_1 + I), then the head mean
                    v = torch.zeros(b, att.shape[2], 197)
                    v[:, :, 0] = 1
                    for layer in reversed(range(att.shape[1])):
                        v = v + torch.einsum("bht,bhts->bhs", v, att[:, layer])
                    rollout = v.mean(1)[:, 1:]
                    # Abnar and Zuidema: M = 0.5 mean_h A + 0.5 I, rows renormalised
                    u = torch.zeros(b, 197)
                    u[:, 0] = 1
                    eye = torch.eye(197)
                    for layer in reversed(range(att.shape[1])):
                        mm = 0.5 * att[:, layer].mean(1) + 0.5 * eye
                        mm = mm / mm.sum(-1, keepdim=True)
                        u = torch.einsum("bt,bts->bs", u, mm)
                    textbook = u[:, 1:]
                    d = ds[name]
                    d["logits"][row:row + b] = logits.numpy()
                    d["last"][row:row + b] = last.numpy()
                    for k, v_ in (("mean", mean), ("rollout", rollout), ("textbook", textbook)):
                        d[k][row:row + b] = (v_ / v_.sum(-1, keepdim=True)).numpy()
                row += b


if args.pytorch_only:
    pytorch_pipeline(*args.pytorch_only)
    sys.exit(0)

import timm  # noqa: E402
import torch  # noqa: E402
from bench_setup import random_weights, sample_images  # noqa: E402

work = tempfile.mkdtemp(prefix="semcom-build-bench-")
try:
    images = os.path.join(work, "images")
    sample_images(args.sample, images, args.images)
    random_weights(work, MODELS)
    semcom_cmd = [args.semcom, "cache", "build", "--images", images, "--batch", "16", "--threads", str(args.threads)] + \
        sum([["--model", f"{n}={a}:{work}/{n}.safetensors"] for n, a in MODELS.items()], [])
    torch_cmd = [sys.executable, __file__, "--threads", str(args.threads), "--pytorch-only", images, work]
    rates = {"semcom": [], "pytorch": []}
    for r in range(args.rounds):
        for which in ("pytorch", "semcom"):
            out = os.path.join(work, f"{which}.h5")
            for leftover in (out, out + ".lock"):
                if os.path.exists(leftover):
                    os.remove(leftover)
            cmd = semcom_cmd + ["--out", out] if which == "semcom" else torch_cmd + [out]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            rates[which].append(args.images / (time.perf_counter() - start))
        print(f"round {r + 1}: PyTorch {rates['pytorch'][-1]:.2f} img/s, semcom {rates['semcom'][-1]:.2f} img/s", flush=True)
    ratio = statistics.median(s / p for s, p in zip(rates["semcom"], rates["pytorch"]))
    print(f"cache build of {args.images} ImageNet JPEGs with DeiT-Tiny + DeiT-Base, {args.threads} threads, torch {torch.__version__}, "
          f"timm {timm.__version__}: PyTorch pipeline {statistics.median(rates['pytorch']):.2f} img/s, "
          f"semcom {statistics.median(rates['semcom']):.2f} img/s, semcom/PyTorch {ratio:.2f} (median of {args.rounds} rounds)")
finally:
    shutil.rmtree(work, ignore_errors=True)
