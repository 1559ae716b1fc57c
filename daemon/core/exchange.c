/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "core/conn.h"
#include "core/exchange.h"
#include "core/hop.h"
#include "core/log.h"
#include "core/prom.h"

/* Plaintext buffers towards and from the client. cout also holds a
 * rewritten response head, so it is sized for the response head limit. */
#define CIN_SIZE  16384
#define COUT_SIZE (49152 + 1024)
#define LINGER_S  2.0

static void io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents);

int egd_exch_init(struct egd_exch *x, struct egd_worker *wk,
		  const struct egd_exch_ops *ops, bool proxy, int fd,
		  gnutls_session_t tls, unsigned max_header_bytes,
		  unsigned max_headers)
{
	x->magic = EGD_EXCH_MAGIC;
	x->ops = ops;
	x->wk = wk;
	x->proxy = proxy;
	if (egd_http_init(&x->req, false, max_header_bytes, max_headers) == -1)
		return -1;
	egd_buf_setup(&x->cin, CIN_SIZE);
	egd_buf_setup(&x->cout, COUT_SIZE);
	egd_stream_init(&x->client, fd, tls);
	x->accepted_at = x->last_io = ev_now(wk->loop);
	ev_io_init(&x->io, io_cb, fd, EV_READ);
	x->io.data = x;
	ev_timer_init(&x->timer, timer_cb, 0, 0);
	x->timer.data = x;
	return 0;
}

void egd_exch_free(struct egd_exch *x)
{
	ev_io_stop(x->wk->loop, &x->io);
	ev_timer_stop(x->wk->loop, &x->timer);
	egd_stream_close(&x->client);
	egd_http_free(&x->req);
	if (x->resp_init)
		egd_http_free(&x->resp);
	egd_buf_free(&x->cin);
	egd_buf_free(&x->cout);
	egd_buf_free(&x->bout);
	egd_buf_free(&x->bin);
	x->magic = 0;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
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
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

void egd_exch_reply(struct egd_exch *x, int status, const char *ctype,
		    const char *extra_headers, const char *body, bool close)
{
	size_t blen = body ? strlen(body) : 0;
	size_t xlen = extra_headers ? strlen(extra_headers) : 0;

	if (egd_buf_reserve(&x->cout, blen + xlen + 512) == -1) {
		x->closing = true;
		return;
	}
	egd_buf_printf(&x->cout,
		       "HTTP/1.1 %d %s\r\nServer: edgeguard\r\n"
		       "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
		       status, status_text(status),
		       ctype ? ctype : "text/plain", blen,
		       close ? "Connection: close\r\n" : "",
		       extra_headers ? extra_headers : "");
	if (!x->head_method_head && blen > 0)
		egd_buf_append(&x->cout, body, blen);
	x->rs = RS_DONE;
	if (close) {
		x->rq = RQ_DONE;
		x->closing = true;
	}
}

void egd_exch_abort(struct egd_exch *x, int status)
{
	if (status != 0) {
		egd_buf_reset(&x->bout);
		egd_exch_reply(x, status, NULL, NULL,
			       status == 504 ? "504 Gateway Timeout\n"
					     : "502 Bad Gateway\n",
			       true);
		return;
	}
	x->rs = RS_DONE;
	x->rq = RQ_DONE;
	x->closing = true;
}

void egd_exch_rewind(struct egd_exch *x)
{
	/* The head is still where the daemon wrote it (see replay_len). */
	egd_buf_reset(&x->bout);
	egd_buf_commit(&x->bout, x->replay_len);
	x->up_sent = 0;
	x->up_eof = false;
}

int egd_exch_relay(struct egd_exch *x, struct egd_stream *s)
{
	size_t before = egd_buf_len(&x->bout);
	int r, progress;

	if ((r = egd_stream_write(s, &x->bout)) == -1)
		return -1;
	x->up_sent += before - egd_buf_len(&x->bout);
	progress = r;
	if (!x->up_eof && (x->rs == RS_WAIT || x->rs == RS_BODY)) {
		before = egd_buf_len(&x->bin);
		if ((r = egd_stream_read(s, &x->bin)) == -1)
			return -1;
		x->up_recv += egd_buf_len(&x->bin) - before;
		x->up_eof = s->eof;
		progress |= r;
	}
	if (progress)
		x->up_last_io = ev_now(x->wk->loop);
	return progress;
}

/* The request and its response are both complete: next request. */
static void finish(struct egd_exch *x)
{
	if (x->proxy)
		x->ops->detach(
			x,
			x->up_reusable && !x->up_eof &&
				egd_buf_len(&x->bin) == 0 && x->resp_init &&
				llhttp_should_keep_alive(&x->resp.parser),
			true);
	x->replay_len = 0;
	x->rq = RQ_HEAD;
	x->rs = RS_NONE;
	x->head_start = 0;
	x->head_method_head = false;
	x->up_sent = x->up_recv = 0;
	x->up_eof = false;
	egd_buf_reset(&x->bin);
	egd_buf_reset(&x->bout);
	egd_http_next(&x->req);
	if (x->close_after || x->wk->draining)
		x->closing = true;
}

static int request_step(struct egd_exch *x)
{
	size_t len = egd_buf_len(&x->cin);
	const char *why = NULL;
	size_t consumed = 0;
	enum egd_http_result r;

	if (x->closing || x->rq == RQ_DONE)
		return 0;
	if (x->rq == RQ_HEAD) {
		if (x->rs != RS_NONE || len == 0)
			return 0;
		if (x->head_start == 0)
			x->head_start = ev_now(x->wk->loop);
	} else if (x->proxy) {
		size_t space = egd_buf_space(&x->bout);

		if (len > space)
			len = space;
		if (len == 0 && !x->req.after_head)
			return 0;
	}
	r = egd_http_feed(&x->req, egd_buf_head(&x->cin), len, &consumed);
	if (r == EGD_HTTP_DONE && x->rq == RQ_BODY && x->proxy &&
	    x->ops->trailers_ok != NULL && !x->ops->trailers_ok(&x->req)) {
		why = "forbidden trailer field";
		r = EGD_HTTP_ERROR;
		consumed = 0;
	}
	if (x->rq == RQ_BODY && x->proxy && consumed > 0)
		egd_buf_append(&x->bout, egd_buf_head(&x->cin), consumed);
	egd_buf_consume(&x->cin, consumed);
	switch (r) {
	case EGD_HTTP_MORE:
		return consumed > 0;
	case EGD_HTTP_TOO_LARGE:
	case EGD_HTTP_TOO_MANY:
		egd_count(x->ops->bad_requests);
		egd_exch_reply(x, 431, NULL, NULL,
			       "431 Request Header Fields Too Large\n", true);
		return 1;
	case EGD_HTTP_ERROR:
		egd_count(x->ops->bad_requests);
		egd_log(EGD_INFO, "%s: bad request: %s", x->addr,
			why != NULL ? why : egd_http_error(&x->req));
		if (x->rq == RQ_BODY && x->up_sent > 0)
			return -1; /* the next hop has part of it: cut both */
		if (x->proxy)
			x->ops->detach(x, false, false);
		egd_buf_reset(&x->bout);
		egd_exch_reply(x, 400, NULL, NULL, "400 Bad Request\n", true);
		return 1;
	case EGD_HTTP_HEAD:
		x->req_start = ev_now(x->wk->loop);
		x->rq = RQ_BODY;
		x->head_method_head =
			llhttp_get_method(&x->req.parser) == HTTP_HEAD;
		x->req_http10 = llhttp_get_http_major(&x->req.parser) == 1 &&
				llhttp_get_http_minor(&x->req.parser) == 0;
		if (!llhttp_should_keep_alive(&x->req.parser))
			x->close_after = true;
		if (x->proxy) {
			x->rs = RS_WAIT;
			x->ops->request_head(x);
		}
		return 1;
	case EGD_HTTP_DONE:
		x->rq = RQ_DONE;
		if (!x->proxy)
			x->ops->request_done(x);
		return 1;
	}
	return 0;
}

/* Parses as much of cin as possible before anything is written to the
 * next hop, so a request that turns out malformed reaches it not at all. */
static int process_request(struct egd_exch *x)
{
	int r, progress = 0;

	while ((r = request_step(x)) > 0)
		progress = 1;
	return r < 0 ? -1 : progress;
}

/* Rewrites the next hop's response head into cout. Returns 0, or -1 when
 * unusable (the daemon answered or failed the exchange). */
static int response_head(struct egd_exch *x)
{
	const struct egd_http *h = &x->resp;
	struct egd_buf *o = &x->cout;
	int status = llhttp_get_status_code((llhttp_t *)&h->parser);
	bool interim = status >= 100 && status < 200;

	if (status == 101) {
		/* Upgrade was stripped from the request: a switch is a bug
		 * of the next hop we must not relay. */
		x->ops->upstream_error(x, EGD_EX_SWITCHED);
		return -1;
	}
	if (!interim && (x->req_http10 || llhttp_message_needs_eof(&h->parser)))
		x->close_after = true;
	if (x->wk->draining)
		x->close_after = true;
	egd_buf_printf(o, "HTTP/1.1 %d ", status);
	egd_buf_append(o, egd_http_str(h, h->status), h->status_len);
	egd_buf_append(o, "\r\n", 2);
	for (unsigned i = 0; i < h->n; i++) {
		const char *name = egd_http_str(h, h->hdr[i].name);
		size_t nlen = h->hdr[i].name_len;

		if (egd_is_hop_header(name, nlen) ||
		    egd_connection_lists(h, name, nlen))
			continue;
		egd_buf_append(o, name, nlen);
		egd_buf_append(o, ": ", 2);
		egd_buf_append(o, egd_http_str(h, h->hdr[i].value),
			       h->hdr[i].value_len);
		egd_buf_append(o, "\r\n", 2);
	}
	if (!interim && x->close_after)
		egd_buf_appends(o, "Connection: close\r\n");
	egd_buf_append(o, "\r\n", 2);
	return 0;
}

static int response_step(struct egd_exch *x)
{
	size_t len = egd_buf_len(&x->bin);
	size_t consumed = 0;
	enum egd_http_result r;

	if (x->rs == RS_HEADOUT) {
		/* The rewritten head needs room next to what cout holds. */
		if (x->cout.cap - egd_buf_len(&x->cout) <
		    x->resp.used + 4 * (size_t)x->resp.n + 256)
			return 0;
		if (response_head(x) == -1)
			return 1;
		if (x->resp.msg_done) {
			x->rs = x->resp.parser.status_code < 200 ? RS_WAIT
								 : RS_DONE;
			egd_http_next(&x->resp);
			x->resp.no_body = x->head_method_head;
		} else {
			x->rs = RS_BODY;
		}
		return 1;
	}
	if (x->rs != RS_WAIT && x->rs != RS_BODY)
		return 0;
	if (x->rs == RS_BODY) {
		size_t space = egd_buf_space(&x->cout);

		if (len > space)
			len = space;
	}
	if (len == 0 && !x->resp.after_head) {
		if (!x->up_eof)
			return 0;
		if (x->rs == RS_BODY &&
		    egd_http_eof(&x->resp) == EGD_HTTP_DONE) {
			x->rs = RS_DONE;
			x->close_after = true;
			return 1;
		}
		x->ops->upstream_error(x, x->up_recv == 0 ? EGD_EX_CLOSED
							  : EGD_EX_TRUNCATED);
		return 1;
	}
	r = egd_http_feed(&x->resp, egd_buf_head(&x->bin), len, &consumed);
	if (x->rs == RS_BODY && consumed > 0)
		egd_buf_append(&x->cout, egd_buf_head(&x->bin), consumed);
	egd_buf_consume(&x->bin, consumed);
	switch (r) {
	case EGD_HTTP_MORE:
		return consumed > 0;
	case EGD_HTTP_HEAD:
		x->rs = RS_HEADOUT;
		return 1;
	case EGD_HTTP_DONE:
		if (x->rs == RS_WAIT) {
			x->rs = RS_HEADOUT; /* head and end together */
		} else {
			x->rs = RS_DONE;
			egd_http_next(&x->resp);
		}
		return 1;
	default:
		x->ops->upstream_error(x, EGD_EX_INVALID);
		return 1;
	}
}

static int process_response(struct egd_exch *x)
{
	int progress = 0;

	if (!x->proxy)
		return 0;
	while (response_step(x) > 0)
		progress = 1;
	return progress;
}

/* Returns 1 when the client's TLS handshake finished, 0 when it waits
 * for I/O, -1 when it failed. */
static int handshake(struct egd_exch *x)
{
	int ret = egd_stream_handshake(&x->client);

	if (ret == 0)
		return 0;
	if (ret < 0) {
		egd_count(x->ops->handshakes_failed);
		if (x->ops->handshake_failed != NULL)
			x->ops->handshake_failed(x, ret);
		egd_log(EGD_DEBUG, "%s: TLS handshake: %s", x->addr,
			gnutls_strerror(ret));
		return -1;
	}
	egd_count(gnutls_session_is_resumed(x->client.tls)
			  ? x->ops->handshakes_resumed
			  : x->ops->handshakes_full);
	x->last_io = ev_now(x->wk->loop);
	return 1;
}

static void start_linger(struct egd_exch *x)
{
	egd_stream_shutdown(&x->client);
	x->lingering = true;
	x->deadline = ev_now(x->wk->loop) + LINGER_S;
}

/* Between exchanges (no next-hop connection is attached then) the buffers
 * go back to the pool. */
static void release_idle(struct egd_exch *x)
{
	if (!x->client.handshaking && x->rq == RQ_HEAD && x->rs == RS_NONE)
		egd_conn_release_idle(&x->client, &x->cin, &x->cout, &x->bin,
				      &x->bout, &x->req, &x->resp);
}

void egd_exch_pump(struct egd_exch *x)
{
	int r, progress;

	for (int rounds = 0; rounds < 1000; rounds++) {
		progress = 0;
		if (x->client.handshaking) {
			r = handshake(x);
			if (r == -1)
				goto close;
			if (r == 0)
				break;
		}
		if ((r = egd_conn_read(&x->client, &x->cin, x->lingering,
				       x->addr, ev_now(x->wk->loop),
				       &x->last_io)) == -1)
			goto close;
		progress |= r;
		if ((r = process_request(x)) == -1)
			goto close;
		progress |= r;
		if (x->proxy)
			progress |= x->ops->upstream_io(x);
		progress |= process_response(x);
		if (x->rq == RQ_DONE && x->rs == RS_DONE && !x->closing) {
			finish(x);
			progress = 1;
		}
		if (x->rs == RS_DONE && x->rq != RQ_DONE && !x->closing &&
		    x->proxy) {
			/* Answered before the request body ended: the rest
			 * of it cannot be told apart from a next request. */
			x->closing = true;
		}
		if ((r = egd_conn_write(&x->client, &x->cout, x->addr)) == -1)
			goto close;
		progress |= r;
		if (x->lingering && x->client.eof)
			goto close;
		if (x->closing && !x->lingering && egd_buf_len(&x->cout) == 0) {
			if (x->client.handshaking)
				goto close;
			start_linger(x);
			progress = 1;
		}
		if (x->client.eof && !x->closing && x->rq == RQ_HEAD &&
		    x->rs == RS_NONE && egd_buf_len(&x->cin) == 0)
			goto close; /* the client finished with us */
		if (!progress)
			break;
	}
	release_idle(x);
	x->ops->arm(x);
	return;
close:
	x->ops->close(x);
}

void egd_exch_arm(struct egd_exch *x, unsigned handshake_ms, unsigned header_ms,
		  unsigned idle_ms, ev_tstamp up_dl)
{
	struct ev_loop *loop = x->wk->loop;
	ev_tstamp now = ev_now(loop);
	ev_tstamp dl;

	egd_conn_arm_client(loop, &x->io, &x->client, &x->cin, &x->cout,
			    x->lingering);
	if (x->lingering)
		dl = x->deadline;
	else if (x->client.handshaking)
		dl = x->accepted_at + handshake_ms / 1000.0;
	else if (x->rq == RQ_HEAD && x->rs == RS_NONE)
		dl = x->head_start != 0 ? x->head_start + header_ms / 1000.0
					: x->last_io + idle_ms / 1000.0;
	else if (up_dl != 0)
		dl = up_dl;
	else
		dl = x->last_io + idle_ms / 1000.0;
	x->deadline = dl;
	ev_timer_stop(loop, &x->timer);
	ev_timer_set(&x->timer, dl > now ? dl - now : 0.0, 0.0);
	ev_timer_start(loop, &x->timer);
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct egd_exch *x = io->data;

	(void)loop;
	if (x == NULL || x->magic != EGD_EXCH_MAGIC)
		return;
	egd_stream_ready(&x->client,
			 (revents & EV_READ ? EGD_STREAM_READ : 0) |
				 (revents & EV_WRITE ? EGD_STREAM_WRITE : 0));
	egd_exch_pump(x);
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egd_exch *x = t->data;
	ev_tstamp now = ev_now(loop);

	(void)revents;
	if (x == NULL || x->magic != EGD_EXCH_MAGIC)
		return;
	if (now + 0.001 < x->deadline) {
		x->ops->arm(x);
		return;
	}
	if (x->lingering || x->closing || x->client.handshaking) {
		if (x->client.handshaking && x->ops->handshake_timeout != NULL)
			x->ops->handshake_timeout(x);
		x->ops->close(x);
		return;
	}
	if (x->rq == RQ_HEAD && x->rs == RS_NONE) {
		if (x->head_start == 0) {
			x->ops->close(x); /* idle keep-alive */
			return;
		}
		egd_log(EGD_INFO, "%s: request header timeout", x->addr);
		egd_exch_reply(x, 408, NULL, NULL, "408 Request Timeout\n",
			       true);
	} else if (x->ops->timeout(x) == -1) {
		x->ops->close(x);
		return;
	}
	egd_exch_pump(x);
}
