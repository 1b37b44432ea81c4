#!/usr/bin/env bash
# The Android build of authcore-ffi:
#
#   scripts/build-android.sh          with an NDK (ANDROID_NDK_HOME or ANDROID_NDK_ROOT): the .so
#                                     for arm64-v8a, armeabi-v7a, x86 and x86_64 into
#                                     android/authcore/src/main/jniLibs, linked by the NDK's clang;
#                                     without (as in CI here): a compile check, the
#                                     aarch64-linux-android staticlib built with Debian's clang
#                                     (installed with apt when missing)
#   scripts/build-android.sh --ndk    the NDK build, failing at once when there is no NDK
#                                     (scripts/package-android.sh)
#   scripts/build-android.sh --check  the compile check, also with an NDK
#
# The NDK build uses the size-first `mobile` profile and only the cdylib crate type (with the rlib
# beside it the library keeps every Rust symbol: +1.15 MiB); its link flags (packed relocations,
# 16 KiB pages) are per target in .cargo/config.toml. The compile check uses `mobile-check`.
# Prints the path of the built library (or of jniLibs) on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
# The apps' minSdk (android/authcore/build.gradle.kts): the libraries link against this API level.
api=26
log() { echo "build-android: $*" >&2; }
die() { echo "build-android: error: $*" >&2; exit 1; }

ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
mode=check
[ -n "$ndk" ] && [ -d "$ndk" ] && mode=ndk
case "${1:-}" in
  --check) mode=check ;;
  --ndk)
    [ -n "$ndk" ] || die "no Android NDK: set ANDROID_NDK_HOME (sdkmanager \"ndk;27.2.12479018\" or newer)"
    [ -d "$ndk" ] || die "ANDROID_NDK_HOME=$ndk is not a directory"
    mode=ndk ;;
  "") ;;
  *) die "unknown argument $1 (expected --ndk or --check)" ;;
esac

add_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return
  log "rustup target add $1"
  rustup target add "$1" >&2 || die "rustup target add $1 failed"
}

if [ "$mode" = ndk ]; then
  case "$(uname -s)" in
    Linux) host_tag=linux-x86_64 ;;
    Darwin) host_tag=darwin-x86_64 ;; # also on Apple silicon: the NDK ships universal binaries there
    *) die "the NDK build runs on Linux or macOS" ;;
  esac
  bin=$ndk/toolchains/llvm/prebuilt/$host_tag/bin
  [ -x "$bin/clang" ] || die "$ndk is not an NDK: no $bin/clang"
  out=android/authcore/src/main/jniLibs
  # <Android ABI>:<Rust target>:<NDK clang target prefix>
  for spec in arm64-v8a:aarch64-linux-android:aarch64-linux-android \
    armeabi-v7a:armv7-linux-androideabi:armv7a-linux-androideabi \
    x86:i686-linux-android:i686-linux-android x86_64:x86_64-linux-android:x86_64-linux-android; do
    IFS=: read -r abi rust_target clang_target <<<"$spec"
    add_target "$rust_target"
    upper=$(echo "$rust_target" | tr 'a-z-' 'A-Z_')
    lower=${rust_target//-/_}
    export "CARGO_TARGET_${upper}_LINKER=$bin/$clang_target$api-clang"
    export "CC_${lower}=$bin/$clang_target$api-clang" "AR_${lower}=$bin/llvm-ar"
    log "$abi: $rust_target (mobile profile, NDK clang, API $api)"
    cargo rustc --locked -p authcore-ffi --lib --crate-type cdylib --profile mobile \
      --target "$rust_target" >&2
    mkdir -p "$out/$abi"
    cp "$target_dir/$rust_target/mobile/libauthcore_ffi.so" "$out/$abi/"
    log "$out/$abi/libauthcore_ffi.so: $(wc -c <"$out/$abi/libauthcore_ffi.so" | tr -d ' ') bytes"
  done
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
