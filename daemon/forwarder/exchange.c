/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/tls_client.h"
#include "forwarder/forwarder.h"

#define TLS_CHUNK 16384

static struct egf_conn *conn_of(struct egd_exch *x)
{
	return egd_container_of(x, struct egf_conn, x);
}

static const char *up_name(const struct egf_conn *c)
{
	return c->up != NULL ? c->up->server->text : "-";
}

/*
 * May the request be sent again on another connection? Only an idempotent
 * bodiless one (c->replay_len) of which the origin answered nothing, after a
 * failure to establish the connection (up to the origin's `retries`), or
 * once when a pooled connection turns out closed. The certificate
 * failures are no connection failures: another try would fail the same.
 */
static bool may_retry(const struct egf_conn *c, enum egf_error kind)
{
	const struct egf_upstream *u = c->up;

	if (c->replay_len == 0 || c->up_recv != 0 || c->rs != RS_WAIT)
		return false;
	if (u != NULL && u->reused)
		return kind == EGF_E_CLOSED && !c->stale_retried;
	/* Waiting for the same silent server twice would double the delay
	 * for nothing: a timeout moves on to another server only. */
	if (kind == EGF_E_CONNECT ||
	    (kind == EGF_E_TIMEOUT && u != NULL && u->state != UP_READY &&
	     c->origin->n_servers > 1))
		return c->attempts <= c->origin->retries;
	return false;
}

void egf_upstream_failed(struct egf_conn *c, enum egf_error kind,
			 const char *why)
{
	struct egf_origin *o = c->origin;
	char msg[160];

	if (may_retry(c, kind)) {
		bool stale = c->up != NULL && c->up->reused;

		egd_log(stale ? EGD_DEBUG : EGD_NOTICE,
			"%s: origin %s (%s): %s: sending the request again",
			c->addr, o->name, up_name(c), why);
		egf_count(&o->stats->retries);
		if (stale)
			c->stale_retried = true;
		if (c->up != NULL) {
			egf_upstream_release(c->up, false);
			c->up = NULL;
		}
		egd_exch_rewind(&c->x);
		if (egf_request_connect(c, stale) == 0)
			return;
		snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
		why = msg;
	}
	egf_count(&o->stats->errors[kind]);
	egd_log(EGD_WARN, "%s: origin %s (%s): %s", c->addr, o->name,
		up_name(c), why);
	if (c->up != NULL) {
		egf_upstream_release(c->up, false);
		c->up = NULL;
	}
	/* RS_WAIT, RS_HEADOUT: nothing of the response went out yet. */
	egd_exch_abort(&c->x, c->rs == RS_WAIT || c->rs == RS_HEADOUT
				      ? (kind == EGF_E_TIMEOUT ? 504 : 502)
				      : 0);
}

/* A fatal TLS receive error: an alert on a connection that never carried
 * an answer is the origin refusing us (in TLS 1.3 the server judges our
 * certificate after our side of the handshake is complete). */
static void recv_failed(struct egf_conn *c, int ret)
{
	struct egf_upstream *u = c->up;
	char why[300], msg[400];

	egd_tls_client_why(u->tls, ret, why, sizeof(why));
	if (!u->reused && !u->answered && c->up_recv == 0 &&
	    egd_tls_client_refused(u->tls, ret)) {
		snprintf(msg, sizeof(msg),
			 "the origin refused our client certificate (after "
			 "the handshake): %s",
			 why);
		egf_upstream_failed(c, EGF_E_HANDSHAKE, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "receive: %s", why);
	egf_upstream_failed(c, EGF_E_CLOSED, msg);
}

static int upstream_send(struct egf_conn *c)
{
	struct egf_upstream *u = c->up;
	int progress = 0;

	while (egd_buf_len(&c->bout) > 0) {
		size_t len = egd_buf_len(&c->bout);
		ssize_t n;

		/* GnuTLS wants a retried send with the same size. */
		if (u->tls_pending > 0)
			len = u->tls_pending;
		else if (len > TLS_CHUNK)
			len = TLS_CHUNK;
		n = gnutls_record_send(u->tls, egd_buf_head(&c->bout), len);
		if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN) {
			u->tls_pending = len;
			if (n == GNUTLS_E_AGAIN)
				break;
			continue;
		}
		u->tls_pending = 0;
		if (n < 0) {
			char why[300], msg[400], alert[64];
			ssize_t m = gnutls_record_recv(u->tls, alert,
						       sizeof(alert));

			/* An origin that refused our certificate may have
			 * said so before it closed: that is the reason. */
			if (m < 0 && egd_tls_client_refused(u->tls, (int)m)) {
				recv_failed(c, (int)m);
				return -1;
			}
			snprintf(msg, sizeof(msg), "send: %s",
				 egd_tls_client_why(u->tls, (int)n, why,
						    sizeof(why)));
			egf_upstream_failed(c, EGF_E_CLOSED, msg);
			return -1;
		}
		egd_buf_consume(&c->bout, (size_t)n);
		c->up_sent += (size_t)n;
		c->up_last_io = ev_now(c->w->loop);
		progress = 1;
	}
	return progress;
}

static int upstream_recv(struct egf_conn *c)
{
	struct egf_upstream *u = c->up;
	int progress = 0;

	while (u->readable && !c->up_eof &&
	       (c->rs == RS_WAIT || c->rs == RS_BODY) &&
	       egd_buf_space(&c->bin) > 0) {
		size_t space = egd_buf_space(&c->bin); /* compacts first */
		ssize_t n = gnutls_record_recv(u->tls, egd_buf_tail(&c->bin),
					       space);

		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN) {
			u->want_write =
				gnutls_record_get_direction(u->tls) == 1;
			u->readable = false;
			break;
		}
		if (n == GNUTLS_E_PREMATURE_TERMINATION)
			n = 0;
		if (n < 0 && !gnutls_error_is_fatal((int)n))
			continue;
		if (n < 0) {
			recv_failed(c, (int)n);
			return 1;
		}
		u->want_write = false;
		c->up_last_io = ev_now(c->w->loop);
		progress = 1;
		if (n == 0) {
			c->up_eof = true;
			break;
		}
		egd_buf_commit(&c->bin, (size_t)n);
		c->up_recv += (size_t)n;
		/* Drained, as in core/stream.c: the watcher reports more. */
		if ((size_t)n < space &&
		    gnutls_record_check_pending(u->tls) == 0) {
			u->readable = false;
			break;
		}
	}
	if (!u->ticket_kept)
		u->ticket_kept = egd_tls_client_keep(c->origin->tls, u->tls);
	return progress;
}

static int upstream_io(struct egd_exch *x)
{
	struct egf_conn *c = conn_of(x);
	struct egf_upstream *u = c->up;
	enum egf_up_state before;
	int r, progress = 0;

	if (u == NULL)
		return 0;
	if (u->state != UP_READY) {
		before = u->state;
		r = egf_upstream_step(u);
		if (r == -1) {
			egf_upstream_failed(c, u->fail, u->why);
			return 1;
		}
		if (r == 0)
			return u->state != before;
		c->up_last_io = ev_now(c->w->loop);
		progress = 1;
	}
	r = upstream_send(c);
	if (r == -1)
		return 1;
	progress |= r;
	if (c->up == NULL)
		return 1;
	return progress | upstream_recv(c);
}

ev_tstamp egf_upstream_deadline(const struct egf_conn *c)
{
	const struct egf_upstream *u = c->up;
	const struct egf_origin *o = c->origin;

	if (u == NULL)
		return 0;
	switch (u->state) {
	case UP_CONNECTING:
		return u->started + o->connect_timeout_ms / 1000.0;
	case UP_HANDSHAKING:
		return u->started + o->handshake_timeout_ms / 1000.0;
	case UP_READY:
		if (c->rs == RS_WAIT || c->rs == RS_BODY ||
		    egd_buf_len(&c->bout) > 0)
			return c->up_last_io + o->response_timeout_ms / 1000.0;
		return 0;
	}
	return 0;
}

void egf_upstream_timeout(struct egf_conn *c)
{
	const struct egf_origin *o = c->origin;
	char why[128];

	switch (c->up->state) {
	case UP_CONNECTING:
		snprintf(why, sizeof(why), "connect timed out after %u ms",
			 o->connect_timeout_ms);
		break;
	case UP_HANDSHAKING:
		snprintf(why, sizeof(why),
			 "TLS handshake timed out after %u ms",
			 o->handshake_timeout_ms);
		break;
	case UP_READY:
		snprintf(why, sizeof(why),
			 "no response data for %u ms (response_timeout_ms)",
			 o->response_timeout_ms);
		break;
	}
	egf_upstream_failed(c, EGF_E_TIMEOUT, why);
}

static void handshake_timeout(struct egd_exch *x)
{
	egf_count(&egf_metrics.tls_in_failed);
	egd_log(EGD_INFO, "%s: TLS handshake timeout", x->addr);
}

static void request_head(struct egd_exch *x)
{
	egf_request_head(conn_of(x));
}

static void request_done(struct egd_exch *x)
{
	egf_admin_request(conn_of(x));
}

static void upstream_error(struct egd_exch *x, enum egd_exch_error e)
{
	struct egf_conn *c = conn_of(x);

	switch (e) {
	case EGD_EX_CLOSED:
		egf_upstream_failed(c, EGF_E_CLOSED,
				    "closed the connection before answering");
		break;
	case EGD_EX_TRUNCATED:
		egf_upstream_failed(c, EGF_E_CLOSED,
				    "closed the connection mid-response");
		break;
	case EGD_EX_INVALID:
		egf_upstream_failed(c, EGF_E_PROTOCOL, "invalid response");
		break;
	case EGD_EX_SWITCHED:
		/* Upgrade was stripped from the request. */
		egf_upstream_failed(c, EGF_E_PROTOCOL,
				    "switched protocols unasked (101)");
		break;
	}
}

static void detach(struct egd_exch *x, bool reuse, bool done)
{
	struct egf_conn *c = conn_of(x);
	struct egf_upstream *u = c->up;

	if (u != NULL) {
		if (done) {
			reuse = reuse &&
				gnutls_record_check_pending(u->tls) == 0;
			egf_metrics_latency(ev_now(c->w->loop) - c->req_start);
			u->answered = true;
		}
		egf_upstream_release(u, reuse);
		c->up = NULL;
	}
	if (done) {
		egf_config_unref(c->rcfg);
		c->rcfg = NULL;
		c->origin = NULL;
		c->attempts = 0;
		c->stale_retried = false;
	}
}

static int timeout(struct egd_exch *x)
{
	struct egf_conn *c = conn_of(x);

	if (egf_upstream_deadline(c) == 0)
		return -1;
	egf_upstream_timeout(c);
	return 0;
}

static void conn_arm(struct egd_exch *x)
{
	struct egf_conn *c = conn_of(x);
	const struct egf_limits *l = &c->cfg->limits;
	struct egf_upstream *u = c->up;

	if (u != NULL) {
		int uev = 0;

		if (u->state == UP_CONNECTING)
			uev = EV_WRITE;
		else if (u->state == UP_HANDSHAKING || u->want_write)
			uev = u->want_write ? EV_WRITE : EV_READ;
		if (u->state == UP_READY) {
			if (egd_buf_len(&c->bout) > 0 || u->tls_pending > 0)
				uev |= EV_WRITE;
			if (!c->up_eof &&
			    (c->rs == RS_WAIT || c->rs == RS_BODY) &&
			    egd_buf_room(&c->bin) > 0)
				uev |= EV_READ;
		}
		egf_upstream_watch(u, uev);
	}
	egd_exch_arm(x, l->handshake_timeout_ms, l->header_timeout_ms,
		     l->idle_timeout_ms, egf_upstream_deadline(c));
}

static void conn_close(struct egd_exch *x)
{
	egf_conn_close(conn_of(x));
}

const struct egd_exch_ops egf_exch_ops = {
	.handshake_timeout = handshake_timeout,
	.request_head = request_head,
	.request_done = request_done,
	.upstream_io = upstream_io,
	.upstream_error = upstream_error,
	.detach = detach,
	.timeout = timeout,
	.arm = conn_arm,
	.close = conn_close,
	.bad_requests = &egf_metrics.bad_requests,
	.handshakes_failed = &egf_metrics.tls_in_failed,
	.handshakes_full = &egf_metrics.tls_in_full,
	.handshakes_resumed = &egf_metrics.tls_in_resumed,
};
