#!/bin/bash
# edgeguard demo: a demo PKI, one admitted edge certificate and three
# rejected ones, each with its reason code. Usage: conf/demo.sh [DIR]
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

step "done: files are in $dir"
