#!/bin/bash
# edgeguard-verifier operations: -t, SIGHUP with a changed allowlist (also
# applied to resumed TLS sessions and to open keep-alive connections), a
# broken config refused while the old one keeps serving, certificate files
# replaced on disk, SIGUSR1, graceful SIGTERM.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

vf_pki
vf_backend
vf_config

# Config test, like nginx -t.
out=$("$VERIFIER" -t -c "$CONF" 2>&1) || fail "-t on a good config: $out"
assert_contains "-t ok" "configuration file $CONF test is successful" "$out"
cp "$CONF" "$TEST_DIR/good.conf"
sed 's/workers = 2;/workers = 2; wrokers = 3;/' "$TEST_DIR/good.conf" >"$TEST_DIR/typo.conf"
if out=$("$VERIFIER" -t -c "$TEST_DIR/typo.conf" 2>&1); then fail "-t accepted a typo"; fi
assert_contains "-t names file:line:key" "typo.conf:5: verifier.wrokers: unknown key" "$out"
assert_contains "-t failed" "test failed" "$out"

vf_start
sess="$TEST_DIR/sess.pem"
s_client() { # EXTRA_ARGS...: one request over openssl, TLS 1.2 tickets
	printf 'GET /r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 \
			-CAfile "$P/ca.pem" -cert "$P/edge.pem" -key "$P/edge.key" \
			-ign_eof "$@" 2>&1
}
out=$(s_client -sess_out "$sess")
assert_contains "first session" "HTTP/1.1 200" "$out"
[ -s "$sess" ] || hard_error "openssl wrote no session"
out=$(s_client -sess_in "$sess")
assert_contains "resumed" "Reused, TLSv1.2" "$out"
assert_contains "resumed admitted" "HTTP/1.1 200" "$out"

# A keep-alive connection opened before the reload, used after it.
exec 7< <( (printf 'GET /before HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 4;
	printf 'GET /after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n') |
	vf_raw edge)

# Reload with an allowlist that no longer holds the edge, once the first
# request has reached the backend (a loaded machine can take seconds to
# start the client).
for _ in $(seq 100); do
	grep -q 'GET /before' "$BACKEND_LOG" && break
	sleep 0.1
done
vf_config 'dns = [ "other.example.org" ];'
kill -HUP "$VF_PID"
sleep 1
code=$(vf_curl edge "https://localhost:$PORT/x")
assert_eq "after reload: edge refused" 403 "$code"
assert_eq "reason" "403 Forbidden: identity_not_allowed" "$(cat "$TEST_DIR/body")"
code=$(vf_curl other-edge "https://localhost:$PORT/x")
assert_eq "after reload: other admitted" 200 "$code"
out=$(s_client -sess_in "$sess")
assert_contains "resumed after reload" "Reused, TLSv1.2" "$out"
assert_contains "resumed session re-verified" "403 Forbidden: identity_not_allowed" "$out"
ka=$(cat <&7)
assert_contains "keep-alive: first request admitted" "GET /before" "$ka"
assert_contains "keep-alive: next request under the new policy" "identity_not_allowed" "$ka"

# A broken config is refused; the running one keeps serving.
echo 'verifier = { listen = [ "127.0.0.1:1" ] ' >"$CONF"
kill -HUP "$VF_PID"
sleep 1
kill -0 "$VF_PID" || fail "verifier died on a broken config"
code=$(vf_curl other-edge "https://localhost:$PORT/x")
assert_eq "broken reload keeps serving" 200 "$code"
grep -q "reload failed" "$TEST_DIR/verifier.err" || fail "reload failure not logged"

# The origin certificate replaced on disk: picked up without a signal.
vf_config 'dns = [ "other.example.org" ];'
kill -HUP "$VF_PID"
sleep 1
old=$(echo | timeout 5 openssl s_client -connect "127.0.0.1:$PORT" 2>/dev/null | openssl x509 -noout -serial)
"$EDGEGUARD" pki issue --ca "$P" --out "$TEST_DIR/neworigin" --server --dns localhost >/dev/null
cp "$TEST_DIR/neworigin.key" "$P/origin.key.new"
cp "$TEST_DIR/neworigin.pem" "$P/origin.pem.new"
mv "$P/origin.key.new" "$P/origin.key"
mv "$P/origin.pem.new" "$P/origin.pem"
new=$(openssl x509 -noout -serial -in "$P/origin.pem")
for _ in $(seq 1 50); do
	got=$(echo | timeout 5 openssl s_client -connect "127.0.0.1:$PORT" 2>/dev/null | openssl x509 -noout -serial)
	[ "$got" = "$new" ] && break
	sleep 0.2
done
[ "$old" != "$new" ] || hard_error "new certificate has the old serial"
assert_eq "replaced certificate served" "$new" "$got"

# SIGUSR1 reopens the audit log (logrotate).
mv "$AUDIT" "$AUDIT.1"
kill -USR1 "$VF_PID"
sleep 0.5
vf_curl - "https://localhost:$PORT/rotated" >/dev/null
for _ in $(seq 1 20); do [ -s "$AUDIT" ] && break; sleep 0.1; done
assert_contains "audit after reopen" '"path":"/rotated"' "$(cat "$AUDIT" 2>/dev/null)"

# SIGTERM: a request in flight completes, then the process exits.
(vf_curl other-edge "https://localhost:$PORT/slow" >"$TEST_DIR/slow.code") &
curl_pid=$!
sleep 1
kill -TERM "$VF_PID"
wait "$curl_pid"
assert_eq "in-flight request drained" 200 "$(cat "$TEST_DIR/slow.code")"
for _ in $(seq 1 50); do kill -0 "$VF_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VF_PID" 2>/dev/null && fail "verifier still running after SIGTERM"
wait "$VF_PID"
assert_eq "exit status after SIGTERM" 0 "$?"
exit 0
