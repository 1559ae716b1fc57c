/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "core/admin.h"
#include "forwarder/forwarder.h"

void egf_admin_request(struct egf_conn *c)
{
	struct egd_buf body = {NULL, 0, 0, 0};
	enum egd_admin_page page = egd_admin_page(&c->req);
	struct egf_config *cfg;

	if (page == EGD_ADMIN_BAD_METHOD) {
		egf_conn_reply(c, 405, "Allow: GET, HEAD\r\n",
			       "405 Method Not Allowed\n", c->close_after);
	} else if (page == EGD_ADMIN_HEALTH) {
		egf_conn_reply(c, 200, NULL, "ok\n", c->close_after);
	} else if (page == EGD_ADMIN_METRICS) {
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
