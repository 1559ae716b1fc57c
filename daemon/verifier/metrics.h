/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_VERIFIER_METRICS_H
#define EG_DAEMON_VERIFIER_METRICS_H

/*
 * Process-wide counters, updated by workers with relaxed atomics (no lock
 * on the data path) and rendered as Prometheus text by the admin listener
 * (core/prom.h).
 */

#include <stdatomic.h>

#include <edgeguard/edgeguard.h>

#include "core/buf.h"
#include "core/prom.h"

struct vf_config;

enum vf_backend_error {
	VF_BE_CONNECT, /* refused, unreachable, reset before a response */
	VF_BE_TIMEOUT,
	VF_BE_PROTOCOL, /* unparsable response */
	VF_BE_COUNT
};

struct vf_metrics {
	atomic_ulong decisions[EG_REASON_COUNT][3]; /* [reason][event] */
	atomic_ulong handshakes_full;
	atomic_ulong handshakes_resumed;
	atomic_ulong handshake_errors;
	atomic_long active_connections;
	atomic_ulong connections_total;
	atomic_ulong connections_refused; /* max_connections reached */
	atomic_ulong backend_errors[VF_BE_COUNT];
	atomic_ulong backend_retries; /* pooled connection found closed */
	atomic_ulong bad_requests;
	struct egd_histogram latency;
};

extern struct vf_metrics vf_metrics;

static inline void vf_count(atomic_ulong *c)
{
	egd_count(c);
}

/* One decision of `rule` (borrowed; copied on first sight). */
void vf_metrics_decision(enum eg_event ev, enum eg_reason r, const char *rule);

/* One proxied request's latency (accept of the head to end of response). */
void vf_metrics_latency(double seconds);

/* Appends the Prometheus exposition to out (grown as needed). Returns 0 or
 * -1 (out of memory). `c` supplies certificate expiry gauges. */
int vf_metrics_render(struct egd_buf *out, const struct vf_config *c);

#endif
