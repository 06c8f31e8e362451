#!/usr/bin/env bash
# Tessera as a parachain on a local relay chain (zombienet/tessera.toml, native provider).
#
#   scripts/zombienet.sh            build what is missing, then run the zombienet tests
#   scripts/zombienet.sh spawn      build what is missing, then spawn the network, enrol both
#                                   collators' compute nodes, print the endpoints; Ctrl-C stops it
#   scripts/zombienet.sh install    only build the relay chain binaries
#
# The relay chain binaries (polkadot and its two PVF workers) are built from source once, from
# the polkadot-sdk release Tessera uses (zombienet/relay), and kept in $RELAY_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

install_relay() {
  if relay_installed; then
    return
  fi
  log "building the relay chain binaries into $RELAY_DIR (once; about an hour on two cores)"
  # The rococo runtime's WASM build must resolve against the relay crate's own lockfile.
  WASM_BUILD_WORKSPACE_HINT="$TESSERA_ROOT/zombienet/relay" \
    cargo build --locked --profile "$CARGO_PROFILE" --manifest-path zombienet/relay/Cargo.toml
  mkdir -p "$RELAY_DIR"
  for binary in "${RELAY_BINARIES[@]}"; do
    cp "$CARGO_TARGET_DIR/$CARGO_PROFILE/$binary" "$RELAY_DIR/"
  done
}

# The zombienet driver and tests are a workspace of their own (zombienet-sdk brings its own
# subxt and sp-core), built beside the chain. `--target-dir`, not CARGO_TARGET_DIR: the driver
# runs scripts/genesis-model.sh, which must find the trainer where lib.sh says it is.
zombienet_cargo() {
  PATH="$RELAY_DIR:$(dirname "$TESSERA_NODE"):$(dirname "$TESSERA_TRAINER"):$PATH" \
    cargo "$1" --locked --profile "$CARGO_PROFILE" --manifest-path zombienet/Cargo.toml \
    --target-dir "$CARGO_TARGET_DIR/zombienet" "${@:2}"
}

case "${1:-test}" in
  install)
    install_relay
    ;;
  test)
    install_relay
    build_node_and_trainer
    log "zombienet tests"
    # The tests run as a job in a process group of its own, killed on the way out: zombienet's
    # teardown stops at the first process it finds already gone and leaves the rest running.
    set -m
    zombienet_cargo test --test parachain &
    tests=$!
    trap 'kill -KILL -- "-$tests" 2>/dev/null || true' EXIT
    wait "$tests"
    ;;
  spawn)
    install_relay
    build_node_and_trainer
    zombienet_cargo run --bin tessera-zombienet
    ;;
  *)
    echo "usage: $0 [test|spawn|install]" >&2
    exit 2
    ;;
esac
