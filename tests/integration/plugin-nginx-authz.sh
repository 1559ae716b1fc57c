#!/bin/bash
# nginx without the module, asking edgeguard-verifier's authorization
# endpoint through auth_request, configured by conf/nginx-auth-request.conf
# as shipped (only addresses and paths substituted): the same table of
# certificate cases, audited by the verifier with component "authz".
. "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/plugin-lib.sh"

NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX_BIN" ] || skip "nginx not installed"
"$NGINX_BIN" -V 2>&1 | grep -q -- --with-http_auth_request_module ||
	skip "nginx lacks the auth_request module"
VERIFIER="$top_builddir/daemon/edgeguard-verifier"
[ -x "$VERIFIER" ] || skip "edgeguard-verifier not built"

eg_setup_site

PORT=$(free_port)
AUTHZ_PORT=$(free_port)
VF_PORT=$(free_port)
BACKEND_PORT=$(free_port)

# The verifier's own TLS listener is unused here; authz is the point.
eg_write_verifier_conf "$VF_PORT" "127.0.0.1:$BACKEND_PORT" 1 \
	"authz = { listen = \"127.0.0.1:$AUTHZ_PORT\"; header = \"X-Client-Cert\"; };"

sed -e "s|unix:/run/edgeguard/authz.sock|127.0.0.1:$AUTHZ_PORT|" \
	-e "s|listen 443 ssl;|listen 127.0.0.1:$PORT ssl;|" \
	-e "/listen \[::\]:443 ssl;/d" \
	-e "s|/etc/edgeguard/|$TEST_DIR/pki/|g" \
	-e "s|http://127.0.0.1:8080|http://127.0.0.1:$BACKEND_PORT|" \
	"$top_srcdir/conf/nginx-auth-request.conf" >"$TEST_DIR/site.conf"
grep -q "127.0.0.1:$AUTHZ_PORT" "$TEST_DIR/site.conf" && grep -q "127.0.0.1:$PORT ssl" "$TEST_DIR/site.conf" ||
	hard_error "conf/nginx-auth-request.conf changed shape: update the substitutions"

cat >"$TEST_DIR/nginx.conf" <<EOF
$(nginx_conf_head 1 "$TEST_DIR/error.log" 64)
	access_log $TEST_DIR/access.log;
	include $TEST_DIR/site.conf;
	# the application behind the origin
	server {
		listen 127.0.0.1:$BACKEND_PORT;
		root $TEST_DIR/www;
		location / { try_files /ok.txt =404; }
	}
}
EOF

PIDS=
cleanup_hook() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	return 0
}
"$VERIFIER" -c "$TEST_DIR/pki/verifier.conf" 2>"$TEST_DIR/verifier.err" &
PIDS="$PIDS $!"
"$NGINX_BIN" -p "$TEST_DIR" -c "$TEST_DIR/nginx.conf" -g 'daemon off;' 2>"$TEST_DIR/nginx.err" &
PIDS="$PIDS $!"
wait_port "$AUTHZ_PORT" 10 || hard_error "verifier did not start: $(cat "$TEST_DIR/verifier.err")"
wait_port "$PORT" 10 || hard_error "nginx did not start: $(cat "$TEST_DIR/nginx.err" "$TEST_DIR/error.log")"

echo "# the table of cases, nginx auth_request -> edgeguard-verifier authz"
eg_run_cases "https://127.0.0.1:$PORT" "$AUDIT" authz
exit 0
