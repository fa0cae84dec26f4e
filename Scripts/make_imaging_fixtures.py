#!/usr/bin/env python3
"""Make the test fixtures of semcom's Imaging module (Tests/Fixtures/imaging).

Synthetic images (smooth gradients + shapes + noise, deterministic) saved in
every JPEG and PNG flavour that Imaging decodes, and PIL's answers for them:

  <case>.<jpg|png>            the image file
  <case>.rgb.npy              PIL's Image.open(f).convert("RGB"), uint8 H x W x 3
  <case>.crop<S>[_pct<P>].npy the evaluation crop (Resize(int(S / P), BICUBIC) +
                              CenterCrop(S), as torchvision applies them to PIL
                              images), uint8 S x S x 3
  <case>.input<S>.npy         ToTensor + Normalize of that crop, float32 3 x S x S
  resize_<W>x<H>.npy          png_rgb resized with Image.resize((W, H), BICUBIC)
  imagenet_<name>.crop224.png PIL's 224 crop of a real ImageNet JPEG from
                              shared/imagenet-sample (the originals stay there)
  manifest.json               the cases, what each reference is, and versions

Run from the repository root:  python3 Scripts/make_imaging_fixtures.py
Needs numpy and Pillow >= 13 (pip install numpy "pillow>=13"): Pillow 13 made
resize run the vertical pass first when the height shrinks by more than twice
as many pixels as the width, and Imaging follows it. Reruns give identical
files for a given Pillow version (its bundled libjpeg-turbo decodes the JPEGs).
"""
import io
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image, features

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "imaging")
IMAGENET = os.path.join(ROOT, "..", "shared", "imagenet-sample")
IMAGENET_FILES = [
    "n01440764_tench.JPEG",                        # 500 x 375 RGB, the typical case
    "n02096051_Airedale.JPEG",                     # 500 x 330 grayscale JPEG
    "n02977058_cash_machine.JPEG",                 # 909 x 768, downscale by 3
]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------- torchvision

def eval_crop(image, size, crop_pct):
    """Resize(int(size / crop_pct)) + CenterCrop(size) on a PIL image, as
    torchvision.transforms.functional does it (torchvision is not needed)."""
    scale = int(size / crop_pct)
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = scale, int(scale * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    image = image.resize((new_w, new_h), Image.BICUBIC)
    assert size <= new_w and size <= new_h, "fixtures never need CenterCrop's padding"
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_input(crop):
    """ToTensor + Normalize in float32, as torch computes them: 3 x S x S."""
    x = np.asarray(crop, dtype=np.uint8).astype(np.float32) / np.float32(255)
    mean = np.array(MEAN, dtype=np.float32)
    std = np.array(STD, dtype=np.float32)
    return np.ascontiguousarray(((x - mean) / std).transpose(2, 0, 1))


# ---------------------------------------------------------------- synthetic images

def synthetic(w, h, seed, noise=6.0):
    """Gradients, a disc, a hard-edged bright bar and a checker patch (to make the
    bicubic kernel overshoot and clip), plus Gaussian noise: uint8 H x W x 3."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / max(w - 1, 1), y / max(h - 1, 1)
    img = np.stack([255 * u, 255 * v, 255 * (1 - u) * (0.5 + 0.5 * np.sin(6 * v))], axis=-1)
    cx, cy, r = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7), min(w, h) * 0.25
    disc = (x - cx) ** 2 + (y - cy) ** 2 < r * r
    img[disc] = rng.uniform(0, 255, size=3)
    bar = (x > w * 0.1) & (x < w * 0.1 + max(2, w // 12)) & (y > h * 0.2)
    img[bar] = 255
    checker = ((x // 2 + y // 2) % 2 == 0) & (x > w * 0.6) & (y < h * 0.3)
    img[checker] = 0
    img += rng.normal(0, noise, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def gray(rgb):
    return np.asarray(Image.fromarray(rgb).convert("L"))


def alpha_ramp(w, h, seed):
    """Alpha from fully transparent to opaque, with noise: uint8 H x W."""
    rng = np.random.default_rng(seed)
    a = np.linspace(0, 255, w)[None, :] + rng.normal(0, 20, size=(h, w))
    a[: h // 4] = 0
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- a small PNG writer
# Pillow cannot write 16-bit RGB(A), 16-bit gray+alpha, interlaced PNGs or a
# chosen gAMA, so those are written here: IHDR, optional chunks, one IDAT
# (filters cycling through None, Sub, Up, Average, Paeth row by row), IEND.

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filter_rows(rows, bpp):
    """rows: uint8 n x rowbytes -> filtered bytes, filter type (row index % 5)."""
    out = bytearray()
    prev = np.zeros(rows.shape[1], dtype=np.int32)
    for i, row in enumerate(rows.astype(np.int32)):
        kind = i % 5
        left = np.concatenate([np.zeros(bpp, np.int32), row[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        if kind == 0:
            f = row
        elif kind == 1:
            f = row - left
        elif kind == 2:
            f = row - prev
        elif kind == 3:
            f = row - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            f = row - pred
        out.append(kind)
        out += (f & 0xFF).astype(np.uint8).tobytes()
        prev = row
    return bytes(out)


def write_png(path, samples, color_type, bit_depth, interlace=False, chunks=()):
    """samples: H x W x C uint8 or uint16 (written big-endian)."""
    h, w, c = samples.shape
    raw = samples.astype(">u2") if bit_depth == 16 else samples.astype(np.uint8)
    bpp = max(1, c * bit_depth // 8)
    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = raw[y0::dy, x0::dx]
            if sub.size:
                data += _filter_rows(sub.reshape(sub.shape[0], -1).view(np.uint8), bpp)
    else:
        data = _filter_rows(raw.reshape(h, -1).view(np.uint8), bpp)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr))
        for kind, payload in chunks:
            f.write(_chunk(kind, payload))
        f.write(_chunk(b"IDAT", zlib.compress(data, 9)) + _chunk(b"IEND", b""))


# ---------------------------------------------------------------- the cases

def jpeg_bytes(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def make_ycck(rgb, k):
    """A YCCK JPEG (Adobe APP14 transform 2), as Photoshop writes CMYK. Pillow
    writes CMYK with transform 0 only, so: store the planes of an inverted-CMYK
    JPEG as Y, Cb, Cr (of the picture) and K, then mark it transform 2. Decoders
    run libjpeg's YCC->RGB on the first three planes, invert them to C, M, Y
    (Adobe polarity), and pass K through; the picture comes back recognisable."""
    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"))
    # Pillow's CMYK encoder inverts every plane ("CMYK;I"); pre-invert to store ycc.
    planes = np.dstack([255 - ycc, 255 - k[..., None]])
    data = bytearray(jpeg_bytes(Image.fromarray(planes, "CMYK"), quality=92))
    at = data.find(b"Adobe")
    assert at > 0 and data[at + 11] == 0, "expected an Adobe APP14 marker with transform 0"
    data[at + 11] = 2
    return bytes(data)


def build_cases():
    """(name, extension, file bytes or None when written directly, options)."""
    cases = []

    def add(name, ext, data=None, decode=True, crops=((64, 0.875),), writer=None):
        cases.append(dict(name=name, ext=ext, data=data, decode=decode, crops=list(crops), writer=writer))

    rgb = synthetic(120, 90, 1)
    add("jpeg_baseline", "jpg", jpeg_bytes(Image.fromarray(rgb), quality=90))  # 4:2:0
    add("jpeg_progressive", "jpg",
        jpeg_bytes(Image.fromarray(synthetic(96, 120, 2)), quality=85, progressive=True))
    add("jpeg_422", "jpg", jpeg_bytes(Image.fromarray(synthetic(96, 80, 3)), quality=92, subsampling=1),
        crops=())
    add("jpeg_444", "jpg", jpeg_bytes(Image.fromarray(synthetic(80, 88, 4)), quality=95, subsampling=0),
        crops=())
    add("jpeg_gray", "jpg", jpeg_bytes(Image.fromarray(gray(synthetic(100, 80, 5))), quality=90),
        crops=((64, 0.875), (224, 0.9)))  # 224 at 0.9 upsamples 80 -> 248
    cmyk = np.dstack([synthetic(100, 76, 6), alpha_ramp(100, 76, 6) // 2])
    add("jpeg_cmyk", "jpg", jpeg_bytes(Image.fromarray(cmyk, "CMYK"), quality=90))
    add("jpeg_ycck", "jpg", make_ycck(synthetic(84, 104, 7), alpha_ramp(84, 104, 7) // 3), crops=())
    add("jpeg_big", "jpg", jpeg_bytes(Image.fromarray(synthetic(400, 300, 8, noise=3)), quality=88),
        decode=False, crops=((224, 0.875), (64, 0.875)))  # 300 -> 256; 300 -> 73
    add("jpeg_256", "jpg",
        jpeg_bytes(Image.fromarray(synthetic(256, 320, 9, noise=3)), quality=88, progressive=True),
        decode=False, crops=((224, 0.875),))  # shorter side already 256: crop only
    add("jpeg_tall", "jpg", jpeg_bytes(Image.fromarray(synthetic(80, 250, 24, noise=3)), quality=90),
        decode=False)  # 80x250 -> 73x228: Pillow >= 13 runs the vertical pass first

    def pil_png(mode, array, **options):
        def write(path):
            Image.fromarray(array, mode).save(path, "PNG", **options)
        return write

    add("png_rgb", "png", writer=pil_png("RGB", synthetic(120, 90, 10, noise=2)))
    add("png_rgba", "png", writer=pil_png(
        "RGBA", np.dstack([synthetic(80, 110, 11, noise=2), alpha_ramp(80, 110, 11)])))
    add("png_gray", "png", crops=(), writer=pil_png("L", gray(synthetic(100, 76, 12, noise=2))))
    add("png_gray_alpha", "png", decode=True, crops=(), writer=pil_png(
        "LA", np.dstack([gray(synthetic(72, 56, 13, noise=2)), alpha_ramp(72, 56, 13)])))
    palette_image = Image.fromarray(synthetic(110, 84, 14, noise=2)).quantize(64)
    alpha = bytes(int(a) for a in np.linspace(0, 255, 64))

    def write_palette(path):
        palette_image.save(path, "PNG", transparency=alpha)
    add("png_palette", "png", crops=(), writer=write_palette)
    palette16 = Image.fromarray(synthetic(80, 60, 15, noise=2)).quantize(16)
    add("png_palette4", "png", crops=(), writer=lambda path: palette16.save(path, "PNG"))  # 4-bit indices
    bits = gray(synthetic(64, 48, 16)) > 128
    add("png_gray1", "png", writer=lambda path: Image.fromarray(bits).save(path, "PNG"))  # upsamples

    gray16 = (gray(synthetic(100, 60, 17)).astype(np.uint16) * 2 + 7)  # 7 .. 517: PIL clips at 255
    add("png_gray16", "png", crops=(), writer=lambda path: Image.fromarray(gray16).save(path, "PNG"))
    low_bits = np.random.default_rng(18).integers(-128, 128, size=(72, 100, 3))
    wide = np.clip(synthetic(100, 72, 18).astype(np.int64) * 257 + low_bits, 0, 65535).astype(np.uint16)
    add("png_rgb16", "png", crops=(), writer=lambda path: write_png(path, wide, 2, 16))
    rgba16 = np.dstack([wide[:64, :80], (alpha_ramp(80, 64, 19).astype(np.uint16) * 257)])
    add("png_rgba16", "png", crops=(), writer=lambda path: write_png(path, rgba16, 6, 16))
    la16 = np.dstack([wide[:50, :70, 1], alpha_ramp(70, 50, 20).astype(np.uint16) * 250])
    add("png_gray_alpha16", "png", crops=(), writer=lambda path: write_png(path, la16, 4, 16))
    add("png_interlaced", "png", crops=(),
        writer=lambda path: write_png(path, synthetic(90, 77, 21, noise=3), 2, 8, interlace=True))
    gamma = [(b"gAMA", struct.pack(">I", 100000))]  # gamma 1.0: PIL ignores it, so must we
    add("png_gamma", "png", crops=(),
        writer=lambda path: write_png(path, synthetic(60, 40, 22, noise=3), 2, 8, chunks=gamma))
    trns = synthetic(60, 50, 23, noise=0)
    add("png_rgb_trns", "png", crops=(), writer=lambda path: Image.fromarray(trns).save(
        path, "PNG", transparency=tuple(int(v) for v in trns[0, 0])))
    return cases


RESIZES = [(73, 52), (170, 40), (120, 37), (50, 100), (300, 9)]  # down, up, one axis, mixed


def save_npy(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))
    return name


def crop_name(case, size, pct):
    return f"{case}.crop{size}" + ("" if pct == 0.875 else f"_pct{pct}") + ".npy"


def main():
    major = int(Image.__version__.split(".")[0])
    if major < 13:
        sys.exit(f"error: Pillow {Image.__version__} found, >= 13 needed (pass order of resize)")
    # PIL warns that a palette image with per-entry alpha is better as RGBA; that image is the point.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    manifest = {
        "producer": "Scripts/make_imaging_fixtures.py",
        "pillow": Image.__version__,
        "libjpeg_turbo": features.version_feature("libjpeg_turbo"),
        "mean": MEAN, "std": STD,
        "cases": [], "resizes": [], "imagenet": [],
    }
    for case in build_cases():
        file = f"{case['name']}.{case['ext']}"
        path = os.path.join(OUT, file)
        if case["writer"] is not None:
            case["writer"](path)
        else:
            with open(path, "wb") as f:
                f.write(case["data"])
        with Image.open(path) as opened:
            mode = opened.mode
            rgb_image = opened.convert("RGB")
        entry = {"name": case["name"], "file": file, "pil_mode": mode,
                 "width": rgb_image.width, "height": rgb_image.height, "crops": []}
        if case["decode"]:
            entry["rgb"] = save_npy(f"{case['name']}.rgb.npy", np.asarray(rgb_image))
        for size, pct in case["crops"]:
            crop = eval_crop(rgb_image, size, pct)
            entry["crops"].append({"size": size, "crop_pct": pct,
                                   "file": save_npy(crop_name(case["name"], size, pct), np.asarray(crop))})
            if size == 64 and case["name"] == "jpeg_baseline":
                entry["input"] = save_npy(f"{case['name']}.input64.npy", to_input(crop))
        manifest["cases"].append(entry)

    source = Image.open(os.path.join(OUT, "png_rgb.png")).convert("RGB")
    for w, h in RESIZES:
        name = save_npy(f"resize_{w}x{h}.npy", np.asarray(source.resize((w, h), Image.BICUBIC)))
        manifest["resizes"].append({"source": "png_rgb.png", "width": w, "height": h, "file": name})

    if os.path.isdir(IMAGENET):
        for original in IMAGENET_FILES:
            with Image.open(os.path.join(IMAGENET, original)) as image:
                rgb_image = image.convert("RGB")
            name = f"imagenet_{original.split('.')[0]}.crop224.png"
            eval_crop(rgb_image, 224, 0.875).save(os.path.join(OUT, name), optimize=True)
            manifest["imagenet"].append({"original": original, "crop224": name,
                                         "width": rgb_image.width, "height": rgb_image.height})
    else:
        print(f"warning: {IMAGENET} not found; no ImageNet crops", file=sys.stderr)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB, to {OUT}")


if __name__ == "__main__":
    main()
