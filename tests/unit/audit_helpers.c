/* SPDX-License-Identifier: Apache-2.0 */
/* Fixtures of the audit suites (see audit_helpers.h). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_helpers.h"
#include "test_helpers.h"
#include "testcerts.h"

static char id_subject[] = AT_ID_SUBJECT;
static char id_issuer[] = AT_ID_ISSUER;
static char id_dns[] = AT_ID_DNS;
static char id_uri[] = "spiffe://example.net/edge";
static char id_ip[] = AT_ID_IP;
static char id_email[] = "ops@example.net";
static struct eg_san id_san[4];
static struct eg_identity ident;

const struct eg_identity *at_identity(void)
{
	memset(&ident, 0, sizeof(ident));
	ident.subject = (struct eg_str){id_subject, strlen(id_subject)};
	ident.issuer = (struct eg_str){id_issuer, strlen(id_issuer)};
	snprintf(ident.serial, sizeof(ident.serial), "0123abcd");
	memset(ident.sha256, 'a', 64);
	id_san[0] = (struct eg_san){.type = EG_SAN_DNS,
				    .value = {id_dns, strlen(id_dns)}};
	id_san[1] = (struct eg_san){.type = EG_SAN_URI,
				    .value = {id_uri, strlen(id_uri)}};
	id_san[2] = (struct eg_san){.type = EG_SAN_IP,
				    .value = {id_ip, strlen(id_ip)}};
	id_san[3] = (struct eg_san){.type = EG_SAN_EMAIL,
				    .value = {id_email, strlen(id_email)}};
	ident.san = id_san;
	ident.san_count = 4;
	ident.not_after = 1827014400; /* 2027-11-24T00:00:00Z */
	return &ident;
}

struct eg_audit_event at_event(int64_t ts)
{
	return (struct eg_audit_event){
		.ts_ms = ts,
		.event = EG_EVENT_REJECT,
		.reason = EG_REASON_UNTRUSTED_ISSUER,
		.component = "verifier",
		.peer = "192.0.2.1:50000",
		.sni = "origin.example.com",
		.method = "GET",
		.host = "origin.example.com",
		.path = "/index.html",
		.policy = "default",
		.mode = EG_MODE_ENFORCE,
	};
}

const char *at_tmp_file(const char *name)
{
	static char buf[8][4096];
	static unsigned next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tc_tmpdir(), name);
	return p;
}

struct eg_audit_log *at_open_log(const char *file, unsigned window,
				 unsigned max_keys, size_t path_max)
{
	struct eg_audit_config cfg = {.file = (char *)file,
				      .aggregate_window_ms = window,
				      .aggregate_max_keys = max_keys,
				      .path_max = path_max};
	struct eg_audit_log *log = NULL;
	char err[512];
	int rc = eg_audit_log_open(&cfg, &log, err, sizeof(err));

	ck_assert_msg(rc == 0, "open: %d %s", rc, err);
	return log;
}

void at_record_run(struct eg_audit_log *log, int from, int to, int rc)
{
	for (int ms = from; ms < to; ms++) {
		struct eg_audit_event ev = at_event(TS0 + ms);

		ck_assert_int_eq(eg_audit_log_record(log, &ev), rc);
	}
}

void at_read_recs(const char *path, struct at_recs *r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	memset(r, 0, sizeof(*r));
	while ((n = getline(&line, &cap, f)) != -1) {
		json_error_t jerr;
		json_t *o;

		ck_assert_msg(line[n - 1] == '\n', "unterminated line");
		o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
		ck_assert_msg(json_is_object(o), "bad line %zu: %s: %.*s",
			      r->n + 1, jerr.text, (int)n, line);
		ck_assert_uint_lt(r->n, 4096);
		r->v[r->n++] = o;
		r->sum += (uint64_t)json_integer_value(
			json_object_get(o, "count"));
	}
	free(line);
	fclose(f);
}

void at_free_recs(struct at_recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->v[i]);
	r->n = 0;
}

uint64_t at_expect_recs(const char *path, size_t n)
{
	struct at_recs r;

	at_read_recs(path, &r);
	ck_assert_msg(r.n == n, "%s: %zu records, expected %zu", path, r.n, n);
	at_free_recs(&r);
	return r.sum;
}

long long at_count(const json_t *o)
{
	return json_integer_value(json_object_get(o, "count"));
}

const char *at_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int at_run(const char *suite, const char *tcase, const TTest *const *tests,
	   size_t n)
{
	Suite *s = suite_create(suite);
	TCase *tc = tcase_create(tcase);

	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
