#!/usr/bin/env bash
# Builds the Examples package against this checkout and runs each example on a
# small demo cache (every 40th image of Demo/digits/eval: 50 images), checking its numbers
# against the semcom CLI's on the same cache:
#   (a) new-rule: its attention-sum rows equal `semcom sweep`'s, column for column
#       (all but the Pareto flag, which its table computes over both rules);
#   (b) new-gate: its min-entropy rows equal `semcom sweep`'s over the gate thresholds;
#   (c) run-model: its accuracy equals `semcom eval --json`'s edge_accuracy, and its
#       image count the cache's.
# Usage (from the repository root, after `swift build`): Examples/check.sh [SEMCOM]
set -euo pipefail
semcom=${1:-.build/debug/semcom}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! out=$(swift build --package-path Examples 2>&1); then echo "$out"; exit 1; fi
echo "$out" | tail -1
bin=$(swift build --package-path Examples --show-bin-path)

find Demo/digits/eval -name '*.jpg' | sort | awk 'NR % 40 == 1' \
  | while read -r f; do echo "$PWD/$f,$(( 10#$(basename "$(dirname "$f")") ))"; done > "$work/images.csv"
"$semcom" cache build --out "$work/c.h5" --images "$work/images.csv" 2>/dev/null \
  --model edge=auto:Demo/models/edge.safetensors --model server=auto:Demo/models/server.safetensors >/dev/null

"$bin/new-rule" "$work/c.h5" "$work/new-rule.csv" >/dev/null
"$semcom" sweep --cache "$work/c.h5" --edge edge --server server --rule sum:0.97 --gate min:0.8 \
  --rule-range 0.7,0.8,0.9,0.97 --gate-range 0,0.8,1.6 --out "$work/cli-rule.csv" >/dev/null
"$bin/new-gate" "$work/c.h5" "$work/new-gate.csv" >/dev/null
"$semcom" sweep --cache "$work/c.h5" --edge edge --server server --rule sum:0.97 --gate min:0.8 \
  --gate-range 0,0.4,0.8,1.2,1.6,2.4 --out "$work/cli-gate.csv" >/dev/null
"$bin/run-model" Demo/models/edge.safetensors "$work/images.csv" > "$work/run-model.txt"
"$semcom" eval --cache "$work/c.h5" --edge edge --server server --json > "$work/eval.json"

python3 - "$work" <<'PY'
import csv, json, sys
work = sys.argv[1]
def rows(name, rule_prefix=None, gate_prefix=None):
    with open(f"{work}/{name}") as f:
        out = [{k: v for k, v in r.items() if k != "pareto"} for r in csv.DictReader(f)]
    return [r for r in out if (rule_prefix is None or r["rule"].startswith(rule_prefix))
                           and (gate_prefix is None or r["gate"].startswith(gate_prefix))]
failures = []
def same(what, mine, cli):
    if not cli or mine != cli:
        failures.append(f"{what}: {len(mine)} example rows and {len(cli)} CLI rows differ" if mine != cli else f"{what}: no rows")
    else:
        print(f"{what}: {len(mine)} rows equal to the CLI's")
same("new-rule (sum rows)", rows("new-rule.csv", rule_prefix="sum:"), rows("cli-rule.csv"))
if not rows("new-rule.csv", rule_prefix="mass:"):
    failures.append("new-rule: no rows for the new rule")
same("new-gate (min-entropy rows)", rows("new-gate.csv", gate_prefix="min:"), rows("cli-gate.csv"))
if not rows("new-gate.csv", gate_prefix="gini:"):
    failures.append("new-gate: no rows for the new gate")
model = dict(line.split(" ", 1) for line in open(f"{work}/run-model.txt").read().splitlines() if line.startswith(("images", "accuracy")))
ev = json.load(open(f"{work}/eval.json"))
if float(model["accuracy"]) != ev["edge_accuracy"] or int(model["images"]) != ev["images"]:
    failures.append(f"run-model: accuracy {model['accuracy']} over {model['images']} images, CLI edge_accuracy {ev['edge_accuracy']} over {ev['images']}")
else:
    print(f"run-model: edge accuracy {ev['edge_accuracy']} over {ev['images']} images, equal to the CLI's")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
PY
