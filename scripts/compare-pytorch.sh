#!/usr/bin/env bash
# Compares the trainer's CPU throughput and final loss with PyTorch's on the same MLP and CNN, data
# and hyper-parameters, with SGD, Adam and AdamW, and times what Adam's step adds to SGD's on the
# trainer's backends (see compare-pytorch.py). Installs torch (CPU use only) and
# scikit-learn from PyPI into a virtual environment under the cache directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"
venv="$HOME/.cache/tessera/pytorch-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, sklearn' 2>/dev/null; then
  log "installing torch and scikit-learn into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch numpy scikit-learn
fi
log "building tessera-trainer"
CARGO_TARGET_DIR="$TRAINER_TARGET_DIR" cargo build --locked --profile "$CARGO_PROFILE" \
  --manifest-path offchain-trainer/Cargo.toml --bin tessera-trainer
"$venv/bin/python" scripts/compare-pytorch.py "$TRAINER_TARGET_DIR/$CARGO_PROFILE/tessera-trainer"
