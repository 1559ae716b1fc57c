#!/bin/bash
# edgeguard-forwarder --check-origin NAME: "would this origin admit my
# certificate?" against an edgeguard-verifier (admitted; refused with the
# reason code), a TLS origin refusing the certificate, an origin with the
# wrong certificate, one that is down, and an unknown origin name.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_pki
"$EDGEGUARD" pki issue --ca "$P/other" --out "$P/foreign-origin" --server \
	--dns localhost >/dev/null || hard_error "pki foreign-origin"
vf_backend
vf_config
vf_start
O_STRICT=$(free_port)
O_FOREIGN=$(free_port)
fw_tls_origin "$O_STRICT" origin "$P/other/ca.pem"
fw_tls_origin "$O_FOREIGN" foreign-origin "$P/ca.pem"
o() { # NAME SERVER [KEYS]
	fw_origin_block "$1" "\"127.0.0.1:$2\"" "sni = \"localhost\"; $3"
}
fw_config "$(o ok "$PORT"),
$(o denied "$PORT" 'client_cert = "pki/other-edge.pem"; client_key = "pki/other-edge.key";' |
	grep -v 'pki/edge'),
$(o strangeredge "$PORT" 'client_cert = "pki/stranger.pem"; client_key = "pki/stranger.key";' |
	grep -v 'pki/edge'),
$(o strict "$O_STRICT"),
$(o foreign "$O_FOREIGN"),
$(o down "$(free_port)")"

# Each probe runs twice: as the daemon's --check-origin and as
# `edgeguard check --forwarder`; both must say the same.
probe() { # NAME EXPECTED_STATUS TEXT...
	_name=$1 _want=$2
	shift 2
	out=$("$FORWARDER" -c "$FCONF" --check-origin "$_name" 2>&1)
	_rc=$?
	assert_eq "probe $_name exit status ($out)" "$_want" "$_rc"
	for t in "$@"; do assert_contains "probe $_name" "$t" "$out"; done
	out=$("$EDGEGUARD" check --forwarder "$FCONF" --origin "$_name" 2>&1)
	_rc=$?
	assert_eq "edgeguard check --forwarder $_name exit status ($out)" "$_want" "$_rc"
	for t in "$@"; do assert_contains "check --forwarder $_name" "$t" "$out"; done
}
probe ok 0 "client certificate $TEST_DIR/pki/edge.pem (CN=edge.example.net)" \
	"TLS handshake done" "HTTP 200 OK" "=> admitted"
probe denied 1 "HTTP 403 Forbidden" "=> refused by the origin's edgeguard: identity_not_allowed"
# Sent although the verifier's CA names do not list its issuer.
probe strangeredge 1 "=> refused by the origin's edgeguard: untrusted_issuer"
probe strict 1 "TLS alert from the server: CA is unknown" "=> the origin refused the client certificate"
probe foreign 1 "server certificate verification failed" "The certificate issuer is unknown"
probe down 1 "connect: Connection refused" "=> no server of the origin could be reached"
probe nosuch 2 "no origin is named 'nosuch'; there are: ok denied strangeredge strict foreign down"
# The verifier audited the probe like any other client.
grep -q '"reason":"identity_not_allowed".*"subject":"CN=other.example.org"' "$AUDIT" ||
	fail "the verifier did not audit the refused probe"
exit 0
