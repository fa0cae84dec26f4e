#!/bin/bash
# make load-test: `semcom serve` under load, and killed and restarted under load.
#
# - Load: `semcom link-load` runs CLIENTS (16) edges at once against a server on
#   loopback for LOAD_SECONDS (60): every answer must be the one the server gave
#   the same frame alone, none lost; reports answers per second, p50 and p99.
# - Faults: the same for FAULT_SECONDS (30) while the server is killed with
#   SIGKILL and restarted, then stopped with SIGTERM (it must drain: answer what
#   it holds and exit 0) and restarted: the edges reconnect and resend what was
#   in flight, and still no answer may be lost or differ; some must have been resent.
#
# Needs nothing but the release binary (`make load-test` builds it). About 2 minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
SEMCOM=${SEMCOM:-$repo/.build/release/semcom}
IMAGES=${IMAGES:-$repo/Demo/digits/eval}
MODELS_DIR=${MODELS_DIR:-$repo/Demo/models}
CLIENTS=${CLIENTS:-16}
LOAD_SECONDS=${LOAD_SECONDS:-60}
FAULT_SECONDS=${FAULT_SECONDS:-30}
OUT=${OUT:-$repo/out/link}
[ -x "$SEMCOM" ] || { echo "load-test: no semcom binary at $SEMCOM (make release)"; exit 2; }
T=$(mktemp -d /tmp/semcom-load.XXXXXX)
mkdir -p "$OUT"
server_pid=
cleanup() {
    set +e
    [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
head -c 32 /dev/urandom > "$T/link.key"

# Starts the server on $port (0 the first time: any free port, then kept).
start_server() {
    : > "$T/serve.out"
    "$SEMCOM" serve --model "auto:$MODELS_DIR/server.safetensors" --listen "127.0.0.1:${port:-0}" \
        --key-file "$T/link.key" >> "$T/serve.out" 2>> "$OUT/load-serve.log" &
    server_pid=$!
    for _ in $(seq 100); do grep -q listening "$T/serve.out" && break; sleep 0.1; done
    grep -q listening "$T/serve.out" || { echo "load-test: the server did not start"; tail "$OUT/load-serve.log"; exit 1; }
    port=$(sed -n 's/.*://p' "$T/serve.out")
}
: > "$OUT/load-serve.log"
start_server
edge=(--model "auto:$MODELS_DIR/edge.safetensors" --server "127.0.0.1:$port" --key-file "$T/link.key" --images "$IMAGES" --limit 500 --threads 1)

echo "== load: $CLIENTS edges for $LOAD_SECONDS s"
"$SEMCOM" link-load "${edge[@]}" --clients "$CLIENTS" --duration "$LOAD_SECONDS" | tee "$OUT/load.txt"

echo "== faults: $CLIENTS edges for $FAULT_SECONDS s; the server killed (SIGKILL) and restarted, then stopped (SIGTERM) and restarted"
"$SEMCOM" link-load "${edge[@]}" --clients "$CLIENTS" --duration "$FAULT_SECONDS" > "$OUT/faults.txt" 2>&1 &
load_pid=$!
sleep $((FAULT_SECONDS / 3))
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
sleep 1
start_server
sleep $((FAULT_SECONDS / 3))
kill -TERM "$server_pid"
status=0; wait "$server_pid" || status=$?
[ "$status" = 0 ] || { echo "load-test: the server exited $status after SIGTERM, not 0"; exit 1; }
grep -q "draining" "$OUT/load-serve.log" || { echo "load-test: no drain in the server's log"; exit 1; }
start_server
status=0; wait "$load_pid" || status=$?
cat "$OUT/faults.txt"
[ "$status" = 0 ] || { echo "load-test: link-load exited $status under faults"; exit 1; }
retried=$(sed -n 's/.*sent again after a lost connection \([0-9]*\).*/\1/p' "$OUT/faults.txt")
[ "${retried:-0}" -gt 0 ] || { echo "load-test: no request was resent: the faults did not hit a request in flight"; exit 1; }
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
echo "load-test: passed (results in $OUT)"
