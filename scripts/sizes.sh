#!/usr/bin/env bash
# Writes docs/sizes.md: the size of the host cdylib (mobile profile: opt-level z, LTO, one codegen
# unit, stripped; only the cdylib crate type, packed relative relocations) and of the Android and
# iOS staticlibs that scripts/build-android.sh and scripts/build-ios.sh left in the target dir,
# each against its budget in scripts/size-budgets.txt. Exits 1 when a library is over its budget
# (after writing the table), naming the library, its size and its budget on stderr.
#
#   scripts/sizes.sh [--budgets FILE] [--out FILE] [--no-build]
#
# --budgets: another budget file (scripts/test-sizes.sh); --out: write the table elsewhere;
# --no-build: measure what is in the target dir (${CARGO_TARGET_DIR:-target}) without building
# the host cdylib. A mobile library that is not built is reported as "not built", not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
budgets=scripts/size-budgets.txt
out=docs/sizes.md
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --budgets) budgets=$2; shift ;;
    --out) out=$2; shift ;;
    --no-build) build=0 ;;
    *) echo "sizes: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
goal=$((3 * 1024 * 1024))
case "$(uname -s)" in Darwin) host_lib=libauthcore_ffi.dylib ;; *) host_lib=libauthcore_ffi.so ;; esac

if [ "$build" = 1 ]; then
  # Only the cdylib crate type: built together with the rlib (`cargo build`), the library keeps
  # every Rust-ABI symbol the rlib exports and LTO cannot drop them (+1.15 MiB). ELF hosts pack
  # relative relocations (DT_RELR: glibc 2.36, LLD); Android's own packing is in .cargo/config.toml.
  link=()
  [ "$(uname -s)" = Linux ] && link=(-C "link-arg=-Wl,-z,pack-relative-relocs")
  echo "sizes: building the host cdylib (mobile profile)" >&2
  cargo rustc --locked -p authcore-ffi --lib --crate-type cdylib --profile mobile -- ${link[@]+"${link[@]}"} >&2
fi
host=$target_dir/mobile/$host_lib
android=$target_dir/aarch64-linux-android/mobile-check/libauthcore_ffi.a
ios=$target_dir/aarch64-apple-ios/mobile-check/libauthcore_ffi.a

die() { echo "sizes: error: $*" >&2; exit 1; }
[ -f "$budgets" ] || die "no budget file $budgets"
# The budget file: `<library> <bytes>` lines, `#` comments (plain bash 3: macOS's /bin/bash).
budgets_read=
line_no=0
while IFS= read -r line || [ -n "$line" ]; do
  line_no=$((line_no + 1))
  line=${line%%#*}
  [ -n "${line//[[:space:]]/}" ] || continue
  read -r name bytes extra <<<"$line"
  [[ -z "${extra:-}" && "${bytes:-}" =~ ^[0-9]+$ ]] || die "$budgets:$line_no: expected \`<library> <bytes>\`, got \`$line\`"
  budgets_read+="$name $bytes"$'\n'
done <"$budgets"
budget_of() { awk -v name="$1" '$1 == name { bytes = $2 } END { print bytes }' <<<"$budgets_read"; }
for name in host-cdylib android-aarch64-staticlib ios-aarch64-staticlib; do
  [ -n "$(budget_of "$name")" ] || die "$budgets has no budget for $name"
done

size_of() { [ -f "$1" ] && wc -c <"$1" | tr -d ' ' || echo; }
human() { [ -n "$1" ] && awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }' || echo "not built"; }
over=()
row() { # key name file note
  local bytes limit verdict
  bytes=$(size_of "$3")
  limit=$(budget_of "$1")
  verdict="$(human "$limit")"
  if [ -n "$bytes" ] && [ "$bytes" -gt "$limit" ]; then
    verdict="$verdict: **OVER**"
    over+=("$2 is $bytes bytes, over its budget of $limit bytes ($budgets)")
  fi
  echo "| $2 | $(human "$bytes") | ${bytes:--} | $verdict | $4 |"
}

host_bytes=$(size_of "$host")
[ -n "$host_bytes" ] || die "no $host"
if [ "$host_bytes" -le "$goal" ]; then goal_verdict="met"; else goal_verdict="NOT met"; fi
mkdir -p "$(dirname "$out")"
{
  echo "# Library sizes"
  echo
  echo "Written by \`scripts/sizes.sh\` (run by \`scripts/test.sh\`, layer \`mobile\`); do not edit by hand."
  echo "Profile \`mobile\` (root Cargo.toml): \`opt-level = \"z\"\`, LTO, one codegen unit, \`strip = true\`."
  echo "rustc: $(rustc --version | cut -d' ' -f2), host: $(rustc -vV | sed -n 's/^host: //p')."
  echo "Budgets: \`scripts/size-budgets.txt\` (a library over its budget fails the layer; the file says how to raise one)."
  echo
  echo "| library | size | bytes | budget | notes |"
  echo "| --- | --- | --- | --- | --- |"
  row host-cdylib "host cdylib \`$host_lib\`" "$host" \
    "stripped; only the cdylib crate type, packed relative relocations; goal <= 3 MiB: **$goal_verdict**"
  row android-aarch64-staticlib "Android \`aarch64-linux-android\` staticlib" "$android" \
    "scripts/build-android.sh compile check (\`mobile-check\`: no LTO); an archive (unstripped objects incl. std), the app's linker keeps only what is used"
  row ios-aarch64-staticlib "iOS \`aarch64-apple-ios\` staticlib" "$ios" \
    "scripts/build-ios.sh compile check (\`mobile-check\`: no LTO); likewise an archive, the XCFramework's device slice"
  # Where the host library's bytes go (ELF sections, when binutils' `size` reads it).
  if [ "$(uname -s)" = Linux ] && command -v size >/dev/null 2>&1 && sections=$(size -A "$host" 2>/dev/null); then
    echo
    echo "Where the host cdylib's bytes go (\`size -A\`):"
    echo
    echo "| part | sections | size |"
    echo "| --- | --- | --- |"
    awk '
      $1 == ".text" { code += $2 }
      $1 == ".eh_frame" || $1 == ".eh_frame_hdr" || $1 == ".gcc_except_table" { unwind += $2 }
      $1 == ".rodata" { ro += $2 }
      $1 ~ /^\.rel[ar]?\./ || $1 == ".data.rel.ro" || $1 == ".got" { reloc += $2 }
      $1 ~ /^\.dyn/ { dyn += $2 }
      function mib(b) { return sprintf("%.2f MiB", b / 1048576) }
      END {
        print "| machine code | .text | " mib(code) " |"
        print "| unwind tables (panic = unwind, so uniffi can catch a panic at the FFI boundary) | .eh_frame, .eh_frame_hdr, .gcc_except_table | " mib(unwind) " |"
        print "| constants (root certificates, ring and Unicode tables, strings) | .rodata | " mib(ro) " |"
        print "| relocations and pointer tables | .rela.*, .relr.dyn, .data.rel.ro, .got | " mib(reloc) " |"
        print "| exported symbols (uniffi scaffolding) | .dyn* | " mib(dyn) " |"
      }' <<<"$sections"
  fi
  if [ -f docs/sizes-notes.md ]; then echo; cat docs/sizes-notes.md; fi
} >"$out"
echo "sizes: host cdylib $(human "$host_bytes") (goal 3 MiB $goal_verdict); $out written" >&2
if [ "${#over[@]}" -gt 0 ]; then
  for message in ${over[@]+"${over[@]}"}; do echo "sizes: FAILED: $message" >&2; done
  exit 1
fi
echo "sizes: every library is within its budget ($budgets)" >&2
