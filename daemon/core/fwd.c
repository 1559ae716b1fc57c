/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "core/fwd.h"
#include "core/hop.h"

#define BIN_SIZE	 16384
#define BOUT_EXTRA	 32768 /* room for the fields we add */
#define RESP_HEAD_MAX	 49152
#define RESP_HEADERS_MAX 256

int egd_fwd_buffers(struct egd_buf *bout, struct egd_buf *bin,
		    struct egd_http *resp, bool *resp_init,
		    size_t max_header_bytes)
{
	if (bout->data == NULL &&
	    egd_buf_init(bout, max_header_bytes + BOUT_EXTRA) == -1)
		return -1;
	if (bin->data == NULL && egd_buf_init(bin, BIN_SIZE) == -1)
		return -1;
	if (!*resp_init) {
		if (egd_http_init(resp, true, RESP_HEAD_MAX,
				  RESP_HEADERS_MAX) == -1)
			return -1;
		*resp_init = true;
	}
	return 0;
}

bool egd_fwd_replayable(const llhttp_t *p)
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

bool egd_fwd_put_head(struct egd_buf *o, const struct egd_http *h, bool http10,
		      bool (*drop)(const char *name, size_t len))
{
	if (!egd_buf_printf(o, "%s ",
			    llhttp_method_name(llhttp_get_method(
				    (llhttp_t *)&h->parser))) ||
	    !egd_buf_append(o, egd_http_str(h, h->url), h->url_len) ||
	    !egd_buf_printf(o, " HTTP/1.%d\r\n", http10 ? 0 : 1))
		return false;
	for (unsigned i = 0; i < h->n; i++) {
		const char *name = egd_http_str(h, h->hdr[i].name);
		size_t nlen = h->hdr[i].name_len;

		if (egd_is_hop_header(name, nlen) ||
		    (drop != NULL && drop(name, nlen)) ||
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
	return true;
}

bool egd_fwd_put_xff(struct egd_buf *o, const struct egd_http *h,
		     const char *ip)
{
	bool first = true;

	for (int i = egd_http_find(h, "X-Forwarded-For", 0); i != -1;
	     i = egd_http_find(h, "X-Forwarded-For", (unsigned)i + 1)) {
		if (!egd_buf_appends(o, first ? "X-Forwarded-For: " : ", ") ||
		    !egd_buf_append(o, egd_http_str(h, h->hdr[i].value),
				    h->hdr[i].value_len))
			return false;
		first = false;
	}
	if (ip[0] != '\0')
		return egd_buf_printf(o, "%s%s\r\n",
				      first ? "X-Forwarded-For: " : ", ", ip);
	return first || egd_buf_append(o, "\r\n", 2);
}
