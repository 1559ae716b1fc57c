#!/bin/bash
# edgeguard-forwarder -> edgeguard-verifier -> backend: routing by Host,
# the edge's client certificate admitted end to end, X-Forwarded-For,
# bodies both ways, keep-alive and pipelining, a unix socket listener, the
# origin connection pool with TLS resumption, metrics, -t.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_up
SOCK="$TEST_DIR/fw.sock"
FLISTEN_EXTRA=", \"unix:$SOCK\""
fw_config "$(fw_origin_block shop "\"127.0.0.1:$PORT\"" \
	'hosts = [ "shop.example.com" ]; sni = "localhost"; idle_timeout_ms = 1000;')"

out=$("$FORWARDER" -t -c "$FCONF")
assert_contains "-t" "test is successful" "$out"
fw_start

# Admitted end to end: the verifier saw our certificate.
code=$(fw_curl shop.example.com '/hello?x=1' -H 'X-Forwarded-For: 192.0.2.7' \
	-H 'Connection: keep-alive, X-Hop' -H 'X-Hop: secret' -H 'Keep-Alive: timeout=5')
assert_eq "GET through forwarder" 200 "$code"
body=$(cat "$TEST_DIR/body")
assert_contains "request line" "GET /hello?x=1 HTTP/1.1" "$body"
assert_contains "identity at the backend" "X-Edge-Client-Identity: dns=edge.example.net" "$body"
assert_contains "host kept" "Host: shop.example.com" "$body"
# XFF: the edge's, ours (127.0.0.1), then the verifier's view of us.
assert_contains "xff" "X-Forwarded-For: 192.0.2.7, 127.0.0.1, 127.0.0.1" "$body"
case "$body" in *"X-Hop"* | *"Keep-Alive"*) fail "hop-by-hop header passed on: $body" ;; esac

# A Host no origin lists goes to the only origin (the default).
code=$(fw_curl other.example.org /x)
assert_eq "default origin" 200 "$code"

# Bodies both ways: Content-Length and a large chunked one.
code=$(fw_curl shop.example.com /post --data-binary 'hello-body')
assert_eq "POST" 200 "$code"
assert_contains "POST body" "hello-body" "$(cat "$TEST_DIR/body")"
head -c 300000 /dev/urandom | base64 -w0 >"$TEST_DIR/big"
code=$(fw_curl shop.example.com /chunked -H 'Transfer-Encoding: chunked' \
	--data-binary "@$TEST_DIR/big")
assert_eq "chunked POST" 200 "$code"
grep -q "$(head -c 64 "$TEST_DIR/big")" "$TEST_DIR/body" || fail "chunked body not relayed"
[ "$(stat -c %s "$TEST_DIR/body")" -gt 400000 ] || fail "large body truncated"

# Pipelining on one keep-alive connection, answered in order.
out=$(printf 'GET /one HTTP/1.1\r\nHost: shop.example.com\r\n\r\nGET /two HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n' | fw_raw)
[ "$(printf '%s' "$out" | grep -c '^HTTP/1.1 200')" = 2 ] || fail "pipelining: $out"
first=$(printf '%s' "$out" | grep -n 'GET /one' | head -1 | cut -d: -f1)
second=$(printf '%s' "$out" | grep -n 'GET /two' | head -1 | cut -d: -f1)
[ -n "$first" ] && [ -n "$second" ] && [ "$first" -lt "$second" ] || fail "pipelined order: $out"

# Malformed requests never reach the origin.
before=$(wc -l <"$BACKEND_LOG")
out=$(printf 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | fw_raw)
assert_contains "CL+TE" "HTTP/1.1 400" "$out"
out=$(printf 'GET /a HTTP/1.1\r\n\r\n' | fw_raw)
assert_contains "no Host" "HTTP/1.1 400" "$out"
[ "$(wc -l <"$BACKEND_LOG")" -eq "$before" ] || fail "a malformed request reached the backend"

# The unix socket listener: no address to add to X-Forwarded-For.
code=$(curl -s -o "$TEST_DIR/body" -w '%{http_code}' --max-time 10 \
	--unix-socket "$SOCK" -H 'X-Forwarded-For: 192.0.2.9' http://shop.example.com/unix)
assert_eq "unix socket" 200 "$code"
assert_contains "xff via unix" "X-Forwarded-For: 192.0.2.9, 127.0.0.1" "$(cat "$TEST_DIR/body")"

# Pool: 40 requests on new inbound connections reuse pooled origin
# connections: handshakes stay at most one per worker and concurrent peak.
h0=$(( $(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="full"}') +
	$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="resumed"}') ))
for i in $(seq 1 40); do
	code=$(fw_curl shop.example.com "/seq$i")
	[ "$code" = 200 ] || fail "sequential request $i: $code"
done
h1=$(( $(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="full"}') +
	$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="resumed"}') ))
[ $((h1 - h0)) -le 2 ] || fail "40 sequential requests made $((h1 - h0)) handshakes"
seq 1 200 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 15 \
	-H 'Host: shop.example.com' "http://127.0.0.1:$FPORT/par{}" >"$TEST_DIR/par"
[ "$(grep -c '^200$' "$TEST_DIR/par")" = 200 ] || fail "parallel: $(sort "$TEST_DIR/par" | uniq -c)"
h2=$(( $(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="full"}') +
	$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="resumed"}') ))
[ $((h2 - h1)) -le 20 ] || fail "200 requests 8 at a time made $((h2 - h1)) handshakes"

# Resumption: once the pooled connections idled out (idle_timeout_ms
# 1000), a new one resumes the kept session instead of a full handshake.
r0=$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="resumed"}')
sleep 2.5
[ "$(fw_metric 'edgeguard_forwarder_origin_connections{origin="shop",state="idle"}')" = 0 ] ||
	fail "idle connections not closed after idle_timeout_ms"
code=$(fw_curl shop.example.com /again)
assert_eq "after idle" 200 "$code"
r1=$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="shop",kind="resumed"}')
[ "$r1" -gt "$r0" ] || fail "no resumed handshake ($r0 -> $r1): $(curl -s "http://127.0.0.1:$FADMIN_PORT/metrics" | grep handshakes)"

# Metrics: per origin requests, the client certificate's expiry.
m=$(curl -s "http://127.0.0.1:$FADMIN_PORT/metrics")
assert_contains "requests metric" 'edgeguard_forwarder_requests_total{origin="shop"}' "$m"
assert_contains "expiry gauge" 'edgeguard_certificate_expiry_timestamp_seconds{kind="client",origin="shop"' "$m"
assert_eq "healthz" ok "$(curl -s "http://127.0.0.1:$FADMIN_PORT/healthz")"

# -t names file, line and key.
sed 's/pool_size/pool_sizes/; s/idle_timeout_ms = 1000;/idle_timeout_ms = 1000; pool_sizes = 3;/' "$FCONF" >"$TEST_DIR/bad.conf"
out=$("$FORWARDER" -t -c "$TEST_DIR/bad.conf" 2>&1) && fail "-t accepted an unknown key"
assert_contains "-t error" "bad.conf:" "$out"
assert_contains "-t error key" "pool_sizes" "$out"
fw_stop
exit 0
