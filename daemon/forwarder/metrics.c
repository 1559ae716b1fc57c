/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "forwarder/fconfig.h"
#include "forwarder/metrics.h"

struct egf_metrics egf_metrics;

#define ORIGINS_MAX 256

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct egf_origin_stats slots[ORIGINS_MAX];
static atomic_uint n_slots;

static const double lat_le[EGF_LAT_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

struct egf_origin_stats *egf_stats_slot(const char *name)
{
	struct egf_origin_stats *slot = NULL;
	unsigned n;

	pthread_mutex_lock(&slots_lock);
	n = atomic_load_explicit(&n_slots, memory_order_relaxed);
	for (unsigned i = 0; i < n && slot == NULL; i++)
		if (strcmp(slots[i].name, name) == 0)
			slot = &slots[i];
	if (slot == NULL && n < ORIGINS_MAX) {
		slot = &slots[n];
		snprintf(slot->name, sizeof(slot->name), "%s",
			 n == ORIGINS_MAX - 1 ? "(other)" : name);
		atomic_store_explicit(&n_slots, n + 1, memory_order_release);
	}
	if (slot == NULL)
		slot = &slots[ORIGINS_MAX - 1];
	pthread_mutex_unlock(&slots_lock);
	return slot;
}

void egf_metrics_latency(double seconds)
{
	unsigned i = 0;

	while (i < EGF_LAT_BUCKETS && seconds > lat_le[i])
		i++;
	egf_count(&egf_metrics.latency[i]);
	atomic_fetch_add_explicit(&egf_metrics.latency_sum_us,
				  (unsigned long)(seconds * 1e6),
				  memory_order_relaxed);
}

static unsigned long get(atomic_ulong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static long gauge(atomic_long *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* Label values come from certificates and config: escape as the
 * exposition format requires. */
static void label(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; *src != '\0' && o + 3 < len; src++) {
		if (*src == '"' || *src == '\\') {
			dst[o++] = '\\';
			dst[o++] = *src;
		} else if (*src == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = *src;
		}
	}
	dst[o] = '\0';
}

#define OUT(...)                                                               \
	do {                                                                   \
		if (egd_buf_reserve(out, 1100) == -1 ||                        \
		    !egd_buf_printf(out, __VA_ARGS__))                         \
			return -1;                                             \
	} while (0)

static int render_origins(struct egd_buf *out)
{
	static const char *const err_names[EGF_E_COUNT] = {
		"connect",   "timeout", "tls_verify",
		"handshake", "closed",	"protocol"};
	unsigned n = atomic_load_explicit(&n_slots, memory_order_acquire);
	char name[160];

	OUT("# HELP edgeguard_forwarder_requests_total Requests routed to each "
	    "origin.\n# TYPE edgeguard_forwarder_requests_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		label(name, sizeof(name), slots[i].name);
		OUT("edgeguard_forwarder_requests_total{origin=\"%s\"} %lu\n",
		    name, get(&slots[i].requests));
	}
	OUT("# HELP edgeguard_forwarder_errors_total Requests answered 502 or "
	    "504 (or cut short), by origin and cause.\n"
	    "# TYPE edgeguard_forwarder_errors_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		label(name, sizeof(name), slots[i].name);
		for (int e = 0; e < EGF_E_COUNT; e++)
			OUT("edgeguard_forwarder_errors_total{origin=\"%s\","
			    "kind=\"%s\"} %lu\n",
			    name, err_names[e], get(&slots[i].errors[e]));
	}
	OUT("# HELP edgeguard_forwarder_retries_total Requests sent again on "
	    "another connection.\n"
	    "# TYPE edgeguard_forwarder_retries_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		label(name, sizeof(name), slots[i].name);
		OUT("edgeguard_forwarder_retries_total{origin=\"%s\"} %lu\n",
		    name, get(&slots[i].retries));
	}
	OUT("# HELP edgeguard_forwarder_handshakes_total TLS handshakes "
	    "completed towards each origin.\n"
	    "# TYPE edgeguard_forwarder_handshakes_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		label(name, sizeof(name), slots[i].name);
		OUT("edgeguard_forwarder_handshakes_total{origin=\"%s\","
		    "kind=\"full\"} %lu\n"
		    "edgeguard_forwarder_handshakes_total{origin=\"%s\","
		    "kind=\"resumed\"} %lu\n",
		    name, get(&slots[i].handshakes_full), name,
		    get(&slots[i].handshakes_resumed));
	}
	OUT("# HELP edgeguard_forwarder_origin_connections Connections open "
	    "towards each origin, by state.\n"
	    "# TYPE edgeguard_forwarder_origin_connections gauge\n");
	for (unsigned i = 0; i < n; i++) {
		long all = gauge(&slots[i].connections);
		long idle = gauge(&slots[i].idle);

		label(name, sizeof(name), slots[i].name);
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
	unsigned long cum = 0;

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
	    get(&egf_metrics.connections_total),
	    get(&egf_metrics.connections_refused),
	    get(&egf_metrics.bad_requests), get(&egf_metrics.unrouted));
	OUT("# HELP edgeguard_forwarder_inbound_handshakes_total TLS "
	    "handshakes with the edge proxy (tls listeners).\n"
	    "# TYPE edgeguard_forwarder_inbound_handshakes_total counter\n"
	    "edgeguard_forwarder_inbound_handshakes_total{kind=\"full\"} %lu\n"
	    "edgeguard_forwarder_inbound_handshakes_total{kind=\"resumed\"} "
	    "%lu\n"
	    "edgeguard_forwarder_inbound_handshakes_total{kind=\"failed\"} "
	    "%lu\n",
	    get(&egf_metrics.tls_in_full), get(&egf_metrics.tls_in_resumed),
	    get(&egf_metrics.tls_in_failed));
	OUT("# HELP edgeguard_forwarder_request_duration_seconds Forwarded "
	    "request latency.\n"
	    "# TYPE edgeguard_forwarder_request_duration_seconds histogram\n");
	for (int i = 0; i <= EGF_LAT_BUCKETS; i++) {
		cum += get(&egf_metrics.latency[i]);
		if (i < EGF_LAT_BUCKETS)
			OUT("edgeguard_forwarder_request_duration_seconds_"
			    "bucket{le=\"%g\"} %lu\n",
			    lat_le[i], cum);
		else
			OUT("edgeguard_forwarder_request_duration_seconds_"
			    "bucket{le=\"+Inf\"} %lu\n",
			    cum);
	}
	OUT("edgeguard_forwarder_request_duration_seconds_sum %.6f\n"
	    "edgeguard_forwarder_request_duration_seconds_count %lu\n",
	    (double)get(&egf_metrics.latency_sum_us) / 1e6, cum);
	OUT("# TYPE edgeguard_reloads_total counter\n"
	    "edgeguard_reloads_total{result=\"ok\"} %lu\n"
	    "edgeguard_reloads_total{result=\"error\"} %lu\n",
	    get(&egf_metrics.reloads), get(&egf_metrics.reload_errors));
	return 0;
}

int egf_metrics_render(struct egd_buf *out, const struct egf_config *c)
{
	char name[160], subject[300], file[300];

	if (render_counters(out) == -1 || render_origins(out) == -1)
		return -1;
	if (c == NULL)
		return 0;
	/* The most common outage is an expired edge certificate. */
	OUT("# HELP edgeguard_certificate_expiry_timestamp_seconds notAfter of "
	    "loaded certificates.\n"
	    "# TYPE edgeguard_certificate_expiry_timestamp_seconds gauge\n");
	for (size_t i = 0; i < c->n_origins; i++) {
		const struct egf_origin *o = &c->origins[i];

		label(name, sizeof(name), o->name);
		label(subject, sizeof(subject), o->tls->cert_subject);
		label(file, sizeof(file), o->cert);
		OUT("edgeguard_certificate_expiry_timestamp_seconds{kind="
		    "\"client\",origin=\"%s\",file=\"%s\",subject=\"%s\"} "
		    "%lld\n",
		    name, file, subject, (long long)o->tls->cert_not_after);
	}
	if (c->tls_in != NULL) {
		label(subject, sizeof(subject), c->tls_in->srv->cert_subject);
		label(file, sizeof(file), c->tls_in->cert);
		OUT("edgeguard_certificate_expiry_timestamp_seconds{kind="
		    "\"server\",file=\"%s\",subject=\"%s\"} %lld\n",
		    file, subject, (long long)c->tls_in->srv->cert_not_after);
	}
	return 0;
}
