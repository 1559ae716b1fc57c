/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/net.h"
#include "core/stream.h"
#include "core/tls.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

/* Plaintext buffers towards and from the client. cout also holds a
 * rewritten response head, so it is sized for the response head limit. */
#define CIN_SIZE  16384
#define COUT_SIZE (49152 + 1024)
#define LINGER_S  2.0

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);

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
	c->magic = VF_CONN_MAGIC;
	c->kind = kind;
	c->w = w;
	c->cfg = vf_config_ref(cfg);
	egd_buf_setup(&c->cin, CIN_SIZE);
	egd_buf_setup(&c->cout, COUT_SIZE);
	if (egd_http_init(&c->req, false, cfg->limits.max_header_bytes,
			  cfg->limits.max_headers) == -1)
		goto fail;
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
	egd_stream_init(&c->client, fd, tls);
	c->accepted_at = c->last_io = ev_now(w->loop);
	ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->timer, conn_timer_cb, 0, 0);
	c->timer.data = c;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	atomic_fetch_add_explicit(&vf_metrics.active_connections, 1,
				  memory_order_relaxed);
	vf_count(&vf_metrics.connections_total);
	vf_conn_pump(c);
	return;
fail:
	if (c != NULL) {
		egd_http_free(&c->req);
		egd_buf_free(&c->cin);
		egd_buf_free(&c->cout);
		vf_config_unref(c->cfg);
		free(c);
	}
	close(fd);
}

void vf_conn_close(struct vf_conn *c)
{
	struct vf_worker *w = c->w;

	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->timer);
	if (c->be != NULL)
		vf_backend_release(c->be, false);
	egd_stream_close(&c->client);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->n_conns--;
	atomic_fetch_sub_explicit(&vf_metrics.active_connections, 1,
				  memory_order_relaxed);
	eg_peer_free(c->peer);
	vf_config_unref(c->pcfg);
	vf_config_unref(c->cfg);
	egd_http_free(&c->req);
	if (c->resp_init)
		egd_http_free(&c->resp);
	egd_buf_free(&c->cin);
	egd_buf_free(&c->cout);
	egd_buf_free(&c->bout);
	egd_buf_free(&c->bin);
	c->magic = 0;
	free(c);
	vf_worker_maybe_exit(w);
}

/* Returns 1 when the handshake finished, 0 when it waits for I/O, -1 on
 * failure. */
static int do_handshake(struct vf_conn *c)
{
	int ret = egd_stream_handshake(&c->client);

	if (ret == 0)
		return 0;
	if (ret < 0) {
		vf_count(&vf_metrics.handshake_errors);
		/* Handshake-reject mode: a client without a certificate is
		 * refused by GnuTLS itself; it still gets its audit record. */
		if (c->cfg->reject_at_handshake && !c->audited_handshake &&
		    (ret == GNUTLS_E_NO_CERTIFICATE_FOUND ||
		     ret == GNUTLS_E_CERTIFICATE_REQUIRED)) {
			struct eg_decision d;

			if (vf_decide(c, NULL, NULL, &d) == 0)
				vf_audit(c, "verifier", &d, NULL, NULL, NULL);
		}
		egd_log(EGD_DEBUG, "%s: handshake: %s", c->addr,
			gnutls_strerror(ret));
		return -1;
	}
	if (gnutls_session_is_resumed(c->client.tls))
		vf_count(&vf_metrics.handshakes_resumed);
	else
		vf_count(&vf_metrics.handshakes_full);
	c->last_io = ev_now(c->w->loop);
	return 1;
}

/* The request and its response are both complete: next request. */
static void finish_exchange(struct vf_conn *c)
{
	ev_tstamp now = ev_now(c->w->loop);

	if (c->kind == VF_PROXY && c->be != NULL) {
		bool reuse = c->be_reusable && !c->be_eof &&
			     egd_buf_len(&c->bin) == 0 &&
			     llhttp_should_keep_alive(&c->resp.parser);

		vf_metrics_latency(now - c->req_start);
		vf_backend_release(c->be, reuse);
		c->be = NULL;
	}
	c->replay_len = 0;
	c->rq = RQ_HEAD;
	c->rs = RS_NONE;
	c->head_start = 0;
	c->head_method_head = false;
	c->be_sent = c->be_recv = 0;
	c->be_eof = false;
	egd_buf_reset(&c->bin);
	egd_buf_reset(&c->bout);
	egd_http_next(&c->req);
	if (c->close_after || c->w->draining)
		c->closing = true;
}

static int request_step(struct vf_conn *c)
{
	size_t len = egd_buf_len(&c->cin);
	const char *why = NULL;
	size_t consumed = 0;
	enum egd_http_result r;

	if (c->closing || c->rq == RQ_DONE)
		return 0;
	if (c->rq == RQ_HEAD) {
		if (c->rs != RS_NONE || len == 0)
			return 0;
		if (c->head_start == 0)
			c->head_start = ev_now(c->w->loop);
	} else if (c->kind == VF_PROXY) {
		size_t space = egd_buf_space(&c->bout);

		if (len > space)
			len = space;
		if (len == 0 && !c->req.after_head)
			return 0;
	}
	r = egd_http_feed(&c->req, egd_buf_head(&c->cin), len, &consumed);
	if (r == EGD_HTTP_DONE && c->rq == RQ_BODY && c->kind == VF_PROXY &&
	    !vf_request_trailers_ok(&c->req)) {
		why = "forbidden trailer field";
		r = EGD_HTTP_ERROR;
		consumed = 0;
	}
	if (c->rq == RQ_BODY && c->kind == VF_PROXY && consumed > 0)
		egd_buf_append(&c->bout, egd_buf_head(&c->cin), consumed);
	egd_buf_consume(&c->cin, consumed);
	switch (r) {
	case EGD_HTTP_MORE:
		return consumed > 0;
	case EGD_HTTP_TOO_LARGE:
	case EGD_HTTP_TOO_MANY:
		vf_count(&vf_metrics.bad_requests);
		vf_conn_reply(c, 431, NULL, NULL,
			      "431 Request Header Fields Too Large\n", true);
		return 1;
	case EGD_HTTP_ERROR:
		vf_count(&vf_metrics.bad_requests);
		egd_log(EGD_INFO, "%s: bad request: %s", c->addr,
			why != NULL ? why : egd_http_error(&c->req));
		if (c->rq == RQ_BODY && c->be_sent > 0)
			return -1; /* the backend has part of it: cut both */
		if (c->be != NULL) {
			vf_backend_release(c->be, false);
			c->be = NULL;
		}
		egd_buf_reset(&c->bout);
		vf_conn_reply(c, 400, NULL, NULL, "400 Bad Request\n", true);
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
		if (c->kind == VF_PROXY) {
			c->rs = RS_WAIT;
			if (vf_request_head(c) == -1)
				return 1;
		}
		return 1;
	case EGD_HTTP_DONE:
		c->rq = RQ_DONE;
		if (c->kind == VF_AUTHZ)
			vf_authz_request(c);
		else if (c->kind == VF_ADMIN)
			vf_admin_request(c);
		return 1;
	}
	return 0;
}

/* Parses as much of cin as possible before anything is written to the
 * backend, so a request that turns out malformed reaches it not at all. */
static int process_request(struct vf_conn *c)
{
	int r, progress = 0;

	while ((r = request_step(c)) > 0)
		progress = 1;
	return r < 0 ? -1 : progress;
}

/* A pooled backend connection closed or reset before a byte of the answer:
 * the backend dropped it while idle, so a bodiless idempotent request is
 * sent once more on a new connection. Returns true when it was. */
static bool retry_fresh(struct vf_conn *c, enum vf_backend_error kind)
{
	size_t len = c->replay_len;

	if (len == 0 || kind != VF_BE_CONNECT || c->be == NULL ||
	    !c->be->reused || c->be_recv != 0 || c->rs != RS_WAIT)
		return false;
	c->replay_len = 0;
	vf_backend_release(c->be, false);
	c->be = vf_backend_get(c->w, c, true, false);
	if (c->be == NULL)
		return false;
	/* The head is still where put_head() wrote it (see replay_len). */
	egd_buf_reset(&c->bout);
	egd_buf_commit(&c->bout, len);
	vf_count(&vf_metrics.backend_retries);
	egd_log(EGD_DEBUG, "%s: pooled backend connection was closed: resent",
		c->addr);
	c->be_sent = 0;
	c->be_eof = false;
	c->be_start = c->be_last_io = ev_now(c->w->loop);
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
	if (c->be != NULL) {
		vf_backend_release(c->be, false);
		c->be = NULL;
	}
	if (c->rs == RS_WAIT && c->be_recv == 0) {
		egd_buf_reset(&c->bout);
		vf_conn_reply(c, kind == VF_BE_TIMEOUT ? 504 : 502, NULL, NULL,
			      kind == VF_BE_TIMEOUT ? "504 Gateway Timeout\n"
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

/* Moves bytes between the buffers and the backend socket. */
static int backend_io(struct vf_conn *c)
{
	struct vf_backend *b = c->be;
	int progress = 0;
	ssize_t n;

	if (b == NULL)
		return 0;
	if (b->error != 0) {
		backend_failed(c, VF_BE_CONNECT);
		return 1;
	}
	if (!b->connected)
		return 0;
	while (egd_buf_len(&c->bout) > 0) {
		n = send(b->fd, egd_buf_head(&c->bout), egd_buf_len(&c->bout),
			 MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1) {
			backend_failed(c, VF_BE_CONNECT);
			return 1;
		}
		egd_buf_consume(&c->bout, (size_t)n);
		c->be_sent += (size_t)n;
		c->be_last_io = ev_now(c->w->loop);
		progress = 1;
	}
	while (b->readable && !c->be_eof &&
	       (c->rs == RS_WAIT || c->rs == RS_BODY) &&
	       egd_buf_space(&c->bin) > 0) {
		size_t space = egd_buf_space(&c->bin); /* compacts first */

		n = recv(b->fd, egd_buf_tail(&c->bin), space, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			b->readable = false;
			break;
		}
		if (n == -1) {
			backend_failed(c, VF_BE_CONNECT);
			return 1;
		}
		c->be_last_io = ev_now(c->w->loop);
		progress = 1;
		if (n == 0) {
			c->be_eof = true;
			break;
		}
		egd_buf_commit(&c->bin, (size_t)n);
		c->be_recv += (size_t)n;
		if ((size_t)n < space) {
			/* Drained: see egd_stream_read(). */
			b->readable = false;
			break;
		}
	}
	return progress;
}

static int response_step(struct vf_conn *c)
{
	size_t len = egd_buf_len(&c->bin);
	size_t consumed = 0;
	enum egd_http_result r;

	if (c->rs == RS_HEADOUT) {
		/* The rewritten head needs room next to what cout holds. */
		if (c->cout.cap - egd_buf_len(&c->cout) <
		    c->resp.used + 4 * (size_t)c->resp.n + 256)
			return 0;
		if (vf_response_head(c) == -1)
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
		if (!c->be_eof)
			return 0;
		if (c->rs == RS_BODY &&
		    egd_http_eof(&c->resp) == EGD_HTTP_DONE) {
			c->rs = RS_DONE;
			c->close_after = true;
			return 1;
		}
		backend_failed(c, c->be_recv == 0 ? VF_BE_CONNECT
						  : VF_BE_PROTOCOL);
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
		backend_failed(c, VF_BE_PROTOCOL);
		return 1;
	}
}

static int process_response(struct vf_conn *c)
{
	int progress = 0;

	if (c->kind != VF_PROXY)
		return 0;
	while (response_step(c) > 0)
		progress = 1;
	return progress;
}

static void start_linger(struct vf_conn *c)
{
	egd_stream_shutdown(&c->client);
	c->lingering = true;
	c->deadline = ev_now(c->w->loop) + LINGER_S;
}

/* The backend has all the request so far and no answer started: what is
 * missing is the client's body, so its silence is the client's timeout
 * (408), not the backend's (504). */
static bool awaiting_body(const struct vf_conn *c)
{
	return c->rq == RQ_BODY && c->rs == RS_WAIT && c->be != NULL &&
	       c->be->connected && c->be_recv == 0 &&
	       egd_buf_len(&c->bout) == 0 && egd_buf_len(&c->cin) == 0;
}

static void conn_arm(struct vf_conn *c)
{
	struct ev_loop *loop = c->w->loop;
	const struct vf_limits *l = &c->cfg->limits;
	ev_tstamp now = ev_now(loop);
	ev_tstamp dl;

	egd_conn_arm_client(loop, &c->io, &c->client, &c->cin, &c->cout,
			    c->lingering);
	if (c->be != NULL) {
		int bev = 0;

		if (!c->be->connected || egd_buf_len(&c->bout) > 0)
			bev |= EV_WRITE;
		if (c->be->connected && !c->be_eof &&
		    (c->rs == RS_WAIT || c->rs == RS_BODY) &&
		    egd_buf_room(&c->bin) > 0)
			bev |= EV_READ;
		vf_backend_watch(c->be, bev);
	}
	if (c->lingering)
		dl = c->deadline;
	else if (c->client.handshaking)
		dl = c->accepted_at + l->handshake_timeout_ms / 1000.0;
	else if (c->rq == RQ_HEAD && c->rs == RS_NONE)
		dl = c->head_start != 0
			     ? c->head_start + l->header_timeout_ms / 1000.0
			     : c->last_io + l->idle_timeout_ms / 1000.0;
	else if (c->be != NULL && !c->be->connected)
		dl = c->be_start + l->backend_connect_timeout_ms / 1000.0;
	else if (awaiting_body(c))
		dl = c->last_io + l->idle_timeout_ms / 1000.0;
	else if (c->be != NULL && (c->rs == RS_WAIT || c->rs == RS_BODY))
		dl = c->be_last_io + l->backend_response_timeout_ms / 1000.0;
	else
		dl = c->last_io + l->idle_timeout_ms / 1000.0;
	c->deadline = dl;
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, dl > now ? dl - now : 0.0, 0.0);
	ev_timer_start(loop, &c->timer);
}

static void release_idle(struct vf_conn *c)
{
	if (!c->client.handshaking && c->be == NULL && c->rq == RQ_HEAD &&
	    c->rs == RS_NONE)
		egd_conn_release_idle(&c->client, &c->cin, &c->cout, &c->bin,
				      &c->bout, &c->req, &c->resp);
}

void vf_conn_pump(struct vf_conn *c)
{
	int r, progress;

	for (int rounds = 0; rounds < 1000; rounds++) {
		progress = 0;
		if (c->client.handshaking) {
			r = do_handshake(c);
			if (r == -1)
				goto close;
			if (r == 0)
				break;
		}
		if ((r = egd_conn_read(&c->client, &c->cin, c->lingering,
				       c->addr, ev_now(c->w->loop),
				       &c->last_io)) == -1)
			goto close;
		progress |= r;
		if ((r = process_request(c)) == -1)
			goto close;
		progress |= r;
		progress |= backend_io(c);
		progress |= process_response(c);
		if (c->rq == RQ_DONE && c->rs == RS_DONE && !c->closing)
			finish_exchange(c), progress = 1;
		if (c->rs == RS_DONE && c->rq != RQ_DONE && !c->closing &&
		    c->kind == VF_PROXY) {
			/* Answered before the request body ended: the rest
			 * of it cannot be told apart from a next request. */
			c->closing = true;
		}
		if ((r = egd_conn_write(&c->client, &c->cout, c->addr)) == -1)
			goto close;
		progress |= r;
		if (c->lingering && c->client.eof)
			goto close;
		if (c->closing && !c->lingering && egd_buf_len(&c->cout) == 0) {
			if (c->client.handshaking)
				goto close;
			start_linger(c);
			progress = 1;
		}
		if (c->client.eof && !c->closing && c->rq == RQ_HEAD &&
		    c->rs == RS_NONE && egd_buf_len(&c->cin) == 0)
			goto close; /* client finished with us */
		if (!progress)
			break;
	}
	release_idle(c);
	conn_arm(c);
	return;
close:
	vf_conn_close(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct vf_conn *c = io->data;

	(void)loop;
	if (c == NULL || c->magic != VF_CONN_MAGIC)
		return;
	egd_stream_ready(&c->client,
			 (revents & EV_READ ? EGD_STREAM_READ : 0) |
				 (revents & EV_WRITE ? EGD_STREAM_WRITE : 0));
	vf_conn_pump(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct vf_conn *c = t->data;
	ev_tstamp now = ev_now(loop);

	(void)revents;
	if (c == NULL || c->magic != VF_CONN_MAGIC)
		return;
	if (now + 0.001 < c->deadline) {
		conn_arm(c);
		return;
	}
	if (c->lingering || c->client.handshaking || c->closing) {
		vf_conn_close(c);
		return;
	}
	if (c->rq == RQ_HEAD && c->rs == RS_NONE) {
		if (c->head_start == 0) {
			vf_conn_close(c); /* idle keep-alive */
			return;
		}
		egd_log(EGD_INFO, "%s: request header timeout", c->addr);
		vf_conn_reply(c, 408, NULL, NULL, "408 Request Timeout\n",
			      true);
	} else if (awaiting_body(c)) {
		egd_log(EGD_INFO, "%s: request body timeout", c->addr);
		vf_backend_release(c->be, false);
		c->be = NULL;
		vf_conn_reply(c, 408, NULL, NULL, "408 Request Timeout\n",
			      true);
	} else if (c->be != NULL && (!c->be->connected || c->rs == RS_WAIT ||
				     c->rs == RS_BODY)) {
		backend_failed(c, VF_BE_TIMEOUT);
	} else {
		vf_conn_close(c);
		return;
	}
	vf_conn_pump(c);
}
