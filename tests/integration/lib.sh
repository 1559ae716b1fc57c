# Shared helpers for the shell integration tests. Source it:
#   . "$top_srcdir/tests/integration/lib.sh"
# Exit codes follow automake/hitch: 0 pass, 77 skip, 99 hard error, else fail.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
EDGEGUARD="$top_builddir/daemon/edgeguard"

skip() { echo "SKIP: $*"; exit 77; }
hard_error() { echo "ERROR: $*" >&2; exit 99; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }

# A scratch directory removed when the test exits; cleanup_hook (if the test
# defines it) runs first, e.g. to stop servers.
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/eg-it.XXXXXX") || hard_error "mktemp"
cleanup() {
	if command -v cleanup_hook >/dev/null 2>&1; then cleanup_hook; fi
	rm -rf "$TEST_DIR"
}
trap cleanup EXIT

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
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
