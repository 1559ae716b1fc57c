#!/bin/bash
# The README demo and the CLI contract: `edgeguard pki init` then
# `edgeguard check` admits the demo edge certificate and rejects the others
# with their reason codes; exit codes 0/1/2; config errors name file:line:key.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
[ -x "$EDGEGUARD" ] || hard_error "$EDGEGUARD not built"
export EDGEGUARD

out=$("$top_srcdir/conf/demo.sh" "$TEST_DIR/demo" 2>&1) || fail "demo failed: $out"
assert_contains "admitted edge" "decision: admit" "$out"
for reason in untrusted_issuer expired missing_client_auth_eku; do
	assert_contains "demo rejection" "reason:   $reason" "$out"
done
assert_contains "remedy for missing EKU" \
	"reissue it with extendedKeyUsage=clientAuth" "$out"
# The loopback part: edge request through forwarder and verifier, a
# direct one refused and audited.
if [ -x "$top_builddir/daemon/edgeguard-verifier" ] &&
	[ -x "$top_builddir/daemon/edgeguard-forwarder" ]; then
	assert_contains "edge request" "HTTP 200: hello from the origin backend" "$out"
	assert_contains "direct request" "HTTP 403: 403 Forbidden: no_certificate" "$out"
	assert_contains "audit record" '"event":"reject","reason":"no_certificate","component":"verifier"' "$out"
fi

# Keys are private, certificates public.
for f in ca edge origin; do
	assert_eq "mode of $f.key" 600 "$(stat -c %a "$TEST_DIR/demo/$f.key")"
	assert_eq "mode of $f.pem" 644 "$(stat -c %a "$TEST_DIR/demo/$f.pem")"
done

cfg="$TEST_DIR/demo/edgeguard.conf"
# --json is machine-readable and carries the identity.
json=$("$EDGEGUARD" check --config "$cfg" --chain "$TEST_DIR/demo/edge.pem" --json) ||
	fail "json check of the edge certificate did not admit"
python3 - "$json" <<'PY' || fail "check --json output: $json"
import json, sys
d = json.loads(sys.argv[1])
assert d["decision"] == "admit" and d["reason"] is None, d
assert d["rule"] == "edge" and d["matched"] == "dns:edge.example.net", d
sans = {(s["type"], s["value"]) for s in d["identity"]["san"]}
assert ("dns", "edge.example.net") in sans, sans
assert len(d["identity"]["sha256"]) == 64
PY

# --at moves the verification time: the same certificate, years later.
rc=0
out=$("$EDGEGUARD" check --config "$cfg" --chain "$TEST_DIR/demo/edge.pem" \
	--at 2099-01-01T00:00:00Z) || rc=$?
assert_eq "exit status for a future --at" 1 "$rc"
assert_contains "--at expiry" "reason:   expired" "$out"

# No certificate at all.
rc=0
out=$("$EDGEGUARD" check --config "$cfg" --no-certificate) || rc=$?
assert_eq "exit status without a certificate" 1 "$rc"
assert_contains "no certificate" "reason:   no_certificate" "$out"

# Certificates the demo CA signed that verification must still refuse: an
# RSA key below 112-bit security and an unknown critical extension (RFC
# 5280); the same recipe with a 2048-bit key is admitted.
mint() { # NAME TEMPLATE_LINE CERTTOOL_KEY_ARGS...
	_n=$1 _x=$2
	shift 2
	"${CERTTOOL:-certtool}" --generate-privkey "$@" \
		--outfile "$TEST_DIR/$_n.key" >/dev/null 2>&1 || hard_error "key $_n"
	printf 'cn = "edge.example.net"\ndns_name = "edge.example.net"\ntls_www_client\nsigning_key\nexpiration_days = 30\n%s\n' \
		"$_x" >"$TEST_DIR/$_n.tmpl"
	"${CERTTOOL:-certtool}" --generate-certificate \
		--load-privkey "$TEST_DIR/$_n.key" \
		--load-ca-certificate "$TEST_DIR/demo/ca.pem" \
		--load-ca-privkey "$TEST_DIR/demo/ca.key" \
		--template "$TEST_DIR/$_n.tmpl" --outfile "$TEST_DIR/$_n.pem" \
		>/dev/null 2>&1 || hard_error "certificate $_n"
}
mint rsa-2048 "" --key-type rsa --bits 2048
mint rsa-1024 "" --key-type rsa --bits 1024
mint crit-ext 'add_critical_extension = "1.2.3.4.5.6 0x0500"' --key-type ecdsa
for c in "rsa-2048 0 admit" "rsa-1024 1 bad_signature" \
	"crit-ext 1 malformed_certificate"; do
	set -- $c
	rc=0
	out=$("$EDGEGUARD" check --config "$cfg" --chain "$TEST_DIR/$1.pem") || rc=$?
	assert_eq "exit status for $1" "$2" "$rc"
	case $3 in
	admit) assert_contains "$1" "decision: admit" "$out" ;;
	*) assert_contains "$1" "reason:   $3" "$out" ;;
	esac
done

# A file that is not a certificate is judged, not crashed on.
head -c 300 /dev/urandom > "$TEST_DIR/junk.der"
rc=0
out=$("$EDGEGUARD" check --config "$cfg" --chain "$TEST_DIR/junk.der") || rc=$?
assert_eq "exit status for junk" 1 "$rc"
assert_contains "junk" "reason:   malformed_certificate" "$out"

# Configuration errors: exit 2 (check) / 1 (config-test), file:line: key.
cat > "$TEST_DIR/bad.conf" <<'CONF'
policy = {
  trust = { ca_files = [ "demo/ca.pem" ]; };
  default = {
    allow = { dns = [ "*.*.example.net" ]; };
  };
};
CONF
rc=0
err=$("$EDGEGUARD" check --config "$TEST_DIR/bad.conf" \
	--chain "$TEST_DIR/demo/edge.pem" 2>&1) || rc=$?
assert_eq "exit status for a bad config" 2 "$rc"
assert_contains "error location" "$TEST_DIR/bad.conf:4: policy.default.allow.dns.[0]" "$err"
rc=0
err=$("$EDGEGUARD" config-test "$TEST_DIR/bad.conf" 2>&1) || rc=$?
assert_eq "config-test exit status" 1 "$rc"
assert_contains "config-test verdict" "test failed" "$err"

rc=0
"$EDGEGUARD" check --bogus >/dev/null 2>&1 || rc=$?
assert_eq "usage error exit status" 2 "$rc"
echo "PASS: cli-demo"
