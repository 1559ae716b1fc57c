/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

/* Responses towards the client: the backend's head rewritten for relay,
 * and the ones the verifier answers itself (403, 4xx, 5xx). */

#include <string.h>

#include "core/hop.h"
#include "core/log.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

int vf_response_head(struct vf_conn *c)
{
	const struct egd_http *h = &c->resp;
	struct egd_buf *o = &c->cout;
	int status = llhttp_get_status_code((llhttp_t *)&h->parser);
	bool interim = status >= 100 && status < 200;

	if (status == 101) {
		/* Upgrade was stripped from the request: a switch is a
		 * backend bug we must not relay. */
		vf_count(&vf_metrics.backend_errors[VF_BE_PROTOCOL]);
		c->be_reusable = false;
		vf_conn_reply(c, 502, NULL, NULL, "502 Bad Gateway\n", true);
		return -1;
	}
	if (!interim && (c->req_http10 || llhttp_message_needs_eof(&h->parser)))
		c->close_after = true;
	if (c->w->draining)
		c->close_after = true;
	egd_buf_printf(o, "HTTP/1.1 %d ", status);
	egd_buf_append(o, egd_http_str(h, h->status), h->status_len);
	egd_buf_append(o, "\r\n", 2);
	for (unsigned i = 0; i < h->n; i++) {
		const char *name = egd_http_str(h, h->hdr[i].name);
		size_t nlen = h->hdr[i].name_len;

		if (egd_is_hop_header(name, nlen) ||
		    egd_connection_lists(h, name, nlen))
			continue;
		egd_buf_append(o, name, nlen);
		egd_buf_append(o, ": ", 2);
		egd_buf_append(o, egd_http_str(h, h->hdr[i].value),
			       h->hdr[i].value_len);
		egd_buf_append(o, "\r\n", 2);
	}
	if (!interim && c->close_after)
		egd_buf_appends(o, "Connection: close\r\n");
	egd_buf_append(o, "\r\n", 2);
	return 0;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

void vf_conn_reply(struct vf_conn *c, int status, const char *ctype,
		   const char *extra_headers, const char *body, bool close)
{
	size_t blen = body ? strlen(body) : 0;

	if (egd_buf_reserve(
		    &c->cout,
		    blen + 512 + (extra_headers ? strlen(extra_headers) : 0)) ==
	    -1) {
		c->closing = true;
		return;
	}
	egd_buf_printf(&c->cout,
		       "HTTP/1.1 %d %s\r\nServer: edgeguard\r\n"
		       "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
		       status, status_text(status),
		       ctype ? ctype : "text/plain", blen,
		       close ? "Connection: close\r\n" : "",
		       extra_headers ? extra_headers : "");
	if (!c->head_method_head && blen > 0)
		egd_buf_append(&c->cout, body, blen);
	c->rs = RS_DONE;
	if (close) {
		c->rq = RQ_DONE;
		c->closing = true;
	}
}
