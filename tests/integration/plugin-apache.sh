#!/bin/bash
# mod_edgeguard inside Debian's Apache httpd with mod_ssl: the table of
# certificate cases, the Edgeguard directive per <Location>, the
# EDGEGUARD_* environment variables, and policy reload with a graceful
# restart.
. "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/plugin-lib.sh"

HTTPD=$(command -v apache2 || echo /usr/sbin/apache2)
[ -x "$HTTPD" ] || skip "apache2 not installed"
MODDIR=/usr/lib/apache2/modules
[ -f "$MODDIR/mod_ssl.so" ] || skip "mod_ssl not found in $MODDIR"
MODULE="$top_builddir/plugins/apache-build/mod_edgeguard.so"
[ -f "$MODULE" ] || skip "Apache module not built (configure --with-apache-module; needs apache2-dev)"
# NAME=value words, split where used (env $SERVER_ENV ...)
SERVER_ENV=$(eg_server_env)

# Children run as nobody: what they read must be world-readable (keys and
# the policy are read by the parent, as root).
eg_setup_site
PORT=$(free_port)

cat >"$TEST_DIR/httpd.conf" <<EOF
ServerRoot $TEST_DIR
ServerName origin.example.com
Listen 127.0.0.1:$PORT
PidFile $TEST_DIR/httpd.pid
DefaultRuntimeDir $TEST_DIR
ErrorLog $TEST_DIR/error.log
LogLevel info
User nobody
Group nogroup
StartServers 1
ServerLimit 2
MaxRequestWorkers 50

LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule alias_module $MODDIR/mod_alias.so
LoadModule headers_module $MODDIR/mod_headers.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule edgeguard_module $MODULE

LogFormat "%>s reason=%{EDGEGUARD_REASON}e rule=%{EDGEGUARD_RULE}e identity=%{EDGEGUARD_IDENTITY}e" edgeguard
CustomLog $TEST_DIR/access.log edgeguard

<VirtualHost 127.0.0.1:$PORT>
	SSLEngine on
	SSLCertificateFile $TEST_DIR/pki/origin.pem
	SSLCertificateKeyFile $TEST_DIR/pki/origin.key
	SSLVerifyClient optional_no_ca
	SSLOptions +ExportCertData
	EdgeguardPolicy $TEST_DIR/pki/policy.conf

	DocumentRoot $TEST_DIR/www
	AliasMatch "^/(?!observe/missing)" "$TEST_DIR/www/ok.txt"
	Header always set X-Edgeguard-Identity "%{EDGEGUARD_IDENTITY}e"
	Header always set X-Edgeguard-Rule "%{EDGEGUARD_RULE}e"
	<Location "/">
		Edgeguard On
		Require all granted
	</Location>
	<Location "/off/">
		Edgeguard Off
	</Location>
	<Location "/observe/">
		Edgeguard LogOnly
	</Location>
	# an internal redirect: still one audit record
	ErrorDocument 404 /observe/page
</VirtualHost>
EOF

env $SERVER_ENV "$HTTPD" -t -f "$TEST_DIR/httpd.conf" >"$TEST_DIR/t.log" 2>&1 ||
	hard_error "apache2 -t: $(cat "$TEST_DIR/t.log")"

# Stopped through its pid file: "apache2 -k stop" would parse the
# configuration first, and the reload test leaves a broken policy behind.
cleanup_hook() {
	_pid=$(cat "$TEST_DIR/httpd.pid" 2>/dev/null) || return 0
	kill -TERM "$_pid" 2>/dev/null || return 0
	# the daemon is not our child: once it exits it may linger as a
	# zombie of whoever adopted it, so a zombie counts as gone
	for _ in $(seq 50); do
		case $(ps -o stat= -p "$_pid" 2>/dev/null) in '' | Z*) return 0 ;; esac
		sleep 0.1
	done
	kill -KILL "$_pid" 2>/dev/null
}
env $SERVER_ENV "$HTTPD" -f "$TEST_DIR/httpd.conf" -k start ||
	hard_error "apache2 did not start: $(cat "$TEST_DIR/error.log")"
wait_port "$PORT" 10 || hard_error "apache2 did not listen: $(cat "$TEST_DIR/error.log")"
for _ in $(seq 50); do [ -s "$TEST_DIR/httpd.pid" ] && break; sleep 0.1; done

URL="https://127.0.0.1:$PORT"

echo "# the table of cases"
eg_run_cases "$URL" "$AUDIT" apache

echo "# environment variables"
eg_check_variables "$URL"
echo "ok - EDGEGUARD_IDENTITY, EDGEGUARD_RULE, EDGEGUARD_REASON"

echo "# directives: Edgeguard Off / LogOnly"
eg_check_off_log_only "$URL" "$AUDIT" apache LogOnly
eg_out=$(eg_check_case log-only-internal-redirect "$URL" "$AUDIT" apache badsan origin.example.com /observe/missing 404 identity_not_allowed)
[ -z "$eg_out" ] || fail "$eg_out"
echo "ok - Edgeguard Off admits unaudited; Edgeguard LogOnly audits would_reject once"

echo "# flood aggregation"
eg_check_flood "$URL" "$AUDIT" apache 40

echo "# graceful restart applies a changed policy; a broken one is refused"
eg_write_policy "$TEST_DIR/pki" '"*.edges.example.net"'
env $SERVER_ENV "$HTTPD" -f "$TEST_DIR/httpd.conf" -k graceful || fail "graceful restart failed"
i=0
while [ "$(eg_request "$URL" origin.example.com /r edge)" != 403 ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "graceful: edge.example.net still admitted after the allowlist dropped it"
	sleep 0.1
done
assert_eq "graceful reason" "403 Forbidden: identity_not_allowed" "$(cat "$TEST_DIR/body")"
echo 'policy = { trust = { ca_files = [ "ca.pem" ]; }; default = { allow = { dns = [ "edge.example.net" ]; }; bogus = 1; }; };' \
	>"$TEST_DIR/pki/policy.conf"
env $SERVER_ENV "$HTTPD" -t -f "$TEST_DIR/httpd.conf" >"$TEST_DIR/t.log" 2>&1 &&
	fail "apache2 -t accepted a broken policy"
assert_contains "apache2 -t names file:line:key" "policy.conf:1: policy.default.bogus" "$(cat "$TEST_DIR/t.log")"
assert_eq "old policy keeps serving" 403 "$(eg_request "$URL" origin.example.com /r2 edge)"
assert_eq "old policy keeps serving" 200 "$(eg_request "$URL" origin.example.com /r2 wildcard)"
echo "ok - graceful restart"

! grep -E ':(emerg|alert|crit)\]' "$TEST_DIR/error.log" ||
	fail "apache2 logged alerts"
eg_check_sanitizers "$TEST_DIR/error.log"
exit 0
