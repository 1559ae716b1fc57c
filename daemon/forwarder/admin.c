/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "forwarder/forwarder.h"

static bool target_is(const struct egd_http *h, const char *path)
{
	size_t len = strlen(path);

	/* A query string does not change the resource. */
	return h->url_len >= len &&
	       memcmp(egd_http_str(h, h->url), path, len) == 0 &&
	       (h->url_len == len || egd_http_str(h, h->url)[len] == '?');
}

void egf_admin_request(struct egf_conn *c)
{
	struct egd_buf body = {NULL, 0, 0, 0};
	unsigned method = llhttp_get_method(&c->req.parser);
	struct egf_config *cfg;

	if (method != HTTP_GET && method != HTTP_HEAD) {
		egf_conn_reply(c, 405, "Allow: GET, HEAD\r\n",
			       "405 Method Not Allowed\n", c->close_after);
		return;
	}
	if (target_is(&c->req, "/healthz")) {
		egf_conn_reply(c, 200, NULL, "ok\n", c->close_after);
	} else if (target_is(&c->req, "/metrics")) {
		cfg = egf_config_current();
		if (egd_buf_reserve(&body, 16384) == -1 ||
		    egf_metrics_render(&body, cfg) == -1 ||
		    !egd_buf_append(&body, "", 1))
			egf_conn_reply(c, 500, NULL,
				       "500 Internal Server Error\n", true);
		else
			egf_conn_reply(c, 200, NULL, egd_buf_head(&body),
				       c->close_after);
		egf_config_unref(cfg);
		egd_buf_free(&body);
	} else {
		egf_conn_reply(c, 404, NULL, "404 Not Found\n", c->close_after);
	}
}
