#!/usr/bin/env bash
# What a replica's commitment and a node's heartbeat cost a block beside a balance transfer,
# benchmarked side by side in one run on this machine: the ref time (the benchmark's own,
# its reads and writes at the runtime's RocksDB weights, and the base every extrinsic pays)
# and the proof size the runtime charges. An authorized call's benchmark is its whole extrinsic,
# its `authorize` path included, which is what the runtime charges for the two together
# (`tessera_primitives::dispatch_after_authorize`); a signed transfer's signature check is part
# of the extrinsic base.
#
#   scripts/commitment-cost.sh      prints a Markdown table on stdout (the README's, under
#                                   "Benchmarks"); what it builds and runs goes to stderr
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$TESSERA_ROOT/scripts/setup.sh" >&2
cd "$TESSERA_ROOT"

build_benchmark_node >&2
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
log "benchmarking a transfer, commit, reveal and heartbeat" >&2
benchmark_pallet --pallets pallet_balances,pallet_proof_of_compute,pallet_node_registry \
  --extrinsic transfer_keep_alive,commit,reveal,heartbeat \
  --template scripts/cost-template.hbs --output "$results" >&2

# The runtime's `RocksDbWeight` (a read 25 µs, a write 100 µs) and polkadot-sdk's
# `ExtrinsicBaseWeight` (108.157 µs), in picoseconds. A reveal is charged one write more than
# its benchmark, for the availability sample it may queue.
cat "$results"/*.rs | awk -v read=25000000 -v write=100000000 -v base=108157000 '
  NF == 5 { time[$1] = $2 + $3 * read + $4 * write; proof[$1] = $5 }
  END { time["reveal"] += write }
  function row(name, t, p) {
    printf "| %s | %.1f µs | %.2fx | %.1f KB | %.2fx |\n", name, t / 1e6, t / transfer_time, p / 1e3, p / transfer_proof
  }
  END {
    transfer_time = base + time["transfer_keep_alive"]; transfer_proof = proof["transfer_keep_alive"]
    print "| extrinsic | ref time | × transfer | proof size | × transfer |"
    print "|---|---|---|---|---|"
    row("transfer_keep_alive (signed)", transfer_time, transfer_proof)
    split("commit reveal heartbeat", calls, " ")
    for (i = 1; i <= 3; i++) {
      call = calls[i]
      row(call " (authorize path included)", base + time[call], proof[call])
    }
  }'
