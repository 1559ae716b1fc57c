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
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return s[len - 1] != '-';
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

/* Reads every value of one subject attribute (CN, O or OU). */
static int read_attr(gnutls_x509_crt_t crt, const char *oid,
		     struct eg_str_list *list)
{
	for (unsigned idx = 0;; idx++) {
		size_t size = 0;
		char *buf;
		struct eg_str *n;
		int ret;

		ret = gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, NULL,
						    &size);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (idx >= 64)
			return EG_E_PARSE;
		n = eg_realloc(list->v, (list->n + 1) * sizeof(*n));
		if (n == NULL)
			return EG_E_NOMEM;
		list->v = n;
		n = &list->v[list->n];
		if (ret != GNUTLS_E_SHORT_MEMORY_BUFFER) {
			/* A value GnuTLS will not render (e.g. an embedded
			 * NUL): keep an empty, never-matching entry. */
			if (str_set(n, "", 0) < 0)
				return EG_E_NOMEM;
			list->n++;
			continue;
		}
		buf = eg_malloc(size + 1);
		if (buf == NULL)
			return EG_E_NOMEM;
		ret = gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, buf,
						    &size);
		if (ret < 0) {
			eg_free(buf);
			return EG_E_PARSE;
		}
		buf[size] = '\0';
		n->ptr = buf;
		n->len = size;
		list->n++;
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

int eg_identity_from_crt(gnutls_x509_crt_t crt, const gnutls_datum_t *der,
			 struct eg_identity **out)
{
	struct eg_identity *id;
	gnutls_datum_t dn = {NULL, 0};
	unsigned char serial[33];
	size_t serial_len = sizeof(serial);
	int ret;

	*out = NULL;
	id = eg_calloc(1, sizeof(*id));
	if (id == NULL)
		return EG_E_NOMEM;

	ret = EG_E_PARSE;
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0)
		goto fail;
	ret = str_set(&id->subject, dn.data, dn.size);
	gnutls_free(dn.data);
	dn.data = NULL;
	if (ret < 0)
		goto fail;
	ret = EG_E_PARSE;
	if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) < 0)
		goto fail;
	ret = str_set(&id->issuer, dn.data, dn.size);
	gnutls_free(dn.data);
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
	    (ret = read_attr(crt, GNUTLS_OID_X520_COMMON_NAME, &id->cn)) < 0 ||
	    (ret = read_attr(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, &id->o)) <
		    0 ||
	    (ret = read_attr(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
			     &id->ou)) < 0 ||
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

/* Appends "key=value" with non-printable bytes as \xNN; stops when full. */
static size_t summary_add(char *buf, size_t len, size_t off, const char *key,
			  const struct eg_str *v)
{
	int n;

	if (off + 1 >= len)
		return off;
	n = snprintf(buf + off, len - off, "%s%s=", off ? ", " : "", key);
	if (n < 0 || (size_t)n >= len - off)
		return len - 1;
	off += (size_t)n;
	for (size_t i = 0; i < v->len && off + 5 < len; i++) {
		unsigned char c = (unsigned char)v->ptr[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[off++] = (char)c;
		else
			off += (size_t)snprintf(buf + off, len - off, "\\x%02x",
						c);
	}
	buf[off] = '\0';
	return off;
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
