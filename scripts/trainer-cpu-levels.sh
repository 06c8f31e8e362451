#!/usr/bin/env bash
# Shows that reference-mode training does not depend on the CPU level it was compiled for:
# builds the trainer's determinism tests (golden digests) twice, for the baseline x86-64 and
# for this machine's own CPU (`-C target-cpu=native`, which lets the compiler use every
# vector extension here), and runs both. Each build has its own target directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"
for cpu in x86-64 native; do
  log "determinism tests built with -C target-cpu=$cpu"
  RUSTFLAGS="-C target-cpu=$cpu" CARGO_TARGET_DIR="$TRAINER_TARGET_DIR-$cpu" \
    cargo test --locked --profile "$CARGO_PROFILE" --manifest-path offchain-trainer/Cargo.toml \
    --test determinism
done
