"""Cluttered digits on photographs: the demo dataset of semcom.

Each 64x64 RGB image holds one real handwritten digit (scikit-learn's bundled
8x8 digits, scaled up with random size, position and colour) on a random crop
of a real photograph (scikit-image's bundled images), plus fragments of other
digits as distractors, so that the class lives in a few of the 64 patches
(8x8 pixels each) and the rest is clutter. Each image draws a difficulty d in
[0, 1]: the photograph is shown at contrast d and carries up to round(4d)
fragments, so the set runs from clean digits on grey (the edge model's easy
cases) to full clutter (the ones it should send). The digit is always bright
over a dark rim. Deterministic from --seed. Sources and licences: DATA.md.

    python3 Scripts/make_digits_dataset.py --out build/digits      # training arrays (not committed)
    python3 Scripts/make_digits_dataset.py --eval-only --out Demo/digits   # the committed evaluation split

Writes <out>/train.npz (uint8 images N x 64 x 64 x 3 and labels) unless
--eval-only, and <out>/eval/<digit>/<index>.jpg (an ImageFolder tree read by
`semcom cache build`). Images pass through JPEG (quality 92) in both splits, so
training sees what evaluation reads. Needs numpy, Pillow, scikit-learn, scikit-image.
"""
import argparse
import io
import os

import numpy as np
from photographs import photographs
from PIL import Image, ImageFilter
from sklearn.datasets import load_digits

SIZE = 64



# Contrast of the photographs around mid-grey (1 = as photographed); --background-contrast.
BACKGROUND_CONTRAST = 1.0
MAX_FRAGMENTS = 4


def background(rng, photos, contrast):
    p = photos[rng.integers(len(photos))]
    side = int(rng.integers(48, min(p.shape[0], p.shape[1], 256)))
    y, x = rng.integers(0, p.shape[0] - side + 1), rng.integers(0, p.shape[1] - side + 1)
    crop = Image.fromarray(p[y:y + side, x:x + side]).resize((SIZE, SIZE), Image.BILINEAR)
    return 128 + contrast * (np.asarray(crop, dtype=np.float32) - 128)


def paste(img, rng, digit, size, alpha_scale, colour, fragment=False, halo=None):
    """Alpha-blends `digit` (8x8, values 0-16) scaled to size x size at a random position;
    `halo` is the colour of a dark outline drawn under the glyph, so that it shows with
    the same polarity (bright stroke, dark rim) on any background."""
    glyph = Image.fromarray((digit / 16.0 * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    a = np.asarray(glyph, dtype=np.float32) / 255.0 * alpha_scale
    if fragment:  # keep one random quarter of the glyph
        h = size // 2
        y0, x0 = rng.integers(0, size - h + 1), rng.integers(0, size - h + 1)
        mask = np.zeros_like(a)
        mask[y0:y0 + h, x0:x0 + h] = 1
        a *= mask
    y, x = rng.integers(0, SIZE - size + 1), rng.integers(0, SIZE - size + 1)
    layers = [(a, colour)]
    if halo is not None:
        rim = np.asarray(glyph.filter(ImageFilter.MaxFilter(5)), dtype=np.float32) / 255.0
        layers.insert(0, (rim, halo))
    for alpha, c in layers:
        region = img[y:y + size, x:x + size]
        img[y:y + size, x:x + size] = region * (1 - alpha[..., None]) + c * alpha[..., None]


def make(n, seed, photos, digits, targets, roundtrip):
    rng = np.random.default_rng(seed)
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    labels = np.zeros(n, np.int64)
    for i in range(n):
        # Each image has its own difficulty: how strongly the photograph shows and how many
        # distractor fragments there are, from a clean digit on grey to full clutter.
        difficulty = float(rng.uniform())
        img = background(rng, photos, BACKGROUND_CONTRAST * difficulty)
        for _ in range(rng.integers(0, 1 + round(MAX_FRAGMENTS * difficulty))):  # fragments of other digits
            j = rng.integers(len(digits))
            paste(img, rng, digits[j], int(rng.integers(12, 24)), float(rng.uniform(0.4, 0.8)),
                  rng.uniform(0, 255, 3), fragment=True)
        k = rng.integers(len(digits))
        paste(img, rng, digits[k], int(rng.integers(24, 40)), 1.0, rng.uniform(190, 255, 3),
              halo=rng.uniform(0, 40, 3))
        img = np.clip(img, 0, 255).astype(np.uint8)
        if roundtrip:  # what evaluation reads back from its JPEG files
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=92)
            img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        images[i] = img
        labels[i] = targets[k]
    return images, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=24000)
    ap.add_argument("--eval", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--background-contrast", type=float, default=1.0)
    args = ap.parse_args()
    global BACKGROUND_CONTRAST
    BACKGROUND_CONTRAST = args.background_contrast
    d = load_digits()
    # Disjoint writers: the first 1400 digit images for training, the rest for evaluation.
    photos = photographs()
    os.makedirs(args.out, exist_ok=True)
    if not args.eval_only:
        x, y = make(args.train, args.seed, photos, d.images[:1400], d.target[:1400], roundtrip=True)
        np.savez_compressed(os.path.join(args.out, "train.npz"), images=x, labels=y)
        print(f"train: {len(y)} images")
    x, y = make(args.eval, args.seed + 1, photos, d.images[1400:], d.target[1400:], roundtrip=False)
    for c in range(10):
        os.makedirs(os.path.join(args.out, "eval", str(c)), exist_ok=True)
    for i, (img, label) in enumerate(zip(x, y)):
        Image.fromarray(img).save(os.path.join(args.out, "eval", str(label), f"{i:05d}.jpg"), quality=92)
    print(f"eval: {len(y)} images in {args.out}/eval")


if __name__ == "__main__":
    main()
