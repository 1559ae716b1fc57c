/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "pki": what daemon/pki.c mints, read back and judged by GnuTLS
 * itself, so a certificate that merely looks right does not pass.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <edgeguard/error.h>

#include "pki.h"
#include "test_helpers.h"
#include "testcerts.h"

#define DAY_SECONDS (24 * 60 * 60)

static unsigned verify_status(gnutls_x509_crt_t leaf, gnutls_x509_crt_t ca)
{
	unsigned status = ~0u;

	ck_assert_int_eq(gnutls_x509_crt_verify(leaf, &ca, 1, 0, &status), 0);
	return status;
}

static char *path_in_tmp(const char *name)
{
	static char buf[8][4096];
	static unsigned next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tc_tmpdir(), name);
	return p;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
		      strerror(errno));
	return st.st_mode & 07777;
}

START_TEST(test_leaf_chains_to_root)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct tc_cert *leaf = tc_client(ca, "edge", "edge.example.net");
	unsigned ca_flag = 99, critical = 99, usage = 0;
	unsigned char ski[64], aki[64];
	size_t ski_len = sizeof(ski), aki_len = sizeof(aki);

	ck_assert_uint_eq(verify_status(leaf->crt, ca->crt), 0);
	ck_assert_uint_eq(verify_status(ca->crt, ca->crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_version(leaf->crt), 3);

	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(
				 ca->crt, &critical, &ca_flag, NULL),
			 1);
	ck_assert_uint_eq(critical, 1);
	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(ca->crt, &usage, NULL),
			 0);
	ck_assert_uint_eq(usage,
			  GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(leaf->crt, NULL,
							       &ca_flag, NULL),
			 0);
	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(leaf->crt, &usage, NULL),
			 0);
	ck_assert_uint_eq(usage, GNUTLS_KEY_DIGITAL_SIGNATURE);

	/* The leaf names its issuer's key, so chain building can find it. */
	ck_assert_int_ge(gnutls_x509_crt_get_subject_key_id(ca->crt, ski,
							    &ski_len, NULL),
			 0);
	ck_assert_int_ge(gnutls_x509_crt_get_authority_key_id(leaf->crt, aki,
							      &aki_len, NULL),
			 0);
	ck_assert_uint_eq(aki_len, ski_len);
	ck_assert_mem_eq(aki, ski, ski_len);
	ck_assert_uint_eq(gnutls_x509_crt_get_signature_algorithm(leaf->crt),
			  GNUTLS_SIGN_ECDSA_SHA256);

	tc_free(leaf);
	tc_free(ca);
}
END_TEST

START_TEST(test_foreign_root_does_not_verify)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct tc_cert *other = tc_root("pki test CA");
	struct tc_cert *leaf = tc_client(ca, "edge", NULL);

	/* Same issuer name, different key: only the signature tells. */
	ck_assert_uint_ne(verify_status(leaf->crt, other->crt), 0);
	tc_free(leaf);
	tc_free(other);
	tc_free(ca);
}
END_TEST

static const struct {
	unsigned flags;
	const char *oids[3];
} eku_cases[] = {
	{0, {NULL}},
	{EG_PKI_EKU_CLIENT_AUTH, {GNUTLS_KP_TLS_WWW_CLIENT, NULL}},
	{EG_PKI_EKU_SERVER_AUTH, {GNUTLS_KP_TLS_WWW_SERVER, NULL}},
	{EG_PKI_EKU_CLIENT_AUTH | EG_PKI_EKU_SERVER_AUTH,
	 {GNUTLS_KP_TLS_WWW_SERVER, GNUTLS_KP_TLS_WWW_CLIENT, NULL}},
};

START_TEST(test_eku_per_flags)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {.cn = "leaf", .cn_len = 4};
	struct tc_cert *leaf;
	char oid[128];
	size_t len;
	unsigned i;
	int ret;

	spec.eku = eku_cases[_i].flags;
	leaf = tc_issue(ca, &spec);
	for (i = 0; eku_cases[_i].oids[i] != NULL; i++) {
		len = sizeof(oid);
		ret = gnutls_x509_crt_get_key_purpose_oid(leaf->crt, i, oid,
							  &len, NULL);
		ck_assert_int_ge(ret, 0);
		ck_assert_str_eq(oid, eku_cases[_i].oids[i]);
	}
	len = sizeof(oid);
	ret = gnutls_x509_crt_get_key_purpose_oid(leaf->crt, i, oid, &len,
						  NULL);
	ck_assert_int_eq(ret, GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	/* No flags means no extension at all, not an empty one. */
	if (eku_cases[_i].flags == 0)
		ck_assert_int_eq(
			gnutls_x509_crt_get_extension_by_oid(
				leaf->crt, "2.5.29.37", 0, NULL, &len, NULL),
			GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	tc_free(leaf);
	tc_free(ca);
}
END_TEST

START_TEST(test_ca_ignores_eku)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {
		.cn = "intermediate",
		.cn_len = 12,
		.is_ca = true,
		.eku = EG_PKI_EKU_CLIENT_AUTH,
	};
	struct tc_cert *mid = tc_issue(ca, &spec);
	struct tc_cert *leaf = tc_client(mid, "edge", NULL);
	gnutls_x509_crt_t chain[2] = {leaf->crt, mid->crt};
	unsigned status = ~0u;
	size_t len = 0;

	ck_assert_int_eq(gnutls_x509_crt_get_extension_by_oid(
				 mid->crt, "2.5.29.37", 0, NULL, &len, NULL),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	ck_assert_int_eq(gnutls_x509_crt_list_verify(chain, 2, &ca->crt, 1,
						     NULL, 0, 0, &status),
			 0);
	ck_assert_uint_eq(status, 0);
	tc_free(leaf);
	tc_free(mid);
	tc_free(ca);
}
END_TEST

static const unsigned char ip4[4] = {192, 0, 2, 7};
static const unsigned char ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

/* Raw SAN bytes, including a NUL inside a DNS name and invalid UTF-8:
 * both must be stored exactly, with their full length. */
static const struct eg_pki_san sans[] = {
	{EG_SAN_DNS, "edge.example.net", 16},
	{EG_SAN_URI, "spiffe://example.net/edge/1", 27},
	{EG_SAN_IP, ip4, 4},
	{EG_SAN_IP, ip6, 16},
	{EG_SAN_EMAIL, "ops@example.net", 15},
	{EG_SAN_DNS, "good.example\0.evil.test", 23},
	{EG_SAN_DNS, "\xff\xfe.example", 10},
};

/* get_subject_alt_name2() leaves its `critical` unset in GnuTLS 3.7. */
static unsigned san_critical(gnutls_x509_crt_t crt)
{
	gnutls_datum_t ext;
	unsigned critical = 99;

	ck_assert_int_eq(gnutls_x509_crt_get_extension_by_oid2(
				 crt, "2.5.29.17", 0, &ext, &critical),
			 0);
	gnutls_free(ext.data);
	return critical;
}

static unsigned expected_gnutls_type(enum eg_san_type t)
{
	switch (t) {
	case EG_SAN_DNS:
		return GNUTLS_SAN_DNSNAME;
	case EG_SAN_URI:
		return GNUTLS_SAN_URI;
	case EG_SAN_IP:
		return GNUTLS_SAN_IPADDRESS;
	case EG_SAN_EMAIL:
		return GNUTLS_SAN_RFC822NAME;
	}
	ck_abort_msg("unknown SAN type %d", (int)t);
	return 0;
}

START_TEST(test_sans_round_trip)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {
		.cn = "edge",
		.cn_len = 4,
		.san = sans,
		.san_count = sizeof(sans) / sizeof(sans[0]),
		.eku = EG_PKI_EKU_CLIENT_AUTH,
	};
	struct tc_cert *leaf = tc_issue(ca, &spec);
	unsigned char buf[256];
	unsigned type;
	size_t i, len;
	int ret;

	for (i = 0; i < spec.san_count; i++) {
		len = sizeof(buf);
		ret = gnutls_x509_crt_get_subject_alt_name2(leaf->crt, i, buf,
							    &len, &type, NULL);
		ck_assert_msg(ret >= 0, "SAN %zu: %s", i, gnutls_strerror(ret));
		ck_assert_uint_eq(type, expected_gnutls_type(sans[i].type));
		ck_assert_uint_eq(len, sans[i].len);
		ck_assert_mem_eq(buf, sans[i].data, sans[i].len);
	}
	ck_assert_uint_eq(san_critical(leaf->crt), 0);
	len = sizeof(buf);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name2(
				 leaf->crt, i, buf, &len, &type, NULL),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	tc_free(leaf);
	tc_free(ca);
}
END_TEST

START_TEST(test_san_critical_without_subject)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {.san = sans, .san_count = 1};
	struct tc_cert *leaf = tc_issue(ca, &spec);
	struct tc_cert *named = tc_client(ca, "edge", "edge.example.net");

	/* RFC 5280 4.2.1.6: an empty subject makes the SAN critical. */
	ck_assert_uint_eq(san_critical(leaf->crt), 1);
	ck_assert_uint_eq(san_critical(named->crt), 0);
	tc_free(named);
	tc_free(leaf);
	tc_free(ca);
}
END_TEST

START_TEST(test_subject_raw_cn_and_dn)
{
	static const char cn[] = "edge\0admin";
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {
		.dn = "O=Example Edge,OU=Fleet",
		.cn = cn,
		.cn_len = sizeof(cn) - 1,
	};
	struct tc_cert *leaf = tc_issue(ca, &spec);
	char buf[256];
	size_t len = sizeof(buf);

	/* raw_flag 1: the DER string value, NUL and all, after tag+length. */
	ck_assert_int_eq(gnutls_x509_crt_get_dn_by_oid(
				 leaf->crt, GNUTLS_OID_X520_COMMON_NAME, 0, 1,
				 buf, &len),
			 0);
	ck_assert_uint_eq(len, 2 + spec.cn_len);
	ck_assert_mem_eq(buf + 2, cn, spec.cn_len);
	len = sizeof(buf);
	ck_assert_int_eq(gnutls_x509_crt_get_dn_by_oid(
				 leaf->crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
				 0, 0, buf, &len),
			 0);
	ck_assert_str_eq(buf, "Example Edge");
	len = sizeof(buf);
	ck_assert_int_eq(gnutls_x509_crt_get_dn_by_oid(
				 leaf->crt,
				 GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, 0,
				 buf, &len),
			 0);
	ck_assert_str_eq(buf, "Fleet");
	tc_free(leaf);
	tc_free(ca);
}
END_TEST

START_TEST(test_bad_spec_rejected)
{
	static const unsigned char five[5] = {1, 2, 3, 4, 5};
	struct eg_pki_san bad_ip = {EG_SAN_IP, five, 5};
	struct eg_pki_spec ip_spec = {
		.cn = "x", .cn_len = 1, .san = &bad_ip, .san_count = 1};
	struct eg_pki_spec dn_spec = {.dn = "NOTANATTR=x"};
	struct eg_pki_spec dates = {.cn = "x",
				    .cn_len = 1,
				    .not_before = 2000000000,
				    .not_after = 1000000000};
	struct tc_cert *ca = tc_root("pki test CA");
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt = NULL;
	char err[256] = "";

	ck_assert_int_eq(eg_pki_key_generate(EG_PKI_KEY_ECDSA_P256, 0, &key),
			 0);
	ck_assert_int_eq(eg_pki_cert_issue(&ip_spec, key, ca->crt, ca->key,
					   &crt, err, sizeof(err)),
			 EG_E_INVAL);
	ck_assert_ptr_null(crt);
	ck_assert_ptr_nonnull(strstr(err, "4 or 16"));
	err[0] = '\0';
	ck_assert_int_eq(eg_pki_cert_issue(&dn_spec, key, ca->crt, ca->key,
					   &crt, err, sizeof(err)),
			 EG_E_INVAL);
	ck_assert_ptr_nonnull(strstr(err, "NOTANATTR"));
	ck_assert_int_eq(eg_pki_cert_issue(&dates, key, ca->crt, ca->key, &crt,
					   err, sizeof(err)),
			 EG_E_INVAL);
	ck_assert_int_eq(eg_pki_cert_issue(&dates, key, ca->crt, NULL, &crt,
					   err, sizeof(err)),
			 EG_E_INVAL);
	gnutls_x509_privkey_deinit(key);
	tc_free(ca);
}
END_TEST

START_TEST(test_key_types)
{
	static const struct {
		enum eg_pki_key_type type;
		unsigned bits_in, bits_out;
		int pk;
		gnutls_sign_algorithm_t sig;
	} k[] = {
		{EG_PKI_KEY_ECDSA_P256, 0, 256, GNUTLS_PK_ECDSA,
		 GNUTLS_SIGN_ECDSA_SHA256},
		{EG_PKI_KEY_RSA, 0, 2048, GNUTLS_PK_RSA,
		 GNUTLS_SIGN_RSA_SHA256},
		{EG_PKI_KEY_RSA, 3072, 3072, GNUTLS_PK_RSA,
		 GNUTLS_SIGN_RSA_SHA256},
	};
	struct eg_pki_spec ca_spec = {
		.cn = "rsa/ec CA", .cn_len = 9, .is_ca = true};
	struct eg_pki_spec leaf_spec = {
		.cn = "leaf", .cn_len = 4, .eku = EG_PKI_EKU_SERVER_AUTH};
	gnutls_x509_privkey_t ca_key, key;
	gnutls_x509_crt_t ca, leaf;
	unsigned bits = 0, usage = 0;
	char err[256] = "";

	ck_assert_int_eq(
		eg_pki_key_generate(k[_i].type, k[_i].bits_in, &ca_key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_get_pk_algorithm2(ca_key, &bits),
			 k[_i].pk);
	ck_assert_uint_eq(bits, k[_i].bits_out);
	ck_assert_int_eq(eg_pki_cert_issue(&ca_spec, ca_key, NULL, NULL, &ca,
					   err, sizeof(err)),
			 0);
	ck_assert_int_eq(eg_pki_key_generate(k[_i].type, k[_i].bits_in, &key),
			 0);
	ck_assert_int_eq(eg_pki_cert_issue(&leaf_spec, key, ca, ca_key, &leaf,
					   err, sizeof(err)),
			 0);
	ck_assert_uint_eq(verify_status(leaf, ca), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_signature_algorithm(leaf),
			 k[_i].sig);
	ck_assert_int_eq(gnutls_x509_crt_get_pk_algorithm(leaf, &bits),
			 k[_i].pk);
	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(leaf, &usage, NULL), 0);
	ck_assert_uint_eq(usage, k[_i].pk == GNUTLS_PK_RSA
					 ? GNUTLS_KEY_DIGITAL_SIGNATURE |
						   GNUTLS_KEY_KEY_ENCIPHERMENT
					 : GNUTLS_KEY_DIGITAL_SIGNATURE);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_privkey_deinit(ca_key);
}
END_TEST

START_TEST(test_validity_dates)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {.cn = "old",
				   .cn_len = 3,
				   .eku = EG_PKI_EKU_CLIENT_AUTH,
				   .not_before = 1577836800, /* 2020-01-01 */
				   .not_after = 1609459199}; /* 2020-12-31 */
	struct tc_cert *old = tc_issue(ca, &spec);
	struct tc_cert *dflt;
	time_t before = time(NULL), nb;

	ck_assert_int_eq(gnutls_x509_crt_get_activation_time(old->crt),
			 1577836800);
	ck_assert_int_eq(gnutls_x509_crt_get_expiration_time(old->crt),
			 1609459199);
	/* GnuTLS judges the dates: this one has expired. */
	ck_assert_uint_ne(
		verify_status(old->crt, ca->crt) & GNUTLS_CERT_EXPIRED, 0);

	dflt = tc_client(ca, "now", NULL);
	nb = gnutls_x509_crt_get_activation_time(dflt->crt);
	ck_assert_int_ge(nb, before - 3600);
	ck_assert_int_le(nb, time(NULL) - 3600);
	ck_assert_int_eq(gnutls_x509_crt_get_expiration_time(dflt->crt),
			 nb + 365 * DAY_SECONDS);
	tc_free(dflt);
	tc_free(old);
	tc_free(ca);
}
END_TEST

START_TEST(test_serials)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct eg_pki_spec spec = {.cn = "s", .cn_len = 1, .serial = 0x80};
	struct tc_cert *fixed = tc_issue(ca, &spec);
	struct tc_cert *r1 = tc_client(ca, "r1", NULL);
	struct tc_cert *r2 = tc_client(ca, "r2", NULL);
	unsigned char s[32], s2[32];
	size_t len = sizeof(s), len2 = sizeof(s2);

	/* 0x80 needs a leading zero to stay positive in DER. */
	ck_assert_int_eq(gnutls_x509_crt_get_serial(fixed->crt, s, &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(s[0], 0x00);
	ck_assert_uint_eq(s[1], 0x80);

	len = sizeof(s);
	ck_assert_int_eq(gnutls_x509_crt_get_serial(r1->crt, s, &len), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_serial(r2->crt, s2, &len2), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(s[0] & 0x80, 0);
	ck_assert_uint_ne(s[0], 0);
	ck_assert_msg(len != len2 || memcmp(s, s2, len) != 0,
		      "two random serials are equal");
	tc_free(r2);
	tc_free(r1);
	tc_free(fixed);
	tc_free(ca);
}
END_TEST

START_TEST(test_crl_revokes_serial)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct tc_cert *bad = tc_client(ca, "revoked", NULL);
	struct tc_cert *good = tc_client(ca, "fine", NULL);
	gnutls_x509_crt_t revoked[1] = {bad->crt};
	gnutls_x509_crl_t crl, reread;
	gnutls_datum_t pem;
	time_t now = time(NULL);
	unsigned char serial[32], crl_serial[32], number[32];
	size_t len = sizeof(serial), crl_len = sizeof(crl_serial);
	size_t nlen = sizeof(number);
	const char *path;
	unsigned status = ~0u;
	time_t when = 0;
	char err[256] = "";

	ck_assert_int_eq(eg_pki_crl_issue(ca->crt, ca->key, revoked, 1, now,
					  now + DAY_SECONDS, &crl, err,
					  sizeof(err)),
			 0);
	ck_assert_int_eq(gnutls_x509_crl_get_version(crl), 2);
	ck_assert_int_eq(gnutls_x509_crl_get_this_update(crl), now);
	ck_assert_int_eq(gnutls_x509_crl_get_next_update(crl),
			 now + DAY_SECONDS);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(crl), 1);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_serial(crl, 0, crl_serial,
							&crl_len, &when),
			 0);
	ck_assert_int_eq(gnutls_x509_crt_get_serial(bad->crt, serial, &len), 0);
	ck_assert_uint_eq(crl_len, len);
	ck_assert_mem_eq(crl_serial, serial, len);
	ck_assert_int_eq(when, now);
	ck_assert_int_ge(gnutls_x509_crl_get_number(crl, number, &nlen, NULL),
			 0);
	ck_assert_int_eq(gnutls_x509_crl_verify(crl, &ca->crt, 1, 0, &status),
			 0);
	ck_assert_uint_eq(status, 0);
	ck_assert_int_eq(gnutls_x509_crt_check_revocation(bad->crt, &crl, 1),
			 1);
	ck_assert_int_eq(gnutls_x509_crt_check_revocation(good->crt, &crl, 1),
			 0);
	gnutls_x509_crl_deinit(crl);

	/* The same through the fixture and the PEM file it writes. */
	path = tc_write_crl(ca, (const struct tc_cert *const[]){bad}, 1, now,
			    now + DAY_SECONDS);
	ck_assert_int_eq(gnutls_load_file(path, &pem), 0);
	ck_assert_int_eq(gnutls_x509_crl_init(&reread), 0);
	ck_assert_int_eq(
		gnutls_x509_crl_import(reread, &pem, GNUTLS_X509_FMT_PEM), 0);
	ck_assert_int_eq(gnutls_x509_crt_check_revocation(bad->crt, &reread, 1),
			 1);
	ck_assert_int_eq(
		gnutls_x509_crt_check_revocation(good->crt, &reread, 1), 0);
	gnutls_x509_crl_deinit(reread);
	gnutls_free(pem.data);
	tc_free(good);
	tc_free(bad);
	tc_free(ca);
}
END_TEST

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(test_file_modes_and_round_trip)
{
	struct tc_cert *ca = tc_root("pki test CA");
	char *dir = path_in_tmp("modes");
	char cert[4200], key[4200], crl_path[4200];
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t k;
	gnutls_x509_crl_t crl;
	gnutls_datum_t der;
	unsigned char id1[64], id2[64];
	size_t l1 = sizeof(id1), l2 = sizeof(id2);
	char err[512] = "";
	mode_t old;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(cert, sizeof(cert), "%s/ca.pem", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	snprintf(crl_path, sizeof(crl_path), "%s/ca.crl", dir);

	/* Modes are exact whatever the umask: a strict one must not hide the
	 * certificate, a lax one must not expose the key. */
	old = umask(0077);
	ck_assert_int_eq(eg_pki_write_cert(cert, ca->crt, err, sizeof(err)), 0);
	umask(0);
	ck_assert_int_eq(eg_pki_write_key(key, ca->key, err, sizeof(err)), 0);
	ck_assert_int_eq(eg_pki_crl_issue(ca->crt, ca->key, NULL, 0, time(NULL),
					  time(NULL) + 60, &crl, err,
					  sizeof(err)),
			 0);
	ck_assert_int_eq(eg_pki_write_crl(crl_path, crl, err, sizeof(err)), 0);
	umask(old);
	gnutls_x509_crl_deinit(crl);
	ck_assert_uint_eq(file_mode(cert), 0644);
	ck_assert_uint_eq(file_mode(key), 0600);
	ck_assert_uint_eq(file_mode(crl_path), 0644);
	/* Replacing an existing file works and leaves no temporary behind. */
	ck_assert_int_eq(eg_pki_write_key(key, ca->key, err, sizeof(err)), 0);
	ck_assert_uint_eq(count_entries(dir), 3);

	ck_assert_int_eq(eg_pki_read_cert(cert, &crt, err, sizeof(err)), 0);
	ck_assert_int_eq(eg_pki_cert_der(crt, &der), 0);
	ck_assert_uint_eq(der.size, ca->der.size);
	ck_assert_mem_eq(der.data, ca->der.data, der.size);
	ck_assert_int_eq(eg_pki_read_key(key, &k, err, sizeof(err)), 0);
	ck_assert_int_eq(gnutls_x509_privkey_get_key_id(k, 0, id1, &l1), 0);
	ck_assert_int_eq(gnutls_x509_privkey_get_key_id(ca->key, 0, id2, &l2),
			 0);
	ck_assert_mem_eq(id1, id2, l1);
	gnutls_free(der.data);
	gnutls_x509_privkey_deinit(k);
	gnutls_x509_crt_deinit(crt);
	tc_free(ca);
}
END_TEST

START_TEST(test_write_into_missing_dir)
{
	struct tc_cert *ca = tc_root("pki test CA");
	const char *cert = path_in_tmp("no-such-dir/ca.pem");
	const char *key = path_in_tmp("no-such-dir/ca.key");
	char err[512] = "";

	ck_assert_int_eq(eg_pki_write_cert(cert, ca->crt, err, sizeof(err)),
			 EG_E_IO);
	ck_assert_msg(strstr(err, cert) != NULL, "message \"%s\" lacks %s", err,
		      cert);
	err[0] = '\0';
	ck_assert_int_eq(eg_pki_write_key(key, ca->key, err, sizeof(err)),
			 EG_E_IO);
	ck_assert_msg(strstr(err, key) != NULL, "message \"%s\" lacks %s", err,
		      key);
	tc_free(ca);
}
END_TEST

START_TEST(test_read_errors)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t key = NULL;
	const char *missing = path_in_tmp("missing.pem");
	const char *junk = tc_write_file("junk.pem", "-----BEGIN NOTHING\n");
	char err[512] = "";

	ck_assert_int_eq(eg_pki_read_cert(missing, &crt, err, sizeof(err)),
			 EG_E_IO);
	ck_assert_ptr_nonnull(strstr(err, missing));
	ck_assert_int_eq(eg_pki_read_cert(junk, &crt, err, sizeof(err)),
			 EG_E_PARSE);
	ck_assert_ptr_nonnull(strstr(err, junk));
	ck_assert_ptr_null(crt);
	ck_assert_int_eq(eg_pki_read_key(junk, &key, err, sizeof(err)),
			 EG_E_PARSE);
	ck_assert_ptr_null(key);
	ck_assert_int_eq(eg_pki_read_key(tc_tmpdir(), &key, err, sizeof(err)),
			 EG_E_IO);
}
END_TEST

START_TEST(test_corrupt_signature)
{
	struct tc_cert *ca = tc_root("pki test CA");
	struct tc_cert *leaf = tc_client(ca, "edge", "edge.example.net");
	struct tc_cert *bad = tc_corrupt_signature(leaf);
	char a[256], b[256];
	size_t la = sizeof(a), lb = sizeof(b);

	ck_assert_uint_eq(verify_status(leaf->crt, ca->crt), 0);
	ck_assert_uint_ne(verify_status(bad->crt, ca->crt) &
				  GNUTLS_CERT_SIGNATURE_FAILURE,
			  0);
	/* Still a well-formed certificate with the same contents. */
	ck_assert_uint_eq(bad->der.size, leaf->der.size);
	ck_assert_ptr_eq(bad->eg.data, bad->der.data);
	ck_assert_int_ne(memcmp(bad->der.data, leaf->der.data, bad->der.size),
			 0);
	ck_assert_int_eq(gnutls_x509_crt_get_dn(leaf->crt, a, &la), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_dn(bad->crt, b, &lb), 0);
	ck_assert_str_eq(a, b);
	tc_free(bad);
	tc_free(leaf);
	tc_free(ca);
}
END_TEST

static Suite *pki_suite(void)
{
	Suite *s = suite_create("pki");
	TCase *tc = tcase_create("mint");

	/* RSA key generation is slow under nettle and sanitizers. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_leaf_chains_to_root);
	tcase_add_test(tc, test_foreign_root_does_not_verify);
	tcase_add_loop_test(tc, test_eku_per_flags, 0,
			    sizeof(eku_cases) / sizeof(eku_cases[0]));
	tcase_add_test(tc, test_ca_ignores_eku);
	tcase_add_test(tc, test_sans_round_trip);
	tcase_add_test(tc, test_san_critical_without_subject);
	tcase_add_test(tc, test_subject_raw_cn_and_dn);
	tcase_add_test(tc, test_bad_spec_rejected);
	tcase_add_loop_test(tc, test_key_types, 0, 3);
	tcase_add_test(tc, test_validity_dates);
	tcase_add_test(tc, test_serials);
	tcase_add_test(tc, test_crl_revokes_serial);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_file_modes_and_round_trip);
	tcase_add_test(tc, test_write_into_missing_dir);
	tcase_add_test(tc, test_read_errors);
	tcase_add_test(tc, test_corrupt_signature);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(pki_suite());
}
