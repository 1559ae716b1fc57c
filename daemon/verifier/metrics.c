/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "verifier/metrics.h"
#include "verifier/vconfig.h"

struct vf_metrics vf_metrics;

/* Rule names seen in decisions, bounded (core/prom.h). */
#define RULES_MAX 128

static char rule_names[RULES_MAX][EGD_PROM_NAME_MAX];
static struct egd_prom_names rules = EGD_PROM_NAMES_INIT(rule_names, RULES_MAX);
static atomic_ulong rule_decisions[RULES_MAX][3]; /* [slot][event] */

void vf_metrics_decision(enum eg_event ev, enum eg_reason r, const char *rule)
{
	unsigned e = (unsigned)ev < 3 ? (unsigned)ev : 1;

	if ((unsigned)r >= EG_REASON_COUNT)
		r = EG_REASON_INTERNAL_ERROR;
	vf_count(&vf_metrics.decisions[r][e]);
	vf_count(&rule_decisions[egd_prom_name_slot(
		&rules, rule ? rule : "(none)")][e]);
}

void vf_metrics_latency(double seconds)
{
	egd_histogram_observe(&vf_metrics.latency, seconds);
}

#define OUT(...) EGD_PROM_OUT(out, __VA_ARGS__)

static int render_decisions(struct egd_buf *out)
{
	unsigned n = egd_prom_names_count(&rules);

	OUT("# HELP edgeguard_decisions_total Decisions by event and reason.\n"
	    "# TYPE edgeguard_decisions_total counter\n");
	for (int r = 0; r < EG_REASON_COUNT; r++)
		for (int e = 0; e < 3; e++)
			if (egd_prom_get(&vf_metrics.decisions[r][e]) > 0)
				OUT("edgeguard_decisions_total{event=\"%s\","
				    "reason=\"%s\"} %lu\n",
				    eg_event_name((enum eg_event)e),
				    eg_reason_name((enum eg_reason)r),
				    egd_prom_get(&vf_metrics.decisions[r][e]));
	OUT("# HELP edgeguard_rule_decisions_total Decisions by policy rule.\n"
	    "# TYPE edgeguard_rule_decisions_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		char name[160];

		egd_prom_label(name, sizeof(name), rule_names[i]);
		for (int e = 0; e < 3; e++)
			if (egd_prom_get(&rule_decisions[i][e]) > 0)
				OUT("edgeguard_rule_decisions_total{rule=\"%"
				    "s\","
				    "event=\"%s\"} %lu\n",
				    name, eg_event_name((enum eg_event)e),
				    egd_prom_get(&rule_decisions[i][e]));
	}
	return 0;
}

static int render_counters(struct egd_buf *out)
{
	static const char *const be_names[VF_BE_COUNT] = {"connect", "timeout",
							  "protocol"};

	OUT("# TYPE edgeguard_handshakes_total counter\n"
	    "edgeguard_handshakes_total{kind=\"full\"} %lu\n"
	    "edgeguard_handshakes_total{kind=\"resumed\"} %lu\n"
	    "edgeguard_handshakes_total{kind=\"failed\"} %lu\n",
	    egd_prom_get(&vf_metrics.handshakes_full),
	    egd_prom_get(&vf_metrics.handshakes_resumed),
	    egd_prom_get(&vf_metrics.handshake_errors));
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
	    egd_prom_get(&vf_metrics.connections_total),
	    egd_prom_get(&vf_metrics.connections_refused),
	    egd_prom_get(&vf_metrics.bad_requests));
	OUT("# TYPE edgeguard_backend_errors_total counter\n");
	for (int i = 0; i < VF_BE_COUNT; i++)
		OUT("edgeguard_backend_errors_total{kind=\"%s\"} %lu\n",
		    be_names[i], egd_prom_get(&vf_metrics.backend_errors[i]));
	OUT("# HELP edgeguard_backend_retries_total Requests resent on a new "
	    "backend connection after a pooled one was found closed.\n"
	    "# TYPE edgeguard_backend_retries_total counter\n"
	    "edgeguard_backend_retries_total %lu\n",
	    egd_prom_get(&vf_metrics.backend_retries));
	if (egd_prom_histogram(out, "edgeguard_request_duration_seconds",
			       "Proxied request latency.",
			       &vf_metrics.latency) == -1)
		return -1;
	return egd_prom_reloads(out);
}

int vf_metrics_render(struct egd_buf *out, const struct vf_config *c)
{
	const struct eg_trust_item *items;
	size_t n;

	if (render_decisions(out) == -1 || render_counters(out) == -1)
		return -1;
	if (c == NULL)
		return 0;
	if (egd_prom_expiry_head(out, "notAfter of loaded certificates, "
				      "nextUpdate of CRLs.") == -1 ||
	    egd_prom_creds_expiry(out, "server", NULL, c->cert,
				  &c->tls->creds) == -1)
		return -1;
	items = eg_policy_trust_items(c->policy, &n);
	for (size_t i = 0; i < n; i++)
		if (egd_prom_expiry(out,
				    items[i].kind == EG_TRUST_CA ? "ca" : "crl",
				    NULL, items[i].file, items[i].subject,
				    (long long)items[i].expires) == -1)
			return -1;
	return 0;
}
