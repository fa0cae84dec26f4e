#!/usr/bin/env python3
"""Reference fixtures for the pure-Swift ViT (DeiT) in semcom.

What it makes
-------------
For each of three reduced-size plain ViTs (timm ``VisionTransformer`` with DeiT
settings: class token, no distillation token, pre-norm blocks, LayerNorm eps
1e-6, qkv bias, MLP ratio 4, exact GELU, class-token pooling, no fc_norm), one
reduced-size distilled DeiT (``distilled``: timm ``VisionTransformerDistilled``,
the same settings plus a distillation token and ``head_dist``; eval-mode logits
are the mean of the two heads) and one ViT with register tokens (``reg4``: timm
``VisionTransformer`` with ``reg_tokens=4`` and ``no_embed_class=True``, the
position embedding covering the patches only) it writes
``Tests/Fixtures/vit/<case>/``.  N below is the number of prefix tokens (1;
2 for ``distilled``: class, distillation; 5 for ``reg4``: class, 4 registers):

  config.json               img_size, patch_size, embed_dim, depth, num_heads,
                            num_classes, mlp_ratio
  model.safetensors         timm state_dict, float32 (timm key names)
  model_hf.safetensors      the same weights under Hugging Face transformers
                            ViTForImageClassification key names (q/k/v split)
                            as the Hub's checkpoints store them; for
                            ``distilled`` DeiTForImageClassificationWithTeacher
                            names; none for ``reg4`` (no transformers class)
  model_f16.safetensors     (tiny3 only) timm keys, weights cast to float16
  model_bf16.safetensors    (tiny3 only) timm keys, weights cast to bfloat16
  inputs.npy                B x 3 x S x S float32 network inputs, ~N(0,1)
  logits.npy                B x C
  cls_attention.npy         B x L x H x T  class-token attention rows (T = N+P)
  mean_importance.npy       B x P  last layer, class row, head mean, patch
                            columns (N onwards), renormalised to sum 1
  rollout_importance.npy    B x P  authors' rollout: per head
                            J = (A_L+I)...(A_1+I) (no renormalisation), head
                            mean of J, row 0, patch columns, renormalised
  rollout_textbook.npy      B x P  Abnar & Zuidema: head mean, 0.5A+0.5I,
                            row-normalise, R = M_L...M_1, row 0, patch
                            columns, renormalised
  keep.npy                  B x K int64 kept patch indices (0-based, unsorted)
  logits_keep.npy           B x C  logits when only the N prefix tokens and the
                            kept patch tokens (in keep.npy order, each with its
                            own position embedding) enter the first block
  cls_attention_keep.npy    B x L x H x (N+K) class-token attention rows of
                            the token-subset run

Weights are re-drawn with a fixed seed at a larger scale than timm's init
(q/k scaled up further), so attention is sharp and logits spread out.  Every
reference is computed in float64 (model and float32 inputs cast to double) and
stored as float32.  An independent hand-written numpy float64 forward pass
checks logits and attention; importance measures are checked against a
second, loop-based computation.

How to rerun
------------
From the repository root:

    python3 Scripts/make_vit_fixtures.py

Needs torch, timm, safetensors and numpy; with transformers installed the
transformers-layout files are also loaded by transformers (``from_pretrained``,
which converts the Hub's layout to its own) and must reproduce the logits.
Output is deterministic (fixed seeds, single-threaded torch); rerunning
rewrites byte-identical files.
"""

import hashlib
import json
import math
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import timm
from timm.models.vision_transformer import VisionTransformer
from timm.models.deit import VisionTransformerDistilled
from safetensors.torch import save_file, load_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_ROOT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "vit")

CASES = [
    # name, img_size, patch_size, embed_dim, depth, num_heads, num_classes, batch, seed
    dict(name="tiny3", img_size=32, patch_size=8, embed_dim=48, depth=3,
         num_heads=3, num_classes=10, batch=3, seed=1001),
    dict(name="p196", img_size=224, patch_size=16, embed_dim=32, depth=2,
         num_heads=2, num_classes=12, batch=2, seed=2002),
    dict(name="wide", img_size=48, patch_size=16, embed_dim=64, depth=4,
         num_heads=4, num_classes=7, batch=3, seed=3003),
    dict(name="distilled", img_size=32, patch_size=8, embed_dim=32, depth=2,
         num_heads=2, num_classes=6, batch=2, seed=4004, distilled=True),
    dict(name="reg4", img_size=32, patch_size=8, embed_dim=32, depth=2,
         num_heads=2, num_classes=5, batch=2, seed=5005, reg_tokens=4),
]
MLP_RATIO = 4.0

# Re-initialisation scales (chosen so attention is sharp, logits spread).
LINEAR_GAIN = 1.0        # weight std = LINEAR_GAIN / sqrt(fan_in)
QK_SCALE = 2.0           # extra factor on the q and k rows of qkv
HEAD_GAIN = 2.5          # head weight std = HEAD_GAIN / sqrt(D)
BIAS_STD = 0.1
QK_BIAS_STD = 0.3
LN_W_STD = 0.2
LN_B_STD = 0.1
EMBED_STD = 0.5          # pos_embed, cls_token


def build_model(c):
    distilled = c.get("distilled", False)
    reg = c.get("reg_tokens", 0)
    extra = dict(reg_tokens=reg) if reg else {}
    model = (VisionTransformerDistilled if distilled else VisionTransformer)(
        img_size=c["img_size"], patch_size=c["patch_size"], in_chans=3,
        num_classes=c["num_classes"], global_pool="token",
        embed_dim=c["embed_dim"], depth=c["depth"], num_heads=c["num_heads"],
        mlp_ratio=MLP_RATIO, qkv_bias=True, class_token=True,
        no_embed_class=bool(reg), pre_norm=False, fc_norm=False,
        drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), act_layer=nn.GELU, **extra,
    )
    model.eval()
    return model


@torch.no_grad()
def sharpen_init(model, c, gen):
    """Re-draw every parameter from a fixed generator (float32)."""
    D = c["embed_dim"]

    def randn(shape):
        return torch.randn(shape, generator=gen, dtype=torch.float32)

    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if name in ("cls_token", "pos_embed", "dist_token", "reg_token"):
            v = EMBED_STD * randn(shape)
        elif name == "patch_embed.proj.weight":
            fan_in = shape[1] * shape[2] * shape[3]
            v = LINEAR_GAIN / math.sqrt(fan_in) * randn(shape)
        elif name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
            v = 1.0 + LN_W_STD * randn(shape)
        elif name.endswith("norm1.bias") or name.endswith("norm2.bias") or name == "norm.bias":
            v = LN_B_STD * randn(shape)
        elif name in ("head.weight", "head_dist.weight"):
            v = HEAD_GAIN / math.sqrt(D) * randn(shape)
        elif name.endswith("attn.qkv.weight"):
            v = LINEAR_GAIN / math.sqrt(shape[1]) * randn(shape)
            v[: 2 * D] *= QK_SCALE
        elif name.endswith("attn.qkv.bias"):
            v = BIAS_STD * randn(shape)
            v[: 2 * D] = QK_BIAS_STD * randn((2 * D,))
        elif name.endswith(".weight") and p.dim() == 2:
            v = LINEAR_GAIN / math.sqrt(shape[1]) * randn(shape)
        elif name.endswith(".bias"):
            v = BIAS_STD * randn(shape)
        else:
            raise RuntimeError(f"unexpected parameter {name} {shape}")
        p.copy_(v)


def expected_timm_keys(c):
    depth = c["depth"]
    keys = ["cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
            "norm.weight", "norm.bias", "head.weight", "head.bias"]
    if c.get("distilled"):
        keys += ["dist_token", "head_dist.weight", "head_dist.bias"]
    if c.get("reg_tokens"):
        keys += ["reg_token"]
    for i in range(depth):
        for k in ["norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"]:
            keys += [f"blocks.{i}.{k}.weight", f"blocks.{i}.{k}.bias"]
    return set(keys)


def to_hf(sd, depth, D, distilled=False):
    """timm DeiT/ViT state_dict -> the Hub's transformers keys:
    ViTForImageClassification, or DeiTForImageClassificationWithTeacher when
    distilled."""
    m = "deit" if distilled else "vit"
    hf = {
        f"{m}.embeddings.cls_token": sd["cls_token"],
        f"{m}.embeddings.position_embeddings": sd["pos_embed"],
        f"{m}.embeddings.patch_embeddings.projection.weight": sd["patch_embed.proj.weight"],
        f"{m}.embeddings.patch_embeddings.projection.bias": sd["patch_embed.proj.bias"],
        f"{m}.layernorm.weight": sd["norm.weight"],
        f"{m}.layernorm.bias": sd["norm.bias"],
    }
    if distilled:
        hf["deit.embeddings.distillation_token"] = sd["dist_token"]
        for a, b in (("head", "cls_classifier"), ("head_dist", "distillation_classifier")):
            hf[b + ".weight"] = sd[a + ".weight"]
            hf[b + ".bias"] = sd[a + ".bias"]
    else:
        hf["classifier.weight"] = sd["head.weight"]
        hf["classifier.bias"] = sd["head.bias"]
    for i in range(depth):
        t, h = f"blocks.{i}.", f"{m}.encoder.layer.{i}."
        qw, kw, vw = sd[t + "attn.qkv.weight"].split(D, dim=0)
        qb, kb, vb = sd[t + "attn.qkv.bias"].split(D, dim=0)
        for nm, w, b in (("query", qw, qb), ("key", kw, kb), ("value", vw, vb)):
            hf[h + f"attention.attention.{nm}.weight"] = w
            hf[h + f"attention.attention.{nm}.bias"] = b
        pairs = [("attn.proj", "attention.output.dense"),
                 ("mlp.fc1", "intermediate.dense"),
                 ("mlp.fc2", "output.dense"),
                 ("norm1", "layernorm_before"),
                 ("norm2", "layernorm_after")]
        for a, b in pairs:
            hf[h + b + ".weight"] = sd[t + a + ".weight"]
            hf[h + b + ".bias"] = sd[t + a + ".bias"]
    return {k: v.contiguous().clone() for k, v in hf.items()}


class AttnCapture:
    """Forward hooks on each block's attn_drop: records softmax probabilities."""

    def __init__(self, model):
        self.maps = []
        self.handles = []
        for blk in model.blocks:
            blk.attn.fused_attn = False
            self.handles.append(blk.attn.attn_drop.register_forward_hook(self._hook))

    def _hook(self, module, inputs, output):
        self.maps.append(output.detach().clone())

    def reset(self):
        self.maps = []

    def stacked(self):
        # list of L tensors B x H x T x T -> B x L x H x T x T
        return torch.stack(self.maps, dim=1)


@torch.no_grad()
def run_full(model, x, cap):
    cap.reset()
    logits = model(x)
    return logits, cap.stacked()


@torch.no_grad()
def run_subset(model, x, keep, cap):
    """Prefix tokens + kept patch tokens, with timm's own modules."""
    cap.reset()
    t = model.patch_embed(x)
    t = model._pos_embed(t)          # prepend prefix tokens, add pos_embed
    t = model.patch_drop(t)          # Identity here
    t = model.norm_pre(t)            # Identity (pre_norm=False)
    npt = model.num_prefix_tokens
    prefix = torch.arange(npt, dtype=torch.long).expand(keep.shape[0], npt)
    idx = torch.cat([prefix, keep + npt], dim=1)
    t = torch.gather(t, 1, idx.unsqueeze(-1).expand(-1, -1, t.shape[-1]))
    t = model.blocks(t)
    t = model.norm(t)
    logits = model.forward_head(t)
    return logits, cap.stacked()


# ---------------------------------------------------------------- importance
def importance_torch(A, npt):
    """A: B x L x H x T x T float64, npt prefix tokens.  Returns (mean,
    rollout_authors, rollout_textbook) over the patch columns npt onwards."""
    B, L, H, T, _ = A.shape
    eye = torch.eye(T, dtype=A.dtype)
    # mean attention
    m = A[:, -1, :, 0, :].mean(dim=1)[:, npt:]
    m = m / m.sum(dim=1, keepdim=True)
    # authors' rollout: per head J = (A_L+I)...(A_1+I)
    J = eye.expand(B, H, T, T).clone()
    for l in range(L):
        J = torch.matmul(A[:, l] + eye, J)
    r = J.mean(dim=1)[:, 0, npt:]
    r = r / r.sum(dim=1, keepdim=True)
    # textbook rollout
    R = eye.expand(B, T, T).clone()
    for l in range(L):
        M = 0.5 * A[:, l].mean(dim=1) + 0.5 * eye
        M = M / M.sum(dim=-1, keepdim=True)
        R = torch.matmul(M, R)
    tb = R[:, 0, npt:]
    tb = tb / tb.sum(dim=1, keepdim=True)
    return m, r, tb


def importance_check(A, npt):
    """Second, loop-based numpy computation of the same three measures."""
    A = np.asarray(A, dtype=np.float64)
    B, L, H, T, _ = A.shape
    I = np.eye(T)
    mean, roll, tb = [], [], []
    for b in range(B):
        s = sum(A[b, L - 1, h, 0, npt:] for h in range(H)) / H
        mean.append(s / s.sum())
        Js = []
        for h in range(H):
            mats = [A[b, l, h] + I for l in reversed(range(L))]   # (A_L+I) ... (A_1+I)
            Js.append(mats[0] if L == 1 else np.linalg.multi_dot(mats))
        Jm = sum(Js) / H
        roll.append(Jm[0, npt:] / Jm[0, npt:].sum())
        Ms = []
        for l in reversed(range(L)):
            M = 0.5 * A[b, l].mean(axis=0) + 0.5 * I
            M = M / M.sum(axis=1, keepdims=True)
            Ms.append(M)
        R = Ms[0] if L == 1 else np.linalg.multi_dot(Ms)
        # row 0 via vector-matrix products as a further cross-check
        row = np.zeros(T)
        row[0] = 1.0
        for M in Ms:
            row = row @ M
        assert np.allclose(row, R[0], rtol=1e-12, atol=1e-15)
        tb.append(R[0, npt:] / R[0, npt:].sum())
    return np.array(mean), np.array(roll), np.array(tb)


# ------------------------------------------------ independent numpy forward
_erf = np.vectorize(math.erf)


def np_layernorm(x, w, b, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_forward(sd, c, x, keep=None):
    """Hand-written float64 ViT forward from the float32 state_dict."""
    W = {k: v.double().numpy() for k, v in sd.items()}
    B = x.shape[0]
    p, D, Hh = c["patch_size"], c["embed_dim"], c["num_heads"]
    g = c["img_size"] // p
    # patches in row-major (row, col) order, each flattened as (channel, y, x)
    xp = x.reshape(B, 3, g, p, g, p).transpose(0, 2, 4, 1, 3, 5).reshape(B, g * g, 3 * p * p)
    tok = xp @ W["patch_embed.proj.weight"].reshape(D, -1).T + W["patch_embed.proj.bias"]
    # prefix tokens: class, then distillation or register tokens
    prefix = np.concatenate([W[k][0] for k in ("cls_token", "dist_token", "reg_token") if k in W], axis=0)
    npt = prefix.shape[0]
    prefix = np.broadcast_to(prefix, (B, npt, D))
    if c.get("reg_tokens"):   # no_embed_class: the position embedding covers the patches only
        t = np.concatenate([prefix, tok + W["pos_embed"]], axis=1)
    else:
        t = np.concatenate([prefix, tok], axis=1) + W["pos_embed"]
    if keep is not None:
        t = np.stack([t[b, np.concatenate([np.arange(npt), keep[b] + npt])] for b in range(B)])
    attn_rows = []
    hd = D // Hh
    for i in range(c["depth"]):
        pre = f"blocks.{i}."
        h = np_layernorm(t, W[pre + "norm1.weight"], W[pre + "norm1.bias"])
        qkv = h @ W[pre + "attn.qkv.weight"].T + W[pre + "attn.qkv.bias"]
        q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
        N = t.shape[1]
        q = q.reshape(B, N, Hh, hd).transpose(0, 2, 1, 3)
        k = k.reshape(B, N, Hh, hd).transpose(0, 2, 1, 3)
        v = v.reshape(B, N, Hh, hd).transpose(0, 2, 1, 3)
        s = q @ k.transpose(0, 1, 3, 2) * hd ** -0.5
        s = s - s.max(-1, keepdims=True)
        a = np.exp(s)
        a = a / a.sum(-1, keepdims=True)
        attn_rows.append(a)
        o = (a @ v).transpose(0, 2, 1, 3).reshape(B, N, D)
        t = t + o @ W[pre + "attn.proj.weight"].T + W[pre + "attn.proj.bias"]
        h = np_layernorm(t, W[pre + "norm2.weight"], W[pre + "norm2.bias"])
        h = h @ W[pre + "mlp.fc1.weight"].T + W[pre + "mlp.fc1.bias"]
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        t = t + h @ W[pre + "mlp.fc2.weight"].T + W[pre + "mlp.fc2.bias"]
    t = np_layernorm(t, W["norm.weight"], W["norm.bias"])
    logits = t[:, 0] @ W["head.weight"].T + W["head.bias"]
    if "head_dist.weight" in W:   # eval mode: the mean of both heads
        logits = (logits + t[:, 1] @ W["head_dist.weight"].T + W["head_dist.bias"]) / 2
    return logits, np.stack(attn_rows, axis=1)


# ---------------------------------------------------------------- main
def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr))


def make_case(c):
    name = c["name"]
    out = os.path.join(OUT_ROOT, name)
    os.makedirs(out, exist_ok=True)

    torch.manual_seed(c["seed"])  # timm's own init (overwritten below)
    model = build_model(c)
    gen = torch.Generator().manual_seed(c["seed"])
    sharpen_init(model, c, gen)

    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert set(sd) == expected_timm_keys(c), sorted(set(sd) ^ expected_timm_keys(c))
    assert all(v.dtype == torch.float32 for v in sd.values())

    B, S, D, H, L = c["batch"], c["img_size"], c["embed_dim"], c["num_heads"], c["depth"]
    P = (S // c["patch_size"]) ** 2
    npt = model.num_prefix_tokens
    assert npt == 1 + (1 if c.get("distilled") else 0) + c.get("reg_tokens", 0)
    T = npt + P
    K = (P + 1) // 2

    x32 = torch.randn((B, 3, S, S), generator=gen, dtype=torch.float32)
    keep = torch.stack([torch.randperm(P, generator=gen)[:K] for _ in range(B)]).to(torch.int64)
    for b in range(B):
        kb = keep[b].tolist()
        assert kb != sorted(kb), "keep row happens to be sorted"

    # ---- float64 references
    model64 = build_model(c)
    model64.load_state_dict(sd)
    model64 = model64.double().eval()
    cap = AttnCapture(model64)
    x = x32.double()

    logits, A = run_full(model64, x, cap)
    assert A.shape == (B, L, H, T, T)
    # the hooked path must agree with timm's standard forward
    with torch.no_grad():
        assert torch.allclose(model64.forward_head(model64.forward_features(x)), logits, rtol=0, atol=1e-12)
    logits_k, A_k = run_subset(model64, x, keep, cap)
    assert A_k.shape == (B, L, H, npt + K, npt + K)

    # fused (SDPA) float32 path gives the same logits to float32 accuracy
    model32 = build_model(c)
    model32.load_state_dict(sd)
    with torch.no_grad():
        l32 = model32(x32).double()
    assert torch.allclose(l32, logits, atol=1e-3, rtol=1e-3), (l32 - logits).abs().max()

    # independent numpy forward
    nl, nA = np_forward(sd, c, x.numpy())
    assert np.allclose(nl, logits.numpy(), rtol=1e-10, atol=1e-10), np.abs(nl - logits.numpy()).max()
    assert np.allclose(nA, A.numpy(), rtol=1e-10, atol=1e-12)
    nlk, nAk = np_forward(sd, c, x.numpy(), keep.numpy())
    assert np.allclose(nlk, logits_k.numpy(), rtol=1e-10, atol=1e-10)
    assert np.allclose(nAk, A_k.numpy(), rtol=1e-10, atol=1e-12)

    # order of kept tokens does not change the class output
    perm = torch.stack([torch.randperm(K, generator=torch.Generator().manual_seed(7 + b)) for b in range(B)])
    keep_perm = torch.gather(keep, 1, perm)
    logits_kp, _ = run_subset(model64, x, keep_perm, cap)
    assert torch.allclose(logits_kp, logits_k, rtol=0, atol=1e-10)

    mean_imp, roll_imp, roll_tb = importance_torch(A, npt)
    cm, cr, ct = importance_check(A.numpy(), npt)
    for got, ref in ((mean_imp, cm), (roll_imp, cr), (roll_tb, ct)):
        assert got.shape == (B, P)
        assert np.allclose(got.numpy(), ref, rtol=1e-12, atol=1e-15)
        assert np.allclose(got.sum(1).numpy(), 1.0, atol=1e-12)

    cls_att = A[:, :, :, 0, :]
    cls_att_k = A_k[:, :, :, 0, :]
    assert torch.allclose(cls_att.sum(-1), torch.ones(B, L, H, dtype=torch.float64), atol=1e-12)

    # ---- statistics
    last = cls_att[:, -1]                               # B x H x T
    mx = last.max(dim=-1).values                        # B x H
    stats = {
        "last_layer_cls_max_attn_mean": float(mx.mean()),
        "last_layer_cls_max_attn_min": float(mx.min()),
        "last_layer_cls_max_attn_median": float(mx.median()),
        "frac_heads_max_gt_0.3": float((mx > 0.3).double().mean()),
        "uniform_level_1/T": 1.0 / T,
        "all_layers_cls_max_attn_mean": float(cls_att.max(dim=-1).values.mean()),
        "mean_importance_max": float(mean_imp.max(dim=1).values.mean()),
        "logits_std_per_image_mean": float(logits.std(dim=1).mean()),
        "logits_range_per_image_mean": float((logits.max(1).values - logits.min(1).values).mean()),
        "logits_keep_minus_full_maxabs": float((logits_k - logits).abs().max()),
        "top1_full": logits.argmax(1).tolist(),
        "top1_keep": logits_k.argmax(1).tolist(),
    }

    # ---- write
    cfg = {"img_size": S, "patch_size": c["patch_size"], "embed_dim": D, "depth": L,
           "num_heads": H, "num_classes": c["num_classes"], "mlp_ratio": MLP_RATIO}
    if c.get("distilled"):
        cfg["distilled"] = True
    if c.get("reg_tokens"):
        cfg.update(reg_tokens=c["reg_tokens"], no_embed_class=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=False)
        f.write("\n")

    save_file(sd, os.path.join(out, "model.safetensors"))
    hf = None
    if not c.get("reg_tokens"):
        hf = to_hf(sd, L, D, distilled=c.get("distilled", False))
        assert len(hf) == len(sd) + 4 * L   # qkv weight+bias -> 3 each
        save_file(hf, os.path.join(out, "model_hf.safetensors"))
    if name == "tiny3":
        save_file({k: v.to(torch.float16) for k, v in sd.items()}, os.path.join(out, "model_f16.safetensors"))
        save_file({k: v.to(torch.bfloat16) for k, v in sd.items()}, os.path.join(out, "model_bf16.safetensors"))

    # round trip
    back = load_file(os.path.join(out, "model.safetensors"))
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    if hf is not None:
        verify_hf(hf, c, x32, l32)

    f32 = lambda t: t.to(torch.float32).numpy()
    save_npy(os.path.join(out, "inputs.npy"), x32.numpy())
    save_npy(os.path.join(out, "logits.npy"), f32(logits))
    save_npy(os.path.join(out, "cls_attention.npy"), f32(cls_att))
    save_npy(os.path.join(out, "mean_importance.npy"), f32(mean_imp))
    save_npy(os.path.join(out, "rollout_importance.npy"), f32(roll_imp))
    save_npy(os.path.join(out, "rollout_textbook.npy"), f32(roll_tb))
    save_npy(os.path.join(out, "keep.npy"), keep.numpy().astype(np.int64))
    save_npy(os.path.join(out, "logits_keep.npy"), f32(logits_k))
    save_npy(os.path.join(out, "cls_attention_keep.npy"), f32(cls_att_k))
    return stats


def verify_hf(hf, c, x32, ref_logits):
    """Load the HF-keyed weights with transformers, if it is installed, as it
    loads a Hub checkpoint (``from_pretrained`` on a folder holding them and a
    config; transformers 5 renames the Hub's layout to its own on loading):
    no key may be missing, unexpected or mismatched, and the logits must agree."""
    try:
        import tempfile
        from transformers import (ViTConfig, ViTForImageClassification, DeiTConfig,
                                  DeiTForImageClassificationWithTeacher)
    except Exception:
        print("  (transformers not installed: HF key conversion checked structurally only)")
        return
    distilled = c.get("distilled", False)
    config_class, model_class = ((DeiTConfig, DeiTForImageClassificationWithTeacher) if distilled
                                 else (ViTConfig, ViTForImageClassification))
    cfg = config_class(image_size=c["img_size"], patch_size=c["patch_size"], num_channels=3,
                       hidden_size=c["embed_dim"], num_hidden_layers=c["depth"],
                       num_attention_heads=c["num_heads"],
                       intermediate_size=int(c["embed_dim"] * MLP_RATIO),
                       hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True,
                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                       num_labels=c["num_classes"])
    with tempfile.TemporaryDirectory() as d:
        cfg.save_pretrained(d)
        save_file(hf, os.path.join(d, "model.safetensors"))
        m, info = model_class.from_pretrained(d, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    with torch.no_grad():
        out = m.eval()(pixel_values=x32).logits.double()
    assert torch.allclose(out, ref_logits, atol=1e-3, rtol=1e-3), (out - ref_logits).abs().max()
    print(f"  transformers {model_class.__name__} reproduces the logits")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    print(f"python {sys.version.split()[0]}  torch {torch.__version__}  timm {timm.__version__}  numpy {np.__version__}")
    os.makedirs(OUT_ROOT, exist_ok=True)
    for c in CASES:
        print(f"case {c['name']}:")
        stats = make_case(c)
        for k, v in stats.items():
            print(f"  {k}: {v}")
    total = 0
    print("files:")
    for c in CASES:
        d = os.path.join(OUT_ROOT, c["name"])
        for fn in sorted(os.listdir(d)):
            pth = os.path.join(d, fn)
            sz = os.path.getsize(pth)
            total += sz
            desc = ""
            if fn.endswith(".npy"):
                a = np.load(pth)
                desc = f"{a.dtype} {a.shape}"
            with open(pth, "rb") as f:
                h = hashlib.sha256(f.read()).hexdigest()[:12]
            print(f"  {c['name']}/{fn:28s} {sz:9d} B  {desc}  sha256:{h}")
    print(f"total {total} bytes ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
