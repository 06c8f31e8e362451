#!/usr/bin/env bash
# Tessera from request to reward, with verification you can watch: builds tessera-node and
# tessera-trainer, starts a dev chain at its default spot-check rate and seven trainers, registers
# two trainer nodes (Eve's trainer reports wrong digests) and three validators, and shows live,
# block by block, a two-replica fine-tuning job disputed, bisected to a segment, re-executed by a
# panel that commits and reveals, the liar convicted and slashed, the panel and Dave paid and the
# new model version; then a federated job of two rounds on three trainers, aggregated by the
# validators. Ends with a summary table (stake, reputation, reward, panel and aggregation fees)
# and the polkadot-js apps link; Ctrl-C stops everything it started.
#
#   scripts/demo.sh            RPC on 9944
#   RPC_PORT=9955 scripts/demo.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

build_node_and_trainer

cd tests/e2e
TESSERA_NODE="$TESSERA_NODE" TESSERA_TRAINER="$TESSERA_TRAINER" exec node demo.mjs "${RPC_PORT:-9944}"
