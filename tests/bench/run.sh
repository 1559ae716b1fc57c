#!/bin/bash
# make bench: edgeguard-verifier side by side with nginx, HAProxy and stunnel
# (and a bare GnuTLS server as the floor) on loopback. One run starts them
# all, measures each under the same loads from eg-loadgen, reads every
# server's CPU time and memory from /proc and prints one table with ratios
# to nginx. Everything binds 127.0.0.1, every load is bounded in time, and
# every server started here is stopped on every exit path (by its PID).
#
# Knobs (environment; `make bench VAR=...` passes them on):
#   BENCH_SECONDS=10      seconds per load run
#   BENCH_REPS=1          repetitions, interleaved over the servers; the
#                         table shows medians
#   BENCH_SMOKE=0         1: correctness only -- every run must be free of
#                         errors and do work; no performance thresholds
#   BENCH_SERVERS="verifier nginx haproxy stunnel floor"  (verifier-w2:
#                         the verifier with two workers, for scaling)
#   BENCH_TESTS="mem hs hs_req resume ka rej_untrusted rej_nocert"
#   BENCH_HS_CONNS=8 BENCH_KA_CONNS=32 BENCH_IDLE_CONNS=1000
#   BENCH_PORT_BASE=27400 (below the ephemeral range) BENCH_DIR=(a new /tmp/eg-bench.XXXXXX)
#   BENCH_KEEP=0          1: keep BENCH_DIR (kept anyway on failure, and
#                         when BENCH_DIR was given)
#   BENCH_RESULTS=FILE    copy the raw results (JSON Lines) there
#   BENCH_QUIET_WAIT=20   before each run, wait up to this many seconds
#                         for the machine to be idle (other processes
#                         under 15 % of a core); the table shows how many
#                         cores others used during each run anyway
# Needs: LOADGEN, FLOOR, VERIFIER, EDGEGUARD (set by make), nginx, curl,
# python3, taskset; haproxy and stunnel are skipped when missing.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
: "${BENCH_SECONDS:=10}"
: "${BENCH_REPS:=1}"
: "${BENCH_SMOKE:=0}"
: "${BENCH_SERVERS:=verifier nginx haproxy stunnel floor}"
: "${BENCH_TESTS:=mem hs hs_req resume ka rej_untrusted rej_nocert}"
: "${BENCH_HS_CONNS:=8}"
: "${BENCH_KA_CONNS:=32}"
: "${BENCH_IDLE_CONNS:=1000}"
: "${BENCH_PORT_BASE:=27400}"
: "${BENCH_KEEP:=0}"
: "${BENCH_QUIET_WAIT:=20}"

# shellcheck source=lib.sh
. "$HERE/lib.sh"

for v in LOADGEN FLOOR VERIFIER EDGEGUARD; do
	[ -x "${!v:-}" ] || die "$v is not an executable (run through make bench)"
done
for t in nginx curl python3 taskset ss; do
	command -v "$t" >/dev/null || die "$t is missing (apt-get install nginx curl python3 util-linux iproute2)"
done
case $BENCH_SECONDS in '' | *[!0-9]*) die "BENCH_SECONDS: a number of seconds" ;; esac
[ "$BENCH_SECONDS" -ge 1 ] && [ "$BENCH_SECONDS" -le 600 ] ||
	die "BENCH_SECONDS: 1..600"

[ -n "${BENCH_DIR:-}" ] && BENCH_KEEP=1
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/eg-bench.XXXXXX)} || die "mktemp"
mkdir -p "$BENCH_DIR"
PKI="$BENCH_DIR/pki"
RESULTS="$BENCH_DIR/results.jsonl"
: >"$RESULTS"
STARTED_PIDS=()
FAILED=0

finish() {
	stop_all
	if [ "$FAILED" = 0 ] && [ "$BENCH_KEEP" = 0 ]; then
		rm -rf "$BENCH_DIR"
	else
		log "kept $BENCH_DIR (logs, configs, results.jsonl)"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# func KIND PORT: what an allowlisted, an untrusted and no certificate
# get (HTTP status, or "tls" when the connection failed).
func_check() {
	local kind=$1 port=$2 who code out=()
	for who in edge rogue none; do
		local a=()
		case $who in
		edge) a=("${EDGE[@]}") ;;
		rogue) a=("${ROGUE[@]}") ;;
		esac
		code=$(timeout 15 curl -s -m 10 -o /dev/null -w '%{http_code}' \
			--cacert "$PKI/ca.pem" --resolve "origin.test:$port:127.0.0.1" \
			"${a[@]}" "https://origin.test:$port/")
		[ "$code" = 000 ] && code=tls
		out+=("\"$who\":\"$code\"")
	done
	local IFS=,
	printf '{"server":"%s","test":"func",%s}\n' "$kind" "${out[*]}" >>"$RESULTS"
	log "$kind: edge ${out[0]#*:} rogue ${out[1]#*:} none ${out[2]#*:}"
}

# measure KIND PID PORT TEST REP: one load run; appends its line to RESULTS.
measure() {
	local kind=$1 pid=$2 port=$3 test=$4 rep=$5 out pids bp
	local c0 c1 b0 b1 s0 s1 t0 t1
	test_args "$test" || return 1
	lg_target "$port"
	wait_quiet
	pids=$(proc_tree "$pid")
	bp=$(proc_tree "$BACKEND_PID")
	c0=$(cpu_ticks $pids)
	b0=$(cpu_ticks $bp)
	s0=$(busy_ticks)
	t0=$(now)
	out=$(timeout $((BENCH_SECONDS + 30)) "${PIN_CLIENT[@]}" "$LOADGEN" \
		"${LG_ARGS[@]}" "${LG_TEST[@]}" -d "$BENCH_SECONDS" \
		2>>"$BENCH_DIR/loadgen.err")
	t1=$(now)
	s1=$(busy_ticks)
	pids=$(proc_tree "$pid")
	c1=$(cpu_ticks $pids)
	b1=$(cpu_ticks $bp)
	[ -n "$out" ] || out=null
	printf '{"server":"%s","test":"%s","rep":%d,"wall_s":%s,"server_cpu_s":%s,"backend_cpu_s":%s,"busy_cpu_s":%s,"loadgen":%s}\n' \
		"$kind" "$test" "$rep" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')" \
		"$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" 'BEGIN{printf "%.2f", t / h}')" \
		"$(awk -v t=$((b1 - b0)) -v h="$CLK_TCK" 'BEGIN{printf "%.2f", t / h}')" \
		"$(awk -v t=$((s1 - s0)) -v h="$CLK_TCK" 'BEGIN{printf "%.2f", t / h}')" \
		"$out" >>"$RESULTS"
	python3 "$HERE/table.py" --last "$RESULTS" >&2
}

# mem KIND PID PORT: RSS per idle mTLS connection (one request done on
# each) on a server that has only seen a short warm-up.
mem_test() {
	local kind=$1 pid=$2 port=$3 n=$BENCH_IDLE_CONNS ready="$BENCH_DIR/ready.$1"
	local r0 r1 lgpid out i
	lg_target "$port"
	timeout 30 "${PIN_CLIENT[@]}" "$LOADGEN" "${LG_ARGS[@]}" "${EDGE[@]}" \
		-m handshake --request -c 4 -d 1 >/dev/null 2>>"$BENCH_DIR/loadgen.err"
	sleep 1
	wait_quiet
	r0=$(rss_kb $(proc_tree "$pid"))
	rm -f "$ready"
	"${PIN_CLIENT[@]}" "$LOADGEN" "${LG_ARGS[@]}" "${EDGE[@]}" -m idle \
		-c "$n" -d 300 --ready-file "$ready" >"$BENCH_DIR/idle.$kind.json" \
		2>>"$BENCH_DIR/loadgen.err" &
	lgpid=$!
	STARTED_PIDS+=("$lgpid")
	for ((i = 0; i < 1200; i++)); do
		[ -e "$ready" ] && break
		kill -0 "$lgpid" 2>/dev/null || break
		sleep 0.1
	done
	# Let the server finish what the last handshakes started.
	sleep 1.5
	r1=$(rss_kb $(proc_tree "$pid"))
	stop_pid "$lgpid"
	out=$(cat "$BENCH_DIR/idle.$kind.json")
	[ -n "$out" ] || out=null
	printf '{"server":"%s","test":"mem","rep":1,"conns":%d,"rss_before_kb":%d,"rss_open_kb":%d,"loadgen":%s}\n' \
		"$kind" "$n" "$r0" "$r1" "$out" >>"$RESULTS"
	python3 "$HERE/table.py" --last "$RESULTS" >&2
}

# ---- main -----------------------------------------------------------------
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log "results in $BENCH_DIR; ${BENCH_SECONDS}s per run, $BENCH_REPS repetition(s), $NCPU CPUs"
make_pki || die "edgeguard pki failed"

declare -A PORT=([verifier]=$((BENCH_PORT_BASE + 1)) [nginx]=$((BENCH_PORT_BASE + 2))
	[haproxy]=$((BENCH_PORT_BASE + 3)) [stunnel]=$((BENCH_PORT_BASE + 4))
	[floor]=$((BENCH_PORT_BASE + 5)) [verifier-w2]=$((BENCH_PORT_BASE + 6)))
BACKEND_PORT=$BENCH_PORT_BASE
start_server backend "$BACKEND_PORT" || die "the backend did not start"
BACKEND_PID=$SERVER_PID
pin "${CLIENT_CPUS:-0}" "$BACKEND_PID"

declare -A PID
SERVERS=()
for kind in $BENCH_SERVERS; do
	[ -n "${PORT[$kind]:-}" ] || die "unknown server $kind"
	case $kind in
	haproxy | stunnel)
		if ! command -v "$kind" >/dev/null; then
			log "$kind not installed: skipped (apt-get install ${kind/stunnel/stunnel4})"
			printf '{"server":"%s","test":"skipped"}\n' "$kind" >>"$RESULTS"
			continue
		fi
		;;
	esac
	if ! start_server "$kind" "${PORT[$kind]}"; then
		FAILED=1
		continue
	fi
	PID[$kind]=$SERVER_PID
	SERVERS+=("$kind")
	func_check "$kind" "${PORT[$kind]}"
	# verifier-w2 spreads over every CPU: it measures scaling, not pinning.
	[ "$kind" != verifier-w2 ] && pin "${SERVER_CPUS:-0}" "$SERVER_PID"
done

want() { [[ " $BENCH_TESTS " == *" $1 "* ]]; }
# The floor answers locally, one connection at a time: no proxying, no
# keep-alive, nothing held; it is measured on the handshake tests only.
applies() { # KIND TEST
	[ "$1" = floor ] && [[ " mem ka " == *" $2 "* ]] && return 1
	return 0
}

if want mem; then
	for kind in "${SERVERS[@]}"; do
		applies "$kind" mem && mem_test "$kind" "${PID[$kind]}" "${PORT[$kind]}"
	done
fi
for ((rep = 1; rep <= BENCH_REPS; rep++)); do
	for test in $BENCH_TESTS; do
		[ "$test" = mem ] && continue
		for kind in "${SERVERS[@]}"; do
			applies "$kind" "$test" || continue
			measure "$kind" "${PID[$kind]}" "${PORT[$kind]}" "$test" "$rep"
		done
	done
done
stop_all

echo
echo "edgeguard bench: $(date -u '+%F %T UTC'), $NCPU CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), ${BENCH_SECONDS}s x $BENCH_REPS"
check=()
[ "$BENCH_SMOKE" = 1 ] && check=(--check)
python3 "$HERE/table.py" "${check[@]}" "$RESULTS" || FAILED=1
if [ -n "${BENCH_RESULTS:-}" ]; then cp "$RESULTS" "$BENCH_RESULTS" || FAILED=1; fi
exit "$FAILED"
