/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hop.h"
#include "core/log.h"
#include "forwarder/forwarder.h"

#define BIN_SIZE	 16384
#define BOUT_EXTRA	 32768
#define RESP_HEAD_MAX	 49152
#define RESP_HEADERS_MAX 256

static int lazy_buffers(struct egf_conn *c)
{
	if (c->bout.data == NULL &&
	    egd_buf_init(&c->bout,
			 c->cfg->limits.max_header_bytes + BOUT_EXTRA) == -1)
		return -1;
	if (c->bin.data == NULL && egd_buf_init(&c->bin, BIN_SIZE) == -1)
		return -1;
	if (!c->resp_init) {
		if (egd_http_init(&c->resp, true, RESP_HEAD_MAX,
				  RESP_HEADERS_MAX) == -1)
			return -1;
		c->resp_init = true;
	}
	return 0;
}

/* RFC 9110 9.2.2: a request a client may send twice. Only those without a
 * body are resent, so the copy is the head alone. */
static bool replayable(const llhttp_t *p)
{
	switch (p->method) {
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_OPTIONS:
	case HTTP_TRACE:
	case HTTP_PUT:
	case HTTP_DELETE:
		break;
	default:
		return false;
	}
	return (p->flags & F_CHUNKED) == 0 &&
	       ((p->flags & F_CONTENT_LENGTH) == 0 || p->content_length == 0);
}

/* One X-Forwarded-For: what the edge proxy said, then who we saw (nothing
 * more for a unix socket peer, which has no address). */
static bool put_forwarded(struct egf_conn *c, struct egd_buf *o)
{
	const struct egd_http *h = &c->req;
	bool first = true;

	for (int i = egd_http_find(h, "X-Forwarded-For", 0); i != -1;
	     i = egd_http_find(h, "X-Forwarded-For", (unsigned)i + 1)) {
		if (!egd_buf_appends(o, first ? "X-Forwarded-For: " : ", ") ||
		    !egd_buf_append(o, egd_http_str(h, h->hdr[i].value),
				    h->hdr[i].value_len))
			return false;
		first = false;
	}
	if (c->ip[0] != '\0')
		return egd_buf_printf(o, "%s%s\r\n",
				      first ? "X-Forwarded-For: " : ", ",
				      c->ip);
	return first || egd_buf_append(o, "\r\n", 2);
}

static bool put_head(struct egf_conn *c)
{
	const struct egd_http *h = &c->req;
	struct egd_buf *o = &c->bout;

	if (!egd_buf_printf(o, "%s ",
			    llhttp_method_name(llhttp_get_method(
				    (llhttp_t *)&h->parser))) ||
	    !egd_buf_append(o, egd_http_str(h, h->url), h->url_len) ||
	    !egd_buf_printf(o, " HTTP/1.%d\r\n", c->req_http10 ? 0 : 1))
		return false;
	for (unsigned i = 0; i < h->n; i++) {
		const char *name = egd_http_str(h, h->hdr[i].name);
		size_t nlen = h->hdr[i].name_len;

		if (egd_is_hop_header(name, nlen) ||
		    egd_http_name_is(h, i, "X-Forwarded-For") ||
		    egd_connection_lists(h, name, nlen))
			continue;
		if (!egd_buf_append(o, name, nlen) ||
		    !egd_buf_append(o, ": ", 2) ||
		    !egd_buf_append(o, egd_http_str(h, h->hdr[i].value),
				    h->hdr[i].value_len) ||
		    !egd_buf_append(o, "\r\n", 2))
			return false;
	}
	/* An HTTP/1.0 request is closed by the origin after its answer:
	 * asking for keep-alive would not make it reusable here. */
	return put_forwarded(c, o) && egd_buf_append(o, "\r\n", 2);
}

int egf_request_connect(struct egf_conn *c, bool fresh)
{
	c->attempts++;
	c->up = egf_upstream_get(c->w, c, c->rcfg, c->origin, fresh);
	c->up_last_io = ev_now(c->w->loop);
	return c->up == NULL ? -1 : 0;
}

int egf_request_head(struct egf_conn *c)
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
		return -1;
	}
	if (llhttp_get_method(&c->req.parser) == HTTP_CONNECT) {
		egf_conn_reply(c, 405, NULL, "405 Method Not Allowed\n", true);
		return -1;
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
		return -1;
	}
	egf_count(&c->origin->stats->requests);
	if (lazy_buffers(c) == -1) {
		egf_conn_reply(c, 500, NULL, "500 Internal Server Error\n",
			       true);
		return -1;
	}
	egd_buf_reset(&c->bout);
	if (!put_head(c)) {
		egd_buf_reset(&c->bout);
		egf_conn_reply(c, 431, NULL,
			       "431 Request Header Fields Too Large\n", true);
		return -1;
	}
	egd_http_next(&c->resp);
	c->resp.no_body = c->head_method_head;
	c->up_reusable = true;
	if (replayable(&c->req.parser)) {
		c->replay = malloc(egd_buf_len(&c->bout));
		if (c->replay != NULL) {
			c->replay_len = egd_buf_len(&c->bout);
			memcpy(c->replay, egd_buf_head(&c->bout),
			       c->replay_len);
		}
	}
	if (egf_request_connect(c, false) == -1) {
		snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
		egf_upstream_failed(c, EGF_E_CONNECT, msg);
		return -1;
	}
	return 0;
}
