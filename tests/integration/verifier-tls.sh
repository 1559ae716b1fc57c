#!/bin/bash
# edgeguard-verifier TLS: ECDSA and RSA server certificates over TLS 1.2 and
# 1.3; TLS 1.3 session resumption (tickets) keeps the client's identity,
# never skips the decision (a refused client stays refused when it
# resumes) and applies an allowlist changed by a reload; ALPN; IPv4 and
# IPv6 listeners side by side; ticket keys rotated on schedule.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

vf_pki
"$EDGEGUARD" pki issue --ca "$P" --out "$P/origin-rsa" --server \
	--dns localhost --rsa >/dev/null || hard_error "pki RSA origin"
vf_backend
vf_config
vf_start

# s_client VERSION CERT_PREFIX|- [ARGS...]: one request, Connection: close.
s_client() {
	_v=$1 _c=$2
	shift 2
	[ "$_c" = - ] || set -- -cert "$P/$_c.pem" -key "$P/$_c.key" "$@"
	printf 'GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
			-servername localhost "-tls$_v" -CAfile "$P/ca.pem" \
			-ign_eof "$@" 2>&1
}

# ECDSA P-256, the default of every certificate edgeguard makes.
for v in 1_2 1_3; do
	out=$(s_client $v edge)
	assert_contains "ECDSA TLS $v" "HTTP/1.1 200" "$out"
	assert_contains "ECDSA TLS $v key" "Server public key is 256 bit" "$out"
	assert_contains "ECDSA TLS $v signature" "Peer signature type: ECDSA" "$out"
	assert_contains "ECDSA TLS $v verified" "Verify return code: 0 (ok)" "$out"
done

# TLS 1.3 resumption: the identity comes back with the session.
sess="$TEST_DIR/edge.sess"
out=$(s_client 1_3 edge -sess_out "$sess")
assert_contains "first TLS 1.3 session" "New, TLSv1.3" "$out"
[ -s "$sess" ] || hard_error "openssl wrote no TLS 1.3 session"
out=$(s_client 1_3 edge -sess_in "$sess")
assert_contains "TLS 1.3 resumed" "Reused, TLSv1.3" "$out"
assert_contains "resumed: admitted" "HTTP/1.1 200" "$out"
assert_contains "resumed: identity kept" "X-Edge-Client-Identity: dns=edge.example.net" "$out"
assert_contains "resumed: certificate kept" 'Subject="CN=edge.example.net"' "$out"
case "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" in
*'edgeguard_handshakes_total{kind="resumed"} 0'*) fail "resumption not counted" ;;
esac

# Refused clients resume into the same refusal, with the same reason.
for who in stranger:untrusted_issuer -:no_certificate; do
	c=${who%%:*} reason=${who#*:}
	s="$TEST_DIR/$reason.sess"
	out=$(s_client 1_3 "$c" -sess_out "$s")
	assert_contains "$c: refused" "403 Forbidden: $reason" "$out"
	out=$(s_client 1_3 "$c" -sess_in "$s")
	assert_contains "$c: resumed" "Reused, TLSv1.3" "$out"
	assert_contains "$c: still refused when resumed" "403 Forbidden: $reason" "$out"
done

# A reload that drops the edge from the allowlist: its old ticket still
# resumes the session, the new allowlist still refuses it.
vf_config 'dns = [ "other.example.org" ];'
kill -HUP "$VF_PID"
vf_wait_reload 1
n=$(vf_audit_mark)
out=$(s_client 1_3 edge -sess_in "$sess")
assert_contains "resumed after reload" "Reused, TLSv1.3" "$out"
assert_contains "resumed session under the new allowlist" "403 Forbidden: identity_not_allowed" "$out"
vf_one_record "resumed refusal" "$n"
assert_contains "resumed refusal audited" '"reason":"identity_not_allowed"' "$(last_audit)"
assert_contains "resumed refusal names the edge" 'edge.example.net' "$(last_audit)"

# RSA-2048, put in place by a reload.
sed -i 's|pki/origin.pem|pki/origin-rsa.pem|; s|pki/origin.key|pki/origin-rsa.key|' "$CONF"
sed -i 's|"other.example.org"|"edge.example.net"|' "$CONF"
kill -HUP "$VF_PID"
vf_wait_reload 2
for v in 1_2 1_3; do
	out=$(s_client $v edge)
	assert_contains "RSA TLS $v" "HTTP/1.1 200" "$out"
	assert_contains "RSA TLS $v key" "Server public key is 2048 bit" "$out"
	assert_contains "RSA TLS $v signature" "Peer signature type: RSA" "$out"
done
assert_eq "RSA with curl" 200 "$(vf_curl edge "https://localhost:$PORT/rsa")"
kill -0 "$VF_PID" || fail "verifier died"

# ALPN: http/1.1 whatever else the client offers.
out=$(s_client 1_3 edge -alpn h2,http/1.1)
assert_contains "ALPN" "ALPN protocol: http/1.1" "$out"
assert_contains "ALPN request" "HTTP/1.1 200" "$out"

# A second verifier: IPv4, IPv6 and unix-socket listeners, ticket key
# rotated each second.
kill "$VF_PID"
wait "$VF_PID" 2>/dev/null
PORT=$(free_port)
PORT6=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])') ||
	skip "no IPv6 loopback"
TLS_EXTRA="ticket_key_rotation_s = 1;"
vf_config
sed -i "s|listen = \[ \"127.0.0.1:$PORT\" \];|listen = [ \"127.0.0.1:$PORT\", \"[::1]:$PORT6\", \"unix:$TEST_DIR/tls.sock\" ];|" "$CONF"
vf_start
code=$(curl -s -o "$TEST_DIR/body" -w '%{http_code}' --max-time 10 \
	--cacert "$P/ca.pem" --cert "$P/edge.pem" --key "$P/edge.key" \
	--resolve "localhost:$PORT6:[::1]" "https://localhost:$PORT6/v6")
assert_eq "IPv6 listener" 200 "$code"
assert_contains "IPv6 client in X-Forwarded-For" "X-Forwarded-For: ::1" "$(cat "$TEST_DIR/body")"
assert_contains "IPv6 client in Forwarded" 'Forwarded: for="[::1]";proto=https' "$(cat "$TEST_DIR/body")"
assert_eq "IPv4 listener too" 200 "$(vf_curl edge "https://localhost:$PORT/v4")"
out=$(python3 - "$TEST_DIR/tls.sock" "$P" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2] + "/ca.pem")
ctx.load_cert_chain(sys.argv[2] + "/edge.pem", sys.argv[2] + "/edge.key")
raw = socket.socket(socket.AF_UNIX)
raw.connect(sys.argv[1])
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET /unix HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1"))
PY
)
assert_contains "unix-socket listener" "HTTP/1.1 200" "$out"
assert_contains "unix-socket client in X-Forwarded-For" "X-Forwarded-For: unix:" "$out"
assert_contains "unix-socket client in Forwarded" "Forwarded: for=unknown;proto=https" "$out"

# A ticket resumes until the key it was sealed with is rotated away; the
# client then simply gets a full handshake.
sess="$TEST_DIR/rotating.sess"
for _ in 1 2 3; do
	s_client 1_3 edge -sess_out "$sess" >/dev/null
	out=$(s_client 1_3 edge -sess_in "$sess")
	case "$out" in *"Reused, TLSv1.3"*) break ;; esac
done
assert_contains "resumed before the rotation" "Reused, TLSv1.3" "$out"
sleep 2.5
out=$(s_client 1_3 edge -sess_in "$sess")
assert_contains "full handshake after the rotation" "New, TLSv1.3" "$out"
assert_contains "served after the rotation" "HTTP/1.1 200" "$out"
kill -0 "$VF_PID" || fail "verifier died"
exit 0
