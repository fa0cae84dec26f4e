#!/usr/bin/env python3
"""The numbers of the README's claims table, from the CSVs `semcom demo` writes.

    make demo && python3 Scripts/demo_claims.py [out/demo]

Comparisons "at equal cost" interpolate one curve linearly between its grid
points at the other's cost; a Pareto front's value at a cost is its best point
at or below that cost. Python's standard library only.
"""
import csv
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "out/demo"


def curve(name, x="comm_cost"):
    """(x, accuracy) points of a CSV, sorted by x; the first row of each x."""
    points = {}
    with open(f"{out}/{name}") as f:
        for row in csv.DictReader(f):
            points.setdefault(float(row[x]), float(row["accuracy"]))
    return sorted(points.items())


def at(points, c):
    """Linear interpolation at cost c (None outside the curve)."""
    for (c0, a0), (c1, a1) in zip(points, points[1:]):
        if c0 <= c <= c1:
            return a0 if c1 == c0 else a0 + (a1 - a0) * (c - c0) / (c1 - c0)
    return None


def best(points, c):
    """The front's best point at or below cost c: (cost, accuracy)."""
    return max(((x, a) for x, a in points if x <= c), key=lambda p: p[1])


def reaching(points, target):
    """The interpolated cost at which the curve first reaches `target`."""
    for (c0, a0), (c1, a1) in zip(points, points[1:]):
        if a0 < target <= a1:
            return c0 + (c1 - c0) * (target - a0) / (a1 - a0)
    return None


def pct(a):
    return f"{100 * a:.2f} %"


with open(f"{out}/fig08_default.csv") as f:
    default = next(csv.DictReader(f))
server = float(default["server_accuracy"])
print(f"defaults: {pct(float(default['accuracy']))}, server {pct(server)}, edge {pct(float(default['edge_accuracy']))}, "
      f"cost {float(default['comm_cost']):.3f}, sent {pct(float(default['sent_fraction']))}, "
      f"{float(default['patches_per_sent']):.1f} patches per sent image")

proposed, topk, random = curve("fig10_proposed.csv"), curve("fig10_attention.csv"), curve("fig10_random.csv")
for c in (0.125, 0.25):
    x, a = best(proposed, c)
    print(f"Fig. 10 at cost {c}: framework {pct(a)} (at {x:.3f}), top-k {pct(at(topk, c))}, random {pct(at(random, c))}")
for c, a in curve("fig10_lowres.csv"):
    print(f"Fig. 10 low resolution: {pct(a)} at cost {c:.4f}")

mean, rollout = curve("fig11_mean.csv"), curve("fig11_rollout.csv")
c0 = rollout[0][0]
print(f"Fig. 11 at rollout's cheapest cost {c0:.3f}: rollout {pct(rollout[0][1])}, mean {pct(at(mean, c0))}")
c1 = rollout[1][0]
print(f"Fig. 11 at cost {c1:.3f}: rollout {pct(rollout[1][1])}, mean {pct(at(mean, c1))}; mean's cheapest: {pct(mean[0][1])} at {mean[0][0]:.3f}")
target = server - 0.01
print(f"Fig. 11 cost to reach {pct(target)}: mean {reaching(mean, target):.3f}, rollout {reaching(rollout, target):.3f}")

total, threshold, topk12 = curve("fig12_sum.csv"), curve("fig12_threshold.csv"), curve("fig12_topk.csv")
for c in (0.125, 0.25, 0.375):
    print(f"Fig. 12 at cost {c}: threshold {pct(at(threshold, c))}, top-k {pct(at(topk12, c))}, attention-sum {pct(at(total, c))}")

minimum, shannon = curve("fig13_min.csv", "sent_fraction"), curve("fig13_shannon.csv", "sent_fraction")
gaps = [(c, a - at(shannon, c)) for c, a in minimum if 0 < c < 1 and at(shannon, c) is not None]
for c in (0.2, 0.288, 0.4):
    print(f"Fig. 13 at {c} sent: min-entropy {pct(at(minimum, c))}, Shannon {pct(at(shannon, c))}")
print(f"Fig. 13 min-entropy minus Shannon: at most {100 * max(g for _, g in gaps):.2f} points ahead, "
      f"at most {-100 * min(g for _, g in gaps):.2f} behind; best {pct(max(a for _, a in minimum))} and {pct(max(a for _, a in shannon))}")

edge, own = curve("fig14_edge_encoder.csv"), curve("fig14_server_encoder.csv")
print(f"Fig. 14 at cost 0.25: edge as encoder {pct(at(edge, 0.25))}, server as encoder {pct(at(own, 0.25))}")
