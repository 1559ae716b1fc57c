/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

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
#include "forwarder/forwarder.h"

/* Buffers towards and from the edge proxy. cout also holds a rewritten
 * response head, so it is sized for the response head limit. */
#define CIN_SIZE  16384
#define COUT_SIZE (49152 + 1024)
#define LINGER_S  2.0

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents);

static void conn_free(struct egf_conn *c)
{
	egd_http_free(&c->req);
	if (c->resp_init)
		egd_http_free(&c->resp);
	egd_buf_free(&c->cin);
	egd_buf_free(&c->cout);
	egd_buf_free(&c->bout);
	egd_buf_free(&c->bin);
	egf_config_unref(c->rcfg);
	egf_config_unref(c->cfg);
	c->magic = 0;
	free(c);
}

/* The TLS session of a connection accepted on a TLS listener, or NULL
 * with the reason logged. */
static gnutls_session_t tls_session(struct egf_conn *c, int fd)
{
	gnutls_session_t s = NULL;
	int ret;

	/* A reload that dropped the tls group: its listeners stay until a
	 * restart, but there is no certificate to serve. */
	if (c->cfg->tls_in == NULL) {
		egd_log(EGD_WARN,
			"%s: TLS listener without a tls group in "
			"the configuration: closed",
			c->addr);
		return NULL;
	}
	ret = egf_tls_in_session(c->cfg->tls_in, fd, c, &s);
	if (ret < 0) {
		egd_log(EGD_ERR, "TLS session: %s", gnutls_strerror(ret));
		return NULL;
	}
	return s;
}

void egf_conn_accept(struct egf_worker *w, enum egf_kind kind, bool tls, int fd,
		     const struct sockaddr *sa, socklen_t salen)
{
	struct egf_config *cfg = egf_worker_config(w);
	struct egf_conn *c = NULL;
	gnutls_session_t s = NULL;
	char *colon;

	if (cfg == NULL || w->draining ||
	    w->n_conns >= cfg->limits.max_connections) {
		/* Overloaded: refuse at once rather than queue. */
		egf_count(&egf_metrics.connections_refused);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->magic = EGF_CONN_MAGIC;
	c->kind = kind;
	c->w = w;
	c->cfg = egf_config_ref(cfg);
	egd_addr_format(sa, salen, c->addr, sizeof(c->addr));
	egd_buf_setup(&c->cin, CIN_SIZE);
	egd_buf_setup(&c->cout, COUT_SIZE);
	if ((tls && (s = tls_session(c, fd)) == NULL) ||
	    egd_http_init(&c->req, false, cfg->limits.max_header_bytes,
			  cfg->limits.max_headers) == -1) {
		if (s != NULL)
			gnutls_deinit(s);
		conn_free(c);
		close(fd);
		return;
	}
	egd_stream_init(&c->client, fd, s);
	if (sa->sa_family != AF_UNIX) {
		snprintf(c->ip, sizeof(c->ip), "%s", c->addr);
		colon = strrchr(c->ip, ':');
		if (colon != NULL)
			*colon = '\0';
		if (c->ip[0] == '[') {
			/* "[v6]" as egd_addr_format() wrote it: bare. */
			memmove(c->ip, c->ip + 1, strlen(c->ip));
			c->ip[strlen(c->ip) - 1] = '\0';
		}
	}
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
	egf_gauge(&egf_metrics.active_connections, 1);
	egf_count(&egf_metrics.connections_total);
	egf_conn_pump(c);
}

void egf_conn_close(struct egf_conn *c)
{
	struct egf_worker *w = c->w;

	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->timer);
	if (c->up != NULL)
		egf_upstream_release(c->up, false);
	egd_stream_close(&c->client);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->n_conns--;
	egf_gauge(&egf_metrics.active_connections, -1);
	conn_free(c);
	egf_worker_maybe_exit(w);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 421:
		return "Misdirected Request";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

void egf_conn_reply(struct egf_conn *c, int status, const char *extra_headers,
		    const char *body, bool close)
{
	size_t blen = body ? strlen(body) : 0;
	size_t xlen = extra_headers ? strlen(extra_headers) : 0;

	if (egd_buf_reserve(&c->cout, blen + xlen + 512) == -1) {
		c->closing = true;
		return;
	}
	egd_buf_printf(&c->cout,
		       "HTTP/1.1 %d %s\r\nServer: edgeguard\r\n"
		       "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
		       "%s%s\r\n",
		       status, status_text(status), blen,
		       close ? "Connection: close\r\n" : "",
		       extra_headers ? extra_headers : "");
	if (!c->head_method_head && blen > 0)
		egd_buf_append(&c->cout, body, blen);
	c->rs = RS_DONE;
	if (close) {
		c->rq = RQ_DONE;
		c->closing = true;
	}
}

/* Returns 1 when the TLS handshake finished, 0 when it waits for I/O, -1
 * when it failed. */
static int handshake(struct egf_conn *c)
{
	int r = egd_stream_handshake(&c->client);

	if (r == 0)
		return 0;
	if (r < 0) {
		egf_count(&egf_metrics.tls_in_failed);
		egd_log(EGD_DEBUG, "%s: TLS handshake: %s", c->addr,
			gnutls_strerror(r));
		return -1;
	}
	if (gnutls_session_is_resumed(c->client.tls))
		egf_count(&egf_metrics.tls_in_resumed);
	else
		egf_count(&egf_metrics.tls_in_full);
	c->last_io = ev_now(c->w->loop);
	return 1;
}

static void start_linger(struct egf_conn *c)
{
	egd_stream_shutdown(&c->client);
	c->lingering = true;
	c->deadline = ev_now(c->w->loop) + LINGER_S;
}

static void conn_arm(struct egf_conn *c)
{
	struct ev_loop *loop = c->w->loop;
	const struct egf_limits *l = &c->cfg->limits;
	ev_tstamp now = ev_now(loop);
	ev_tstamp dl, up_dl;

	egd_conn_arm_client(loop, &c->io, &c->client, &c->cin, &c->cout,
			    c->lingering);
	if (c->up != NULL) {
		struct egf_upstream *u = c->up;
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
	up_dl = egf_upstream_deadline(c);
	if (c->lingering)
		dl = c->deadline;
	else if (c->client.handshaking)
		dl = c->accepted_at + l->handshake_timeout_ms / 1000.0;
	else if (c->rq == RQ_HEAD && c->rs == RS_NONE)
		dl = c->head_start != 0
			     ? c->head_start + l->header_timeout_ms / 1000.0
			     : c->last_io + l->idle_timeout_ms / 1000.0;
	else if (up_dl != 0)
		dl = up_dl;
	else
		dl = c->last_io + l->idle_timeout_ms / 1000.0;
	c->deadline = dl;
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, dl > now ? dl - now : 0.0, 0.0);
	ev_timer_start(loop, &c->timer);
}

static void release_idle(struct egf_conn *c)
{
	if (!c->client.handshaking && c->up == NULL && c->rq == RQ_HEAD &&
	    c->rs == RS_NONE)
		egd_conn_release_idle(&c->client, &c->cin, &c->cout, &c->bin,
				      &c->bout, &c->req, &c->resp);
}

void egf_conn_pump(struct egf_conn *c)
{
	int r, progress;

	for (int rounds = 0; rounds < 1000; rounds++) {
		progress = 0;
		if (c->client.handshaking) {
			r = handshake(c);
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
		if ((r = egf_process_request(c)) == -1)
			goto close;
		progress |= r;
		progress |= egf_upstream_io(c);
		progress |= egf_process_response(c);
		if (c->rq == RQ_DONE && c->rs == RS_DONE && !c->closing) {
			egf_finish_exchange(c);
			progress = 1;
		}
		if (c->rs == RS_DONE && c->rq != RQ_DONE && !c->closing &&
		    c->kind == EGF_PROXY) {
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
			goto close; /* the edge proxy finished with us */
		if (!progress)
			break;
	}
	release_idle(c);
	conn_arm(c);
	return;
close:
	egf_conn_close(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct egf_conn *c = io->data;

	(void)loop;
	if (c == NULL || c->magic != EGF_CONN_MAGIC)
		return;
	egd_stream_ready(&c->client,
			 (revents & EV_READ ? EGD_STREAM_READ : 0) |
				 (revents & EV_WRITE ? EGD_STREAM_WRITE : 0));
	egf_conn_pump(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egf_conn *c = t->data;
	ev_tstamp now = ev_now(loop);

	(void)revents;
	if (c == NULL || c->magic != EGF_CONN_MAGIC)
		return;
	if (now + 0.001 < c->deadline) {
		conn_arm(c);
		return;
	}
	if (c->lingering || c->closing || c->client.handshaking) {
		if (c->client.handshaking) {
			egf_count(&egf_metrics.tls_in_failed);
			egd_log(EGD_INFO, "%s: TLS handshake timeout", c->addr);
		}
		egf_conn_close(c);
		return;
	}
	if (c->rq == RQ_HEAD && c->rs == RS_NONE) {
		if (c->head_start == 0) {
			egf_conn_close(c); /* idle keep-alive */
			return;
		}
		egd_log(EGD_INFO, "%s: request header timeout", c->addr);
		egf_conn_reply(c, 408, NULL, "408 Request Timeout\n", true);
	} else if (egf_upstream_deadline(c) != 0) {
		egf_upstream_timeout(c);
	} else {
		egf_conn_close(c);
		return;
	}
	egf_conn_pump(c);
}
