#!/bin/bash
# edgeguard-verifier: mTLS termination, decisions with reason codes and
# audit records, identity headers, proxying (bodies, pipelining), request
# smuggling refused before the backend, TLS 1.2/1.3 peers, backend down.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

vf_up

# Admitted, with the client's spoofed identity headers replaced.
code=$(vf_curl edge "https://localhost:$PORT/hello?x=1" \
	-H 'X-Edge-Client-Identity: dns=admin' -H 'client-cert: :AAAA:' \
	-H 'X-Forwarded-Client-Cert: Hash=00' -H 'X-Edge-Client-Verify: SUCCESS' \
	-H 'X-Forwarded-For: 192.0.2.7')
assert_eq "edge certificate" 200 "$code"
body=$(cat "$TEST_DIR/body")
assert_contains "request line" "GET /hello?x=1 HTTP/1.1" "$body"
assert_contains "identity header" "X-Edge-Client-Identity: dns=edge.example.net" "$body"
assert_contains "verify header" "X-Edge-Client-Verify: SUCCESS" "$body"
assert_contains "xfcc" 'Subject="CN=edge.example.net"' "$body"
assert_eq "Client-Cert is the edge certificate's DER" \
	"$(openssl x509 -in "$P/edge.pem" -outform DER | base64 -w0)" \
	"$(sed -n 's/^Client-Cert: :\(.*\):\r*$/\1/p' "$TEST_DIR/body")"
assert_contains "xff appended" "X-Forwarded-For: 192.0.2.7, 127.0.0.1" "$body"
assert_contains "forwarded" "Forwarded: for=127.0.0.1;proto=https" "$body"
case "$body" in *"dns=admin"* | *":AAAA:"* | *"Hash=00"*) fail "spoofed identity header reached the backend: $body" ;; esac
[ "$(grep -ci '^x-edge-client-identity:' "$TEST_DIR/body")" = 1 ] ||
	fail "identity header not unique"

# Rejections: 403, the reason in the body and one audit record each.
reject() { # NAME CERT REASON
	_n=$(vf_audit_mark)
	code=$(vf_curl "$2" "https://localhost:$PORT/secret")
	assert_eq "$1 status" 403 "$code"
	assert_eq "$1 body" "403 Forbidden: $3" "$(cat "$TEST_DIR/body")"
	vf_one_record "$1" "$_n"
	rec=$(last_audit)
	assert_contains "$1 audit reason" "\"reason\":\"$3\"" "$rec"
	assert_contains "$1 audit event" '"event":"reject"' "$rec"
	assert_contains "$1 audit component" '"component":"verifier"' "$rec"
	assert_contains "$1 audit path" '"path":"/secret"' "$rec"
	assert_contains "$1 audit policy" '"policy":"edge"' "$rec"
}
reject "no certificate" - no_certificate
reject "other CA" stranger untrusted_issuer
reject "not allowlisted" other-edge identity_not_allowed
reject "expired" expired expired
reject "server EKU only" noeku missing_client_auth_eku
case "$(cat "$TEST_DIR/body")" in *edge.example.net*) fail "403 body leaks certificate details" ;; esac

# Bodies both ways: Content-Length and chunked.
code=$(vf_curl edge "https://localhost:$PORT/post" --data-binary 'hello-body')
assert_eq "POST" 200 "$code"
assert_contains "POST body" "hello-body" "$(cat "$TEST_DIR/body")"
head -c 300000 /dev/urandom | base64 -w0 >"$TEST_DIR/big"
code=$(vf_curl edge "https://localhost:$PORT/chunked" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$TEST_DIR/big")
assert_eq "chunked POST" 200 "$code"
grep -q "$(head -c 64 "$TEST_DIR/big")" "$TEST_DIR/body" || fail "chunked body not relayed"
[ "$(stat -c %s "$TEST_DIR/body")" -gt 400000 ] || fail "large body truncated"

# Keep-alive and pipelining: two requests in one write, answered in order.
out=$(printf 'GET /one HTTP/1.1\r\nHost: localhost\r\n\r\nGET /two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | vf_raw edge)
[ "$(printf '%s' "$out" | grep -c '^HTTP/1.1 200')" = 2 ] || fail "pipelining: $out"
first=$(printf '%s' "$out" | grep -n 'GET /one' | head -1 | cut -d: -f1)
second=$(printf '%s' "$out" | grep -n 'GET /two' | head -1 | cut -d: -f1)
[ -n "$first" ] && [ -n "$second" ] && [ "$first" -lt "$second" ] || fail "pipelined order: $out"

# 204 and 304 have no body whatever their Content-Length says: the next
# response on the kept-alive backend connection is not swallowed.
out=$(printf 'GET /status/304 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | vf_raw edge)
assert_contains "304 relayed" "HTTP/1.1 304" "$out"
assert_contains "204 relayed" "HTTP/1.1 204" "$out"
assert_contains "response after 204 and 304" "GET /after HTTP/1.1" "$out"

# Requests that could desynchronise the backend: 400, and it saw nothing.
smuggle() { # NAME RAW
	_before=$(wc -l <"$BACKEND_LOG")
	out=$(printf "$2" | vf_raw edge)
	assert_contains "$1" "HTTP/1.1 400" "$out"
	[ "$(wc -l <"$BACKEND_LOG")" -eq "$_before" ] || fail "$1 reached the backend"
}
smuggle "CL+TE" 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
smuggle "two CL" 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde'
smuggle "obs-fold" 'GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'
smuggle "bare CR" 'GET /a HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n'
smuggle "bad chunk" 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'
smuggle "no Host" 'GET /a HTTP/1.1\r\n\r\n'
smuggle "space before colon" 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'
smuggle "TE not chunked" 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nabc'
smuggle "TE in HTTP/1.0" 'POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n'
smuggle "HTTP/0.9" 'GET /a\r\n\r\n'
smuggle "identity trailer" 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\nX-Edge-Client-Identity: dns=admin\r\n\r\n'
smuggle "framing trailer" 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\nContent-Length: 5\r\n\r\n'
out=$(printf 'POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n' | vf_raw edge)
assert_contains "harmless trailer" "HTTP/1.1 200" "$out"
assert_contains "body before the trailer" "abc" "$out"

# Other TLS stacks, both protocol versions.
for v in 1.2 1.3; do
	out=$(printf 'GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -tls${v/./_} \
			-CAfile "$P/ca.pem" -cert "$P/edge.pem" -key "$P/edge.key" 2>/dev/null)
	assert_contains "openssl TLS $v" "HTTP/1.1 200" "$out"
done
if command -v gnutls-cli >/dev/null; then
	for prio in "NORMAL:-VERS-ALL:+VERS-TLS1.2" "NORMAL:-VERS-ALL:+VERS-TLS1.3"; do
		out=$(printf 'GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
			timeout 10 gnutls-cli --logfile=/dev/null --priority "$prio" --x509cafile "$P/ca.pem" \
				--x509certfile "$P/edge.pem" --x509keyfile "$P/edge.key" \
				-p "$PORT" localhost 2>/dev/null)
		assert_contains "gnutls-cli $prio" "HTTP/1.1 200" "$out"
	done
fi

# Backend down: 502, quickly.
kill "$BACKEND_PID"
wait "$BACKEND_PID" 2>/dev/null
start=$(date +%s%N)
code=$(vf_curl edge "https://localhost:$PORT/down")
assert_eq "backend down" 502 "$code"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ] || fail "502 took too long"

# Metrics tell the same story.
m=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
assert_contains "metrics reason" 'edgeguard_decisions_total{event="reject",reason="expired"} 1' "$m"
assert_contains "metrics expiry" 'edgeguard_certificate_expiry_timestamp_seconds{kind="server"' "$m"
assert_eq "healthz" ok "$(curl -s "http://127.0.0.1:$ADMIN_PORT/healthz")"
kill -0 "$VF_PID" || fail "verifier died"
exit 0
