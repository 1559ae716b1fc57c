/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "core_dconf": the keys both daemons read the same way. The
 * limits group fills a daemon's own struct from a table (defaults when the
 * group or a key is absent, a typo or a value out of range named with its
 * line and key), and the files of TLS credentials are watched except a
 * PKCS#11 URL.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libconfig.h>

#include "cfg.h"
#include "core/dcfg.h"
#include "core/dconf.h"
#include "test_helpers.h"

struct limits {
	unsigned handshake_timeout_ms;
	unsigned header_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned drain_timeout_ms;
	unsigned max_header_bytes;
	unsigned max_headers;
	unsigned max_connections;
	unsigned extra_ms;
};

static const struct egd_cfg_uint_key keys[] = {
	EGD_FRONT_LIMIT_KEYS(struct limits),
	EGD_CFG_UINT_KEY(struct limits, extra_ms, 7, 1, 100),
};

static const struct {
	const char *text;
	int ret;
	const char *err; /* expected in the message, or the parsed result */
	struct limits want;
} cases[] = {
	{"d = { };",
	 0,
	 NULL,
	 {10000, 10000, 60000, 10000, 16384, 100, 10000, 7}},
	{"d = { limits = { }; };",
	 0,
	 NULL,
	 {10000, 10000, 60000, 10000, 16384, 100, 10000, 7}},
	{"d = { limits = { max_headers = 8; extra_ms = 100;\n"
	 "  drain_timeout_ms = 0; }; };",
	 0,
	 NULL,
	 {10000, 10000, 60000, 0, 16384, 8, 10000, 100}},
	{"d = { limits = {\n max_header = 8; }; };", -1, ":2: d.limits.", {0}},
	{"d = { limits = {\n extra_ms = 101; }; };", -1, ":2: d.limits.", {0}},
	{"d = { limits = 3; };", -1, "expected a group", {0}},
};

START_TEST(test_uints)
{
	config_t cfg;
	struct limits got;
	char err[512] = "";
	int ret;

	memset(&got, 0xff, sizeof(got));
	config_init(&cfg);
	ck_assert_int_eq(eg_cfg_read_string(&cfg, cases[_i].text, "t.conf", err,
					    sizeof(err)),
			 0);
	ret = egd_cfg_uints(config_lookup(&cfg, "d"), "limits", keys,
			    sizeof(keys) / sizeof(keys[0]), &got, err,
			    sizeof(err));
	if (cases[_i].ret == 0) {
		ck_assert_msg(ret == 0, "%s", err);
		ck_assert_int_eq(memcmp(&got, &cases[_i].want, sizeof(got)), 0);
	} else {
		ck_assert_int_lt(ret, 0);
		ck_assert_msg(strstr(err, cases[_i].err) != NULL, "%s", err);
	}
	config_destroy(&cfg);
}
END_TEST

START_TEST(test_watch_creds)
{
	struct egd_watch w = {NULL, 0};

	ck_assert_int_eq(egd_watch_add_creds(&w, "/c.pem", "/k.pem", NULL), 0);
	ck_assert_int_eq(
		egd_watch_add_creds(&w, "/c2.pem", "pkcs11:token=x", "/ca.pem"),
		0);
	ck_assert_uint_eq(w.n, 4);
	ck_assert_str_eq(w.v[1].path, "/k.pem");
	ck_assert_str_eq(w.v[2].path, "/c2.pem");
	ck_assert_str_eq(w.v[3].path, "/ca.pem");
	egd_watch_free(&w);
}
END_TEST

static Suite *dconf_suite(void)
{
	Suite *s = suite_create("core_dconf");
	TCase *tc = tcase_create("keys");

	tcase_add_loop_test(tc, test_uints, 0,
			    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_watch_creds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(dconf_suite());
}
