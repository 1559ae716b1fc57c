#!/bin/bash
# edgeguard-verifier authorization endpoint: nginx auth_request style
# (URL-escaped PEM header), Envoy XFCC Cert="...", Traefik base64 DER, over
# TCP and a unix socket; 200 + identity headers or 403 + reason, audited
# with component "authz".
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

vf_pki
vf_backend
AUTHZ_PORT=$(free_port)
vf_config "" "authz = { listen = \"127.0.0.1:$AUTHZ_PORT\"; };"
vf_start
wait_port "$AUTHZ_PORT" || hard_error "authz listener"

escaped() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$1"; }
authz() { # HEADER_LINE...: prints status, keeps headers in $TEST_DIR/h
	curl -s -o "$TEST_DIR/b" -D "$TEST_DIR/h" -w '%{http_code}' --max-time 5 \
		-H 'X-Original-URI: /app/x' -H 'X-Original-Host: app.example.com' \
		"$@" "http://127.0.0.1:$AUTHZ_PORT/auth"
}

code=$(authz -H "X-Client-Cert: $(escaped "$P/edge.pem")")
assert_eq "nginx-style edge certificate" 200 "$code"
assert_contains "identity header" "X-Edge-Client-Identity: dns=edge.example.net" "$(cat "$TEST_DIR/h")"
assert_contains "verify header" "X-Edge-Client-Verify: SUCCESS" "$(cat "$TEST_DIR/h")"

n=$(vf_audit_mark)
code=$(authz -H "X-Client-Cert: $(escaped "$P/stranger.pem")")
assert_eq "stranger" 403 "$code"
assert_contains "reason header" "X-Edgeguard-Reason: untrusted_issuer" "$(cat "$TEST_DIR/h")"
vf_one_record "authz rejection" "$n"
rec=$(last_audit)
assert_contains "authz audit component" '"component":"authz"' "$rec"
assert_contains "authz audit path" '"path":"/app/x"' "$rec"
assert_contains "authz audit host" '"host":"app.example.com"' "$rec"

code=$(authz)
assert_eq "no certificate" 403 "$code"
assert_contains "no certificate reason" "X-Edgeguard-Reason: no_certificate" "$(cat "$TEST_DIR/h")"

code=$(authz -H "X-Client-Cert: %2D%2D%2D%2D%2DBEGIN%20CERTIFICATE%2D%2D%2D%2D%2D%0Agarbage%0A")
assert_eq "garbage certificate" 403 "$code"

code=$(authz -H "x-forwarded-client-cert: By=spiffe://o;Hash=00;Cert=\"$(escaped "$P/edge.pem")\";Subject=\"CN=x\"")
assert_eq "Envoy XFCC Cert" 200 "$code"

der=$(openssl x509 -in "$P/edge.pem" -outform DER | base64 -w0)
code=$(authz -H "X-Forwarded-Tls-Client-Cert: $der")
assert_eq "Traefik base64 DER" 200 "$code"

# Keep-alive: several sub-requests on one connection, as proxies do.
out=$(curl -s -o /dev/null -w '%{http_code}%{num_connects}\n' --max-time 5 \
	-H "X-Client-Cert: $(escaped "$P/edge.pem")" \
	"http://127.0.0.1:$AUTHZ_PORT/a" "http://127.0.0.1:$AUTHZ_PORT/b")
assert_eq "keep-alive sub-requests" "2001
2000" "$out"

# The same over a unix socket.
kill "$VF_PID"
wait "$VF_PID" 2>/dev/null
PORT=$(free_port)
SOCK="$TEST_DIR/authz.sock"
vf_config "" "authz = { listen = \"unix:$SOCK\"; header = \"X-SSL-Client-Cert\"; };"
vf_start
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$SOCK" \
	-H "X-SSL-Client-Cert: $(escaped "$P/edge.pem")" http://localhost/auth)
assert_eq "unix socket, custom header" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$SOCK" \
	-H "X-SSL-Client-Cert: $(escaped "$P/expired.pem")" http://localhost/auth)
assert_eq "unix socket, expired" 403 "$code"
assert_contains "expired audited" '"reason":"expired"' "$(last_audit)"
exit 0
