/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/worker.h"

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct egd_listener *l = io->data;
	int one = 1;

	(void)loop;
	(void)revents;
	if (l == NULL || l->magic != EGD_LISTENER_MAGIC)
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
		l->w->ops->accept(l->w, l, fd, (struct sockaddr *)&ss, len);
	}
}

void egd_worker_maybe_exit(struct egd_worker *w)
{
	if (w->draining && w->n_conns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

static void drain_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egd_worker *w = t->data;

	(void)revents;
	if (w == NULL || w->magic != EGD_WORKER_MAGIC)
		return;
	if (w->n_conns > 0)
		egd_log(EGD_WARN,
			"worker %u: drain deadline: closing %u connections",
			w->id, w->n_conns);
	w->ops->close_all(w);
	ev_break(loop, EVBREAK_ALL);
}

static void start_drain(struct egd_worker *w)
{
	unsigned ms;

	if (w->draining)
		return;
	w->draining = true;
	for (size_t i = 0; i < w->n_listeners; i++)
		ev_io_stop(w->loop, &w->listeners[i].io);
	ms = w->ops->drain(w);
	ev_timer_init(&w->drain_timer, drain_timer_cb, ms / 1000.0, 0);
	w->drain_timer.data = w;
	ev_timer_start(w->loop, &w->drain_timer);
	egd_worker_maybe_exit(w);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct egd_worker *w = a->data;

	(void)loop;
	(void)revents;
	if (w == NULL || w->magic != EGD_WORKER_MAGIC)
		return;
	if (atomic_exchange(&w->refresh, false))
		w->ops->refresh(w);
	if (atomic_load(&w->stop))
		start_drain(w);
}

int egd_worker_init(struct egd_worker *w, unsigned id, bool threaded,
		    const struct egd_worker_ops *ops)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->ops = ops;
	w->threaded = threaded;
	w->loop = threaded ? ev_loop_new(EVFLAG_AUTO) : ev_default_loop(0);
	if (w->loop == NULL)
		return -1;
	w->magic = EGD_WORKER_MAGIC;
	ev_async_init(&w->wake, wake_cb);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	/* The wake-up watcher must not keep a drained loop alive. */
	ev_unref(w->loop);
	return 0;
}

int egd_worker_add_listener(struct egd_worker *w, int kind, bool tls, int fd,
			    bool owns_fd)
{
	struct egd_listener *l;

	/* Listeners are added before the loop runs: no watcher moves. */
	l = realloc(w->listeners, (w->n_listeners + 1) * sizeof(*l));
	if (l == NULL)
		return -1;
	w->listeners = l;
	for (size_t i = 0; i < w->n_listeners; i++)
		w->listeners[i].io.data = &w->listeners[i];
	l = &w->listeners[w->n_listeners++];
	memset(l, 0, sizeof(*l));
	l->magic = EGD_LISTENER_MAGIC;
	l->kind = kind;
	l->tls = tls;
	l->fd = fd;
	l->owns_fd = owns_fd;
	l->w = w;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	l->io.data = l;
	return 0;
}

static void *worker_main(void *arg)
{
	struct egd_worker *w = arg;

	w->ops->refresh(w);
	ev_run(w->loop, 0);
	w->ops->close_all(w);
	return NULL;
}

int egd_worker_start(struct egd_worker *w)
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

void egd_worker_post_stop(struct egd_worker *w)
{
	atomic_store(&w->stop, true);
	ev_async_send(w->loop, &w->wake);
}

void egd_worker_post_refresh(struct egd_worker *w)
{
	atomic_store(&w->refresh, true);
	ev_async_send(w->loop, &w->wake);
}

void egd_worker_join(struct egd_worker *w)
{
	if (w->threaded)
		pthread_join(w->thread, NULL);
}

void egd_worker_free(struct egd_worker *w)
{
	if (w->magic != EGD_WORKER_MAGIC)
		return;
	w->ops->close_all(w);
	for (size_t i = 0; i < w->n_listeners; i++) {
		ev_io_stop(w->loop, &w->listeners[i].io);
		if (w->listeners[i].owns_fd)
			close(w->listeners[i].fd);
	}
	free(w->listeners);
	w->listeners = NULL;
	w->n_listeners = 0;
	ev_timer_stop(w->loop, &w->drain_timer);
	ev_ref(w->loop);
	ev_async_stop(w->loop, &w->wake);
	if (w->threaded)
		ev_loop_destroy(w->loop);
	w->magic = 0;
}
