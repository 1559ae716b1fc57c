/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_TESTS_AUDIT_HELPERS_H
#define EG_TESTS_AUDIT_HELPERS_H

/*
 * Fixtures shared by the audit suites (check_audit_*.c): a fixed identity
 * and event, audit logs in the test's temporary directory, JSON Lines files
 * read back, and an allocator that fails on demand. Every function aborts
 * the test (ck_assert) on failure.
 */

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <jansson.h>

#include <edgeguard/edgeguard.h>

#define TS0 1795498961123LL /* 2026-11-24T05:42:41.123Z */

#define AT_ID_SUBJECT "CN=edge-1,O=Example Edge"
#define AT_ID_ISSUER  "CN=Example Root"
#define AT_ID_DNS     "edge-1.example.net"
#define AT_ID_IP      "192.0.2.7"

/* The identity AT_ID_* describe, with one SAN of each type; static storage,
 * reset by every call. */
const struct eg_identity *at_identity(void);

/* A rejection (untrusted_issuer) of GET /index.html at ts, no identity. */
struct eg_audit_event at_event(int64_t ts);

/* name in tc_tmpdir(); the result stays valid for the next 7 calls. */
const char *at_tmp_file(const char *name);

/* An audit log writing to `file` only; close with eg_audit_log_close(). */
struct eg_audit_log *at_open_log(const char *file, unsigned window,
				 unsigned max_keys, size_t path_max);

/* Records at_event(TS0 + ms) for ms in [from, to), each returning rc. */
void at_record_run(struct eg_audit_log *log, int from, int to, int rc);

/* Every line of a JSON Lines file, parsed; the file must hold nothing else.
 * Free with at_free_recs(). */
struct at_recs {
	json_t *v[4096];
	size_t n;
	uint64_t sum; /* of `count` */
};

void at_read_recs(const char *path, struct at_recs *r);
void at_free_recs(struct at_recs *r);

/* Asserts that the JSON Lines file at `path` holds `n` records; returns the
 * sum of their counts. */
uint64_t at_expect_recs(const char *path, size_t n);

/* A record's `count`, and a string field (NULL unless a string). */
long long at_count(const json_t *o);
const char *at_str(const json_t *o, const char *key);

/* Runs `tests` as suite `suite` of one test case `tcase`; returns the process
 * exit status. */
int at_run(const char *suite, const char *tcase, const TTest *const *tests,
	   size_t n);

#endif
