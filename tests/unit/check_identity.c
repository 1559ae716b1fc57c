/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "identity": what eg_identity_from_der() reads from real
 * certificates minted at test time, checked against GnuTLS's own answers
 * (fingerprint, public key) and against the bytes the certificate was
 * built with, hostile names included.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include <edgeguard/edgeguard.h>

#include "identity_internal.h"
#include "match.h"
#include "test_helpers.h"
#include "testcerts.h"

/* Byte strings with their exact length, embedded NULs included. */
#define B(s) s, sizeof(s) - 1

#define NOT_BEFORE ((time_t)1700000000) /* 2023-11-14T22:13:20Z */
#define NOT_AFTER  ((time_t)1900000000) /* 2030-03-17T17:46:40Z */

static struct tc_cert *ca;

static void make_ca(void)
{
	ca = tc_root("Identity Test CA");
}

static void free_ca(void)
{
	tc_free(ca);
	ca = NULL;
}

static struct eg_identity *identity_of_cert(const struct tc_cert *c)
{
	struct eg_identity *id = (struct eg_identity *)&id;
	int ret = eg_identity_from_der(c->der.data, c->der.size, &id);

	ck_assert_msg(ret == 0, "identity of a minted certificate: %s",
		      eg_strerror(ret));
	ck_assert_ptr_nonnull(id);
	return id;
}

static struct eg_identity *identity_of(const struct eg_pki_spec *spec)
{
	struct tc_cert *c = tc_issue(ca, spec);
	struct eg_identity *id = identity_of_cert(c);

	tc_free(c);
	return id;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
	out[2 * n] = '\0';
}

/* True when list holds exactly the n given values, in any order. */
static bool list_is(const struct eg_str_list *l, const char *const *want,
		    size_t n)
{
	if (l->n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < l->n && !found; j++)
			found = l->v[j].len == strlen(want[i]) &&
				memcmp(l->v[j].ptr, want[i], l->v[j].len) == 0;
		if (!found)
			return false;
	}
	return true;
}

/*
 * Re-signs c with issuer after a test edited c->crt in place, and
 * refreshes its DER: for encodings daemon/pki.c deliberately does not
 * offer (empty names, malformed IP addresses, BMPString subjects).
 */
static void resign(struct tc_cert *c, const struct tc_cert *issuer)
{
	gnutls_privkey_t pk;

	ck_assert_int_eq(gnutls_privkey_init(&pk), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(pk, issuer->key, 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_privkey_sign(c->crt, issuer->crt, pk,
						      GNUTLS_DIG_SHA256, 0),
			 0);
	gnutls_privkey_deinit(pk);
	gnutls_free(c->der.data);
	ck_assert_int_eq(
		gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &c->der),
		0);
	c->eg.data = c->der.data;
	c->eg.len = c->der.size;
}

/* A certificate whose subjectAltName extension is exactly `ext` (DER). */
static struct tc_cert *with_raw_san(const unsigned char *ext, size_t len)
{
	struct eg_pki_san placeholder = {EG_SAN_DNS, B("placeholder.example")};
	struct eg_pki_spec spec = {.cn = "raw-san",
				   .cn_len = 7,
				   .san = &placeholder,
				   .san_count = 1,
				   .eku = EG_PKI_EKU_CLIENT_AUTH};
	struct tc_cert *c = tc_issue(ca, &spec);

	ck_assert_int_eq(gnutls_x509_crt_set_extension_by_oid(
				 c->crt, "2.5.29.17", ext, len, 0),
			 0);
	resign(c, ca);
	return c;
}

/* ------------------------------------------------------------------ */

static const unsigned char ip4[4] = {192, 0, 2, 10};
static const unsigned char ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				      0,    0,	  0,	0,    0, 0, 0, 0x10};

START_TEST(test_round_trip)
{
	static const struct eg_pki_san sans[] = {
		{EG_SAN_DNS, B("a.edge.example.net")},
		{EG_SAN_URI, B("spiffe://example.net/edge/a")},
		{EG_SAN_IP, ip4, sizeof(ip4)},
		{EG_SAN_IP, ip6, sizeof(ip6)},
		{EG_SAN_EMAIL, B("ops@example.net")},
		{EG_SAN_DNS, B("B.Edge.Example.NET")},
	};
	static const char *const san_text[] = {
		"a.edge.example.net", "spiffe://example.net/edge/a",
		"192.0.2.10",	      "2001:db8::10",
		"ops@example.net",    "B.Edge.Example.NET",
	};
	static const char *const cns[] = {"edge-1", "edge-2"};
	static const char *const os[] = {"Example, Inc.", "Second Org"};
	static const char *const ous[] = {"Edge", "Ops"};
	const char *dn = "CN=edge-1,CN=edge-2,O=Example\\, Inc.,O=Second "
			 "Org,OU=Edge,OU=Ops";
	struct eg_pki_spec spec = {
		.dn = dn,
		.san = sans,
		.san_count = sizeof(sans) / sizeof(sans[0]),
		.eku = EG_PKI_EKU_CLIENT_AUTH,
		.not_before = NOT_BEFORE,
		.not_after = NOT_AFTER,
		.serial = 0x1234abcd,
	};
	struct tc_cert *c = tc_issue(ca, &spec);
	struct eg_identity *id = identity_of_cert(c);
	unsigned char fpr[32], spki_hash[32];
	size_t fpr_len = sizeof(fpr);
	char text[65];
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	gnutls_datum_t spki;

	ck_assert_str_eq(id->subject.ptr, dn);
	ck_assert_uint_eq(id->subject.len, strlen(dn));
	ck_assert_str_eq(id->issuer.ptr, "CN=Identity Test CA");
	ck_assert_uint_eq(id->issuer.len, strlen("CN=Identity Test CA"));
	ck_assert_str_eq(id->serial, "1234abcd");

	/* Leaf fingerprint: GnuTLS's own SHA-256 of the certificate. */
	ck_assert_int_eq(gnutls_x509_crt_get_fingerprint(
				 c->crt, GNUTLS_DIG_SHA256, fpr, &fpr_len),
			 0);
	ck_assert_uint_eq(fpr_len, 32);
	ck_assert(memcmp(id->sha256_raw, fpr, 32) == 0);
	hex(fpr, 32, text);
	ck_assert_str_eq(id->sha256, text);

	/* SPKI pin: SHA-256 of the SubjectPublicKeyInfo, derived here from
	 * the private key rather than from the certificate. */
	ck_assert_int_eq(gnutls_privkey_init(&priv), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(priv, c->key, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_init(&pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_privkey(pub, priv, 0, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki),
			 0);
	ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data,
					  spki.size, spki_hash),
			 0);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	ck_assert(memcmp(id->spki_sha256_raw, spki_hash, 32) == 0);
	hex(spki_hash, 32, text);
	ck_assert_str_eq(id->spki_sha256, text);
	ck_assert(memcmp(id->spki_sha256_raw, id->sha256_raw, 32) != 0);

	ck_assert_int_eq((long long)id->not_before, (long long)NOT_BEFORE);
	ck_assert_int_eq((long long)id->not_after, (long long)NOT_AFTER);
	ck_assert(id->has_client_auth_eku);

	ck_assert_uint_eq(id->san_count, sizeof(sans) / sizeof(sans[0]));
	for (size_t i = 0; i < id->san_count; i++) {
		const struct eg_san *s = &id->san[i];

		ck_assert_msg(s->type == sans[i].type, "SAN %zu: type %d", i,
			      (int)s->type);
		ck_assert_msg(strcmp(s->value.ptr, san_text[i]) == 0 &&
				      s->value.len == strlen(san_text[i]),
			      "SAN %zu: \"%s\", want \"%s\"", i, s->value.ptr,
			      san_text[i]);
		ck_assert_msg(s->well_formed, "SAN %zu not well formed", i);
		if (s->type == EG_SAN_IP) {
			ck_assert_uint_eq(s->ip_len, sans[i].len);
			ck_assert(memcmp(s->ip, sans[i].data, s->ip_len) == 0);
		}
	}
	ck_assert(list_is(&id->cn, cns, 2));
	ck_assert(list_is(&id->o, os, 2));
	ck_assert(list_is(&id->ou, ous, 2));
	eg_identity_free(id);
	tc_free(c);
}
END_TEST

START_TEST(test_random_serial)
{
	struct eg_pki_spec spec = {.cn = "serial", .cn_len = 6};
	struct tc_cert *c = tc_issue(ca, &spec);
	struct eg_identity *id = identity_of_cert(c);
	unsigned char serial[40];
	size_t len = sizeof(serial);
	char text[81];

	ck_assert_int_eq(gnutls_x509_crt_get_serial(c->crt, serial, &len), 0);
	hex(serial, len, text);
	ck_assert_str_eq(id->serial, text);
	ck_assert_uint_eq(strlen(id->serial), 16);
	eg_identity_free(id);
	tc_free(c);
}
END_TEST

START_TEST(test_eku_flag)
{
	static const struct {
		unsigned eku;
		bool want;
	} rows[] = {
		{0, false},
		{EG_PKI_EKU_SERVER_AUTH, false},
		{EG_PKI_EKU_CLIENT_AUTH, true},
		{EG_PKI_EKU_CLIENT_AUTH | EG_PKI_EKU_SERVER_AUTH, true},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct eg_pki_spec spec = {
			.cn = "eku", .cn_len = 3, .eku = rows[i].eku};
		struct eg_identity *id = identity_of(&spec);

		ck_assert_msg(id->has_client_auth_eku == rows[i].want,
			      "eku flags 0x%x: has_client_auth_eku = %d",
			      rows[i].eku, id->has_client_auth_eku);
		eg_identity_free(id);
	}
}
END_TEST

START_TEST(test_no_names)
{
	struct eg_pki_spec spec = {.dn = "O=Only Org"};
	struct eg_identity *id = identity_of(&spec);
	static const char *const os[] = {"Only Org"};

	ck_assert_uint_eq(id->san_count, 0);
	ck_assert_uint_eq(id->cn.n, 0);
	ck_assert_uint_eq(id->ou.n, 0);
	ck_assert(list_is(&id->o, os, 1));
	ck_assert_str_eq(id->subject.ptr, "O=Only Org");
	eg_identity_free(id);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Hostile SANs: kept byte for byte for the audit record, flagged so they
 * never match. */
static const struct {
	enum eg_san_type type;
	const char *bytes;
	size_t len;
	bool well_formed;
} wf_rows[] = {
	{EG_SAN_DNS, B("example.com"), true},
	{EG_SAN_DNS, B("EXAMPLE.COM"), true},
	{EG_SAN_DNS, B("example.com."), true},
	{EG_SAN_DNS, B("xn--bcher-kva.example"), true},
	{EG_SAN_DNS, B("_srv.example.com"), true},
	{EG_SAN_DNS, B("a"), true},
	{EG_SAN_DNS, B("*.example.com"), false},
	{EG_SAN_DNS, B("good.example.com\0.evil.com"), false},
	{EG_SAN_DNS, B("example.com\0"), false},
	{EG_SAN_DNS, B("\0"), false},
	{EG_SAN_DNS,
	 B("b\xc3\xbc"
	   "cher.example"),
	 false},
	{EG_SAN_DNS, B("\xff\xfe.example"), false},
	{EG_SAN_DNS, B("example.com.."), false},
	{EG_SAN_DNS, B("a..b"), false},
	{EG_SAN_DNS, B(".example.com"), false},
	{EG_SAN_DNS, B("."), false},
	{EG_SAN_DNS, B("-a.example"), false},
	{EG_SAN_DNS, B("a-.example"), false},
	{EG_SAN_DNS, B("a b.example"), false},
	{EG_SAN_DNS, B("a/b.example"), false},
	{EG_SAN_DNS,
	 B("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   ".example"),
	 false},
	{EG_SAN_URI, B("spiffe://example.net/edge"), true},
	{EG_SAN_URI, B("urn:example:edge"), true},
	{EG_SAN_URI, B("spiffe://example.net/\0x"), false},
	{EG_SAN_URI, B("spiffe://example.net/\xc3\xa9"), false},
	{EG_SAN_URI, B("spiffe://example.net/a b"), false},
	{EG_SAN_URI, B("spiffe://example.net/a\nb"), false},
	{EG_SAN_URI, B("no-scheme"), false},
	{EG_SAN_URI, B(":x"), false},
	{EG_SAN_URI, B("spiffe:"), false},
	{EG_SAN_EMAIL, B("ops@example.net"), true},
	{EG_SAN_EMAIL, B("ops@example.net\0"), false},
	{EG_SAN_EMAIL, B("o\0ps@example.net"), false},
	{EG_SAN_EMAIL, B("a@b@example.net"), false},
	{EG_SAN_EMAIL, B("@example.net"), false},
	{EG_SAN_EMAIL, B("ops@"), false},
	{EG_SAN_EMAIL, B("ops"), false},
	{EG_SAN_EMAIL, B("o ps@example.net"), false},
	{EG_SAN_EMAIL, B("\xc3\xa9@example.net"), false},
	{EG_SAN_EMAIL, B("ops@exa mple.net"), false},
};

START_TEST(test_well_formed_table)
{
	struct eg_pki_san san = {wf_rows[_i].type, wf_rows[_i].bytes,
				 wf_rows[_i].len};
	struct eg_pki_spec spec = {
		.cn = "hostile", .cn_len = 7, .san = &san, .san_count = 1};
	struct eg_identity *id = identity_of(&spec);
	const struct eg_san *s;

	ck_assert_uint_eq(id->san_count, 1);
	s = &id->san[0];
	ck_assert_int_eq(s->type, wf_rows[_i].type);
	ck_assert_msg(s->value.len == wf_rows[_i].len &&
			      memcmp(s->value.ptr, wf_rows[_i].bytes,
				     wf_rows[_i].len) == 0,
		      "row %d: value not kept byte for byte (%zu bytes)", _i,
		      s->value.len);
	ck_assert_msg(s->value.ptr[s->value.len] == '\0',
		      "row %d: value not terminated", _i);
	ck_assert_msg(s->well_formed == wf_rows[_i].well_formed,
		      "row %d: \"%.*s\" (%zu bytes) well_formed = %d", _i,
		      (int)wf_rows[_i].len, wf_rows[_i].bytes, wf_rows[_i].len,
		      s->well_formed);
	eg_identity_free(id);
}
END_TEST

/* An empty name of any type makes GnuTLS refuse the SAN extension, and
 * with it the certificate: malformed, never a match. */
START_TEST(test_empty_san_is_malformed)
{
	static const unsigned char tags[] = {0x82, 0x86, 0x81, 0x87};

	for (size_t i = 0; i < sizeof(tags); i++) {
		const unsigned char ext[] = {0x30, 0x05, tags[i], 0x00,
					     0x82, 0x01, 'a'};
		struct tc_cert *c = with_raw_san(ext, sizeof(ext));
		struct eg_identity *id = (struct eg_identity *)&id;

		ck_assert_msg(eg_identity_from_der(c->der.data, c->der.size,
						   &id) == EG_E_PARSE,
			      "empty SAN with tag 0x%02x accepted", tags[i]);
		ck_assert_ptr_null(id);
		tc_free(c);
	}
}
END_TEST

/* A 5-byte iPAddress: listed, flagged, and no IP pattern matches it. */
START_TEST(test_bad_ip_length)
{
	static const unsigned char ext[] = {0x30, 0x0a, 0x87, 0x05, 192,  0,
					    2,	  1,	7,    0x82, 0x01, 'a'};
	struct tc_cert *c = with_raw_san(ext, sizeof(ext));
	struct eg_identity *id = identity_of_cert(c);
	static const char *const any[] = {"0.0.0.0/0", "::/0", "192.0.2.1",
					  "192.0.2.0/24"};

	ck_assert_uint_eq(id->san_count, 2);
	ck_assert_int_eq(id->san[0].type, EG_SAN_IP);
	ck_assert(!id->san[0].well_formed);
	ck_assert_str_eq(id->san[0].value.ptr, "(invalid 5-byte address)");
	ck_assert(id->san[1].well_formed);
	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
		struct eg_pattern p;
		char why[160];

		ck_assert_int_eq(eg_match_compile(EG_FIELD_IP, any[i], &p, why,
						  sizeof(why)),
				 0);
		ck_assert_msg(!eg_match_identity(&p, id, NULL),
			      "%s matched a 5-byte address", any[i]);
		eg_match_clear(&p);
	}
	eg_identity_free(id);
	tc_free(c);
}
END_TEST

/* Subject values with NUL bytes are kept with their length (never
 * matching, see match.c); BMPString values are read as UTF-8. */
START_TEST(test_subject_value_encodings)
{
	static const struct {
		const unsigned char *der; /* DirectoryString TLV */
		size_t len;
		const char *want;
		size_t want_len;
	} rows[] = {
		/* UTF8String "a\0b" */
		{(const unsigned char *)"\x0c\x03"
					"a\0b",
		 5, B("a\0b")},
		/* BMPString "edge" */
		{(const unsigned char *)"\x1e\x08\0e\0d\0g\0e", 10, B("edge")},
		/* BMPString U+00FC U+20AC */
		{(const unsigned char *)"\x1e\x04\x00\xfc\x20\xac", 6,
		 B("\xc3\xbc\xe2\x82\xac")},
		/* UniversalString U+1F600 */
		{(const unsigned char *)"\x1c\x04\x00\x01\xf6\x00", 6,
		 B("\xf0\x9f\x98\x80")},
		/* BMPString with an odd length: no string, never matches */
		{(const unsigned char *)"\x1e\x03\0e\0", 5, B("")},
		/* BMPString holding a lone surrogate */
		{(const unsigned char *)"\x1e\x02\xd8\x00", 4, B("")},
		/* PrintableString with RFC 4514 specials, unescaped */
		{(const unsigned char *)"\x13\x05"
					"a,b+c",
		 7, B("a,b+c")},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct eg_pki_san placeholder = {EG_SAN_DNS, B("p.example")};
		struct eg_pki_spec spec = {.san = &placeholder, .san_count = 1};
		struct tc_cert *c = tc_issue(ca, &spec);
		struct eg_identity *id;

		ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(
					 c->crt, GNUTLS_OID_X520_COMMON_NAME, 1,
					 rows[i].der, rows[i].len),
				 0);
		resign(c, ca);
		id = identity_of_cert(c);
		ck_assert_msg(id->cn.n == 1, "row %zu: %zu CN values", i,
			      id->cn.n);
		ck_assert_msg(id->cn.v[0].len == rows[i].want_len &&
				      memcmp(id->cn.v[0].ptr, rows[i].want,
					     rows[i].want_len) == 0,
			      "row %zu: CN read as %zu bytes \"%s\"", i,
			      id->cn.v[0].len, id->cn.v[0].ptr);
		eg_identity_free(id);
		tc_free(c);
	}
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_unparsable_der)
{
	struct eg_pki_spec spec = {.cn = "trunc", .cn_len = 5};
	struct tc_cert *c = tc_issue(ca, &spec);
	static const unsigned char garbage[] = "this is not a certificate";
	static const unsigned char empty_seq[] = {0x30, 0x00};
	const size_t cuts[] = {1, 2, 4, 16, c->der.size / 2, c->der.size - 1};
	const char *pem = tc_write_cert(c);
	struct eg_identity *id;
	gnutls_datum_t pem_data;

	id = (struct eg_identity *)&id;
	ck_assert_int_eq(eg_identity_from_der(NULL, 0, &id), EG_E_PARSE);
	ck_assert_ptr_null(id);
	id = (struct eg_identity *)&id;
	ck_assert_int_eq(eg_identity_from_der(c->der.data, 0, &id), EG_E_PARSE);
	ck_assert_ptr_null(id);
	ck_assert_int_eq(
		eg_identity_from_der(garbage, sizeof(garbage) - 1, &id),
		EG_E_PARSE);
	ck_assert_int_eq(
		eg_identity_from_der(empty_seq, sizeof(empty_seq), &id),
		EG_E_PARSE);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		id = (struct eg_identity *)&id;
		ck_assert_msg(eg_identity_from_der(c->der.data, cuts[i], &id) ==
				      EG_E_PARSE,
			      "DER cut to %zu of %u bytes parsed", cuts[i],
			      c->der.size);
		ck_assert_ptr_null(id);
	}
	/* PEM is not DER. */
	ck_assert_int_eq(gnutls_load_file(pem, &pem_data), 0);
	ck_assert_int_eq(
		eg_identity_from_der(pem_data.data, pem_data.size, &id),
		EG_E_PARSE);
	gnutls_free(pem_data.data);
	/* The unharmed DER still parses: the failures above are the cuts. */
	id = identity_of_cert(c);
	eg_identity_free(id);
	eg_identity_free(NULL);
	tc_free(c);
}
END_TEST

static struct eg_pki_san *numbered_sans(size_t n, char (**names)[32])
{
	struct eg_pki_san *sans = calloc(n, sizeof(*sans));

	*names = calloc(n, sizeof(**names));
	ck_assert(sans != NULL && *names != NULL);
	for (size_t i = 0; i < n; i++) {
		snprintf((*names)[i], sizeof((*names)[i]), "n%zu.example.net",
			 i);
		sans[i] = (struct eg_pki_san){EG_SAN_DNS, (*names)[i],
					      strlen((*names)[i])};
	}
	return sans;
}

START_TEST(test_san_limit)
{
	char(*names)[32];
	struct eg_pki_san *sans = numbered_sans(EG_MAX_SAN + 1, &names);
	struct eg_pki_spec spec = {.cn = "many", .cn_len = 4, .san = sans};
	struct tc_cert *c;
	struct eg_identity *id;

	spec.san_count = EG_MAX_SAN;
	id = identity_of(&spec);
	ck_assert_uint_eq(id->san_count, EG_MAX_SAN);
	ck_assert_str_eq(id->san[EG_MAX_SAN - 1].value.ptr,
			 names[EG_MAX_SAN - 1]);
	eg_identity_free(id);

	spec.san_count = EG_MAX_SAN + 1;
	c = tc_issue(ca, &spec);
	id = (struct eg_identity *)&id;
	ck_assert_int_eq(eg_identity_from_der(c->der.data, c->der.size, &id),
			 EG_E_PARSE);
	ck_assert_ptr_null(id);
	tc_free(c);
	free(names);
	free(sans);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_summary)
{
	static const struct eg_pki_san sans[] = {
		{EG_SAN_DNS, B("good.example.com\0.evil.com")},
		{EG_SAN_URI, B("spiffe://example.net/a\\b")},
		{EG_SAN_IP, ip4, sizeof(ip4)},
	};
	struct eg_pki_spec spec = {.cn = "edge\x01\xff\n",
				   .cn_len = 7,
				   .san = sans,
				   .san_count = 3};
	struct eg_identity *id = identity_of(&spec);
	const char *want = "cn=edge\\x01\\xff\\x0a, "
			   "dns=good.example.com\\x00.evil.com, "
			   "uri=spiffe://example.net/a\\x5cb, ip=192.0.2.10";
	char buf[512], small[128];

	ck_assert_ptr_eq(eg_identity_summary(id, buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, want);

	/* A short buffer holds whole entries only: a cut value would read as
	 * another name. Nothing is written past buflen. */
	for (size_t len = 1; len <= strlen(want) + 1; len++) {
		size_t got;

		memset(small, 'Z', sizeof(small));
		eg_identity_summary(id, small, len);
		got = strlen(small);
		ck_assert_msg(got < len, "buflen %zu overflowed", len);
		ck_assert_msg(strncmp(small, want, got) == 0 &&
				      (got == 0 || want[got] == '\0' ||
				       strncmp(want + got, ", ", 2) == 0),
			      "buflen %zu: \"%s\" is not whole entries", len,
			      small);
		for (size_t i = len; i < sizeof(small); i++)
			ck_assert_msg(small[i] == 'Z',
				      "buflen %zu: wrote byte %zu", len, i);
	}
	eg_identity_summary(id, small, strlen(want) + 1);
	ck_assert_str_eq(small, want);
	eg_identity_summary(id, small, strlen(want));
	ck_assert_str_eq(small, "cn=edge\\x01\\xff\\x0a, "
				"dns=good.example.com\\x00.evil.com, "
				"uri=spiffe://example.net/a\\x5cb");
	memset(small, 'Z', sizeof(small));
	ck_assert_ptr_eq(eg_identity_summary(id, small, 0), small);
	ck_assert_int_eq(small[0], 'Z');
	ck_assert_str_eq(eg_identity_summary(NULL, buf, sizeof(buf)), "");
	eg_identity_free(id);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_out_of_memory)
{
	static const struct eg_pki_san sans[] = {
		{EG_SAN_DNS, B("a.edge.example.net")},
		{EG_SAN_URI, B("spiffe://example.net/edge/a")},
		{EG_SAN_IP, ip4, sizeof(ip4)},
		{EG_SAN_EMAIL, B("ops@example.net")},
		{EG_SAN_DNS, B("b.edge.example.net")},
		{EG_SAN_DNS, B("c.edge.example.net")},
		{EG_SAN_DNS, B("d.edge.example.net")},
		{EG_SAN_DNS, B("e.edge.example.net")},
	};
	struct eg_pki_spec spec = {
		.dn = "CN=a,CN=b,O=c,OU=d,OU=e",
		.san = sans,
		.san_count = sizeof(sans) / sizeof(sans[0]),
	};
	struct tc_cert *c = tc_issue(ca, &spec);
	struct eg_identity *id;
	unsigned long n;
	int ret = EG_E_NOMEM;

	for (n = 1; n < 1000 && ret == EG_E_NOMEM; n++) {
		tu_fail_alloc_at(n);
		id = (struct eg_identity *)&id;
		ret = eg_identity_from_der(c->der.data, c->der.size, &id);
		if (ret == EG_E_NOMEM) {
			ck_assert_ptr_null(id);
			ck_assert_msg(tu_live_blocks == 0,
				      "allocation %lu failed: %ld blocks leak",
				      n, tu_live_blocks);
			continue;
		}
		ck_assert_msg(ret == 0, "allocation %lu failed: error %s", n,
			      eg_strerror(ret));
		/* The first run that succeeds made fewer calls than n. */
		ck_assert_uint_lt(tu_alloc_calls, n);
		ck_assert_uint_eq(id->san_count, 8);
		ck_assert_uint_eq(id->cn.n, 2);
		eg_identity_free(id);
		ck_assert_int_eq(tu_live_blocks, 0);
	}
	eg_set_allocator(NULL, NULL, NULL);
	ck_assert_int_eq(ret, 0);
	/* Every allocation of a full extraction was made to fail once. */
	ck_assert_uint_gt(n, 10);
	tc_free(c);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("extract");

	tcase_add_unchecked_fixture(tc, make_ca, free_ca);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_random_serial);
	tcase_add_test(tc, test_eku_flag);
	tcase_add_test(tc, test_no_names);
	tcase_add_loop_test(tc, test_well_formed_table, 0,
			    (int)(sizeof(wf_rows) / sizeof(wf_rows[0])));
	tcase_add_test(tc, test_empty_san_is_malformed);
	tcase_add_test(tc, test_bad_ip_length);
	tcase_add_test(tc, test_subject_value_encodings);
	tcase_add_test(tc, test_unparsable_der);
	tcase_add_test(tc, test_san_limit);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_out_of_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(identity_suite());
}
