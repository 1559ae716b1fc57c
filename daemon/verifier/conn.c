/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

/* The verifier's client connections: the core exchange (core/exchange.h)
 * with the audit of a handshake refusal, the plain backend as next hop, and
 * the backend's failures and deadlines. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/net.h"
#include "core/stream.h"
#include "core/tls.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

static struct vf_conn *conn_of(struct egd_exch *x)
{
	return egd_container_of(x, struct vf_conn, x);
}

/* Handshake-reject mode: a client without a certificate is refused by
 * GnuTLS itself; it still gets its audit record. */
static void handshake_failed(struct egd_exch *x, int ret)
{
	struct vf_conn *c = conn_of(x);
	struct eg_decision d;

	if (c->cfg->reject_at_handshake && !c->audited_handshake &&
	    (ret == GNUTLS_E_NO_CERTIFICATE_FOUND ||
	     ret == GNUTLS_E_CERTIFICATE_REQUIRED) &&
	    vf_decide(c, NULL, NULL, &d) == 0)
		vf_audit(c, "verifier", &d, NULL, NULL, NULL);
}

static void request_head(struct egd_exch *x)
{
	vf_request_head(conn_of(x));
}

static void request_done(struct egd_exch *x)
{
	struct vf_conn *c = conn_of(x);

	if (c->kind == VF_AUTHZ)
		vf_authz_request(c);
	else
		vf_admin_request(c);
}

static void detach(struct egd_exch *x, bool reuse, bool done)
{
	struct vf_conn *c = conn_of(x);

	if (c->be == NULL)
		return;
	if (done)
		vf_metrics_latency(ev_now(c->w->loop) - c->req_start);
	vf_backend_release(c->be, reuse);
	c->be = NULL;
}

/* A pooled backend connection closed or reset before a byte of the answer:
 * the backend dropped it while idle, so a bodiless idempotent request is
 * sent once more on a new connection. Returns true when it was. */
static bool retry_fresh(struct vf_conn *c, enum vf_backend_error kind)
{
	if (c->replay_len == 0 || kind != VF_BE_CONNECT || c->be == NULL ||
	    !c->be->reused || c->up_recv != 0 || c->rs != RS_WAIT)
		return false;
	vf_backend_release(c->be, false);
	c->be = vf_backend_get(c->w, c, true, false);
	if (c->be == NULL) {
		c->replay_len = 0;
		return false;
	}
	egd_exch_rewind(&c->x);
	c->replay_len = 0; /* once */
	vf_count(&vf_metrics.backend_retries);
	egd_log(EGD_DEBUG, "%s: pooled backend connection was closed: resent",
		c->addr);
	c->up_last_io = ev_now(c->w->loop);
	return true;
}

static void backend_failed(struct vf_conn *c, enum vf_backend_error kind)
{
	if (retry_fresh(c, kind))
		return;
	vf_count(&vf_metrics.backend_errors[kind]);
	egd_log(EGD_WARN, "%s: backend %s: %s", c->addr, c->cfg->backend_text,
		kind == VF_BE_TIMEOUT	 ? "timed out"
		: kind == VF_BE_PROTOCOL ? "sent an invalid response"
					 : "connection failed");
	detach(&c->x, false, false);
	egd_exch_abort(&c->x, c->rs == RS_WAIT && c->up_recv == 0
				      ? (kind == VF_BE_TIMEOUT ? 504 : 502)
				      : 0);
}

static void upstream_error(struct egd_exch *x, enum egd_exch_error e)
{
	struct vf_conn *c = conn_of(x);

	switch (e) {
	case EGD_EX_CLOSED:
		backend_failed(c, VF_BE_CONNECT);
		break;
	case EGD_EX_TRUNCATED:
	case EGD_EX_INVALID:
		backend_failed(c, VF_BE_PROTOCOL);
		break;
	case EGD_EX_SWITCHED:
		vf_count(&vf_metrics.backend_errors[VF_BE_PROTOCOL]);
		c->up_reusable = false;
		vf_conn_reply(c, 502, NULL, NULL, "502 Bad Gateway\n", true);
		break;
	}
}

/* Moves bytes between the buffers and the backend socket. */
static int backend_io(struct egd_exch *x)
{
	struct vf_conn *c = conn_of(x);
	struct vf_backend *b = c->be;
	int r;

	if (b == NULL || (b->error == 0 && !b->connected))
		return 0;
	r = b->error != 0 ? -1 : egd_exch_relay(x, &b->s);
	if (r == -1) {
		backend_failed(c, VF_BE_CONNECT);
		return 1;
	}
	return r;
}

/* The backend has all the request so far and no answer started: what is
 * missing is the client's body, so its silence is the client's timeout
 * (408), not the backend's (504). */
static bool awaiting_body(const struct vf_conn *c)
{
	return c->rq == RQ_BODY && c->rs == RS_WAIT && c->be != NULL &&
	       c->be->connected && c->up_recv == 0 &&
	       egd_buf_len(&c->bout) == 0 && egd_buf_len(&c->cin) == 0;
}

static int timeout(struct egd_exch *x)
{
	struct vf_conn *c = conn_of(x);

	if (awaiting_body(c)) {
		egd_log(EGD_INFO, "%s: request body timeout", c->addr);
		detach(x, false, false);
		vf_conn_reply(c, 408, NULL, NULL, "408 Request Timeout\n",
			      true);
		return 0;
	}
	if (c->be != NULL &&
	    (!c->be->connected || c->rs == RS_WAIT || c->rs == RS_BODY)) {
		backend_failed(c, VF_BE_TIMEOUT);
		return 0;
	}
	return -1;
}

static void conn_arm(struct egd_exch *x)
{
	struct vf_conn *c = conn_of(x);
	const struct vf_limits *l = &c->cfg->limits;
	ev_tstamp up_dl = 0;

	if (c->be != NULL) {
		int bev = 0;

		if (!c->be->connected || egd_buf_len(&c->bout) > 0)
			bev |= EV_WRITE;
		if (c->be->connected && !c->up_eof &&
		    (c->rs == RS_WAIT || c->rs == RS_BODY) &&
		    egd_buf_room(&c->bin) > 0)
			bev |= EV_READ;
		vf_backend_watch(c->be, bev);
		/* Until connected, up_last_io is when the connect began. */
		if (!c->be->connected)
			up_dl = c->up_last_io +
				l->backend_connect_timeout_ms / 1000.0;
		else if (awaiting_body(c))
			up_dl = c->last_io + l->idle_timeout_ms / 1000.0;
		else if (c->rs == RS_WAIT || c->rs == RS_BODY)
			up_dl = c->up_last_io +
				l->backend_response_timeout_ms / 1000.0;
	}
	egd_exch_arm(x, l->handshake_timeout_ms, l->header_timeout_ms,
		     l->idle_timeout_ms, up_dl);
}

static void conn_close(struct egd_exch *x)
{
	vf_conn_close(conn_of(x));
}

static const struct egd_exch_ops vf_exch_ops = {
	.handshake_failed = handshake_failed,
	.request_head = request_head,
	.request_done = request_done,
	.trailers_ok = vf_request_trailers_ok,
	.upstream_io = backend_io,
	.upstream_error = upstream_error,
	.detach = detach,
	.timeout = timeout,
	.arm = conn_arm,
	.close = conn_close,
	.bad_requests = &vf_metrics.bad_requests,
	.handshakes_failed = &vf_metrics.handshake_errors,
	.handshakes_full = &vf_metrics.handshakes_full,
	.handshakes_resumed = &vf_metrics.handshakes_resumed,
};

void vf_conn_accept(struct vf_worker *w, enum vf_kind kind, int fd,
		    const struct sockaddr *sa, socklen_t salen)
{
	struct vf_config *cfg = vf_worker_config(w);
	struct vf_conn *c = NULL;
	gnutls_session_t tls = NULL;
	int ret;

	if (cfg == NULL || w->draining ||
	    w->n_conns >= cfg->limits.max_connections) {
		/* Overloaded: refuse at once rather than queue. */
		vf_count(&vf_metrics.connections_refused);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	c->kind = kind;
	c->cfg = vf_config_ref(cfg);
	egd_addr_format(sa, salen, c->addr, sizeof(c->addr));
	/* The bare address (no brackets, no port), as X-Forwarded-For and
	 * Forwarded want it. */
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, c->ip,
			  sizeof(c->ip));
	else if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  c->ip, sizeof(c->ip));
	else
		snprintf(c->ip, sizeof(c->ip), "%s", c->addr);
	if (kind == VF_PROXY) {
		ret = egd_tls_session_new(cfg->tls, fd,
					  cfg->reject_at_handshake, c, &tls);
		if (ret < 0) {
			egd_log(EGD_ERR, "TLS session: %s",
				gnutls_strerror(ret));
			goto fail;
		}
	}
	if (egd_exch_init(&c->x, &w->core, &vf_exch_ops, kind == VF_PROXY, fd,
			  tls, cfg->limits.max_header_bytes,
			  cfg->limits.max_headers) == -1)
		goto fail;
	LIST_INSERT_HEAD(&w->conns, c, link);
	w->n_conns++;
	atomic_fetch_add_explicit(&vf_metrics.active_connections, 1,
				  memory_order_relaxed);
	vf_count(&vf_metrics.connections_total);
	vf_conn_pump(c);
	return;
fail:
	if (tls != NULL)
		gnutls_deinit(tls);
	if (c != NULL) {
		vf_config_unref(c->cfg);
		free(c);
	}
	close(fd);
}

void vf_conn_close(struct vf_conn *c)
{
	struct vf_worker *w = c->w;

	if (c->be != NULL)
		vf_backend_release(c->be, false);
	egd_exch_free(&c->x);
	LIST_REMOVE(c, link);
	w->n_conns--;
	atomic_fetch_sub_explicit(&vf_metrics.active_connections, 1,
				  memory_order_relaxed);
	eg_peer_free(c->peer);
	vf_config_unref(c->pcfg);
	vf_config_unref(c->cfg);
	free(c);
	vf_worker_maybe_exit(w);
}
