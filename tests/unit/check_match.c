/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "match": allowlist patterns against identities extracted from
 * real certificates minted at test time, hostile names included. Each row
 * issues its own certificate, so what is matched is what GnuTLS reads back
 * from DER, not a hand-built struct.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <edgeguard/edgeguard.h>

#include "identity_internal.h"
#include "match.h"
#include "test_helpers.h"
#include "testcerts.h"

/* Byte strings with their exact length, embedded NULs included. */
#define B(s) s, sizeof(s) - 1

static struct tc_cert *ca;

static void make_ca(void)
{
	ca = tc_root("match test CA");
}

static void free_ca(void)
{
	tc_free(ca);
	ca = NULL;
}

static struct eg_identity *identity_of(const struct eg_pki_spec *spec)
{
	struct tc_cert *c = tc_issue(ca, spec);
	struct eg_identity *id = NULL;
	int ret = eg_identity_from_der(c->der.data, c->der.size, &id);

	ck_assert_msg(ret == 0, "identity of a minted certificate: %d", ret);
	tc_free(c);
	return id;
}

/* How a row's certificate carries its name. */
enum carrier {
	IN_DNS = EG_SAN_DNS,
	IN_URI = EG_SAN_URI,
	IN_IP = EG_SAN_IP,
	IN_EMAIL = EG_SAN_EMAIL,
	IN_CN, /* raw commonName bytes */
	IN_DN, /* subject DN string parsed by GnuTLS */
};

struct match_row {
	enum eg_field field;
	const char *pattern;
	enum carrier in;
	const char *name;
	size_t len;
	bool want;
};

static const struct match_row rows[] = {
	/* DNS: exact, case-insensitive, trailing dot ignored either side. */
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example.com"), true},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("EXAMPLE.Com"), true},
	{EG_FIELD_DNS, "Example.COM", IN_DNS, B("example.com"), true},
	{EG_FIELD_DNS, "example.com.", IN_DNS, B("example.com"), true},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example.com."), true},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("www.example.com"), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example.co"), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example.com.evil.net"), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("xexample.com"), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example.com.."), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example..com"), false},
	/* Wildcards: exactly one whole label. */
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("a.example.com"), true},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("Edge-7.EXAMPLE.com"), true},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("a.example.com."), true},
	{EG_FIELD_DNS, "*.Example.COM.", IN_DNS, B("a.example.com"), true},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("example.com"), false},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("a.b.example.com"), false},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B(".example.com"), false},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("xexample.com"), false},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("a.example.com.evil"), false},
	/* A wildcard in the certificate is not a name: it never matches. */
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("*.example.com"), false},
	{EG_FIELD_DNS, "a.example.com", IN_DNS, B("*.example.com"), false},
	/* IDN: patterns are IDNA-mapped, certificates must carry A-labels. */
	{EG_FIELD_DNS,
	 "b\xc3\xbc"
	 "cher.example",
	 IN_DNS, B("xn--bcher-kva.example"), true},
	{EG_FIELD_DNS, "xn--bcher-kva.example", IN_DNS,
	 B("XN--BCHER-KVA.example"), true},
	{EG_FIELD_DNS,
	 "*.b\xc3\xbc"
	 "cher.example",
	 IN_DNS, B("a.xn--bcher-kva.example"), true},
	{EG_FIELD_DNS,
	 "b\xc3\xbc"
	 "cher.example",
	 IN_DNS,
	 B("b\xc3\xbc"
	   "cher.example"),
	 false},
	{EG_FIELD_DNS, "xn--bcher-kva.example", IN_DNS,
	 B("b\xc3\xbc"
	   "cher.example"),
	 false},
	/* Hostile bytes never match, whatever precedes them. */
	{EG_FIELD_DNS, "good.example.com", IN_DNS,
	 B("good.example.com\0.evil.com"), false},
	{EG_FIELD_DNS, "*.example.com", IN_DNS, B("x\0.example.com"), false},
	{EG_FIELD_DNS, "*.evil.com", IN_DNS, B("good.example.com\0.evil.com"),
	 false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("example.com\0"), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("\xff.example.com"), false},
	{EG_FIELD_DNS, "example.com", IN_DNS, B("exa mple.com"), false},
	/* No fallback from SAN patterns to the CN, nor across SAN types. */
	{EG_FIELD_DNS, "example.com", IN_CN, B("example.com"), false},
	{EG_FIELD_DNS, "example.com", IN_EMAIL, B("a@example.com"), false},
	{EG_FIELD_DNS, "192.0.2.1", IN_IP, B("\xc0\x00\x02\x01"), false},
	{EG_FIELD_DNS, "192.0.2.1", IN_DNS, B("192.0.2.1"), true},

	/* URI: exact, scheme and authority case-insensitive, path exact. */
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("spiffe://example.net/edge"), true},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("SPIFFE://Example.NET/edge"), true},
	{EG_FIELD_URI, "Spiffe://EXAMPLE.net/edge", IN_URI,
	 B("spiffe://example.net/edge"), true},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("spiffe://example.net/Edge"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("spiffe://example.net/edge/"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("spiffe://example.net/edge/a"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("spiffe://example.net/edg"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_URI,
	 B("spiffe://example.net/edge\0"), false},
	/* Prefix on a path boundary. */
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a"), true},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a/b"), true},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://EXAMPLE.NET/edge/a"), true},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edgefoo"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/EDGE/a"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/../admin"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/.."), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/./x"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a/../../admin"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/%2e%2e/x"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/%2E%2E/x"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a%2f..%2fadmin"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a?x"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a#x"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge//a"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/a\0b"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("spiffe://example.net/edge/\xc3\xa9"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge/*", IN_URI,
	 B("https://example.net/edge/a"), false},
	/* The prefix never ends inside the authority. */
	{EG_FIELD_URI, "spiffe://example.net/*", IN_URI,
	 B("spiffe://example.net/a"), true},
	{EG_FIELD_URI, "spiffe://example.net/*", IN_URI,
	 B("spiffe://example.net.evil.com/a"), false},
	{EG_FIELD_URI, "spiffe://example.net/*", IN_URI,
	 B("spiffe://example.net@evil.com/a"), false},
	{EG_FIELD_URI, "spiffe://example.net/*", IN_URI,
	 B("spiffe://example.net:8443/a"), false},
	{EG_FIELD_URI, "spiffe://example.net/edge", IN_DNS, B("example.net"),
	 false},

	/* IP: exact and CIDR, families never mixed. */
	{EG_FIELD_IP, "192.0.2.1", IN_IP, B("\xc0\x00\x02\x01"), true},
	{EG_FIELD_IP, "192.0.2.1", IN_IP, B("\xc0\x00\x02\x02"), false},
	{EG_FIELD_IP, "192.0.2.0/24", IN_IP, B("\xc0\x00\x02\x4d"), true},
	{EG_FIELD_IP, "192.0.2.0/24", IN_IP, B("\xc0\x00\x03\x01"), false},
	{EG_FIELD_IP, "192.0.2.1/32", IN_IP, B("\xc0\x00\x02\x01"), true},
	{EG_FIELD_IP, "192.0.2.1/32", IN_IP, B("\xc0\x00\x02\x00"), false},
	{EG_FIELD_IP, "192.0.2.0/25", IN_IP, B("\xc0\x00\x02\x7f"), true},
	{EG_FIELD_IP, "192.0.2.0/25", IN_IP, B("\xc0\x00\x02\x80"), false},
	{EG_FIELD_IP, "10.0.0.0/9", IN_IP, B("\x0a\x7f\xff\xff"), true},
	{EG_FIELD_IP, "10.0.0.0/9", IN_IP, B("\x0a\x80\x00\x00"), false},
	{EG_FIELD_IP, "0.0.0.0/0", IN_IP, B("\xcb\x00\x71\x09"), true},
	{EG_FIELD_IP, "0.0.0.0/0", IN_IP,
	 B("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"), false},
	{EG_FIELD_IP, "2001:db8::1", IN_IP,
	 B("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"), true},
	{EG_FIELD_IP, "2001:DB8:0::1", IN_IP,
	 B("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"), true},
	{EG_FIELD_IP, "2001:db8::1", IN_IP,
	 B("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"), false},
	{EG_FIELD_IP, "2001:db8:1:2::/64", IN_IP,
	 B("\x20\x01\x0d\xb8\0\x01\0\x02\xde\xad\xbe\xef\0\0\0\x99"), true},
	{EG_FIELD_IP, "2001:db8:1:2::/64", IN_IP,
	 B("\x20\x01\x0d\xb8\0\x01\0\x03\0\0\0\0\0\0\0\x01"), false},
	{EG_FIELD_IP, "::/0", IN_IP,
	 B("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"), true},
	{EG_FIELD_IP, "::/0", IN_IP, B("\xc0\x00\x02\x01"), false},
	{EG_FIELD_IP, "192.0.2.1", IN_IP,
	 B("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x01"), false},
	{EG_FIELD_IP, "192.0.2.0/24", IN_IP,
	 B("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x01"), false},
	{EG_FIELD_IP, "::ffff:192.0.2.1", IN_IP, B("\xc0\x00\x02\x01"), false},
	{EG_FIELD_IP, "192.0.2.1", IN_DNS, B("192.0.2.1"), false},
	{EG_FIELD_IP, "192.0.2.1", IN_URI, B("http://192.0.2.1/"), false},

	/* E-mail: local part exact, domain case-insensitive. */
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL, B("edge@example.com"),
	 true},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL, B("edge@EXAMPLE.Com"),
	 true},
	{EG_FIELD_EMAIL, "edge@Example.COM", IN_EMAIL, B("edge@example.com"),
	 true},
	{EG_FIELD_EMAIL, "Edge@example.com", IN_EMAIL, B("Edge@example.com"),
	 true},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL, B("Edge@example.com"),
	 false},
	{EG_FIELD_EMAIL, "Edge@example.com", IN_EMAIL, B("edge@example.com"),
	 false},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL, B("xedge@example.com"),
	 false},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL,
	 B("edge@sub.example.com"), false},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL, B("edge@example.co"),
	 false},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL,
	 B("edge@example.com\0.evil"), false},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL, B("edge\0@example.com"),
	 false},
	{EG_FIELD_EMAIL, "edge@example.com", IN_EMAIL,
	 B("edge@evil@example.com"), false},
	{EG_FIELD_EMAIL,
	 "edge@b\xc3\xbc"
	 "cher.example",
	 IN_EMAIL, B("edge@xn--bcher-kva.example"), true},
	{EG_FIELD_EMAIL, "edge@example.com", IN_DNS, B("example.com"), false},

	/* CN / O / OU: exact bytes, case-sensitive, no NUL. */
	{EG_FIELD_CN, "edge", IN_CN, B("edge"), true},
	{EG_FIELD_CN, "Edge", IN_CN, B("edge"), false},
	{EG_FIELD_CN, "edge", IN_CN, B("edge "), false},
	{EG_FIELD_CN, "edge", IN_CN, B("edg"), false},
	{EG_FIELD_CN, "edge", IN_CN, B("edge\0"), false},
	{EG_FIELD_CN, "edge", IN_CN, B("edge\0.evil"), false},
	{EG_FIELD_CN,
	 "b\xc3\xbc"
	 "cher",
	 IN_CN,
	 B("b\xc3\xbc"
	   "cher"),
	 true},
	/* The value is the certificate's string, not an RFC 4514 rendering:
	 * specials are not escaped, unprintable values are not hex. */
	{EG_FIELD_CN, "a,b", IN_CN, B("a,b"), true},
	{EG_FIELD_CN, "a+b=c", IN_CN, B("a+b=c"), true},
	{EG_FIELD_CN, "#abc", IN_CN, B("#abc"), true},
	{EG_FIELD_CN, " lead", IN_CN, B(" lead"), true},
	{EG_FIELD_CN, "\\#abc", IN_CN, B("#abc"), false},
	{EG_FIELD_CN, "#0c03610062", IN_CN, B("a\0b"), false},
	{EG_FIELD_CN, "x", IN_DN, B("CN=x,CN=y"), true},
	{EG_FIELD_CN, "y", IN_DN, B("CN=x,CN=y"), true},
	{EG_FIELD_CN, "x,CN=y", IN_DN, B("CN=x,CN=y"), false},
	{EG_FIELD_O, "Example, Inc.", IN_DN, B("CN=edge,O=Example\\, Inc."),
	 true},
	{EG_FIELD_O, "Example", IN_DN, B("CN=edge,O=Example\\, Inc."), false},
	{EG_FIELD_O, "example, inc.", IN_DN, B("CN=edge,O=Example\\, Inc."),
	 false},
	{EG_FIELD_OU, "Edge Team", IN_DN, B("CN=edge,OU=Edge Team,O=Example"),
	 true},
	{EG_FIELD_OU, "edge team", IN_DN, B("CN=edge,OU=Edge Team,O=Example"),
	 false},
	{EG_FIELD_O, "Edge Team", IN_DN, B("CN=edge,OU=Edge Team,O=Example"),
	 false},
	{EG_FIELD_CN, "Example", IN_DN, B("CN=edge,OU=Edge Team,O=Example"),
	 false},
	{EG_FIELD_CN, "example.com", IN_DNS, B("example.com"), false},
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static const char *field_label(enum eg_field f)
{
	return eg_match_field_name(f);
}

/* The certificate value a matching row must report. */
static const struct eg_str *expected_value(const struct match_row *r,
					   const struct eg_identity *id,
					   const char *pattern_text)
{
	const struct eg_str_list *l = NULL;

	switch (r->field) {
	case EG_FIELD_CN:
		l = &id->cn;
		break;
	case EG_FIELD_O:
		l = &id->o;
		break;
	case EG_FIELD_OU:
		l = &id->ou;
		break;
	default:
		ck_assert_uint_ge(id->san_count, 1);
		return &id->san[0].value;
	}
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].ptr, pattern_text) == 0)
			return &l->v[i];
	return NULL;
}

START_TEST(test_match_table)
{
	const struct match_row *r = &rows[_i];
	struct eg_pki_san san = {(enum eg_san_type)r->in, r->name, r->len};
	struct eg_pki_spec spec = {.eku = EG_PKI_EKU_CLIENT_AUTH};
	struct eg_pattern p;
	const struct eg_str *value = (const struct eg_str *)&value;
	struct eg_identity *id;
	char why[160] = "";
	bool got;
	int ret;

	if (r->in == IN_CN) {
		spec.cn = r->name;
		spec.cn_len = r->len;
	} else if (r->in == IN_DN) {
		spec.dn = r->name;
	} else {
		spec.cn = "match-test";
		spec.cn_len = strlen("match-test");
		spec.san = &san;
		spec.san_count = 1;
	}
	id = identity_of(&spec);
	ret = eg_match_compile(r->field, r->pattern, &p, why, sizeof(why));
	ck_assert_msg(ret == 0, "row %d: pattern %s:%s does not compile: %s",
		      _i, field_label(r->field), r->pattern, why);
	got = eg_match_identity(&p, id, &value);
	ck_assert_msg(got == r->want,
		      "row %d: %s:%s vs certificate name \"%.*s\" (%zu bytes): "
		      "got %s, want %s",
		      _i, field_label(r->field), r->pattern, (int)r->len,
		      r->name, r->len, got ? "match" : "no match",
		      r->want ? "match" : "no match");
	if (got)
		ck_assert_msg(value == expected_value(r, id, r->pattern),
			      "row %d: the reported value is not the "
			      "certificate name that matched",
			      _i);
	else
		ck_assert_msg(value == NULL,
			      "row %d: no match but a value was reported", _i);
	/* A NULL value pointer is allowed and changes nothing. */
	ck_assert(eg_match_identity(&p, id, NULL) == r->want);
	eg_match_clear(&p);
	eg_identity_free(id);
}
END_TEST

/* 200 SANs, only the last of which is allowed: the scan neither stops early
 * nor reports the wrong entry. */
START_TEST(test_many_sans_last_matches)
{
	enum { N = 200 };
	static char names[N][32];
	struct eg_pki_san sans[N];
	struct eg_pki_spec spec = {.cn = "many", .cn_len = 4};
	struct eg_identity *id;
	const struct eg_str *value;
	struct eg_pattern p;
	char why[160];

	for (int i = 0; i < N - 1; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d.other.example", i);
		sans[i] = (struct eg_pki_san){EG_SAN_DNS, names[i],
					      strlen(names[i])};
	}
	snprintf(names[N - 1], sizeof(names[N - 1]), "edge.example.net");
	sans[N - 1] = (struct eg_pki_san){EG_SAN_DNS, names[N - 1],
					  strlen(names[N - 1])};
	spec.san = sans;
	spec.san_count = N;
	id = identity_of(&spec);
	ck_assert_uint_eq(id->san_count, N);

	ck_assert_int_eq(eg_match_compile(EG_FIELD_DNS, "edge.example.net", &p,
					  why, sizeof(why)),
			 0);
	ck_assert(eg_match_identity(&p, id, &value));
	ck_assert_ptr_eq(value, &id->san[N - 1].value);
	eg_match_clear(&p);

	ck_assert_int_eq(eg_match_compile(EG_FIELD_DNS, "*.example.net", &p,
					  why, sizeof(why)),
			 0);
	ck_assert(eg_match_identity(&p, id, &value));
	ck_assert_ptr_eq(value, &id->san[N - 1].value);
	eg_match_clear(&p);

	/* The first of several matching names is reported. */
	ck_assert_int_eq(eg_match_compile(EG_FIELD_DNS, "*.other.example", &p,
					  why, sizeof(why)),
			 0);
	ck_assert(eg_match_identity(&p, id, &value));
	ck_assert_ptr_eq(value, &id->san[0].value);
	eg_match_clear(&p);

	ck_assert_int_eq(eg_match_compile(EG_FIELD_DNS, "nobody.example.net",
					  &p, why, sizeof(why)),
			 0);
	ck_assert(!eg_match_identity(&p, id, &value));
	ck_assert_ptr_null(value);
	eg_match_clear(&p);
	eg_identity_free(id);
}
END_TEST

/* Hex of `raw` in the given style: colons between bytes, upper case. */
static void hex_style(const unsigned char *raw, bool colons, bool upper,
		      char *out, size_t outlen)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 32; i++) {
		ck_assert_uint_lt(o + 4, outlen);
		if (colons && i > 0)
			out[o++] = ':';
		out[o++] = digits[raw[i] >> 4];
		out[o++] = digits[raw[i] & 0xf];
	}
	out[o] = '\0';
}

static bool pin_matches(enum eg_field f, const char *text,
			const struct eg_identity *id)
{
	struct eg_pattern p;
	const struct eg_str *value = (const struct eg_str *)&value;
	char why[160] = "";
	bool got;

	ck_assert_msg(eg_match_compile(f, text, &p, why, sizeof(why)) == 0,
		      "pin %s does not compile: %s", text, why);
	got = eg_match_identity(&p, id, &value);
	ck_assert_ptr_null(value);
	eg_match_clear(&p);
	return got;
}

START_TEST(test_pins)
{
	struct eg_pki_spec spec = {.cn = "pinned", .cn_len = 6};
	struct eg_identity *id = identity_of(&spec);
	struct eg_identity *other = identity_of(&spec);
	char text[128];

	for (int style = 0; style < 4; style++) {
		bool colons = style & 1, upper = style & 2;

		hex_style(id->sha256_raw, colons, upper, text, sizeof(text));
		ck_assert_msg(pin_matches(EG_FIELD_SHA256, text, id),
			      "leaf pin %s", text);
		ck_assert_msg(!pin_matches(EG_FIELD_SHA256, text, other),
			      "leaf pin %s matched another certificate", text);
		ck_assert_msg(!pin_matches(EG_FIELD_SPKI_SHA256, text, id),
			      "leaf pin %s matched as an SPKI pin", text);
		hex_style(id->spki_sha256_raw, colons, upper, text,
			  sizeof(text));
		ck_assert_msg(pin_matches(EG_FIELD_SPKI_SHA256, text, id),
			      "SPKI pin %s", text);
		ck_assert_msg(!pin_matches(EG_FIELD_SPKI_SHA256, text, other),
			      "SPKI pin %s matched another key", text);
		ck_assert_msg(!pin_matches(EG_FIELD_SHA256, text, id),
			      "SPKI pin %s matched as a leaf pin", text);
	}
	/* The identity's own hex strings are valid pins. */
	ck_assert(pin_matches(EG_FIELD_SHA256, id->sha256, id));
	ck_assert(pin_matches(EG_FIELD_SPKI_SHA256, id->spki_sha256, id));
	eg_identity_free(other);
	eg_identity_free(id);
}
END_TEST

/* Patterns the loader must refuse, with the reason it gives. */
static const struct {
	enum eg_field field;
	const char *text;
	const char *why; /* substring of the reason */
} bad_rows[] = {
	{EG_FIELD_DNS, "a*.example.com", "wildcard"},
	{EG_FIELD_DNS, "*a.example.com", "wildcard"},
	{EG_FIELD_DNS, "ex*ample.com", "wildcard"},
	{EG_FIELD_DNS, "*.*.example.com", "wildcard"},
	{EG_FIELD_DNS, "a.*.example.com", "wildcard"},
	{EG_FIELD_DNS, "*", "wildcard"},
	{EG_FIELD_DNS, "*.com", "too broad"},
	{EG_FIELD_DNS, "*.com.", "too broad"},
	{EG_FIELD_DNS, "*.", "DNS name"},
	{EG_FIELD_DNS, "foo..bar", "DNS name"},
	{EG_FIELD_DNS, ".example.com", "DNS name"},
	{EG_FIELD_DNS, "example.com..", "DNS name"},
	{EG_FIELD_DNS, ".", "DNS name"},
	{EG_FIELD_DNS, "", "DNS name"},
	{EG_FIELD_DNS,
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 ".example.com",
	 "DNS name"},
	{EG_FIELD_DNS, "-edge.example.com", "DNS name"},
	{EG_FIELD_DNS, "edge-.example.com", "DNS name"},
	{EG_FIELD_DNS, "exa mple.com", "DNS name"},
	{EG_FIELD_DNS, "example.com/x", "DNS name"},
	{EG_FIELD_DNS, "user@example.com", "DNS name"},
	{EG_FIELD_URI, "spiffe://example.net/edge*", "'*'"},
	{EG_FIELD_URI, "spiffe://example.net/*/x", "'*'"},
	{EG_FIELD_URI, "spiffe://*.example.net/edge", "'*'"},
	{EG_FIELD_URI, "spiffe://example.net/edge/**", "'*'"},
	{EG_FIELD_URI, "spiffe://*", "authority"},
	{EG_FIELD_URI, "SPIFFE://*", "authority"},
	{EG_FIELD_URI, "example.net/edge", "URI"},
	{EG_FIELD_URI, "1spiffe://example.net/edge", "URI"},
	{EG_FIELD_URI, "spiffe:", "URI"},
	{EG_FIELD_URI, "spiffe://example.net/a b", "URI"},
	{EG_FIELD_URI, "spiffe://example.net/\xc3\xa9", "URI"},
	{EG_FIELD_URI, "", "URI"},
	{EG_FIELD_IP, "192.0.2.1/24", "host bits"},
	{EG_FIELD_IP, "2001:db8::1/64", "host bits"},
	{EG_FIELD_IP, "10.0.0.0/33", "IP"},
	{EG_FIELD_IP, "::/129", "IP"},
	{EG_FIELD_IP, "10.0.0.0/", "IP"},
	{EG_FIELD_IP, "10.0.0.0/x", "IP"},
	{EG_FIELD_IP, "10.0.0.0/-1", "IP"},
	{EG_FIELD_IP, "10.0.0.0/+8", "IP"},
	{EG_FIELD_IP, "10.0.0.0/8/8", "IP"},
	{EG_FIELD_IP, "10.0.0.0/8 ", "IP"},
	{EG_FIELD_IP, "10.0.0", "IP"},
	{EG_FIELD_IP, "300.1.1.1", "IP"},
	{EG_FIELD_IP, " 10.0.0.1", "IP"},
	{EG_FIELD_IP, "[::1]", "IP"},
	{EG_FIELD_IP, "example.com", "IP"},
	{EG_FIELD_IP, "", "IP"},
	{EG_FIELD_EMAIL, "@example.com", "local@domain"},
	{EG_FIELD_EMAIL, "edge", "local@domain"},
	{EG_FIELD_EMAIL, "edge@", "domain"},
	{EG_FIELD_EMAIL, "edge@exa mple.com", "domain"},
	{EG_FIELD_EMAIL, "edge@-bad.example", "domain"},
	{EG_FIELD_EMAIL, "ed ge@example.com", "e-mail"},
	{EG_FIELD_EMAIL, "a@b@example.com", "e-mail"},
	{EG_FIELD_SHA256, "", "SHA-256"},
	{EG_FIELD_SHA256,
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	 "SHA-256"},
	{EG_FIELD_SHA256,
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	 "SHA-256"},
	{EG_FIELD_SHA256,
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01",
	 "SHA-256"},
	{EG_FIELD_SHA256,
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdzz",
	 "SHA-256"},
	{EG_FIELD_SPKI_SHA256,
	 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
	 "SHA-256"},
	{EG_FIELD_SPKI_SHA256,
	 "0:123456789abcdef0123456789abcdef0123456789abc"
	 "def0123456789abcdef",
	 "SHA-256"},
	{EG_FIELD_SPKI_SHA256,
	 "da39a3ee5e6b4b0d3255bfef95601890afd80709", /* SHA-1 length */
	 "SHA-256"},
};

START_TEST(test_bad_patterns)
{
	struct eg_pattern p;
	char why[160] = "";
	int ret;

	ret = eg_match_compile(bad_rows[_i].field, bad_rows[_i].text, &p, why,
			       sizeof(why));
	ck_assert_msg(ret == EG_E_CONFIG, "row %d: %s:\"%s\" compiled (%d)", _i,
		      field_label(bad_rows[_i].field), bad_rows[_i].text, ret);
	ck_assert_msg(strstr(why, bad_rows[_i].why) != NULL,
		      "row %d: %s:\"%s\": reason \"%s\" lacks \"%s\"", _i,
		      field_label(bad_rows[_i].field), bad_rows[_i].text, why,
		      bad_rows[_i].why);
	/* Nothing is left allocated on failure. */
	ck_assert_ptr_null(p.value);
	ck_assert_ptr_null(p.display);
}
END_TEST

/* What a valid pattern compiles to. */
static const struct {
	enum eg_field field;
	const char *text;
	const char *value;
	bool wildcard;
} good_rows[] = {
	{EG_FIELD_DNS, "Example.COM.", "example.com", false},
	{EG_FIELD_DNS, "*.Example.com", "example.com", true},
	{EG_FIELD_DNS,
	 "b\xc3\xbc"
	 "cher.example",
	 "xn--bcher-kva.example", false},
	{EG_FIELD_DNS, "_acme.example.com", "_acme.example.com", false},
	{EG_FIELD_URI, "SPIFFE://Example.NET/Edge/*",
	 "spiffe://example.net/Edge/", true},
	{EG_FIELD_URI, "urn:Example:X", "urn:Example:X", false},
	{EG_FIELD_URI, "urn:example:edge/*", "urn:example:edge/", true},
	{EG_FIELD_EMAIL, "Edge@Example.COM", "Edge@example.com", false},
	{EG_FIELD_CN, "Edge CN", "Edge CN", false},
};

START_TEST(test_good_patterns)
{
	struct eg_pattern p;
	char why[160] = "";
	char display[300];

	ck_assert_msg(eg_match_compile(good_rows[_i].field, good_rows[_i].text,
				       &p, why, sizeof(why)) == 0,
		      "row %d: %s: %s", _i, good_rows[_i].text, why);
	ck_assert_msg(strcmp(p.value, good_rows[_i].value) == 0,
		      "row %d: \"%s\" compiled to \"%s\", want \"%s\"", _i,
		      good_rows[_i].text, p.value, good_rows[_i].value);
	ck_assert_uint_eq(p.len, strlen(good_rows[_i].value));
	ck_assert(p.wildcard == good_rows[_i].wildcard);
	/* The display form is what the operator wrote, for audit records. */
	snprintf(display, sizeof(display), "%s:%s",
		 field_label(good_rows[_i].field), good_rows[_i].text);
	ck_assert_str_eq(p.display, display);
	eg_match_clear(&p);
	ck_assert_ptr_null(p.value);
	ck_assert_ptr_null(p.display);
}
END_TEST

START_TEST(test_ip_compile)
{
	static const unsigned char v4[4] = {10, 0, 0, 0};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct eg_pattern p;
	char why[160];

	ck_assert_int_eq(eg_match_compile(EG_FIELD_IP, "10.0.0.0/8", &p, why,
					  sizeof(why)),
			 0);
	ck_assert_uint_eq(p.ip_len, 4);
	ck_assert_uint_eq(p.prefix_bits, 8);
	ck_assert(memcmp(p.bytes, v4, 4) == 0);
	eg_match_clear(&p);
	ck_assert_int_eq(eg_match_compile(EG_FIELD_IP, "2001:db8::", &p, why,
					  sizeof(why)),
			 0);
	ck_assert_uint_eq(p.ip_len, 16);
	ck_assert_uint_eq(p.prefix_bits, 128);
	ck_assert(memcmp(p.bytes, v6, 16) == 0);
	eg_match_clear(&p);
}
END_TEST

START_TEST(test_field_names)
{
	static const char *const want[EG_FIELD_COUNT] = {
		"cn", "o",     "ou",	 "dns",	       "uri",
		"ip", "email", "sha256", "spki_sha256"};

	for (int f = 0; f < EG_FIELD_COUNT; f++)
		ck_assert_str_eq(eg_match_field_name((enum eg_field)f),
				 want[f]);
	ck_assert_str_eq(eg_match_field_name(EG_FIELD_COUNT), "?");
}
END_TEST

static const struct {
	const char *pattern;
	const char *host;
	bool want;
} host_rows[] = {
	{"example.com", "example.com", true},
	{"example.com", "www.example.com", false},
	{"example.com", "example.co", false},
	{"example.com", "example.com.evil", false},
	{"www.example.com", "example.com", false},
	{"*.example.com", "a.example.com", true},
	{"*.example.com", "example.com", false},
	{"*.example.com", "a.b.example.com", false},
	{"*.example.com", ".example.com", false},
	{"*.example.com", "xexample.com", false},
	{"*.example.com", "a.xexample.com", false},
	{"[::1]", "[::1]", true},
	{"[::1]", "[::2]", false},
	{"192.0.2.1", "192.0.2.1", true},
};

START_TEST(test_match_host_table)
{
	ck_assert_msg(eg_match_host(host_rows[_i].pattern,
				    host_rows[_i].host) == host_rows[_i].want,
		      "row %d: eg_match_host(\"%s\", \"%s\") should be %s", _i,
		      host_rows[_i].pattern, host_rows[_i].host,
		      host_rows[_i].want ? "true" : "false");
}
END_TEST

/* want == NULL: the host must be refused. */
static const struct {
	const char *in;
	const char *want;
} norm_rows[] = {
	{"example.com", "example.com"},
	{"Example.COM", "example.com"},
	{"example.com:443", "example.com"},
	{"example.com.", "example.com"},
	{"EXAMPLE.com.:8443", "example.com"},
	{"example.com:", "example.com"},
	{"[::1]:443", "[::1]"},
	{"[::1]", "[::1]"},
	{"[2001:DB8::1]:8443", "[2001:db8::1]"},
	{"[2001:db8:0:0::1]", "[2001:db8::1]"},
	{"[::FFFF:192.0.2.1]", "[::ffff:192.0.2.1]"},
	{"192.0.2.1:80", "192.0.2.1"},
	{"b\xc3\xbc"
	 "cher.example",
	 "xn--bcher-kva.example"},
	{"*.Example.com", "*.example.com"},
	{"_acme.example.com", "_acme.example.com"},
	{"", NULL},
	{":443", NULL},
	{".", NULL},
	{"[::1", NULL},
	{"[::1]x", NULL},
	{"[::1]:x", NULL},
	{"[]", NULL},
	{"[zzz]", NULL},
	{"[192.0.2.1]", NULL},
	{"[fe80::1%eth0]", NULL},
	{"exa mple.com", NULL},
	{"a..b", NULL},
	{".example.com", NULL},
	{"-bad.example", NULL},
	{"example.com:abc", NULL},
	{"example.com:443:1", NULL},
	{"example.com/x", NULL},
	{"user@example.com", NULL},
	{"\xff.example", NULL},
	{"*.*.example.com", NULL},
	{"a*.example.com", NULL},
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	 NULL},
};

START_TEST(test_normalize_host_table)
{
	char *out = (char *)&out;
	int ret = eg_match_normalize_host(norm_rows[_i].in, &out);

	if (norm_rows[_i].want == NULL) {
		ck_assert_msg(ret < 0 && ret != EG_E_NOMEM,
			      "row %d: \"%s\" accepted as \"%s\"", _i,
			      norm_rows[_i].in, ret == 0 ? out : "");
		ck_assert_ptr_null(out);
		return;
	}
	ck_assert_msg(ret == 0, "row %d: \"%s\" refused (%d)", _i,
		      norm_rows[_i].in, ret);
	ck_assert_msg(strcmp(out, norm_rows[_i].want) == 0,
		      "row %d: \"%s\" -> \"%s\", want \"%s\"", _i,
		      norm_rows[_i].in, out, norm_rows[_i].want);
	eg_free(out);
}
END_TEST

/* Too long for any DNS name: refused, not truncated. */
START_TEST(test_normalize_host_too_long)
{
	char host[400];
	char *out = NULL;

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 60; i < sizeof(host) - 1; i += 61)
		host[i] = '.';
	ck_assert_int_lt(eg_match_normalize_host(host, &out), 0);
	ck_assert_ptr_null(out);
}
END_TEST

static Suite *match_suite(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("identity");

	tcase_add_unchecked_fixture(tc, make_ca, free_ca);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_match_table, 0, (int)N_ROWS);
	tcase_add_test(tc, test_many_sans_last_matches);
	tcase_add_test(tc, test_pins);
	suite_add_tcase(s, tc);

	tc = tcase_create("compile");
	tcase_add_loop_test(tc, test_bad_patterns, 0,
			    (int)(sizeof(bad_rows) / sizeof(bad_rows[0])));
	tcase_add_loop_test(tc, test_good_patterns, 0,
			    (int)(sizeof(good_rows) / sizeof(good_rows[0])));
	tcase_add_test(tc, test_ip_compile);
	tcase_add_test(tc, test_field_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("host");
	tcase_add_loop_test(tc, test_match_host_table, 0,
			    (int)(sizeof(host_rows) / sizeof(host_rows[0])));
	tcase_add_loop_test(tc, test_normalize_host_table, 0,
			    (int)(sizeof(norm_rows) / sizeof(norm_rows[0])));
	tcase_add_test(tc, test_normalize_host_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(match_suite());
}
