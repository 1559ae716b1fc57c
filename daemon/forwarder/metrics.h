/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_FORWARDER_METRICS_H
#define EG_DAEMON_FORWARDER_METRICS_H

/*
 * Process-wide counters of the forwarder, updated by workers with relaxed
 * atomics (no lock on the data path) and rendered as Prometheus text by
 * the admin listener (core/prom.h). Per-origin counters live in slots
 * found by origin name, so they survive reloads that rebuild the origins.
 */

#include <stdatomic.h>

#include "core/buf.h"
#include "core/prom.h"

struct egf_config;

/* Why a request got no answer from its origin. */
enum egf_error {
	EGF_E_CONNECT,	  /* refused, unreachable */
	EGF_E_TIMEOUT,	  /* connect, handshake or response timeout */
	EGF_E_TLS_VERIFY, /* the origin's certificate or name is wrong */
	EGF_E_HANDSHAKE,  /* other handshake failure, or an alert (the
			   * origin refused our certificate) */
	EGF_E_CLOSED,	  /* closed or reset before a complete response */
	EGF_E_PROTOCOL,	  /* unparsable response */
	EGF_E_COUNT
};

struct egf_origin_stats {
	atomic_ulong requests;
	atomic_ulong errors[EGF_E_COUNT];
	atomic_ulong retries;
	atomic_ulong handshakes_full;
	atomic_ulong handshakes_resumed;
	atomic_long connections; /* open towards the origin, any state */
	atomic_long idle;	 /* of those, idle in a pool */
};

struct egf_metrics {
	atomic_long active_connections; /* inbound */
	atomic_ulong connections_total;
	atomic_ulong connections_refused; /* max_connections reached */
	atomic_ulong bad_requests;
	atomic_ulong unrouted;	  /* no origin for the Host */
	atomic_ulong tls_in_full; /* inbound TLS handshakes */
	atomic_ulong tls_in_resumed;
	atomic_ulong tls_in_failed;
	struct egd_histogram latency;
};

extern struct egf_metrics egf_metrics;

static inline void egf_count(atomic_ulong *c)
{
	egd_count(c);
}

static inline void egf_gauge(atomic_long *g, long delta)
{
	egd_gauge(g, delta);
}

/* The slot of origin `name` (copied on first sight; a bounded table whose
 * last slot gathers the overflow). Never NULL; valid for the process. */
struct egf_origin_stats *egf_stats_slot(const char *name);

/* One forwarded request's latency (head received to end of response). */
void egf_metrics_latency(double seconds);

/* Appends the Prometheus exposition to out (grown as needed). Returns 0 or
 * -1 (out of memory). `c` supplies the client certificate expiry gauges. */
int egf_metrics_render(struct egd_buf *out, const struct egf_config *c);

#endif
