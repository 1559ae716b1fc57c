/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_ADMIN_H
#define EG_DAEMON_CORE_ADMIN_H

/*
 * The admin listener's resources, the same for both daemons: /healthz and
 * /metrics, GET and HEAD only. Each daemon answers with its own reply
 * function and metrics.
 */

#include "core/http1.h"

enum egd_admin_page {
	EGD_ADMIN_BAD_METHOD, /* 405: not GET or HEAD */
	EGD_ADMIN_HEALTH,     /* /healthz */
	EGD_ADMIN_METRICS,    /* /metrics */
	EGD_ADMIN_NOT_FOUND,  /* 404 */
};

/* What the parsed request head h asks for; a query string does not
 * change the resource. */
enum egd_admin_page egd_admin_page(const struct egd_http *h);

#endif
