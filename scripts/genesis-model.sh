#!/usr/bin/env bash
# Makes the first model of Tessera's development genesis, reproducibly: the iris table as the
# trainer exports it, an MLP with 16 hidden units trained on it for 300 steps on the CPU
# reference backend, and a metadata record naming both. Prints the CIDs and the weights digest
# that `runtime/src/genesis_config_presets.rs` carries.
#
#   scripts/genesis-model.sh                  print the values
#   scripts/genesis-model.sh --check          fail unless the runtime carries exactly these
#   scripts/genesis-model.sh --store DIR      keep the content in the trainer store DIR
#                                             (the demo seeds its trainers so)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"

check=false
store=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=true ;;
    --store) store="$2"; shift ;;
    *) echo "usage: $0 [--check] [--store DIR]" >&2; exit 2 ;;
  esac
  shift
done

CARGO_TARGET_DIR="$TRAINER_TARGET_DIR" cargo build --quiet --locked --profile "$CARGO_PROFILE" \
  --manifest-path offchain-trainer/Cargo.toml --features kubo --bin tessera-trainer

work="$(mktemp -d -t tessera-genesis-model.XXXXXX)"
trap 'rm -rf "$work"' EXIT
store="${store:-$work/store}"
trainer() { "$TESSERA_TRAINER" --store "$store" "$@"; }
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# The hyper-parameters here and in the metadata record below must stay the same.
trainer export --dataset iris >"$work/iris.csv"
dataset_cid="$(trainer cid --add "$work/iris.csv")"
final="$(trainer train --dataset-cid "$dataset_cid" --model mlp --widths 16 --steps 300 \
  --checkpoint-every 300 --batch-size 16 --learning-rate 0.1 --seed 1 --backend reference \
  2>/dev/null | tail -n 1)"
weights_cid="$(json_field state_cid <<<"$final")"
weights_digest="$(json_field weights_digest <<<"$final")"
printf '{"name":"iris-mlp","architecture":{"kind":"mlp","hidden":[16]},"dataset":"%s","hyper_parameters":{"learning_rate":0.1,"batch_size":16,"steps":300,"seed":1},"backend":"reference"}\n' \
  "$dataset_cid" >"$work/metadata.json"
metadata_cid="$(trainer cid --add "$work/metadata.json")"

cat <<VALUES
DATASET_CID=$dataset_cid
METADATA_CID=$metadata_cid
WEIGHTS_CID=$weights_cid
WEIGHTS_DIGEST=$weights_digest
VALUES

if $check; then
  preset=runtime/src/genesis_config_presets.rs
  for value in "DATASET_CID: &str = \"$dataset_cid\"" "METADATA_CID: &str = \"$metadata_cid\"" \
    "WEIGHTS_CID: &str = \"$weights_cid\"" "hex2array!(\"${weights_digest#0x}\")"; do
    if ! grep -qF "$value" "$preset"; then
      echo "$preset does not carry $value: the trainer no longer makes the genesis model" >&2
      exit 1
    fi
  done
  log "the development genesis model is what the trainer makes"
fi
