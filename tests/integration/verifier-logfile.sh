#!/bin/bash
# edgeguard-verifier's log_file: the diagnostic log goes to the file (a
# name relative to the configuration), not stderr; -t leaves it alone;
# SIGUSR1 after logrotate renamed it writes a new file and the old one gets
# nothing more; an unusable log_file stops the start with a clear error.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

LOGFILE="$TEST_DIR/verifier.log"
vf_pki
vf_backend
vf_config "" 'log_file = "verifier.log";'

out=$("$VERIFIER" -t -c "$CONF" 2>&1) || fail "-t: $out"
assert_contains "-t" "test is successful" "$out"
[ -e "$LOGFILE" ] && fail "-t created the log file"

# Sanitizer reports go to stderr, which is log_file now.
no_sanitizer_report() {
	! cat "$LOGFILE"* 2>/dev/null | grep -E 'Sanitizer|runtime error:' >&2 ||
		fail "sanitizer report in the verifier's log file"
}
# wait_log FILE TEXT: until FILE has a line with TEXT (5 s at most).
wait_log() {
	for _ in $(seq 1 100); do
		grep -qF "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no \"$2\" in $1: $(cat "$1" 2>/dev/null)"
}

vf_start
wait_log "$LOGFILE" "edgeguard-verifier"
assert_contains "start line in the file" "2 workers, backend $BACKEND_ADDR" "$(cat "$LOGFILE")"
grep -q "workers, backend" "$TEST_DIR/verifier.err" &&
	fail "the log still went to stderr"
code=$(vf_curl edge "https://localhost:$PORT/one")
assert_eq "served" 200 "$code"

# logrotate: rename, then SIGUSR1.
kill -HUP "$VF_PID"
wait_log "$LOGFILE" "configuration reloaded"
mv "$LOGFILE" "$LOGFILE.1"
kill -USR1 "$VF_PID"
wait_log "$LOGFILE" "log file $LOGFILE reopened"
before=$(wc -l <"$LOGFILE.1")
kill -HUP "$VF_PID"
wait_log "$LOGFILE" "configuration reloaded"
code=$(vf_curl edge "https://localhost:$PORT/two")
assert_eq "served after the reopen" 200 "$code"
assert_eq "old file untouched" "$before" "$(wc -l <"$LOGFILE.1")"

kill -TERM "$VF_PID"
wait "$VF_PID"
assert_eq "clean exit" 0 "$?"
VF_PIDS=${VF_PIDS/ $VF_PID/}
assert_contains "shutdown logged in the file" "shutting down (signal 15)" "$(cat "$LOGFILE")"
no_sanitizer_report

# A log_file that cannot be opened: the start fails and says why.
vf_config "" 'log_file = "no/such/dir/verifier.log";'
out=$("$VERIFIER" -c "$CONF" 2>&1) && fail "started with an unusable log_file"
assert_contains "unusable log_file" "log_file $TEST_DIR/no/such/dir/verifier.log: No such file or directory" "$out"

# A log_file that is not a string names file, line and key.
vf_config "" 'log_file = 5;'
out=$("$VERIFIER" -t -c "$CONF" 2>&1) && fail "-t accepted log_file = 5"
assert_contains "bad log_file" "verifier.conf:7: verifier.log_file" "$out"

exit 0
