#!/bin/bash
# edgeguard-forwarder when origins fail: a server certificate from the
# wrong CA or for the wrong name, an origin refusing our certificate (TLS
# 1.3 and 1.2), connection refused, handshake and response timeouts. Each
# is a 502/504, quickly, with a log line naming the origin and the reason.
# Retries: idempotent requests only.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_pki
"$EDGEGUARD" pki issue --ca "$P/other" --out "$P/foreign-origin" --server \
	--dns localhost --ip 127.0.0.1 >/dev/null || hard_error "pki foreign-origin"
"$EDGEGUARD" pki issue --ca "$P" --out "$P/wrongname-origin" --server \
	--dns elsewhere.example.org >/dev/null || hard_error "pki wrongname-origin"
vf_backend
vf_config
vf_start
O_FOREIGN=$(free_port)
O_WRONGNAME=$(free_port)
O_STRICT=$(free_port)
O_SILENT=$(free_port)
CLOSED=$(free_port)
fw_tls_origin "$O_FOREIGN" foreign-origin "$P/ca.pem"
fw_tls_origin "$O_WRONGNAME" wrongname-origin "$P/ca.pem"
fw_tls_origin "$O_STRICT" origin "$P/other/ca.pem"
fw_tls_origin "$O_SILENT" origin "$P/ca.pem" silent

o() { # NAME SERVERS [KEYS]
	fw_origin_block "$1" "$2" "hosts = [ \"$1.test\" ]; sni = \"localhost\"; $3"
}
fw_config "$(o good "\"127.0.0.1:$PORT\""),
$(o foreign "\"127.0.0.1:$O_FOREIGN\""),
$(o wrongname "\"127.0.0.1:$O_WRONGNAME\""),
$(o strict13 "\"127.0.0.1:$O_STRICT\""),
$(o strict12 "\"127.0.0.1:$O_STRICT\"" 'priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2";'),
$(o refused "\"127.0.0.1:$CLOSED\""),
$(o silent "\"127.0.0.1:$O_SILENT\"" 'handshake_timeout_ms = 800;'),
$(o slow "\"127.0.0.1:$PORT\"" 'response_timeout_ms = 1000;'),
$(o retry "\"127.0.0.1:$CLOSED\", \"127.0.0.1:$PORT\"" 'pool_size = 0; retries = 1;')"
fw_start

code=$(fw_curl good.test /ok)
assert_eq "good origin" 200 "$code"

# expect NAME STATUS LOG_TEXT [MAX_MS] [PATH]: one request to origin NAME.
expect() {
	_lines=$(wc -l <"$FLOG")
	_start=$(date +%s%N)
	code=$(fw_curl "$1.test" "${5:-/x}")
	_ms=$(( ($(date +%s%N) - _start) / 1000000 ))
	assert_eq "$1 status" "$2" "$code"
	[ "$_ms" -lt "${4:-2000}" ] || fail "$1: answered after $_ms ms"
	_log=$(tail -n +"$((_lines + 1))" "$FLOG")
	assert_contains "$1 log names the origin" "origin $1 (127.0.0.1:" "$_log"
	assert_contains "$1 log reason" "$3" "$_log"
}
expect foreign 502 "server certificate verification failed"
expect foreign 502 "The certificate issuer is unknown"
expect wrongname 502 "The name in the certificate does not match"
expect strict13 502 "the origin refused our client certificate"
expect strict12 502 "the origin refused our client certificate (handshake): TLS alert from the server: CA is unknown"
expect refused 502 "connect: Connection refused"
expect silent 504 "TLS handshake timed out after 800 ms" 1500
expect slow 504 "no response data for 1000 ms" 2500 /slow
# Nothing above stayed pending: the good origin still answers at once.
code=$(fw_curl good.test /still)
assert_eq "good origin after failures" 200 "$code"

# Retries: GET goes to the next server when one refuses; POST does not.
for i in 1 2 3 4; do
	code=$(fw_curl retry.test "/get$i")
	assert_eq "GET $i with one dead server" 200 "$code"
done
r=$(fw_metric 'edgeguard_forwarder_retries_total{origin="retry"}')
[ "$r" -ge 1 ] || fail "no retry counted"
posts=""
for i in 1 2 3 4; do posts="$posts $(fw_curl retry.test "/post$i" --data-binary x)"; done
assert_contains "some POSTs fail (not retried)" 502 "$posts"
assert_contains "some POSTs pass" 200 "$posts"
[ "$(grep -c 'POST /post' "$BACKEND_LOG")" -le 2 ] || fail "a POST was sent twice"

m=$(curl -s "http://127.0.0.1:$FADMIN_PORT/metrics")
assert_contains "tls_verify errors" 'edgeguard_forwarder_errors_total{origin="wrongname",kind="tls_verify"} 1' "$m"
assert_contains "handshake errors" 'edgeguard_forwarder_errors_total{origin="strict13",kind="handshake"} 1' "$m"
assert_contains "timeout errors" 'edgeguard_forwarder_errors_total{origin="silent",kind="timeout"} 1' "$m"
fw_stop
exit 0
