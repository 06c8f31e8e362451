# Shared by Tessera's scripts: where the build lives and how to run cargo.
# Source it; it sets no shell options of its own.

TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The target directory lives outside the clone so that a fresh clone reuses earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
# The runtime's WASM build looks for Cargo.lock above the target directory unless told
# where the workspace is; without it, it would resolve its own, newer dependencies.
export WASM_BUILD_WORKSPACE_HINT="$TESSERA_ROOT"
# One profile for everything: building, testing and running.
CARGO_PROFILE=release
TESSERA_NODE="$CARGO_TARGET_DIR/$CARGO_PROFILE/tessera-node"
# The trainer is a workspace of its own (see the root Cargo.toml), built beside the chain.
TRAINER_TARGET_DIR="$CARGO_TARGET_DIR/trainer"
TESSERA_TRAINER="$TRAINER_TARGET_DIR/$CARGO_PROFILE/tessera-trainer"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

# Builds tessera-node (the workspace) and tessera-trainer.
build_node_and_trainer() {
  log "building the workspace and tessera-trainer ($CARGO_PROFILE, target $CARGO_TARGET_DIR)"
  cargo build --locked --profile "$CARGO_PROFILE" --workspace
  CARGO_TARGET_DIR="$TRAINER_TARGET_DIR" cargo build --locked --profile "$CARGO_PROFILE" \
    --manifest-path offchain-trainer/Cargo.toml --features kubo --bin tessera-trainer
}

# The relay chain binaries for the zombienet network (zombienet/relay), one directory per
# polkadot-cli release so that moving to another polkadot-sdk release builds them again.
RELAY_DIR="$HOME/.cache/tessera/relay/polkadot-cli-$(sed -n '/^name = "polkadot-cli"$/{n;s/^version = "\(.*\)"$/\1/p}' "$TESSERA_ROOT/zombienet/relay/Cargo.lock")"
RELAY_BINARIES=(polkadot polkadot-prepare-worker polkadot-execute-worker)

relay_installed() {
  local binary
  for binary in "${RELAY_BINARIES[@]}"; do
    [ -x "$RELAY_DIR/$binary" ] || return 1
  done
}
