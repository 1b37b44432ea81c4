#!/usr/bin/env bash
# Writes docs/sizes.md: the size of the host cdylib (mobile profile: opt-level z, LTO, one codegen
# unit, stripped) against its budget (<= 3 MiB, ARCHITECTURE.md), and of the Android and iOS
# staticlibs that scripts/build-android.sh and scripts/build-ios.sh left in the target dir.
# Builds the host cdylib itself; a missing mobile library is reported as "not built".
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
budget=$((3 * 1024 * 1024))
case "$(uname -s)" in Darwin) host_lib=libauthcore_ffi.dylib ;; *) host_lib=libauthcore_ffi.so ;; esac

echo "sizes: building the host cdylib (mobile profile)" >&2
cargo build --locked -p authcore-ffi --lib --profile mobile >&2
host=$target_dir/mobile/$host_lib

size_of() { [ -f "$1" ] && wc -c <"$1" | tr -d ' ' || echo; }
human() { [ -n "$1" ] && awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }' || echo "not built"; }
row() { # name file note
  local bytes; bytes=$(size_of "$2")
  echo "| $1 | $(human "$bytes") | ${bytes:--} | $3 |"
}

host_bytes=$(size_of "$host")
[ -n "$host_bytes" ] || { echo "sizes: no $host" >&2; exit 1; }
if [ "$host_bytes" -le "$budget" ]; then verdict="met"; else verdict="NOT met"; fi
{
  echo "# Library sizes"
  echo
  echo "Written by \`scripts/sizes.sh\` (run by \`scripts/test.sh\`, layer \`mobile\`); do not edit by hand."
  echo "Profile \`mobile\` (root Cargo.toml): \`opt-level = \"z\"\`, LTO, one codegen unit, \`strip = true\`."
  echo "rustc: $(rustc --version | cut -d' ' -f2), host: $(rustc -vV | sed -n 's/^host: //p')."
  echo
  echo "| library | size | bytes | notes |"
  echo "| --- | --- | --- | --- |"
  row "host cdylib \`$host_lib\` (stripped)" "$host" "budget <= 3 MiB: **$verdict**"
  row "Android \`aarch64-linux-android\` staticlib" "$target_dir/aarch64-linux-android/mobile-check/libauthcore_ffi.a" \
    "scripts/build-android.sh compile check (\`mobile-check\`: no LTO); an archive (unstripped objects incl. std), the app's linker keeps only what is used"
  row "iOS \`aarch64-apple-ios\` staticlib" "$target_dir/aarch64-apple-ios/mobile-check/libauthcore_ffi.a" \
    "scripts/build-ios.sh compile check (\`mobile-check\`: no LTO); likewise an archive, the XCFramework's device slice"
  # Where the host library's bytes go (ELF sections, when binutils' `size` is there).
  if [ "$(uname -s)" = Linux ] && command -v size >/dev/null 2>&1; then
    echo
    echo "Where the host cdylib's bytes go (\`size -A\`):"
    echo
    echo "| part | sections | size |"
    echo "| --- | --- | --- |"
    size -A "$host" | awk '
      $1 == ".text" { code += $2 }
      $1 == ".eh_frame" || $1 == ".eh_frame_hdr" || $1 == ".gcc_except_table" { unwind += $2 }
      $1 == ".rodata" { ro += $2 }
      $1 ~ /^\.rela/ || $1 == ".data.rel.ro" || $1 == ".got" { reloc += $2 }
      $1 ~ /^\.dyn/ { dyn += $2 }
      function mib(b) { return sprintf("%.2f MiB", b / 1048576) }
      END {
        print "| machine code | .text | " mib(code) " |"
        print "| unwind tables (panic = unwind, so uniffi can catch a panic at the FFI boundary) | .eh_frame, .eh_frame_hdr, .gcc_except_table | " mib(unwind) " |"
        print "| constants (root certificates, ring and Unicode tables, strings) | .rodata | " mib(ro) " |"
        print "| relocations and pointer tables | .rela.*, .data.rel.ro, .got | " mib(reloc) " |"
        print "| exported symbols (uniffi scaffolding) | .dyn* | " mib(dyn) " |"
      }'
  fi
  if [ -f docs/sizes-notes.md ]; then echo; cat docs/sizes-notes.md; fi
} >docs/sizes.md
echo "sizes: host cdylib $(human "$host_bytes") (budget 3 MiB $verdict); docs/sizes.md written" >&2
