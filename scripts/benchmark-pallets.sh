#!/usr/bin/env bash
# Regenerates the weights.rs of Tessera's pallets on this machine: builds tessera-node with
# the `runtime-benchmarks` feature (in its own target directory, so that the everyday build
# stays as it is) and runs `tessera-node benchmark pallet` for each pallet.
#
#   scripts/benchmark-pallets.sh                 every pallet under pallets/
#   scripts/benchmark-pallets.sh node-registry   one pallet
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

bench_target="$CARGO_TARGET_DIR/benchmarks"
log "building tessera-node with runtime-benchmarks (target $bench_target)"
cargo build --locked --profile "$CARGO_PROFILE" --target-dir "$bench_target" \
  -p tessera-node --features runtime-benchmarks
node="$bench_target/$CARGO_PROFILE/tessera-node"
runtime="$bench_target/$CARGO_PROFILE/wbuild/tessera-runtime/tessera_runtime.compact.compressed.wasm"

pallets=("$@")
[ ${#pallets[@]} -gt 0 ] || mapfile -t pallets < <(ls pallets)
for pallet in "${pallets[@]}"; do
  crate="pallet_${pallet//-/_}"
  output="pallets/$pallet/src/weights.rs"
  log "benchmarking $crate into $output"
  "$node" benchmark pallet \
    --runtime "$runtime" \
    --genesis-builder-preset development \
    --pallet "$crate" --extrinsic '*' \
    --steps 50 --repeat 20 \
    --heap-pages 4096 \
    --template scripts/weight-template.hbs \
    --output "$output"
done
