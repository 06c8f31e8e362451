#!/usr/bin/env bash
# How long `tessera-node --dev --tmp` takes until its RPC server answers: what every end-to-end
# test file pays before its first test. Starts the node RUNS times (default 5) and prints each
# time and the median. Usage: scripts/dev-start-time.sh [RUNS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"
runs="${1:-5}"

log "building tessera-node ($CARGO_PROFILE)"
cargo build --locked --profile "$CARGO_PROFILE" -p tessera-node

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
work="$(mktemp -d)"
node_pid=
stop_node() {
  if [ -n "$node_pid" ]; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
    node_pid=
  fi
}
trap 'stop_node; rm -rf "$work"' EXIT

times=()
for run in $(seq "$runs"); do
  start="$(date +%s%N)"
  "$TESSERA_NODE" --dev --tmp --rpc-port "$port" --port 0 --no-prometheus --no-telemetry --no-mdns \
    >"$work/node.log" 2>&1 &
  node_pid=$!
  # The node logs this line once its RPC server accepts connections.
  until grep -q 'Running JSON-RPC server' "$work/node.log"; do
    kill -0 "$node_pid" 2>/dev/null || { cat "$work/node.log"; echo "tessera-node exited" >&2; exit 1; }
    sleep 0.05
  done
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  stop_node
  times+=("$elapsed_ms")
  printf 'run %d: RPC up after %d.%03d s\n' "$run" $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
done

median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
printf 'median of %d starts: %d.%03d s (%d CPU cores)\n' "$runs" $((median / 1000)) $((median % 1000)) "$(nproc)"
