/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/x509.h>

#include "core/log.h"
#include "verifier/authz_cert.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

/*
 * The authorization endpoint: a proxy that terminated TLS itself (nginx
 * auth_request, Envoy ext_authz, Traefik forwardAuth, Caddy forward_auth)
 * hands us the client certificate in a header; we answer 200 with the
 * identity headers or 403 with the reason, and audit exactly like for our
 * own connections.
 */

/* Finds the certificate in the request. Returns 0 (ch->nv may be 0: no
 * certificate) or a negative GnuTLS error for an undecodable one. */
static int find_cert(struct vf_conn *c, const char *hname,
		     struct vf_authz_chain *ch)
{
	static const struct {
		const char *name; /* NULL: the configured one */
		enum vf_authz_form form;
	} sources[] = {
		{NULL, VF_AUTHZ_PEM},
		{"X-Forwarded-Client-Cert", VF_AUTHZ_XFCC},
		{"X-Forwarded-Tls-Client-Cert", VF_AUTHZ_TRAEFIK},
	};
	const struct egd_http *h = &c->req;

	for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
		int i = egd_http_find(
			h, sources[s].name ? sources[s].name : hname, 0);

		if (i != -1)
			return vf_authz_chain_parse(
				ch, sources[s].form,
				egd_http_str(h, h->hdr[i].value),
				h->hdr[i].value_len);
	}
	return 0;
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
	struct vf_authz_chain ch;
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
	vf_authz_chain_free(&ch);
}
