"""Clip-art objects on photographs: a demo dataset that behaves more like ImageNet.

Each 64 x 64 RGB image holds one drawn object (public-domain clip art from
Debian's `openclipart-png`) on a random crop of a photograph (scikit-image's
bundled images), with smaller pieces of other classes' clip art as clutter.
The class is the object's openclipart category; the models must generalise
within a category, because the training and evaluation splits use disjoint
clip-art instances (different drawings, mostly by different artists), as
ImageNet's splits use different photographs of each class.

Per image a difficulty d is drawn uniformly from [0, 1]; it sets
- the object's size: its visible (alpha) area covers 0.5 * 0.2^d of the image
  (50 % at d = 0, 10 % at d = 1; less when a thin object's box hits the edge),
- the clutter: 0 to round(1 + 4d) pieces of other classes' drawings (a whole
  small drawing or one half of one, each covering 2 % of the image to 7 % or
  half the object's coverage, whichever is less, but at least 3 %), drawn
  before the object, so the object may hide them but never the reverse,
- the photograph's contrast around mid-grey: 0.5 + 0.5 d.
The object is a random instance of its class, flipped left-right at random,
rotated by up to 15 degrees, colour-jittered (brightness, contrast, saturation
0.8-1.2, hue +-0.03 turn), at a random position that keeps its box inside the
image. 64 px with 8 px patches gives 64 patches, as the digits demo does: the
server ViT then trains in the time budget on 2 cores and `make demo` keeps
its running time; an object covers about 6-32 of the 64 patches.

Classes (the openclipart folder, subfolders included; class folder name):
    animals/mammals -> mammal        animals/birds -> bird
    animals/bugs -> bug              food/fruit -> fruit
    food/desserts -> dessert         food/beverages -> beverage
    transportation/vehicles -> vehicle   recreation/music -> music
    people/clothing -> clothing      buildings/homes -> home
the ten categories of openclipart that hold at least 38 drawings of single
concrete objects each (many other large folders are icons, flags, symbols,
stars or gradients, which are not objects in the ImageNet sense).

Which drawings count as one object (a simple, documented filter; the script
prints what it drops): the PNG is decoded (palette and grey+alpha converted
to RGBA; files over 20 megapixels are skipped: four 10,000 x 16,000 renders
whose content is kept at normal size elsewhere in the package), cropped to
the box of its opaque pixels (alpha > 127) and reduced so that its longer side
is 128 px. It is dropped when
- it has (almost) no transparency: opaque pixels fill > 95 % of the box (a
  rectangular picture, i.e. a scene with its own background, not an object),
- it is mostly transparent: opaque pixels fill < 15 % of the box (line art,
  sparse scenes),
- its box is more elongated than 4:1,
- it is not in one piece: on a 48 px mask dilated by 2 px, the largest
  connected part holds < 75 % of the opaque pixels (several objects, text);
- it is a near-duplicate of a drawing met earlier (the same art saved twice:
  16 x 16 grey thumbnails on white within mean absolute difference 6/255 and
  the same aspect to 5 %); a duplicate in another class drops both copies.
The kept drawings of each class are shuffled (seeded) and split 75 / 25 into
training and evaluation instances; clutter comes from the same split.

    sudo apt-get install openclipart-png          # /usr/share/openclipart/png, 155 MB
    pip install numpy Pillow scikit-image
    python3 Scripts/make_objects_dataset.py --out out/objects                 # train.npz + eval/ (training)
    python3 Scripts/make_objects_dataset.py --eval-only --out Demo/objects    # the committed evaluation split
    python3 Scripts/make_objects_dataset.py --eval-only --out Demo/objects --contact-sheet docs/objects-contact-sheet.png

Writes <out>/train.npz (30,000 uint8 images 64 x 64 x 3 by default, labels as
positions in the sorted class names, as an ImageFolder reader numbers them, difficulty)
unless --eval-only; <out>/eval/<class>/<index>.jpg (an ImageFolder tree, JPEG
quality 92, read by `semcom cache build`); <out>/eval.csv (per evaluation image:
file, label, class, difficulty, object coverage, clutter pieces, instance
file); <out>/instances.csv (every kept drawing: class, split, openclipart path).
Training images pass through JPEG (quality 92) too, so training sees what
evaluation reads. Deterministic from --seed (training) and --seed + 1
(evaluation). Development tool: numpy, Pillow, scikit-image (photographs only).
Sources and licences: DATA.md.
"""
import argparse
import colorsys
import csv
import io
import os
import time

import numpy as np
from photographs import photographs
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

Image.MAX_IMAGE_PIXELS = None  # sizes are checked before decoding (MAX_PIXELS)
SIZE = 64
CLIPART = "/usr/share/openclipart/png"
CLASSES = [  # (openclipart folder, class name)
    ("animals/mammals", "mammal"), ("animals/birds", "bird"), ("animals/bugs", "bug"),
    ("food/fruit", "fruit"), ("food/desserts", "dessert"), ("food/beverages", "beverage"),
    ("transportation/vehicles", "vehicle"), ("recreation/music", "music"),
    ("people/clothing", "clothing"), ("buildings/homes", "home"),
]
SPRITE = 128          # longer side of a cached drawing
MAX_PIXELS = 20e6     # larger PNGs are skipped
FILL = (0.15, 0.95)   # opaque fraction of the box
MAX_ASPECT = 4.0
ONE_PIECE = 0.75      # largest connected part of the opaque pixels
EVAL_SHARE = 0.25
VARIANT = 0.06        # silhouettes closer than this (mean absolute alpha difference): variants of one drawing
DUPLICATE = 6         # ... and grey thumbnails closer than this (of 255): the same drawing twice
# Drawings the filter keeps that are not an instance of their class as a viewer would name it
# (read off a sheet of every kept drawing).
EXCLUDE = {
    "transportation/vehicles/crossroads.png": "a road sign",
    "transportation/vehicles/curve_ahead.png": "a road sign",
    "transportation/vehicles/quay_sign_01.png": "a road sign",
    "transportation/vehicles/cycle_route.png": "a road sign",
    "transportation/vehicles/lighthouse_01.png": "a lighthouse",
    "recreation/music/a_man_singing_01.png": "a portrait",
    "recreation/music/bach_ganson.png": "a portrait",
    "recreation/music/beethoveo_ganson.png": "a portrait",
    "recreation/music/handel_ganson.png": "a portrait",
    "people/clothing/hats/jacob_leisler_mo_01.png": "a portrait",
    "food/fruit/champignon_01.png": "a mushroom",
    "food/fruit/juice_glass_andremarcel._01.png": "a drink",
    "food/fruit/kallisti-grenade_1_nurbl_01.png": "a hand grenade",
    "food/fruit/slate-apple_benji_park_01.png": "a slate",
    "food/fruit/tree_whit_fruits_01.png": "a tree",
    "food/fruit/turkey_platter_01_with_fruit_and_vegitables_01.png": "a roast",
    "buildings/homes/houses_jon_phillips_01.png": "a dark strip of skyline",
}



def largest_part(mask):
    """Share of the True pixels of a small boolean mask in its largest 8-connected part."""
    img = Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).copy()  # a copy: fromarray may share the buffer
    total = int(mask.sum())
    best, value = 0, 1
    a = np.asarray(img)
    while True:
        ys, xs = np.nonzero(a == 255)
        if len(ys) == 0 or value > 250:
            break
        ImageDraw.floodfill(img, (int(xs[0]), int(ys[0])), value, thresh=0)
        a = np.asarray(img)
        best = max(best, int((a == value).sum()))
        value += 1
    return best / max(total, 1)


def load_drawing(path):
    """The drawing as an RGBA image cropped to its opaque box, longer side SPRITE px,
    or (None, reason) when the filter drops it."""
    im = Image.open(path)
    if im.size[0] * im.size[1] > MAX_PIXELS:
        return None, "over 20 megapixels"
    im = im.convert("RGBA")
    alpha = np.asarray(im)[..., 3]
    ys, xs = np.nonzero(alpha > 127)
    if len(ys) == 0:
        return None, "empty"
    im = im.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    w, h = im.size
    if max(w, h) / min(w, h) > MAX_ASPECT:
        return None, "elongated"
    s = SPRITE / max(w, h)
    im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.BICUBIC)
    a = np.asarray(im)[..., 3] > 127
    fill = a.mean()
    if fill > FILL[1]:
        return None, "no transparency"
    if fill < FILL[0]:
        return None, "mostly transparent"
    small = im.getchannel("A").resize((max(1, round(im.size[0] * 48 / SPRITE)), max(1, round(im.size[1] * 48 / SPRITE))),
                                      Image.BILINEAR).filter(ImageFilter.MaxFilter(5))
    if largest_part(np.asarray(small) > 127) < ONE_PIECE:
        return None, "not one piece"
    return im, None


def thumbnails(im):
    """16 x 16 grey thumbnail on white (0-255) and 16 x 16 silhouette (alpha, 0-1) of a drawing."""
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    grey = np.asarray(Image.alpha_composite(white, im).convert("L").resize((16, 16), Image.BILINEAR), np.float32)
    shape = np.asarray(im.getchannel("A").resize((16, 16), Image.BILINEAR), np.float32) / 255
    return grey, shape


def drawings(seed, verbose=True):
    """Per class: (training drawings, evaluation drawings), each a list of (relative path, RGBA image)."""
    kept, dropped = [], {}
    for c, (folder, name) in enumerate(CLASSES):
        files = sorted(os.path.relpath(os.path.join(dp, f), CLIPART)
                       for dp, _, fs in os.walk(os.path.join(CLIPART, folder)) for f in fs if f.endswith(".png"))
        for rel in files:
            if rel in EXCLUDE:
                dropped.setdefault(name, []).append((rel, "excluded: " + EXCLUDE[rel]))
                continue
            im, why = load_drawing(os.path.join(CLIPART, rel))
            if im is None:
                dropped.setdefault(name, []).append((rel, why))
            else:
                kept.append((c, rel, im, *thumbnails(im), im.size[0] / im.size[1]))
    # Duplicates (the same art saved twice) are dropped; variants (the same outline in other
    # colours or details) form a group that goes to one split as a whole.
    gone, group = set(), list(range(len(kept)))

    def root(i):
        while group[i] != i:
            i = group[i]
        return i

    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            if i in gone or j in gone or abs(kept[i][5] / kept[j][5] - 1) > 0.05:
                continue
            if np.abs(kept[i][4] - kept[j][4]).mean() >= VARIANT:
                continue
            ci, cj = kept[i][0], kept[j][0]
            same = np.abs(kept[i][3] - kept[j][3]).mean() < DUPLICATE
            if ci != cj:  # the same drawing in two classes: neither class keeps it
                if same:
                    gone.update((i, j))
                    for k in (i, j):
                        dropped.setdefault(CLASSES[kept[k][0]][1], []).append((kept[k][1], "the same drawing in another class"))
            elif same:
                gone.add(j)
                dropped.setdefault(CLASSES[cj][1], []).append((kept[j][1], "duplicate of " + kept[i][1]))
            else:
                group[root(j)] = root(i)
    rng = np.random.default_rng(seed)
    split = []
    for c, (folder, name) in enumerate(CLASSES):
        mine = [n for n, k in enumerate(kept) if k[0] == c and n not in gone]
        groups = {}
        for n in mine:
            groups.setdefault(root(n), []).append(n)
        groups = list(groups.values())
        train, ev = [], []
        for g in rng.permutation(len(groups)):  # whole groups, until the evaluation share is reached
            (ev if len(ev) < EVAL_SHARE * len(mine) else train).extend(groups[g])
        split.append(([(kept[n][1], kept[n][2]) for n in sorted(train)], [(kept[n][1], kept[n][2]) for n in sorted(ev)]))
        if verbose:
            print(f"{name:9s} ({folder}): {len(mine)} kept in {len(groups)} groups of variants "
                  f"({len(train)} train, {len(ev)} eval), {len(dropped.get(name, []))} dropped")
    if verbose:
        for name, rows in dropped.items():
            for rel, why in rows:
                print(f"  dropped {name}: {rel}: {why}")
    return split


def jitter(im, rng):
    """Colour jitter of an RGBA drawing: brightness, contrast, saturation 0.8-1.2, hue +-0.03 turn."""
    alpha = im.getchannel("A")
    rgb = im.convert("RGB")
    rgb = ImageEnhance.Brightness(rgb).enhance(rng.uniform(0.8, 1.2))
    rgb = ImageEnhance.Contrast(rgb).enhance(rng.uniform(0.8, 1.2))
    rgb = ImageEnhance.Color(rgb).enhance(rng.uniform(0.8, 1.2))
    shift = int(round(rng.uniform(-0.03, 0.03) * 256)) % 256
    if shift:
        h, s, v = rgb.convert("HSV").split()
        h = h.point(lambda x: (x + shift) % 256)
        rgb = Image.merge("HSV", (h, s, v)).convert("RGB")
    out = rgb.convert("RGBA")
    out.putalpha(alpha)
    return out


def place(canvas, im, rng, coverage, max_side, rotate):
    """Scales `im` so that its opaque pixels cover `coverage` of the canvas (its box at most
    max_side px), rotates it, flips it at random and pastes it at a random position inside
    the canvas. Returns the coverage reached."""
    fill = max((np.asarray(im)[..., 3] > 127).mean(), 0.05)
    w, h = im.size
    s = np.sqrt(coverage * SIZE * SIZE / (fill * w * h))
    s = min(s, max_side / max(w, h))
    im = im.resize((max(2, round(w * s)), max(2, round(h * s))), Image.BICUBIC)
    if rng.uniform() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    if rotate:
        im = im.rotate(rng.uniform(-rotate, rotate), resample=Image.BICUBIC, expand=True)
        box = im.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
        if box:
            im = im.crop(box)
    w, h = im.size
    if w > SIZE or h > SIZE:
        k = SIZE / max(w, h)
        im = im.resize((max(2, int(w * k)), max(2, int(h * k))), Image.BICUBIC)
        w, h = im.size
    x, y = int(rng.integers(0, SIZE - w + 1)), int(rng.integers(0, SIZE - h + 1))
    canvas.alpha_composite(im, (x, y))
    return float((np.asarray(im)[..., 3] > 127).sum()) / (SIZE * SIZE)


def background(rng, photos, contrast):
    p = photos[rng.integers(len(photos))]
    side = int(rng.integers(48, min(p.shape[0], p.shape[1], 256)))
    y, x = rng.integers(0, p.shape[0] - side + 1), rng.integers(0, p.shape[1] - side + 1)
    crop = Image.fromarray(p[y:y + side, x:x + side]).resize((SIZE, SIZE), Image.BILINEAR)
    if rng.uniform() < 0.5:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    a = 128 + contrast * (np.asarray(crop, dtype=np.float32) - 128)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).convert("RGBA")


def clutter_piece(im, rng):
    """A whole drawing or one half of it (left, right, top or bottom)."""
    w, h = im.size
    side = int(rng.integers(0, 5))
    boxes = [None, (0, 0, w // 2, h), (w // 2, 0, w, h), (0, 0, w, h // 2), (0, h // 2, w, h)]
    if boxes[side] is None:
        return im
    piece = im.crop(boxes[side])
    box = piece.getchannel("A").getbbox()
    return piece.crop(box) if box else im


def make(n, seed, photos, split, roundtrip):
    """n images of the given split (a list, per class, of (path, RGBA) drawings), labels balanced."""
    rng = np.random.default_rng(seed)
    k = len(split)
    labels = rng.permutation(np.arange(n) % k)
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    rows = []
    for i in range(n):
        c = int(labels[i])
        d = float(rng.uniform())
        img = background(rng, photos, 0.5 + 0.5 * d)
        target = 0.5 * 0.2 ** d  # the object's coverage
        pieces = int(rng.integers(0, round(1 + 4 * d) + 1))
        for _ in range(pieces):  # each at most half the object's coverage
            other = int(rng.choice([j for j in range(k) if j != c]))
            _, art = split[other][rng.integers(len(split[other]))]
            place(img, jitter(clutter_piece(art, rng), rng), rng, rng.uniform(0.02, min(0.07, max(0.03, target / 2))), 40, 30)
        path, art = split[c][rng.integers(len(split[c]))]
        coverage = place(img, jitter(art, rng), rng, target, SIZE, 15)
        out = img.convert("RGB")
        if roundtrip:  # what evaluation reads back from its JPEG files
            buf = io.BytesIO()
            out.save(buf, format="JPEG", quality=92)
            out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        images[i] = np.asarray(out)
        rows.append((c, d, coverage, pieces, path))
    return images, labels.astype(np.int64), rows


def contact_sheet(folder, path, per_class=6, scale=2):
    """per_class images of each class (the first in file order, enlarged scale x), one row per class, names on the left."""
    names = sorted(os.listdir(folder))
    label_w, cell = 90, SIZE * scale + 4
    sheet = Image.new("RGB", (label_w + per_class * cell, len(names) * cell), "white")
    draw = ImageDraw.Draw(sheet)
    for r, name in enumerate(names):
        draw.text((6, r * cell + cell // 2 - 6), name, fill="black")
        files = sorted(os.listdir(os.path.join(folder, name)))[:per_class]
        for j, f in enumerate(files):
            im = Image.open(os.path.join(folder, name, f)).convert("RGB").resize((SIZE * scale, SIZE * scale), Image.NEAREST)
            sheet.paste(im, (label_w + j * cell + 2, r * cell + 2))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)  # a palette PNG: a third of the size
    print(f"contact sheet: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=30000)
    ap.add_argument("--eval", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--contact-sheet", metavar="PNG", help="also write a contact sheet of the evaluation split")
    args = ap.parse_args()
    start = time.time()
    split = drawings(args.seed)
    names = [name for _, name in CLASSES]
    # Labels written are positions in the sorted class names, the order in which an
    # ImageFolder reader (semcom, torchvision) numbers the evaluation split's folders.
    label_of = np.array([sorted(names).index(name) for name in names])
    photos = photographs()
    print(f"drawings and photographs loaded: {time.time() - start:.0f} s")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "instances.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["class", "split", "openclipart_path"])
        for c, (train, ev) in enumerate(split):
            for part, items in (("train", train), ("eval", ev)):
                for rel, _ in items:
                    w.writerow([names[c], part, rel])
    if not args.eval_only:
        x, y, rows = make(args.train, args.seed, photos, [s[0] for s in split], roundtrip=True)
        np.savez_compressed(os.path.join(args.out, "train.npz"), images=x, labels=label_of[y],
                            difficulty=np.array([r[1] for r in rows], np.float32), classes=np.array(sorted(names)))
        print(f"train: {len(y)} images, {time.time() - start:.0f} s")
    x, y, rows = make(args.eval, args.seed + 1, photos, [s[1] for s in split], roundtrip=False)
    for name in names:
        os.makedirs(os.path.join(args.out, "eval", name), exist_ok=True)
    with open(os.path.join(args.out, "eval.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "class", "difficulty", "coverage", "clutter", "instance"])
        for i, (img, label, row) in enumerate(zip(x, y, rows)):
            rel = f"{names[label]}/{i:05d}.jpg"
            Image.fromarray(img).save(os.path.join(args.out, "eval", rel), quality=92)
            w.writerow([rel, int(label_of[label]), names[label], f"{row[1]:.4f}", f"{row[2]:.4f}", row[3], row[4]])
    print(f"eval: {len(y)} images in {args.out}/eval, {time.time() - start:.0f} s")
    if args.contact_sheet:
        contact_sheet(os.path.join(args.out, "eval"), args.contact_sheet)


if __name__ == "__main__":
    main()
