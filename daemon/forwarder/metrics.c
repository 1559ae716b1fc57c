/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stddef.h>

#include "forwarder/fconfig.h"
#include "forwarder/metrics.h"

struct egf_metrics egf_metrics;

#define ORIGINS_MAX 256

static char origin_names[ORIGINS_MAX][EGD_PROM_NAME_MAX];
static struct egd_prom_names origins =
	EGD_PROM_NAMES_INIT(origin_names, ORIGINS_MAX);
static struct egf_origin_stats slots[ORIGINS_MAX];

struct egf_origin_stats *egf_stats_slot(const char *name)
{
	return &slots[egd_prom_name_slot(&origins, name)];
}

void egf_metrics_latency(double seconds)
{
	egd_histogram_observe(&egf_metrics.latency, seconds);
}

static long gauge(atomic_long *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

#define OUT(...) EGD_PROM_OUT(out, __VA_ARGS__)

/* The counter `metric`, one sample per origin: the atomic_ulong at offset
 * `field` of its slot. */
static int per_origin(struct egd_buf *out, const char *metric, const char *help,
		      size_t field)
{
	unsigned n = egd_prom_names_count(&origins);
	char name[160];

	OUT("# HELP %s %s\n# TYPE %s counter\n", metric, help, metric);
	for (unsigned i = 0; i < n; i++) {
		atomic_ulong *c =
			(atomic_ulong *)(void *)((char *)&slots[i] + field);

		egd_prom_label(name, sizeof(name), origin_names[i]);
		OUT("%s{origin=\"%s\"} %lu\n", metric, name, egd_prom_get(c));
	}
	return 0;
}

static int render_origins(struct egd_buf *out)
{
	static const char *const err_names[EGF_E_COUNT] = {
		"connect",   "timeout", "tls_verify",
		"handshake", "closed",	"protocol"};
	unsigned n = egd_prom_names_count(&origins);
	char name[160];

	if (per_origin(out, "edgeguard_forwarder_requests_total",
		       "Requests routed to each origin.",
		       offsetof(struct egf_origin_stats, requests)) == -1)
		return -1;
	OUT("# HELP edgeguard_forwarder_errors_total Requests answered 502 or "
	    "504 (or cut short), by origin and cause.\n"
	    "# TYPE edgeguard_forwarder_errors_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		egd_prom_label(name, sizeof(name), origin_names[i]);
		for (int e = 0; e < EGF_E_COUNT; e++)
			OUT("edgeguard_forwarder_errors_total{origin=\"%s\","
			    "kind=\"%s\"} %lu\n",
			    name, err_names[e],
			    egd_prom_get(&slots[i].errors[e]));
	}
	if (per_origin(out, "edgeguard_forwarder_retries_total",
		       "Requests sent again on another connection.",
		       offsetof(struct egf_origin_stats, retries)) == -1)
		return -1;
	OUT("# HELP edgeguard_forwarder_handshakes_total TLS handshakes "
	    "completed towards each origin.\n"
	    "# TYPE edgeguard_forwarder_handshakes_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		egd_prom_label(name, sizeof(name), origin_names[i]);
		OUT("edgeguard_forwarder_handshakes_total{origin=\"%s\","
		    "kind=\"full\"} %lu\n"
		    "edgeguard_forwarder_handshakes_total{origin=\"%s\","
		    "kind=\"resumed\"} %lu\n",
		    name, egd_prom_get(&slots[i].handshakes_full), name,
		    egd_prom_get(&slots[i].handshakes_resumed));
	}
	OUT("# HELP edgeguard_forwarder_origin_connections Connections open "
	    "towards each origin, by state.\n"
	    "# TYPE edgeguard_forwarder_origin_connections gauge\n");
	for (unsigned i = 0; i < n; i++) {
		long all = gauge(&slots[i].connections);
		long idle = gauge(&slots[i].idle);

		egd_prom_label(name, sizeof(name), origin_names[i]);
		OUT("edgeguard_forwarder_origin_connections{origin=\"%s\","
		    "state=\"busy\"} %ld\n"
		    "edgeguard_forwarder_origin_connections{origin=\"%s\","
		    "state=\"idle\"} %ld\n",
		    name, all - idle, name, idle);
	}
	return 0;
}

static int render_counters(struct egd_buf *out)
{
	OUT("# TYPE edgeguard_forwarder_active_connections gauge\n"
	    "edgeguard_forwarder_active_connections %ld\n"
	    "# TYPE edgeguard_forwarder_connections_total counter\n"
	    "edgeguard_forwarder_connections_total %lu\n"
	    "# TYPE edgeguard_forwarder_connections_refused_total counter\n"
	    "edgeguard_forwarder_connections_refused_total %lu\n"
	    "# TYPE edgeguard_forwarder_bad_requests_total counter\n"
	    "edgeguard_forwarder_bad_requests_total %lu\n"
	    "# HELP edgeguard_forwarder_unrouted_total Requests for a Host no "
	    "origin serves (421).\n"
	    "# TYPE edgeguard_forwarder_unrouted_total counter\n"
	    "edgeguard_forwarder_unrouted_total %lu\n",
	    gauge(&egf_metrics.active_connections),
	    egd_prom_get(&egf_metrics.connections_total),
	    egd_prom_get(&egf_metrics.connections_refused),
	    egd_prom_get(&egf_metrics.bad_requests),
	    egd_prom_get(&egf_metrics.unrouted));
	OUT("# HELP edgeguard_forwarder_inbound_handshakes_total TLS "
	    "handshakes with the edge proxy (tls listeners).\n"
	    "# TYPE edgeguard_forwarder_inbound_handshakes_total counter\n"
	    "edgeguard_forwarder_inbound_handshakes_total{kind=\"full\"} %lu\n"
	    "edgeguard_forwarder_inbound_handshakes_total{kind=\"resumed\"} "
	    "%lu\n"
	    "edgeguard_forwarder_inbound_handshakes_total{kind=\"failed\"} "
	    "%lu\n",
	    egd_prom_get(&egf_metrics.tls_in_full),
	    egd_prom_get(&egf_metrics.tls_in_resumed),
	    egd_prom_get(&egf_metrics.tls_in_failed));
	if (egd_prom_histogram(
		    out, "edgeguard_forwarder_request_duration_seconds",
		    "Forwarded request latency.", &egf_metrics.latency) == -1)
		return -1;
	return egd_prom_reloads(out);
}

int egf_metrics_render(struct egd_buf *out, const struct egf_config *c)
{
	if (render_counters(out) == -1 || render_origins(out) == -1)
		return -1;
	if (c == NULL)
		return 0;
	/* The most common outage is an expired edge certificate. */
	if (egd_prom_expiry_head(out, "notAfter of loaded certificates.") == -1)
		return -1;
	for (size_t i = 0; i < c->n_origins; i++) {
		const struct egf_origin *o = &c->origins[i];

		if (egd_prom_creds_expiry(out, "client", o->name, o->cert,
					  &o->tls->creds) == -1)
			return -1;
	}
	if (c->tls_in != NULL &&
	    egd_prom_creds_expiry(out, "server", NULL, c->tls_in->cert,
				  &c->tls_in->srv->creds) == -1)
		return -1;
	return 0;
}
