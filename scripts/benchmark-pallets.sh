#!/usr/bin/env bash
# Regenerates the weights.rs of Tessera's pallets on this machine: builds tessera-node with
# the `runtime-benchmarks` feature (`build_benchmark_node`) and runs
# `tessera-node benchmark pallet` for each pallet.
#
#   scripts/benchmark-pallets.sh                 every pallet under pallets/
#   scripts/benchmark-pallets.sh node-registry   one pallet
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

build_benchmark_node

pallets=("$@")
[ ${#pallets[@]} -gt 0 ] || mapfile -t pallets < <(ls pallets)
for pallet in "${pallets[@]}"; do
  crate="pallet_${pallet//-/_}"
  output="pallets/$pallet/src/weights.rs"
  log "benchmarking $crate into $output"
  benchmark_pallet --pallet "$crate" --extrinsic '*' \
    --template scripts/weight-template.hbs --output "$output"
done
