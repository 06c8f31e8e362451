#!/usr/bin/env bash
# Every test: the workspace's cargo tests, the trainer's (and its golden digests on every target
# when the cross toolchains are installed), the end-to-end tests against a dev node, then the
# zombienet tests when the relay chain binaries are installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

log "building the workspace ($CARGO_PROFILE, target $CARGO_TARGET_DIR)"
cargo build --locked --profile "$CARGO_PROFILE" --workspace

log "cargo tests"
cargo test --locked --profile "$CARGO_PROFILE" --workspace

log "trainer tests (offchain-trainer, a workspace of its own)"
CARGO_TARGET_DIR="$TRAINER_TARGET_DIR" \
  cargo build --locked --profile "$CARGO_PROFILE" --manifest-path offchain-trainer/Cargo.toml --features kubo --bin tessera-trainer
CARGO_TARGET_DIR="$TRAINER_TARGET_DIR" \
  cargo test --locked --profile "$CARGO_PROFILE" --manifest-path offchain-trainer/Cargo.toml --features kubo

if determinism_toolchains_installed; then
  bash scripts/determinism.sh
else
  log "SKIPPED the trainer's golden digests on musl and aarch64: no cross toolchains (scripts/determinism.sh installs them: ${DETERMINISM_PACKAGES[*]})"
fi

log "the development genesis model is reproducible"
scripts/genesis-model.sh --check

# Each test file starts its own nodes and trainers on free ports, so files run side by side:
# one per core unless TESSERA_E2E_CONCURRENCY says otherwise.
e2e_concurrency="${TESSERA_E2E_CONCURRENCY:-$(nproc)}"
log "end-to-end tests (tests/e2e, $e2e_concurrency files at a time)"
(cd tests/e2e && TESSERA_NODE="$TESSERA_NODE" TESSERA_TRAINER="$TESSERA_TRAINER" \
  node --test --test-concurrency="$e2e_concurrency" --test-timeout=600000)

if relay_installed; then
  bash scripts/zombienet.sh test
else
  log "SKIPPED the zombienet tests: no relay chain binaries in $RELAY_DIR (scripts/zombienet.sh install builds them once, about an hour)"
fi
