#!/usr/bin/env bash
# Builds tessera-node, starts a dev chain and follows its blocks until Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

RPC_PORT="${RPC_PORT:-9944}"

log "building tessera-node"
cargo build --locked --profile "$CARGO_PROFILE" --workspace

node_log="$(mktemp -t tessera-demo-node.XXXXXX.log)"
"$TESSERA_NODE" --dev --tmp --rpc-port "$RPC_PORT" --rpc-cors all >"$node_log" 2>&1 &
node_pid=$!
stop() {
  kill -INT "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  log "stopped tessera-node (its log: $node_log)"
}
trap stop EXIT
trap 'exit 130' INT TERM

log "tessera-node --dev started (pid $node_pid, log $node_log)"
cat <<INFO

  RPC endpoint:     ws://127.0.0.1:$RPC_PORT
  polkadot-js apps: https://polkadot.js.org/apps/?rpc=ws://127.0.0.1:$RPC_PORT

  Following new and finalized blocks; Ctrl-C stops the node.

INFO
(cd tests/e2e && node follow-blocks.mjs "ws://127.0.0.1:$RPC_PORT")
