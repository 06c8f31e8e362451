#!/usr/bin/env bash
# Regenerates the weights.rs of Tessera's pallets on this machine: builds tessera-node with
# the `runtime-benchmarks` feature (`build_benchmark_node`) and runs
# `tessera-node benchmark pallet` for each pallet.
#
#   scripts/benchmark-pallets.sh                          every pallet under pallets/
#   scripts/benchmark-pallets.sh node-registry            one pallet
#   scripts/benchmark-pallets.sh proof-of-compute/traps   one child pallet
#
# A child pallet is a module of its parent's crate with benchmarks of its own
# (`pallets/proof-of-compute/src/traps/benchmarking.rs`, benchmarked as
# `pallet_proof_of_compute::traps`) and its own weights.rs beside them. Naming a pallet
# benchmarks its children too: their weights include the parent's paths they call.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

build_benchmark_node

pallets=("$@")
[ ${#pallets[@]} -gt 0 ] || mapfile -t pallets < <(ls pallets)
targets=()
for pallet in "${pallets[@]}"; do
  targets+=("$pallet")
  if [[ $pallet != */* ]]; then
    for benchmarks in pallets/"$pallet"/src/*/benchmarking.rs; do
      [ -e "$benchmarks" ] || continue
      child="$(basename "$(dirname "$benchmarks")")"
      targets+=("$pallet/$child")
    done
  fi
done
for target in "${targets[@]}"; do
  pallet="${target%%/*}"
  crate="pallet_${pallet//-/_}"
  output="pallets/$pallet/src/weights.rs"
  if [[ $target == */* ]]; then
    child="${target#*/}"
    crate+="::$child"
    output="pallets/$pallet/src/$child/weights.rs"
  fi
  log "benchmarking $crate into $output"
  benchmark_pallet --pallet "$crate" --extrinsic '*' \
    --template scripts/weight-template.hbs --output "$output"
done
