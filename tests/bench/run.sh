#!/bin/bash
# make bench: edgeguard-verifier side by side with nginx, HAProxy and stunnel
# (and a bare GnuTLS server as the floor) on loopback. One run starts them
# all, measures each under the same loads from eg-loadgen, reads every
# server's CPU time and memory from /proc and prints one table with ratios
# to nginx. The pair test puts an edge in front of an origin (wrk, plain
# HTTP -> edge -> mTLS -> origin -> backend): edgeguard-forwarder ->
# edgeguard-verifier, nginx -> nginx, HAProxy -> HAProxy. Everything binds
# 127.0.0.1, every load is bounded in time, and every server started here
# is stopped on every exit path (by its PID).
#
# Knobs (environment; `make bench VAR=...` passes them on):
#   BENCH_SECONDS=10      seconds per load run
#   BENCH_REPS=1          repetitions, interleaved over the servers; the
#                         table shows medians
#   BENCH_SMOKE=0         1: correctness only -- every run must be free of
#                         errors and do work; no performance thresholds
#   BENCH_SERVERS="verifier nginx haproxy stunnel floor"  (verifier-w2:
#                         the verifier with two workers, for scaling)
#   BENCH_TESTS="mem hs hs_req resume ka rej_untrusted rej_nocert pair"
#   BENCH_PAIRS="edgeguard nginx haproxy"  edge+origin pairs (pair test);
#                         a pair's origin is started even when it is not
#                         among BENCH_SERVERS
#   BENCH_HS_CONNS=8 BENCH_KA_CONNS=32 BENCH_IDLE_CONNS=1000
#   BENCH_PAIR_CONNS=32 BENCH_PAIR_THREADS=1   wrk into the edge
#   BENCH_PORT_BASE=27400 (below the ephemeral range) BENCH_DIR=(a new /tmp/eg-bench.XXXXXX)
#   BENCH_KEEP=0          1: keep BENCH_DIR (kept anyway on failure, and
#                         when BENCH_DIR was given)
#   BENCH_RESULTS=FILE    copy the raw results (JSON Lines) there
#   BENCH_QUIET_WAIT=20   before each run, wait up to this many seconds
#                         for the machine to be idle (other processes
#                         under 15 % of a core); the table shows how many
#                         cores others used during each run anyway
# Needs: LOADGEN, FLOOR, VERIFIER, FORWARDER, EDGEGUARD (set by make),
# nginx, curl, python3, taskset, ss, and wrk for the pair test; haproxy
# and stunnel are skipped when missing.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
: "${BENCH_SECONDS:=10}"
: "${BENCH_REPS:=1}"
: "${BENCH_SMOKE:=0}"
: "${BENCH_SERVERS:=verifier nginx haproxy stunnel floor}"
: "${BENCH_TESTS:=mem hs hs_req resume ka rej_untrusted rej_nocert pair}"
: "${BENCH_PAIRS:=edgeguard nginx haproxy}"
: "${BENCH_PAIR_CONNS:=32}"
: "${BENCH_PAIR_THREADS:=1}"
: "${BENCH_HS_CONNS:=8}"
: "${BENCH_KA_CONNS:=32}"
: "${BENCH_IDLE_CONNS:=1000}"
: "${BENCH_PORT_BASE:=27400}"
: "${BENCH_KEEP:=0}"
: "${BENCH_QUIET_WAIT:=20}"

# shellcheck source=lib.sh
. "$HERE/lib.sh"

for v in LOADGEN FLOOR VERIFIER FORWARDER EDGEGUARD; do
	[ -x "${!v:-}" ] || die "$v is not an executable (run through make bench)"
done
for t in nginx curl python3 taskset ss; do
	command -v "$t" >/dev/null || die "$t is missing (apt-get install nginx curl python3 util-linux iproute2)"
done
case $BENCH_SECONDS in '' | *[!0-9]*) die "BENCH_SECONDS: a number of seconds" ;; esac
[ "$BENCH_SECONDS" -ge 1 ] && [ "$BENCH_SECONDS" -le 600 ] ||
	die "BENCH_SECONDS: 1..600"
want() { [[ " $BENCH_TESTS " == *" $1 "* ]]; }
if want pair; then
	command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
	for v in BENCH_PAIR_CONNS BENCH_PAIR_THREADS; do
		case ${!v} in '' | *[!0-9]* | 0) die "$v: a positive number" ;; esac
	done
	[ "$BENCH_PAIR_THREADS" -le "$BENCH_PAIR_CONNS" ] ||
		die "BENCH_PAIR_THREADS: at most BENCH_PAIR_CONNS"
fi

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

# progress: the newest result's line, as it comes. The smoke run saves the
# interpreter's start-up per run: table.py --check prints them all at the end.
progress() {
	[ "$BENCH_SMOKE" = 1 ] || python3 "$HERE/table.py" --last "$RESULTS" >&2
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
		"$(ticks_s $((c1 - c0)))" "$(ticks_s $((b1 - b0)))" \
		"$(ticks_s $((s1 - s0)))" \
		"$out" >>"$RESULTS"
	progress
}

# settle SECONDS: a pause of the memory test; the smoke run only checks
# that every connection was held, so it barely waits.
settle() {
	if [ "$BENCH_SMOKE" = 1 ]; then sleep 0.2; else sleep "$1"; fi
}

# mem KIND PID PORT: RSS per idle mTLS connection (one request done on
# each) on a server that has only seen a short warm-up.
mem_test() {
	local kind=$1 pid=$2 port=$3 n=$BENCH_IDLE_CONNS ready="$BENCH_DIR/ready.$1"
	local r0 r1 lgpid out i
	lg_target "$port"
	timeout 30 "${PIN_CLIENT[@]}" "$LOADGEN" "${LG_ARGS[@]}" "${EDGE[@]}" \
		-m handshake --request -c 4 -d 1 >/dev/null 2>>"$BENCH_DIR/loadgen.err"
	settle 1
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
	settle 1.5
	r1=$(rss_kb $(proc_tree "$pid"))
	stop_pid "$lgpid"
	out=$(cat "$BENCH_DIR/idle.$kind.json")
	[ -n "$out" ] || out=null
	printf '{"server":"%s","test":"mem","rep":1,"conns":%d,"rss_before_kb":%d,"rss_open_kb":%d,"loadgen":%s}\n' \
		"$kind" "$n" "$r0" "$r1" "$out" >>"$RESULTS"
	progress
}

# ---- edge+origin pairs ------------------------------------------------------
# A pair is an edge (plain HTTP in, mTLS out with the client certificate
# edge.example.net) in front of one of the origins above, all on the same
# backend. PAIR_ORIGIN: the origin server of each pair.
declare -A PAIR_ORIGIN=([edgeguard]=verifier [nginx]=nginx [haproxy]=haproxy)
declare -A EDGE_PORT=([edgeguard]=$((BENCH_PORT_BASE + 11))
	[nginx]=$((BENCH_PORT_BASE + 12)) [haproxy]=$((BENCH_PORT_BASE + 13)))
FW_ADMIN_PORT=$((BENCH_PORT_BASE + 14))
declare -A EPID

# edge_get PAIR: the status of one GET through the edge ("000": failed).
edge_get() {
	timeout 15 curl -s -m 10 -o /dev/null -w '%{http_code}' \
		-H 'Host: origin.test' "http://127.0.0.1:${EDGE_PORT[$1]}/"
}

# start_pair PAIR: starts its origin when BENCH_SERVERS did not, then the
# edge, pinned like the servers (see below); checks that a request gets
# through (200) and adds PAIR to PAIRS. Failures are logged and fail the run.
start_pair() {
	local p=$1 o=${PAIR_ORIGIN[$1]:-} code
	[ -n "$o" ] || die "unknown pair $p (BENCH_PAIRS: edgeguard nginx haproxy)"
	if ! installed "$o"; then
		log "pair $p: $o not installed: skipped"
		printf '{"server":"%s","test":"pair_skipped"}\n' "$p" >>"$RESULTS"
		return 0
	fi
	if [ -z "${PID[$o]:-}" ] && ! bring_up "$o"; then
		FAILED=1
		return 1
	fi
	if ! start_server "edge-$p" "${EDGE_PORT[$p]}" "${PORT[$o]}"; then
		FAILED=1
		return 1
	fi
	EPID[$p]=$SERVER_PID
	pin "${SERVER_CPUS:-0}" "$SERVER_PID"
	code=$(edge_get "$p")
	printf '{"server":"%s","test":"pair_func","edge":"%s"}\n' "$p" "$code" \
		>>"$RESULTS"
	log "pair $p (edge-$p -> $o): allowlisted request through the edge: $code"
	PAIRS+=("$p")
}

# fw_counters: the forwarder's counters for the bench origin since it
# started, as JSON (null when /metrics cannot be read).
fw_counters() {
	curl -s -m 5 "http://127.0.0.1:$FW_ADMIN_PORT/metrics" | awk '
		/^edgeguard_forwarder_handshakes_total\{origin="origin",kind="full"\} / { f = $NF; n++ }
		/^edgeguard_forwarder_handshakes_total\{origin="origin",kind="resumed"\} / { r = $NF; n++ }
		/^edgeguard_forwarder_requests_total\{origin="origin"\} / { q = $NF; n++ }
		/^edgeguard_forwarder_errors_total\{origin="origin",/ { e += $NF }
		END {
			if (n != 3) { print "null"; exit }
			printf "{\"full\":%d,\"resumed\":%d,\"requests\":%d,\"errors\":%d}", f, r, q, e
		}'
}

# pair_measure PAIR REP: wrk into the edge for BENCH_SECONDS; CPU seconds
# of the edge, the origin, the backend and wrk from /proc; for the
# edgeguard pair the forwarder's handshake counters before and after.
# Pinning: the harness's split, with four processes on two cores: edge and
# origin (the proxies under test) share the last CPU, wrk and the backend
# the first. The pair's req/s is then what one core running both proxies
# delivers, and req per (edge+origin) CPU-second their joint cost. Before
# the first repetition a 1 s run (not counted) fills the edge's pool, as
# for every pair; the forwarder's counters are cumulative, so the pool
# fill still shows in the handshakes per 10,000 requests.
pair_measure() {
	local p=$1 rep=$2 me=$BASHPID o=${PAIR_ORIGIN[$1]} json fw0=null fw1=null
	local url="http://127.0.0.1:${EDGE_PORT[$1]}/" out="$BENCH_DIR/wrk.$1.$2.out"
	local ep op bp e0 e1 o0 o1 b0 b1 k0 k1 s0 s1 t0 t1
	local wrk=("${PIN_CLIENT[@]}" wrk -t "$BENCH_PAIR_THREADS"
		-c "$BENCH_PAIR_CONNS" --latency -s "$HERE/pair.lua"
		-H 'Host: origin.test')
	if [ "$rep" = 1 ] && [ "$BENCH_SMOKE" != 1 ]; then
		timeout 30 "${wrk[@]}" -d 1s "$url" >/dev/null 2>&1
	fi
	wait_quiet
	[ "$p" = edgeguard ] && fw0=$(fw_counters)
	ep=$(proc_tree "${EPID[$p]}")
	op=$(proc_tree "${PID[$o]}")
	bp=$(proc_tree "$BACKEND_PID")
	e0=$(cpu_ticks $ep)
	o0=$(cpu_ticks $op)
	b0=$(cpu_ticks $bp)
	k0=$(child_ticks "$me")
	s0=$(busy_ticks)
	t0=$(now)
	timeout $((BENCH_SECONDS + 30)) "${wrk[@]}" -d "${BENCH_SECONDS}s" \
		"$url" >"$out" 2>&1
	t1=$(now)
	s1=$(busy_ticks)
	k1=$(child_ticks "$me")
	ep=$(proc_tree "${EPID[$p]}")
	op=$(proc_tree "${PID[$o]}")
	e1=$(cpu_ticks $ep)
	o1=$(cpu_ticks $op)
	b1=$(cpu_ticks $bp)
	[ "$p" = edgeguard ] && fw1=$(fw_counters)
	json=$(sed -n 's/^pair-json //p' "$out")
	[ -n "$json" ] || json=null
	printf '{"server":"%s","test":"pair","edge":"edge-%s","origin":"%s","rep":%d,"conns":%d,"threads":%d,"wall_s":%s,"edge_cpu_s":%s,"origin_cpu_s":%s,"backend_cpu_s":%s,"client_cpu_s":%s,"busy_cpu_s":%s,"wrk":%s,"forwarder_before":%s,"forwarder_after":%s}\n' \
		"$p" "$p" "$o" "$rep" "$BENCH_PAIR_CONNS" "$BENCH_PAIR_THREADS" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')" \
		"$(ticks_s $((e1 - e0)))" "$(ticks_s $((o1 - o0)))" \
		"$(ticks_s $((b1 - b0)))" "$(ticks_s $((k1 - k0)))" \
		"$(ticks_s $((s1 - s0)))" "$json" "$fw0" "$fw1" >>"$RESULTS"
	progress
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
# installed KIND: haproxy and stunnel are optional peers.
installed() {
	case $1 in
	haproxy | stunnel) command -v "$1" >/dev/null ;;
	esac
}
# bring_up KIND: starts the server under test, checks what each client
# gets, pins it; sets PID[KIND].
bring_up() {
	local kind=$1
	start_server "$kind" "${PORT[$kind]}" || return 1
	PID[$kind]=$SERVER_PID
	func_check "$kind" "${PORT[$kind]}"
	# verifier-w2 spreads over every CPU: it measures scaling, not pinning.
	[ "$kind" != verifier-w2 ] && pin "${SERVER_CPUS:-0}" "$SERVER_PID"
	return 0
}
SERVERS=()
for kind in $BENCH_SERVERS; do
	[ -n "${PORT[$kind]:-}" ] || die "unknown server $kind"
	if ! installed "$kind"; then
		log "$kind not installed: skipped (apt-get install ${kind/stunnel/stunnel4})"
		printf '{"server":"%s","test":"skipped"}\n' "$kind" >>"$RESULTS"
		continue
	fi
	if ! bring_up "$kind"; then
		FAILED=1
		continue
	fi
	SERVERS+=("$kind")
done

PAIRS=()
if want pair; then
	for p in $BENCH_PAIRS; do
		start_pair "$p"
	done
fi
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
		if [ "$test" = pair ]; then
			for p in "${PAIRS[@]}"; do pair_measure "$p" "$rep"; done
			continue
		fi
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
