#!/usr/bin/env bash
# The Kotlin (JVM) suite of the bindings, against a real `authcore server --dev` process:
#   1. kotlinc, JNA, JUnit 4 (scripts/setup-kotlin.sh); the harness binary (the server);
#   2. the authcore-ffi library and its JVM Kotlin bindings (scripts/bindings.sh --jvm);
#   3. compiles the generated Kotlin with bindings/kotlin-tests/src;
#   4. a test CA and a server certificate for id.authcore.test, login.globex.example and
#      127.0.0.1 (openssl), a config from server/examples/demo.toml (cheap argon2; Globex's
#      sign-in host on the server's port), the server on a free loopback port with TLS;
#   5. runs the scenarios; the clients reach both names through resolve overrides and trust the
#      test CA, so TLS and the sign-in host move are exercised as in production.
# Closes with exactly one line `kotlin: N passed, N failed`; a setup failure counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
build=$CARGO_TARGET_DIR/kotlin-tests
server_pid=

finish() { # passed failed
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
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
command -v openssl >/dev/null || setup_failed "openssl not found"
python=${AUTHCORE_PYTHON:-python3}

cargo build --locked -p authcore-harness --bin authcore >&2 || setup_failed "building the server"
rm -rf "$build" && mkdir -p "$build/classes" "$build/tls"
library=$(scripts/bindings.sh --jvm --no-swift --kotlin-dir "$build/generated" | tail -n 1) ||
  setup_failed "building the library or generating bindings"

echo "test-kotlin: compiling" >&2
cp="$JNA_JAR:$JUNIT_JARS:$KOTLIN_COROUTINES_JAR"
mapfile -t sources < <(find "$build/generated" bindings/kotlin-tests/src -name '*.kt' | sort)
"$KOTLINC" -nowarn -jvm-target 17 -cp "$cp" -d "$build/classes" "${sources[@]}" >&2 ||
  setup_failed "kotlinc"

# The test CA and the server's certificate.
tls=$build/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=authcore Kotlin test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=id.authcore.test" \
  -keyout "$tls/key.pem" -out "$tls/server.csr" 2>/dev/null &&
printf '%s\n' "subjectAltName=DNS:id.authcore.test,DNS:login.globex.example,IP:127.0.0.1" \
  "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/ext.cnf" &&
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/ext.cnf" -out "$tls/cert.pem" 2>/dev/null || setup_failed "openssl certificates"

# demo.toml with cheap argon2 and Globex's sign-in host on our port.
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
  setup_failed "no free port"
sed -e 's/^memory_kib = .*/memory_kib = 1024/' -e 's/^iterations = .*/iterations = 1/' \
  -e "s/^sign_in_host = \"login.globex.example\"/sign_in_host = \"login.globex.example:$port\"/" \
  server/examples/demo.toml >"$build/server.toml"
grep -q "login.globex.example:$port" "$build/server.toml" || setup_failed "demo.toml has no Globex sign-in host"

"$CARGO_TARGET_DIR/debug/authcore" server --config "$build/server.toml" --db sqlite::memory: \
  --listen "127.0.0.1:$port" --dev --tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem" \
  >"$build/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf --cacert "$tls/ca.pem" --resolve "id.authcore.test:$port:127.0.0.1" \
    "https://id.authcore.test:$port/.well-known/openid-configuration" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$build/server.log" >&2; server_pid=; setup_failed "the server exited"; }
  sleep 0.1
done

echo "test-kotlin: running the scenarios against the server on port $port" >&2
AUTHCORE_TEST_PORT=$port AUTHCORE_TEST_CA=$tls/ca.pem \
  java -Djna.library.path="$(dirname "$library")" -cp "$build/classes:$cp:$KOTLIN_STDLIB_JAR" \
  com.example.authcore.tests.RunnerKt | tee "$build/run.log" | grep -v '^kotlin:'
read -r passed failed < <(awk '/^kotlin:/ { print $2, $4 }' "$build/run.log")
# A crashed JVM prints no closing line: count it as a failure.
finish "${passed:-0}" "${failed:-1}"
