/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_FWD_H
#define EG_DAEMON_CORE_FWD_H

/*
 * Passing a parsed client request on to the next hop, as both daemons do:
 * the buffers an exchange needs (taken on its first request, so an idle
 * keep-alive connection holds none), the rewritten head, the
 * X-Forwarded-For chain, and which requests may be sent twice.
 */

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/http1.h"

/* Sets up what a proxied exchange uses once: bout (to the next hop, room
 * for a head of max_header_bytes plus what we add), bin (from it) and the
 * response parser resp (*resp_init tells whether it is). Already set up
 * parts are kept. Returns 0 or -1 (out of memory). */
int egd_fwd_buffers(struct egd_buf *bout, struct egd_buf *bin,
		    struct egd_http *resp, bool *resp_init,
		    size_t max_header_bytes);

/* RFC 9110 9.2.2: a request a client may send twice. Only those without a
 * body qualify, so the copy to resend is the head alone. */
bool egd_fwd_replayable(const llhttp_t *p);

/* Appends the request line (HTTP/1.0 when http10, else 1.1) and the
 * header fields of h, less the hop-by-hop ones (core/hop.h),
 * X-Forwarded-For (see egd_fwd_put_xff()) and those `drop` (may be NULL)
 * is true for. No blank line. False when out has no room. */
bool egd_fwd_put_head(struct egd_buf *out, const struct egd_http *h,
		      bool http10, bool (*drop)(const char *name, size_t len));

/* Appends one X-Forwarded-For field: the values the client sent, then
 * `ip`, who we saw (nothing of ours when ""; no field at all when neither
 * has anything). False when out has no room. */
bool egd_fwd_put_xff(struct egd_buf *out, const struct egd_http *h,
		     const char *ip);

#endif
