/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "core/hop.h"

bool egd_is_hop_header(const char *name, size_t len)
{
	static const char *const hop[] = {"Connection", "Keep-Alive", "TE",
					  "Trailer",	"Upgrade",    NULL};

	if (len >= 6 && strncasecmp(name, "Proxy-", 6) == 0)
		return true;
	for (const char *const *h = hop; *h != NULL; h++)
		if (strlen(*h) == len && strncasecmp(*h, name, len) == 0)
			return true;
	return false;
}

bool egd_connection_lists(const struct egd_http *h, const char *name,
			  size_t len)
{
	for (int i = egd_http_find(h, "Connection", 0); i != -1;
	     i = egd_http_find(h, "Connection", (unsigned)i + 1))
		if (egd_http_list_has(egd_http_str(h, h->hdr[i].value),
				      h->hdr[i].value_len, name, len))
			return true;
	return false;
}
