#!/usr/bin/env bash
# Installs (once) a Kotlin/JVM toolchain for the Kotlin test suite and prints `export` lines for
# `eval "$(scripts/setup-kotlin.sh)"`:
#   - kotlinc from the npm package kotlin-compiler (pinned below) into
#     ${AUTHCORE_CACHE:-$HOME/.cache/authcore}/kotlin; its lib/ also has kotlin-stdlib,
#     kotlin-test and kotlinx-coroutines-core-jvm;
#   - JNA and JUnit 4 (+ hamcrest) from Debian (libjna-java, junit4, libhamcrest-java) via apt;
#   - JDK 17+ must already be installed (java, javac on PATH).
# Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail
kotlin_version=2.4.20
debs="libjna-java junit4 libhamcrest-java"
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
dir=$cache/kotlin
home=$dir/node_modules/kotlin-compiler
stamp=$dir/.kotlin-compiler-version

log() { echo "setup-kotlin: $*" >&2; }
die() { echo "setup-kotlin: error: $*" >&2; exit 1; }

command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless)"
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${java_major:-0}" -ge 17 ] 2>/dev/null || die "JDK 17 or newer needed, found java.specification.version=${java_major:-unknown}"

# Debian packages: apt-get update only when one is missing.
missing=
for p in $debs; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)"
  mkdir -p "$cache"
  log "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -qq update >/dev/null || die "apt-get update failed"
  # shellcheck disable=SC2086
  apt-get -qq -o=Dpkg::Use-Pty=0 install -y --no-install-recommends $missing >/dev/null 2>"$cache/apt-kotlin.err" ||
    { cat "$cache/apt-kotlin.err" >&2; die "apt-get install$missing failed"; }
fi

# kotlinc from npm, pinned; reinstalled only when the pin changes.
if [ "$(cat "$stamp" 2>/dev/null)" != "$kotlin_version" ] || [ ! -x "$home/bin/kotlinc" ]; then
  command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install npm)"
  log "installing kotlin-compiler@$kotlin_version from npm into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"private": true}' >"$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund --save-exact "kotlin-compiler@$kotlin_version" >/dev/null) ||
    die "npm install kotlin-compiler@$kotlin_version failed"
  chmod +x "$home"/bin/kotlin* "$home"/bin/kapt
  echo "$kotlin_version" >"$stamp"
fi

jar() { # first existing path, else fail
  for f in "$@"; do [ -f "$f" ] && { echo "$f"; return; }; done
  die "none of these jars exists: $*"
}
jna=$(jar /usr/share/java/jna.jar)
junit=$(jar /usr/share/java/junit4.jar)
hamcrest=$(jar /usr/share/java/hamcrest-core.jar /usr/share/java/hamcrest.jar)
coroutines=$(jar "$home/lib/kotlinx-coroutines-core-jvm.jar")
stdlib=$(jar "$home/lib/kotlin-stdlib.jar")
ktest=$(jar "$home/lib/kotlin-test.jar"):$(jar "$home/lib/kotlin-test-junit.jar")

cat <<EOF
export KOTLIN_HOME="$home"
export KOTLINC="$home/bin/kotlinc"
export KOTLIN_STDLIB_JAR="$stdlib"
export KOTLIN_COROUTINES_JAR="$coroutines"
export KOTLIN_TEST_JARS="$ktest"
export JNA_JAR="$jna"
export JUNIT_JARS="$junit:$hamcrest"
EOF
