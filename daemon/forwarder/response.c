/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "core/hop.h"
#include "core/log.h"
#include "forwarder/forwarder.h"

int egf_response_head(struct egf_conn *c)
{
	const struct egd_http *h = &c->resp;
	struct egd_buf *o = &c->cout;
	int status = llhttp_get_status_code((llhttp_t *)&h->parser);
	bool interim = status >= 100 && status < 200;

	if (status == 101) {
		/* Upgrade was stripped from the request: a switch is an
		 * origin bug we must not relay. */
		egf_upstream_failed(c, EGF_E_PROTOCOL,
				    "switched protocols unasked (101)");
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
