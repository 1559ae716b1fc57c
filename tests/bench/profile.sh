#!/bin/bash
# make bench-profile BENCH_TEST=ka [BENCH_PROFILER=perf|callgrind|massif]:
# one server (edgeguard-verifier by default) under one load of run.sh, with
# the same PKI, backend and pinning, and the profile's top entries.
#   perf       perf record -g on the running server (sampled, whole load)
#   callgrind  the server under valgrind --tool=callgrind (instruction
#              counts; the load is slowed down accordingly)
#   massif     the server under valgrind --tool=massif with BENCH_IDLE_CONNS
#              idle connections held (BENCH_TEST=mem): where their memory is
# Knobs: BENCH_TEST=ka BENCH_PROFILER=perf BENCH_SERVER=verifier
#        BENCH_SECONDS=10 BENCH_KA_CONNS BENCH_HS_CONNS BENCH_IDLE_CONNS
#        BENCH_PORT_BASE=27500 BENCH_DIR (kept; default a new /tmp dir)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
: "${BENCH_TEST:=ka}"
: "${BENCH_PROFILER:=perf}"
: "${BENCH_SERVER:=verifier}"
: "${BENCH_SECONDS:=10}"
: "${BENCH_HS_CONNS:=8}"
: "${BENCH_KA_CONNS:=32}"
: "${BENCH_IDLE_CONNS:=1000}"
: "${BENCH_PORT_BASE:=27500}"
: "${BENCH_QUIET_WAIT:=0}"

# shellcheck source=lib.sh
. "$HERE/lib.sh"

for v in LOADGEN FLOOR VERIFIER EDGEGUARD; do
	[ -x "${!v:-}" ] || die "$v is not an executable (run through make bench-profile)"
done
case $BENCH_PROFILER in
perf) command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)" ;;
callgrind | massif)
	command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
	[ "$BENCH_SERVER" = verifier ] || die "$BENCH_PROFILER: BENCH_SERVER=verifier only"
	;;
*) die "BENCH_PROFILER: perf, callgrind or massif" ;;
esac
[ "$BENCH_PROFILER" = massif ] && BENCH_TEST=mem
case $BENCH_TEST in
hs | hs_req | resume | ka | rej_untrusted | rej_nocert | mem) ;;
*) die "BENCH_TEST: hs hs_req resume ka rej_untrusted rej_nocert" ;;
esac

BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/eg-profile.XXXXXX)} || die "mktemp"
mkdir -p "$BENCH_DIR"
PKI="$BENCH_DIR/pki"
STARTED_PIDS=()
trap stop_all EXIT
trap 'exit 130' INT TERM

make_pki || die "edgeguard pki failed"
[ "$BENCH_TEST" = mem ] || test_args "$BENCH_TEST"
BACKEND_PORT=$BENCH_PORT_BASE
PORT=$((BENCH_PORT_BASE + 1))
start_server backend "$BACKEND_PORT" || die "the backend did not start"
pin "${CLIENT_CPUS:-0}" "$SERVER_PID"
case $BENCH_PROFILER in
callgrind)
	SERVER_WRAP=(valgrind --tool=callgrind --callgrind-out-file="$BENCH_DIR/callgrind.out")
	SERVER_START_S=60
	;;
massif)
	SERVER_WRAP=(valgrind --tool=massif --massif-out-file="$BENCH_DIR/massif.out")
	SERVER_START_S=60
	;;
esac
start_server "$BENCH_SERVER" "$PORT" || die "$BENCH_SERVER did not start"
SPID=$SERVER_PID
pin "${SERVER_CPUS:-0}" "$SPID"
lg_target "$PORT"
log "profiling $BENCH_SERVER (pid $SPID) under $BENCH_TEST with $BENCH_PROFILER; files in $BENCH_DIR"

case $BENCH_PROFILER in
perf)
	perf record -g -o "$BENCH_DIR/perf.data" -p "$SPID" -- sleep "$BENCH_SECONDS" \
		>"$BENCH_DIR/perf.log" 2>&1 &
	PERF_PID=$!
	STARTED_PIDS+=("$PERF_PID")
	timeout $((BENCH_SECONDS + 30)) "${PIN_CLIENT[@]}" "$LOADGEN" "${LG_ARGS[@]}" \
		"${LG_TEST[@]}" -d "$BENCH_SECONDS" >"$BENCH_DIR/loadgen.json"
	wait "$PERF_PID"
	stop_all
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("load: %(ops_per_s).0f %(unit)s/s, errors %(errors)d" % d)' \
		"$BENCH_DIR/loadgen.json"
	perf report -i "$BENCH_DIR/perf.data" --stdio --no-children -g none \
		--sort dso --percent-limit 0.5 >"$BENCH_DIR/perf-dso.txt" 2>/dev/null
	perf report -i "$BENCH_DIR/perf.data" --stdio --no-children -g none \
		--sort dso,symbol --percent-limit 0.5 >"$BENCH_DIR/perf-sym.txt" 2>/dev/null
	grep -v -e '^#' -e '^$' "$BENCH_DIR/perf-dso.txt"
	grep -v -e '^#' -e '^$' "$BENCH_DIR/perf-sym.txt"
	log "call graphs: perf report -i $BENCH_DIR/perf.data"
	;;
callgrind)
	timeout $((BENCH_SECONDS + 60)) "${PIN_CLIENT[@]}" "$LOADGEN" "${LG_ARGS[@]}" \
		"${LG_TEST[@]}" -d "$BENCH_SECONDS" --timeout 30000 >"$BENCH_DIR/loadgen.json"
	stop_all
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("load: %(ops)d %(unit)s, errors %(errors)d" % d)' \
		"$BENCH_DIR/loadgen.json"
	callgrind_annotate --inclusive=no "$BENCH_DIR/callgrind.out" \
		>"$BENCH_DIR/callgrind.txt" 2>/dev/null
	sed -n '1,45p' "$BENCH_DIR/callgrind.txt"
	;;
massif)
	ready="$BENCH_DIR/ready"
	"${PIN_CLIENT[@]}" "$LOADGEN" "${LG_ARGS[@]}" "${EDGE[@]}" -m idle \
		-c "$BENCH_IDLE_CONNS" -d 300 --timeout 60000 --ready-file "$ready" \
		>"$BENCH_DIR/loadgen.json" &
	LG_PID=$!
	STARTED_PIDS+=("$LG_PID")
	for ((i = 0; i < 3000; i++)); do
		[ -e "$ready" ] && break
		kill -0 "$LG_PID" 2>/dev/null || break
		sleep 0.1
	done
	sleep 3
	stop_pid "$LG_PID"
	# massif writes when the server exits; its peak snapshot is the moment
	# every connection was held.
	stop_pid "$SPID"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("held %(held)d connections, errors %(errors)d" % d)' \
		"$BENCH_DIR/loadgen.json"
	ms_print --threshold=0.5 "$BENCH_DIR/massif.out" >"$BENCH_DIR/massif.txt"
	# The peak snapshot's allocation sites, one line each.
	awk 'match($0, /[0-9]+ \(peak\)/) { peak = substr($0, RSTART) + 0 }
		/^ +[0-9]+ +[0-9,]+ +[0-9,]+ / { on = ($1 + 0 == peak) }
		on && /^( +[0-9]|->|\| ->)/' "$BENCH_DIR/massif.txt"
	log "whole report: $BENCH_DIR/massif.txt"
	;;
esac
