#!/bin/bash
# edgeguard-forwarder operations: certificate rotation under load with
# zero failed requests (SIGHUP, then files replaced on disk without a
# signal), a bad configuration refused while the old one keeps serving,
# and SIGTERM finishing the request in flight.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_pki
for n in one two three; do
	"$EDGEGUARD" pki issue --ca "$P" --out "$P/edge-$n" --client \
		--dns "edge-$n.example.net" >/dev/null || hard_error "pki edge-$n"
done
# install N: the live certificate files become edge-N's, each replaced
# by a rename as cert-manager or certbot do.
install() {
	cp "$P/edge-$1.pem" "$P/live.pem.tmp" && mv "$P/live.pem.tmp" "$P/live.pem"
	cp "$P/edge-$1.key" "$P/live.key.tmp" && mv "$P/live.key.tmp" "$P/live.key"
}
install one
OP=$(free_port)
fw_tls_origin "$OP" origin "$P/ca.pem"
fw_config "$(fw_origin_block shop "\"127.0.0.1:$OP\"" 'sni = "localhost";' |
	sed 's/pki\/edge\./pki\/live./')"
fw_start

peer() {
	fw_curl shop /who >/dev/null
	sed -n 's/^Peer: //p' "$TEST_DIR/body"
}
assert_eq "first certificate" edge-one.example.net "$(peer)"

# Load: keep-alive batches of 5 requests until told to stop.
: >"$TEST_DIR/codes"
(
	while [ ! -e "$TEST_DIR/stop" ]; do
		curl -s -w '%{http_code}\n' --max-time 10 -H 'Host: shop' \
			-o /dev/null "http://127.0.0.1:$FPORT/l1" \
			-o /dev/null "http://127.0.0.1:$FPORT/l2" \
			-o /dev/null "http://127.0.0.1:$FPORT/l3" \
			-o /dev/null "http://127.0.0.1:$FPORT/l4" \
			-o /dev/null "http://127.0.0.1:$FPORT/l5" >>"$TEST_DIR/codes"
	done
) &
LOAD=$!
sleep 0.7
install two
kill -HUP "$FW_PID"
sleep 0.7
assert_eq "after SIGHUP" edge-two.example.net "$(peer)"
install three
# No signal: the forwarder notices replaced files within seconds.
for _ in $(seq 1 50); do
	[ "$(peer)" = edge-three.example.net ] && break
	sleep 0.1
done
assert_eq "after the files changed" edge-three.example.net "$(peer)"
sleep 0.5
touch "$TEST_DIR/stop"
wait "$LOAD"
total=$(wc -l <"$TEST_DIR/codes")
[ "$total" -ge 50 ] || fail "load loop made only $total requests"
bad=$(grep -vc '^200$' "$TEST_DIR/codes")
[ "$bad" = 0 ] || fail "$bad of $total requests failed during rotation: $(sort "$TEST_DIR/codes" | uniq -c)"
assert_eq "reloads" 2 "$(fw_metric 'edgeguard_reloads_total{result="ok"}')"

# A broken configuration is refused; the previous one keeps serving.
cp "$FCONF" "$TEST_DIR/good.conf"
printf 'forwarder = { listen = "127.0.0.1:%s"; origins = ( { name = "x"; } ); };\n' "$FPORT" >"$FCONF"
kill -HUP "$FW_PID"
for _ in $(seq 1 50); do
	grep -q "reload failed" "$FLOG" && break
	sleep 0.1
done
assert_contains "reload refused" "forwarder.conf:1: forwarder.origins.[0]: missing required key 'servers'" "$(grep 'reload failed' "$FLOG")"
assert_eq "still serving" edge-three.example.net "$(peer)"
assert_eq "reload errors" 1 "$(fw_metric 'edgeguard_reloads_total{result="error"}')"
cp "$TEST_DIR/good.conf" "$FCONF"

# SIGTERM: the request in flight completes, then the forwarder exits 0.
fw_curl shop /slow >"$TEST_DIR/slow.code" &
SLOW=$!
sleep 0.5
start=$(date +%s%N)
fw_stop
wait "$SLOW"
assert_eq "request in flight at SIGTERM" 200 "$(cat "$TEST_DIR/slow.code")"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "drain took too long"
exit 0
