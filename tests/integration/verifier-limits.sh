#!/bin/bash
# edgeguard-verifier limits: slowloris cut by the header timeout, idle
# keep-alive connections and stalled bodies by the idle timeout (408, not a
# backend 504), oversized heads, too many fields, silent TLS clients,
# backend response timeout, connection cap; and the handshake-reject mode
# with its audit records.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

vf_pki
vf_backend
WORKERS=1
vf_config "" 'limits = { header_timeout_ms = 1000; handshake_timeout_ms = 1000;
  idle_timeout_ms = 1500; backend_response_timeout_ms = 1000;
  max_header_bytes = 2048; max_headers = 10; max_connections = 3; };'
vf_start

# Slowloris: half a head, then silence: 408 and closed within the timeout.
start=$(date +%s%N)
out=$(vf_raw edge < <(printf 'GET / HTTP/1.1\r\nHost: localhost\r\n'; sleep 4))
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_contains "slowloris" "HTTP/1.1 408" "$out"
[ "$ms" -lt 3500 ] || fail "header timeout took ${ms}ms"

# An idle keep-alive connection: answered, then closed after the idle
# timeout.
start=$(date +%s%N)
out=$(vf_raw edge < <(printf 'GET /idle HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 6))
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_contains "idle: answered" "GET /idle HTTP/1.1" "$out"
[ "$ms" -ge 1200 ] && [ "$ms" -lt 4000 ] || fail "idle connection closed after ${ms}ms"

# A body that stops coming: the client's timeout (408), not the backend's.
out=$(vf_raw edge < <(printf 'POST /stall HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789'; sleep 6))
assert_contains "stalled body" "HTTP/1.1 408" "$out"
m=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
assert_contains "stalled body is no backend timeout" 'edgeguard_backend_errors_total{kind="timeout"} 0' "$m"

big=$(head -c 3000 /dev/zero | tr '\0' a)
out=$(printf "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: $big\r\n\r\n" | vf_raw edge)
assert_contains "head too large" "HTTP/1.1 431" "$out"
many=$(for i in $(seq 1 20); do printf 'X-H%d: v\r\n' "$i"; done)
out=$(printf "GET / HTTP/1.1\r\nHost: localhost\r\n$many\r\n\r\n" | vf_raw edge)
assert_contains "too many fields" "HTTP/1.1 431" "$out"

# A TCP client that never starts TLS is dropped after the handshake timeout.
python3 - "$PORT" <<'PY' || fail "silent client not dropped in time"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
t = time.time()
assert s.recv(1) == b""
sys.exit(0 if time.time() - t < 3 else 1)
PY

# Backend slower than backend_response_timeout_ms: 504.
code=$(vf_curl edge "https://localhost:$PORT/slow")
assert_eq "backend response timeout" 504 "$code"

# max_connections (per worker, one worker): the next one is closed at once.
python3 - "$PORT" <<'PY' || fail "connection cap not enforced"
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(2)
t = time.time()
try:
    r = s.recv(1)
except ConnectionResetError:
    r = b""
sys.exit(0 if r == b"" and time.time() - t < 1 else 1)
PY
m=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
case "$m" in *"edgeguard_connections_refused_total 0"*) fail "refusal not counted" ;; esac
kill -0 "$VF_PID" || fail "verifier died"

# Handshake-reject mode: refused with a TLS alert, audited all the same.
kill "$VF_PID"
wait "$VF_PID" 2>/dev/null
PORT=$(free_port)
TLS_EXTRA="reject_at_handshake = true;"
vf_config
vf_start
code=$(vf_curl edge "https://localhost:$PORT/hs")
assert_eq "handshake mode: edge admitted" 200 "$code"
n=$(vf_audit_mark)
code=$(vf_curl stranger "https://localhost:$PORT/hs")
[ "$code" = 000 ] || fail "handshake mode: stranger got HTTP $code"
vf_one_record "handshake rejection" "$n"
assert_contains "handshake audit" '"reason":"untrusted_issuer"' "$(last_audit)"
code=$(vf_curl - "https://localhost:$PORT/hs")
[ "$code" = 000 ] || fail "handshake mode: no certificate got HTTP $code"
for _ in $(seq 1 20); do [ "$(vf_audit_mark)" -eq $((n + 2)) ] && break; sleep 0.1; done
assert_contains "handshake audit, no certificate" '"reason":"no_certificate"' "$(last_audit)"
exit 0
