/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "forwarder/forwarder.h"

#define SWEEP_S 1.0

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct egf_listener *l = io->data;
	int one = 1;

	(void)loop;
	(void)revents;
	if (l == NULL || l->magic != EGF_LISTENER_MAGIC)
		return;
	/* Bounded batch: other listeners and connections get their turn. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				egd_log(EGD_ERR, "accept: %s", strerror(errno));
			break;
		}
		if (ss.ss_family != AF_UNIX)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		egf_conn_accept(l->w, l->kind, l->tls, fd,
				(struct sockaddr *)&ss, len);
	}
}

struct egf_config *egf_worker_config(struct egf_worker *w)
{
	unsigned gen = egf_config_generation();
	struct egf_config *c;
	struct egf_pool *pools;

	if (w->cfg != NULL && gen == w->cfg_gen)
		return w->cfg;
	c = egf_config_current();
	if (c == NULL)
		return w->cfg;
	/* Connections made for the previous configuration may use old
	 * certificates: the idle ones go now, busy ones when released. */
	pools = calloc(c->n_origins, sizeof(*pools));
	if (pools == NULL && w->cfg != NULL) {
		egf_config_unref(c);
		return w->cfg; /* try again on the next request */
	}
	egf_pool_flush(w);
	free(w->pools);
	w->pools = pools;
	egf_config_unref(w->cfg);
	w->cfg = c;
	w->cfg_gen = gen;
	return w->cfg;
}

void egf_worker_maybe_exit(struct egf_worker *w)
{
	if (w->draining && w->n_conns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

static void drain_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egf_worker *w = t->data;

	(void)revents;
	if (w == NULL || w->magic != EGF_WORKER_MAGIC)
		return;
	if (w->n_conns > 0)
		egd_log(EGD_WARN,
			"worker %u: drain deadline: closing %u connections",
			w->id, w->n_conns);
	while (w->conns != NULL)
		egf_conn_close(w->conns);
	ev_break(loop, EVBREAK_ALL);
}

static void sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egf_worker *w = t->data;

	(void)loop;
	(void)revents;
	if (w == NULL || w->magic != EGF_WORKER_MAGIC)
		return;
	egf_pool_sweep(w);
}

static void start_drain(struct egf_worker *w)
{
	struct egf_conn *c, *next;
	unsigned ms;

	if (w->draining)
		return;
	w->draining = true;
	for (size_t i = 0; i < w->n_listeners; i++)
		ev_io_stop(w->loop, &w->listeners[i].io);
	egf_pool_flush(w);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		/* Idle keep-alive connections go now; the others after the
		 * response in progress. */
		if (c->rq == RQ_HEAD && c->rs == RS_NONE && c->head_start == 0)
			egf_conn_close(c);
		else
			c->close_after = true;
	}
	ms = w->cfg ? w->cfg->limits.drain_timeout_ms : 10000;
	ev_timer_init(&w->drain_timer, drain_timer_cb, ms / 1000.0, 0);
	w->drain_timer.data = w;
	ev_timer_start(w->loop, &w->drain_timer);
	egf_worker_maybe_exit(w);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct egf_worker *w = a->data;

	(void)loop;
	(void)revents;
	if (w == NULL || w->magic != EGF_WORKER_MAGIC)
		return;
	if (atomic_exchange(&w->refresh, false))
		egf_worker_config(w);
	if (atomic_load(&w->stop))
		start_drain(w);
}

int egf_worker_init(struct egf_worker *w, unsigned id, bool threaded)
{
	memset(w, 0, sizeof(*w));
	w->magic = EGF_WORKER_MAGIC;
	w->id = id;
	w->threaded = threaded;
	w->loop = threaded ? ev_loop_new(EVFLAG_AUTO) : ev_default_loop(0);
	if (w->loop == NULL)
		return -1;
	ev_async_init(&w->wake, wake_cb);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	ev_timer_init(&w->sweep_timer, sweep_cb, SWEEP_S, SWEEP_S);
	w->sweep_timer.data = w;
	ev_timer_start(w->loop, &w->sweep_timer);
	/* Neither watcher may keep a drained loop alive. */
	ev_unref(w->loop);
	ev_unref(w->loop);
	return 0;
}

int egf_worker_add_listener(struct egf_worker *w, enum egf_kind kind, int fd,
			    bool owns_fd, bool tls)
{
	struct egf_listener *l;

	/* Listeners are added before the loop runs: no watcher moves. */
	l = realloc(w->listeners, (w->n_listeners + 1) * sizeof(*l));
	if (l == NULL)
		return -1;
	w->listeners = l;
	for (size_t i = 0; i < w->n_listeners; i++)
		w->listeners[i].io.data = &w->listeners[i];
	l = &w->listeners[w->n_listeners++];
	memset(l, 0, sizeof(*l));
	l->magic = EGF_LISTENER_MAGIC;
	l->kind = kind;
	l->fd = fd;
	l->owns_fd = owns_fd;
	l->tls = tls;
	l->w = w;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	l->io.data = l;
	return 0;
}

static void *worker_main(void *arg)
{
	struct egf_worker *w = arg;

	egf_worker_config(w);
	ev_run(w->loop, 0);
	while (w->conns != NULL)
		egf_conn_close(w->conns);
	egf_pool_flush(w);
	return NULL;
}

int egf_worker_start(struct egf_worker *w)
{
	for (size_t i = 0; i < w->n_listeners; i++)
		ev_io_start(w->loop, &w->listeners[i].io);
	if (!w->threaded)
		return 0;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = true;
	return 0;
}

void egf_worker_post_stop(struct egf_worker *w)
{
	atomic_store(&w->stop, true);
	ev_async_send(w->loop, &w->wake);
}

void egf_worker_post_refresh(struct egf_worker *w)
{
	atomic_store(&w->refresh, true);
	ev_async_send(w->loop, &w->wake);
}

void egf_worker_join(struct egf_worker *w)
{
	if (w->threaded)
		pthread_join(w->thread, NULL);
}

void egf_worker_free(struct egf_worker *w)
{
	if (w->magic != EGF_WORKER_MAGIC)
		return;
	while (w->conns != NULL)
		egf_conn_close(w->conns);
	egf_pool_flush(w);
	free(w->pools);
	w->pools = NULL;
	for (size_t i = 0; i < w->n_listeners; i++) {
		ev_io_stop(w->loop, &w->listeners[i].io);
		if (w->listeners[i].owns_fd)
			close(w->listeners[i].fd);
	}
	free(w->listeners);
	ev_timer_stop(w->loop, &w->drain_timer);
	ev_ref(w->loop);
	ev_ref(w->loop);
	ev_timer_stop(w->loop, &w->sweep_timer);
	ev_async_stop(w->loop, &w->wake);
	if (w->threaded)
		ev_loop_destroy(w->loop);
	egf_config_unref(w->cfg);
	w->magic = 0;
}
