/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "core/admin.h"

static bool target_is(const struct egd_http *h, const char *path)
{
	size_t len = strlen(path);

	return h->url_len >= len &&
	       memcmp(egd_http_str(h, h->url), path, len) == 0 &&
	       (h->url_len == len || egd_http_str(h, h->url)[len] == '?');
}

enum egd_admin_page egd_admin_page(const struct egd_http *h)
{
	/* The field llhttp_get_method() reads, which takes no const. */
	unsigned method = h->parser.method;

	if (method != HTTP_GET && method != HTTP_HEAD)
		return EGD_ADMIN_BAD_METHOD;
	if (target_is(h, "/healthz"))
		return EGD_ADMIN_HEALTH;
	if (target_is(h, "/metrics"))
		return EGD_ADMIN_METRICS;
	return EGD_ADMIN_NOT_FOUND;
}
