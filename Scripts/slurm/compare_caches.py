"""Checks that two semcom caches hold the same content: the same groups and
datasets, each with the same shape, dtype and values (NaN equal to NaN), and
the same attributes on the file, every group and every dataset; prints what
differs and exits 1 if anything does.

    python3 Scripts/slurm/compare_caches.py A.h5 B.h5

Used by `make cluster-test` (Scripts/slurm/cluster-test.sh) to check a cache
built and filled on Slurm in shards against one built and filled in one
process. Needs h5py and numpy.
"""
import sys

import h5py
import numpy as np


def items(f):
    out = {"/": f}
    f.visititems(lambda name, obj: out.__setitem__("/" + name, obj))
    return out


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_caches.py A.h5 B.h5")
    pa, pb = sys.argv[1:]
    problems = []
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        ia, ib = items(fa), items(fb)
        for name in sorted(set(ia) ^ set(ib)):
            problems.append(f"{name}: only in {pa if name in ia else pb}")
        datasets = 0
        for name in sorted(set(ia) & set(ib)):
            a, b = ia[name], ib[name]
            if isinstance(a, h5py.Dataset) != isinstance(b, h5py.Dataset):
                problems.append(f"{name}: a dataset in one file, a group in the other")
                continue
            if isinstance(a, h5py.Dataset):
                datasets += 1
                if not same(a[()], b[()]):
                    problems.append(f"{name}: values differ ({a.shape} {a.dtype} vs {b.shape} {b.dtype})")
            for key in sorted(set(a.attrs) | set(b.attrs)):
                if key not in a.attrs or key not in b.attrs:
                    problems.append(f"{name}: attribute {key} only in {pa if key in a.attrs else pb}")
                elif not same(a.attrs[key], b.attrs[key]):
                    problems.append(f"{name}: attribute {key} differs: {a.attrs[key]!r} vs {b.attrs[key]!r}")
    for p in problems:
        print(p)
    if problems:
        sys.exit(f"{pa} and {pb} differ in {len(problems)} place(s)")
    print(f"{pa} and {pb}: the same {datasets} datasets, values and attributes")


if __name__ == "__main__":
    main()
