#!/usr/bin/env bash
# The scale benchmark (issue: 1 000 trainers, 300 concurrent jobs): builds tessera-node and runs
# tests/e2e/scale.mjs, which starts a dev node sealing a block every 6 s, registers 1 000
# trainers of 1 000 owners, posts 300 jobs of 3 replicas and, as a load generator signing with
# the 1 000 node keys, pools each checkpoint's 900 authorized commits at once and then its 900
# reveals, watches the hooks verify the jobs and pools 1 000 heartbeats. It prints, per phase
# and block, what got in, block weight and proof size against their limits, the mandatory
# (hook) class, the block's length, the pool's backlog and the node's RSS; and what the pool
# refused or dropped. Takes about 15 minutes, most of it the runtime assigning 4 jobs a block.
# With `--offchain K` it measures the off-chain worker path instead: K node keys in the dev
# node's keystore, one trainer, K/3 jobs trained, committed and revealed by the worker, and the
# worker's time per block.
#
#   scripts/scale.sh                                        the issue's figures
#   scripts/scale.sh --nodes 40 --jobs 10 --block-ms 2000   a quick look
#   scripts/scale.sh --offchain 50                          the off-chain worker path
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh"
cd "$TESSERA_ROOT"

build_node_and_trainer

cd tests/e2e
TESSERA_NODE="$TESSERA_NODE" TESSERA_TRAINER="$TESSERA_TRAINER" exec node scale.mjs "$@"
