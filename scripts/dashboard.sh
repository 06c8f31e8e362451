#!/usr/bin/env bash
# Serves Tessera's dashboard on 127.0.0.1 (read-only; it talks to a node over WebSocket).
#
#   scripts/dashboard.sh                       http://127.0.0.1:8080/, node at ws://127.0.0.1:9944
#   PORT=8090 scripts/dashboard.sh
# Open http://127.0.0.1:8080/?rpc=ws://127.0.0.1:9944 (and &trainer=http://127.0.0.1:7070 for
# loss curves, from a trainer started with `serve --allow-origin http://127.0.0.1:8080`: its
# control API answers no other web page) — `scripts/demo.sh` runs a chain with a job to look at.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
exec node "$TESSERA_ROOT/dashboard/serve.mjs" --port "${PORT:-8080}"
