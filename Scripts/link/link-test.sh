#!/bin/bash
# make link-test: semcom serve and semcom edge on an emulated link, for real.
#
# - Two network namespaces joined by a veth pair (iproute2): the server's
#   (10.77.0.1) runs `semcom serve` on its loopback and `semcom relay` on the
#   veth, which holds every chunk DELAY_MS in each direction (this kernel has
#   tbf but not netem); the edge's (10.77.0.2) runs `semcom edge`.
# - The edge's uplink (its veth's egress) is shaped by the kernel's token
#   bucket filter, `tc qdisc ... tbf rate R`, at each rate of RATES (Mbit/s);
#   the bucket holds one packet (BURST bytes), so a frame goes at the rate.
# - At each rate, `semcom edge --check-cache` runs Algorithm 1 over IMAGES
#   (default: the demo's 2,000 evaluation images) and fails unless every
#   image's edge class, decision, k and answer are those of a cache built of
#   the same images here (`semcom cache build`); then `semcom link-report`
#   compares the mean measured transfer with the latency model (bytes at the
#   rate, plus the delay both ways) and fails when they differ by more than
#   TOLERANCE of the model plus BURST bytes at the rate; it writes the
#   figure OUT/link_latency.svg (and .png with rsvg-convert).
# - Removes the namespaces and stops the processes, whatever happened.
#
# Needs root (namespaces, tc) and iproute2; `make link-test` installs it and
# builds the release binary first. All traffic stays on this machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
SEMCOM=${SEMCOM:-$repo/.build/release/semcom}
IMAGES=${IMAGES:-$repo/Demo/digits/eval}
MODELS_DIR=${MODELS_DIR:-$repo/Demo/models}
RATES=${RATES:-"1 8 50"}
DELAY_MS=${DELAY_MS:-5}
BURST=${BURST:-1600}
TOLERANCE=${TOLERANCE:-0.10}
OUT=${OUT:-$repo/out/link}
[ "$(id -u)" = 0 ] || { echo "link-test: needs root (network namespaces, tc)"; exit 2; }
[ -x "$SEMCOM" ] || { echo "link-test: no semcom binary at $SEMCOM (make release)"; exit 2; }
for tool in ip tc; do command -v $tool >/dev/null || { echo "link-test: $tool missing (apt-get install iproute2)"; exit 2; }; done

tag=sc$$
E=$tag-edge S=$tag-server
T=$(mktemp -d /tmp/semcom-link.XXXXXX)
mkdir -p "$OUT"
cleanup() {
    set +e
    for p in $(cat "$T"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
    sleep 0.5
    ip netns del "$E" 2>/dev/null
    ip netns del "$S" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

echo "== namespaces $E and $S, veth $tag-e <-> $tag-s"
ip netns add "$E"
ip netns add "$S"
ip link add "$tag-e" type veth peer name "$tag-s"
ip link set "$tag-e" netns "$E"
ip link set "$tag-s" netns "$S"
ip -n "$E" addr add 10.77.0.2/24 dev "$tag-e"
ip -n "$S" addr add 10.77.0.1/24 dev "$tag-s"
for ns in "$E" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$E" link set "$tag-e" up
ip -n "$S" link set "$tag-s" up
# TCP would restart slow start after each idle gap between two sequential requests.
ip netns exec "$E" sysctl -q -w net.ipv4.tcp_slow_start_after_idle=0

echo "== the reference cache"
"$SEMCOM" cache build --images "$IMAGES" --model "edge=auto:$MODELS_DIR/edge.safetensors" \
    --model "server=auto:$MODELS_DIR/server.safetensors" --out "$T/cache.h5" > "$T/build.log" 2>&1 || { cat "$T/build.log"; exit 1; }

head -c 32 /dev/urandom > "$T/link.key"
ip netns exec "$S" "$SEMCOM" serve --model "auto:$MODELS_DIR/server.safetensors" --listen 127.0.0.1:9000 \
    --key-file "$T/link.key" --batch-wait 0 --threads 1 > "$T/serve.out" 2> "$OUT/serve.log" &
echo $! > "$T/serve.pid"
ip netns exec "$S" "$SEMCOM" relay --listen 10.77.0.1:9001 --to 127.0.0.1:9000 --delay "$DELAY_MS" > "$T/relay.out" 2> "$OUT/relay.log" &
echo $! > "$T/relay.pid"
for _ in $(seq 100); do
    grep -q listening "$T/serve.out" 2>/dev/null && grep -q relaying "$T/relay.out" 2>/dev/null && break
    sleep 0.1
done
grep -q listening "$T/serve.out" || { echo "link-test: the server did not start"; cat "$OUT/serve.log"; exit 1; }

runs=()
for rate in $RATES; do
    echo "== uplink $rate Mbit/s (tbf, burst $BURST bytes), delay $DELAY_MS ms each way"
    ip netns exec "$E" tc qdisc replace dev "$tag-e" root tbf rate "${rate}mbit" burst "$BURST" latency 1s
    ip netns exec "$E" "$SEMCOM" edge --model "auto:$MODELS_DIR/edge.safetensors" --server 10.77.0.1:9001 \
        --key-file "$T/link.key" --images "$IMAGES" --threads 1 --quiet \
        --csv "$OUT/edge_${rate}mbit.csv" --check-cache "$T/cache.h5"
    runs+=("$rate=$OUT/edge_${rate}mbit.csv")
done

echo "== measured against the model"
"$SEMCOM" link-report --delay "$DELAY_MS" --tolerance "$TOLERANCE" --burst "$BURST" --svg "$OUT/link_latency.svg" "${runs[@]}" | tee "$OUT/link_report.csv"
if command -v rsvg-convert >/dev/null; then rsvg-convert --width 900 --background-color white "$OUT/link_latency.svg" -o "$OUT/link_latency.png"; fi
echo "link-test: passed (results in $OUT)"
