/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Identity extraction: everything the policy matches on, read from the leaf
 * certificate with GnuTLS. Peer bytes are kept with their lengths; names
 * that are empty, hold NUL or non-ASCII bytes, or do not parse are kept for
 * the audit record but flagged so they can never match an allowlist.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509-ext.h>
#include <gnutls/x509.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "identity_internal.h"

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int str_set(struct eg_str *s, const void *data, size_t len)
{
	s->ptr = eg_memdup0(data, len);
	if (s->ptr == NULL)
		return EG_E_NOMEM;
	s->len = len;
	return 0;
}

bool eg_identity_dns_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		/* ASCII only, whatever the locale of the host process. */
		if (c >= 0x80 || (!isalnum(c) && c != '-' && c != '_'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	/* One trailing dot is the root; "example.com.." is an empty label. */
	return label != 0 && s[len - 1] != '-';
}

bool eg_identity_email_valid(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (at == NULL || at == s ||
	    memchr(at + 1, '@', len - (size_t)(at + 1 - s)))
		return false;
	for (const char *p = s; p < at; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return eg_identity_dns_valid(at + 1, len - (size_t)(at + 1 - s));
}

bool eg_identity_uri_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > 4096 || !isalpha((unsigned char)s[0]))
		return false;
	for (; i < len && s[i] != ':'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			return false;
	if (i == len || i + 1 == len)
		return false;
	for (; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int add_san(struct eg_identity *id, size_t *cap, enum eg_san_type type,
		   const gnutls_datum_t *v)
{
	struct eg_san *san;
	char text[INET6_ADDRSTRLEN];
	int ret;

	if (id->san_count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct eg_san *n = eg_realloc(id->san, ncap * sizeof(*n));

		if (n == NULL)
			return EG_E_NOMEM;
		id->san = n;
		*cap = ncap;
	}
	san = &id->san[id->san_count];
	memset(san, 0, sizeof(*san));
	san->type = type;
	if (type == EG_SAN_IP) {
		if (v->size == 4 || v->size == 16) {
			memcpy(san->ip, v->data, v->size);
			san->ip_len = v->size;
			inet_ntop(v->size == 4 ? AF_INET : AF_INET6, v->data,
				  text, sizeof(text));
			san->well_formed = true;
		} else {
			snprintf(text, sizeof(text),
				 "(invalid %u-byte address)", v->size);
		}
		ret = str_set(&san->value, text, strlen(text));
	} else {
		const char *p = (const char *)v->data;

		ret = str_set(&san->value, v->data, v->size);
		if (memchr(p, '\0', v->size) != NULL)
			san->well_formed = false;
		else if (type == EG_SAN_DNS)
			san->well_formed = eg_identity_dns_valid(p, v->size);
		else if (type == EG_SAN_EMAIL)
			san->well_formed = eg_identity_email_valid(p, v->size);
		else
			san->well_formed = eg_identity_uri_valid(p, v->size);
	}
	if (ret == 0)
		id->san_count++;
	return ret;
}

static int read_sans(gnutls_x509_crt_t crt, struct eg_identity *id)
{
	gnutls_datum_t ext = {NULL, 0};
	gnutls_subject_alt_names_t sans = NULL;
	unsigned critical;
	size_t cap = 0;
	int ret;

	ret = gnutls_x509_crt_get_extension_by_oid2(crt, "2.5.29.17", 0, &ext,
						    &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0)
		return EG_E_PARSE;
	if (gnutls_subject_alt_names_init(&sans) < 0) {
		ret = EG_E_NOMEM;
		goto out;
	}
	if (gnutls_x509_ext_import_subject_alt_names(&ext, sans, 0) < 0) {
		ret = EG_E_PARSE;
		goto out;
	}
	for (unsigned seq = 0;; seq++) {
		unsigned type;
		gnutls_datum_t v, oid;

		ret = gnutls_subject_alt_names_get(sans, seq, &type, &v, &oid);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
			ret = 0;
			break;
		}
		if (ret < 0) {
			ret = EG_E_PARSE;
			break;
		}
		if (seq >= EG_MAX_SAN) {
			ret = EG_E_PARSE;
			break;
		}
		switch (type) {
		case GNUTLS_SAN_DNSNAME:
			ret = add_san(id, &cap, EG_SAN_DNS, &v);
			break;
		case GNUTLS_SAN_URI:
			ret = add_san(id, &cap, EG_SAN_URI, &v);
			break;
		case GNUTLS_SAN_IPADDRESS:
			ret = add_san(id, &cap, EG_SAN_IP, &v);
			break;
		case GNUTLS_SAN_RFC822NAME:
			ret = add_san(id, &cap, EG_SAN_EMAIL, &v);
			break;
		default:
			/* otherName, directoryName, ...: never allowlisted */
			break;
		}
		if (ret < 0)
			break;
	}
out:
	gnutls_subject_alt_names_deinit(sans);
	gnutls_free(ext.data);
	return ret;
}

/* ASN.1 universal tags of the X.520 DirectoryString choices (and the
 * IA5String some CAs use for them). */
enum {
	TAG_UTF8_STRING = 12,
	TAG_NUMERIC_STRING = 18,
	TAG_PRINTABLE_STRING = 19,
	TAG_TELETEX_STRING = 20,
	TAG_IA5_STRING = 22,
	TAG_VISIBLE_STRING = 26,
	TAG_UNIVERSAL_STRING = 28,
	TAG_BMP_STRING = 30,
};

/* Values of one attribute past this make the certificate malformed. */
#define EG_MAX_ATTR_VALUES 64

/* BMPString (width 2) or UniversalString (width 4) into UTF-8. A value
 * that is not whole code points is kept empty, which never matches. */
static int ucs_to_utf8(struct eg_str *s, const gnutls_datum_t *v,
		       unsigned width)
{
	size_t n = v->size / width, o = 0;
	char *out;

	if (v->size % width != 0)
		return str_set(s, "", 0);
	out = eg_malloc(4 * n + 1);
	if (out == NULL)
		return EG_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned long c = 0;

		for (unsigned b = 0; b < width; b++)
			c = c << 8 | v->data[i * width + b];
		if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) {
			eg_free(out);
			return str_set(s, "", 0);
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | (c >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
	s->ptr = out;
	s->len = o;
	return 0;
}

/* Appends one attribute value as the string the certificate holds; a type
 * that is not a string is kept empty, so it is listed but never matches. */
static int add_attr(struct eg_str_list *list, unsigned long tag,
		    const gnutls_datum_t *v)
{
	struct eg_str *n;
	int ret;

	if (list->n >= EG_MAX_ATTR_VALUES)
		return EG_E_PARSE;
	n = eg_realloc(list->v, (list->n + 1) * sizeof(*n));
	if (n == NULL)
		return EG_E_NOMEM;
	list->v = n;
	n = &list->v[list->n];
	switch (tag) {
	case TAG_UTF8_STRING:
	case TAG_NUMERIC_STRING:
	case TAG_PRINTABLE_STRING:
	case TAG_TELETEX_STRING:
	case TAG_IA5_STRING:
	case TAG_VISIBLE_STRING:
		ret = str_set(n, v->data, v->size);
		break;
	case TAG_BMP_STRING:
		ret = ucs_to_utf8(n, v, 2);
		break;
	case TAG_UNIVERSAL_STRING:
		ret = ucs_to_utf8(n, v, 4);
		break;
	default:
		ret = str_set(n, "", 0);
		break;
	}
	if (ret == 0)
		list->n++;
	return ret;
}

static bool oid_is(const gnutls_datum_t *oid, const char *want)
{
	size_t n = strlen(want);

	return (oid->size == n || (oid->size == n + 1 && oid->data[n] == 0)) &&
	       memcmp(oid->data, want, n) == 0;
}

/*
 * Reads every CN, O and OU value of the subject, in certificate order, as
 * the raw string values rather than GnuTLS's RFC 4514 rendering: that one
 * escapes specials ("Example\, Inc.") and hex-encodes values it cannot
 * print ("#0c03..."), and an allowlist entry must be compared with what the
 * certificate says, NUL bytes included.
 */
static int read_subject_attrs(gnutls_x509_crt_t crt, struct eg_identity *id)
{
	gnutls_x509_dn_t dn;

	if (gnutls_x509_crt_get_subject(crt, &dn) < 0)
		return EG_E_PARSE;
	for (int irdn = 0;; irdn++) {
		for (int iava = 0;; iava++) {
			gnutls_x509_ava_st ava;
			struct eg_str_list *list = NULL;
			int ret;

			ret = gnutls_x509_dn_get_rdn_ava(dn, irdn, iava, &ava);
			if (ret == GNUTLS_E_ASN1_ELEMENT_NOT_FOUND) {
				if (iava == 0)
					return 0;
				break;
			}
			if (ret < 0)
				return EG_E_PARSE;
			if (oid_is(&ava.oid, GNUTLS_OID_X520_COMMON_NAME))
				list = &id->cn;
			else if (oid_is(&ava.oid,
					GNUTLS_OID_X520_ORGANIZATION_NAME))
				list = &id->o;
			else if (
				oid_is(&ava.oid,
				       GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME))
				list = &id->ou;
			if (list == NULL)
				continue;
			ret = add_attr(list, ava.value_tag, &ava.value);
			if (ret < 0)
				return ret;
		}
	}
}

static int read_eku(gnutls_x509_crt_t crt, struct eg_identity *id)
{
	for (unsigned idx = 0;; idx++) {
		char oid[128];
		size_t size = sizeof(oid);
		int ret;

		ret = gnutls_x509_crt_get_key_purpose_oid(crt, idx, oid, &size,
							  NULL);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* not an OID we look for */
		if (ret < 0)
			return EG_E_PARSE;
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			id->has_client_auth_eku = true;
	}
}

static int read_spki_hash(gnutls_x509_crt_t crt, struct eg_identity *id)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t spki = {NULL, 0};
	int ret = EG_E_PARSE;

	if (gnutls_pubkey_init(&pub) < 0)
		return EG_E_NOMEM;
	if (gnutls_pubkey_import_x509(pub, crt, 0) < 0)
		goto out;
	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) < 0)
		goto out;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size,
			     id->spki_sha256_raw) < 0)
		goto out;
	hex_encode(id->spki_sha256_raw, 32, id->spki_sha256);
	ret = 0;
out:
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);
	return ret;
}

/* s = the RFC 4514 string of a DN of crt, read by `get` (subject or
 * issuer). */
static int dn_set(struct eg_str *s, gnutls_x509_crt_t crt,
		  int (*get)(gnutls_x509_crt_t, gnutls_datum_t *, unsigned))
{
	gnutls_datum_t dn = {NULL, 0};
	int ret;

	if (get(crt, &dn, 0) < 0)
		return EG_E_PARSE;
	ret = str_set(s, dn.data, dn.size);
	gnutls_free(dn.data);
	return ret;
}

int eg_identity_from_crt(gnutls_x509_crt_t crt, const gnutls_datum_t *der,
			 struct eg_identity **out)
{
	struct eg_identity *id;
	unsigned char serial[33];
	size_t serial_len = sizeof(serial);
	int ret;

	*out = NULL;
	id = eg_calloc(1, sizeof(*id));
	if (id == NULL)
		return EG_E_NOMEM;

	ret = dn_set(&id->subject, crt, gnutls_x509_crt_get_dn3);
	if (ret == 0)
		ret = dn_set(&id->issuer, crt, gnutls_x509_crt_get_issuer_dn3);
	if (ret < 0)
		goto fail;

	ret = EG_E_PARSE;
	if (gnutls_x509_crt_get_serial(crt, serial, &serial_len) < 0 ||
	    serial_len > 32)
		goto fail;
	hex_encode(serial, serial_len, id->serial);

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size,
			     id->sha256_raw) < 0)
		goto fail;
	hex_encode(id->sha256_raw, 32, id->sha256);

	id->not_before = gnutls_x509_crt_get_activation_time(crt);
	id->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (id->not_before == (time_t)-1 || id->not_after == (time_t)-1)
		goto fail;

	if ((ret = read_spki_hash(crt, id)) < 0 ||
	    (ret = read_subject_attrs(crt, id)) < 0 ||
	    (ret = read_sans(crt, id)) < 0 || (ret = read_eku(crt, id)) < 0)
		goto fail;
	*out = id;
	return 0;
fail:
	eg_identity_free(id);
	return ret;
}

int eg_identity_from_der(const unsigned char *der, size_t len,
			 struct eg_identity **out)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = {(unsigned char *)der, (unsigned)len};
	int ret;

	*out = NULL;
	if (der == NULL || len == 0 || len > 1024 * 1024)
		return EG_E_PARSE;
	if (gnutls_x509_crt_init(&crt) < 0)
		return EG_E_NOMEM;
	ret = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	if (ret < 0)
		ret = EG_E_PARSE;
	else
		ret = eg_identity_from_crt(crt, &d, out);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

static void str_list_free(struct eg_str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		eg_free(l->v[i].ptr);
	eg_free(l->v);
}

void eg_identity_free(struct eg_identity *id)
{
	if (id == NULL)
		return;
	eg_free(id->subject.ptr);
	eg_free(id->issuer.ptr);
	str_list_free(&id->cn);
	str_list_free(&id->o);
	str_list_free(&id->ou);
	for (size_t i = 0; i < id->san_count; i++)
		eg_free(id->san[i].value.ptr);
	eg_free(id->san);
	eg_free(id);
}

/*
 * Appends "key=value" with non-printable bytes as \xNN. An entry that does
 * not fit is left out whole and ends the summary (the return value then
 * says "full"): a cut value would read as a different, shorter name.
 */
static size_t summary_add(char *buf, size_t len, size_t off, const char *key,
			  const struct eg_str *v)
{
	size_t start = off;
	int n;

	if (off + 1 >= len)
		return off;
	n = snprintf(buf + off, len - off, "%s%s=", off ? ", " : "", key);
	if (n < 0 || (size_t)n >= len - off)
		goto full;
	off += (size_t)n;
	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->ptr[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';

		/* The byte as 1 or 4 characters, and the terminator. */
		if (off + (plain ? 1 : 4) + 1 > len)
			goto full;
		if (plain)
			buf[off++] = (char)c;
		else
			off += (size_t)snprintf(buf + off, len - off, "\\x%02x",
						c);
	}
	buf[off] = '\0';
	return off;
full:
	buf[start] = '\0';
	return len;
}

const char *eg_identity_summary(const struct eg_identity *id, char *buf,
				size_t buflen)
{
	static const char *const san_key[] = {"dns", "uri", "ip", "email"};
	size_t off = 0;

	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	if (id == NULL)
		return buf;
	for (size_t i = 0; i < id->cn.n; i++)
		off = summary_add(buf, buflen, off, "cn", &id->cn.v[i]);
	for (size_t i = 0; i < id->san_count; i++)
		off = summary_add(buf, buflen, off, san_key[id->san[i].type],
				  &id->san[i].value);
	return buf;
}
