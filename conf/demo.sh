#!/bin/bash
# edgeguard demo: a demo PKI, one admitted edge certificate and three
# rejected ones, each with its reason code; then, when the daemons are
# built, backend <- verifier <- forwarder on loopback: an edge request
# gets 200, a direct one 403 and an audit record. Usage: conf/demo.sh [DIR]
# (the built CLI is found through $EDGEGUARD, the build tree, or PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${EDGEGUARD:=$(command -v edgeguard || echo "$here/../daemon/edgeguard")}"
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/edgeguard-demo.XXXXXX")}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# check CERT EXPECTED_EXIT: shows the decision; fails the demo on a surprise.
check() {
	local rc=0
	"$EDGEGUARD" check --config "$dir/edgeguard.conf" --chain "$dir/$1.pem" || rc=$?
	if [ "$rc" -ne "$2" ]; then
		echo "demo: unexpected exit status $rc for $1 (wanted $2)" >&2
		exit 1
	fi
}

step "demo PKI in $dir (ECDSA P-256)"
"$EDGEGUARD" pki init "$dir" --force
cp "$here/demo-policy.conf" "$dir/edgeguard.conf"
"$EDGEGUARD" config-test "$dir/edgeguard.conf"

step "the edge's certificate: admitted"
check edge 0

step "a certificate from another CA: rejected (untrusted_issuer)"
"$EDGEGUARD" pki ca --out "$dir/other-ca" --cn "Not the edge CA" --force >/dev/null
"$EDGEGUARD" pki issue --ca "$dir/other-ca" --out "$dir/stranger" --client \
	--cn edge.example.net --dns edge.example.net --force >/dev/null
check stranger 1

step "an expired certificate: rejected (expired)"
"$EDGEGUARD" pki issue --ca "$dir" --out "$dir/expired" --client \
	--cn edge.example.net --dns edge.example.net \
	--not-before 2020-01-01T00:00:00Z --not-after 2021-01-01T00:00:00Z --force >/dev/null
check expired 1

step "a certificate without the clientAuth EKU: rejected (missing_client_auth_eku)"
"$EDGEGUARD" pki issue --ca "$dir" --out "$dir/no-eku" --no-eku \
	--cn edge.example.net --dns edge.example.net --force >/dev/null
check no-eku 1

# The daemons on loopback, when they are built: backend <- verifier <-
# forwarder, an edge request through the forwarder, a direct one without.
sbin=$(dirname "$EDGEGUARD")
[ -x "$sbin/edgeguard-verifier" ] || sbin=$(dirname "$(command -v edgeguard-verifier || echo /usr/sbin/x)")
if [ ! -x "$sbin/edgeguard-verifier" ] || [ ! -x "$sbin/edgeguard-forwarder" ] ||
	! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	step "done (daemons, curl or python3 not found: skipped the loopback part); files are in $dir"
	exit 0
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
bport=$(port) vport=$(port) fport=$(port)

step "backend on 127.0.0.1:$bport, verifier on :$vport, forwarder on :$fport"
mkdir -p "$dir/www" && echo "hello from the origin backend" >"$dir/www/index.html"
python3 -m http.server --bind 127.0.0.1 --directory "$dir/www" "$bport" >"$dir/backend.log" 2>&1 &
pids+=($!)
cat >"$dir/verifier.conf" <<CONF
verifier = {
  listen = [ "127.0.0.1:$vport" ];
  tls = { cert = "origin.pem"; key = "origin.key"; };
  backend = "127.0.0.1:$bport";
  workers = 1;
};
CONF
cat "$here/demo-policy.conf" >>"$dir/verifier.conf"
cat >"$dir/forwarder.conf" <<CONF
forwarder = {
  listen = [ "127.0.0.1:$fport" ];
  workers = 1;
  origins = ( { name = "origin"; servers = [ "127.0.0.1:$vport" ];
                sni = "localhost"; ca_file = "ca.pem";
                client_cert = "edge.pem"; client_key = "edge.key"; } );
};
CONF
rm -f "$dir/audit.log"
"$sbin/edgeguard-verifier" -c "$dir/verifier.conf" 2>"$dir/verifier.log" &
pids+=($!)
"$sbin/edgeguard-forwarder" -c "$dir/forwarder.conf" 2>"$dir/forwarder.log" &
pids+=($!)
wait_port "$bport" && wait_port "$vport" && wait_port "$fport" || {
	echo "demo: a daemon did not start; see $dir/*.log" >&2
	exit 1
}

step "edge request: curl -> forwarder -> (mTLS) -> verifier -> backend"
edge=$(curl -sS -w '%{http_code}' -o "$dir/edge.out" "http://127.0.0.1:$fport/")
echo "HTTP $edge: $(cat "$dir/edge.out")"

step "direct request to the origin without the edge's certificate"
direct=$(curl -sS -k -w '%{http_code}' -o "$dir/direct.out" "https://127.0.0.1:$vport/")
echo "HTTP $direct: $(cat "$dir/direct.out")"

step "the audit record ($dir/audit.log)"
for _ in $(seq 50); do [ -s "$dir/audit.log" ] && break; sleep 0.05; done
cat "$dir/audit.log"
if [ "$edge" != 200 ] || [ "$direct" != 403 ] || ! grep -q '"reason":"no_certificate"' "$dir/audit.log"; then
	echo "demo: unexpected results (edge $edge, direct $direct)" >&2
	exit 1
fi

step "done: files are in $dir"
