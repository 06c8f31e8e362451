#!/usr/bin/env bash
# Trains the trainer's three models on the GPU backends (`wgpu`, and `cuda` where nvcc is
# installed) and on the reference backend, with the same job as scripts/compare-pytorch.sh,
# through the trainer's own `train` command, and prints each GPU's samples/s against the
# reference backend's and the largest difference between their per-segment mean losses (GPU
# digests are never compared with reference ones: see offchain-trainer/src/backend.rs).
# Needs a GPU: without one it says so and exits 1. CI never runs it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"

if ! compgen -G '/dev/nvidia[0-9]*' >/dev/null && ! compgen -G '/dev/dri/renderD*' >/dev/null; then
  echo "gpu-check: no GPU on this machine (no /dev/nvidia*, no /dev/dri/renderD*); run it where there is one" >&2
  exit 1
fi

backends=(wgpu)
command -v nvcc >/dev/null && backends+=(cuda)
features=$(IFS=,; echo "${backends[*]}")
# A target directory of its own, so that the everyday trainer build keeps its features.
target="$CARGO_TARGET_DIR/trainer-gpu"
log "building tessera-trainer with --features $features (target $target)"
CARGO_TARGET_DIR="$target" cargo build --locked --profile "$CARGO_PROFILE" \
  --manifest-path offchain-trainer/Cargo.toml --features "$features" --bin tessera-trainer
trainer="$target/$CARGO_PROFILE/tessera-trainer"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'the chain keeps the commitments; the trainer keeps the weights. %.0s' {1..64} >"$work/corpus.txt"
corpus=$("$trainer" --store "$work/store" cid "$work/corpus.txt" --add | cut -d' ' -f1)
digits=(--dataset digits --batch-size 64 --seed 7 --checkpoint-every 20 --learning-rate 0.1)
declare -A jobs=(
  [mlp]="${digits[*]} --model mlp --widths 64 --steps 2000"
  [cnn]="${digits[*]} --model cnn --widths 8,16 --steps 300"
  [transformer]="--dataset-cid $corpus --model transformer --widths 32,64,2 --batch-size 16 --steps 40 --checkpoint-every 5 --seed 1 --learning-rate 0.05"
)

# Trains one job on one backend; leaves its per-segment mean losses in $work/<name>.losses and
# prints its samples/s.
train() {
  local model=$1 backend=$2 name="$1-$2"
  # shellcheck disable=SC2086 # the job's arguments are words
  if ! "$trainer" --store "$work/store" train ${jobs[$model]} --backend "$backend" \
    >"$work/$name.out" 2>"$work/$name.err"; then
    echo "gpu-check: training $model on $backend failed:" >&2
    tail -n 5 "$work/$name.err" >&2
    exit 1
  fi
  grep -o '"mean_loss":[^,}]*' "$work/$name.out" | cut -d: -f2 >"$work/$name.losses"
  sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p' "$work/$name.err"
}

printf '%-12s %-8s %14s %14s %8s %16s\n' model gpu "gpu samples/s" "ref samples/s" ratio "max |Δ loss|"
for model in mlp cnn transformer; do
  reference=$(train "$model" reference)
  for backend in "${backends[@]}"; do
    gpu=$(train "$model" "$backend")
    difference=$(paste "$work/$model-$backend.losses" "$work/$model-reference.losses" |
      awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > max) max = d } END { printf "%.6f", max }')
    printf '%-12s %-8s %14.0f %14.0f %8.2f %16s\n' "$model" "$backend" "$gpu" "$reference" \
      "$(awk -v g="$gpu" -v r="$reference" 'BEGIN { print g / r }')" "$difference"
  done
done
