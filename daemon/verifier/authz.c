/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/x509.h>

#include "core/log.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

/*
 * The authorization endpoint: a proxy that terminated TLS itself (nginx
 * auth_request, Envoy ext_authz, Traefik forwardAuth, Caddy forward_auth)
 * hands us the client certificate in a header; we answer 200 with the
 * identity headers or 403 with the reason, and audit exactly like for our
 * own connections.
 */

#define CHAIN_MAX 16

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

struct chain {
	gnutls_x509_crt_t *crts; /* owned, from gnutls_x509_crt_list_import2 */
	unsigned n;
	gnutls_datum_t der[CHAIN_MAX]; /* owned (gnutls_free) */
	struct eg_der v[CHAIN_MAX];
	size_t nv;
};

static void chain_free(struct chain *ch)
{
	for (unsigned i = 0; i < ch->n; i++)
		gnutls_x509_crt_deinit(ch->crts[i]);
	gnutls_free(ch->crts);
	for (size_t i = 0; i < ch->nv; i++)
		gnutls_free(ch->der[i].data);
}

static int chain_add_der(struct chain *ch, gnutls_datum_t *der)
{
	if (ch->nv == CHAIN_MAX) {
		gnutls_free(der->data);
		return 0;
	}
	ch->der[ch->nv] = *der;
	ch->v[ch->nv].data = der->data;
	ch->v[ch->nv].len = der->size;
	ch->nv++;
	return 0;
}

/* PEM (one or more certificates) to DER through GnuTLS. */
static int import_pem(struct chain *ch, const char *pem, size_t len)
{
	gnutls_datum_t in = {(unsigned char *)pem, (unsigned)len};
	int ret;

	ret = gnutls_x509_crt_list_import2(&ch->crts, &ch->n, &in,
					   GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < ch->n; i++) {
		gnutls_datum_t der = {NULL, 0};

		ret = gnutls_x509_crt_export2(ch->crts[i], GNUTLS_X509_FMT_DER,
					      &der);
		if (ret < 0)
			return ret;
		chain_add_der(ch, &der);
	}
	return 0;
}

/* Traefik: comma-separated base64 DER certificates, or PEM. */
static int import_b64_list(struct chain *ch, const char *s, size_t len)
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

/* Finds the certificate in the request. Returns 0 (ch->nv may be 0: no
 * certificate) or a negative GnuTLS error for an undecodable one. */
static int find_cert(struct vf_conn *c, const char *hname, struct chain *ch)
{
	const struct egd_http *h = &c->req;
	const char *raw = NULL;
	size_t rawlen = 0, len = 0;
	bool traefik = false;
	char *text;
	int i, ret;

	if ((i = egd_http_find(h, hname, 0)) != -1) {
		raw = egd_http_str(h, h->hdr[i].value);
		rawlen = h->hdr[i].value_len;
	} else if ((i = egd_http_find(h, "X-Forwarded-Client-Cert", 0)) != -1) {
		raw = xfcc_cert(egd_http_str(h, h->hdr[i].value),
				h->hdr[i].value_len, &rawlen);
	} else if ((i = egd_http_find(h, "X-Forwarded-Tls-Client-Cert", 0)) !=
		   -1) {
		raw = egd_http_str(h, h->hdr[i].value);
		rawlen = h->hdr[i].value_len;
		traefik = true;
	}
	while (raw != NULL && rawlen > 0 &&
	       (raw[rawlen - 1] == ' ' || raw[rawlen - 1] == '\t'))
		rawlen--;
	if (raw == NULL || rawlen == 0)
		return 0;
	text = unescape(raw, rawlen, &len);
	if (text == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	ret = traefik ? import_b64_list(ch, text, len)
		      : import_pem(ch, text, len);
	free(text);
	return ret;
}

/* A copy of header `name` as a C string (NUL refused), or NULL. */
static const char *header_cstr(const struct egd_http *h, const char *name,
			       char *buf, size_t buflen)
{
	int i = egd_http_find(h, name, 0);
	size_t len;

	if (i == -1)
		return NULL;
	len = h->hdr[i].value_len;
	if (len >= buflen ||
	    memchr(egd_http_str(h, h->hdr[i].value), '\0', len) != NULL)
		return NULL;
	memcpy(buf, egd_http_str(h, h->hdr[i].value), len);
	buf[len] = '\0';
	return buf;
}

void vf_authz_request(struct vf_conn *c)
{
	struct vf_config *cfg = vf_worker_config(c->w);
	struct chain ch;
	struct eg_peer *peer = NULL;
	struct eg_decision d;
	struct eg_request req;
	struct egd_buf hdrs = {NULL, 0, 0, 0};
	char hbuf[256], pbuf[4096], body[128];
	const char *method;
	int ret;

	memset(&ch, 0, sizeof(ch));
	req.host = header_cstr(&c->req, "X-Original-Host", hbuf, sizeof(hbuf));
	if (req.host == NULL)
		req.host = header_cstr(&c->req, "X-Forwarded-Host", hbuf,
				       sizeof(hbuf));
	req.path = header_cstr(&c->req, "X-Original-URI", pbuf, sizeof(pbuf));
	if (req.path == NULL)
		req.path = header_cstr(&c->req, "X-Forwarded-Uri", pbuf,
				       sizeof(pbuf));
	method = llhttp_method_name(llhttp_get_method(&c->req.parser));
	ret = find_cert(c, cfg->authz_header, &ch);
	if (ret < 0) {
		/* Something was sent that is not a certificate: the library
		 * classifies garbage DER as malformed. */
		static const unsigned char junk[1] = {0};

		egd_log(EGD_INFO, "%s: authz: certificate header: %s", c->addr,
			gnutls_strerror(ret));
		for (size_t i = 0; i < ch.nv; i++)
			gnutls_free(ch.der[i].data);
		ch.nv = 0;
		ch.v[0].data = junk;
		ch.v[0].len = sizeof(junk);
		ret = eg_peer_verify(cfg->policy, ch.v, 1, time(NULL), &peer);
	} else {
		ret = eg_peer_verify(cfg->policy, ch.v, ch.nv, time(NULL),
				     &peer);
	}
	if (ret == 0)
		ret = eg_policy_decide(cfg->policy, peer, &req, &d);
	if (ret < 0) {
		memset(&d, 0, sizeof(d));
		d.event = EG_EVENT_REJECT;
		d.reason = ret == EG_E_BAD_REQUEST ? EG_REASON_NONE
						   : EG_REASON_INTERNAL_ERROR;
		d.rule = "default";
	}
	if (ret == EG_E_BAD_REQUEST) {
		vf_conn_reply(c, 400, NULL, NULL, "400 Bad Request\n",
			      c->close_after);
		goto out;
	}
	vf_audit_event(cfg, "authz", c->addr, NULL, &d, method, req.host,
		       req.path);
	if (d.admit && egd_buf_reserve(&hdrs, 16384) == 0 &&
	    vf_identity_headers(&hdrs, cfg, ch.v, ch.nv, &d) &&
	    egd_buf_append(&hdrs, "", 1)) {
		vf_conn_reply(c, 200, NULL, egd_buf_head(&hdrs), "",
			      c->close_after);
	} else {
		char extra[96];

		if (d.admit)
			d.reason = EG_REASON_INTERNAL_ERROR;
		snprintf(extra, sizeof(extra), "X-Edgeguard-Reason: %s\r\n",
			 eg_reason_name(d.reason));
		snprintf(body, sizeof(body), "403 Forbidden: %s\n",
			 eg_reason_name(d.reason));
		vf_conn_reply(c, 403, "text/plain", extra, body,
			      c->close_after);
	}
out:
	egd_buf_free(&hdrs);
	eg_peer_free(peer);
	chain_free(&ch);
}
