#!/usr/bin/env bash
# The Swift suite of the bindings (ios/Tests), against a real `authcore server --dev` process:
#   1. a Swift toolchain (scripts/setup-swift.sh: native `swift`, else a cached Debian trixie
#      chroot with swiftlang 6.0); the harness binary (the server);
#   2. the host authcore-ffi library and its Swift bindings (scripts/bindings.sh --no-kotlin, into
#      ios/Generated, which ios/Sources links to);
#   3. the server behind a test CA (scripts/test-server.sh) and a plain-HTTP loopback window onto
#      its /dev/outbox (scripts/outbox-proxy.py: URLSession on Linux cannot trust a test CA);
#   4. `swift test` in ios/ (natively, or in the chroot with the work tree bind-mounted and
#      unmounted afterwards by scripts/swift-in-chroot.sh), linking the host library.
# Closes with exactly one line `swift: N passed, N failed` (XCTest cases); a setup failure counts
# as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
build=$CARGO_TARGET_DIR/swift-tests
python=${AUTHCORE_PYTHON:-python3}
proxy_pid=
# shellcheck source=scripts/test-server.sh
source scripts/test-server.sh

finish() { # passed failed
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; fi
  stop_test_server
  echo "swift: $1 passed, $2 failed"
  [ "$2" -eq 0 ]
  exit
}
setup_failed() {
  echo "test-swift: setup failed: $*" >&2
  finish 0 1
}
trap 'finish 0 1' INT TERM

setup=$(scripts/setup-swift.sh) || setup_failed "Swift toolchain"
eval "$setup"

cargo build --locked -p authcore-harness --bin authcore >&2 || setup_failed "building the server"
rm -rf "$build" && mkdir -p "$build"
library=$(scripts/bindings.sh --no-kotlin | tail -n 1) || setup_failed "building the library or generating bindings"
libdir=$(dirname "$library")

start_test_server "$build" "authcore Swift test CA" || setup_failed "starting the server"
"$python" scripts/outbox-proxy.py "https://127.0.0.1:$TEST_SERVER_PORT" "$TEST_SERVER_CA" "$build/outbox.port" \
  >"$build/outbox.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 50); do [ -s "$build/outbox.port" ] && break; sleep 0.1; done
[ -s "$build/outbox.port" ] || setup_failed "the outbox proxy did not start"

echo "test-swift: swift test ($SWIFT_MODE) against the server on port $TEST_SERVER_PORT" >&2
# The library's directory is inside the work tree the chroot binds (or listed in SWIFT_CHROOT_BINDS).
case "$libdir" in "$PWD"/*) ;; *) export SWIFT_CHROOT_BINDS=$libdir ;; esac
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
env_pairs="AUTHCORE_TEST_PORT=$TEST_SERVER_PORT AUTHCORE_TEST_CA=$TEST_SERVER_CA AUTHCORE_SWIFT_FFI=system"
env_pairs+=" AUTHCORE_TEST_OUTBOX=http://127.0.0.1:$(cat "$build/outbox.port")"
export SWIFT_CHROOT_ENV=$env_pairs
# shellcheck disable=SC2086
export $env_pairs
"$SWIFT_RUN" ios test -Xlinker -L"$libdir" -Xlinker -rpath -Xlinker "$libdir" 2>&1 | tee "$build/run.log" >&2
swift_status=${PIPESTATUS[0]}

# One line per XCTest case: "Test Case '-[AuthcoreTests.X testY]' passed|failed (...)" on Apple,
# "Test Case 'X.testY' passed|failed (...)" on Linux.
passed=$(grep -cE "^Test Case '.*' passed" "$build/run.log")
failed=$(grep -cE "^Test Case '.*' failed" "$build/run.log")
grep -E "^Test Case '.*' (passed|failed)" "$build/run.log" | sed -E "s/^Test Case '(.*)' (passed|failed).*/\2 \1/"
# A build failure or a crashed test binary: count it as a failure.
if [ "$swift_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
finish "$passed" "$failed"
