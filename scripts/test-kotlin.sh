#!/usr/bin/env bash
# The Kotlin (JVM) suite of the bindings, against a real `authcore server --dev` process:
#   1. kotlinc, JNA, JUnit 4 (scripts/setup-kotlin.sh); the harness binary (the server);
#   2. the authcore-ffi library and its JVM Kotlin bindings (scripts/bindings.sh --jvm);
#   3. compiles the generated Kotlin with the library module's streams
#      (android/authcore/.../streams) and bindings/kotlin-tests/src;
#   4. the server behind a test CA (scripts/test-server.sh: certificates for id.authcore.test,
#      login.globex.example and 127.0.0.1, demo.toml with cheap argon2, a free loopback port);
#   5. runs the scenarios; the clients reach both names through resolve overrides and trust the
#      test CA, so TLS and the sign-in host move are exercised as in production.
# Closes with exactly one line `kotlin: N passed, N failed`; a setup failure counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
build=$CARGO_TARGET_DIR/kotlin-tests
# shellcheck source=scripts/test-server.sh
source scripts/test-server.sh

finish() { # passed failed
  stop_test_server
  echo "kotlin: $1 passed, $2 failed"
  [ "$2" -eq 0 ]
  exit
}
setup_failed() {
  echo "test-kotlin: setup failed: $*" >&2
  finish 0 1
}
trap 'finish 0 1' INT TERM

eval "$(scripts/setup-kotlin.sh)" || setup_failed "Kotlin toolchain"

cargo build --locked -p authcore-harness --bin authcore >&2 || setup_failed "building the server"
rm -rf "$build" && mkdir -p "$build/classes" "$build/tls"
library=$(scripts/bindings.sh --jvm --no-swift --kotlin-dir "$build/generated" | tail -n 1) ||
  setup_failed "building the library or generating bindings"

echo "test-kotlin: compiling" >&2
cp="$JNA_JAR:$JUNIT_JARS:$KOTLIN_COROUTINES_JAR"
# The library module's streams are pure Kotlin + kotlinx.coroutines: compiled and tested here too.
streams=android/authcore/src/main/kotlin/com/example/authcore/streams
mapfile -t sources < <(find "$build/generated" "$streams" bindings/kotlin-tests/src -name '*.kt' | sort)
"$KOTLINC" -nowarn -jvm-target 17 -cp "$cp" -d "$build/classes" "${sources[@]}" >&2 ||
  setup_failed "kotlinc"

# The server behind a test CA (scripts/test-server.sh).
start_test_server "$build" "authcore Kotlin test CA" || setup_failed "starting the server"
port=$TEST_SERVER_PORT tls=$build/tls

echo "test-kotlin: running the scenarios against the server on port $port" >&2
AUTHCORE_TEST_PORT=$port AUTHCORE_TEST_CA=$tls/ca.pem \
  java -Djna.library.path="$(dirname "$library")" -cp "$build/classes:$cp:$KOTLIN_STDLIB_JAR" \
  com.example.authcore.tests.RunnerKt | tee "$build/run.log" | grep -v '^kotlin:'
read -r passed failed < <(awk '/^kotlin:/ { print $2, $4 }' "$build/run.log")
# A crashed JVM prints no closing line: count it as a failure.
finish "${passed:-0}" "${failed:-1}"
