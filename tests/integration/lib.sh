# Shared helpers for the shell integration tests. Source it:
#   . "$top_srcdir/tests/integration/lib.sh"
# Exit codes follow automake/hitch: 0 pass, 77 skip, 99 hard error, else fail.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
EDGEGUARD="$top_builddir/daemon/edgeguard"

skip() { echo "SKIP: $*"; exit 77; }
hard_error() { echo "ERROR: $*" >&2; exit 99; }
# fail_hook (if the test defines it) says what the servers logged.
fail() {
	echo "FAIL: $*" >&2
	if command -v fail_hook >/dev/null 2>&1; then fail_hook >&2; fi
	exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }

# A scratch directory removed when the test exits; cleanup_hook (if the test
# defines it) runs first, e.g. to stop servers.
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/eg-it.XXXXXX") || hard_error "mktemp"
PORT_CLAIMS="${TMPDIR:-/tmp}/eg-it-ports"
cleanup() {
	if command -v cleanup_hook >/dev/null 2>&1; then cleanup_hook; fi
	for _p in $(cat "$TEST_DIR/ports" 2>/dev/null); do
		rmdir "$PORT_CLAIMS/$_p" 2>/dev/null
	done
	rm -rf "$TEST_DIR"
}
trap cleanup EXIT

# Prints a TCP port on 127.0.0.1 that is free right now and stays this
# test's until it exits. Ports come from below the kernel's ephemeral range,
# so no client socket takes one before its server binds it, and are claimed
# with mkdir, so tests running side by side never get the same one: the
# daemons listen with SO_REUSEPORT and two of them on one port would share
# its connections without an error.
free_port() {
	mkdir -p "$PORT_CLAIMS"
	for _try in $(seq 1 200); do
		_p=$((10000 + RANDOM % 17000))
		mkdir "$PORT_CLAIMS/$_p" 2>/dev/null || continue
		if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$_p" 2>/dev/null; then
			echo "$_p" >>"$TEST_DIR/ports"
			echo "$_p"
			return 0
		fi
		rmdir "$PORT_CLAIMS/$_p"
	done
	hard_error "no free port"
}

# wait_port PORT [SECONDS]: waits until something listens on 127.0.0.1:PORT.
wait_port() {
	_deadline=$(( $(date +%s) + ${2:-30} ))
	while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		[ "$(date +%s)" -lt "$_deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# assert_contains WHAT NEEDLE HAYSTACK
assert_contains() {
	case "$3" in *"$2"*) ;; *) fail "$1: '$2' not found in: $3" ;; esac
}

# nginx_conf_head WORKERS ERROR_LOG CONNECTIONS: the top of a test's
# nginx.conf, up to and including the line that opens its http block (the
# caller closes it): pid in $TEST_DIR, and every temporary file in
# $TEST_DIR/tmp (the caller creates it) instead of system paths a test may
# not write to.
nginx_conf_head() {
	printf '%s\n' "worker_processes $1;" "pid $TEST_DIR/nginx.pid;" \
		"error_log $2 info;" "events { worker_connections $3; }" "http {"
	for _t in client_body proxy fastcgi uwsgi scgi; do
		printf '\t%s_temp_path %s;\n' "$_t" "$TEST_DIR/tmp/${_t#client_}"
	done
}
