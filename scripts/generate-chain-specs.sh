#!/usr/bin/env bash
# Regenerates the checked-in chain specs in chain-specs/ from the node's built-in specs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"

cargo build --locked --profile "$CARGO_PROFILE" --workspace
for chain in dev local; do
  "$TESSERA_NODE" export-chain-spec --chain "$chain" --raw >"chain-specs/tessera-$chain.json"
  log "wrote chain-specs/tessera-$chain.json"
done
