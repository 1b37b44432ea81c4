#!/usr/bin/env bash
# The iOS library for app developers: the XCFramework, zipped, its SwiftPM checksum, and a Swift
# package that depends on it as a binaryTarget(url:checksum:).
#
#   scripts/package-ios.sh <url of the zip as it will be published>
#
# Writes dist/ios/AuthcoreFFI.xcframework.zip (publish it at <url>), dist/ios/checksum.txt, and
# dist/ios/Authcore/ (Package.swift from ios/Release/Package.swift.template with the url and the
# checksum, the generated Swift bindings and the AuthcorePlatform sources, copied): publish that
# directory as the package's git repository. AUTHCORE_RELEASE_URL may give the url instead.
#
# Needs macOS with Xcode (xcodebuild, swift) and rustup; checks them first and stops at once,
# naming what is missing. Not runnable on the authcore CI machine (Linux); checked with bash -n.
#
# Steps: scripts/build-ios.sh --xcframework (device aarch64-apple-ios and simulator
# aarch64-apple-ios-sim + x86_64-apple-ios staticlibs, mobile profile, with the generated headers
# and module map: ios/Frameworks/AuthcoreFFI.xcframework), `ditto` into the zip, `swift package
# compute-checksum`. Prints the package directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "package-ios: $*" >&2; }
url=${1:-${AUTHCORE_RELEASE_URL:-}}
missing=()
[ "$(uname -s)" = Darwin ] || missing+=("macOS: the XCFramework needs Xcode (this is $(uname -s))")
command -v xcodebuild >/dev/null 2>&1 || missing+=("Xcode's xcodebuild (xcode-select --install is not enough: the full Xcode)")
command -v swift >/dev/null 2>&1 || missing+=("swift (comes with Xcode), for \`swift package compute-checksum\`")
command -v ditto >/dev/null 2>&1 || missing+=("ditto (macOS), to zip the XCFramework as SwiftPM expects")
command -v rustup >/dev/null 2>&1 || missing+=("rustup, to add the iOS targets")
[ -n "$url" ] || missing+=("the URL the zip will be published at: scripts/package-ios.sh <url> (or AUTHCORE_RELEASE_URL)")
case "$url" in "" | https://*) ;; *) missing+=("an https URL for the zip (SwiftPM fetches binary targets over https), not $url") ;; esac
if [ "${#missing[@]}" -gt 0 ]; then
  echo "package-ios: error: cannot build the XCFramework package; missing:" >&2
  for what in "${missing[@]}"; do echo "  - $what" >&2; done
  exit 1
fi

dist=dist/ios
rm -rf "$dist" && mkdir -p "$dist"
log "1/3 the XCFramework (scripts/build-ios.sh --xcframework)"
xcframework=$(scripts/build-ios.sh --xcframework | tail -n 1)
log "2/3 zip and checksum"
zip=$dist/AuthcoreFFI.xcframework.zip
ditto -c -k --sequesterRsrc --keepParent "$xcframework" "$zip"
checksum=$(swift package compute-checksum "$zip")
echo "$checksum" >"$dist/checksum.txt"
log "3/3 the Swift package (dist/ios/Authcore)"
package=$dist/Authcore
mkdir -p "$package/Sources/Authcore" "$package/Sources/AuthcorePlatform"
# build-ios.sh generated the bindings into ios/Generated; copy the files, not the symlinks.
cp ios/Generated/Authcore.swift ios/Generated/AuthcoreCore.swift "$package/Sources/Authcore/"
cp ios/Sources/AuthcorePlatform/*.swift "$package/Sources/AuthcorePlatform/"
sed -e "s|@URL@|$url|" -e "s|@CHECKSUM@|$checksum|" ios/Release/Package.swift.template >"$package/Package.swift"
if grep -q '@URL@\|@CHECKSUM@' "$package/Package.swift"; then
  echo "package-ios: error: $package/Package.swift still has a placeholder" >&2
  exit 1
fi
log "$zip: $(wc -c <"$zip" | tr -d ' ') bytes, checksum $checksum"
echo "$PWD/$package"
