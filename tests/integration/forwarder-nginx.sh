#!/bin/bash
# edgeguard-forwarder with Debian's nginx, a peer we did not write, on
# both sides: nginx as the edge proxy in front of the forwarder (unix
# socket, keep-alive upstream), nginx as an origin with ssl_verify_client
# on + ssl_client_certificate, and nginx as an edge presenting its own
# certificate (proxy_ssl_certificate, proxy_ssl_verify on) to
# edgeguard-verifier.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX_BIN" ] || skip "nginx not installed"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_up
# nginx workers run as nobody: the socket directory must be reachable.
chmod 755 "$TEST_DIR"
mkdir -p "$TEST_DIR/tmp"
NGX_ORIGIN=$(free_port)
NGX_EDGE=$(free_port)
NGX_EDGE_VF=$(free_port)
SOCK="$TEST_DIR/fw.sock"

cat >"$TEST_DIR/nginx.conf" <<EOF
$(nginx_conf_head 1 "$TEST_DIR/nginx-error.log" 256)
	log_format origin '\$connection \$connection_requests \$ssl_session_reused \$ssl_client_verify';
	access_log off;

	# nginx as the origin: only clients with a certificate from our CA.
	server {
		listen 127.0.0.1:$NGX_ORIGIN ssl;
		access_log $TEST_DIR/origin-access.log origin;
		ssl_certificate $P/origin.pem;
		ssl_certificate_key $P/origin.key;
		ssl_verify_client on;
		ssl_client_certificate $P/ca.pem;
		keepalive_requests 10000;
		location / {
			return 200 "dn=\$ssl_client_s_dn verify=\$ssl_client_verify host=\$host xff=\$http_x_forwarded_for\n";
		}
	}

	# nginx as the edge proxy in front of the forwarder.
	upstream forwarder {
		server unix:$SOCK;
		keepalive 8;
	}
	server {
		listen 127.0.0.1:$NGX_EDGE;
		location / {
			proxy_pass http://forwarder;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$remote_addr;
		}
	}

	# nginx as an edge with its own client certificate, to the verifier.
	server {
		listen 127.0.0.1:$NGX_EDGE_VF;
		location / {
			proxy_pass https://127.0.0.1:$PORT;
			proxy_http_version 1.1;
			proxy_set_header Host \$host;
			proxy_ssl_certificate $P/edge.pem;
			proxy_ssl_certificate_key $P/edge.key;
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate $P/ca.pem;
			proxy_ssl_name localhost;
			proxy_ssl_server_name on;
		}
	}
}
EOF

FLISTEN_EXTRA=", \"unix:$SOCK\""
fw_config "$(fw_origin_block ngx "\"127.0.0.1:$NGX_ORIGIN\"" 'hosts = [ "ngx.test" ]; sni = "localhost";'),
$(fw_origin_block stranger "\"127.0.0.1:$NGX_ORIGIN\"" 'hosts = [ "stranger.test" ]; sni = "localhost";' |
	sed 's/pki\/edge\./pki\/stranger./'),
$(fw_origin_block vf "\"127.0.0.1:$PORT\"" 'hosts = [ "vf.test" ]; sni = "localhost";')"
fw_start
chmod 666 "$SOCK"

NGINX_PID=
cleanup_hook() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	for p in $VF_PIDS; do kill "$p" 2>/dev/null; done
	for p in $VF_PIDS; do wait "$p" 2>/dev/null; done
	return 0
}
"$NGINX_BIN" -p "$TEST_DIR" -c "$TEST_DIR/nginx.conf" -g 'daemon off;' 2>"$TEST_DIR/nginx.err" &
NGINX_PID=$!
wait_port "$NGX_ORIGIN" && wait_port "$NGX_EDGE" && wait_port "$NGX_EDGE_VF" ||
	hard_error "nginx did not start: $(cat "$TEST_DIR/nginx.err" "$TEST_DIR/nginx-error.log")"

edge() { # PORT HOST PATH: through an nginx edge; status, body in $TEST_DIR/body
	curl -s -o "$TEST_DIR/body" -w '%{http_code}' --max-time 15 \
		-H "Host: $2" "http://127.0.0.1:$1$3"
}

# nginx edge -> forwarder -> nginx origin: nginx verified our certificate.
code=$(edge "$NGX_EDGE" ngx.test /a)
assert_eq "nginx edge -> forwarder -> nginx origin" 200 "$code"
body=$(cat "$TEST_DIR/body")
assert_contains "nginx saw the edge certificate" "dn=CN=edge.example.net verify=SUCCESS" "$body"
assert_contains "host passed on" "host=ngx.test" "$body"
assert_contains "xff" "xff=127.0.0.1" "$body"

# Pooled: 50 more requests ride the forwarder's kept-alive connections.
for i in $(seq 1 50); do
	code=$(edge "$NGX_EDGE" ngx.test "/n$i")
	[ "$code" = 200 ] || fail "request $i through nginx: $code"
done
max=$(awk '{ if ($2 > m) m = $2 } END { print m }' "$TEST_DIR/origin-access.log")
[ "${max:-0}" -ge 20 ] || fail "origin connections were not reused: $(tail -3 "$TEST_DIR/origin-access.log")"
full=$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="ngx",kind="full"}')
resumed=$(fw_metric 'edgeguard_forwarder_handshakes_total{origin="ngx",kind="resumed"}')
[ $((full + resumed)) -le 4 ] || fail "51 requests made $full full and $resumed resumed handshakes"

# nginx refuses a certificate from another CA with its own 400 page; the
# forwarder relays it.
code=$(fw_curl stranger.test /s)
assert_eq "nginx refuses the stranger" 400 "$code"
assert_contains "nginx's reason" "SSL certificate error" "$(cat "$TEST_DIR/body")"

# nginx edge -> forwarder -> edgeguard-verifier -> backend.
code=$(edge "$NGX_EDGE" vf.test /v)
assert_eq "nginx edge -> forwarder -> verifier" 200 "$code"
assert_contains "identity at the backend" "X-Edge-Client-Identity: dns=edge.example.net" "$(cat "$TEST_DIR/body")"

# nginx as the edge itself, straight to the verifier.
code=$(edge "$NGX_EDGE_VF" localhost /direct)
assert_eq "nginx proxy_ssl_certificate -> verifier" 200 "$code"
assert_contains "identity from nginx's certificate" "X-Edge-Client-Identity: dns=edge.example.net" "$(cat "$TEST_DIR/body")"
fw_stop
exit 0
