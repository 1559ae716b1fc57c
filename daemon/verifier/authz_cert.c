/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/x509.h>

#include "verifier/authz_cert.h"

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* URL-unescapes len bytes of src into a new NUL-terminated string (caller
 * frees). Malformed escapes are kept literally; GnuTLS rejects the PEM. */
static char *unescape(const char *src, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (src[i] == '%' && i + 2 < len &&
		    (hi = hexval(src[i + 1])) >= 0 &&
		    (lo = hexval(src[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = src[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

void vf_authz_chain_free(struct vf_authz_chain *ch)
{
	for (size_t i = 0; i < ch->nv; i++)
		gnutls_free(ch->der[i].data);
}

/* Takes der; beyond VF_AUTHZ_CHAIN_MAX it is dropped. */
static void chain_add_der(struct vf_authz_chain *ch, gnutls_datum_t *der)
{
	if (ch->nv == VF_AUTHZ_CHAIN_MAX) {
		gnutls_free(der->data);
		return;
	}
	ch->der[ch->nv] = *der;
	ch->v[ch->nv].data = der->data;
	ch->v[ch->nv].len = der->size;
	ch->nv++;
}

/* PEM (one or more certificates) to DER through GnuTLS; the parsed
 * certificates are only the way there: the policy verifies the DER. */
static int import_pem(struct vf_authz_chain *ch, const char *pem, size_t len)
{
	gnutls_datum_t in = {(unsigned char *)pem, (unsigned)len};
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int ret;

	ret = gnutls_x509_crt_list_import2(&crts, &n, &in, GNUTLS_X509_FMT_PEM,
					   0);
	for (unsigned i = 0; i < n; i++) {
		gnutls_datum_t der = {NULL, 0};

		if (ret >= 0 &&
		    (ret = gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER,
						   &der)) >= 0)
			chain_add_der(ch, &der);
		gnutls_x509_crt_deinit(crts[i]);
	}
	gnutls_free(crts);
	return ret < 0 ? ret : 0;
}

/* Traefik: comma-separated base64 DER certificates, or PEM. */
static int import_b64_list(struct vf_authz_chain *ch, const char *s, size_t len)
{
	size_t i = 0;
	int ret;

	if (memmem(s, len, "-----BEGIN", 10) != NULL)
		return import_pem(ch, s, len);
	while (i < len) {
		size_t start = i;
		gnutls_datum_t b64, der = {NULL, 0};

		while (i < len && s[i] != ',')
			i++;
		b64.data = (unsigned char *)s + start;
		b64.size = (unsigned)(i - start);
		i++;
		if (b64.size == 0)
			continue;
		ret = gnutls_base64_decode2(&b64, &der);
		if (ret < 0)
			return ret;
		chain_add_der(ch, &der);
	}
	return 0;
}

/* The Cert="..." field of the first XFCC element (Envoy). */
static const char *xfcc_cert(const char *v, size_t len, size_t *outlen)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		if (v[i] == ',')
			return NULL; /* only the nearest hop's element */
		if ((i == 0 || v[i - 1] == ';') &&
		    strncasecmp(v + i, "Cert=\"", 6) == 0) {
			const char *start = v + i + 6;
			const char *end =
				memchr(start, '"', len - (size_t)(start - v));

			if (end == NULL)
				return NULL;
			*outlen = (size_t)(end - start);
			return start;
		}
	}
	return NULL;
}

int vf_authz_chain_parse(struct vf_authz_chain *ch, enum vf_authz_form form,
			 const char *value, size_t len)
{
	char *text;
	size_t textlen = 0;
	int ret;

	if (form == VF_AUTHZ_XFCC)
		value = xfcc_cert(value, len, &len);
	while (value != NULL && len > 0 &&
	       (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	if (value == NULL || len == 0)
		return 0;
	text = unescape(value, len, &textlen);
	if (text == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	ret = form == VF_AUTHZ_TRAEFIK ? import_b64_list(ch, text, textlen)
				       : import_pem(ch, text, textlen);
	free(text);
	return ret;
}
