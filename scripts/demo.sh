#!/usr/bin/env bash
# Tessera from request to reward: builds tessera-node and tessera-trainer, starts a dev chain
# and four trainers (the fourth reports wrong digests), registers four compute nodes with
# stake whose keys are in the node's keystore, has Ferdie propose fine-tuning the genesis model
# and Alice approve it, and shows live what the chain does with it: assignment, commits,
# reveals, verification, the liar slashed, reputations, rewards and the new model version.
# Ends with a summary table and the polkadot-js apps link; Ctrl-C stops everything it started.
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
