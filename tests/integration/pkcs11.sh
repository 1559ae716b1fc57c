#!/bin/bash
# Keys in a PKCS#11 token (SoftHSM; the keys never leave it), given as
# pkcs11: URLs: edgeguard-verifier's server key, and edgeguard-forwarder's
# client key towards that verifier. The handshakes are signed by the token,
# a wrong PIN or a missing object is refused by -t naming the file, line
# and key (the PIN itself is never echoed), and no key file is needed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

need softhsm2-util
need p11tool
MODULE=$(find /usr/lib -name libsofthsm2.so 2>/dev/null | head -n 1)
[ -n "$MODULE" ] || skip "libsofthsm2.so not found"

vf_pki
vf_backend

# A token of our own: SoftHSM reads its configuration from the
# environment, and GnuTLS finds the module through p11-kit.
export SOFTHSM2_CONF="$TEST_DIR/softhsm2.conf"
mkdir "$TEST_DIR/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\n' \
	"$TEST_DIR" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label edgeguard-test --pin 1234 \
	--so-pin 5678 >/dev/null || hard_error "softhsm2-util --init-token"
GNUTLS_PIN=1234 p11tool --provider "$MODULE" --login --write \
	--load-privkey "$P/origin.key" --label origin --id 01 \
	"pkcs11:token=edgeguard-test" >/dev/null 2>&1 ||
	hard_error "p11tool --write"
GNUTLS_PIN=1234 p11tool --provider "$MODULE" --login --write \
	--load-privkey "$P/edge.key" --label edge --id 02 \
	"pkcs11:token=edgeguard-test" >/dev/null 2>&1 ||
	hard_error "p11tool --write edge"
p11tool --provider "$MODULE" --list-tokens 2>/dev/null |
	grep -q 'token=edgeguard-test' || hard_error "token not listed"
rm "$P/origin.key" # only the token has it now

URL="pkcs11:token=edgeguard-test;object=origin;type=private"
with_key() { # KEY: the config with that key
	vf_config
	sed -i "s|key = \"pki/origin.key\"|key = \"$1\"|" "$CONF"
}

# -t: a wrong PIN and a missing object are configuration errors.
with_key "$URL?pin-value=0000"
if out=$("$VERIFIER" -t -c "$CONF" 2>&1); then
	fail "-t accepted a wrong PIN"
fi
assert_contains "wrong PIN: file and line" "verifier.conf:3: verifier.tls" "$out"
assert_contains "wrong PIN: said" "PIN" "$out"
case $out in *0000*) fail "the PIN was echoed: $out" ;; esac
with_key "pkcs11:token=edgeguard-test;object=nosuchkey;type=private?pin-value=1234"
if out=$("$VERIFIER" -t -c "$CONF" 2>&1); then
	fail "-t accepted a missing object"
fi
assert_contains "missing object: named" "object=nosuchkey" "$out"

with_key "$URL?pin-value=1234"
out=$("$VERIFIER" -t -c "$CONF" 2>&1) || fail "-t with the token key: $out"
vf_start
code=$(vf_curl edge "https://localhost:$PORT/p11")
assert_eq "admitted through a token-held key" 200 "$code"
code=$(vf_curl - "https://localhost:$PORT/p11")
assert_eq "no client certificate" 403 "$code"
# The certificate the handshake was signed for is the origin's.
served=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
	-CAfile "$P/ca.pem" -verify_return_error 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256)
want=$(openssl x509 -noout -fingerprint -sha256 -in "$P/origin.pem")
assert_eq "served certificate" "$want" "$served"
# The PIN is part of the configuration, never of a log line.
grep -q 1234 "$TEST_DIR/verifier.err" && fail "the PIN was logged"

# The forwarder presents the edge certificate with the token's key.
EDGE_URL="pkcs11:token=edgeguard-test;object=edge;type=private?pin-value=1234"
fw_config "$(fw_origin_block shop "\"127.0.0.1:$PORT\"" \
	"hosts = [ \"shop.example.com\" ]; sni = \"localhost\";")"
sed -i "s|client_key = \"pki/edge.key\"|client_key = \"$EDGE_URL\"|" "$FCONF"
rm "$P/edge.key"
out=$("$FORWARDER" -t -c "$FCONF" 2>&1) || fail "forwarder -t with the token key: $out"
fw_start
code=$(fw_curl shop.example.com /p11-edge)
assert_eq "forwarder admitted with a token-held client key" 200 "$code"
assert_contains "identity at the backend" "X-Edge-Client-Identity: dns=edge.example.net" \
	"$(cat "$TEST_DIR/body")"
grep -q 1234 "$FLOG" && fail "the forwarder logged the PIN"
kill -0 "$VF_PID" || fail "verifier died"
kill -0 "$FW_PID" || fail "forwarder died"
exit 0
