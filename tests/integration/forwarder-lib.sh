# Helpers for the edgeguard-forwarder integration tests; sourced after
# lib.sh and verifier-lib.sh (its PKI, echo backend and verifier serve as
# the origin side). Every peer runs on free loopback ports.
FORWARDER="$top_builddir/daemon/edgeguard-forwarder"
[ -x "$FORWARDER" ] || hard_error "$FORWARDER not built"

# fw_origin_block NAME SERVERS [KEYS]: one origin group; SERVERS is a
# libconfig list body; the edge certificate and demo CA are the defaults.
fw_origin_block() {
	cat <<CONF
    {
      name = "$1";
      servers = [ $2 ];
      client_cert = "pki/edge.pem";
      client_key = "pki/edge.key";
      ca_file = "pki/ca.pem";
      ${3:-}
    }
CONF
}

# fw_config ORIGINS [EXTRA_FORWARDER_KEYS]: writes $FCONF with a forwarder
# on $FPORT and admin on $FADMIN_PORT; ORIGINS is the body of the origins
# list (fw_origin_block output, comma-separated).
fw_config() {
	: "${FPORT:=$(free_port)}"
	: "${FADMIN_PORT:=$(free_port)}"
	FCONF="$TEST_DIR/forwarder.conf"
	cat >"$FCONF.tmp" <<CONF
forwarder = {
  listen = [ "127.0.0.1:$FPORT" ${FLISTEN_EXTRA:-} ];
  workers = ${FWORKERS:-2};
  admin = { listen = "127.0.0.1:$FADMIN_PORT"; };
  ${2:-}
  origins = (
$1
  );
};
CONF
	mv "$FCONF.tmp" "$FCONF"
}

# fw_start: runs the forwarder on $FCONF and waits for its port; its log
# goes to $FLOG.
fw_start() {
	FLOG="$TEST_DIR/forwarder.err"
	"$FORWARDER" -c "$FCONF" 2>>"$FLOG" &
	FW_PID=$!
	VF_PIDS="$VF_PIDS $FW_PID"
	wait_port "$FPORT" || { cat "$FLOG" >&2; hard_error "forwarder did not start"; }
}

# fw_curl HOST PATH [CURL_ARGS...]: plain HTTP to the forwarder with that
# Host; prints the status, keeps the body in $TEST_DIR/body.
fw_curl() {
	_host=$1 _path=$2
	shift 2
	curl -s -o "$TEST_DIR/body" -w '%{http_code}' --max-time 15 \
		-H "Host: $_host" "$@" "http://127.0.0.1:$FPORT$_path"
}

# fw_metric NAME_AND_LABELS: the value of one metric line ("" if absent).
fw_metric() {
	curl -s "http://127.0.0.1:$FADMIN_PORT/metrics" |
		awk -v k="$1" 'index($0, k " ") == 1 { print $NF }'
}

# fw_raw: sends stdin to the forwarder (plain TCP) as it arrives and
# prints what came back until the forwarder closes (at most 8 s).
fw_raw() {
	python3 -c '
import os, select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
out, stdin_open, deadline = b"", True, time.time() + 8
while time.time() < deadline:
    r, _, _ = select.select([s] + ([0] if stdin_open else []), [], [], 0.2)
    if 0 in r:
        b = os.read(0, 65536)
        if b:
            s.sendall(b)
        else:
            stdin_open = False
    if s in r:
        b = s.recv(65536)
        if not b:
            break
        out += b
sys.stdout.buffer.write(out)
' "$FPORT"
}

# fw_tls_origin PORT CERT_PREFIX CA [MODE]: a TLS echo origin written in
# Python (a TLS stack we did not write) on PORT, presenting
# $P/CERT_PREFIX.pem, requiring a client certificate issued by CA (a PEM
# file). It answers 200 with the request line, the headers as received and
# "Peer: <client certificate subject CN>", after 2 s for /slow. MODE
# "silent" accepts TCP and never speaks TLS (handshake timeouts).
fw_tls_origin() {
	cat >"$TEST_DIR/tls-origin.py" <<'PY'
import http.server, socket, socketserver, ssl, sys, time
port, cert, key, ca, mode = sys.argv[1:6]
if mode == "silent":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)
    while True:
        time.sleep(60)
class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        peer = self.connection.getpeercert() or {}
        cn = [v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"]
        out = (self.requestline + "\n").encode()
        for k, v in self.headers.items():
            out += ("%s: %s\n" % (k, v)).encode("latin-1")
        out += ("Peer: %s\n\n" % ",".join(cn)).encode() + body
        if self.path.startswith("/slow"):
            time.sleep(2)
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_POST = do_HEAD = do_GET
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = Server(("127.0.0.1", int(port)), Echo)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
	python3 "$TEST_DIR/tls-origin.py" "$1" "$P/$2.pem" "$P/$2.key" "$3" "${4:-echo}" \
		2>>"$TEST_DIR/tls-origin.err" &
	VF_PIDS="$VF_PIDS $!"
	wait_port "$1" || hard_error "TLS origin on $1 did not start"
}

# fw_stop: SIGTERM, which must drain and exit 0 without sanitizer reports.
fw_stop() {
	kill -TERM "$FW_PID" 2>/dev/null
	wait "$FW_PID"
	_rc=$?
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$FLOG" >&2 ||
		fail "sanitizer report in the forwarder's log"
	[ "$_rc" = 0 ] || { cat "$FLOG" >&2; fail "forwarder exited with $_rc"; }
}
