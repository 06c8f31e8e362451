#!/usr/bin/env bash
# Installs what Tessera's build and tests need and is missing; touches nothing else.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# chromium: the dashboard's browser test drives it headless.
install_debian_packages protobuf-compiler clang libclang-dev cmake pkg-config libssl-dev chromium

# substrate-wasm-builder builds runtimes for wasm32v1-none and needs the standard library's source.
installed_targets=$(rustup target list --installed)
grep -qx wasm32v1-none <<<"$installed_targets" || { log "adding rust target wasm32v1-none"; rustup target add wasm32v1-none; }
rustup component list --installed | grep -q '^rust-src' || { log "adding rust-src"; rustup component add rust-src; }

# npm writes node_modules/.package-lock.json on install: older than the lockfile means stale.
for dir in tests/e2e dashboard; do
  packages="$TESSERA_ROOT/$dir"
  if [ ! "$packages/node_modules/.package-lock.json" -nt "$packages/package-lock.json" ]; then
    log "installing the npm packages of $dir"
    (cd "$packages" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
