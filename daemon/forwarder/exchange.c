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

static int request_step(struct egf_conn *c)
{
	size_t len = egd_buf_len(&c->cin);
	size_t consumed = 0;
	enum egd_http_result r;

	if (c->closing || c->rq == RQ_DONE)
		return 0;
	if (c->rq == RQ_HEAD) {
		if (c->rs != RS_NONE || len == 0)
			return 0;
		if (c->head_start == 0)
			c->head_start = ev_now(c->w->loop);
	} else if (c->kind == EGF_PROXY) {
		size_t space = egd_buf_space(&c->bout);

		if (len > space)
			len = space;
		if (len == 0 && !c->req.after_head)
			return 0;
	}
	r = egd_http_feed(&c->req, egd_buf_head(&c->cin), len, &consumed);
	if (c->rq == RQ_BODY && c->kind == EGF_PROXY && consumed > 0)
		egd_buf_append(&c->bout, egd_buf_head(&c->cin), consumed);
	egd_buf_consume(&c->cin, consumed);
	switch (r) {
	case EGD_HTTP_MORE:
		return consumed > 0;
	case EGD_HTTP_TOO_LARGE:
	case EGD_HTTP_TOO_MANY:
		egf_count(&egf_metrics.bad_requests);
		egf_conn_reply(c, 431, NULL,
			       "431 Request Header Fields Too Large\n", true);
		return 1;
	case EGD_HTTP_ERROR:
		egf_count(&egf_metrics.bad_requests);
		egd_log(EGD_INFO, "%s: bad request: %s", c->addr,
			egd_http_error(&c->req));
		if (c->rq == RQ_BODY && c->up_sent > 0)
			return -1; /* the origin has part of it: cut both */
		if (c->up != NULL) {
			egf_upstream_release(c->up, false);
			c->up = NULL;
		}
		egd_buf_reset(&c->bout);
		egf_conn_reply(c, 400, NULL, "400 Bad Request\n", true);
		return 1;
	case EGD_HTTP_HEAD:
		c->req_start = ev_now(c->w->loop);
		c->rq = RQ_BODY;
		c->head_method_head =
			llhttp_get_method(&c->req.parser) == HTTP_HEAD;
		c->req_http10 = llhttp_get_http_major(&c->req.parser) == 1 &&
				llhttp_get_http_minor(&c->req.parser) == 0;
		if (!llhttp_should_keep_alive(&c->req.parser))
			c->close_after = true;
		if (c->kind == EGF_PROXY) {
			c->rs = RS_WAIT;
			egf_request_head(c);
		}
		return 1;
	case EGD_HTTP_DONE:
		c->rq = RQ_DONE;
		if (c->kind == EGF_ADMIN)
			egf_admin_request(c);
		return 1;
	}
	return 0;
}

int egf_process_request(struct egf_conn *c)
{
	int r, progress = 0;

	while ((r = request_step(c)) > 0)
		progress = 1;
	return r < 0 ? -1 : progress;
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
		/* The head is still where put_head() wrote it. */
		egd_buf_reset(&c->bout);
		egd_buf_commit(&c->bout, c->replay_len);
		c->up_sent = 0;
		c->up_eof = false;
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
	if (c->rs == RS_WAIT || c->rs == RS_HEADOUT) {
		/* Nothing of the response went out yet. */
		egd_buf_reset(&c->bout);
		egf_conn_reply(c, kind == EGF_E_TIMEOUT ? 504 : 502, NULL,
			       kind == EGF_E_TIMEOUT ? "504 Gateway Timeout\n"
						     : "502 Bad Gateway\n",
			       true);
	} else {
		/* Part of the response went out: only closing tells the
		 * client it is incomplete. */
		c->rs = RS_DONE;
		c->rq = RQ_DONE;
		c->closing = true;
	}
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

int egf_upstream_io(struct egf_conn *c)
{
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

static int response_step(struct egf_conn *c)
{
	size_t len = egd_buf_len(&c->bin);
	size_t consumed = 0;
	enum egd_http_result r;

	if (c->rs == RS_HEADOUT) {
		/* The rewritten head needs room next to what cout holds. */
		if (c->cout.cap - egd_buf_len(&c->cout) <
		    c->resp.used + 4 * (size_t)c->resp.n + 256)
			return 0;
		if (egf_response_head(c) == -1)
			return 1;
		if (c->resp.msg_done) {
			c->rs = c->resp.parser.status_code < 200 ? RS_WAIT
								 : RS_DONE;
			egd_http_next(&c->resp);
			c->resp.no_body = c->head_method_head;
		} else {
			c->rs = RS_BODY;
		}
		return 1;
	}
	if (c->rs != RS_WAIT && c->rs != RS_BODY)
		return 0;
	if (c->rs == RS_BODY) {
		size_t space = egd_buf_space(&c->cout);

		if (len > space)
			len = space;
	}
	if (len == 0 && !c->resp.after_head) {
		if (!c->up_eof)
			return 0;
		if (c->rs == RS_BODY &&
		    egd_http_eof(&c->resp) == EGD_HTTP_DONE) {
			c->rs = RS_DONE;
			c->close_after = true;
			return 1;
		}
		egf_upstream_failed(
			c, EGF_E_CLOSED,
			c->up_recv == 0 ? "closed the connection before "
					  "answering"
					: "closed the connection mid-response");
		return 1;
	}
	r = egd_http_feed(&c->resp, egd_buf_head(&c->bin), len, &consumed);
	if (c->rs == RS_BODY && consumed > 0)
		egd_buf_append(&c->cout, egd_buf_head(&c->bin), consumed);
	egd_buf_consume(&c->bin, consumed);
	switch (r) {
	case EGD_HTTP_MORE:
		return consumed > 0;
	case EGD_HTTP_HEAD:
		c->rs = RS_HEADOUT;
		return 1;
	case EGD_HTTP_DONE:
		if (c->rs == RS_WAIT) {
			c->rs = RS_HEADOUT; /* head and end together */
		} else {
			c->rs = RS_DONE;
			egd_http_next(&c->resp);
		}
		return 1;
	default:
		egf_upstream_failed(c, EGF_E_PROTOCOL, "invalid response");
		return 1;
	}
}

int egf_process_response(struct egf_conn *c)
{
	int progress = 0;

	if (c->kind != EGF_PROXY)
		return 0;
	while (response_step(c) > 0)
		progress = 1;
	return progress;
}

void egf_finish_exchange(struct egf_conn *c)
{
	ev_tstamp now = ev_now(c->w->loop);

	if (c->kind == EGF_PROXY && c->up != NULL) {
		struct egf_upstream *u = c->up;
		bool reuse = c->up_reusable && !c->up_eof &&
			     egd_buf_len(&c->bin) == 0 &&
			     gnutls_record_check_pending(u->tls) == 0 &&
			     llhttp_should_keep_alive(&c->resp.parser);

		egf_metrics_latency(now - c->req_start);
		u->answered = true;
		egf_upstream_release(u, reuse);
		c->up = NULL;
	}
	c->replay_len = 0;
	egf_config_unref(c->rcfg);
	c->rcfg = NULL;
	c->origin = NULL;
	c->rq = RQ_HEAD;
	c->rs = RS_NONE;
	c->head_start = 0;
	c->head_method_head = false;
	c->up_sent = c->up_recv = 0;
	c->up_eof = false;
	c->attempts = 0;
	c->stale_retried = false;
	egd_buf_reset(&c->bin);
	egd_buf_reset(&c->bout);
	egd_http_next(&c->req);
	if (c->close_after || c->w->draining)
		c->closing = true;
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
