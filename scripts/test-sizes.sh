#!/usr/bin/env bash
# The budget comparison of scripts/sizes.sh, against fake libraries of known sizes in a scratch
# target dir (`--no-build`, `--budgets`, `--out`: nothing is built, docs/sizes.md is untouched).
# Run by the `mobile` layer of scripts/test.sh. Prints one line per case and closes with
# "test-sizes: N passed, N failed"; exits 1 if any case failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0

# A target dir holding a host cdylib of $1 bytes and, unless $2 is "none", both mobile archives of
# $2 bytes.
fake_target() {
  local dir=$scratch/target-$1-$2
  mkdir -p "$dir/mobile"
  head -c "$1" /dev/zero >"$dir/mobile/libauthcore_ffi.so"
  cp "$dir/mobile/libauthcore_ffi.so" "$dir/mobile/libauthcore_ffi.dylib"
  if [ "$2" != none ]; then
    for triple in aarch64-linux-android aarch64-apple-ios; do
      mkdir -p "$dir/$triple/mobile-check"
      head -c "$2" /dev/zero >"$dir/$triple/mobile-check/libauthcore_ffi.a"
    done
  fi
  echo "$dir"
}

budget_file() { # name: the rest of the arguments are its lines
  local file=$scratch/$1
  shift
  printf '%s\n' "$@" >"$file"
  echo "$file"
}

# expect <case> <target dir> <budget file> <status> <exact stderr line or "-">
expect() {
  local name=$1 target=$2 budgets=$3 want_status=$4 want_line=$5 status
  CARGO_TARGET_DIR=$target scripts/sizes.sh --no-build --budgets "$budgets" --out "$scratch/sizes.md" \
    2>"$scratch/stderr" >/dev/null
  status=$?
  if [ "$status" -ne "$want_status" ]; then
    echo "FAILED: $name: exit status $status, expected $want_status"; cat "$scratch/stderr"
    failed=$((failed + 1)); return
  fi
  if [ "$want_line" != - ] && ! grep -qxF -- "$want_line" "$scratch/stderr"; then
    echo "FAILED: $name: stderr lacks the line: $want_line"; cat "$scratch/stderr"
    failed=$((failed + 1)); return
  fi
  echo "ok: $name"
  passed=$((passed + 1))
}

host="host cdylib \`libauthcore_ffi.so\`"
[ "$(uname -s)" = Darwin ] && host="host cdylib \`libauthcore_ffi.dylib\`"
android="Android \`aarch64-linux-android\` staticlib"
ios="iOS \`aarch64-apple-ios\` staticlib"

small=$(fake_target 5000 20000)
roomy=$(budget_file roomy.txt "# comment" "host-cdylib 5000" "" "android-aarch64-staticlib 20000  # equal is within" "ios-aarch64-staticlib 30000")
expect "libraries at or under their budgets pass" "$small" "$roomy" 0 \
  "sizes: every library is within its budget ($roomy)"

tiny=$(budget_file tiny.txt "host-cdylib 4999" "android-aarch64-staticlib 20000" "ios-aarch64-staticlib 20000")
expect "a host cdylib one byte over its budget fails, named with its size and budget" "$small" "$tiny" 1 \
  "sizes: FAILED: $host is 5000 bytes, over its budget of 4999 bytes ($tiny)"
if grep -q '^| host cdylib .*: \*\*OVER\*\* |' "$scratch/sizes.md"; then
  echo "ok: the table is still written, the row marked OVER"; passed=$((passed + 1))
else
  echo "FAILED: the table of a failing run lacks the OVER row"; failed=$((failed + 1))
fi

both=$(budget_file both.txt "host-cdylib 5000" "android-aarch64-staticlib 100" "ios-aarch64-staticlib 200")
expect "every library over its budget is named (Android)" "$small" "$both" 1 \
  "sizes: FAILED: $android is 20000 bytes, over its budget of 100 bytes ($both)"
expect "every library over its budget is named (iOS)" "$small" "$both" 1 \
  "sizes: FAILED: $ios is 20000 bytes, over its budget of 200 bytes ($both)"

host_only=$(fake_target 5000 none)
expect "a mobile library that is not built is not over its budget" "$host_only" "$both" 0 \
  "sizes: every library is within its budget ($both)"

missing=$(budget_file missing.txt "host-cdylib 5000" "android-aarch64-staticlib 100")
expect "a budget file without a library's budget is an error" "$small" "$missing" 1 \
  "sizes: error: $missing has no budget for ios-aarch64-staticlib"

malformed=$(budget_file malformed.txt "host-cdylib 5000" "" "android-aarch64-staticlib 3 MiB")
expect "a malformed budget line is an error naming the line" "$small" "$malformed" 1 \
  "sizes: error: $malformed:3: expected \`<library> <bytes>\`, got \`android-aarch64-staticlib 3 MiB\`"

expect "a missing budget file is an error" "$small" "$scratch/nope.txt" 1 \
  "sizes: error: no budget file $scratch/nope.txt"

echo "test-sizes: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
