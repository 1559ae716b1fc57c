/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "policy_config": loading the `policy` section. Every bad
 * configuration must be refused with a message naming the file, the exact
 * line and the dotted key, so an operator never hunts for a typo; good ones
 * load with relative names resolved against the file's directory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <edgeguard/edgeguard.h>

#include "policy_internal.h"
#include "test_helpers.h"
#include "testcerts.h"

#define DAY (24 * 3600)

static struct tc_cert *ca, *ca2, *other, *leaf;
static char ca_name[128], ca2_name[128], crl_name[128], other_crl_name[128],
	notpem_name[128], leaf_name[128];
static time_t crl_next_update;

/* The file name part of a path in tc_tmpdir(). */
static void base_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	snprintf(out, len, "%s", slash ? slash + 1 : path);
}

static void fixtures(void)
{
	time_t now = time(NULL);

	ca = tc_root("Policy Test CA");
	ca2 = tc_root("Second Policy CA");
	other = tc_root("Unrelated CA");
	crl_next_update = now + 7 * DAY;
	base_of(tc_write_cert(ca), ca_name, sizeof(ca_name));
	base_of(tc_write_cert(ca2), ca2_name, sizeof(ca2_name));
	base_of(tc_write_crl(ca, NULL, 0, now - 3600, crl_next_update),
		crl_name, sizeof(crl_name));
	base_of(tc_write_crl(other, NULL, 0, now - 3600, now + DAY),
		other_crl_name, sizeof(other_crl_name));
	base_of(tc_write_file("notpem.pem", "this is not a certificate\n"),
		notpem_name, sizeof(notpem_name));
	leaf = tc_client(ca, "leaf.example.net", "leaf.example.net");
	base_of(tc_write_cert(leaf), leaf_name, sizeof(leaf_name));
}

static void free_fixtures(void)
{
	tc_free(leaf);
	tc_free(other);
	tc_free(ca2);
	tc_free(ca);
}

/* `text` with @CA@, @CA2@, @CRL@, @OTHERCRL@ and @NOTPEM@ replaced by the
 * fixture files' names (relative to tc_tmpdir()). Static storage. */
static const char *expand(const char *text)
{
	static char out[8192];
	static const struct {
		const char *token;
		const char *value;
	} subst[] = {
		{"@CA@", ca_name},	   {"@CA2@", ca2_name},
		{"@CRL@", crl_name},	   {"@OTHERCRL@", other_crl_name},
		{"@NOTPEM@", notpem_name}, {"@LEAF@", leaf_name},
	};
	size_t o = 0;

	while (*text != '\0') {
		bool done = false;

		for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++) {
			size_t tl = strlen(subst[i].token);
			size_t vl = strlen(subst[i].value);

			if (strncmp(text, subst[i].token, tl) != 0)
				continue;
			ck_assert_uint_lt(o + vl, sizeof(out));
			memcpy(out + o, subst[i].value, vl);
			o += vl;
			text += tl;
			done = true;
			break;
		}
		if (!done) {
			ck_assert_uint_lt(o + 1, sizeof(out));
			out[o++] = *text++;
		}
	}
	out[o] = '\0';
	return out;
}

/* Writes the expanded text as `name` in tc_tmpdir(); returns its path. */
static const char *write_conf(const char *name, const char *text)
{
	return tc_write_file(name, expand(text));
}

/* Loads from "/" so a relative name can only resolve against the
 * configuration file's directory, never the working directory. */
static int load(const char *path, struct eg_policy **p, char *err,
		size_t errlen)
{
	ck_assert_int_eq(chdir("/"), 0);
	return eg_policy_load_file(path, p, err, errlen);
}

static struct eg_policy *load_ok(const char *name, const char *text)
{
	const char *path = write_conf(name, text);
	struct eg_policy *p = NULL;
	char err[1024] = "";
	int ret = load(path, &p, err, sizeof(err));

	ck_assert_msg(ret == 0, "%s: %s (%d)", name, err, ret);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* ------------------------------------------------------------------ */

#define TRUST "  trust = { ca_files = [ \"@CA@\" ]; };\n"
/* A policy group with the trust every row needs around `body`. */
#define POLICY(body) "policy = {\n" TRUST body "};\n"
#define RULES(rules) POLICY("  rules = (\n" rules "  );\n")

struct bad_row {
	const char *text;
	int ret;
	int line;	 /* 0: no line in the message */
	const char *key; /* dotted key; NULL: none (syntax errors) */
	const char *msg; /* substring of what is wrong */
};

static const struct bad_row bad_rows[] = {
	/* 0 */
	{POLICY("  default = { allow_any = = true; };\n"), EG_E_CONFIG, 3, NULL,
	 "syntax error"},
	{"verifier = { workers = 2; };\n", EG_E_CONFIG, 0, NULL, "no `policy"},
	{"policy = 5;\n", EG_E_CONFIG, 1, "policy", "expected a group"},
	{POLICY("  default = {\n"
		"    allwo = { dns = [ \"a.example.com\" ]; };\n"
		"  };\n"),
	 EG_E_CONFIG, 4, "policy.default.allwo", "unknown key"},
	{POLICY("  trsut = { };\n"
		"  default = { allow_any = true; };\n"),
	 EG_E_CONFIG, 3, "policy.trsut", "unknown key"},
	/* 5 */
	{POLICY("  default = { allow = { dns = \"a.example.com\"; }; };\n"),
	 EG_E_CONFIG, 3, "policy.default.allow.dns",
	 "expected a list: write [ \"a.example.com\" ]"},
	{"policy = {\n"
	 "  trust = { ca_files = \"@CA@\"; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 2, "policy.trust.ca_files", "expected a list"},
	{POLICY("  default = { allow = { dns = [ 5 ]; }; };\n"), EG_E_CONFIG, 3,
	 "policy.default.allow.dns.[0]", "expected a string"},
	{RULES("    { name = \"a\"; hosts = [ \"a.example.com\" ];"
	       " allow_any = true; },\n"
	       "    { name = \"b\"; hosts = [ \"b.example.com\" ];\n"
	       "      allow = { dns = [ \"ok.example.com\",\n"
	       "                        \"a*.example.com\" ]; }; }\n"),
	 EG_E_CONFIG, 7, "policy.rules.[1].allow.dns.[1]", "wildcard"},
	{POLICY("  default = { allow = {"
		" uri = [ \"spiffe://example.net/*/x\" ]; }; };\n"),
	 EG_E_CONFIG, 3, "policy.default.allow.uri.[0]", "'*'"},
	/* 10 */
	{POLICY("  default = { allow = {"
		" ip = [ \"10.0.0.0/8\", \"10.0.0.1/8\" ]; }; };\n"),
	 EG_E_CONFIG, 3, "policy.default.allow.ip.[1]", "host bits"},
	{POLICY("  default = { allow = { sha256 = [ \"abcd\" ]; }; };\n"),
	 EG_E_CONFIG, 3, "policy.default.allow.sha256.[0]", "SHA-256"},
	{POLICY("  default = {\n"
		"    allow = { spki_sha256 = [ \"00:11\" ]; };\n"
		"  };\n"),
	 EG_E_CONFIG, 4, "policy.default.allow.spki_sha256.[0]", "SHA-256"},
	{POLICY("  default = { allow = { email = [ \"nobody\" ]; }; };\n"),
	 EG_E_CONFIG, 3, "policy.default.allow.email.[0]", "local@domain"},
	{"policy = {\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 1, "policy", "missing trust"},
	/* 15 */
	{"policy = {\n"
	 "  trust = { };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 2, "policy.trust", "ca_files"},
	{"policy = {\n"
	 "  trust = { ca_files = [ ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 2, "policy.trust.ca_files", "at least one CA"},
	{"policy = {\n"
	 "  trust = 1;\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 2, "policy.trust", "expected a group"},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\",\n"
	 "                        \"missing.pem\" ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 3, "policy.trust.ca_files.[1]", "cannot read"},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@NOTPEM@\" ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 2, "policy.trust.ca_files.[0]",
	 "holds no PEM certificate"},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\", \"@LEAF@\" ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 2, "policy.trust.ca_files.[1]", "is not a CA"},
	/* 20 */
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\" ];\n"
	 "            crl_files = [ \"@CRL@\", \"@OTHERCRL@\" ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 3, "policy.trust.crl_files.[1]",
	 "not signed by a CA of trust.ca_files"},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\" ];\n"
	 "            crl_files = [ \"@NOTPEM@\" ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 3, "policy.trust.crl_files.[0]", "holds no CRL"},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\" ];\n"
	 "            crl_expired = \"ignore\"; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 3, "policy.trust.crl_expired",
	 "expected \"reject\" or \"grace\""},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\" ];\n"
	 "            crl_expired = true; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 3, "policy.trust.crl_expired", "expected a string"},
	{"policy = {\n"
	 "  trust = { ca_files = [ \"@CA@\" ];\n"
	 "            crl_file = [ \"@CRL@\" ]; };\n"
	 "  default = { allow_any = true; };\n"
	 "};\n",
	 EG_E_CONFIG, 3, "policy.trust.crl_file", "unknown key"},
	/* 25 */
	{RULES("    { name = \"a\"; paths = [ \"/a\" ]; allow_any = true;\n"
	       "      mode = \"audit\"; }\n"),
	 EG_E_CONFIG, 5, "policy.rules.[0].mode",
	 "expected \"enforce\" or \"log-only\""},
	{RULES("    { paths = [ \"/a\" ]; allow_any = true; }\n"), EG_E_CONFIG,
	 4, "policy.rules.[0]", "needs a name"},
	{RULES("    { name = \"\"; paths = [ \"/a\" ]; allow_any = true; }\n"),
	 EG_E_CONFIG, 4, "policy.rules.[0].name", "must not be empty"},
	{RULES("    { name = \"a\"; allow_any = true; }\n"), EG_E_CONFIG, 4,
	 "policy.rules.[0]", "matches every request"},
	{RULES("    { name = \"a\"; paths = [ \"/a\" ]; }\n"), EG_E_CONFIG, 4,
	 "policy.rules.[0]", "admits nobody"},
	/* 30 */
	{RULES("    { name = \"a\"; paths = [ \"/a\" ]; allow = { }; }\n"),
	 EG_E_CONFIG, 4, "policy.rules.[0]", "admits nobody"},
	{POLICY("  default = { mode = \"log-only\"; };\n"), EG_E_CONFIG, 3,
	 "policy.default", "admits nobody"},
	{POLICY("  default = { allow_any = true;\n"
		"              allow = { cn = [ \"edge\" ]; }; };\n"),
	 EG_E_CONFIG, 4, "policy.default.allow", "contradicts"},
	{POLICY("  default = { allow_any = \"yes\"; };\n"), EG_E_CONFIG, 3,
	 "policy.default.allow_any", "true or false"},
	{RULES("    { name = \"a\"; paths = [ \"/a\" ]; allow_any = true; },\n"
	       "    { name = \"a\"; paths = [ \"/b\" ]; allow_any = true; }\n"),
	 EG_E_CONFIG, 5, "policy.rules.[1]", "duplicate rule name \"a\""},
	/* 35 */
	{POLICY("  default = { allow_any = true;\n"
		"              hosts = [ \"a.example.com\" ]; };\n"),
	 EG_E_CONFIG, 4, "policy.default.hosts", "every request"},
	{POLICY("  default = { allow_any = true;\n"
		"              paths = [ \"/admin\" ]; };\n"),
	 EG_E_CONFIG, 4, "policy.default.paths", "every request"},
	{POLICY("  require_client_auth_eku = \"yes\";\n"
		"  default = { allow_any = true; };\n"),
	 EG_E_CONFIG, 3, "policy.require_client_auth_eku", "true or false"},
	{RULES("    { name = \"a\"; hosts = [ \"ok.example.com\",\n"
	       "                            \"exa mple.com\" ];"
	       " allow_any = true; }\n"),
	 EG_E_CONFIG, 5, "policy.rules.[0].hosts.[1]", "not a host name"},
	{RULES("    { name = \"a\"; paths = [ \"admin\" ];"
	       " allow_any = true; }\n"),
	 EG_E_CONFIG, 4, "policy.rules.[0].paths.[0]", "path prefix"},
	/* 40 */
	{RULES("    { name = \"a\"; paths = [ \"/adm*\" ];"
	       " allow_any = true; }\n"),
	 EG_E_CONFIG, 4, "policy.rules.[0].paths.[0]", "path prefix"},
	{RULES("    { name = \"a\"; paths = [ \"/a%zz\" ];"
	       " allow_any = true; }\n"),
	 EG_E_CONFIG, 4, "policy.rules.[0].paths.[0]", "normalised"},
	{POLICY("  rules = { };\n"), EG_E_CONFIG, 3, "policy.rules",
	 "expected a list"},
	{POLICY("  rules = ( \"a\" );\n"), EG_E_CONFIG, 3, "policy.rules.[0]",
	 "expected a group"},
	{POLICY("  default = { allow = [ \"edge\" ]; };\n"), EG_E_CONFIG, 3,
	 "policy.default.allow", "expected a group"},
	/* 45 */
	{POLICY("  default = { allow = { dsn = [ \"a.example.com\" ]; }; };\n"),
	 EG_E_CONFIG, 3, "policy.default.allow.dsn", "unknown key"},
	{RULES("    { name = \"a\"; path = [ \"/a\" ]; allow_any = true; }\n"),
	 EG_E_CONFIG, 4, "policy.rules.[0].path", "unknown key"},
	{POLICY("  default = { allow = { cn = [ \"\" ]; }; };\n"), EG_E_CONFIG,
	 3, "policy.default.allow.cn.[0]", "must not be empty"},
};

#define N_BAD (sizeof(bad_rows) / sizeof(bad_rows[0]))

static void check_error(const char *path, const char *err, int line,
			const char *key, const char *msg, int row)
{
	char want[1024];

	if (line == 0)
		snprintf(want, sizeof(want), "%s: ", path);
	else if (key == NULL)
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	else
		snprintf(want, sizeof(want), "%s:%d: %s: ", path, line, key);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "row %d: message \"%s\" does not start with \"%s\"", row,
		      err, want);
	ck_assert_msg(strstr(err + strlen(want), msg) != NULL,
		      "row %d: message \"%s\" does not say \"%s\"", row, err,
		      msg);
}

START_TEST(test_bad_config)
{
	const struct bad_row *r = &bad_rows[_i];
	char name[32];
	const char *path;
	struct eg_policy *p = (struct eg_policy *)&p;
	char err[1024] = "";
	int ret;

	snprintf(name, sizeof(name), "bad-%02d.conf", _i);
	path = write_conf(name, r->text);
	ret = load(path, &p, err, sizeof(err));
	ck_assert_msg(ret == r->ret, "row %d: returned %d (%s), want %d", _i,
		      ret, err, r->ret);
	ck_assert_ptr_null(p);
	check_error(path, err, r->line, r->key, r->msg, _i);
}
END_TEST

/* The same rows through eg_policy_load_string(): `name` stands for the
 * file in every message. */
START_TEST(test_bad_config_string)
{
	const struct bad_row *r = &bad_rows[_i];
	struct eg_policy *p = (struct eg_policy *)&p;
	char err[1024] = "";
	int ret;

	ret = eg_policy_load_string(expand(r->text), "inline.conf", tc_tmpdir(),
				    &p, err, sizeof(err));
	ck_assert_msg(ret == r->ret, "row %d: returned %d (%s), want %d", _i,
		      ret, err, r->ret);
	ck_assert_ptr_null(p);
	check_error("inline.conf", err, r->line, r->key, r->msg, _i);
}
END_TEST

START_TEST(test_missing_file)
{
	char path[4096];
	struct eg_policy *p = (struct eg_policy *)&p;
	char err[1024] = "";

	snprintf(path, sizeof(path), "%s/no-such.conf", tc_tmpdir());
	ck_assert_int_eq(load(path, &p, err, sizeof(err)), EG_E_IO);
	ck_assert_ptr_null(p);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
		      "message \"%s\" does not name %s", err, path);
}
END_TEST

/* However small the caller's buffer, the message is terminated in it. */
START_TEST(test_small_error_buffer)
{
	const char *path = write_conf("small-err.conf", bad_rows[3].text);
	struct eg_policy *p = NULL;
	char err[16];

	for (size_t len = 1; len <= sizeof(err); len++) {
		memset(err, 'Z', sizeof(err));
		ck_assert_int_eq(load(path, &p, err, len), EG_E_CONFIG);
		ck_assert_msg(memchr(err, '\0', len) != NULL,
			      "errlen %zu: not terminated", len);
		for (size_t i = len; i < sizeof(err); i++)
			ck_assert_int_eq(err[i], 'Z');
	}
}
END_TEST

/* An error inside an @include names the included file (as the @include
 * line wrote it: that is what libconfig records) and its own line. */
START_TEST(test_include_error)
{
	const char *path;
	struct eg_policy *p = NULL;
	char err[1024] = "";
	const char *want = "trust-bad.inc:3: policy.trust.crl_expired: ";

	write_conf("trust-bad.inc", "# trust, included\n"
				    "trust = { ca_files = [ \"@CA@\" ];\n"
				    "          crl_expired = \"never\"; };\n");
	path = write_conf("include-bad.conf",
			  "policy = {\n"
			  "  @include \"trust-bad.inc\"\n"
			  "  default = { allow_any = true; };\n"
			  "};\n");
	ck_assert_int_eq(load(path, &p, err, sizeof(err)), EG_E_CONFIG);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "message \"%s\" does not start with \"%s\"", err, want);
}
END_TEST

/* ------------------------------------------------------------------ */

static char *tmp_path(const char *name)
{
	static char buf[4][4096];
	static unsigned next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tc_tmpdir(), name);
	return p;
}

START_TEST(test_relative_names_and_trust_items)
{
	struct eg_policy *p = load_ok(
		"relative.conf", "policy = {\n"
				 "  trust = { ca_files = [ \"@CA@\" ];\n"
				 "            crl_files = [ \"@CRL@\" ];\n"
				 "            crl_expired = \"grace\"; };\n"
				 "  default = { allow_any = true; };\n"
				 "};\n");
	const struct eg_trust_item *items;
	size_t n = 99;

	items = eg_policy_trust_items(p, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(items[0].kind, EG_TRUST_CA);
	ck_assert_str_eq(items[0].file, tmp_path(ca_name));
	ck_assert_str_eq(items[0].subject, "CN=Policy Test CA");
	ck_assert_int_eq(
		(long long)items[0].expires,
		(long long)gnutls_x509_crt_get_expiration_time(ca->crt));
	ck_assert_int_eq(items[1].kind, EG_TRUST_CRL);
	ck_assert_str_eq(items[1].file, tmp_path(crl_name));
	ck_assert_str_eq(items[1].subject, "CN=Policy Test CA");
	ck_assert_int_eq((long long)items[1].expires,
			 (long long)crl_next_update);
	eg_policy_unref(p);
}
END_TEST

/* A bundle file with several CAs lists each of them. */
START_TEST(test_bundle_items)
{
	char text[16384];
	gnutls_datum_t a, b;
	const struct eg_trust_item *items;
	const char *bundle;
	struct eg_policy *p;
	size_t n = 0;

	ck_assert_int_eq(gnutls_load_file(tmp_path(ca_name), &a), 0);
	ck_assert_int_eq(gnutls_load_file(tmp_path(ca2_name), &b), 0);
	snprintf(text, sizeof(text), "%.*s%.*s", (int)a.size, a.data,
		 (int)b.size, b.data);
	gnutls_free(a.data);
	gnutls_free(b.data);
	bundle = tc_write_file("bundle.pem", text);
	p = load_ok("bundle.conf",
		    "policy = {\n"
		    "  trust = { ca_files = [ \"bundle.pem\" ]; };\n"
		    "  default = { allow_any = true; };\n"
		    "};\n");
	items = eg_policy_trust_items(p, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(items[0].file, bundle);
	ck_assert_str_eq(items[1].file, bundle);
	ck_assert_str_eq(items[0].subject, "CN=Policy Test CA");
	ck_assert_str_eq(items[1].subject, "CN=Second Policy CA");
	ck_assert_int_eq(items[0].kind, EG_TRUST_CA);
	ck_assert_int_eq(items[1].kind, EG_TRUST_CA);
	eg_policy_unref(p);
}
END_TEST

/* A configuration named relative to the working directory resolves its
 * CA files against that same directory. */
START_TEST(test_relative_config_path)
{
	struct eg_policy *p = NULL;
	char err[1024] = "";

	write_conf("cwd.conf",
		   "policy = {\n" TRUST "  default = { allow_any = true; };\n"
		   "};\n");
	ck_assert_int_eq(chdir(tc_tmpdir()), 0);
	ck_assert_msg(eg_policy_load_file("cwd.conf", &p, err, sizeof(err)) ==
			      0,
		      "%s", err);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_include)
{
	struct eg_policy *p;
	const struct eg_trust_item *items;
	size_t n = 0;

	write_conf("trust.inc", "trust = { ca_files = [ \"@CA@\" ]; };\n");
	p = load_ok("include.conf", "# other daemons' groups are ignored\n"
				    "verifier = { listen = \"x\"; };\n"
				    "policy = {\n"
				    "  @include \"trust.inc\"\n"
				    "  default = { allow_any = true; };\n"
				    "};\n");
	items = eg_policy_trust_items(p, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(items[0].file, tmp_path(ca_name));
	eg_policy_unref(p);
}
END_TEST

/* What a complete policy compiles to. */
START_TEST(test_full_policy)
{
	struct eg_policy *p = load_ok(
		"full.conf",
		"policy = {\n" TRUST "  require_client_auth_eku = false;\n"
		"  default = {\n"
		"    name = \"edge-default\";\n"
		"    allow = { dns = [ \"*.Edge.Example.NET.\" ];\n"
		"              uri = [ \"spiffe://example.net/edge/*\" ];\n"
		"              ip = [ \"192.0.2.0/24\", \"2001:db8::/32\" ];\n"
		"              email = [ \"ops@example.net\" ];\n"
		"              cn = [ \"edge\" ]; o = [ \"Example, Inc.\" ];\n"
		"              ou = [ \"Edge\" ];\n"
		"              sha256 = [ \"00112233445566778899aabbccddeeff"
		"00112233445566778899AABBCCDDEEFF\" ]; };\n"
		"  };\n"
		"  rules = (\n"
		"    { name = \"admin\"; hosts = [ \"Admin.Example.COM:443\", "
		"\"*.example.org\" ];\n"
		"      paths = [ \"/admin/\", \"/x/../ops\" ];\n"
		"      allow = { cn = [ \"root\" ]; }; },\n"
		"    { name = \"shadow\"; paths = [ \"/\" ]; mode = "
		"\"log-only\";\n"
		"      allow_any = true;\n"
		"      allow = { spki_sha256 = [ "
		"\"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
		"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\" ]; }; }\n"
		"  );\n"
		"};\n");

	ck_assert(!p->require_client_auth_eku);
	ck_assert_str_eq(p->default_rule.name, "edge-default");
	ck_assert_int_eq(p->default_rule.mode, EG_MODE_ENFORCE);
	ck_assert(!p->default_rule.allow_any);
	ck_assert_uint_eq(p->default_rule.nallow, 8);
	ck_assert_uint_eq(p->default_rule.npins, 1);
	ck_assert_int_eq(p->default_rule.pins[0].field, EG_FIELD_SHA256);
	/* Patterns are kept grouped by field, in enum eg_field order. */
	{
		static const enum eg_field order[] = {
			EG_FIELD_CN,  EG_FIELD_O,  EG_FIELD_OU, EG_FIELD_DNS,
			EG_FIELD_URI, EG_FIELD_IP, EG_FIELD_IP, EG_FIELD_EMAIL,
		};

		for (size_t i = 0; i < 8; i++)
			ck_assert_int_eq(p->default_rule.allow[i].field,
					 order[i]);
	}
	ck_assert_str_eq(p->default_rule.allow[1].value, "Example, Inc.");
	ck_assert_str_eq(p->default_rule.allow[3].value, "edge.example.net");
	ck_assert(p->default_rule.allow[3].wildcard);
	ck_assert_str_eq(p->default_rule.allow[3].display,
			 "dns:*.Edge.Example.NET.");
	ck_assert_uint_eq(p->default_rule.allow[6].prefix_bits, 32);
	ck_assert_uint_eq(p->default_rule.nhosts, 0);
	ck_assert_uint_eq(p->default_rule.npaths, 0);

	ck_assert_uint_eq(p->nrules, 2);
	ck_assert_str_eq(p->rules[0].name, "admin");
	ck_assert_uint_eq(p->rules[0].nhosts, 2);
	ck_assert_str_eq(p->rules[0].hosts[0], "admin.example.com");
	ck_assert_str_eq(p->rules[0].hosts[1], "*.example.org");
	ck_assert_uint_eq(p->rules[0].npaths, 2);
	ck_assert_str_eq(p->rules[0].paths[0], "/admin");
	ck_assert_str_eq(p->rules[0].paths[1], "/ops");
	ck_assert_uint_eq(p->rules[0].nallow, 1);
	ck_assert_str_eq(p->rules[1].name, "shadow");
	ck_assert_int_eq(p->rules[1].mode, EG_MODE_LOG_ONLY);
	ck_assert(p->rules[1].allow_any);
	ck_assert_uint_eq(p->rules[1].nallow, 0);
	ck_assert_uint_eq(p->rules[1].npins, 1);
	ck_assert_str_eq(p->rules[1].paths[0], "/");
	ck_assert(eg_policy_varies_by_request(p));
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_defaults)
{
	struct eg_policy *p =
		load_ok("defaults.conf", "policy = {\n" TRUST
					 "  default = { allow_any = true; };\n"
					 "};\n");

	ck_assert(p->require_client_auth_eku);
	ck_assert_str_eq(p->default_rule.name, "default");
	ck_assert_int_eq(p->default_rule.mode, EG_MODE_ENFORCE);
	ck_assert_uint_eq(p->nrules, 0);
	ck_assert(!eg_policy_varies_by_request(p));
	eg_policy_unref(p);

	/* Without a default, requests no rule selects are refused: the
	 * default rule admits nobody. */
	p = load_ok("no-default.conf",
		    "policy = {\n" TRUST "  rules = (\n"
		    "    { name = \"a\"; paths = [ \"/a\" ]; allow_any = true; "
		    "}\n"
		    "  );\n"
		    "};\n");
	ck_assert(!p->default_rule.allow_any);
	ck_assert_uint_eq(p->default_rule.nallow, 0);
	ck_assert_uint_eq(p->default_rule.npins, 0);
	ck_assert(eg_policy_varies_by_request(p));
	eg_policy_unref(p);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_ref_unref)
{
	const char *path =
		write_conf("refs.conf", "policy = {\n" TRUST
					"  default = { allow_any = true; };\n"
					"};\n");
	struct eg_policy *p = NULL;
	char err[512] = "";

	tu_fail_alloc_at(0);
	ck_assert_msg(load(path, &p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_gt(tu_live_blocks, 0);
	ck_assert_ptr_eq(eg_policy_ref(p), p);
	ck_assert_ptr_eq(eg_policy_ref(p), p);
	eg_policy_unref(p);
	eg_policy_unref(p);
	ck_assert_int_gt(tu_live_blocks, 0);
	/* The items stay readable while a reference is held. */
	ck_assert_str_eq(eg_policy_trust_items(p, &(size_t){0})[0].subject,
			 "CN=Policy Test CA");
	eg_policy_unref(p);
	ck_assert_int_eq(tu_live_blocks, 0);
	eg_policy_unref(NULL);
	eg_set_allocator(NULL, NULL, NULL);
}
END_TEST

/* Every allocation of a complete load fails once in turn: EG_E_NOMEM,
 * no policy, nothing left allocated. */
START_TEST(test_out_of_memory)
{
	const char *path = write_conf(
		"oom.conf",
		"policy = {\n"
		"  trust = { ca_files = [ \"@CA@\", \"@CA2@\" ];\n"
		"            crl_files = [ \"@CRL@\" ]; };\n"
		"  default = { allow = { dns = [ \"*.example.net\" ];\n"
		"                        uri = [ \"spiffe://example.net/e/*\" "
		"];\n"
		"                        email = [ \"a@example.net\" ];\n"
		"                        cn = [ \"edge\" ]; }; };\n"
		"  rules = (\n"
		"    { name = \"a\"; hosts = [ \"a.example.com\" ];\n"
		"      paths = [ \"/a\" ]; allow_any = true; },\n"
		"    { name = \"b\"; paths = [ \"/b\" ];\n"
		"      allow = { ip = [ \"10.0.0.0/8\" ]; }; }\n"
		"  );\n"
		"};\n");
	struct eg_policy *p;
	char err[512];
	unsigned long n;
	int ret = EG_E_NOMEM;

	for (n = 1; n < 2000 && ret == EG_E_NOMEM; n++) {
		tu_fail_alloc_at(n);
		p = (struct eg_policy *)&p;
		err[0] = '\0';
		ret = load(path, &p, err, sizeof(err));
		if (ret == EG_E_NOMEM) {
			ck_assert_ptr_null(p);
			ck_assert_msg(tu_live_blocks == 0,
				      "allocation %lu failed: %ld blocks leak",
				      n, tu_live_blocks);
			continue;
		}
		ck_assert_msg(ret == 0, "allocation %lu failed: %d (%s)", n,
			      ret, err);
		ck_assert_uint_lt(tu_alloc_calls, n);
		eg_policy_unref(p);
		ck_assert_int_eq(tu_live_blocks, 0);
	}
	eg_set_allocator(NULL, NULL, NULL);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_gt(n, 20);
}
END_TEST

static Suite *policy_config_suite(void)
{
	Suite *s = suite_create("policy_config");
	TCase *tc = tcase_create("errors");

	tcase_add_unchecked_fixture(tc, fixtures, free_fixtures);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bad_config, 0, (int)N_BAD);
	tcase_add_loop_test(tc, test_bad_config_string, 0, (int)N_BAD);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_small_error_buffer);
	tcase_add_test(tc, test_include_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("loads");
	tcase_add_unchecked_fixture(tc, fixtures, free_fixtures);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_relative_names_and_trust_items);
	tcase_add_test(tc, test_bundle_items);
	tcase_add_test(tc, test_relative_config_path);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_full_policy);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_ref_unref);
	tcase_add_test(tc, test_out_of_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(policy_config_suite());
}
