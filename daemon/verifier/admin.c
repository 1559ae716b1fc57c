/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "verifier/metrics.h"
#include "verifier/verifier.h"

static bool target_is(const struct egd_http *h, const char *path)
{
	size_t len = strlen(path);

	/* A query string does not change the resource. */
	return h->url_len >= len &&
	       memcmp(egd_http_str(h, h->url), path, len) == 0 &&
	       (h->url_len == len || egd_http_str(h, h->url)[len] == '?');
}

void vf_admin_request(struct vf_conn *c)
{
	struct egd_buf body = {NULL, 0, 0, 0};
	unsigned method = llhttp_get_method(&c->req.parser);

	if (method != HTTP_GET && method != HTTP_HEAD) {
		vf_conn_reply(c, 405, NULL, "Allow: GET, HEAD\r\n",
			      "405 Method Not Allowed\n", c->close_after);
		return;
	}
	if (target_is(&c->req, "/healthz")) {
		vf_conn_reply(c, 200, NULL, NULL, "ok\n", c->close_after);
	} else if (target_is(&c->req, "/metrics")) {
		if (egd_buf_reserve(&body, 16384) == -1 ||
		    vf_metrics_render(&body, vf_worker_config(c->w)) == -1 ||
		    !egd_buf_append(&body, "", 1)) {
			vf_conn_reply(c, 500, NULL, NULL,
				      "500 Internal Server Error\n", true);
		} else {
			vf_conn_reply(c, 200, "text/plain; version=0.0.4", NULL,
				      egd_buf_head(&body), c->close_after);
		}
		egd_buf_free(&body);
	} else {
		vf_conn_reply(c, 404, NULL, NULL, "404 Not Found\n",
			      c->close_after);
	}
}
