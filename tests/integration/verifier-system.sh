#!/bin/bash
# edgeguard-verifier as a system service: started as root with
# user = "nobody", every thread (main and workers) runs as nobody once the
# sockets are bound, and still reloads; systemd notifications (READY=1,
# RELOADING=1 with MONOTONIC_USEC, STOPPING=1) on a NOTIFY_SOCKET read here;
# the expiry of the loaded CRL as a metrics gauge, refreshed by a reload.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

[ "$(id -u)" = 0 ] || skip "privilege drop needs root"
id nobody >/dev/null 2>&1 || skip "no user nobody"
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

vf_pki
"$EDGEGUARD" pki issue --ca "$P" --out "$P/revoked" --client \
	--dns edge.example.net >/dev/null || hard_error "pki revoked"
crl_next=$(($(date +%s) + 3 * 86400))
"$EDGEGUARD" pki crl --ca "$P" --out "$P/ca.crl" --revoke "$P/revoked.pem" \
	--next-update "@$crl_next" >/dev/null || hard_error "pki crl"
vf_backend
TRUST_EXTRA='crl_files = [ "pki/ca.crl" ];'
vf_config '' 'user = "nobody";'
# What nobody must reach to reload: the directory, the PKI, the audit log.
chmod 755 "$TEST_DIR"
chown -R nobody "$P"
: >"$AUDIT"
chown nobody "$AUDIT"

# A stand-in for systemd's notification socket.
NOTIFY_LOG="$TEST_DIR/notify.log"
: >"$NOTIFY_LOG"
python3 - "$TEST_DIR/notify.sock" "$NOTIFY_LOG" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096).replace(b"\n", b" ") + b"\n")
PY
VF_PIDS="$VF_PIDS $!"
for _ in $(seq 1 100); do [ -S "$TEST_DIR/notify.sock" ] && break; sleep 0.05; done
[ -S "$TEST_DIR/notify.sock" ] || hard_error "notify socket"

# wait_notify N PATTERN: until line N of the notification log matches.
wait_notify() {
	for _ in $(seq 1 100); do
		case "$(sed -n "$1p" "$NOTIFY_LOG")" in $2) return 0 ;; esac
		sleep 0.05
	done
	fail "notification $1: expected $2, got: $(cat "$NOTIFY_LOG")"
}

NOTIFY_SOCKET="$TEST_DIR/notify.sock" vf_start
wait_notify 1 "READY=1"

# Every thread, workers included, dropped root for nobody.
tasks=0
for st in /proc/"$VF_PID"/task/*/status; do
	tasks=$((tasks + 1))
	assert_eq "Uid of $st" "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" \
		"$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")"
	assert_eq "Gid of $st" "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" \
		"$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")"
	assert_eq "groups of $st" "$nobody_gid" "$(awk '/^Groups:/ { print $2, $3 }' "$st" | xargs)"
	assert_eq "capabilities of $st" 0000000000000000 "$(awk '/^CapEff:/ { print $2 }' "$st")"
done
[ "$tasks" -ge 3 ] || fail "expected the main thread and 2 workers, saw $tasks threads"

assert_eq "served as nobody" 200 "$(vf_curl edge "https://localhost:$PORT/x")"
assert_eq "revoked" 403 "$(vf_curl revoked "https://localhost:$PORT/x")"
assert_eq "revoked reason" "403 Forbidden: revoked" "$(cat "$TEST_DIR/body")"

# The CRL's nextUpdate, next to the CA's and the server certificate's
# notAfter.
gauge() { # KIND: the expiry gauge's value for that kind of file
	curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk -v k="kind=\"$1\"" '/^edgeguard_certificate_expiry_timestamp_seconds/ && index($0, k) { print $NF }'
}
assert_eq "CRL expiry gauge" "$crl_next" "$(gauge crl)"
ca_end=$(date -d "$(openssl x509 -noout -enddate -in "$P/ca.pem" | cut -d= -f2)" +%s)
assert_eq "CA expiry gauge" "$ca_end" "$(gauge ca)"
origin_end=$(date -d "$(openssl x509 -noout -enddate -in "$P/origin.pem" | cut -d= -f2)" +%s)
assert_eq "server expiry gauge" "$origin_end" "$(gauge server)"
assert_contains "CRL gauge names the file" "file=\"$P/ca.crl\"" \
	"$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep 'kind="crl"')"

# SIGHUP: announced to systemd, and the files are read again as nobody.
kill -HUP "$VF_PID"
wait_notify 2 "RELOADING=1 MONOTONIC_USEC=[1-9]*"
wait_notify 3 "READY=1"

# A refreshed CRL replaced on disk: picked up without a signal.
crl_next2=$((crl_next + 86400))
"$EDGEGUARD" pki crl --ca "$P" --out "$P/ca.crl.new" --revoke "$P/revoked.pem" \
	--next-update "@$crl_next2" >/dev/null || hard_error "pki crl (2)"
chown nobody "$P/ca.crl.new"
mv "$P/ca.crl.new" "$P/ca.crl"
wait_notify 4 "RELOADING=1 MONOTONIC_USEC=[1-9]*"
wait_notify 5 "READY=1"
for _ in $(seq 1 50); do [ "$(gauge crl)" = "$crl_next2" ] && break; sleep 0.1; done
assert_eq "CRL expiry gauge after the reload" "$crl_next2" "$(gauge crl)"
if grep -q "reload failed" "$TEST_DIR/verifier.err"; then
	fail "reload as nobody failed: $(cat "$TEST_DIR/verifier.err")"
fi
assert_eq "still revoked" 403 "$(vf_curl revoked "https://localhost:$PORT/x")"

# SIGTERM: STOPPING=1, then a clean exit.
kill -TERM "$VF_PID"
wait "$VF_PID"
assert_eq "exit status" 0 "$?"
wait_notify 6 "STOPPING=1"
exit 0
