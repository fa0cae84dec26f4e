"""The demo's reference answers, computed by timm: Algorithm 1 run directly in
PyTorch on the bundled evaluation split with the bundled models, written per
image to Demo/models/reference.csv, with the headline printed at the end.

    python3 Scripts/demo_reference.py --models Demo/models --images Demo/digits/eval

The Swift test `DemoModelTests` builds a semcom cache over a slice of the same
images and checks every per-image answer against this file, so that a change in
the inference code that shifts accuracy fails the test.

Per image (ImageFolder order, as `semcom cache build` lists it):
- edge_pred, server_pred: argmax of the full-image logits;
- edge_gap, server_gap: top-1 minus top-2 logit (near-ties are skipped by the test);
- min_entropy: -log2 max softmax of the edge (bits);
- k: patches kept by the attention-sum rule, delta 0.97, over the edge's mean
  attention (last layer, class-token row, mean over heads, patch columns,
  renormalised; ties broken by lower patch index);
- boundary: distance of the kept mass to delta, min over the two candidate
  prefixes (near-boundary images are skipped by the test);
- subset_pred: the server's argmax on the class token plus those k patches.
Defaults of semcom: rule sum 0.97, gate min-entropy 0.8. Development tool
(torch, timm, safetensors, Pillow).
"""
import argparse
import json
import os

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from train_demo_models import build, MEAN, STD

DELTA, ETA = 0.97, 0.8


def load_model(folder, name):
    cfg = json.load(open(os.path.join(folder, f"{name}.json")))
    model = build(cfg["embed_dim"], cfg["depth"], cfg["num_heads"])
    model.load_state_dict(load_file(os.path.join(folder, f"{name}.safetensors")))
    model.eval()
    for blk in model.blocks:
        blk.attn.fused_attn = False
    return model


def last_attention(model, x):
    """Logits (N x C) and the last block's attention (N x H x T x T)."""
    seen = []
    h = model.blocks[-1].attn.attn_drop.register_forward_hook(lambda m, i, o: seen.append(o))
    logits = model(x)
    h.remove()
    return logits, seen[0]


def subset_logits(model, x, keep):
    """Class token plus the kept patches (each with its own position embedding)."""
    t = model._pos_embed(model.patch_embed(x))
    t = t[:, [0] + [1 + int(i) for i in keep]]
    return model.forward_head(model.norm(model.blocks(t)))


def gap(logits):
    top = torch.topk(logits, 2, dim=1).values
    return (top[:, 0] - top[:, 1]).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="Demo/models")
    ap.add_argument("--images", default="Demo/digits/eval")
    args = ap.parse_args()
    torch.set_num_threads(2)
    edge, server = load_model(args.models, "edge"), load_model(args.models, "server")
    files = [(c, f) for c in sorted(os.listdir(args.images)) for f in sorted(os.listdir(os.path.join(args.images, c)))]
    rows = []
    with torch.no_grad():
        for start in range(0, len(files), 250):
            chunk = files[start:start + 250]
            pixels = np.stack([np.asarray(Image.open(os.path.join(args.images, c, f)).convert("RGB")) for c, f in chunk])
            x = (torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0 - MEAN) / STD
            e_logits, attn = last_attention(edge, x)
            s_logits = server(x)
            probs = e_logits.softmax(1)
            score = attn[:, :, 0, 1:].mean(1)
            score = score / score.sum(1, keepdim=True)
            for i, (c, f) in enumerate(chunk):
                s = score[i].double().numpy()
                order = sorted(range(len(s)), key=lambda j: (-s[j], j))
                mass = np.cumsum(s[order])
                k = int((mass <= DELTA).sum())
                boundary = min(abs(DELTA - mass[k - 1]) if k > 0 else 1.0, abs(mass[k] - DELTA) if k < len(s) else 1.0)
                sub = subset_logits(server, x[i:i + 1], order[:k])
                rows.append(dict(file=f"{c}/{f}", label=int(c), edge_pred=int(e_logits[i].argmax()),
                                 edge_gap=gap(e_logits[i:i + 1])[0], server_pred=int(s_logits[i].argmax()),
                                 server_gap=gap(s_logits[i:i + 1])[0],
                                 min_entropy=float(-torch.log2(probs[i].max())), k=k, boundary=float(boundary),
                                 subset_pred=int(sub.argmax()), subset_gap=gap(sub)[0]))
    out = os.path.join(args.models, "reference.csv")
    with open(out, "w") as fh:
        fh.write(",".join(rows[0]) + "\n")
        for r in rows:
            fh.write(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r.values()) + "\n")
    n = len(rows)
    sent = [r for r in rows if r["min_entropy"] >= ETA]
    edge_acc = sum(r["edge_pred"] == r["label"] for r in rows) / n
    server_acc = sum(r["server_pred"] == r["label"] for r in rows) / n
    collab = sum((r["subset_pred"] if r["min_entropy"] >= ETA else r["edge_pred"]) == r["label"] for r in rows) / n
    patches = edge.patch_embed.num_patches
    cost = sum(r["k"] for r in sent) / n / patches
    print(f"{n} images -> {out}")
    print(f"edge-only accuracy {edge_acc:.4f}; server-only accuracy {server_acc:.4f}; "
          f"collaborative (sum {DELTA}, min-entropy {ETA}) accuracy {collab:.4f}, "
          f"{len(sent)} sent, communication cost {cost:.4f}")


if __name__ == "__main__":
    main()
