#!/usr/bin/env bash
# The Android library for app developers: the AAR of android/authcore (Kotlin bindings, platform
# glue, libauthcore_ffi.so for arm64-v8a, armeabi-v7a, x86 and x86_64, and the dependency on
# rustls-platform-verifier's Kotlin component).
#
#   scripts/package-android.sh    -> android/authcore/build/outputs/aar/authcore-release.aar
#
# Needs: an Android NDK (ANDROID_NDK_HOME or ANDROID_NDK_ROOT), an Android SDK (ANDROID_HOME,
# ANDROID_SDK_ROOT or sdk.dir in android/local.properties) with platform 35, Gradle (android/gradlew
# or `gradle` on PATH) and a JDK 17 (`java`). Checks all of them first and stops at once, naming
# what is missing. Not runnable on the authcore CI machine (no SDK there); checked with bash -n.
#
# Steps: scripts/build-android.sh --ndk (the four .so into android/authcore/src/main/jniLibs,
# mobile profile, NDK clang), scripts/bindings.sh --no-swift (the Kotlin bindings into
# android/authcore/src/main/kotlin), then Gradle `:authcore:assembleRelease`. Prints the AAR's
# path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "package-android: $*" >&2; }
missing=()

ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
if [ -z "$ndk" ]; then
  missing+=("an Android NDK: set ANDROID_NDK_HOME (sdkmanager \"ndk;27.2.12479018\" or newer)")
elif [ ! -d "$ndk/toolchains/llvm/prebuilt" ]; then
  missing+=("an Android NDK at ANDROID_NDK_HOME=$ndk (no toolchains/llvm/prebuilt there)")
fi

sdk=${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}
if [ -z "$sdk" ] && [ -f android/local.properties ]; then
  sdk=$(sed -n 's/^sdk\.dir=//p' android/local.properties)
fi
if [ -z "$sdk" ]; then
  missing+=("an Android SDK: set ANDROID_HOME or sdk.dir in android/local.properties")
elif [ ! -d "$sdk/platforms" ]; then
  missing+=("an Android SDK at $sdk (no platforms/ there: sdkmanager \"platforms;android-35\")")
fi

if [ -x android/gradlew ]; then
  gradle=(./gradlew)
elif command -v gradle >/dev/null 2>&1; then
  gradle=(gradle)
else
  gradle=()
  missing+=("Gradle: android/gradlew or \`gradle\` on PATH (8.9 or newer, for the Android Gradle plugin 8.7)")
fi

command -v java >/dev/null 2>&1 || missing+=("a JDK 17: \`java\` on PATH (or JAVA_HOME/bin)")
command -v cargo >/dev/null 2>&1 || missing+=("cargo (rustup)")

if [ "${#missing[@]}" -gt 0 ]; then
  echo "package-android: error: cannot build the AAR; missing:" >&2
  for what in "${missing[@]}"; do echo "  - $what" >&2; done
  exit 1
fi

export ANDROID_NDK_HOME=$ndk ANDROID_HOME=$sdk
log "1/3 the native libraries (scripts/build-android.sh --ndk)"
jni_libs=$(scripts/build-android.sh --ndk | tail -n 1)
log "2/3 the Kotlin bindings (scripts/bindings.sh --no-swift)"
scripts/bindings.sh --no-swift >/dev/null
log "3/3 Gradle :authcore:assembleRelease"
(cd android && "${gradle[@]}" --no-daemon :authcore:assembleRelease >&2)

aar=android/authcore/build/outputs/aar/authcore-release.aar
[ -f "$aar" ] || { echo "package-android: error: Gradle finished but $aar is not there" >&2; exit 1; }
for so in "$jni_libs"/*/libauthcore_ffi.so; do
  log "$(basename "$(dirname "$so")"): $(wc -c <"$so" | tr -d ' ') bytes"
done
log "$aar: $(wc -c <"$aar" | tr -d ' ') bytes"
echo "$PWD/$aar"
