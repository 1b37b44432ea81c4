#!/usr/bin/env bash
# The one test command. Installs what the tests need (cached under ~/.cache/authcore, so a second
# run is fast), runs every layer even when an earlier one fails, prints one closing line per layer
# ("<layer>: N passed, N failed") and exits non-zero if any layer failed.
#
# Layers: lint (rustfmt, clippy, scripts/check-structure.py: file sizes, path and error-code
# literals, core import cycles), rust (workspace tests), kotlin (the bindings' JVM suite against a
# real server process, scripts/test-kotlin.sh), pyotp (1,000 random codes vs pyotp), swift (the
# bindings' Swift suite, scripts/test-swift.sh), mobile (Android and iOS library builds, the size
# table against its budgets and the test of that comparison: scripts/build-android.sh,
# scripts/build-ios.sh, scripts/sizes.sh, scripts/test-sizes.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
summary=()
status=0

record() { # layer passed failed
  summary+=("$1: $2 passed, $3 failed")
  [ "$3" -eq 0 ] || status=1
}

echo "== setup"
python=$(scripts/setup-python.sh) || { echo "setup: could not create the Python test venv"; exit 1; }
export AUTHCORE_PYTHON=$python

echo "== lint"
lint_passed=0 lint_failed=0
for check in "cargo fmt --all -- --check" "cargo clippy --workspace --all-targets --locked -- -D warnings" "python3 scripts/check-structure.py"; do
  if $check; then lint_passed=$((lint_passed + 1)); else lint_failed=$((lint_failed + 1)); echo "FAILED: $check"; fi
done
record lint $lint_passed $lint_failed

echo "== rust"
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$logs/rust.log"
rust_status=${PIPESTATUS[0]}
read -r rust_passed rust_failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$logs/rust.log")
# A build failure or crashed test binary prints no result line: count it as a failure.
if [ "$rust_status" -ne 0 ] && [ "$rust_failed" -eq 0 ]; then rust_failed=1; fi
record rust "$rust_passed" "$rust_failed"

echo "== kotlin"
scripts/test-kotlin.sh 2>&1 | tee "$logs/kotlin.log"
read -r kt_passed kt_failed < <(awk '/^kotlin:/ { print $2, $4 }' "$logs/kotlin.log")
# No closing line (the script itself broke) is a failure, never a skip.
record kotlin "${kt_passed:-0}" "${kt_failed:-1}"

echo "== pyotp"
if cargo build --locked -p authcore-harness --bin authcore; then
  "$python" scripts/crosscheck/pyotp_codes.py target/debug/authcore 1000 | tee "$logs/pyotp.log"
  read -r py_passed py_failed < <(awk '/^pyotp:/ { print $2, $4 }' "$logs/pyotp.log")
  record pyotp "${py_passed:-0}" "${py_failed:-1}"
else
  record pyotp 0 1
fi

echo "== swift"
scripts/test-swift.sh | tee "$logs/swift.log"
read -r swift_passed swift_failed < <(awk '/^swift:/ { print $2, $4 }' "$logs/swift.log")
record swift "${swift_passed:-0}" "${swift_failed:-1}"

echo "== mobile"
# Compile checks of the Android and iOS libraries (NDK/Xcode builds where available), then the
# size table docs/sizes.md against scripts/size-budgets.txt (a library over its budget fails; the
# scripts print why on stderr, which stays in the log), then the test of that comparison.
mobile_passed=0 mobile_failed=0
for check in scripts/build-android.sh scripts/build-ios.sh scripts/sizes.sh scripts/test-sizes.sh; do
  if $check >/dev/null; then mobile_passed=$((mobile_passed + 1)); else mobile_failed=$((mobile_failed + 1)); echo "FAILED: $check"; fi
done
record mobile $mobile_passed $mobile_failed

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
