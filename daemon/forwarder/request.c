/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fwd.h"
#include "core/log.h"
#include "forwarder/forwarder.h"

/* An HTTP/1.0 request is closed by the origin after its answer: asking for
 * keep-alive would not make it reusable here. A unix socket peer has no
 * address to add to X-Forwarded-For. */
static bool put_head(struct egf_conn *c)
{
	struct egd_buf *o = &c->bout;

	return egd_fwd_put_head(o, &c->req, c->req_http10, NULL) &&
	       egd_fwd_put_xff(o, &c->req, c->ip) &&
	       egd_buf_append(o, "\r\n", 2);
}

int egf_request_connect(struct egf_conn *c, bool fresh)
{
	c->attempts++;
	/* A request that can be sent again finds out about a pooled
	 * connection the origin closed by trying it; others check first. */
	c->up = egf_upstream_get(c->w, c, c->rcfg, c->origin, fresh,
				 c->replay_len == 0);
	c->up_last_io = ev_now(c->w->loop);
	return c->up == NULL ? -1 : 0;
}

void egf_request_head(struct egf_conn *c)
{
	const struct egd_http *h = &c->req;
	struct egf_config *cfg;
	char msg[160];
	int hi;

	hi = egd_http_find(h, "Host", 0);
	if ((hi == -1 && !c->req_http10) ||
	    (hi != -1 && egd_http_find(h, "Host", (unsigned)hi + 1) != -1) ||
	    (hi != -1 && memchr(egd_http_str(h, h->hdr[hi].value), '\0',
				h->hdr[hi].value_len) != NULL)) {
		egf_count(&egf_metrics.bad_requests);
		egf_conn_reply(c, 400, NULL, "400 Bad Request\n", true);
		return;
	}
	if (llhttp_get_method(&c->req.parser) == HTTP_CONNECT) {
		egf_conn_reply(c, 405, NULL, "405 Method Not Allowed\n", true);
		return;
	}
	cfg = egf_worker_config(c->w);
	c->rcfg = egf_config_ref(cfg);
	c->origin = hi == -1 ? cfg->default_origin
			     : egf_config_route(
				       cfg, egd_http_str(h, h->hdr[hi].value),
				       h->hdr[hi].value_len);
	if (c->origin == NULL) {
		egf_count(&egf_metrics.unrouted);
		egd_log(EGD_INFO, "%s: no origin serves Host '%.*s'", c->addr,
			hi == -1 ? 0 : (int)h->hdr[hi].value_len,
			hi == -1 ? "" : egd_http_str(h, h->hdr[hi].value));
		egf_conn_reply(c, 421, NULL, "421 Misdirected Request\n", true);
		return;
	}
	egf_count(&c->origin->stats->requests);
	if (egd_fwd_buffers(&c->bout, &c->bin, &c->resp, &c->resp_init,
			    c->cfg->limits.max_header_bytes) == -1) {
		egf_conn_reply(c, 500, NULL, "500 Internal Server Error\n",
			       true);
		return;
	}
	egd_buf_reset(&c->bout);
	if (!put_head(c)) {
		egd_buf_reset(&c->bout);
		egf_conn_reply(c, 431, NULL,
			       "431 Request Header Fields Too Large\n", true);
		return;
	}
	egd_http_next(&c->resp);
	c->resp.no_body = c->head_method_head;
	c->up_reusable = true;
	if (egd_fwd_replayable(&c->req.parser))
		c->replay_len = egd_buf_len(&c->bout);
	if (egf_request_connect(c, false) == -1) {
		snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
		egf_upstream_failed(c, EGF_E_CONNECT, msg);
	}
}
