#!/bin/bash
# Builds edgeguard out of tree and runs its test suite; prints the Check
# summaries (automake keeps them in tests/*/*.log) and one closing line.
#
#   tests/run.sh              -Werror build, make check-format, make check
#                             (the README command)
#   tests/run.sh sanitizers   make check under ASan+UBSan
#   tests/run.sh distcheck    make distcheck (tarball builds and tests itself)
#   tests/run.sh fuzz         libFuzzer targets, a short run each (clang)
set -euo pipefail
mode=${1:-werror}
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

case "$mode" in
werror) flags=(--enable-werror) ;;
sanitizers) flags=(--enable-werror --enable-sanitizers) ;;
distcheck) flags=() ;;
fuzz) flags=(--enable-fuzzing --enable-sanitizers CC=clang) ;;
*) echo "usage: tests/run.sh [werror|sanitizers|distcheck|fuzz]" >&2; exit 2 ;;
esac

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	[ -n "$(find . -name local.mk -newer configure -print -quit)" ] ||
	[ Makefile.am -nt configure ]; then
	./autogen.sh >/dev/null
fi
build="$top/build/$mode"
mkdir -p "$build"
cd "$build"
"$top/configure" -q "${flags[@]}"
make -j"$jobs" >/dev/null

if [ "$mode" = sanitizers ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}
fi

status=0
# The formatting gate (STYLE point 1) counts as one more check in werror.
format_pass=0 format_fail=0
if [ "$mode" = werror ]; then
	if make check-format; then
		format_pass=1
	else
		format_fail=1
		status=1
	fi
fi
case "$mode" in
distcheck)
	make -j"$jobs" distcheck >distcheck.log 2>&1 || status=$?
	tail -n 5 distcheck.log
	[ "$status" -eq 0 ] && echo "distcheck: 1 passed, 0 failed" ||
		echo "distcheck: 0 passed, 1 failed"
	exit "$status"
	;;
fuzz)
	make -j"$jobs" fuzz-smoke || status=$?
	exit "$status"
	;;
esac

# Logs of suites that no longer exist (a renamed test) must not count.
rm -f tests/*/*.log tests/*/*.trs
make -j"$jobs" check || status=$?
# Check prints "100%: Checks: N, Failures: N, Errors: N" per suite.
for log in tests/unit/*.log; do
	[ -f "$log" ] || continue
	printf '%-36s %s\n' "$(basename "$log" .log)" "$(grep -E '^[0-9]+%: Checks:' "$log" | tail -n 1)"
done
for trs in tests/*/*.trs; do
	if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		echo "---- ${trs%.trs}.log"
		tail -n 60 "${trs%.trs}.log"
	fi
done
# grep -c exits 1 when it counts nothing: not an error here.
results=$(cat tests/*/*.trs 2>/dev/null)
pass=$(grep -c '^:test-result: PASS' <<<"$results" || true)
fail=$(grep -cE '^:test-result: (FAIL|ERROR|XPASS)' <<<"$results" || true)
skip=$(grep -c '^:test-result: SKIP' <<<"$results" || true)
pass=$((pass + format_pass))
fail=$((fail + format_fail))
echo "$mode: $pass passed, $fail failed, $skip skipped"
exit "$status"
