#!/bin/bash
# edgeguard-forwarder with TLS from the edge proxy (the `tls` group): curl
# over https through the forwarder to edgeguard-verifier and the backend;
# TLS 1.2 and 1.3; session resumption counted in /metrics; a plaintext or
# silent client on the TLS listener is closed, not left hanging; SIGHUP and
# a replaced file rotate the server certificate while an established
# keep-alive connection keeps working; an optional client certificate
# from the edge proxy; SIGUSR1 reopens log_file; config errors name file,
# line and key.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_pki
# The forwarder's own server certificate, for the edge proxy to check.
"$EDGEGUARD" pki issue --ca "$P" --out "$P/fwd" --server --dns localhost \
	>/dev/null || hard_error "pki fwd"
vf_backend
vf_config
vf_start

TPORT=$(free_port)
FLOGFILE="$TEST_DIR/fw.log"
TLS_KEYS='listen = [ "127.0.0.1:'$TPORT'" ]; cert = "pki/fwd.pem"; key = "pki/fwd.key";'
fw_tls_config() { # [EXTRA_TLS_KEYS]
	fw_config "$(fw_origin_block shop "\"127.0.0.1:$PORT\"" 'sni = "localhost";')" \
		"tls = { $TLS_KEYS ${1:-} };
  limits = { handshake_timeout_ms = 1000; };
  log_file = \"$FLOGFILE\";"
}
fw_tls_config

out=$("$FORWARDER" -t -c "$FCONF") || fail "-t: $out"
assert_contains "-t" "test is successful" "$out"
fw_start
wait_port "$TPORT" || hard_error "TLS listener did not start"

# Sanitizer reports go to stderr, which is log_file now.
no_sanitizer_report() {
	! cat "$FLOGFILE"* 2>/dev/null | grep -E 'Sanitizer|runtime error:' >&2 ||
		fail "sanitizer report in the forwarder's log file"
}

reloads() { fw_metric 'edgeguard_reloads_total{result="ok"}'; }
wait_reload() { # N: until the forwarder has applied N reloads
	for _ in $(seq 1 100); do
		[ "$(reloads)" = "$1" ] && return 0
		sleep 0.05
	done
	hard_error "reload $1 not applied: $(reloads)"
}

# https_curl PATH [CURL_ARGS...]: prints the status; body in $TEST_DIR/body.
https_curl() {
	_path=$1
	shift
	curl -s -o "$TEST_DIR/body" -w '%{http_code}' --max-time 15 \
		--cacert "$P/ca.pem" --resolve "localhost:$TPORT:127.0.0.1" \
		"$@" "https://localhost:$TPORT$_path"
}

# s_client ARGS...: one request over TLS to the forwarder, Connection: close.
s_client() {
	printf 'GET /s-client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$TPORT" \
			-servername localhost -CAfile "$P/ca.pem" -ign_eof "$@" 2>&1
}

serial_served() {
	echo | timeout 5 openssl s_client -connect "127.0.0.1:$TPORT" \
		-servername localhost 2>/dev/null | openssl x509 -noout -serial
}

# End to end over https: edge proxy -> forwarder -> verifier -> backend.
code=$(https_curl '/hello?x=1' -H 'X-Forwarded-For: 192.0.2.7')
assert_eq "https through the forwarder" 200 "$code"
body=$(cat "$TEST_DIR/body")
assert_contains "request line" "GET /hello?x=1 HTTP/1.1" "$body"
assert_contains "identity at the backend" "X-Edge-Client-Identity: dns=edge.example.net" "$body"
assert_contains "xff" "X-Forwarded-For: 192.0.2.7, 127.0.0.1, 127.0.0.1" "$body"
# Bodies still flow both ways over the TLS listener.
head -c 200000 /dev/urandom | base64 -w0 >"$TEST_DIR/big"
code=$(https_curl /post --data-binary "@$TEST_DIR/big")
assert_eq "large POST over https" 200 "$code"
[ "$(stat -c %s "$TEST_DIR/body")" -gt 260000 ] || fail "large body truncated"
# The plain listener still answers next to the TLS one.
assert_eq "plain listener" 200 "$(fw_curl localhost /plain)"

# TLS 1.2 and 1.3, both verified against the demo CA.
for v in 1_2 1_3; do
	out=$(s_client "-tls$v")
	assert_contains "TLS $v" "HTTP/1.1 200" "$out"
	assert_contains "TLS $v verified" "Verify return code: 0 (ok)" "$out"
	assert_contains "TLS $v protocol" "TLSv${v/_/.}" "$out"
done

# Session resumption (tickets), counted in /metrics.
r0=$(fw_metric 'edgeguard_forwarder_inbound_handshakes_total{kind="resumed"}')
for v in 1_2 1_3; do
	sess="$TEST_DIR/s$v.sess"
	out=$(s_client "-tls$v" -sess_out "$sess")
	assert_contains "TLS $v first session" "New, TLSv${v/_/.}" "$out"
	[ -s "$sess" ] || hard_error "openssl wrote no TLS $v session"
	out=$(s_client "-tls$v" -sess_in "$sess")
	assert_contains "TLS $v resumed" "Reused, TLSv${v/_/.}" "$out"
	assert_contains "TLS $v resumed request" "HTTP/1.1 200" "$out"
done
r1=$(fw_metric 'edgeguard_forwarder_inbound_handshakes_total{kind="resumed"}')
[ $((r1 - r0)) -eq 2 ] || fail "resumed handshakes: $r0 -> $r1, expected +2"
full=$(fw_metric 'edgeguard_forwarder_inbound_handshakes_total{kind="full"}')
[ "$full" -ge 5 ] || fail "full handshakes not counted: $full"
assert_contains "server certificate expiry gauge" \
	"kind=\"server\",file=\"$P/fwd.pem\"" \
	"$(curl -s "http://127.0.0.1:$FADMIN_PORT/metrics")"

# A plaintext client on the TLS listener: closed at once, no answer.
f0=$(fw_metric 'edgeguard_forwarder_inbound_handshakes_total{kind="failed"}')
t0=$(date +%s%N)
out=$(printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' | FPORT=$TPORT fw_raw 2>/dev/null)
t1=$(date +%s%N)
case "$out" in *HTTP/*) fail "plaintext on the TLS listener got an answer: $out" ;; esac
[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "plaintext client not closed at once"
# A silent client: closed by handshake_timeout_ms (1 s), not kept.
t0=$(date +%s%N)
python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(8)
sys.exit(0 if s.recv(1) == b"" else 1)
' "$TPORT" || fail "silent client: not closed by the handshake timeout"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 800 ] && [ "$ms" -lt 5000 ] || fail "handshake timeout after $ms ms"
f1=$(fw_metric 'edgeguard_forwarder_inbound_handshakes_total{kind="failed"}')
[ $((f1 - f0)) -ge 2 ] || fail "failed handshakes: $f0 -> $f1"

# A keep-alive TLS connection opened before a certificate rotation, used
# after it (python's ssl: a TLS stack we did not write).
cat >"$TEST_DIR/ka.py" <<'PY'
import socket, ssl, sys, time
port, ca = sys.argv[1:3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
                    server_hostname="localhost")
s.settimeout(10)
def exchange(path, close):
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
               (path, "Connection: close\r\n" if close else "")).encode())
    out = b""
    while b"\r\n\r\n" not in out or len(out.split(b"\r\n\r\n", 1)[1]) < int(
            [l for l in out.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1]):
        b = s.recv(65536)
        if not b:
            break
        out += b
    return out.decode("latin-1")
print(exchange("/before", False).splitlines()[0], flush=True)
time.sleep(float(sys.argv[3]))
print(exchange("/after", True).splitlines()[0], flush=True)
PY
python3 "$TEST_DIR/ka.py" "$TPORT" "$P/ca.pem" 4 >"$TEST_DIR/ka.out" 2>&1 &
ka_pid=$!
sleep 1
old=$(serial_served)
"$EDGEGUARD" pki issue --ca "$P" --out "$TEST_DIR/fwd2" --server --dns localhost \
	>/dev/null || hard_error "pki fwd2"
cp "$TEST_DIR/fwd2.pem" "$P/fwd.pem.new" && cp "$TEST_DIR/fwd2.key" "$P/fwd.key.new"
mv "$P/fwd.key.new" "$P/fwd.key" && mv "$P/fwd.pem.new" "$P/fwd.pem"
new=$(openssl x509 -noout -serial -in "$P/fwd.pem")
[ "$old" != "$new" ] || hard_error "new certificate has the old serial"
n=$(reloads)
kill -HUP "$FW_PID"
# The watch may have reloaded for the same change already: one or two.
for _ in $(seq 1 100); do [ "$(reloads)" -gt "$n" ] && break; sleep 0.05; done
assert_eq "SIGHUP: new certificate served" "$new" "$(serial_served)"
assert_eq "https after rotation" 200 "$(https_curl /rotated)"
wait "$ka_pid" || fail "keep-alive client: $(cat "$TEST_DIR/ka.out")"
assert_eq "keep-alive across the rotation" \
	"$(printf 'HTTP/1.1 200 OK\nHTTP/1.1 200 OK')" "$(cat "$TEST_DIR/ka.out")"

# Replaced on disk without a signal: the file watch reloads it.
"$EDGEGUARD" pki issue --ca "$P" --out "$TEST_DIR/fwd3" --server --dns localhost \
	>/dev/null || hard_error "pki fwd3"
cp "$TEST_DIR/fwd3.pem" "$P/fwd.pem.new" && cp "$TEST_DIR/fwd3.key" "$P/fwd.key.new"
mv "$P/fwd.key.new" "$P/fwd.key" && mv "$P/fwd.pem.new" "$P/fwd.pem"
new=$(openssl x509 -noout -serial -in "$P/fwd.pem")
for _ in $(seq 1 50); do
	got=$(serial_served)
	[ "$got" = "$new" ] && break
	sleep 0.2
done
assert_eq "replaced certificate file served" "$new" "$got"

# The edge proxy must present a certificate from client_ca_file.
fw_tls_config 'client_ca_file = "pki/ca.pem";'
n=$(reloads)
kill -HUP "$FW_PID"
wait_reload $((n + 1))
code=$(https_curl /no-cert)
[ "$code" = 000 ] || fail "no client certificate: got $code"
code=$(https_curl /stranger --cert "$P/stranger.pem" --key "$P/stranger.key")
[ "$code" = 000 ] || fail "client certificate from another CA: got $code"
code=$(https_curl /noeku --cert "$P/noeku.pem" --key "$P/noeku.key")
[ "$code" = 000 ] || fail "certificate without clientAuth: got $code"
code=$(https_curl /with-cert --cert "$P/edge.pem" --key "$P/edge.key")
assert_eq "edge proxy with its certificate" 200 "$code"

# SIGUSR1 after logrotate renamed the log: a new file, and the old one
# gets nothing more.
grep -q "configuration reloaded" "$FLOGFILE" || fail "log_file not written"
mv "$FLOGFILE" "$FLOGFILE.1"
kill -USR1 "$FW_PID"
for _ in $(seq 1 50); do [ -s "$FLOGFILE" ] && break; sleep 0.1; done
assert_contains "reopened" "log file $FLOGFILE reopened" "$(cat "$FLOGFILE" 2>/dev/null)"
before=$(wc -l <"$FLOGFILE.1")
kill -HUP "$FW_PID"
wait_reload $((n + 2))
assert_contains "written to the new file" "configuration reloaded" "$(tail -n 2 "$FLOGFILE")"
assert_eq "old file untouched" "$before" "$(wc -l <"$FLOGFILE.1")"

fw_stop
no_sanitizer_report

# Configuration errors name file, line and key.
cfg_error() { # WHAT EXPECTED TLS_GROUP_BODY
	fw_config "$(fw_origin_block shop "\"127.0.0.1:$PORT\"" 'sni = "localhost";')" \
		"tls = { $3 };"
	out=$("$FORWARDER" -t -c "$FCONF" 2>&1) && fail "$1: accepted"
	assert_contains "$1" "$2" "$out"
}
cfg_error "unknown tls key" "forwarder.conf:5: forwarder.tls.certfile: unknown key" \
	"$TLS_KEYS certfile = \"x\";"
cfg_error "tls without cert" "forwarder.conf:5: forwarder.tls: missing required key 'cert'" \
	'listen = [ "127.0.0.1:1" ]; key = "pki/fwd.key";'
cfg_error "tls without listen" "forwarder.conf:5: forwarder.tls: missing required key 'listen'" \
	'cert = "pki/fwd.pem"; key = "pki/fwd.key";'
cfg_error "bad rotation" "forwarder.conf:5: forwarder.tls.ticket_key_rotation_s" \
	"$TLS_KEYS ticket_key_rotation_s = \"soon\";"
cfg_error "missing certificate file" "forwarder.conf:5: forwarder.tls: certificate $TEST_DIR/pki/nope.pem" \
	'listen = [ "127.0.0.1:1" ]; cert = "pki/nope.pem"; key = "pki/fwd.key";'
cfg_error "bad priority" "forwarder.conf:5: forwarder.tls: priority string" \
	"$TLS_KEYS priority = \"NORMAL:+BOGUS\";"
# Only TLS listeners: the plain `listen` may go.
sed -i '/^  listen = /d' "$FCONF"
sed -i 's|key = "pki/fwd.key"; priority = "NORMAL:+BOGUS";|key = "pki/fwd.key";|' "$FCONF"
out=$("$FORWARDER" -t -c "$FCONF" 2>&1) || fail "TLS listeners only: $out"
exit 0
