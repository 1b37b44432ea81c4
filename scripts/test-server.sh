# shellcheck shell=bash
# Sourced by the binding suites (scripts/test-kotlin.sh, scripts/test-swift.sh): a real
# `authcore server --dev` process behind a test CA, as a phone app would meet it.
#
#   source scripts/test-server.sh
#   start_test_server <work-dir> [<CA name>] || ...   # sets TEST_SERVER_PORT, TEST_SERVER_CA, TEST_SERVER_PID
#   stop_test_server
#
# start_test_server makes a test CA and a server certificate for id.authcore.test,
# login.globex.example and 127.0.0.1 (openssl) in <work-dir>/tls, a config from
# server/examples/demo.toml (cheap argon2; Globex's sign-in host on the server's port), and starts
# $CARGO_TARGET_DIR/debug/authcore (build it first) on a free loopback port with TLS, logging to
# <work-dir>/server.log. It returns once discovery answers, non-zero (with a message on stderr) on
# any failure. Clients reach both names through resolve overrides to 127.0.0.1 and trust the CA.
TEST_SERVER_PID=

start_test_server() {
  local dir=$1 ca_name=${2:-authcore test CA} python=${AUTHCORE_PYTHON:-python3}
  local tls=$dir/tls port _
  local bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/authcore
  _test_server_fail() { echo "test-server: $*" >&2; return 1; }
  command -v openssl >/dev/null || { _test_server_fail "openssl not found"; return 1; }
  [ -x "$bin" ] || { _test_server_fail "no server binary at $bin"; return 1; }
  mkdir -p "$tls"

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$ca_name" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=id.authcore.test" \
    -keyout "$tls/key.pem" -out "$tls/server.csr" 2>/dev/null &&
  printf '%s\n' "subjectAltName=DNS:id.authcore.test,DNS:login.globex.example,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/ext.cnf" &&
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/ext.cnf" -out "$tls/cert.pem" 2>/dev/null || { _test_server_fail "openssl certificates"; return 1; }

  # demo.toml with cheap argon2 and Globex's sign-in host on our port.
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    { _test_server_fail "no free port"; return 1; }
  sed -e 's/^memory_kib = .*/memory_kib = 1024/' -e 's/^iterations = .*/iterations = 1/' \
    -e "s/^sign_in_host = \"login.globex.example\"/sign_in_host = \"login.globex.example:$port\"/" \
    server/examples/demo.toml >"$dir/server.toml"
  grep -q "login.globex.example:$port" "$dir/server.toml" ||
    { _test_server_fail "demo.toml has no Globex sign-in host"; return 1; }

  "$bin" server --config "$dir/server.toml" --db sqlite::memory: \
    --listen "127.0.0.1:$port" --dev --tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem" \
    >"$dir/server.log" 2>&1 &
  TEST_SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -sf --cacert "$tls/ca.pem" --resolve "id.authcore.test:$port:127.0.0.1" \
      "https://id.authcore.test:$port/.well-known/openid-configuration" >/dev/null; then
      TEST_SERVER_PORT=$port
      TEST_SERVER_CA=$tls/ca.pem
      return 0
    fi
    if ! kill -0 "$TEST_SERVER_PID" 2>/dev/null; then
      cat "$dir/server.log" >&2
      TEST_SERVER_PID=
      _test_server_fail "the server exited"
      return 1
    fi
    sleep 0.1
  done
  stop_test_server
  _test_server_fail "the server did not answer within 10 s"
}

stop_test_server() {
  if [ -n "$TEST_SERVER_PID" ]; then
    kill "$TEST_SERVER_PID" 2>/dev/null && wait "$TEST_SERVER_PID" 2>/dev/null
    TEST_SERVER_PID=
  fi
  return 0
}
