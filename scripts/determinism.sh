#!/usr/bin/env bash
# Shows that reference-mode training gives the same digests on every machine: runs the trainer's
# golden-digest tests (offchain-trainer/tests/determinism.rs) built for the baseline x86-64, for
# this machine's own CPU (`-C target-cpu=native`, every vector extension it has), for x86-64
# with musl instead of glibc, and for aarch64 run under qemu-aarch64. The digests are constants
# in the test, so every build that passes computed the same ones.
#
# The standard library for musl and aarch64 comes prebuilt only through rustup, which this
# project's machines cannot reach. So those two builds compile it with `cargo -Zbuild-std` from
# the rust-src component of the very rustc in use (the same std source rustup's would be built
# from); RUSTC_BOOTSTRAP=1 lets a stable toolchain take that unstable flag. musl's std links
# LLVM's libunwind statically, which rustup ships prebuilt beside it: this script compiles it
# from the libunwind source in the same rust-src. It installs (Debian) the aarch64 cross gcc and
# C library, qemu-user and musl-tools where they are missing; scripts/test.sh runs it only
# where they are already installed. Each build has its own target directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TESSERA_ROOT"
install_debian_packages "${DETERMINISM_PACKAGES[@]}"

target_dir="$CARGO_TARGET_DIR/determinism"
rust_src="$(rustc --print sysroot)/lib/rustlib/src/rust"
[ -d "$rust_src/library" ] || { echo "determinism.sh: no rust-src in $rust_src (scripts/setup.sh adds it)" >&2; exit 1; }

# The golden-digest tests in one build: what it is built for, its target directory (under
# $target_dir), then cargo's arguments.
golden_digests() {
  local build=$1 directory=$2
  shift 2
  log "golden digests, built for $build"
  CARGO_TARGET_DIR="$target_dir/$directory" cargo test --locked --profile "$CARGO_PROFILE" \
    --manifest-path offchain-trainer/Cargo.toml --test determinism "$@"
}

# Compiles LLVM's libunwind for musl, as rustup's musl std ships it, from rust-src's copy, once
# per rustc version; prints the directory that holds libunwind.a.
musl_libunwind() {
  local source="$rust_src/src/llvm-project/libunwind" out
  out="$target_dir/libunwind-musl-$(rustc --version | cut -d' ' -f2)"
  if [ ! -f "$out/libunwind.a" ]; then
    log "compiling libunwind for musl from $source" >&2
    mkdir -p "$out"
    local flags=(-O2 -fPIC -fstrict-aliasing -funwind-tables -fvisibility=hidden
      -D_LIBUNWIND_DISABLE_VISIBILITY_ANNOTATIONS -D_LIBUNWIND_IS_NATIVE_ONLY -I"$source/include")
    local file objects=()
    for file in UnwindLevel1.c UnwindLevel1-gcc-ext.c Unwind-sjlj.c UnwindRegistersRestore.S UnwindRegistersSave.S; do
      musl-gcc "${flags[@]}" -std=c99 -c "$source/src/$file" -o "$out/$file.o"
      objects+=("$out/$file.o")
    done
    # C++ without its library: libunwind needs none, and musl-gcc's specs give musl's headers.
    g++ -specs /usr/lib/x86_64-linux-musl/musl-gcc.specs "${flags[@]}" -std=c++17 -fno-rtti \
      -fno-exceptions -nostdinc++ -c "$source/src/libunwind.cpp" -o "$out/libunwind.cpp.o"
    ar rcs "$out/libunwind.a" "${objects[@]}" "$out/libunwind.cpp.o"
  fi
  echo "$out"
}

RUSTFLAGS="-C target-cpu=x86-64" golden_digests "x86-64 (baseline)" x86-64
RUSTFLAGS="-C target-cpu=native" golden_digests "this CPU (native)" native

# musl and aarch64 share one directory: its host part (build scripts, proc macros) serves both.
# The musl build is linked fully static (musl-gcc's specs cannot link a static PIE), so it runs
# on musl's libc alone.
export RUSTC_BOOTSTRAP=1
unwind=$(musl_libunwind)
CC_x86_64_unknown_linux_musl=musl-gcc \
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc \
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C link-self-contained=no -C relocation-model=static -L native=$unwind" \
  golden_digests "x86-64 musl" cross -Zbuild-std --target x86_64-unknown-linux-musl
CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
  golden_digests "aarch64, run under qemu-aarch64" cross -Zbuild-std --target aarch64-unknown-linux-gnu
log "the golden digests hold on x86-64 (baseline and native), x86-64 musl and aarch64"
