#!/usr/bin/env bash
# The Android build of authcore-ffi:
#
#   scripts/build-android.sh          with an NDK (ANDROID_NDK_HOME) and cargo-ndk: the .so for
#                                     arm64-v8a, armeabi-v7a and x86_64 into
#                                     android/authcore/src/main/jniLibs; without (as in CI here):
#                                     a compile check, the aarch64-linux-android staticlib built
#                                     with Debian's clang (installed with apt when missing)
#   scripts/build-android.sh --check  the compile check, also with an NDK
#
# The NDK build uses the size-first `mobile` profile, the compile check `mobile-check`. Prints the path of the built library (or of jniLibs)
# on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
api=21
log() { echo "build-android: $*" >&2; }
die() { echo "build-android: error: $*" >&2; exit 1; }

mode=ndk
[ -n "${ANDROID_NDK_HOME:-}" ] && [ -d "${ANDROID_NDK_HOME:-}" ] && command -v cargo-ndk >/dev/null 2>&1 || mode=check
[ "${1:-}" = --check ] && mode=check

add_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return
  log "rustup target add $1"
  rustup target add "$1" >&2 || die "rustup target add $1 failed"
}

if [ "$mode" = ndk ]; then
  for t in aarch64-linux-android armv7-linux-androideabi x86_64-linux-android; do add_target "$t"; done
  out=android/authcore/src/main/jniLibs
  log "cargo ndk: arm64-v8a armeabi-v7a x86_64 -> $out"
  cargo ndk --platform "$api" -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$out" \
    build --locked -p authcore-ffi --lib --profile mobile >&2
  echo "$PWD/$out"
  exit 0
fi

add_target aarch64-linux-android
if ! command -v clang >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "clang not found and no apt-get to install it"
  log "installing clang (apt)"
  mkdir -p "$cache"
  { DEBIAN_FRONTEND=noninteractive apt-get -qq update &&
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends clang; } \
    >"$cache/apt-clang.log" 2>&1 || { tail -n 20 "$cache/apt-clang.log" >&2; die "apt-get install clang failed"; }
fi
# The mobile profile without LTO (parallel codegen): the check proves the code builds for the
# target in a fraction of the time; the NDK build above is the one that ships.
log "compile check: aarch64-linux-android staticlib (mobile-check profile, Debian clang, no NDK)"
export CC_aarch64_linux_android=clang
export CFLAGS_aarch64_linux_android="--target=aarch64-linux-android$api -nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
# Only the staticlib: the cdylib would need the NDK's linker.
cargo rustc --locked -p authcore-ffi --lib --crate-type staticlib --profile mobile-check \
  --target aarch64-linux-android >&2
echo "$target_dir/aarch64-linux-android/mobile-check/libauthcore_ffi.a"
