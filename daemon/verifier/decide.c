/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "core/log.h"
#include "match.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

#define CHAIN_MAX 16

int vf_peer_chain(struct vf_conn *c, struct eg_der *chain, size_t max,
		  size_t *n)
{
	const gnutls_datum_t *certs;
	unsigned count = 0;

	*n = 0;
	if (c->client.tls == NULL)
		return 0;
	/* Also filled for resumed sessions: GnuTLS stores the peer's
	 * certificates in the session state. */
	certs = gnutls_certificate_get_peers(c->client.tls, &count);
	if (certs == NULL)
		return 0;
	if (count > max)
		count = (unsigned)max;
	for (unsigned i = 0; i < count; i++) {
		chain[i].data = certs[i].data;
		chain[i].len = certs[i].size;
	}
	*n = count;
	return 0;
}

int vf_decide(struct vf_conn *c, const char *host, const char *path,
	      struct eg_decision *d)
{
	struct vf_config *cfg = vf_worker_config(c->w);
	struct eg_der chain[CHAIN_MAX];
	struct eg_request req = {host, path};
	size_t n;
	int ret;

	/* Verified once per connection, again when a reload brought a new
	 * policy: the new allowlist applies to the next request. */
	if (c->peer == NULL || c->pcfg != cfg) {
		eg_peer_free(c->peer);
		c->peer = NULL;
		vf_config_unref(c->pcfg);
		c->pcfg = vf_config_ref(cfg);
		vf_peer_chain(c, chain, CHAIN_MAX, &n);
		ret = eg_peer_verify(cfg->policy, chain, n, time(NULL),
				     &c->peer);
		if (ret < 0) {
			egd_log(EGD_ERR, "%s: peer verification: %s", c->addr,
				eg_strerror(ret));
			return ret;
		}
	}
	return eg_policy_decide(cfg->policy, c->peer, &req, d);
}

void vf_audit_event(struct vf_config *cfg, const char *component,
		    const char *peer, const char *sni,
		    const struct eg_decision *d, const char *method,
		    const char *host, const char *path)
{
	struct eg_audit_event ev;
	struct timespec ts;
	char *nhost = NULL;
	int ret;

	vf_metrics_decision(d->event, d->reason, d->rule);
	if (cfg->audit == NULL)
		return;
	/* The host as the nginx and Apache modules record it (lowercase, no
	 * port, no trailing dot), so one policy audits alike everywhere; a
	 * name that does not normalise is recorded as sent. */
	if (host != NULL && eg_match_normalize_host(host, &nhost) == 0)
		host = nhost;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&ev, 0, sizeof(ev));
	ev.ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.event = d->event;
	ev.reason = d->reason;
	ev.component = component;
	ev.peer = peer;
	ev.sni = sni != NULL && sni[0] != '\0' ? sni : NULL;
	ev.method = method;
	ev.host = host;
	ev.path = path;
	ev.identity = d->identity;
	ev.policy = d->rule;
	ev.mode = d->mode;
	ret = eg_audit_log_record(cfg->audit, &ev);
	if (ret < 0)
		egd_log(EGD_ERR, "audit log: %s", eg_strerror(ret));
	eg_free(nhost);
}

void vf_audit(struct vf_conn *c, const char *component,
	      const struct eg_decision *d, const char *method, const char *host,
	      const char *path)
{
	char sni[256];

	/* Asked of the session when needed: a copy per connection would
	 * cost every idle connection its size. */
	egd_tls_sni(c->client.tls, sni, sizeof(sni));
	vf_audit_event(vf_worker_config(c->w), component, c->addr, sni, d,
		       method, host, path);
}

int vf_tls_verify_cb(gnutls_session_t session)
{
	struct vf_conn *c = gnutls_session_get_ptr(session);
	struct eg_decision d;

	if (c == NULL || c->magic != EGD_EXCH_MAGIC)
		return -1;
	if (!c->cfg->reject_at_handshake)
		return 0; /* decided per request, at the HTTP layer */
	if (vf_decide(c, NULL, NULL, &d) < 0)
		return -1;
	c->audited_handshake = true;
	vf_audit(c, "verifier", &d, NULL, NULL, NULL);
	return d.admit ? 0 : -1;
}
