/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fwd.h"
#include "core/hop.h"
#include "core/log.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

#define CHAIN_MAX 16

/* Trailer fields travel inside the body, past the header rewrite: one that
 * a backend merging trailers into the head would take for framing,
 * routing or our identity headers ends the request (RFC 9110 6.5.1). */
bool vf_request_trailers_ok(const struct egd_http *h)
{
	static const char *const banned[] = {"Content-Length",
					     "Transfer-Encoding", "Host", NULL};

	for (unsigned i = h->n_head; i < h->n; i++) {
		const char *name = egd_http_str(h, h->hdr[i].name);
		size_t len = h->hdr[i].name_len;

		if (vf_is_identity_header(name, len) ||
		    egd_is_hop_header(name, len))
			return false;
		for (const char *const *b = banned; *b != NULL; b++)
			if (egd_http_name_is(h, i, *b))
				return false;
	}
	return true;
}

/* Copies a peer-supplied value into a C string for the library; a value
 * holding NUL cannot be represented and is refused. */
static int cstr(const char *p, size_t len, char *buf, size_t buflen)
{
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len >= buflen || memchr(p, '\0', len) != NULL)
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return 0;
}

/* RFC 7239 6: an IPv6 node is quoted and bracketed; a unix socket peer
 * ("unix:") has no address to give. */
static bool put_forwarded(struct egd_buf *o, const char *ip)
{
	if (strncmp(ip, "unix:", 5) == 0)
		return egd_buf_appends(
			o, "Forwarded: for=unknown;proto=https\r\n");
	return egd_buf_printf(o, "Forwarded: for=%s%s%s;proto=https\r\n",
			      strchr(ip, ':') ? "\"[" : "", ip,
			      strchr(ip, ':') ? "]\"" : "");
}

static bool put_head(struct vf_conn *c, const struct eg_decision *d,
		     const struct eg_der *chain, size_t n)
{
	struct egd_buf *o = &c->bout;

	/* The edge's X-Forwarded-For, then who we saw. */
	return egd_fwd_put_head(o, &c->req, c->req_http10,
				vf_is_identity_header) &&
	       egd_fwd_put_xff(o, &c->req, c->ip) && put_forwarded(o, c->ip) &&
	       vf_identity_headers(o, vf_worker_config(c->w), chain, n, d) &&
	       egd_buf_append(o, "\r\n", 2);
}

void vf_request_head(struct vf_conn *c)
{
	const struct egd_http *h = &c->req;
	struct eg_der chain[CHAIN_MAX];
	struct eg_decision d;
	char host[256], path[4096], body[128];
	const char *method;
	bool replay;
	int hi, ret;
	size_t n;

	method = llhttp_method_name(llhttp_get_method(&c->req.parser));
	hi = egd_http_find(h, "Host", 0);
	if ((hi == -1 && !c->req_http10) ||
	    (hi != -1 && egd_http_find(h, "Host", (unsigned)hi + 1) != -1) ||
	    (hi != -1 &&
	     cstr(egd_http_str(h, h->hdr[hi].value), h->hdr[hi].value_len, host,
		  sizeof(host)) == -1) ||
	    cstr(egd_http_str(h, h->url), h->url_len, path, sizeof(path)) ==
		    -1) {
		vf_count(&vf_metrics.bad_requests);
		vf_conn_reply(c, 400, NULL, NULL, "400 Bad Request\n", true);
		return;
	}
	if (hi == -1)
		egd_tls_sni(c->client.tls, host, sizeof(host));
	if (llhttp_get_method(&c->req.parser) == HTTP_CONNECT) {
		vf_conn_reply(c, 405, NULL, NULL, "405 Method Not Allowed\n",
			      true);
		return;
	}
	ret = vf_decide(c, host[0] ? host : NULL, path, &d);
	if (ret == EG_E_BAD_REQUEST) {
		vf_count(&vf_metrics.bad_requests);
		vf_conn_reply(c, 400, NULL, NULL, "400 Bad Request\n", true);
		return;
	}
	if (ret < 0) {
		/* Fail closed: whatever went wrong is a rejection. */
		memset(&d, 0, sizeof(d));
		d.event = EG_EVENT_REJECT;
		d.reason = EG_REASON_INTERNAL_ERROR;
		d.rule = "default";
	}
	vf_audit(c, "verifier", &d, method, host[0] ? host : NULL, path);
	if (ret < 0 || !d.admit) {
		snprintf(body, sizeof(body), "403 Forbidden: %s\n",
			 eg_reason_name(d.reason));
		vf_conn_reply(c, 403, "text/plain", NULL, body, true);
		return;
	}
	if (egd_fwd_buffers(&c->bout, &c->bin, &c->resp, &c->resp_init,
			    c->cfg->limits.max_header_bytes) == -1) {
		vf_conn_reply(c, 500, NULL, NULL, "500 Internal Server Error\n",
			      true);
		return;
	}
	vf_peer_chain(c, chain, CHAIN_MAX, &n);
	egd_buf_reset(&c->bout);
	if (!put_head(c, &d, chain, n)) {
		egd_buf_reset(&c->bout);
		vf_conn_reply(c, 431, NULL, NULL,
			      "431 Request Header Fields Too Large\n", true);
		return;
	}
	egd_http_next(&c->resp);
	c->resp.no_body = c->head_method_head;
	replay = egd_fwd_replayable(&c->req.parser);
	c->be = vf_backend_get(c->w, c, false, !replay);
	c->up_last_io = ev_now(c->w->loop);
	if (c->be == NULL) {
		vf_count(&vf_metrics.backend_errors[VF_BE_CONNECT]);
		egd_log(EGD_WARN, "%s: backend %s: %s", c->addr,
			c->cfg->backend_text, strerror(errno));
		egd_buf_reset(&c->bout);
		vf_conn_reply(c, 502, NULL, NULL, "502 Bad Gateway\n", true);
		return;
	}
	c->up_reusable = true;
	/* A pooled connection the backend closes just as we reuse it is a
	 * race no check before sending can close: resend what can be. */
	if (c->be->reused && replay)
		c->replay_len = egd_buf_len(&c->bout);
}
