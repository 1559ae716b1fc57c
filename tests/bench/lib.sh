# shellcheck shell=bash
# Helpers shared by tests/bench/run.sh and tests/bench/profile.sh (sourced;
# the functions use BENCH_DIR, PKI, STARTED_PIDS and BENCH_* set by the
# caller): process control (only PIDs we started), CPU and memory
# accounting from /proc, CPU pinning, the test PKI and eg-loadgen's
# arguments per test.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

stop_pid() {
	local pid=$1 i keep=() p
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	for p in "${STARTED_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
	STARTED_PIDS=("${keep[@]}")
	return 0
}
stop_all() {
	local p
	for p in "${STARTED_PIDS[@]}"; do stop_pid "$p"; done
}
port_listening() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q "127.0.0.1:$1 "; }
wait_listen() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		port_listening "$1" && return 0
		sleep 0.05
	done
	return 1
}

# The PID and all its descendants.
proc_tree() {
	local out=("$1") i=0 kids
	while [ "$i" -lt "${#out[@]}" ]; do
		kids=$(pgrep -P "${out[$i]}" 2>/dev/null) && out+=($kids)
		i=$((i + 1))
	done
	echo "${out[@]}"
}

# utime+stime in clock ticks of the given processes, all their threads
# included (exited threads too: the kernel folds them into the process).
cpu_ticks() {
	local t=0 p v
	for p in "$@"; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
# cutime+cstime in clock ticks of PID: the CPU time of its children that
# have been waited for (a foreground command's, once it has returned).
child_ticks() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $14 + $15}'
}
# Clock ticks as seconds, two decimals.
ticks_s() { awk -v t="$1" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", t / h}'; }
rss_kb() {
	local t=0 p v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
now() { date +%s.%N; }
wait_quiet() {
	local end=$((SECONDS + BENCH_QUIET_WAIT)) b0 b1
	local lim=$((15 * $(getconf CLK_TCK) / 100))
	while [ "$SECONDS" -lt "$end" ]; do
		b0=$(busy_ticks)
		sleep 1
		b1=$(busy_ticks)
		[ $((b1 - b0)) -le "$lim" ] && return 0
	done
	return 0
}
CLK_TCK=$(getconf CLK_TCK)

# Server on the last CPU, client and backend on the first: the client's
# work never lands on the server's core. One CPU: nothing is pinned.
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	SERVER_CPUS=$((NCPU - 1))
	CLIENT_CPUS=0
	PIN_CLIENT=(taskset -c "$CLIENT_CPUS")
else
	PIN_CLIENT=()
fi
pin() { # CPUS PID: every thread of every process in PID's tree
	local p
	[ "$NCPU" -ge 2 ] || return 0
	for p in $(proc_tree "$2"); do taskset -a -p -c "$1" "$p" >/dev/null 2>&1; done
}

# make_pki: the test PKI in $PKI (edgeguard pki, ECDSA P-256); sets EDGE and
# ROGUE, the eg-loadgen/curl arguments of the two client identities.
make_pki() {
	"$EDGEGUARD" pki init "$PKI" --origin-name origin.test --force >/dev/null &&
		"$EDGEGUARD" pki ca --out "$PKI/rogue" --cn "edgeguard demo CA" --force >/dev/null &&
		"$EDGEGUARD" pki issue --ca "$PKI/rogue" --out "$PKI/rogue-edge" \
			--client --dns edge.example.net --force >/dev/null ||
		return 1
	# HAProxy takes the chain and key in one file.
	cat "$PKI/origin.pem" "$PKI/origin.key" >"$PKI/origin.bundle.pem" &&
		cat "$PKI/edge.pem" "$PKI/edge.key" >"$PKI/edge.bundle.pem" &&
		chmod 600 "$PKI/origin.bundle.pem" "$PKI/edge.bundle.pem" ||
		return 1
	# The client identities: allowlisted, and untrusted under the same
	# names from a CA that copies the real one's name.
	EDGE=(--cert "$PKI/edge.pem" --key "$PKI/edge.key")
	ROGUE=(--cert "$PKI/rogue-edge.pem" --key "$PKI/rogue-edge.key")
}

# Common eg-loadgen arguments for server port $1.
lg_target() {
	LG_ARGS=(-a "127.0.0.1:$1" --ca "$PKI/ca.pem" --sni origin.test)
}

test_args() { # TEST -> LG_TEST (mode and client identity)
	case $1 in
	hs) LG_TEST=(-m handshake -c "$BENCH_HS_CONNS" "${EDGE[@]}") ;;
	hs_req) LG_TEST=(-m handshake --request -c "$BENCH_HS_CONNS" "${EDGE[@]}") ;;
	resume) LG_TEST=(-m resume -c "$BENCH_HS_CONNS" "${EDGE[@]}") ;;
	ka) LG_TEST=(-m keepalive -c "$BENCH_KA_CONNS" "${EDGE[@]}") ;;
	rej_untrusted) LG_TEST=(-m reject -c "$BENCH_HS_CONNS" "${ROGUE[@]}") ;;
	rej_nocert) LG_TEST=(-m reject -c "$BENCH_HS_CONNS") ;;
	*) return 1 ;;
	esac
}

# shellcheck source=servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
