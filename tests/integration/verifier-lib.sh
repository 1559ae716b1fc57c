# Helpers for the edgeguard-verifier integration tests; sourced after lib.sh.
# Each test gets its own PKI, backend and verifier on free loopback ports.
VERIFIER="$top_builddir/daemon/edgeguard-verifier"
[ -x "$VERIFIER" ] || hard_error "$VERIFIER not built"
[ -x "$EDGEGUARD" ] || hard_error "$EDGEGUARD not built"
need curl
need python3
need openssl

VF_PIDS=""
# Stops everything; a sanitizer report from a verifier (they run in the
# background, so their crashes and leaks would go unseen) fails the test.
cleanup_hook() {
	for p in $VF_PIDS; do kill "$p" 2>/dev/null; done
	for p in $VF_PIDS; do wait "$p" 2>/dev/null; done
	if grep -qE 'Sanitizer|runtime error:' "$TEST_DIR/verifier.err" 2>/dev/null; then
		echo "FAIL: sanitizer report from the verifier:" >&2
		cat "$TEST_DIR/verifier.err" >&2
		rm -rf "$TEST_DIR"
		exit 1
	fi
	return 0
}

# fail_hook: what curl and the verifiers said, and whether they still run.
fail_hook() {
	for p in $VF_PIDS; do
		kill -0 "$p" 2>/dev/null || echo "verifier $p is not running"
	done
	[ -s "$TEST_DIR/curl.err" ] && echo "curl: $(cat "$TEST_DIR/curl.err")"
	echo "--- verifier stderr (last 30 lines)"
	tail -n 30 "$TEST_DIR/verifier.err" 2>/dev/null
}

# vf_pki: demo CA, origin and edge certificates in $TEST_DIR/pki, plus a
# stranger (other CA), an expired edge and a server-EKU-only certificate.
vf_pki() {
	P="$TEST_DIR/pki"
	"$EDGEGUARD" pki init "$P" --origin-name localhost >/dev/null ||
		hard_error "pki init"
	"$EDGEGUARD" pki ca --out "$P/other" --cn "Other CA" >/dev/null ||
		hard_error "pki ca"
	"$EDGEGUARD" pki issue --ca "$P/other" --out "$P/stranger" --client \
		--dns edge.example.net >/dev/null || hard_error "pki stranger"
	"$EDGEGUARD" pki issue --ca "$P" --out "$P/expired" --client \
		--dns edge.example.net --not-before 2020-01-01T00:00:00Z \
		--not-after 2021-01-01T00:00:00Z >/dev/null || hard_error "pki expired"
	"$EDGEGUARD" pki issue --ca "$P" --out "$P/noeku" --server \
		--dns edge.example.net >/dev/null || hard_error "pki noeku"
	"$EDGEGUARD" pki issue --ca "$P" --out "$P/other-edge" --client \
		--dns other.example.org >/dev/null || hard_error "pki other-edge"
}

# vf_backend [MODE]: starts the echo backend on $BACKEND_PORT (BACKEND_ADDR
# names it for the config), log in $BACKEND_LOG. MODE as in echo-backend.py.
vf_backend() {
	BACKEND_PORT=$(free_port)
	BACKEND_ADDR="127.0.0.1:$BACKEND_PORT"
	vf_echo_backend "$BACKEND_PORT" "$@"
	wait_port "$BACKEND_PORT" || hard_error "backend did not start"
}

# vf_backend_unix [MODE]: the same on a unix socket in $TEST_DIR.
vf_backend_unix() {
	_sock="$TEST_DIR/backend.sock"
	BACKEND_ADDR="unix:$_sock"
	vf_echo_backend "$BACKEND_ADDR" "$@"
	for _ in $(seq 1 100); do [ -S "$_sock" ] && return 0; sleep 0.05; done
	hard_error "unix backend did not start"
}

# vf_echo_backend WHERE [MODE]: starts echo-backend.py on WHERE (a port or
# unix:PATH) without waiting for it; sets BACKEND_LOG and BACKEND_PID.
vf_echo_backend() {
	BACKEND_LOG="$TEST_DIR/backend.log"
	: >"$BACKEND_LOG"
	python3 "$top_srcdir/tests/integration/echo-backend.py" \
		"$1" "$BACKEND_LOG" ${2:-} &
	BACKEND_PID=$!
	VF_PIDS="$VF_PIDS $BACKEND_PID"
}

# vf_config [ALLOW] [EXTRA_VERIFIER_KEYS] [EXTRA_POLICY_KEYS]: writes
# $CONF with a verifier on $PORT (and admin on $ADMIN_PORT); $WORKERS,
# $TLS_EXTRA (keys of the tls group) and $TRUST_EXTRA (keys of the policy's
# trust group) adjust it.
vf_config() {
	: "${PORT:=$(free_port)}"
	: "${ADMIN_PORT:=$(free_port)}"
	AUDIT="$TEST_DIR/audit.log"
	CONF="$TEST_DIR/verifier.conf"
	_allow=${1:-'dns = [ "edge.example.net" ];'}
	cat >"$CONF.tmp" <<CONF
verifier = {
  listen = [ "127.0.0.1:$PORT" ];
  tls = { cert = "pki/origin.pem"; key = "pki/origin.key"; ${TLS_EXTRA:-} };
  backend = "$BACKEND_ADDR";
  workers = ${WORKERS:-2};
  admin = { listen = "127.0.0.1:$ADMIN_PORT"; };
  ${2:-}
};
policy = {
  trust = { ca_files = [ "pki/ca.pem" ]; ${TRUST_EXTRA:-} };
  default = {
    name = "edge";
    allow = { $_allow };
  };
  ${3:-}
};
audit = { file = "$AUDIT"; aggregate_window_ms = 0; };
CONF
	mv "$CONF.tmp" "$CONF"
}

# vf_start: runs the verifier on $CONF and waits for its port.
vf_start() {
	"$VERIFIER" -c "$CONF" 2>>"$TEST_DIR/verifier.err" &
	VF_PID=$!
	VF_PIDS="$VF_PIDS $VF_PID"
	wait_port "$PORT" || { cat "$TEST_DIR/verifier.err" >&2; hard_error "verifier did not start"; }
}

# vf_up: vf_pki, vf_backend, vf_config and vf_start with their defaults.
vf_up() {
	vf_pki
	vf_backend
	vf_config
	vf_start
}

# vf_wait_reload N: until the verifier's admin metrics count N applied
# reloads.
vf_wait_reload() {
	for _ in $(seq 1 100); do
		case "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")" in
		*"edgeguard_reloads_total{result=\"ok\"} $1"*) return 0 ;;
		esac
		sleep 0.05
	done
	hard_error "reload $1 not applied"
}

# vf_curl CERT_PREFIX|- ARGS...: curl to the verifier over mTLS; prints
# the status code and keeps the body in $TEST_DIR/body.
vf_curl() {
	_cert=$1
	shift
	if [ "$_cert" = - ]; then
		set -- "$@"
	else
		set -- --cert "$P/$_cert.pem" --key "$P/$_cert.key" "$@"
	fi
	curl -sS -o "$TEST_DIR/body" -w '%{http_code}' --max-time 10 \
		--cacert "$P/ca.pem" --resolve "localhost:$PORT:127.0.0.1" "$@" \
		2>"$TEST_DIR/curl.err"
}

# last_audit: the last audit record.
last_audit() {
	tail -n 1 "$AUDIT" 2>/dev/null
}

# vf_audit_mark: how many audit records there are so far (0 before the
# first), for vf_one_record.
vf_audit_mark() {
	wc -l <"$AUDIT" 2>/dev/null || echo 0
}

# vf_one_record WHAT MARK: fails unless exactly one audit record has been
# written since vf_audit_mark printed MARK.
vf_one_record() {
	[ "$(vf_audit_mark)" -eq $(($2 + 1)) ] || fail "$1: not exactly one audit record"
}

# vf_raw CERT_PREFIX: sends stdin (as it arrives) over TLS with a client
# certificate and prints what came back until the server closes.
vf_raw() {
	cat >"$TEST_DIR/raw.py" <<'PY'
import os, select, socket, ssl, sys, time
port, ca, cert, key = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
                    server_hostname="localhost")
# One thread: stdin is sent as it arrives (a test can pause between
# requests) while responses are read, until the server closes.
s.setblocking(False)
out, stdin_open, deadline = b"", True, time.time() + 8
while time.time() < deadline:
    r, _, _ = select.select([s] + ([0] if stdin_open else []), [], [], 0.2)
    if 0 in r:
        b = os.read(0, 65536)
        if not b:
            stdin_open = False
        else:
            s.setblocking(True)
            try:
                s.sendall(b)
            except OSError:
                stdin_open = False
            s.setblocking(False)
    if s in r or s.pending():
        try:
            b = s.recv(65536)
        except ssl.SSLWantReadError:
            continue
        except (ssl.SSLError, ConnectionError):
            break
        if not b:
            break
        out += b
sys.stdout.buffer.write(out)
PY
	python3 "$TEST_DIR/raw.py" "$PORT" "$P/ca.pem" "$P/$1.pem" "$P/$1.key"
}
