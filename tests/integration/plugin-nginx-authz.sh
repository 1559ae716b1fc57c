#!/bin/bash
# nginx without the module, asking edgeguard-verifier's authorization
# endpoint through auth_request, configured by conf/nginx-auth-request.conf
# as shipped (only addresses and paths substituted): the same table of
# certificate cases, audited by the verifier with component "authz".
. "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/plugin-lib.sh"

need curl
need python3
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX_BIN" ] || skip "nginx not installed"
"$NGINX_BIN" -V 2>&1 | grep -q -- --with-http_auth_request_module ||
	skip "nginx lacks the auth_request module"
VERIFIER="$top_builddir/daemon/edgeguard-verifier"
[ -x "$VERIFIER" ] || skip "edgeguard-verifier not built"

chmod 755 "$TEST_DIR"
eg_make_pki "$TEST_DIR/pki"
eg_write_policy "$TEST_DIR/pki"
mkdir -p "$TEST_DIR/www" "$TEST_DIR/tmp"
echo ok >"$TEST_DIR/www/ok.txt"
chmod -R a+rX "$TEST_DIR/www"
AUDIT="$TEST_DIR/pki/audit.jsonl"

PORT=$(free_port)
AUTHZ_PORT=$(free_port)
VF_PORT=$(free_port)
BACKEND_PORT=$(free_port)

# The verifier's own TLS listener is unused here; authz is the point.
{
	cat <<EOF
verifier = {
	listen = [ "127.0.0.1:$VF_PORT" ];
	tls = { cert = "origin.pem"; key = "origin.key"; };
	backend = "127.0.0.1:$BACKEND_PORT";
	workers = 1;
	authz = { listen = "127.0.0.1:$AUTHZ_PORT"; header = "X-Client-Cert"; };
};
EOF
	cat "$TEST_DIR/pki/policy.conf"
} >"$TEST_DIR/pki/verifier.conf"

sed -e "s|unix:/run/edgeguard/authz.sock|127.0.0.1:$AUTHZ_PORT|" \
	-e "s|listen 443 ssl;|listen 127.0.0.1:$PORT ssl;|" \
	-e "/listen \[::\]:443 ssl;/d" \
	-e "s|/etc/edgeguard/|$TEST_DIR/pki/|g" \
	-e "s|http://127.0.0.1:8080|http://127.0.0.1:$BACKEND_PORT|" \
	"$top_srcdir/conf/nginx-auth-request.conf" >"$TEST_DIR/site.conf"
grep -q "127.0.0.1:$AUTHZ_PORT" "$TEST_DIR/site.conf" && grep -q "127.0.0.1:$PORT ssl" "$TEST_DIR/site.conf" ||
	hard_error "conf/nginx-auth-request.conf changed shape: update the substitutions"

cat >"$TEST_DIR/nginx.conf" <<EOF
worker_processes 1;
pid $TEST_DIR/nginx.pid;
error_log $TEST_DIR/error.log info;
events { worker_connections 64; }
http {
	client_body_temp_path $TEST_DIR/tmp/body;
	proxy_temp_path $TEST_DIR/tmp/proxy;
	fastcgi_temp_path $TEST_DIR/tmp/fastcgi;
	uwsgi_temp_path $TEST_DIR/tmp/uwsgi;
	scgi_temp_path $TEST_DIR/tmp/scgi;
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
