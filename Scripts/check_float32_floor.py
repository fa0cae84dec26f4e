"""How close float32 timm itself gets to the float64 references in Tests/Fixtures/vit:
the noise floor that the Swift tolerances (logits 1e-4 relative, attention 1e-5)
must sit above. Run from the repository root: python3 Scripts/check_float32_floor.py
"""
import sys, json, numpy as np, torch
sys.path.insert(0, "Scripts")
import make_vit_fixtures as F
from safetensors.torch import load_file
torch.set_num_threads(1)
for case in ["tiny3", "p196", "wide"]:
    d = f"Tests/Fixtures/vit/{case}"
    c = json.load(open(f"{d}/config.json"))
    m = F.build_model(c); m.load_state_dict(load_file(f"{d}/model.safetensors")); m.eval()
    cap = F.AttnCapture(m)
    x = torch.from_numpy(np.load(f"{d}/inputs.npy")); keep = torch.from_numpy(np.load(f"{d}/keep.npy"))
    lg, A = F.run_full(m, x, cap)
    lk, Ak = F.run_subset(m, x, keep, cap)
    r = lambda n: np.load(f"{d}/{n}")
    print(case, "f32 timm vs f64: logits", np.abs(lg.numpy()-r("logits.npy")).max(), "cls attn", np.abs(A[:,:,:,0].numpy()-r("cls_attention.npy")).max(),
          "subset logits", np.abs(lk.numpy()-r("logits_keep.npy")).max(), "subset attn", np.abs(Ak[:,:,:,0].numpy()-r("cls_attention_keep.npy")).max())
