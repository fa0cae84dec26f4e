#!/usr/bin/env bash
# The cost of the cache's crash safety: the demo's cache build (edge, server and
# the server at 16, 24 and 32 px over the 2,000 bundled images) timed with two
# semcom binaries in alternation, then an interrupted build and its resume.
#
#   Benchmarks/cache_build_cost.sh OLD_SEMCOM NEW_SEMCOM [ROUNDS]
#
# OLD_SEMCOM: e.g. a release build of an earlier commit (git worktree add /tmp/old COMMIT;
# cd /tmp/old && swift build -c release --product semcom). Run from the repository root.
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
models=(--model edge=auto:Demo/models/edge.safetensors --model server=auto:Demo/models/server.safetensors
        --model server_at_16px=auto:Demo/models/server.safetensors@16 --model server_at_24px=auto:Demo/models/server.safetensors@24
        --model server_at_32px=auto:Demo/models/server.safetensors@32)
build() { "$1" cache build --out "$2" --images Demo/digits/eval --size 64 --crop-pct 1 "${models[@]}" 2>/dev/null; }
seconds() { local s e; s=$(date +%s.%N); "$@" > "$dir/out.txt"; e=$(date +%s.%N); echo "$e - $s" | bc; }
for round in $(seq "$rounds"); do
    for which in old new; do
        bin=$old; [ "$which" = new ] && bin=$new
        rm -f "$dir/$which.h5"*
        echo "round $round $which $(seconds build "$bin" "$dir/$which.h5") s"
    done
    tail -1 "$dir/out.txt"
done
rm -f "$dir/r.h5"*
"$new" cache build --out "$dir/r.h5" --images Demo/digits/eval --size 64 --crop-pct 1 "${models[@]}" > /dev/null 2>&1 &
pid=$!; sleep 8; kill -INT $pid; wait $pid || echo "interrupted: exit $?"
"$new" cache info "$dir/r.h5" | grep " of 2,000 images"
echo "resume: $(seconds build "$new" "$dir/r.h5") s"
