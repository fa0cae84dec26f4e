#!/bin/bash
# Submits the whole chain: build (array) -> merge + plan -> fill (array) ->
# merge memo, each step after the previous one succeeded (afterok). Prints
# the four job ids, last line "build fill merge-cache merge-memo".
#
#   export SEMCOM=$PWD/.build/release/semcom WORK=/shared/semcom IMAGES=/data/imagenet/val \
#          MODELS="edge=deit_tiny:/w/tiny.safetensors server=deit_base:/w/base.safetensors" \
#          PLAN_OPTIONS="--edge edge --server server --rule-range 0.8:0.99:0.01 --gate-range 0"
#   Scripts/slurm/submit.sh 8          # 8 build tasks and 8 fill tasks
#
# SBATCH_OPTIONS adds options to every sbatch (e.g. "--partition=cpu --account=me").
set -euo pipefail
n=${1:?usage: submit.sh TASKS}
here=$(cd "$(dirname "$0")" && pwd)
: "${WORK:?set WORK}"
mkdir -p "$WORK"
export SHARDS=$n
sb() { sbatch --parsable --chdir="$WORK" --export=ALL ${SBATCH_OPTIONS:-} "$@"; }
build=$(sb --array=0-$((n - 1)) "$here/build.sbatch")
merge=$(sb --dependency=afterok:"$build" "$here/merge-cache.sbatch")
fill=$(sb --dependency=afterok:"$merge" --array=0-$((n - 1)) "$here/fill.sbatch")
memo=$(sb --dependency=afterok:"$fill" "$here/merge-memo.sbatch")
echo "$build $merge $fill $memo"
