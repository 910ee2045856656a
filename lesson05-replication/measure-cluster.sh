#!/usr/bin/env bash
# Write throughput of a cluster of three shards (redis-benchmark --cluster
# needs at least two) with 1, 2 and 3 replicas per shard, W = 1 against
# W = majority, measured with redis-benchmark --cluster: the cluster-aware
# mode, which reads CLUSTER NODES and sends each key to its shard's leader.
# Each run gets a fresh cluster and data directory; the table shows the
# median of REPS runs. All nodes share this machine's cores.
#
#   lesson05-replication/measure-cluster.sh          # N=50000 REPS=3
#   N=20000 REPS=1 lesson05-replication/measure-cluster.sh
set -euo pipefail

N=${N:-50000}
REPS=${REPS:-3}
PORT=${PORT:-7300}

if ! command -v redis-benchmark >/dev/null 2>&1; then
    echo "measure-cluster: redis-benchmark not found; skipping (apt-get install redis-tools)"
    exit 0
fi

cd "$(dirname "$0")/.."
cargo build --release -p lesson05-replication >&2
BIN="${CARGO_TARGET_DIR:-target}/release/lesson05-replication"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/measure-cluster.XXXXXX")
PID=""
cleanup() {
    [[ -n "$PID" ]] && { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT

# One run: prints SET requests per second.
run() {
    local replicas=$1 quorum=$2
    rm -rf "$WORK/data"
    "$BIN" cluster --shards 3 --replicas "$replicas" --quorum "$quorum" \
        --port "$PORT" --data-dir "$WORK/data" > "$WORK/layout" 2>/dev/null &
    PID=$!
    for _ in $(seq 100); do grep -q leader "$WORK/layout" 2>/dev/null && break; sleep 0.1; done
    redis-benchmark --cluster -p "$PORT" -t set -n "$N" -r 100000 -c 50 -q 2>/dev/null \
        | tr '\r' '\n' | grep -o 'SET: [0-9.]* requests per second' | grep -o '[0-9.]*' | head -1
    kill -TERM "$PID"; wait "$PID" || true; PID=""
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

MEASURES=""
printf '%-9s %-9s %12s\n' replicas quorum "SET/s"
for nodes in 1 2 3; do
    for quorum in 1 majority; do
        results=$(for _ in $(seq "$REPS"); do run $((nodes - 1)) "$quorum"; done | median)
        printf '%-9s %-9s %12s\n' "$nodes" "$quorum" "$results"
        MEASURES+="measure: cluster/$nodes replicas/W=$quorum = $results"$'\n'
    done
done
# For `cargo x measure --set lesson05-cluster`, which renders the book's table.
printf '%s' "$MEASURES"
