# The certificate cases of tests/integration/cases.tsv, run against any
# enforcement point (nginx module, Apache module, the verifier daemon).
# Source it after setting nothing; it sources lib.sh. An enforcement point's
# test supplies only:
#   - a base URL ("https://127.0.0.1:PORT"),
#   - how to present a client certificate: eg_cert_args SPEC prints curl
#     options (default --cert/--key from the PKI directory; redefine it
#     after sourcing this file to present certificates differently),
#   - the audit file its policy writes to.
#
#   eg_make_pki DIR          every certificate the table names (edgeguard pki)
#   eg_setup_site            PKI, policy, document root; sets AUDIT
#   eg_write_policy DIR      DIR/policy.conf with policy + audit groups
#   eg_write_verifier_conf PORT BACKEND WORKERS [KEYS]
#                            an edgeguard-verifier with that policy
#   eg_run_cases URL AUDIT COMPONENT
#                            runs every case; fails listing each mismatch
#   eg_check_flood URL AUDIT COMPONENT N
#                            N identical rejections: counts exact
#   eg_check_variables URL   identity/rule headers, access log, CR/LF
#   eg_check_off_log_only URL AUDIT COMPONENT LOG_ONLY_NAME
#                            an off location, a log-only location
. "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need curl
need python3

EG_CASES="$top_srcdir/tests/integration/cases.tsv"
EG_PKI=

# Runs one `edgeguard pki` command quietly; a failure is a hard error.
eg_pki() {
	"$EDGEGUARD" pki "$@" >"$TEST_DIR/pki.log" 2>&1 ||
		hard_error "edgeguard pki $*: $(cat "$TEST_DIR/pki.log")"
}

# eg_make_pki DIR: demo CA with origin and edge certificates (pki init),
# plus one client certificate per cert_spec of cases.tsv and the CA's CRL.
eg_make_pki() {
	[ -x "$EDGEGUARD" ] || skip "edgeguard CLI not built: $EDGEGUARD"
	EG_PKI=$1
	eg_pki init "$EG_PKI" --origin-name origin.example.com \
		--origin-name localhost
	eg_pki ca --out "$EG_PKI/other-ca" --cn "some other CA"
	eg_pki issue --ca "$EG_PKI/other-ca" --out "$EG_PKI/foreign" --client \
		--dns edge.example.net
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/wildcard" --client \
		--dns node7.edges.example.net
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/expired" --client \
		--dns edge.example.net --not-before 2020-01-01T00:00:00Z \
		--not-after 2021-01-01T00:00:00Z
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/notyet" --client \
		--dns edge.example.net --not-before 2099-01-01T00:00:00Z \
		--not-after 2100-01-01T00:00:00Z
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/revoked" --client \
		--dns edge.example.net
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/noeku" --no-eku \
		--dns edge.example.net
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/badsan" --client \
		--dns intruder.example.org
	eg_pki issue --ca "$EG_PKI" --out "$EG_PKI/hostile" --client \
		--cn "$(printf 'edge\r\nX-Injected: yes\001')" \
		--dns intruder.example.org
	eg_pki crl --ca "$EG_PKI" --out "$EG_PKI/ca.crl" \
		--revoke "$EG_PKI/revoked.pem"
}

# eg_write_policy DIR [DEFAULT_DNS]: the policy cases.tsv describes, its
# audit records going to DIR/audit.jsonl. DEFAULT_DNS replaces the default
# rule's DNS allowlist (libconfig list body) for reload tests.
eg_write_policy() {
	_dns=${2:-'"edge.example.net", "*.edges.example.net"'}
	cat >"$1/policy.conf" <<EOF
# Written by tests/integration/plugin-lib.sh: the policy of cases.tsv.
policy = {
	trust = {
		ca_files = [ "ca.pem" ];
		crl_files = [ "ca.crl" ];
	};
	default = {
		allow = { dns = [ $_dns ]; };
	};
	rules = (
		{
			name = "api";
			hosts = [ "api.example.com" ];
			allow = { uri = [ "spiffe://example.net/edge/*" ]; };
		},
		{
			name = "shadow";
			paths = [ "/shadow" ];
			mode = "log-only";
			allow = { dns = [ "edge.example.net" ]; };
		}
	);
};
audit = {
	file = "audit.jsonl";
};
EOF
}

# eg_write_verifier_conf PORT BACKEND WORKERS [KEYS]: $EG_PKI/verifier.conf,
# an edgeguard-verifier on 127.0.0.1:PORT with the origin certificate of
# eg_make_pki, in front of BACKEND, with WORKERS workers and KEYS (more
# settings of its verifier group), followed by $EG_PKI/policy.conf.
eg_write_verifier_conf() {
	{
		cat <<EOF
verifier = {
	listen = [ "127.0.0.1:$1" ];
	tls = { cert = "origin.pem"; key = "origin.key"; };
	backend = "$2";
	workers = $3;
	${4:-}
};
EOF
		cat "$EG_PKI/policy.conf"
	} >"$EG_PKI/verifier.conf"
}

# eg_setup_site: the PKI and policy of cases.tsv in $TEST_DIR/pki, a
# document root $TEST_DIR/www serving ok.txt, and $TEST_DIR/tmp, all
# reachable by a server's unprivileged workers (keys are read by the
# master, as root); sets AUDIT to the policy's audit file.
eg_setup_site() {
	chmod 755 "$TEST_DIR"
	eg_make_pki "$TEST_DIR/pki"
	eg_write_policy "$TEST_DIR/pki"
	mkdir -p "$TEST_DIR/www" "$TEST_DIR/tmp"
	echo ok >"$TEST_DIR/www/ok.txt"
	chmod -R a+rX "$TEST_DIR/www"
	AUDIT="$TEST_DIR/pki/audit.jsonl"
}

# eg_server_env: environment words (NAME=value) for a server process that
# loads a module linked to this tree's libedgeguard: its LD_LIBRARY_PATH,
# and under configure --enable-sanitizers the ASan runtime preloaded (an
# uninstrumented nginx or httpd must load it first). Leak reports are off:
# the servers' own exit-time allocations are not ours to judge. ASan and
# UBSan reports land in the server's error log; eg_check_sanitizers
# fails on them.
eg_server_env() {
	_libs="$top_builddir/lib/.libs"
	echo "LD_LIBRARY_PATH=$_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	_asan=$(ldd "$_libs/libedgeguard.so" 2>/dev/null | awk '/libasan/ { print $3 }')
	if [ -n "$_asan" ]; then
		echo "LD_PRELOAD=$_asan"
		# last one wins: override a detect_leaks=1 from tests/run.sh
		echo "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	fi
}

# eg_check_sanitizers LOG...: fails when a sanitizer reported in LOG.
eg_check_sanitizers() {
	! grep -h -E 'AddressSanitizer|runtime error:' "$@" 2>/dev/null ||
		fail "sanitizer reports in $*"
}

# eg_cert_args SPEC: curl options presenting the client certificate SPEC.
eg_cert_args() {
	[ "$1" = none ] || printf '%s\n' --cert "$EG_PKI/$1.pem" --key "$EG_PKI/$1.key"
}

# eg_lines FILE: number of complete lines in FILE (0 when absent).
eg_lines() {
	if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# eg_audit_after FILE SKIP: the records after line SKIP, one per line as
# "event<TAB>reason<TAB>component<TAB>host<TAB>path<TAB>count<TAB>mode".
eg_audit_after() {
	python3 -c '
import json, sys
with open(sys.argv[1], "rb") as f:
    lines = f.read().split(b"\n")[int(sys.argv[2]):]
for line in lines:
    if line.strip():
        r = json.loads(line)
        print("\t".join(str(r.get(k)) for k in
              ("event", "reason", "component", "host", "path", "count",
               "mode")))
' "$1" "$2" || echo "unparsable-audit-record"
}

# eg_request URL HOST PATH SPEC: one HTTPS request from 127.0.0.1 with SNI
# and Host set to HOST; the body lands in $TEST_DIR/body, the status is
# printed ("000" when no HTTP answer came). EG_CURL_OPTS adds curl options
# (e.g. --http2).
eg_request() {
	_port=${1##*:}
	_scheme=${1%%://*}
	rm -f "$TEST_DIR/body" "$TEST_DIR/headers"
	# shellcheck disable=SC2046,SC2086 # one curl option per word
	curl -sk --max-time 10 -o "$TEST_DIR/body" -w '%{http_code}' \
		-D "$TEST_DIR/headers" --resolve "$2:$_port:127.0.0.1" \
		${EG_CURL_OPTS:-} $(eg_cert_args "$4") "$_scheme://$2:$_port$3" \
		2>"$TEST_DIR/curl.err" || true
}

# eg_check_case NAME URL AUDIT COMPONENT SPEC HOST PATH STATUS REASON:
# one request and its audit record; prints a line per mismatch.
eg_check_case() {
	_name=$1 _url=$2 _audit=$3 _comp=$4 _spec=$5 _host=$6
	_path=$7 _status=$8 _reason=$9
	# a query unique to the case keeps aggregation from folding two cases
	case $_path in *\?*) _target="$_path&eg-case=$_name" ;;
	*) _target="$_path?eg-case=$_name" ;; esac
	_before=$(eg_lines "$_audit")
	_got=$(eg_request "$_url" "$_host" "$_target" "$_spec")
	[ "$_got" = "$_status" ] ||
		echo "$_name: status $_got, expected $_status $(cat "$TEST_DIR/curl.err" 2>/dev/null)"
	if [ "$_status" = 403 ]; then
		_want="403 Forbidden: $_reason"
		_body=$(cat "$TEST_DIR/body" 2>/dev/null)
		[ "$_body" = "$_want" ] && [ "$(tail -c 1 "$TEST_DIR/body" | od -An -c | tr -d ' ')" = '\n' ] ||
			echo "$_name: body '$_body', expected '$_want' and a newline"
	fi
	if [ "$_reason" = - ]; then
		_expect=
	elif [ "$_status" = 403 ]; then
		_expect="reject	$_reason	$_comp	$_host	$_target	1"
	else
		_expect="would_reject	$_reason	$_comp	$_host	$_target	1"
	fi
	# records are written before the answer; allow a moment for slow disks
	_want_lines=$_before
	[ -z "$_expect" ] || _want_lines=$((_before + 1))
	_i=0
	while [ "$(eg_lines "$_audit")" -lt "$_want_lines" ] && [ $_i -lt 20 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	_records=$(eg_audit_after "$_audit" "$_before" | cut -f1-6)
	[ "$_records" = "$_expect" ] ||
		echo "$_name: audit records '$_records', expected '$_expect'"
}

# eg_run_cases URL AUDIT COMPONENT: every case of cases.tsv against the
# enforcement point at URL; fails listing all mismatches.
eg_run_cases() {
	_failures=
	_n=0
	while IFS='	' read -r name spec host path status reason; do
		case $name in '' | '#'*) continue ;; esac
		_n=$((_n + 1))
		_out=$(eg_check_case "$name" "$1" "$2" "$3" "$spec" "$host" \
			"$path" "$status" "$reason")
		if [ -n "$_out" ]; then
			_failures="$_failures$_out
"
			echo "not ok - $name"
		else
			echo "ok - $name ($status $reason)"
		fi
	done <"$EG_CASES"
	[ "$_n" -gt 0 ] || hard_error "no cases read from $EG_CASES"
	[ -z "$_failures" ] ||
		fail "$3 decided differently from cases.tsv:
$_failures"
}

# eg_check_flood URL AUDIT COMPONENT N: N identical rejections (no
# certificate, one path) within an aggregation window. Each process of the
# enforcement point writes its first record at once and the rest as one
# folded record when its window ends (flush timer or thread, since no
# further request comes); the counts must add up to exactly N.
eg_check_flood() {
	_before=$(eg_lines "$2")
	_i=0
	while [ $_i -lt "$4" ]; do
		_got=$(eg_request "$1" origin.example.com /flood none)
		[ "$_got" = 403 ] || fail "flood request $_i: status $_got"
		_i=$((_i + 1))
	done
	# the window is 1 s and flushes run every second
	_i=0
	while :; do
		_sum=$(eg_audit_after "$2" "$_before" |
			awk -F'\t' '$1 == "reject" && $2 == "no_certificate" && $5 == "/flood" { s += $6 } END { print s + 0 }')
		[ "$_sum" -lt "$4" ] || break
		_i=$((_i + 1))
		[ $_i -lt 50 ] || break
		sleep 0.1
	done
	assert_eq "$3: sum of audit counts for $4 identical rejections" "$4" "$_sum"
	eg_audit_after "$2" "$_before" | awk -F'\t' -v c="$3" '$3 != c { bad = 1 } END { exit bad }' ||
		fail "$3: flood records carry another component"
	echo "ok - $4 identical rejections: $(eg_audit_after "$2" "$_before" | wc -l) records, counts sum to $_sum"
}

# eg_check_variables URL: the identity and rule the enforcement point
# exports, as the test server's configuration echoes them into response
# headers (X-Edgeguard-Identity, X-Edgeguard-Rule) and its access log
# ($TEST_DIR/access.log, "STATUS reason=R rule=R identity=I").
eg_check_variables() {
	_status=$(eg_request "$1" origin.example.com /x edge)
	assert_eq "edge status" 200 "$_status"
	assert_contains "identity header" "X-Edgeguard-Identity: dns=edge.example.net" "$(tr -d '\r' <"$TEST_DIR/headers")"
	assert_contains "rule header" "X-Edgeguard-Rule: default" "$(tr -d '\r' <"$TEST_DIR/headers")"
	_status=$(eg_request "$1" api.example.com /v1 edge)
	assert_eq "api status" 200 "$_status"
	assert_contains "identity header (uri)" "X-Edgeguard-Identity: uri=spiffe://example.net/edge/1" "$(tr -d '\r' <"$TEST_DIR/headers")"
	assert_contains "access log" "403 reason=identity_not_allowed rule=default identity=" "$(cat "$TEST_DIR/access.log")"
	# CR/LF in a certificate's subject never splits a header or a log line
	_status=$(eg_request "$1" origin.example.com /hostile hostile)
	assert_eq "hostile status" 403 "$_status"
	! grep -qi '^X-Injected' "$TEST_DIR/headers" ||
		fail "CR/LF from a certificate subject reached the response headers"
	assert_contains "hostile identity, escaped" 'X-Injected: yes' "$(grep -i '^X-Edgeguard-Identity:' "$TEST_DIR/headers")"
	! grep -q '^X-Injected' "$TEST_DIR/access.log" ||
		fail "CR/LF from a certificate subject split the access log"
}

# eg_check_off_log_only URL AUDIT COMPONENT LOG_ONLY_NAME: /off/ admits
# without an audit record; /observe/ admits a disallowed certificate and
# audits would_reject in log-only mode. LOG_ONLY_NAME is the directive as
# the server spells it, for the failure message.
eg_check_off_log_only() {
	_out=$(eg_check_case off-location "$1" "$2" "$3" none origin.example.com /off/page 200 -)
	[ -z "$_out" ] || fail "$_out"
	_out=$(eg_check_case log-only-location "$1" "$2" "$3" badsan origin.example.com /observe/page 200 identity_not_allowed)
	[ -z "$_out" ] || fail "$_out"
	eg_audit_after "$2" "$(($(eg_lines "$2") - 1))" | grep -q '	log-only$' ||
		fail "$4 location: audit mode is not log-only"
}
