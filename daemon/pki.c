/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keys and certificates with the GnuTLS X.509 API (see pki.h); CRLs are in
 * pki_crl.c, PEM files in pki_file.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include <edgeguard/error.h>

#include "pki.h"
#include "pki_internal.h"

#define DAY_SECONDS (24 * 60 * 60)
/* Bound on one SAN value, keeping the extension's size arithmetic far from
 * overflow; real names are a few hundred bytes at most. */
#define SAN_MAX (64 * 1024)

void eg_pki_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int eg_pki_key_generate(enum eg_pki_key_type type, unsigned rsa_bits,
			gnutls_x509_privkey_t *out)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_pk_algorithm_t algo;
	unsigned bits;
	int ret;

	*out = NULL;
	if (type == EG_PKI_KEY_RSA) {
		algo = GNUTLS_PK_RSA;
		bits = rsa_bits != 0 ? rsa_bits : 2048;
	} else {
		algo = GNUTLS_PK_ECDSA;
		bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
	}
	if (gnutls_x509_privkey_init(&key) < 0)
		return EG_E_TLS;
	ret = gnutls_x509_privkey_generate2(key, algo, bits, 0, NULL, 0);
	if (ret < 0) {
		gnutls_x509_privkey_deinit(key);
		return EG_E_TLS;
	}
	*out = key;
	return 0;
}

/* DER INTEGER content for a positive serial: big-endian, minimal, with a
 * leading zero byte when the high bit would otherwise make it negative. */
size_t eg_pki_encode_serial(uint64_t serial, unsigned char *buf)
{
	unsigned char be[8];
	size_t i, first, n = 0;

	for (i = 0; i < 8; i++)
		be[i] = (unsigned char)(serial >> (56 - 8 * i));
	for (first = 0; first < 7 && be[first] == 0; first++)
		;
	if (be[first] & 0x80)
		buf[n++] = 0;
	memcpy(buf + n, be + first, 8 - first);
	return n + 8 - first;
}

static int set_serial(gnutls_x509_crt_t crt, uint64_t serial)
{
	unsigned char buf[9];
	size_t len;

	if (serial == 0) {
		/* Eight random bytes, first one in 0x01..0x7f: positive and
		 * already minimal, so no DER fix-up is needed. */
		if (gnutls_rnd(GNUTLS_RND_NONCE, buf, 8) < 0)
			return GNUTLS_E_RANDOM_FAILED;
		buf[0] &= 0x7f;
		if (buf[0] == 0)
			buf[0] = 1;
		len = 8;
	} else {
		len = eg_pki_encode_serial(serial, buf);
	}
	return gnutls_x509_crt_set_serial(crt, buf, len);
}

/* Context tag of each GeneralName choice (RFC 5280 4.2.1.6); all are
 * primitive [n] IMPLICIT strings. 0 marks an unknown type. */
static unsigned char san_tag(enum eg_san_type t)
{
	switch (t) {
	case EG_SAN_EMAIL:
		return 0x81;
	case EG_SAN_DNS:
		return 0x82;
	case EG_SAN_URI:
		return 0x86;
	case EG_SAN_IP:
		return 0x87;
	}
	return 0;
}

static int check_spec(const struct eg_pki_spec *spec, char *err, size_t errlen)
{
	size_t i;

	if (spec->san_count > 0 && spec->san == NULL) {
		eg_pki_err(err, errlen, "san_count is %zu but san is NULL",
			   spec->san_count);
		return EG_E_INVAL;
	}
	if (spec->cn == NULL && spec->cn_len > 0) {
		eg_pki_err(err, errlen, "cn_len is %zu but cn is NULL",
			   spec->cn_len);
		return EG_E_INVAL;
	}
	for (i = 0; i < spec->san_count; i++) {
		const struct eg_pki_san *s = &spec->san[i];

		if (san_tag(s->type) == 0) {
			eg_pki_err(err, errlen, "SAN %zu: unknown type %d", i,
				   (int)s->type);
			return EG_E_INVAL;
		}
		if (s->data == NULL || s->len == 0 || s->len > SAN_MAX) {
			eg_pki_err(err, errlen, "SAN %zu: empty or oversized",
				   i);
			return EG_E_INVAL;
		}
		if (s->type == EG_SAN_IP && s->len != 4 && s->len != 16) {
			eg_pki_err(err, errlen,
				   "SAN %zu: IP address must be 4 or 16 bytes, "
				   "not %zu",
				   i, s->len);
			return EG_E_INVAL;
		}
	}
	return 0;
}

static int set_subject(gnutls_x509_crt_t crt, const struct eg_pki_spec *spec,
		       char *err, size_t errlen)
{
	const char *bad = NULL;
	int ret;

	if (spec->dn != NULL) {
		ret = gnutls_x509_crt_set_dn(crt, spec->dn, &bad);
		if (ret < 0) {
			eg_pki_err(err, errlen,
				   "subject \"%s\" near \"%s\": %s", spec->dn,
				   bad != NULL ? bad : "",
				   gnutls_strerror(ret));
			return EG_E_INVAL;
		}
	}
	if (spec->cn != NULL) {
		ret = gnutls_x509_crt_set_dn_by_oid(
			crt, GNUTLS_OID_X520_COMMON_NAME, 0, spec->cn,
			(unsigned)spec->cn_len);
		if (ret < 0) {
			eg_pki_err(err, errlen, "subject commonName: %s",
				   gnutls_strerror(ret));
			return EG_E_TLS;
		}
	}
	return 0;
}

static size_t der_len_size(size_t len)
{
	size_t n = 1;

	if (len < 0x80)
		return 1;
	while (len > 0) {
		n++;
		len >>= 8;
	}
	return n;
}

static unsigned char *der_put_len(unsigned char *p, size_t len)
{
	size_t n = der_len_size(len) - 1, i;

	if (n == 0) {
		*p++ = (unsigned char)len;
		return p;
	}
	*p++ = (unsigned char)(0x80 | n);
	for (i = n; i > 0; i--)
		*p++ = (unsigned char)(len >> (8 * (i - 1)));
	return p;
}

/*
 * The subjectAltName extension, DER-encoded here rather than through
 * gnutls_x509_crt_set_subject_alt_name(): that one converts names to IDNA
 * and refuses invalid UTF-8, and the tests need certificates carrying the
 * exact hostile bytes a peer could send (NULs, invalid UTF-8, raw IDN).
 */
static int set_sans(gnutls_x509_crt_t crt, const struct eg_pki_spec *spec,
		    char *err, size_t errlen)
{
	unsigned char *der = NULL, *p;
	size_t body = 0, total, i;
	bool no_subject = spec->dn == NULL && spec->cn == NULL;
	int ret, rc = 0;

	if (spec->san_count == 0)
		return 0;
	for (i = 0; i < spec->san_count; i++)
		body += 1 + der_len_size(spec->san[i].len) + spec->san[i].len;
	total = 1 + der_len_size(body) + body;
	der = malloc(total);
	if (der == NULL) {
		eg_pki_err(err, errlen, "subjectAltName: out of memory");
		return EG_E_NOMEM;
	}
	p = der;
	*p++ = 0x30;
	p = der_put_len(p, body);
	for (i = 0; i < spec->san_count; i++) {
		*p++ = san_tag(spec->san[i].type);
		p = der_put_len(p, spec->san[i].len);
		memcpy(p, spec->san[i].data, spec->san[i].len);
		p += spec->san[i].len;
	}
	/* RFC 5280: critical when the subject is empty. */
	ret = gnutls_x509_crt_set_extension_by_oid(crt, "2.5.29.17", der, total,
						   no_subject);
	if (ret < 0) {
		eg_pki_err(err, errlen, "subjectAltName: %s",
			   gnutls_strerror(ret));
		rc = EG_E_TLS;
	}
	free(der);
	return rc;
}

static int set_usage(gnutls_x509_crt_t crt, const struct eg_pki_spec *spec,
		     gnutls_x509_privkey_t key)
{
	unsigned usage;
	int ret;

	ret = gnutls_x509_crt_set_basic_constraints(crt, spec->is_ca, -1);
	if (ret < 0)
		return ret;
	if (spec->is_ca) {
		usage = GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN;
	} else {
		usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
		if (gnutls_x509_privkey_get_pk_algorithm(key) == GNUTLS_PK_RSA)
			usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
	}
	ret = gnutls_x509_crt_set_key_usage(crt, usage);
	if (ret < 0 || spec->is_ca)
		return ret;
	if (spec->eku & EG_PKI_EKU_SERVER_AUTH) {
		ret = gnutls_x509_crt_set_key_purpose_oid(
			crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
		if (ret < 0)
			return ret;
	}
	if (spec->eku & EG_PKI_EKU_CLIENT_AUTH) {
		ret = gnutls_x509_crt_set_key_purpose_oid(
			crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int eg_pki_issuer_key_id(gnutls_x509_crt_t issuer,
			 gnutls_x509_privkey_t issuer_key, unsigned char *id,
			 size_t *len)
{
	size_t cap = *len;
	unsigned critical;

	if (issuer != NULL &&
	    gnutls_x509_crt_get_subject_key_id(issuer, id, len, &critical) >= 0)
		return 0;
	*len = cap;
	return gnutls_x509_privkey_get_key_id(issuer_key, GNUTLS_KEYID_USE_SHA1,
					      id, len);
}

static int set_key_ids(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		       gnutls_x509_crt_t issuer,
		       gnutls_x509_privkey_t issuer_key)
{
	unsigned char id[EG_PKI_KEY_ID_MAX];
	size_t len = sizeof(id);
	int ret;

	ret = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id,
					     &len);
	if (ret < 0)
		return ret;
	ret = gnutls_x509_crt_set_subject_key_id(crt, id, len);
	if (ret < 0)
		return ret;
	len = sizeof(id);
	ret = eg_pki_issuer_key_id(issuer, issuer_key, id, &len);
	if (ret < 0)
		return ret;
	return gnutls_x509_crt_set_authority_key_id(crt, id, len);
}

int eg_pki_signer(gnutls_x509_privkey_t key, gnutls_privkey_t *out)
{
	int ret = gnutls_privkey_init(out);

	if (ret < 0) {
		*out = NULL;
		return ret;
	}
	ret = gnutls_privkey_import_x509(*out, key, 0);
	if (ret < 0) {
		gnutls_privkey_deinit(*out);
		*out = NULL;
	}
	return ret;
}

static int sign_crt(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer,
		    gnutls_x509_privkey_t issuer_key)
{
	gnutls_privkey_t pk;
	int ret;

	ret = eg_pki_signer(issuer_key, &pk);
	if (ret < 0)
		return ret;
	ret = gnutls_x509_crt_privkey_sign(crt, issuer, pk, GNUTLS_DIG_SHA256,
					   0);
	gnutls_privkey_deinit(pk);
	return ret;
}

int eg_pki_crt_import(const gnutls_datum_t *data, gnutls_x509_crt_fmt_t fmt,
		      gnutls_x509_crt_t *out)
{
	int ret = gnutls_x509_crt_init(out);

	if (ret < 0) {
		*out = NULL;
		return ret;
	}
	ret = gnutls_x509_crt_import(*out, data, fmt);
	if (ret < 0) {
		gnutls_x509_crt_deinit(*out);
		*out = NULL;
	}
	return ret;
}

/*
 * GnuTLS fills some caches (the SAN list among them) only when it parses a
 * certificate, so a just-signed object answers gnutls_x509_crt_get_subject_
 * alt_name2() with "not available". Callers get the parsed encoding instead.
 */
static int reimport(gnutls_x509_crt_t crt, gnutls_x509_crt_t *out)
{
	gnutls_datum_t der = {NULL, 0};
	int ret;

	ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
	if (ret >= 0)
		ret = eg_pki_crt_import(&der, GNUTLS_X509_FMT_DER, out);
	gnutls_free(der.data);
	return ret;
}

int eg_pki_cert_issue(const struct eg_pki_spec *spec, gnutls_x509_privkey_t key,
		      gnutls_x509_crt_t issuer,
		      gnutls_x509_privkey_t issuer_key, gnutls_x509_crt_t *out,
		      char *err, size_t errlen)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t signer_key;
	time_t not_before, not_after;
	const char *step;
	int ret, rc;

	*out = NULL;
	if (spec == NULL || key == NULL ||
	    (issuer != NULL && issuer_key == NULL)) {
		eg_pki_err(err, errlen, "missing spec, key or issuer key");
		return EG_E_INVAL;
	}
	rc = check_spec(spec, err, errlen);
	if (rc < 0)
		return rc;
	not_before =
		spec->not_before != 0 ? spec->not_before : time(NULL) - 3600;
	not_after = spec->not_after != 0 ? spec->not_after
					 : not_before + 365 * DAY_SECONDS;
	if (not_after < not_before) {
		eg_pki_err(err, errlen,
			   "notAfter %lld is before notBefore %lld (which "
			   "defaults to an hour ago)",
			   (long long)not_after, (long long)not_before);
		return EG_E_INVAL;
	}
	signer_key = issuer != NULL ? issuer_key : key;

	rc = EG_E_TLS;
	step = "init";
	ret = gnutls_x509_crt_init(&crt);
	if (ret < 0)
		goto fail;
	step = "version";
	ret = gnutls_x509_crt_set_version(crt, 3);
	if (ret < 0)
		goto fail;
	step = "serial";
	ret = set_serial(crt, spec->serial);
	if (ret < 0)
		goto fail;
	step = "validity";
	ret = gnutls_x509_crt_set_activation_time(crt, not_before);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_expiration_time(crt, not_after);
	if (ret < 0)
		goto fail;
	rc = set_subject(crt, spec, err, errlen);
	if (rc < 0)
		goto out;
	rc = set_sans(crt, spec, err, errlen);
	if (rc < 0)
		goto out;
	rc = EG_E_TLS;
	step = "public key";
	ret = gnutls_x509_crt_set_key(crt, key);
	if (ret < 0)
		goto fail;
	step = "key usage";
	ret = set_usage(crt, spec, key);
	if (ret < 0)
		goto fail;
	step = "key identifiers";
	ret = set_key_ids(crt, key, issuer, signer_key);
	if (ret < 0)
		goto fail;
	step = "signature";
	ret = sign_crt(crt, issuer != NULL ? issuer : crt, signer_key);
	if (ret < 0)
		goto fail;
	step = "re-import";
	ret = reimport(crt, out);
	if (ret < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	eg_pki_err(err, errlen, "certificate %s: %s", step,
		   gnutls_strerror(ret));
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int eg_pki_cert_der(gnutls_x509_crt_t crt, gnutls_datum_t *out)
{
	out->data = NULL;
	out->size = 0;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, out) < 0)
		return EG_E_TLS;
	return 0;
}
