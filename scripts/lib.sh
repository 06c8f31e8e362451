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

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

debian_package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Installs those of the Debian packages named that are missing.
install_debian_packages() {
  local package missing=()
  for package in "$@"; do
    debian_package_installed "$package" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

# Builds tessera-node (the workspace) and tessera-trainer.
build_node_and_trainer() {
  log "building the workspace and tessera-trainer ($CARGO_PROFILE, target $CARGO_TARGET_DIR)"
  cargo build --locked --profile "$CARGO_PROFILE" --workspace
  CARGO_TARGET_DIR="$TRAINER_TARGET_DIR" cargo build --locked --profile "$CARGO_PROFILE" \
    --manifest-path offchain-trainer/Cargo.toml --features kubo --bin tessera-trainer
}

# tessera-node with the `runtime-benchmarks` feature, in a target directory of its own so that
# the everyday build stays as it is, and the runtime it benchmarks.
BENCHMARK_TARGET_DIR="$CARGO_TARGET_DIR/benchmarks"
BENCHMARK_NODE="$BENCHMARK_TARGET_DIR/$CARGO_PROFILE/tessera-node"
BENCHMARK_RUNTIME="$BENCHMARK_TARGET_DIR/$CARGO_PROFILE/wbuild/tessera-runtime/tessera_runtime.compact.compressed.wasm"

build_benchmark_node() {
  log "building tessera-node with runtime-benchmarks (target $BENCHMARK_TARGET_DIR)"
  cargo build --locked --profile "$CARGO_PROFILE" --target-dir "$BENCHMARK_TARGET_DIR" \
    -p tessera-node --features runtime-benchmarks
}

# Runs `tessera-node benchmark pallet` on the benchmark runtime's development genesis, 50 steps
# and 20 repeats of each benchmark; the arguments say which pallets and extrinsics, and where
# to write what through which template.
benchmark_pallet() {
  "$BENCHMARK_NODE" benchmark pallet --runtime "$BENCHMARK_RUNTIME" \
    --genesis-builder-preset development --steps 50 --repeat 20 --heap-pages 4096 "$@"
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

# The Debian packages scripts/determinism.sh builds and runs the other targets with: aarch64's
# gcc and C library, qemu-user (qemu-aarch64) and musl-tools (musl-gcc).
DETERMINISM_PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user musl-tools)

determinism_toolchains_installed() {
  local package
  for package in "${DETERMINISM_PACKAGES[@]}"; do
    debian_package_installed "$package" || return 1
  done
}
