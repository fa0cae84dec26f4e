"""Writes Demo/demo-vit.safetensors: a small random ViT in timm's key layout
(224x224 input, 16x16 patches, D=64, 4 blocks, 4 heads, 1000 classes) so that
`make demo` runs end to end with no download. Its predictions mean nothing.
numpy only; deterministic. Run from the repository root:
    python3 Scripts/make_demo_weights.py
"""
import json
import struct

import numpy as np

D, DEPTH, HEADS, CLASSES, PATCH, GRID = 64, 4, 4, 1000, 16, 14
rng = np.random.default_rng(2024)


def normal(*shape, std):
    return (rng.standard_normal(shape) * std).astype(np.float32)


t = {
    "cls_token": normal(1, 1, D, std=0.5),
    "pos_embed": normal(1, 1 + GRID * GRID, D, std=0.5),
    "patch_embed.proj.weight": normal(D, 3, PATCH, PATCH, std=1 / np.sqrt(3 * PATCH * PATCH)),
    "patch_embed.proj.bias": normal(D, std=0.1),
    "norm.weight": 1 + normal(D, std=0.1),
    "norm.bias": normal(D, std=0.1),
    "head.weight": normal(CLASSES, D, std=2 / np.sqrt(D)),
    "head.bias": normal(CLASSES, std=0.1),
}
for i in range(DEPTH):
    p = f"blocks.{i}."
    qkv = normal(3 * D, D, std=1 / np.sqrt(D))
    qkv[: 2 * D] *= 2.5  # sharper attention than a fresh init
    t.update({
        p + "norm1.weight": 1 + normal(D, std=0.1), p + "norm1.bias": normal(D, std=0.1),
        p + "attn.qkv.weight": qkv, p + "attn.qkv.bias": normal(3 * D, std=0.1),
        p + "attn.proj.weight": normal(D, D, std=1 / np.sqrt(D)), p + "attn.proj.bias": normal(D, std=0.1),
        p + "norm2.weight": 1 + normal(D, std=0.1), p + "norm2.bias": normal(D, std=0.1),
        p + "mlp.fc1.weight": normal(4 * D, D, std=1 / np.sqrt(D)), p + "mlp.fc1.bias": normal(4 * D, std=0.1),
        p + "mlp.fc2.weight": normal(D, 4 * D, std=1 / np.sqrt(4 * D)), p + "mlp.fc2.bias": normal(D, std=0.1),
    })

header, offset, blobs = {"__metadata__": {"format": "pt", "num_heads": str(HEADS)}}, 0, []
for name in sorted(t):
    b = np.ascontiguousarray(t[name], dtype="<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t[name].shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open("Demo/demo-vit.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open("Demo/config.json", "w") as f:
    json.dump({"architecture": "demo_vit", "num_heads": HEADS, "embed_dim": D, "depth": DEPTH}, f, indent=1)
print("wrote Demo/demo-vit.safetensors and Demo/config.json")
