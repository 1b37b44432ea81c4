#!/usr/bin/env bash
# The iOS build of authcore-ffi (the staticlib the Swift package links):
#
#   scripts/build-ios.sh                on macOS with Xcode: ios/Frameworks/AuthcoreFFI.xcframework
#                                       (device aarch64-apple-ios + simulator aarch64-apple-ios-sim
#                                       and x86_64-apple-ios in one fat slice) with the generated
#                                       header and module map; elsewhere: a compile check, the
#                                       aarch64-apple-ios staticlib only
#   scripts/build-ios.sh --xcframework  the XCFramework, failing at once without macOS and Xcode
#                                       (scripts/package-ios.sh)
#   scripts/build-ios.sh --check        the compile check, also on macOS
#
# The Rust core verifies server certificates with Security.framework (rustls-platform-verifier):
# an app linking the staticlib links Security and CoreFoundation (ios/Package.swift says so).
# The XCFramework uses the size-first `mobile` profile, the check `mobile-check`. The compile check needs no Apple SDK: Debian's clang
# (installed with apt when missing) builds ring's C and assembly against a stub SDK holding only
# TargetConditionals.h (cached under ${AUTHCORE_CACHE:-$HOME/.cache/authcore}/ios-stub-sdk); the
# Rust standard library for the target comes from rustup. Prints the path of the built library
# (or the XCFramework) on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
deployment=13.0
log() { echo "build-ios: $*" >&2; }
die() { echo "build-ios: error: $*" >&2; exit 1; }

mode=xcframework
[ "$(uname -s)" = Darwin ] && command -v xcodebuild >/dev/null 2>&1 || mode=check
case "${1:-}" in
  --check) mode=check ;;
  --xcframework)
    [ "$(uname -s)" = Darwin ] || die "the XCFramework needs macOS with Xcode (this is $(uname -s))"
    command -v xcodebuild >/dev/null 2>&1 || die "the XCFramework needs Xcode's xcodebuild"
    mode=xcframework ;;
  "") ;;
  *) die "unknown argument $1 (expected --xcframework or --check)" ;;
esac

add_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return
  log "rustup target add $1"
  rustup target add "$1" >&2 || die "rustup target add $1 failed"
}

# `cargo rustc --crate-type staticlib`: only the staticlib (the cdylib would need Apple's linker).
profile=mobile
staticlib() { # <rust target>
  cargo rustc --locked -p authcore-ffi --lib --crate-type staticlib --profile "$profile" --target "$1" >&2
  echo "$target_dir/$1/$profile/libauthcore_ffi.a"
}

if [ "$mode" = xcframework ]; then
  add_target aarch64-apple-ios
  add_target aarch64-apple-ios-sim
  add_target x86_64-apple-ios
  export IPHONEOS_DEPLOYMENT_TARGET=$deployment
  device=$(staticlib aarch64-apple-ios)
  # One simulator slice for Apple silicon and Intel Macs.
  simulator=$target_dir/ios-simulator/libauthcore_ffi.a
  mkdir -p "$(dirname "$simulator")"
  lipo -create "$(staticlib aarch64-apple-ios-sim)" "$(staticlib x86_64-apple-ios)" -output "$simulator"
  # The headers (authcore_ffi's and authcore's) and module map the XCFramework exports as the
  # `AuthcoreFFI` module.
  headers=$target_dir/ios-headers
  rm -rf "$headers" && mkdir -p "$headers"
  scripts/bindings.sh --release --no-kotlin --swift-dir ios/Generated >/dev/null
  cp ios/Generated/AuthcoreFFI.h ios/Generated/AuthcoreCoreFFI.h "$headers/"
  cp ios/Generated/AuthcoreFFI.modulemap "$headers/module.modulemap"
  out=ios/Frameworks/AuthcoreFFI.xcframework
  rm -rf "$out"
  xcodebuild -create-xcframework -library "$device" -headers "$headers" \
    -library "$simulator" -headers "$headers" -output "$out" >&2
  log "$out (device $(du -k "$device" | cut -f1) KiB, simulator $(du -k "$simulator" | cut -f1) KiB)"
  echo "$PWD/$out"
  exit 0
fi

# The compile check.
add_target aarch64-apple-ios
if ! command -v clang >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "clang not found and no apt-get to install it"
  log "installing clang (apt)"
  mkdir -p "$cache"
  { DEBIAN_FRONTEND=noninteractive apt-get -qq update &&
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends clang; } \
    >"$cache/apt-clang.log" 2>&1 || { tail -n 20 "$cache/apt-clang.log" >&2; die "apt-get install clang failed"; }
fi
sdk=$cache/ios-stub-sdk
if [ ! -f "$sdk/usr/include/TargetConditionals.h" ]; then
  mkdir -p "$sdk/usr/include"
  cat >"$sdk/usr/include/TargetConditionals.h.tmp" <<'H'
/* Stub of the iOS SDK's TargetConditionals.h: enough for ring's C and assembly (authcore compile check). */
#ifndef TARGET_CONDITIONALS_STUB_H
#define TARGET_CONDITIONALS_STUB_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 0
#define TARGET_OS_IPHONE 1
#define TARGET_OS_IOS 1
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_CPU_ARM64 1
#endif
H
  mv "$sdk/usr/include/TargetConditionals.h.tmp" "$sdk/usr/include/TargetConditionals.h"
fi
# The check compiles and links nothing for a device: the `mobile-check` profile (the mobile profile
# without LTO, parallel codegen) proves the same code builds in a fraction of the time.
profile=mobile-check
log "compile check: aarch64-apple-ios staticlib (mobile-check profile, clang with a stub SDK)"
export SDKROOT=$sdk IPHONEOS_DEPLOYMENT_TARGET=$deployment CC_aarch64_apple_ios=clang
export CFLAGS_aarch64_apple_ios="--target=arm64-apple-ios$deployment -nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -isystem $sdk/usr/include"
staticlib aarch64-apple-ios
