/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_HOP_H
#define EG_DAEMON_CORE_HOP_H

/*
 * Hop-by-hop header fields (RFC 9110 7.6.1): what a proxy must not pass
 * on, whichever direction a message travels.
 */

#include <stdbool.h>
#include <stddef.h>

#include "core/http1.h"

/* True for Connection, Keep-Alive, TE, Trailer, Upgrade and Proxy-*. */
bool egd_is_hop_header(const char *name, size_t len);

/* True when a Connection header of h lists the field `name` (len bytes),
 * which makes that field hop-by-hop too. */
bool egd_connection_lists(const struct egd_http *h, const char *name,
			  size_t len);

#endif
