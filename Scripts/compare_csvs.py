"""Compares every CSV of two output folders (e.g. two `semcom demo --out` runs,
before and after a change): same files and rows, the old columns present, text
equal and numbers equal up to the old files' rounding (4 decimals, or 6
significant digits). Prints one line per file and the count of differences.

    python3 Scripts/compare_csvs.py OLD_FOLDER NEW_FOLDER
"""
import csv, glob, os, sys, math
old, new = sys.argv[1], sys.argv[2]
bad = 0
for f in sorted(glob.glob(old + "/*.csv")):
    name = os.path.basename(f)
    g = os.path.join(new, name)
    if not os.path.exists(g): print("missing in new:", name); bad += 1; continue
    a = list(csv.reader(open(f))); b = list(csv.reader(open(g)))
    ha, hb = a[0], b[0]
    if len(a) != len(b): print(name, "rows", len(a), len(b)); bad += 1; continue
    extra = [c for c in hb if c not in ha]; lost = [c for c in ha if c not in hb]
    worst = 0.0; diffs = 0
    for ra, rb in zip(a[1:], b[1:]):
        for c in ha:
            if c not in hb: continue
            x, y = ra[ha.index(c)], rb[hb.index(c)]
            try:
                fx, fy = float(x), float(y)
                if math.isnan(fx) and math.isnan(fy): continue
                d = abs(fx - fy); worst = max(worst, d)
                if d > 5.01e-5 * max(1, abs(fy)) and d > 5.01e-7 * abs(fy): diffs += 1
            except ValueError:
                if x != y: diffs += 1
    print(f"{name}: {len(a)-1} rows, max |diff| {worst:.2e}, out-of-rounding {diffs}" + (f", new columns {extra}" if extra else "") + (f", LOST {lost}" if lost else ""))
    bad += diffs + len(lost)
for g in sorted(glob.glob(new + "/*.csv")):
    if not os.path.exists(os.path.join(old, os.path.basename(g))): print("new only:", os.path.basename(g))
print("differences:", bad)
