#!/bin/bash
# edgeguard-verifier under load, on loopback: 1,000 concurrent kept-alive
# mTLS connections all served; then 20 connections sending requests back
# to back while the server certificate is rotated and the allowlist
# changed by two reloads and a broken configuration is refused in between,
# with not one failed request.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

# 1,000 clients, as many backend connections, a few spare.
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null ||
	skip "cannot raise the open file limit"
LOADGEN="$top_srcdir/tests/integration/verifier-loadgen.py"

vf_pki
vf_backend
# Sanitizer builds handshake several times slower: a 1,000-connection
# burst must not meet the handshake or header timeouts.
vf_config '' 'limits = { handshake_timeout_ms = 60000; header_timeout_ms = 60000; };'
vf_start

start=$(date +%s)
out=$(timeout 150 python3 "$LOADGEN" concurrent "$PORT" "$P" "$ADMIN_PORT" 1000) ||
	fail "1,000 concurrent connections: $out"
assert_eq "1,000 concurrent connections" "ok 1000" "$out"
echo "1,000 concurrent connections, 2,000 requests: $(($(date +%s) - start)) s"
m=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
case "$m" in *'edgeguard_connections_refused_total 0'*) ;; *) fail "connections refused: $m" ;; esac

reload_errors() {
	curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk '/^edgeguard_reloads_total\{result="error"\}/ { print $2 }'
}
progress() { cat "$TEST_DIR/progress" 2>/dev/null || echo 0; }
wait_progress() { # N: until the load has done N requests
	for _ in $(seq 1 600); do
		[ "$(progress)" -ge "$1" ] && return 0
		kill -0 "$load_pid" 2>/dev/null || fail "load ended early: $(cat "$TEST_DIR/load.out")"
		sleep 0.05
	done
	fail "load stalled at $(progress) requests"
}
# rotate N ALLOW: the allowlist ALLOW and a new origin certificate in
# place, then SIGHUP. (The certificate watch may reload first, with the
# new configuration already written.)
rotate() {
	"$EDGEGUARD" pki issue --ca "$P" --out "$TEST_DIR/origin$1" --server \
		--dns localhost >/dev/null || hard_error "pki origin $1"
	vf_config "" 'limits = { handshake_timeout_ms = 60000; header_timeout_ms = 60000; };'
	sed -i "s|allow = { .* };|allow = { $2 };|" "$CONF"
	cp "$TEST_DIR/origin$1.key" "$P/origin.key.new"
	cp "$TEST_DIR/origin$1.pem" "$P/origin.pem.new"
	mv "$P/origin.key.new" "$P/origin.key"
	mv "$P/origin.pem.new" "$P/origin.pem"
	kill -HUP "$VF_PID"
}
other_gets() { # CODE: until other-edge's request is answered CODE
	for _ in $(seq 1 100); do
		[ "$(vf_curl other-edge "https://localhost:$PORT/other")" = "$1" ] && return 0
		sleep 0.05
	done
	fail "other-edge never got $1 after the reload"
}

rm -f "$TEST_DIR/stop"
python3 "$LOADGEN" loop "$PORT" "$P" 20 2000 "$TEST_DIR/stop" \
	"$TEST_DIR/progress" >"$TEST_DIR/load.out" 2>&1 &
load_pid=$!
VF_PIDS="$VF_PIDS $load_pid"

wait_progress 300
rotate 1 'dns = [ "edge.example.net", "other.example.org" ];'
other_gets 200
at=$(progress)
wait_progress $((at + 300))

echo 'verifier = { listen = [ "127.0.0.1:1" ] ' >"$CONF"
kill -HUP "$VF_PID"
for _ in $(seq 1 100); do [ "$(reload_errors)" -ge 1 ] && break; sleep 0.05; done
[ "$(reload_errors)" -ge 1 ] || fail "broken config not refused"
at=$(progress)
wait_progress $((at + 300))

rotate 2 'uri = [ "spiffe://example.net/edge/1" ];'
other_gets 403
at=$(progress)
wait_progress $((at + 300))
touch "$TEST_DIR/stop"
wait "$load_pid"
status=$?
out=$(cat "$TEST_DIR/load.out")
[ "$status" -eq 0 ] || fail "load: $out"
set -- $out # requests N failed N serials N
[ "$2" -ge 2000 ] || fail "load: only $2 requests: $out"
assert_eq "failed requests" 0 "$4"
[ "$6" -ge 3 ] || fail "new connections did not see both rotations: $out"
echo "load with reloads: $out"
grep -q "reload failed" "$TEST_DIR/verifier.err" || fail "broken config not logged"
kill -0 "$VF_PID" || fail "verifier died"
exit 0
