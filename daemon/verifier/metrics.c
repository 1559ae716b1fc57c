/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "verifier/metrics.h"
#include "verifier/vconfig.h"

struct vf_metrics vf_metrics;

/* Rule names seen in decisions. Rules come and go with reloads; the table
 * keeps every name seen (bounded), the rest count under "(other)". */
#define RULES_MAX 128

struct rule_count {
	char name[64];
	atomic_ulong n[3];
};

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule_count rules[RULES_MAX];
static atomic_uint n_rules;

static const double lat_le[VF_LAT_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

static struct rule_count *rule_slot(const char *rule)
{
	unsigned n = atomic_load_explicit(&n_rules, memory_order_acquire);
	struct rule_count *slot = NULL;

	if (rule == NULL)
		rule = "(none)";
	for (unsigned i = 0; i < n; i++)
		if (strcmp(rules[i].name, rule) == 0)
			return &rules[i];
	pthread_mutex_lock(&rules_lock);
	n = atomic_load_explicit(&n_rules, memory_order_relaxed);
	for (unsigned i = 0; i < n && slot == NULL; i++)
		if (strcmp(rules[i].name, rule) == 0)
			slot = &rules[i];
	if (slot == NULL && n < RULES_MAX) {
		slot = &rules[n];
		snprintf(slot->name, sizeof(slot->name), "%s",
			 n == RULES_MAX - 1 ? "(other)" : rule);
		atomic_store_explicit(&n_rules, n + 1, memory_order_release);
	}
	if (slot == NULL)
		slot = &rules[RULES_MAX - 1];
	pthread_mutex_unlock(&rules_lock);
	return slot;
}

void vf_metrics_decision(enum eg_event ev, enum eg_reason r, const char *rule)
{
	unsigned e = (unsigned)ev < 3 ? (unsigned)ev : 1;

	if ((unsigned)r >= EG_REASON_COUNT)
		r = EG_REASON_INTERNAL_ERROR;
	vf_count(&vf_metrics.decisions[r][e]);
	vf_count(&rule_slot(rule)->n[e]);
}

void vf_metrics_latency(double seconds)
{
	unsigned i = 0;

	while (i < VF_LAT_BUCKETS && seconds > lat_le[i])
		i++;
	vf_count(&vf_metrics.latency[i]);
	atomic_fetch_add_explicit(&vf_metrics.latency_sum_us,
				  (unsigned long)(seconds * 1e6),
				  memory_order_relaxed);
}

static unsigned long get(atomic_ulong *a)
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

static int render_counters(struct egd_buf *out)
{
	static const char *const be_names[VF_BE_COUNT] = {"connect", "timeout",
							  "protocol"};
	unsigned long cum = 0;
	unsigned n;

	OUT("# HELP edgeguard_decisions_total Decisions by event and reason.\n"
	    "# TYPE edgeguard_decisions_total counter\n");
	for (int r = 0; r < EG_REASON_COUNT; r++)
		for (int e = 0; e < 3; e++)
			if (get(&vf_metrics.decisions[r][e]) > 0)
				OUT("edgeguard_decisions_total{event=\"%s\","
				    "reason=\"%s\"} %lu\n",
				    eg_event_name((enum eg_event)e),
				    eg_reason_name((enum eg_reason)r),
				    get(&vf_metrics.decisions[r][e]));
	OUT("# HELP edgeguard_rule_decisions_total Decisions by policy rule.\n"
	    "# TYPE edgeguard_rule_decisions_total counter\n");
	n = atomic_load_explicit(&n_rules, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		char name[160];

		label(name, sizeof(name), rules[i].name);
		for (int e = 0; e < 3; e++)
			if (get(&rules[i].n[e]) > 0)
				OUT("edgeguard_rule_decisions_total{rule=\"%"
				    "s\","
				    "event=\"%s\"} %lu\n",
				    name, eg_event_name((enum eg_event)e),
				    get(&rules[i].n[e]));
	}
	OUT("# TYPE edgeguard_handshakes_total counter\n"
	    "edgeguard_handshakes_total{kind=\"full\"} %lu\n"
	    "edgeguard_handshakes_total{kind=\"resumed\"} %lu\n"
	    "edgeguard_handshakes_total{kind=\"failed\"} %lu\n",
	    get(&vf_metrics.handshakes_full),
	    get(&vf_metrics.handshakes_resumed),
	    get(&vf_metrics.handshake_errors));
	OUT("# TYPE edgeguard_active_connections gauge\n"
	    "edgeguard_active_connections %ld\n"
	    "# TYPE edgeguard_connections_total counter\n"
	    "edgeguard_connections_total %lu\n"
	    "# TYPE edgeguard_connections_refused_total counter\n"
	    "edgeguard_connections_refused_total %lu\n"
	    "# TYPE edgeguard_bad_requests_total counter\n"
	    "edgeguard_bad_requests_total %lu\n",
	    atomic_load_explicit(&vf_metrics.active_connections,
				 memory_order_relaxed),
	    get(&vf_metrics.connections_total),
	    get(&vf_metrics.connections_refused),
	    get(&vf_metrics.bad_requests));
	OUT("# TYPE edgeguard_backend_errors_total counter\n");
	for (int i = 0; i < VF_BE_COUNT; i++)
		OUT("edgeguard_backend_errors_total{kind=\"%s\"} %lu\n",
		    be_names[i], get(&vf_metrics.backend_errors[i]));
	OUT("# HELP edgeguard_backend_retries_total Requests resent on a new "
	    "backend connection after a pooled one was found closed.\n"
	    "# TYPE edgeguard_backend_retries_total counter\n"
	    "edgeguard_backend_retries_total %lu\n",
	    get(&vf_metrics.backend_retries));
	OUT("# HELP edgeguard_request_duration_seconds Proxied request "
	    "latency.\n# TYPE edgeguard_request_duration_seconds histogram\n");
	for (int i = 0; i <= VF_LAT_BUCKETS; i++) {
		cum += get(&vf_metrics.latency[i]);
		if (i < VF_LAT_BUCKETS)
			OUT("edgeguard_request_duration_seconds_bucket{le=\"%"
			    "g\"}"
			    " %lu\n",
			    lat_le[i], cum);
		else
			OUT("edgeguard_request_duration_seconds_bucket{le=\"+"
			    "Inf"
			    "\"} %lu\n",
			    cum);
	}
	OUT("edgeguard_request_duration_seconds_sum %.6f\n"
	    "edgeguard_request_duration_seconds_count %lu\n",
	    (double)get(&vf_metrics.latency_sum_us) / 1e6, cum);
	OUT("# TYPE edgeguard_reloads_total counter\n"
	    "edgeguard_reloads_total{result=\"ok\"} %lu\n"
	    "edgeguard_reloads_total{result=\"error\"} %lu\n",
	    get(&vf_metrics.reloads), get(&vf_metrics.reload_errors));
	return 0;
}

int vf_metrics_render(struct egd_buf *out, const struct vf_config *c)
{
	const struct eg_trust_item *items;
	char subject[300], file[300];
	size_t n;

	if (render_counters(out) == -1)
		return -1;
	if (c == NULL)
		return 0;
	OUT("# HELP edgeguard_certificate_expiry_timestamp_seconds notAfter of "
	    "loaded certificates, nextUpdate of CRLs.\n"
	    "# TYPE edgeguard_certificate_expiry_timestamp_seconds gauge\n");
	label(subject, sizeof(subject), c->tls->cert_subject);
	label(file, sizeof(file), c->cert);
	OUT("edgeguard_certificate_expiry_timestamp_seconds{kind=\"server\","
	    "file=\"%s\",subject=\"%s\"} %lld\n",
	    file, subject, (long long)c->tls->cert_not_after);
	items = eg_policy_trust_items(c->policy, &n);
	for (size_t i = 0; i < n; i++) {
		label(subject, sizeof(subject),
		      items[i].subject ? items[i].subject : "");
		label(file, sizeof(file), items[i].file ? items[i].file : "");
		OUT("edgeguard_certificate_expiry_timestamp_seconds{kind=\"%"
		    "s\","
		    "file=\"%s\",subject=\"%s\"} %lld\n",
		    items[i].kind == EG_TRUST_CA ? "ca" : "crl", file, subject,
		    (long long)items[i].expires);
	}
	return 0;
}
