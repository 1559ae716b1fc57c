#!/bin/bash
# edgeguard-forwarder with two origins, each reached with its own client
# certificate (each origin sees its own), routing by Host (exact, one-label
# wildcards, port and case ignored) with a default origin, and the config
# errors that name file, line and key.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"
. "$top_srcdir/tests/integration/forwarder-lib.sh"

vf_pki
for n in a b; do
	"$EDGEGUARD" pki issue --ca "$P" --out "$P/edge-$n" --client \
		--dns "edge-$n.example.net" >/dev/null || hard_error "pki edge-$n"
done
OA=$(free_port)
OB=$(free_port)
fw_tls_origin "$OA" origin "$P/ca.pem"
fw_tls_origin "$OB" origin "$P/ca.pem"
origins() { # EXTRA_KEYS_OF_B (B_HOSTS: b's hosts list body)
	_bh=${B_HOSTS:-'"*.b.example.com"'}
	cat <<CONF
    { name = "a"; hosts = [ "a.example.com" ]; servers = [ "127.0.0.1:$OA" ];
      sni = "localhost"; client_cert = "pki/edge-a.pem"; client_key = "pki/edge-a.key";
      ca_file = "pki/ca.pem"; },
    { name = "b"; hosts = [ $_bh ]; servers = [ "127.0.0.1:$OB" ];
      sni = "localhost"; client_cert = "pki/edge-b.pem"; client_key = "pki/edge-b.key";
      ca_file = "pki/ca.pem"; ${1:-} }
CONF
}
fw_config "$(origins)" 'default_origin = "a";'
fw_start

route() { # HOST EXPECTED_PEER_CN
	code=$(fw_curl "$1" /who)
	assert_eq "Host $1" 200 "$code"
	assert_contains "Host $1 reaches the origin of $2" "Peer: $2" "$(cat "$TEST_DIR/body")"
}
route a.example.com edge-a.example.net
route A.Example.COM:8081 edge-a.example.net
route x.b.example.com edge-b.example.net
route X.B.example.com. edge-b.example.net
route b.example.com edge-a.example.net
route y.x.b.example.com edge-a.example.net
route unknown.example.org edge-a.example.net
code=$(fw_curl a.example.com /who --http1.0 -H 'Host:')
assert_eq "HTTP/1.0 without Host" 200 "$code"
assert_contains "HTTP/1.0 goes to the default" "Peer: edge-a.example.net" "$(cat "$TEST_DIR/body")"
m=$(curl -s "http://127.0.0.1:$FADMIN_PORT/metrics")
assert_contains "expiry of a's certificate" 'kind="client",origin="a",file="'"$TEST_DIR"'/pki/edge-a.pem",subject="CN=edge-a.example.net"}' "$m"
assert_contains "expiry of b's certificate" 'kind="client",origin="b",file="'"$TEST_DIR"'/pki/edge-b.pem",subject="CN=edge-b.example.net"}' "$m"
assert_contains "requests of b" 'edgeguard_forwarder_requests_total{origin="b"} 2' "$m"
fw_stop

# Without a default, a Host nobody serves gets 421. Started as root, the
# forwarder runs as `user` once its sockets and keys are open.
FPORT=$(free_port)
fw_config "$(origins)" "$([ "$(id -u)" = 0 ] && echo 'user = "nobody";')"
fw_start
code=$(fw_curl unknown.example.org /who)
assert_eq "no default origin" 421 "$code"
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$FW_PID/status")
	nobody=$(id -u nobody)
	assert_eq "privileges dropped" "$nobody$nobody$nobody$nobody" "$uid"
	route a.example.com edge-a.example.net
fi
fw_stop

# Configuration errors name file, line and key.
bad() { # WHAT EXPECTED_TEXT ORIGINS [FORWARDER_KEYS]
	fw_config "$3" "${4:-}"
	out=$("$FORWARDER" -t -c "$FCONF" 2>&1) && fail "$1: accepted"
	assert_contains "$1" "$FCONF:" "$out"
	assert_contains "$1" "$2" "$out"
}
bad "duplicate host" "host 'a.example.com' is also served by origin 'a'" \
	"$(B_HOSTS='"*.b.example.com", "A.example.com"' origins)"
bad "unknown default" "default_origin: no origin is named 'c'" "$(origins)" 'default_origin = "c";'
bad "missing key" "missing required key 'client_key'" \
	"$(fw_origin_block c '"127.0.0.1:1"' 'sni = "localhost";' | grep -v client_key)"
bad "bad server" "servers.[0]: 'nowhere': expected host:port" "$(fw_origin_block c '"nowhere"' 'sni = "x";')"
bad "no name to verify" "missing 'verify_name'" "$(fw_origin_block c '"127.0.0.1:1"')"
bad "unreadable certificate" "origins.[0].client_cert" \
	"$(fw_origin_block c '"127.0.0.1:1"' 'sni = "x";' | sed 's/pki\/edge.pem/pki\/missing.pem/')"
bad "CA bundle without a CA" "no CA certificate in it" \
	"$(fw_origin_block c '"127.0.0.1:1"' 'sni = "x";' | sed 's/pki\/ca.pem/pki\/edge.key/')"
exit 0
