#!/bin/bash
# ngx_http_edgeguard_module inside Debian's nginx: the table of certificate
# cases, nginx's own 495/496 answers turned into audited 403s, the module's
# directives and variables, and policy reload with nginx -s reload.
. "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/plugin-lib.sh"

NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX_BIN" ] || skip "nginx not installed"
MODULE="$top_builddir/plugins/nginx-build/objs/ngx_http_edgeguard_module.so"
[ -f "$MODULE" ] || skip "nginx module not built (configure --with-nginx-module; needs nginx-dev)"
# NAME=value words, split where used (env $SERVER_ENV ...)
SERVER_ENV=$(eg_server_env)

# Workers run as nobody: everything they read must be world-readable (keys
# are read by the master, as root).
eg_setup_site

PORT=$(free_port)
STRICT_PORT=$(free_port)
H2_PORT=$(free_port)

cat >"$TEST_DIR/nginx.conf" <<EOF
load_module $MODULE;
$(nginx_conf_head 2 "$TEST_DIR/error.log" 64)
	log_format edgeguard '\$status reason=\$edgeguard_reason rule=\$edgeguard_rule identity=\$edgeguard_identity';
	access_log $TEST_DIR/access.log edgeguard;
	root $TEST_DIR/www;

	ssl_certificate $TEST_DIR/pki/origin.pem;
	ssl_certificate_key $TEST_DIR/pki/origin.key;
	edgeguard_policy $TEST_DIR/pki/policy.conf;

	server {
		listen 127.0.0.1:$PORT ssl;
		server_name _;
		ssl_verify_client optional_no_ca;
		edgeguard on;
		add_header X-Edgeguard-Identity \$edgeguard_identity always;
		add_header X-Edgeguard-Rule \$edgeguard_rule always;
		location / { try_files /ok.txt =404; }
		location /off/ { edgeguard off; try_files /ok.txt =404; }
		location /observe/ { edgeguard log-only; try_files /ok.txt =404; }
		# an allowing access module cannot skip the certificate check
		location /any/ { satisfy any; allow 127.0.0.1; deny all; try_files /ok.txt =404; }
		# index redirects internally: still one audit record
		location /idx/ { edgeguard log-only; alias $TEST_DIR/www/; index ok.txt; }
	}

	# the same over HTTP/2, where requests run on per-stream connections
	server {
		listen 127.0.0.1:$H2_PORT ssl http2;
		server_name _;
		ssl_verify_client optional_no_ca;
		edgeguard on;
		location / { try_files /ok.txt =404; }
	}

	# nginx judges certificates itself here and answers 495/496 before
	# any module runs; edgeguard must still answer an audited 403.
	server {
		listen 127.0.0.1:$STRICT_PORT ssl;
		server_name _;
		ssl_verify_client on;
		ssl_client_certificate $TEST_DIR/pki/ca.pem;
		edgeguard on;
		location / { try_files /ok.txt =404; }
	}
}
EOF

env $SERVER_ENV "$NGINX_BIN" -t -p "$TEST_DIR" -c "$TEST_DIR/nginx.conf" >"$TEST_DIR/t.log" 2>&1 ||
	hard_error "nginx -t: $(cat "$TEST_DIR/t.log")"

# A server that never asks for a certificate is flagged when nginx reads
# its configuration.
cat >"$TEST_DIR/noverify.conf" <<EOF
load_module $MODULE;
pid $TEST_DIR/noverify.pid;
error_log $TEST_DIR/noverify.log;
events { }
http {
	edgeguard_policy $TEST_DIR/pki/policy.conf;
	server { listen 127.0.0.1:$PORT; server_name plain; edgeguard on; }
}
EOF
env $SERVER_ENV "$NGINX_BIN" -t -p "$TEST_DIR" -c "$TEST_DIR/noverify.conf" >"$TEST_DIR/t.log" 2>&1 ||
	fail "nginx -t refused a server without client certificates: $(cat "$TEST_DIR/t.log")"
assert_contains "warning for a server without ssl_verify_client" \
	'edgeguard is enabled in server "plain" in '"$TEST_DIR"'/noverify.conf:7' "$(cat "$TEST_DIR/t.log")"
echo "ok - nginx -t warns about a server that never requests certificates"

NGINX_PID=
cleanup_hook() {
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
	fi
}
env $SERVER_ENV "$NGINX_BIN" -p "$TEST_DIR" -c "$TEST_DIR/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
wait_port "$PORT" 10 && wait_port "$STRICT_PORT" 10 && wait_port "$H2_PORT" 10 ||
	hard_error "nginx did not start: $(cat "$TEST_DIR/error.log")"

URL="https://127.0.0.1:$PORT"
STRICT_URL="https://127.0.0.1:$STRICT_PORT"

echo "# the table of cases"
eg_run_cases "$URL" "$AUDIT" nginx

echo "# the table of cases over HTTP/2"
EG_CURL_OPTS=--http2 eg_run_cases "https://127.0.0.1:$H2_PORT" "$AUDIT" nginx
EG_CURL_OPTS=--http2 eg_request "https://127.0.0.1:$H2_PORT" origin.example.com /h2 edge >/dev/null
assert_contains "HTTP/2 used" "HTTP/2 200" "$(cat "$TEST_DIR/headers")"

echo "# variables"
eg_check_variables "$URL"
echo "ok - \$edgeguard_identity, \$edgeguard_rule, \$edgeguard_reason"

echo "# directives: edgeguard off / log-only"
eg_check_off_log_only "$URL" "$AUDIT" nginx log-only
eg_out=$(eg_check_case satisfy-any "$URL" "$AUDIT" nginx none origin.example.com /any/page 403 no_certificate)
[ -z "$eg_out" ] || fail "$eg_out"
eg_mark=$(eg_lines "$AUDIT")
eg_out=$(eg_check_case log-only-internal-redirect "$URL" "$AUDIT" nginx badsan origin.example.com /idx/ 200 identity_not_allowed)
[ -z "$eg_out" ] || fail "$eg_out"
# a second identical event would be folded and show after the window
sleep 2
assert_eq "records for one internally redirected request" 1 "$(eg_audit_after "$AUDIT" "$eg_mark" | wc -l)"
echo "ok - edgeguard off admits unaudited; log-only audits would_reject once; satisfy any cannot skip it"

echo "# flood aggregation"
eg_check_flood "$URL" "$AUDIT" nginx 40

echo "# nginx's own 495/496 become audited 403s"
for c in "strict-no-certificate none 403 no_certificate" \
	"strict-other-ca foreign 403 untrusted_issuer" \
	"strict-expired expired 403 expired" \
	"strict-san-not-allowed badsan 403 identity_not_allowed" \
	"strict-edge edge 200 -"; do
	# shellcheck disable=SC2086 # fields of the case line
	set -- $c
	eg_out=$(eg_check_case "$1" "$STRICT_URL" "$AUDIT" nginx "$2" origin.example.com /s "$3" "$4")
	[ -z "$eg_out" ] || fail "$eg_out"
	echo "ok - $1 ($3 $4)"
done

echo "# nginx -s reopen (logrotate) reopens the audit file in every worker"
mv "$AUDIT" "$AUDIT.1"
kill -USR1 "$NGINX_PID"
for _ in $(seq 50); do [ -f "$AUDIT" ] && break; sleep 0.1; done
sleep 0.5
# one request per worker is likely, not certain: send several
for i in 1 2 3 4 5 6; do
	assert_eq "after reopen" 403 "$(eg_request "$URL" origin.example.com "/rotated$i" none)"
done
rotated=$(grep -c '"/rotated' "$AUDIT.1")
assert_eq "records written to the rotated file after reopen" 0 "$rotated"
assert_eq "records in the new file" 6 "$(grep -c '"path":"/rotated' "$AUDIT")"
echo "ok - reopen"

echo "# nginx -s reload applies a changed policy; a broken one is refused"
eg_write_policy "$TEST_DIR/pki" '"*.edges.example.net"'
kill -HUP "$NGINX_PID"
i=0
while [ "$(eg_request "$URL" origin.example.com /r edge)" != 403 ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "reload: edge.example.net still admitted after the allowlist dropped it"
	sleep 0.1
done
assert_eq "reload reason" "403 Forbidden: identity_not_allowed" "$(cat "$TEST_DIR/body")"
echo 'policy = { trust = { ca_files = [ "ca.pem" ]; }; default = { allow = { dns = [ "edge.example.net" ]; }; bogus = 1; }; };' \
	>"$TEST_DIR/pki/policy.conf"
env $SERVER_ENV "$NGINX_BIN" -t -p "$TEST_DIR" -c "$TEST_DIR/nginx.conf" >"$TEST_DIR/t.log" 2>&1 &&
	fail "nginx -t accepted a broken policy"
assert_contains "nginx -t names file:line:key" "policy.conf:1: policy.default.bogus" "$(cat "$TEST_DIR/t.log")"
kill -HUP "$NGINX_PID"
sleep 1
assert_eq "old policy keeps serving" 403 "$(eg_request "$URL" origin.example.com /r2 edge)"
assert_eq "old policy keeps serving" 200 "$(eg_request "$URL" origin.example.com /r2 wildcard)"
echo "ok - reload"

kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx died: $(cat "$TEST_DIR/error.log")"
! grep -E '\[(alert|emerg|crit)\]' "$TEST_DIR/error.log" | grep -v 'policy.default.bogus' ||
	fail "nginx logged alerts"
eg_check_sanitizers "$TEST_DIR/error.log"
exit 0
