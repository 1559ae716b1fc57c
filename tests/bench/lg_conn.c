/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "loadgen.h"

/*
 * One connection slot. Handshake, resume and reject modes cycle a slot
 * through connect, handshake, [request, response,] close and start again;
 * keep-alive loops on request/response; idle stops in ST_HOLD.
 */
enum st {
	ST_OFF,	      /* no socket; restarted when `due` has passed */
	ST_CONNECT,   /* non-blocking connect in progress */
	ST_HANDSHAKE, /* TLS handshake in progress */
	ST_SEND,      /* request being written */
	ST_RECV,      /* response being read */
	ST_BYE,	      /* sending close_notify */
	ST_DRAIN,     /* reading until the server closes */
	ST_HOLD,      /* idle: open and quiet */
	ST_DONE,      /* idle: failed, not retried (the count stays honest) */
};

struct lg_conn {
	struct lg_thread *t; /* borrowed: the owner */
	unsigned idx;
	enum st st;
	int fd;		       /* -1 without a socket */
	gnutls_session_t tls;  /* NULL without a socket */
	uint32_t armed;	       /* epoll events registered; 0: none */
	uint64_t due;	       /* ST_OFF: start time; else: timeout */
	uint64_t op_start;     /* start of the measured operation */
	size_t sent;	       /* request bytes written */
	size_t got;	       /* response bytes read */
	bool msg_done;	       /* the parser completed a response */
	bool queued;	       /* in the thread's pending list */
	llhttp_t parser;       /* the current response */
	gnutls_datum_t ticket; /* resume: owned, gnutls_free() */
};

/* Back-off after a failed connection so a dead server is not spun on. */
#define RETRY_NS   (10 * 1000 * 1000ull)
#define SCAN_NS	   (10 * 1000 * 1000ull)
#define WAIT_MS	   10
#define MAX_EVENTS 256

static llhttp_settings_t parser_settings;
static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_message_complete(llhttp_t *p)
{
	struct lg_conn *c = p->data;

	c->msg_done = true;
	/* Stop right after this response: anything behind it is an error
	 * (nothing is pipelined) and must not be parsed as the next one. */
	return HPE_PAUSED;
}

static void parser_settings_init(void)
{
	llhttp_settings_init(&parser_settings);
	parser_settings.on_message_complete = on_message_complete;
}

static const struct lg_opts *opts(const struct lg_conn *c)
{
	return c->t->sh->o;
}

static void note_error(struct lg_thread *t, const char *what, const char *why)
{
	if (t->first_error[0] == '\0')
		snprintf(t->first_error, sizeof(t->first_error), "%s: %s", what,
			 why);
}

static void arm(struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (c->armed == events)
		return;
	if (epoll_ctl(c->t->ep, c->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
		      &ev) == -1) {
		c->t->c[LG_C_E_CONNECT]++;
		note_error(c->t, "epoll_ctl", strerror(errno));
		return;
	}
	c->armed = events;
}

static void arm_tls(struct lg_conn *c)
{
	arm(c, gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN);
}

static void drop_socket(struct lg_conn *c)
{
	if (c->tls != NULL) {
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1) {
		/* close() also removes it from the epoll set. */
		close(c->fd);
		c->fd = -1;
	}
	c->armed = 0;
}

/* Idle mode: one more slot finished opening, held or given up. */
static void settle(struct lg_thread *t)
{
	struct lg_shared *sh = t->sh;
	FILE *f;
	char tmp[4096];

	t->opening--;
	if (++t->settled != t->nconns)
		return;
	if (atomic_fetch_add(&sh->ready, 1) + 1 != sh->o->threads ||
	    sh->o->ready_file == NULL)
		return;
	/* Written whole under another name, then renamed: whoever polls for
	 * the file never sees it half written. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", sh->o->ready_file);
	f = fopen(tmp, "w");
	if (f == NULL) {
		note_error(t, sh->o->ready_file, strerror(errno));
		return;
	}
	fputs("ready\n", f);
	if (fclose(f) != 0 || rename(tmp, sh->o->ready_file) == -1)
		note_error(t, sh->o->ready_file, strerror(errno));
}

/* Ends the slot's connection: `ok` when its cycle completed as the mode
 * expects (the slot restarts at once), else after a short back-off. */
static void conn_end(struct lg_conn *c, bool ok)
{
	struct lg_thread *t = c->t;
	uint64_t now = lg_now_ns();

	drop_socket(c);
	if (opts(c)->mode == LG_IDLE) {
		c->st = ST_DONE;
		settle(t);
		return;
	}
	c->st = ST_OFF;
	if (ok) {
		c->due = now;
		c->queued = true;
		t->pending[t->npending++] = c->idx;
	} else {
		c->due = now + RETRY_NS;
	}
}

static void fail(struct lg_conn *c, enum lg_counter kind, const char *what,
		 const char *why)
{
	c->t->c[kind]++;
	note_error(c->t, what, why);
	conn_end(c, false);
}

static void fail_tls(struct lg_conn *c, const char *what, int ret)
{
	char why[128];

	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		snprintf(why, sizeof(why), "alert %s",
			 gnutls_alert_get_name(gnutls_alert_get(c->tls)));
		fail(c, LG_C_E_TLS, what, why);
		return;
	}
	fail(c, LG_C_E_TLS, what, gnutls_strerror(ret));
}

/* Reject mode: did this failure refuse us? A fatal alert, or a close or
 * reset before any response byte, is the server refusing the client. */
static bool rejected(struct lg_conn *c, int ret)
{
	if (opts(c)->mode != LG_REJECT || c->got != 0)
		return false;
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		c->t->c[LG_C_REJ_ALERT]++;
	} else if (ret == 0 || ret == GNUTLS_E_PREMATURE_TERMINATION ||
		   ret == GNUTLS_E_PULL_ERROR || ret == GNUTLS_E_PUSH_ERROR) {
		c->t->c[LG_C_REJ_CLOSE]++;
	} else {
		return false;
	}
	c->t->c[LG_C_OPS]++;
	lg_hist_record(c->t->hist, lg_now_ns() - c->op_start);
	conn_end(c, true);
	return true;
}

static int tls_new(struct lg_conn *c)
{
	static const gnutls_datum_t alpn = {(unsigned char *)"http/1.1", 8};
	const struct lg_shared *sh = c->t->sh;
	const struct lg_opts *o = sh->o;
	int ret;

	ret = gnutls_init(&c->tls,
			  GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (ret < 0)
		return ret;
	if ((ret = gnutls_priority_set(c->tls, sh->prio)) < 0 ||
	    (ret = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
					  sh->cred)) < 0 ||
	    (ret = gnutls_alpn_set_protocols(c->tls, &alpn, 1, 0)) < 0)
		return ret;
	if (o->sni != NULL) {
		ret = gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, o->sni,
					     strlen(o->sni));
		if (ret < 0)
			return ret;
	}
	if (o->ca != NULL)
		gnutls_session_set_verify_cert(c->tls, o->sni, 0);
	if (o->mode == LG_RESUME && c->ticket.data != NULL) {
		ret = gnutls_session_set_data(c->tls, c->ticket.data,
					      c->ticket.size);
		if (ret < 0)
			return ret;
	}
	gnutls_handshake_set_timeout(c->tls, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	return 0;
}

static void conn_run(struct lg_conn *c);

/* Opens the slot's connection and runs it as far as it goes. */
static void conn_start(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const struct lg_opts *o = opts(c);
	int one = 1, ret;

	c->op_start = lg_now_ns();
	c->due = c->op_start + (uint64_t)o->timeout_ms * 1000000ull;
	c->got = 0;
	t->c[LG_C_CONNECTS]++;
	c->fd = socket(o->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		fail(c, LG_C_E_CONNECT, "socket", strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = tls_new(c);
	if (ret < 0) {
		fail(c, LG_C_E_TLS, "session", gnutls_strerror(ret));
		return;
	}
	if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) ==
	    0) {
		c->st = ST_HANDSHAKE;
		conn_run(c);
		return;
	}
	if (errno != EINPROGRESS) {
		fail(c, LG_C_E_CONNECT, "connect", strerror(errno));
		return;
	}
	/* ST_CONNECT is left only when epoll reports the outcome. */
	c->st = ST_CONNECT;
	arm(c, EPOLLOUT);
}

static void start_request(struct lg_conn *c)
{
	struct lg_thread *t = c->t;

	llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
	c->parser.data = c;
	c->msg_done = false;
	c->sent = 0;
	c->got = 0;
	if (opts(c)->mode == LG_KEEPALIVE)
		c->op_start = lg_now_ns();
	c->due = lg_now_ns() + (uint64_t)opts(c)->timeout_ms * 1000000ull;
	t->c[LG_C_REQUESTS]++;
	c->st = ST_SEND;
}

static void hold(struct lg_conn *c)
{
	c->t->c[LG_C_OPS]++;
	lg_hist_record(c->t->hist, lg_now_ns() - c->op_start);
	c->st = ST_HOLD;
	c->due = UINT64_MAX;
	settle(c->t);
	arm(c, EPOLLIN);
}

static void handshake_done(struct lg_conn *c)
{
	const struct lg_opts *o = opts(c);
	struct lg_thread *t = c->t;

	t->c[LG_C_HANDSHAKES]++;
	t->c[gnutls_session_is_resumed(c->tls) ? LG_C_RESUMED : LG_C_FULL]++;
	if (o->mode == LG_HANDSHAKE && !o->request)
		c->st = ST_BYE;
	else if (o->mode == LG_IDLE && !o->request)
		hold(c);
	else
		start_request(c);
}

static bool status_expected(const struct lg_conn *c, int status)
{
	int want = opts(c)->expect_status;

	return want == 0 || status == want;
}

static void keep_ticket(struct lg_conn *c)
{
	gnutls_datum_t d = {NULL, 0};

	/* Only a session that received a ticket can resume (TLS 1.3). */
	if (!(gnutls_session_get_flags(c->tls) & GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	if (gnutls_session_get_data2(c->tls, &d) < 0)
		return;
	gnutls_free(c->ticket.data);
	c->ticket = d;
}

static void response_done(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	const struct lg_opts *o = opts(c);
	int status = llhttp_get_status_code(&c->parser);
	bool keep = llhttp_should_keep_alive(&c->parser);
	char why[64];

	t->c[LG_C_RESPONSES]++;
	if (status >= 200 && status <= 599)
		t->c[LG_C_S2XX + (unsigned)(status / 100 - 2)]++;
	else
		t->c[LG_C_SOTHER]++;
	if (status == 403)
		t->c[LG_C_S403]++;
	if (o->mode == LG_REJECT) {
		if (status >= 400 && status <= 499) {
			t->c[LG_C_REJ_HTTP]++;
			t->c[LG_C_OPS]++;
			lg_hist_record(t->hist, lg_now_ns() - c->op_start);
			conn_end(c, true);
			return;
		}
		snprintf(why, sizeof(why), "status %d, not a rejection",
			 status);
		fail(c, LG_C_E_STATUS, "response", why);
		return;
	}
	if (!status_expected(c, status)) {
		snprintf(why, sizeof(why), "status %d", status);
		fail(c, LG_C_E_STATUS, "response", why);
		return;
	}
	if (o->mode == LG_IDLE) {
		if (!keep) {
			fail(c, LG_C_E_HTTP, "response", "not keep-alive");
			return;
		}
		hold(c);
		return;
	}
	t->c[LG_C_OPS]++;
	lg_hist_record(t->hist, lg_now_ns() - c->op_start);
	if (o->mode == LG_KEEPALIVE) {
		if (keep) {
			start_request(c);
			return;
		}
		t->c[LG_C_SERVER_CLOSE]++;
	}
	if (o->mode == LG_RESUME)
		keep_ticket(c);
	conn_end(c, true);
}

/* The server closed (ret 0) or failed (ret < 0) while a response was due. */
static void recv_end(struct lg_conn *c, int ret)
{
	llhttp_errno_t e;

	if (rejected(c, ret))
		return;
	if (c->got > 0 && (ret == 0 || ret == GNUTLS_E_PREMATURE_TERMINATION)) {
		/* A body delimited by the end of the connection. */
		e = llhttp_finish(&c->parser);
		if ((e == HPE_OK || e == HPE_PAUSED) && c->msg_done) {
			response_done(c);
			return;
		}
		fail(c, LG_C_E_EOF, "response", "truncated by the server");
		return;
	}
	if (ret == 0 || ret == GNUTLS_E_PREMATURE_TERMINATION) {
		fail(c, LG_C_E_EOF, "response", "closed before any byte");
		return;
	}
	fail_tls(c, "recv", ret);
}

static void do_recv(struct lg_conn *c)
{
	struct lg_thread *t = c->t;
	llhttp_errno_t e;
	ssize_t n;

	for (;;) {
		n = gnutls_record_recv(c->tls, t->buf, t->bufsize);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			arm_tls(c);
			return;
		}
		if (n <= 0) {
			recv_end(c, (int)n);
			return;
		}
		c->got += (size_t)n;
		e = llhttp_execute(&c->parser, t->buf, (size_t)n);
		if (e == HPE_PAUSED && c->msg_done) {
			if (llhttp_get_error_pos(&c->parser) != t->buf + n ||
			    gnutls_record_check_pending(c->tls) > 0) {
				fail(c, LG_C_E_HTTP, "response",
				     "bytes after the response");
				return;
			}
			response_done(c);
			return;
		}
		if (e != HPE_OK) {
			fail(c, LG_C_E_HTTP, "response", llhttp_errno_name(e));
			return;
		}
	}
}

/* Runs the slot until it would block or its connection ended. */
static void conn_run(struct lg_conn *c)
{
	const struct lg_shared *sh = c->t->sh;
	socklen_t len = sizeof(int);
	char buf[256];
	int err = 0, ret;

	for (;;) {
		switch (c->st) {
		case ST_CONNECT:
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
				       &len) == -1)
				err = errno;
			if (err != 0) {
				fail(c, LG_C_E_CONNECT, "connect",
				     strerror(err));
				return;
			}
			c->st = ST_HANDSHAKE;
			break;
		case ST_HANDSHAKE:
			ret = gnutls_handshake(c->tls);
			if (ret == GNUTLS_E_AGAIN ||
			    ret == GNUTLS_E_INTERRUPTED) {
				arm_tls(c);
				return;
			}
			if (ret < 0) {
				if (!rejected(c, ret))
					fail_tls(c, "handshake", ret);
				return;
			}
			handshake_done(c);
			break;
		case ST_SEND:
			ret = (int)gnutls_record_send(c->tls, sh->req + c->sent,
						      sh->req_len - c->sent);
			if (ret == GNUTLS_E_AGAIN ||
			    ret == GNUTLS_E_INTERRUPTED) {
				arm_tls(c);
				return;
			}
			if (ret < 0) {
				/* A fast rejection can reset the connection
				 * under the request; its alert is read. */
				if (opts(c)->mode == LG_REJECT) {
					c->st = ST_RECV;
					break;
				}
				fail_tls(c, "send", ret);
				return;
			}
			c->sent += (size_t)ret;
			if (c->sent == sh->req_len)
				c->st = ST_RECV;
			break;
		case ST_RECV:
			do_recv(c);
			if (c->st == ST_RECV)
				return;
			break;
		case ST_BYE:
			ret = gnutls_bye(c->tls, GNUTLS_SHUT_WR);
			if (ret == GNUTLS_E_AGAIN ||
			    ret == GNUTLS_E_INTERRUPTED) {
				arm_tls(c);
				return;
			}
			/* The server has seen our Finished; waiting for its
			 * close proves it completed the handshake too. */
			c->st = ST_DRAIN;
			break;
		case ST_DRAIN:
			ret = (int)gnutls_record_recv(c->tls, buf, sizeof(buf));
			if (ret == GNUTLS_E_AGAIN ||
			    ret == GNUTLS_E_INTERRUPTED) {
				arm_tls(c);
				return;
			}
			if (ret > 0)
				break;
			if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
				fail_tls(c, "after handshake", ret);
				return;
			}
			c->t->c[LG_C_OPS]++;
			lg_hist_record(c->t->hist, lg_now_ns() - c->op_start);
			conn_end(c, true);
			return;
		case ST_HOLD:
			ret = (int)gnutls_record_recv(c->tls, buf, sizeof(buf));
			if (ret == GNUTLS_E_AGAIN ||
			    ret == GNUTLS_E_INTERRUPTED) {
				arm_tls(c);
				return;
			}
			if (ret > 0)
				break;
			c->t->c[LG_C_IDLE_LOST]++;
			note_error(c->t, "idle connection",
				   ret == 0 ? "closed by the server"
					    : gnutls_strerror(ret));
			drop_socket(c);
			c->st = ST_DONE;
			return;
		case ST_OFF:
		case ST_DONE:
			return;
		}
	}
}

static bool active(enum st st)
{
	return st != ST_OFF && st != ST_HOLD && st != ST_DONE;
}

/* Timeouts, back-offs and (idle) the next connections to open. */
static void scan(struct lg_thread *t, uint64_t now)
{
	const struct lg_opts *o = t->sh->o;

	for (unsigned i = 0; i < t->nconns; i++) {
		struct lg_conn *c = &t->conns[i];

		if (c->st == ST_OFF && !c->queued && o->mode != LG_IDLE &&
		    c->due <= now) {
			conn_start(c);
		} else if (active(c->st) && c->due <= now) {
			fail(c, LG_C_E_TIMEOUT, "timeout",
			     c->st == ST_CONNECT     ? "connect"
			     : c->st == ST_HANDSHAKE ? "handshake"
						     : "response");
		}
	}
	while (o->mode == LG_IDLE && t->next_open < t->nconns &&
	       t->opening < o->open_concurrency) {
		struct lg_conn *c = &t->conns[t->next_open++];

		t->opening++;
		conn_start(c);
	}
}

static void run_pending(struct lg_thread *t)
{
	while (t->npending > 0) {
		struct lg_conn *c = &t->conns[t->pending[--t->npending]];

		c->queued = false;
		conn_start(c);
	}
}

static int thread_setup(struct lg_thread *t)
{
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep == -1)
		return -errno;
	t->bufsize = 32768;
	t->buf = malloc(t->bufsize);
	t->conns = calloc(t->nconns, sizeof(*t->conns));
	t->pending = calloc(t->nconns, sizeof(*t->pending));
	t->hist = malloc(sizeof(*t->hist));
	if (t->buf == NULL || t->conns == NULL || t->pending == NULL ||
	    t->hist == NULL)
		return -ENOMEM;
	lg_hist_init(t->hist);
	for (unsigned i = 0; i < t->nconns; i++) {
		t->conns[i].t = t;
		t->conns[i].idx = i;
		t->conns[i].fd = -1;
		t->conns[i].st = ST_OFF;
	}
	return 0;
}

void *lg_thread_main(void *arg)
{
	struct lg_thread *t = arg;
	struct lg_shared *sh = t->sh;
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now, next_scan = 0;
	int n, go;

	pthread_once(&parser_once, parser_settings_init);
	t->setup_error = thread_setup(t);
	pthread_mutex_lock(&sh->lock);
	while ((go = sh->go) == 0)
		pthread_cond_wait(&sh->cond, &sh->lock);
	pthread_mutex_unlock(&sh->lock);
	if (t->setup_error != 0 || go != 1)
		goto out;
	if (sh->o->mode != LG_IDLE) {
		for (unsigned i = 0; i < t->nconns; i++) {
			t->conns[i].queued = true;
			t->pending[t->npending++] = i;
		}
	}
	for (;;) {
		run_pending(t);
		now = lg_now_ns();
		if (now >= sh->end_ns || atomic_load(sh->stop)) {
			t->stopped_ns = now < sh->end_ns ? now : sh->end_ns;
			break;
		}
		if (now >= next_scan) {
			scan(t, now);
			run_pending(t);
			next_scan = now + SCAN_NS;
		}
		n = epoll_wait(t->ep, evs, MAX_EVENTS, WAIT_MS);
		if (n == -1 && errno != EINTR) {
			note_error(t, "epoll_wait", strerror(errno));
			t->stopped_ns = lg_now_ns();
			break;
		}
		for (int i = 0; i < n; i++)
			conn_run(evs[i].data.ptr);
	}
	for (unsigned i = 0; i < t->nconns; i++) {
		struct lg_conn *c = &t->conns[i];

		if (c->st == ST_HOLD)
			t->c[LG_C_HELD]++;
		drop_socket(c);
		gnutls_free(c->ticket.data);
	}
out:
	if (t->ep != -1)
		close(t->ep);
	free(t->conns);
	t->conns = NULL;
	free(t->pending);
	t->pending = NULL;
	free(t->buf);
	t->buf = NULL;
	return NULL;
}
