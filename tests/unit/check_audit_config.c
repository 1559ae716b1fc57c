/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "audit_config": the `audit` group of a configuration file,
 * its defaults, every key, errors naming file, line and key, and out of
 * memory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <edgeguard/edgeguard.h>

#include "audit_helpers.h"
#include "test_helpers.h"
#include "testcerts.h"

static int load_config(const char *text, struct eg_audit_config **out,
		       char *err, size_t errlen, const char **path)
{
	*path = tc_write_file("audit.conf", text);
	return eg_audit_config_load(*path, out, err, errlen);
}

START_TEST(test_config_defaults)
{
	struct eg_audit_config *c;
	const char *path;
	char err[512];

	ck_assert_int_eq(
		load_config("policy = { };\n", &c, err, sizeof(err), &path), 0);
	ck_assert_ptr_null(c->file);
	ck_assert(!c->syslog && !c->journald && !c->admits);
	ck_assert_uint_eq(c->aggregate_window_ms, 1000);
	ck_assert_uint_eq(c->aggregate_max_keys, 4096);
	ck_assert_uint_eq(c->path_max, 256);
	eg_audit_config_free(c);
	ck_assert_int_eq(
		load_config("audit = { };\n", &c, err, sizeof(err), &path), 0);
	ck_assert_uint_eq(c->aggregate_window_ms, 1000);
	eg_audit_config_free(c);
	eg_audit_config_free(NULL);
}
END_TEST

START_TEST(test_config_every_key)
{
	struct eg_audit_config *c;
	const char *path;
	char err[512];
	char want[4096];

	ck_assert_int_eq(load_config("audit = {\n"
				     "  file = \"log/audit.jsonl\";\n"
				     "  syslog = true;\n"
				     "  journald = true;\n"
				     "  admits = true;\n"
				     "  aggregate_window_ms = 0;\n"
				     "  aggregate_max_keys = 1000000;\n"
				     "  path_max = 65536;\n"
				     "};\n",
				     &c, err, sizeof(err), &path),
			 0);
	snprintf(want, sizeof(want), "%s/log/audit.jsonl", tc_tmpdir());
	ck_assert_str_eq(c->file, want);
	ck_assert(c->syslog && c->journald && c->admits);
	ck_assert_uint_eq(c->aggregate_window_ms, 0);
	ck_assert_uint_eq(c->aggregate_max_keys, 1000000);
	ck_assert_uint_eq(c->path_max, 65536);
	eg_audit_config_free(c);
	ck_assert_int_eq(load_config("audit = { file = \"/var/log/a.jsonl\"; "
				     "aggregate_window_ms = 3600000; };\n",
				     &c, err, sizeof(err), &path),
			 0);
	ck_assert_str_eq(c->file, "/var/log/a.jsonl");
	ck_assert_uint_eq(c->aggregate_window_ms, 3600000);
	eg_audit_config_free(c);
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *text;
		const char *key;  /* expected "audit.<key>" in the message */
		const char *line; /* expected ":<line>:" */
	} t[] = {
		{"audit = {\n  file = \"a\";\n  bogus = 1;\n};\n",
		 "audit.bogus", ":3:"},
		{"audit = {\n  syslog = \"yes\";\n};\n", "audit.syslog", ":2:"},
		{"audit = {\n\n  journald = 1;\n};\n", "audit.journald", ":3:"},
		{"audit = {\n  admits = \"no\";\n};\n", "audit.admits", ":2:"},
		{"audit = {\n  aggregate_window_ms = 3600001;\n};\n",
		 "audit.aggregate_window_ms", ":2:"},
		{"audit = {\n  aggregate_window_ms = -1;\n};\n",
		 "audit.aggregate_window_ms", ":2:"},
		{"audit = {\n  aggregate_window_ms = 1.5;\n};\n",
		 "audit.aggregate_window_ms", ":2:"},
		{"audit = {\n  aggregate_max_keys = 0;\n};\n",
		 "audit.aggregate_max_keys", ":2:"},
		{"audit = {\n  aggregate_max_keys = 1000001;\n};\n",
		 "audit.aggregate_max_keys", ":2:"},
		{"audit = {\n  path_max = 65537;\n};\n", "audit.path_max",
		 ":2:"},
		{"audit = {\n  path_max = \"256\";\n};\n", "audit.path_max",
		 ":2:"},
		{"audit = {\n  file = 5;\n};\n", "audit.file", ":2:"},
		{"audit = {\n  file = \"\";\n};\n", "audit.file", ":2:"},
		{"\naudit = 5;\n", "audit", ":2:"},
		{"\naudit = ( 1 );\n", "audit", ":2:"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct eg_audit_config *c = (void *)1;
		const char *path;
		char err[512];
		int rc = load_config(t[i].text, &c, err, sizeof(err), &path);

		ck_assert_msg(rc == EG_E_CONFIG, "case %zu: rc %d", i, rc);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err, path) == err, "no file: %s", err);
		ck_assert_msg(strstr(err, t[i].key) != NULL, "no key: %s", err);
		ck_assert_msg(strstr(err, t[i].line) != NULL, "no line: %s",
			      err);
	}
}
END_TEST

START_TEST(test_config_unreadable)
{
	struct eg_audit_config *c;
	const char *path;
	char err[512];

	ck_assert_int_eq(load_config("audit = { file = \"x\"\n", &c, err,
				     sizeof(err), &path),
			 EG_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "syntax error"));
	ck_assert_int_eq(eg_audit_config_load(at_tmp_file("missing.conf"), &c,
					      err, sizeof(err)),
			 EG_E_IO);
	ck_assert_ptr_nonnull(strstr(err, "missing.conf"));
}
END_TEST

START_TEST(test_config_out_of_memory)
{
	const char *path = tc_write_file(
		"audit.conf", "audit = { file = \"rel/audit.jsonl\"; };\n");
	struct eg_audit_config *c = NULL;
	char err[512];
	long n;
	int rc;

	eg_set_allocator(tu_budget_malloc, tu_budget_realloc, free);
	for (n = 0; n < 1000; n++) {
		tu_alloc_budget = n;
		rc = eg_audit_config_load(path, &c, err, sizeof(err));
		tu_alloc_budget = -1;
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, EG_E_NOMEM);
		ck_assert_ptr_null(c);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(c->file, "/rel/audit.jsonl"));
	eg_audit_config_free(c);
	eg_set_allocator(NULL, NULL, NULL);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_config_defaults,	   test_config_every_key,
		test_config_errors,	   test_config_unreadable,
		test_config_out_of_memory,
	};

	return at_run("audit_config", "config", tests,
		      sizeof(tests) / sizeof(tests[0]));
}
