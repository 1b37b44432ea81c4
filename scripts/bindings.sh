#!/usr/bin/env bash
# Builds the authcore-ffi library for this machine and generates the Kotlin and Swift bindings
# from it (uniffi library mode; the generated files are build output, git-ignored). The library
# holds two uniffi crates: authcore (the core's records and enums, its `uniffi` feature) and
# authcore_ffi (handle objects, errors, platform traits); each crate's uniffi.toml names its
# bindings.
#
#   scripts/bindings.sh [--release] [--jvm] [--kotlin-dir DIR] [--swift-dir DIR] [--no-kotlin] [--no-swift]
#
# Defaults: debug build; Kotlin for the Android library module into
# android/authcore/src/main/kotlin (Android's cleaner): com/example/authcore/authcore_ffi.kt and
# com/example/authcore/core/authcore.kt. Swift into ios/Generated for the Swift package, both
# crates in ONE Swift module (uniffi's Swift refers to another crate's types as members of its own
# module when both crates name the same `module_name`): Authcore.swift (authcore_ffi) and
# AuthcoreCore.swift (authcore), their headers AuthcoreFFI.h and AuthcoreCoreFFI.h, and one
# AuthcoreFFI.modulemap over both headers (the C module `AuthcoreFFI` both files import). The
# Swift is patched so that a cancelled Swift Task cancels the call (scripts/swift-cancellation.py).
# `--jvm` generates Kotlin for a plain JVM (java.lang.ref.Cleaner), as the Kotlin test suite needs.
# Every exception's message is patched to its sentence (scripts/error-messages.py).
# Prints the path of the built host library on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
profile=debug
kotlin_dir=android/authcore/src/main/kotlin
swift_dir=ios/Generated
android=1 kotlin=1 swift=1
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --jvm) android=0 ;;
    --kotlin-dir) kotlin_dir=$2; shift ;;
    --swift-dir) swift_dir=$2; shift ;;
    --no-kotlin) kotlin=0 ;;
    --no-swift) swift=0 ;;
    *) echo "bindings.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

case "$(uname -s)" in
  Darwin) lib=libauthcore_ffi.dylib ;;
  *) lib=libauthcore_ffi.so ;;
esac
flags=(--locked -p authcore-ffi)
[ "$profile" = release ] && flags+=(--release)
echo "bindings: building authcore-ffi ($profile)" >&2
cargo build "${flags[@]}" --features bindgen --lib --bin uniffi-bindgen >&2
library=$target/$profile/$lib
bindgen=$target/$profile/uniffi-bindgen

if [ "$kotlin" = 1 ]; then
  config=()
  [ "$android" = 1 ] && config=(--config bindings/uniffi-android.toml)
  rm -f "$kotlin_dir/com/example/authcore/authcore_ffi.kt" "$kotlin_dir/com/example/authcore/core/authcore.kt"
  mkdir -p "$kotlin_dir"
  "$bindgen" generate --no-format "${config[@]}" --language kotlin --out-dir "$kotlin_dir" "$library" >&2
  # Every exception's `message` is its sentence (uniffi's template lists the fields).
  python3 scripts/error-messages.py "$kotlin_dir/com/example/authcore/authcore_ffi.kt"
  echo "bindings: Kotlin in $kotlin_dir" >&2
fi
if [ "$swift" = 1 ]; then
  rm -rf "$swift_dir"
  mkdir -p "$swift_dir"
  # One crate at a time: uniffi names each crate's file after the (shared) module, Authcore.swift.
  for crate in authcore_ffi authcore; do
    "$bindgen" generate --no-format --language swift --crate "$crate" --out-dir "$swift_dir/$crate" "$library" >&2
  done
  mv "$swift_dir"/authcore_ffi/* "$swift_dir"/
  mv "$swift_dir/authcore/Authcore.swift" "$swift_dir/AuthcoreCore.swift"
  mv "$swift_dir/authcore/AuthcoreCoreFFI.h" "$swift_dir"/
  rm -r "$swift_dir/authcore" "$swift_dir/authcore_ffi"
  # The C module AuthcoreFFI declares both crates' FFI (uniffi's headers share their common part).
  sed -i.orig 's|^\( *\)header "AuthcoreFFI.h"$|&\n\1header "AuthcoreCoreFFI.h"|' "$swift_dir/AuthcoreFFI.modulemap"
  rm "$swift_dir/AuthcoreFFI.modulemap.orig"
  grep -q 'header "AuthcoreCoreFFI.h"' "$swift_dir/AuthcoreFFI.modulemap" ||
    { echo "bindings: AuthcoreFFI.modulemap has no header line to extend" >&2; exit 1; }
  # Swift Task cancellation reaches the Rust future (uniffi's template ignores it).
  python3 scripts/swift-cancellation.py "$swift_dir/Authcore.swift"
  # `localizedDescription` is the error's sentence (uniffi's template reflects the case).
  python3 scripts/error-messages.py "$swift_dir/Authcore.swift"
  echo "bindings: Swift in $swift_dir" >&2
fi
echo "$library"
