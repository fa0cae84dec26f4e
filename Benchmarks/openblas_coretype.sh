#!/bin/bash
# OpenBLAS's own kernel choice for this CPU against OPENBLAS_CORETYPE=${1:-Haswell}:
# `semcom bench` (random weights, 2 threads) for DeiT-Tiny, -Small and -Base,
# alternating the two in each of 3 rounds. Prints "round arch batch kept kernels img/s".
#   make release && bash Benchmarks/openblas_coretype.sh [CORETYPE]
set -euo pipefail
B=${SEMCOM:-.build/release/semcom}
other=${1:-Haswell}
for round in 1 2 3; do
  # arch, batch, timed passes, kept patches (all when empty)
  for cfg in "deit_tiny_patch16_224 1 30" "deit_tiny_patch16_224 16 4" "deit_small_patch16_224 16 2" \
             "deit_base_patch16_224 1 6" "deit_base_patch16_224 16 2" "deit_base_patch16_224 16 2 49"; do
    set -- $cfg
    keep=${4:+--keep $4}
    for kernels in default "$other"; do
      if [ "$kernels" = default ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$kernels; fi
      out=$($B bench --arch "$1" --batch "$2" --iters "$3" $keep --threads 2)
      name=$(echo "$out" | sed -n 's/^OpenBLAS kernels: //p')
      echo "$round $1 b$2 ${4:-all} $name $(echo "$out" | tail -1 | awk '{print $2}')"
    done
    unset OPENBLAS_CORETYPE
  done
done
