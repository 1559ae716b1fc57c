#!/bin/bash
# edgeguard-verifier proxying details: Expect: 100-continue end to end (and
# a refusal that spares the client its body), a unix-socket backend with
# kept-alive connections, and a pooled backend connection the backend
# closes just as it is reused: an idempotent request is resent once on a
# new connection, anything else gets 502; a backend whose connect never
# completes: 504 after the connect timeout.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

vf_pki
vf_backend
WORKERS=1 # one backend pool: consecutive requests share it
vf_config
vf_start

# Expect: 100-continue. curl waits up to 5 s for the 100 before sending
# the body anyway, so a fast answer means the backend's 100 came through.
head -c 200000 /dev/zero | tr '\0' e >"$TEST_DIR/expect.body"
out=$(vf_curl edge "https://localhost:$PORT/expect" -v --expect100-timeout 5 \
	-H 'Expect: 100-continue' --data-binary "@$TEST_DIR/expect.body" \
	-w '%{http_code} %{time_total}')
assert_eq "100-continue status" 200 "${out% *}"
awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }' || fail "100-continue took ${out#* }s"
# vf_curl keeps curl's stderr, where -v writes, in $TEST_DIR/curl.err
grep -q '^< HTTP/1.1 100 Continue' "$TEST_DIR/curl.err" ||
	fail "no 100 Continue relayed: $(grep '^<' "$TEST_DIR/curl.err")"
assert_contains "100-continue body relayed" "$(head -c 64 "$TEST_DIR/expect.body")" "$(cat "$TEST_DIR/body")"
[ "$(tr -cd e <"$TEST_DIR/body" | wc -c)" -ge 200000 ] || fail "100-continue body truncated"
assert_contains "Expect forwarded" "Expect: 100-continue" "$(cat "$TEST_DIR/body")"

# Refused before the body: 403 at once, the backend never sees it.
n=$(wc -l <"$BACKEND_LOG")
out=$(vf_curl stranger "https://localhost:$PORT/expect" --expect100-timeout 5 \
	-H 'Expect: 100-continue' --data-binary "@$TEST_DIR/expect.body" \
	-w '%{http_code} %{time_total}')
assert_eq "100-continue refused" 403 "${out% *}"
awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }' || fail "refusal took ${out#* }s"
[ "$(wc -l <"$BACKEND_LOG")" -eq "$n" ] || fail "refused request reached the backend"

# A unix-socket backend, applied by a reload; kept-alive on both sides.
kill "$BACKEND_PID"
wait "$BACKEND_PID" 2>/dev/null
vf_backend_unix
vf_config
kill -HUP "$VF_PID"
vf_wait_reload 1
code=$(vf_curl edge "https://localhost:$PORT/unix" -H 'X-Forwarded-For: 192.0.2.9')
assert_eq "unix backend" 200 "$code"
assert_contains "unix backend request" "GET /unix HTTP/1.1" "$(cat "$TEST_DIR/body")"
assert_contains "unix backend XFF" "X-Forwarded-For: 192.0.2.9, 127.0.0.1" "$(cat "$TEST_DIR/body")"
out=$(printf 'GET /u1 HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /u2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabcGET /u3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | vf_raw edge)
[ "$(printf '%s' "$out" | grep -o 'HTTP/1.1 200 OK' | wc -l)" = 3 ] || fail "unix keep-alive: $out"
assert_contains "unix body" "abc" "$out"
vf_curl edge "https://localhost:$PORT/u4" >/dev/null
assert_eq "unix backend log" "GET /unix HTTP/1.1
GET /u1 HTTP/1.1
POST /u2 HTTP/1.1
GET /u3 HTTP/1.1
GET /u4 HTTP/1.1" "$(cat "$BACKEND_LOG")"

# A backend that answers one request per connection and drops the
# connection when a second one arrives on it: the pooled connection is
# found closed only after the request went out.
kill "$BACKEND_PID"
wait "$BACKEND_PID" 2>/dev/null
vf_backend once
vf_config
kill -HUP "$VF_PID"
vf_wait_reload 2
assert_eq "first request" 200 "$(vf_curl edge "https://localhost:$PORT/first")"
assert_eq "idempotent request resent" 200 "$(vf_curl edge "https://localhost:$PORT/second")"
assert_contains "resent request answered" "GET /second HTTP/1.1" "$(cat "$TEST_DIR/body")"
assert_eq "HEAD resent" 200 "$(vf_curl edge -I "https://localhost:$PORT/third")"
code=$(vf_curl edge "https://localhost:$PORT/post" --data-binary 'once')
assert_eq "POST not resent" 502 "$code"
assert_eq "after a 502" 200 "$(vf_curl edge "https://localhost:$PORT/fifth")"
assert_eq "backend saw" "GET /first HTTP/1.1
dropped: GET /second HTTP/1.1
GET /second HTTP/1.1
dropped: HEAD /third HTTP/1.1
HEAD /third HTTP/1.1
dropped: POST /post HTTP/1.1
GET /fifth HTTP/1.1" "$(cat "$BACKEND_LOG")"
m=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
assert_contains "retries counted" "edgeguard_backend_retries_total 2" "$m"
assert_contains "the 502 counted" 'edgeguard_backend_errors_total{kind="connect"} 1' "$m"

# A backend that never completes a connect (its accept queue is full, so
# the kernel drops our SYNs): 504 after backend_connect_timeout_ms.
BLACKHOLE_PORT=$(free_port)
python3 - "$BLACKHOLE_PORT" "$TEST_DIR/blackhole.ready" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(0)
held = []
for _ in range(4):  # fill the accept queue; never accept
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", int(sys.argv[1])))
    held.append(c)
time.sleep(0.2)
open(sys.argv[2], "w").close()
time.sleep(60)
PY
VF_PIDS="$VF_PIDS $!"
# A loaded machine can take seconds to start Python.
for _ in $(seq 150); do
	[ -e "$TEST_DIR/blackhole.ready" ] && break
	sleep 0.1
done
[ -e "$TEST_DIR/blackhole.ready" ] || hard_error "blackhole backend did not start"
BACKEND_ADDR="127.0.0.1:$BLACKHOLE_PORT"
vf_config '' 'limits = { backend_connect_timeout_ms = 1000; };'
kill -HUP "$VF_PID"
vf_wait_reload 3
out=$(vf_curl edge "https://localhost:$PORT/blackhole" -w '%{http_code} %{time_total}')
assert_eq "backend connect timeout" 504 "${out%% *}"
awk -v t="${out#* }" 'BEGIN { exit !(t >= 0.9 && t < 4) }' ||
	fail "504 after ${out#* }s, expected about 1 s"
assert_contains "connect timeout counted" 'edgeguard_backend_errors_total{kind="timeout"} 1' \
	"$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")"
kill -0 "$VF_PID" || fail "verifier died"
exit 0
