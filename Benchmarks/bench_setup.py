"""Setup shared by the benchmarks that run semcom and PyTorch on the same
ImageNet JPEGs with the same random DeiT weights (not timed)."""
import os
import shutil


def sample_images(sample, folder, count):
    """Copies the JPEGs of `sample` (../shared/imagenet-sample) into `folder`,
    repeated under new names to `count` files (n..._copyK.JPEG keeps the wnid prefix)."""
    os.makedirs(folder)
    files = sorted(f for f in os.listdir(sample) if f.endswith(".JPEG"))
    for i in range(count):
        f = files[i % len(files)]
        shutil.copy(os.path.join(sample, f), os.path.join(folder, f.replace(".JPEG", f"_copy{i // len(files)}.JPEG")))


def random_weights(folder, models):
    """Writes NAME.safetensors in `folder` for each NAME: timm architecture of `models`,
    random weights from timm's initialisation with torch's seed 0 (the same in every run)."""
    import timm
    import torch
    from safetensors.torch import save_file
    for name, arch in models.items():
        torch.manual_seed(0)
        model = timm.create_model(arch, pretrained=False)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(folder, f"{name}.safetensors"))
