#!/bin/bash
# edgeguard-verifier against the one table of certificate cases every
# enforcement point must decide identically (cases.tsv, run by
# plugin-lib.sh as for the nginx and Apache modules): status, 403 body and
# audit record per case, host and path rules, log-only admits audited as
# would_reject; then a flood of identical rejections folded into records
# whose counts add up exactly.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/plugin-lib.sh"
. "$top_srcdir/tests/integration/verifier-lib.sh"

eg_make_pki "$TEST_DIR/pki"
P=$EG_PKI
eg_write_policy "$P"
vf_backend
PORT=$(free_port)
ADMIN_PORT=$(free_port)
CONF="$P/verifier.conf"
eg_write_verifier_conf "$PORT" "$BACKEND_ADDR" 2 \
	"admin = { listen = \"127.0.0.1:$ADMIN_PORT\"; };"
vf_start

eg_run_cases "https://127.0.0.1:$PORT" "$P/audit.jsonl" verifier
eg_check_flood "https://127.0.0.1:$PORT" "$P/audit.jsonl" verifier 50
kill -0 "$VF_PID" || fail "verifier died"
exit 0
