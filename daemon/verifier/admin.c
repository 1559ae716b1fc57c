/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "core/admin.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

void vf_admin_request(struct vf_conn *c)
{
	struct egd_buf body = {NULL, 0, 0, 0};
	enum egd_admin_page page = egd_admin_page(&c->req);

	if (page == EGD_ADMIN_BAD_METHOD) {
		vf_conn_reply(c, 405, NULL, "Allow: GET, HEAD\r\n",
			      "405 Method Not Allowed\n", c->close_after);
	} else if (page == EGD_ADMIN_HEALTH) {
		vf_conn_reply(c, 200, NULL, NULL, "ok\n", c->close_after);
	} else if (page == EGD_ADMIN_METRICS) {
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
