/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/net.h"
#include "core/tls_client.h"
#include "forwarder/forwarder.h"

static void upstream_free(struct egf_upstream *u)
{
	ev_io_stop(u->w->loop, &u->io);
	if (u->tls != NULL) {
		/* Tell the origin we are done: it need not wait for a
		 * timeout. Non-blocking: best effort. */
		if (u->state == UP_READY)
			gnutls_bye(u->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(u->tls);
	}
	close(u->fd);
	egf_gauge(&u->origin->stats->connections, -1);
	egf_config_unref(u->cfg);
	u->magic = 0;
	free(u);
}

static struct egf_pool *pool_of(struct egf_worker *w,
				const struct egf_upstream *u)
{
	if (w->pools == NULL || u->cfg != w->cfg)
		return NULL;
	return &w->pools[u->origin->index];
}

static void pool_unlink(struct egf_pool *p, struct egf_upstream *u)
{
	for (struct egf_upstream **q = &p->idle; *q != NULL; q = &(*q)->next)
		if (*q == u) {
			*q = u->next;
			p->n--;
			egf_gauge(&u->origin->stats->idle, -1);
			return;
		}
}

/*
 * An idle connection must have nothing to say. A TLS 1.3 session ticket
 * arriving late is fine (and is kept); application data, a close_notify,
 * an alert or EOF end it. Returns true when it is still usable.
 */
static bool idle_alive(struct egf_upstream *u)
{
	char byte;
	ssize_t n;

	if (gnutls_record_check_pending(u->tls) > 0)
		return false;
	do {
		n = gnutls_record_recv(u->tls, &byte, 1);
	} while (n == GNUTLS_E_INTERRUPTED);
	if (n != GNUTLS_E_AGAIN)
		return false;
	if (!u->ticket_kept)
		u->ticket_kept = egd_tls_client_keep(u->origin->tls, u->tls);
	return true;
}

static void upstream_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct egf_upstream *u = io->data;
	struct egf_pool *p;

	(void)loop;
	if (u == NULL || u->magic != EGF_UP_MAGIC)
		return;
	if ((revents & EV_READ) || ((revents & EV_WRITE) && u->want_write))
		u->readable = true;
	if (u->owner == NULL) {
		if (idle_alive(u))
			return;
		p = pool_of(u->w, u);
		if (p != NULL)
			pool_unlink(p, u);
		upstream_free(u);
		return;
	}
	egf_conn_pump(u->owner);
}

static void set_fail(struct egf_upstream *u, enum egf_error kind,
		     const char *what, const char *detail)
{
	u->fail = kind;
	snprintf(u->why, sizeof(u->why), "%s: %s", what, detail);
}

int egf_upstream_step(struct egf_upstream *u)
{
	struct egf_origin *o = u->origin;
	int ret;

	if (u->state == UP_CONNECTING) {
		struct pollfd pfd = {u->fd, POLLOUT, 0};

		/* SO_ERROR reads 0 while the connect is still under way: only
		 * a writable socket has a result. */
		if (poll(&pfd, 1, 0) == 0)
			return 0;
		ret = egd_connect_result(u->fd);
		if (ret != 0) {
			set_fail(u, EGF_E_CONNECT, "connect", strerror(ret));
			return -1;
		}
		ret = egd_tls_client_session(o->tls, u->fd, o->sni,
					     o->verify_name, &u->tls);
		if (ret < 0) {
			set_fail(u, EGF_E_HANDSHAKE, "TLS session",
				 gnutls_strerror(ret));
			return -1;
		}
		u->state = UP_HANDSHAKING;
		u->started = ev_now(u->w->loop);
	}
	if (u->state == UP_HANDSHAKING) {
		do {
			ret = gnutls_handshake(u->tls);
		} while (ret == GNUTLS_E_INTERRUPTED);
		if (ret == GNUTLS_E_AGAIN) {
			u->want_write =
				gnutls_record_get_direction(u->tls) == 1;
			return 0;
		}
		if (ret < 0) {
			char why[300];

			egd_tls_client_why(u->tls, ret, why, sizeof(why));
			if (egd_tls_client_refused(u->tls, ret))
				set_fail(u, EGF_E_HANDSHAKE,
					 "the origin refused our client "
					 "certificate (handshake)",
					 why);
			else
				set_fail(u,
					 egd_tls_client_verify_failed(ret)
						 ? EGF_E_TLS_VERIFY
						 : EGF_E_HANDSHAKE,
					 "handshake", why);
			/* A session the origin no longer accepts would fail
			 * the next handshake the same way. */
			egd_tls_client_forget(o->tls);
			return -1;
		}
		u->state = UP_READY;
		u->want_write = false;
		u->readable = true; /* the answer may follow the handshake */
		if (gnutls_session_is_resumed(u->tls))
			egf_count(&o->stats->handshakes_resumed);
		else
			egf_count(&o->stats->handshakes_full);
		u->ticket_kept = egd_tls_client_keep(o->tls, u->tls);
	}
	return 1;
}

/* Takes the newest idle connection that is still usable; with `peek`, a
 * read checks it for a close that has arrived (a syscall the requests that
 * may be sent again spare themselves). */
static struct egf_upstream *
from_pool(struct egf_worker *w, struct egf_origin *o, ev_tstamp now, bool peek)
{
	struct egf_pool *p;
	struct egf_upstream *u;

	if (w->pools == NULL || o->index >= w->cfg->n_origins ||
	    &w->cfg->origins[o->index] != o)
		return NULL;
	p = &w->pools[o->index];
	while ((u = p->idle) != NULL) {
		p->idle = u->next;
		p->n--;
		egf_gauge(&o->stats->idle, -1);
		if (now - u->idle_since < o->idle_timeout_ms / 1000.0 &&
		    (peek ? idle_alive(u)
			  : gnutls_record_check_pending(u->tls) == 0))
			return u;
		upstream_free(u);
	}
	return NULL;
}

struct egf_upstream *egf_upstream_get(struct egf_worker *w, struct egf_conn *c,
				      struct egf_config *cfg,
				      struct egf_origin *o, bool fresh,
				      bool peek)
{
	ev_tstamp now = ev_now(w->loop);
	struct egf_upstream *u = fresh ? NULL : from_pool(w, o, now, peek);
	const struct egf_server *s;
	int fd;

	if (u != NULL) {
		/* Its watcher stays armed for reading: what the request
		 * needs next anyway. */
		u->owner = c;
		u->reused = true;
		u->next = NULL;
		return u;
	}
	s = &o->servers[atomic_fetch_add_explicit(&o->next_server, 1,
						  memory_order_relaxed) %
			o->n_servers];
	fd = egd_connect(&s->addr);
	if (fd == -1)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	u->magic = EGF_UP_MAGIC;
	u->fd = fd;
	u->state = UP_CONNECTING;
	u->w = w;
	u->owner = c;
	u->cfg = egf_config_ref(cfg);
	u->origin = o;
	u->server = s;
	u->started = now;
	egf_gauge(&o->stats->connections, 1);
	ev_io_init(&u->io, upstream_io_cb, fd, EV_WRITE);
	u->io.data = u;
	ev_io_start(w->loop, &u->io);
	return u;
}

void egf_upstream_watch(struct egf_upstream *u, int events)
{
	egd_io_arm(u->w->loop, &u->io, events);
}

void egf_upstream_release(struct egf_upstream *u, bool reusable)
{
	struct egf_worker *w = u->w;
	struct egf_pool *p = pool_of(w, u);

	if (!reusable || w->draining || p == NULL || u->state != UP_READY ||
	    p->n >= u->origin->pool_size) {
		upstream_free(u);
		return;
	}
	if (!u->ticket_kept)
		u->ticket_kept = egd_tls_client_keep(u->origin->tls, u->tls);
	u->owner = NULL;
	u->reused = false;
	u->idle_since = ev_now(w->loop);
	u->tls_pending = 0;
	egf_upstream_watch(u, EV_READ);
	u->next = p->idle;
	p->idle = u;
	p->n++;
	egf_gauge(&u->origin->stats->idle, 1);
}

void egf_pool_flush(struct egf_worker *w)
{
	struct egf_upstream *u;

	for (size_t i = 0; w->pools != NULL && i < w->cfg->n_origins; i++) {
		struct egf_pool *p = &w->pools[i];

		while ((u = p->idle) != NULL) {
			p->idle = u->next;
			egf_gauge(&u->origin->stats->idle, -1);
			upstream_free(u);
		}
		p->n = 0;
	}
}

void egf_pool_sweep(struct egf_worker *w)
{
	ev_tstamp now = ev_now(w->loop);

	for (size_t i = 0; w->pools != NULL && i < w->cfg->n_origins; i++) {
		struct egf_pool *p = &w->pools[i];
		struct egf_upstream **q = &p->idle;

		while (*q != NULL) {
			struct egf_upstream *u = *q;

			if (now - u->idle_since <
			    u->origin->idle_timeout_ms / 1000.0) {
				q = &u->next;
				continue;
			}
			*q = u->next;
			p->n--;
			egf_gauge(&u->origin->stats->idle, -1);
			upstream_free(u);
		}
	}
}
