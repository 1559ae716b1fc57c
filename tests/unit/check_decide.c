/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end decisions over real chains minted at test time: every reason
 * code of DESIGN.md is produced here by a real certificate (or by its
 * absence), through eg_peer_verify() + eg_policy_decide(), exactly as the
 * daemons and plugins call them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include <edgeguard/edgeguard.h>

#include "test_helpers.h"
#include "testcerts.h"

#define DAY (24 * 3600)

static struct tc_cert *root, *inter, *other, *expired_inter;
static struct tc_cert *good, *good_uri, *via_inter, *untrusted, *expired,
	*future, *revoked, *badsig, *no_eku, *server_only, *intruder,
	*under_expired_inter, *nul_san;
static const char *policy_file, *stale_crl_reject, *stale_crl_grace;
static time_t now;

static struct tc_cert *leaf(const struct tc_cert *issuer, const char *dns,
			    unsigned eku, time_t nb, time_t na)
{
	struct eg_pki_san san = {EG_SAN_DNS, dns, strlen(dns)};
	struct eg_pki_spec spec = {
		.cn = dns,
		.cn_len = strlen(dns),
		.san = &san,
		.san_count = 1,
		.eku = eku,
		.not_before = nb,
		.not_after = na,
	};

	return tc_issue(issuer, &spec);
}

static const char *policy_text(const char *ca, const char *ca2, const char *crl,
			       const char *crl_expired)
{
	static char text[8192];
	char sha[65];

	snprintf(sha, sizeof(sha), "%s", "");
	{
		struct eg_identity *id;

		ck_assert_int_eq(
			eg_identity_from_der(good->eg.data, good->eg.len, &id),
			0);
		snprintf(sha, sizeof(sha), "%s", id->sha256);
		eg_identity_free(id);
	}
	snprintf(
		text, sizeof(text),
		"policy = {\n"
		"  trust = { ca_files = [ \"%s\", \"%s\" ];\n"
		"            crl_files = [ \"%s\" ]; crl_expired = \"%s\"; };\n"
		"  default = { allow = { dns = [ \"*.edge.example.net\" ];\n"
		"                        uri = [ "
		"\"spiffe://example.net/edge/*\" ]; }; };\n"
		"  rules = (\n"
		"    { name = \"pinned\"; hosts = [ \"pinned.example.com\" ];\n"
		"      allow = { sha256 = [ \"%s\" ]; }; },\n"
		"    { name = \"shadow\"; paths = [ \"/shadow\" ]; mode = "
		"\"log-only\";\n"
		"      allow = { dns = [ \"nobody.example.invalid\" ]; }; },\n"
		"    { name = \"open\"; hosts = [ \"*.open.example.com\" ]; "
		"allow_any = true; }\n"
		"  );\n"
		"};\n",
		ca, ca2, crl, crl_expired, sha);
	return text;
}

static void fixtures(void)
{
	struct eg_pki_spec ispec = {
		.cn = "Edge Intermediate CA", .cn_len = 20, .is_ca = true};
	struct eg_pki_spec old_inter = {
		.cn = "Expired Intermediate CA", .cn_len = 23, .is_ca = true};
	struct eg_pki_san uri = {EG_SAN_URI, "spiffe://example.net/edge/7", 27};
	struct eg_pki_san nul = {EG_SAN_DNS, "a.edge.example.net\0.evil", 24};
	struct eg_pki_spec uspec = {.cn = "uri-only",
				    .cn_len = 8,
				    .san = &uri,
				    .san_count = 1,
				    .eku = EG_PKI_EKU_CLIENT_AUTH};
	struct eg_pki_spec nspec = {.cn = "nul",
				    .cn_len = 3,
				    .san = &nul,
				    .san_count = 1,
				    .eku = EG_PKI_EKU_CLIENT_AUTH};
	const struct tc_cert *rev[1];
	const char *ca, *ca2, *crl;
	time_t year = 365 * DAY;

	now = time(NULL);
	root = tc_root("Edge Root CA");
	other = tc_root("Somebody Else's CA");
	inter = tc_issue(root, &ispec);
	old_inter.not_before = now - 3 * year;
	old_inter.not_after = now - year;
	expired_inter = tc_issue(root, &old_inter);
	good = tc_client(root, "a.edge.example.net", "a.edge.example.net");
	good_uri = tc_issue(root, &uspec);
	via_inter =
		tc_client(inter, "b.edge.example.net", "b.edge.example.net");
	untrusted =
		tc_client(other, "a.edge.example.net", "a.edge.example.net");
	expired = leaf(root, "c.edge.example.net", EG_PKI_EKU_CLIENT_AUTH,
		       now - 2 * year, now - DAY);
	future = leaf(root, "d.edge.example.net", EG_PKI_EKU_CLIENT_AUTH,
		      now + DAY, now + year);
	revoked = tc_client(root, "e.edge.example.net", "e.edge.example.net");
	badsig = tc_corrupt_signature(good);
	no_eku = leaf(root, "f.edge.example.net", 0, 0, 0);
	server_only =
		leaf(root, "g.edge.example.net", EG_PKI_EKU_SERVER_AUTH, 0, 0);
	intruder =
		tc_client(root, "intruder.example.org", "intruder.example.org");
	under_expired_inter = tc_client(expired_inter, "h.edge.example.net",
					"h.edge.example.net");
	nul_san = tc_issue(root, &nspec);

	ca = tc_write_cert(root);
	ca2 = tc_write_cert(inter);
	rev[0] = revoked;
	crl = tc_write_crl(root, rev, 1, now - DAY, now + 7 * DAY);
	policy_file = tc_write_file("policy.conf",
				    policy_text(ca, ca2, crl, "reject"));
	crl = tc_write_crl(root, rev, 1, now - 9 * DAY, now - 2 * DAY);
	stale_crl_reject = tc_write_file("stale-reject.conf",
					 policy_text(ca, ca2, crl, "reject"));
	stale_crl_grace = tc_write_file("stale-grace.conf",
					policy_text(ca, ca2, crl, "grace"));
}

static struct eg_policy *load(const char *file)
{
	struct eg_policy *p = NULL;
	char err[512] = "";

	ck_assert_msg(eg_policy_load_file(file, &p, err, sizeof(err)) == 0,
		      "policy load: %s", err);
	return p;
}

struct row {
	const char *name;
	struct tc_cert **chain[3]; /* leaf first; NULL-terminated */
	const char *host;
	const char *path;
	time_t at_offset; /* seconds from now */
	bool admit;
	enum eg_event event;
	enum eg_reason reason;
	const char *rule;
	const char *matched;
};

static const struct row rows[] = {
	{"admitted by DNS wildcard",
	 {&good},
	 NULL,
	 "/",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "default",
	 "dns:*.edge.example.net"},
	{"admitted by SPIFFE URI prefix",
	 {&good_uri},
	 NULL,
	 "/",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "default",
	 "uri:spiffe://example.net/edge/*"},
	{"intermediate sent by the client",
	 {&via_inter, &inter},
	 NULL,
	 "/",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "default",
	 NULL},
	{"no certificate",
	 {NULL},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_NO_CERTIFICATE,
	 "default",
	 NULL},
	{"other CA",
	 {&untrusted},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_UNTRUSTED_ISSUER,
	 "default",
	 NULL},
	{"expired leaf",
	 {&expired},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_EXPIRED,
	 "default",
	 NULL},
	{"good leaf at a time after its notAfter",
	 {&good},
	 NULL,
	 "/",
	 2 * 365 * DAY,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_EXPIRED,
	 "default",
	 NULL},
	{"leaf under an expired intermediate",
	 {&under_expired_inter, &expired_inter},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_EXPIRED,
	 "default",
	 NULL},
	{"not yet valid",
	 {&future},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_NOT_YET_VALID,
	 "default",
	 NULL},
	{"good leaf before its notBefore",
	 {&good},
	 NULL,
	 "/",
	 -2 * DAY,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_NOT_YET_VALID,
	 "default",
	 NULL},
	{"revoked by CRL",
	 {&revoked},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_REVOKED,
	 "default",
	 NULL},
	{"bad signature",
	 {&badsig},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_BAD_SIGNATURE,
	 "default",
	 NULL},
	{"no EKU extension",
	 {&no_eku},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_MISSING_CLIENT_AUTH_EKU,
	 "default",
	 NULL},
	{"serverAuth only",
	 {&server_only},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_MISSING_CLIENT_AUTH_EKU,
	 "default",
	 NULL},
	{"identity not allowed",
	 {&intruder},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_IDENTITY_NOT_ALLOWED,
	 "default",
	 NULL},
	{"SAN with embedded NUL",
	 {&nul_san},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_IDENTITY_NOT_ALLOWED,
	 "default",
	 NULL},
	{"pinned leaf",
	 {&good},
	 "pinned.example.com",
	 "/",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "pinned",
	 NULL},
	{"pinned host, other leaf",
	 {&via_inter, &inter},
	 "PINNED.example.com.:443",
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_PIN_MISMATCH,
	 "pinned",
	 NULL},
	{"log-only rule admits and flags",
	 {&good},
	 NULL,
	 "/shadow/x",
	 0,
	 true,
	 EG_EVENT_WOULD_REJECT,
	 EG_REASON_IDENTITY_NOT_ALLOWED,
	 "shadow",
	 NULL},
	{"log-only rule without certificate",
	 {NULL},
	 NULL,
	 "/shadow",
	 0,
	 true,
	 EG_EVENT_WOULD_REJECT,
	 EG_REASON_NO_CERTIFICATE,
	 "shadow",
	 NULL},
	{"percent-encoded path selects the rule",
	 {&good},
	 NULL,
	 "/%73hadow",
	 0,
	 true,
	 EG_EVENT_WOULD_REJECT,
	 EG_REASON_IDENTITY_NOT_ALLOWED,
	 "shadow",
	 NULL},
	{"dot segments leave the rule",
	 {&good},
	 NULL,
	 "/shadow/../public",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "default",
	 NULL},
	{"segment boundary",
	 {&good},
	 NULL,
	 "/shadowy",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "default",
	 NULL},
	{"allow_any admits any trusted identity",
	 {&intruder},
	 NULL,
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_IDENTITY_NOT_ALLOWED,
	 "default",
	 NULL},
	{"allow_any rule",
	 {&intruder},
	 "x.open.example.com",
	 "/",
	 0,
	 true,
	 EG_EVENT_ADMIT,
	 EG_REASON_NONE,
	 "open",
	 "any"},
	{"allow_any still needs a trusted chain",
	 {&untrusted},
	 "x.open.example.com",
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_UNTRUSTED_ISSUER,
	 "open",
	 NULL},
	{"wildcard host is one label",
	 {&intruder},
	 "a.b.open.example.com",
	 "/",
	 0,
	 false,
	 EG_EVENT_REJECT,
	 EG_REASON_IDENTITY_NOT_ALLOWED,
	 "default",
	 NULL},
};

static void decide_row(const char *file, const struct row *r,
		       struct eg_decision *d, struct eg_peer **peer_out,
		       struct eg_policy **policy_out)
{
	struct eg_der chain[3];
	struct eg_request req = {r->host, r->path};
	size_t n = 0;

	*policy_out = load(file);
	while (n < 3 && r->chain[n] != NULL) {
		chain[n] = (*r->chain[n])->eg;
		n++;
	}
	ck_assert_int_eq(eg_peer_verify(*policy_out, chain, n,
					now + r->at_offset, peer_out),
			 0);
	ck_assert_int_eq(
		eg_policy_decide(*policy_out, n ? *peer_out : NULL, &req, d),
		0);
}

START_TEST(test_decision_table)
{
	const struct row *r = &rows[_i];
	struct eg_decision d;
	struct eg_peer *peer;
	struct eg_policy *p;

	decide_row(policy_file, r, &d, &peer, &p);
	ck_assert_msg(d.admit == r->admit, "%s: admit %d, detail: %s", r->name,
		      d.admit, d.detail);
	ck_assert_msg(d.reason == r->reason, "%s: reason %s, expected %s (%s)",
		      r->name, eg_reason_name(d.reason),
		      eg_reason_name(r->reason), d.detail);
	ck_assert_msg(d.event == r->event, "%s: event %s", r->name,
		      eg_event_name(d.event));
	ck_assert_msg(strcmp(d.rule, r->rule) == 0, "%s: rule %s", r->name,
		      d.rule);
	if (r->matched != NULL)
		ck_assert_msg(d.matched && strcmp(d.matched, r->matched) == 0,
			      "%s: matched %s", r->name,
			      d.matched ? d.matched : "(null)");
	if (r->reason != EG_REASON_NONE)
		ck_assert_msg(d.detail[0] != '\0', "%s: no detail", r->name);
	if (r->chain[0] != NULL && r->reason != EG_REASON_MALFORMED_CERTIFICATE)
		ck_assert_ptr_nonnull(d.identity);
	eg_peer_free(peer);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_matched_value_is_certificate_name)
{
	const struct row r = {
		"",   {&good},	      NULL,	      "/",	 0,
		true, EG_EVENT_ADMIT, EG_REASON_NONE, "default", NULL};
	struct eg_decision d;
	struct eg_peer *peer;
	struct eg_policy *p;

	decide_row(policy_file, &r, &d, &peer, &p);
	ck_assert_str_eq(d.matched_field, "dns");
	ck_assert_ptr_nonnull(d.matched_value);
	ck_assert_str_eq(d.matched_value->ptr, "a.edge.example.net");
	eg_peer_free(peer);
	eg_policy_unref(p);
}
END_TEST

/* Verifies CHAIN (N certificates) under P now and asserts the chain's
 * reason. */
static void check_chain_reason(struct eg_policy *p, const struct eg_der *chain,
			       size_t n, enum eg_reason want)
{
	struct eg_peer *peer;

	ck_assert_int_eq(eg_peer_verify(p, chain, n, now, &peer), 0);
	ck_assert_int_eq(eg_peer_chain_reason(peer), want);
	eg_peer_free(peer);
}

/* Verifies CHAIN (N certificates) under P now and decides a request with
 * neither host nor path into *D. The peer is freed on return: D's fields
 * borrowed from it (identity, matched_value) must not be dereferenced. */
static void decide_chain(struct eg_policy *p, const struct eg_der *chain,
			 size_t n, struct eg_decision *d)
{
	struct eg_peer *peer;

	ck_assert_int_eq(eg_peer_verify(p, chain, n, now, &peer), 0);
	ck_assert_int_eq(eg_policy_decide(p, peer, NULL, d), 0);
	eg_peer_free(peer);
}

START_TEST(test_malformed_certificate)
{
	static const unsigned char junk[] = {0x30, 0x82, 0x01, 0x00,
					     0x02, 0x01, 0x00, 0xff};
	struct eg_der chain[2] = {{junk, sizeof(junk)}, {NULL, 0}};
	struct eg_policy *p = load(policy_file);
	struct eg_decision d;

	decide_chain(p, chain, 1, &d);
	ck_assert_int_eq(d.reason, EG_REASON_MALFORMED_CERTIFICATE);
	ck_assert(!d.admit);
	ck_assert_ptr_null(d.identity);

	/* A good leaf followed by garbage: the chain as a whole is bad. */
	chain[0] = good->eg;
	chain[1].data = junk;
	chain[1].len = sizeof(junk);
	check_chain_reason(p, chain, 2, EG_REASON_MALFORMED_CERTIFICATE);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_overlong_chain_is_malformed)
{
	struct eg_der chain[17];
	struct eg_policy *p = load(policy_file);

	for (int i = 0; i < 17; i++)
		chain[i] = i == 0 ? good->eg : inter->eg;
	check_chain_reason(p, chain, 17, EG_REASON_MALFORMED_CERTIFICATE);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_missing_intermediate_is_untrusted)
{
	const struct eg_der with_inter[2] = {via_inter->eg, inter->eg};
	/* Chains may arrive unsorted. */
	const struct eg_der unsorted[3] = {via_inter->eg, good->eg, inter->eg};
	struct eg_policy *p;
	const char *ca = tc_write_cert(root);
	char text[1024];

	/* Trust only the root: the client must send the intermediate. */
	snprintf(text, sizeof(text),
		 "policy = { trust = { ca_files = [ \"%s\" ]; };\n"
		 "  default = { allow_any = true; }; };\n",
		 ca);
	p = load(tc_write_file("root-only.conf", text));
	check_chain_reason(p, &via_inter->eg, 1, EG_REASON_UNTRUSTED_ISSUER);
	check_chain_reason(p, with_inter, 2, EG_REASON_NONE);
	check_chain_reason(p, unsorted, 3, EG_REASON_NONE);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_stale_crl)
{
	struct eg_policy *p = load(stale_crl_reject);
	struct eg_decision d;

	decide_chain(p, &good->eg, 1, &d);
	ck_assert_int_eq(d.reason, EG_REASON_REVOKED);
	ck_assert(strstr(d.detail, "CRL") != NULL);
	eg_policy_unref(p);

	p = load(stale_crl_grace);
	decide_chain(p, &good->eg, 1, &d);
	ck_assert_int_eq(d.reason, EG_REASON_NONE);
	/* grace keeps using the stale CRL: the revoked leaf stays revoked */
	check_chain_reason(p, &revoked->eg, 1, EG_REASON_REVOKED);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_bad_request_host_and_path)
{
	struct eg_policy *p = load(policy_file);
	struct eg_decision d;
	struct eg_peer *peer;
	static const struct eg_request bad[] = {
		{NULL, "/a%00b"},    {NULL, "/%zz"}, {"bad host", "/"},
		{"evil.com/x", "/"}, {"[::1", "/"},
	};

	ck_assert_int_eq(eg_peer_verify(p, &good->eg, 1, now, &peer), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(eg_policy_decide(p, peer, &bad[i], &d) ==
				      EG_E_BAD_REQUEST,
			      "request %zu accepted", i);
	eg_peer_free(peer);
	eg_policy_unref(p);
}
END_TEST

START_TEST(test_peer_of_other_policy_refused)
{
	struct eg_policy *a = load(policy_file), *b = load(policy_file);
	struct eg_decision d;
	struct eg_peer *peer;

	ck_assert_int_eq(eg_peer_verify(a, &good->eg, 1, now, &peer), 0);
	ck_assert_int_eq(eg_policy_decide(b, peer, NULL, &d), EG_E_INVAL);
	eg_peer_free(peer);
	eg_policy_unref(a);
	eg_policy_unref(b);
}
END_TEST

START_TEST(test_out_of_memory_is_internal_error)
{
	struct eg_policy *p = load(policy_file);
	struct eg_request req = {"pinned.example.com", "/"};
	struct eg_decision d;
	struct eg_peer *peer;
	int ret;

	ck_assert_int_eq(eg_peer_verify(p, &good->eg, 1, now, &peer), 0);
	tu_alloc_budget = 0;
	eg_set_allocator(tu_budget_malloc, tu_budget_realloc, NULL);
	ck_assert_int_eq(eg_policy_decide(p, peer, &req, &d), 0);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.reason, EG_REASON_INTERNAL_ERROR);
	/* eg_peer_verify under growing budgets: NOMEM or a complete peer,
	 * never a crash or a half-filled admit. */
	eg_peer_free(peer);
	for (unsigned budget = 0; budget < 200; budget++) {
		tu_alloc_budget = budget;
		peer = NULL;
		ret = eg_peer_verify(p, &good->eg, 1, now, &peer);
		if (ret == EG_E_NOMEM) {
			ck_assert_ptr_null(peer);
			continue;
		}
		ck_assert_int_eq(ret, 0);
		ck_assert(eg_peer_chain_reason(peer) == EG_REASON_NONE ||
			  eg_peer_chain_reason(peer) ==
				  EG_REASON_INTERNAL_ERROR);
		eg_peer_free(peer);
	}
	eg_set_allocator(NULL, NULL, NULL);
	eg_policy_unref(p);
}
END_TEST

static Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("table");

	tcase_add_unchecked_fixture(tc, fixtures, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_decision_table, 0,
			    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_matched_value_is_certificate_name);
	tcase_add_test(tc, test_malformed_certificate);
	tcase_add_test(tc, test_overlong_chain_is_malformed);
	tcase_add_test(tc, test_missing_intermediate_is_untrusted);
	tcase_add_test(tc, test_stale_crl);
	tcase_add_test(tc, test_bad_request_host_and_path);
	tcase_add_test(tc, test_peer_of_other_policy_refused);
	tcase_add_test(tc, test_out_of_memory_is_internal_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(decide_suite());
}
