/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/net.h"
#include "verifier/verifier.h"

/* Idle keep-alive connections kept per worker, and for how long: short
 * enough to stay under common backend keep-alive timeouts. */
#define POOL_MAX    64
#define POOL_IDLE_S 4.0

static void backend_free(struct vf_backend *b)
{
	ev_io_stop(b->w->loop, &b->io);
	egd_stream_close(&b->s);
	b->magic = 0;
	free(b);
}

static void pool_unlink(struct vf_worker *w, struct vf_backend *b)
{
	for (struct vf_backend **p = &w->idle; *p != NULL; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			w->n_idle--;
			return;
		}
}

static void backend_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct vf_backend *b = io->data;

	(void)loop;
	if (b == NULL || b->magic != VF_BACKEND_MAGIC)
		return;
	if (b->owner == NULL) {
		/* An idle connection became readable: the backend closed it
		 * (or sent bytes nobody asked for). Either way it is done. */
		pool_unlink(b->w, b);
		backend_free(b);
		return;
	}
	if (!b->connected) {
		b->error = egd_connect_result(b->s.fd);
		b->connected = b->error == 0;
	}
	egd_stream_ready(&b->s, revents & EV_READ ? EGD_STREAM_READ : 0);
	vf_conn_pump(b->owner);
}

/* Still usable after idling: no EOF and no stray bytes pending. */
static bool alive(const struct vf_backend *b)
{
	char byte;
	ssize_t n = recv(b->s.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct vf_backend *vf_backend_get(struct vf_worker *w, struct vf_conn *c,
				  bool fresh, bool peek)
{
	struct vf_config *cfg = vf_worker_config(w);
	ev_tstamp now = ev_now(w->loop);
	struct vf_backend *b;
	int fd;

	while (!fresh && (b = w->idle) != NULL) {
		w->idle = b->next;
		w->n_idle--;
		if (b->cfg_gen == w->cfg_gen &&
		    now - b->idle_since < POOL_IDLE_S && (!peek || alive(b))) {
			/* Its watcher stays armed for reading: what the
			 * request needs next anyway. */
			b->owner = c;
			b->reused = true;
			b->next = NULL;
			return b;
		}
		backend_free(b);
	}
	fd = egd_connect(&cfg->backend);
	if (fd == -1)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	b->magic = VF_BACKEND_MAGIC;
	egd_stream_init(&b->s, fd, NULL);
	/* Nothing to read before the request went out. */
	b->s.readable = false;
	b->w = w;
	b->owner = c;
	b->cfg_gen = w->cfg_gen;
	ev_io_init(&b->io, backend_io_cb, fd, EV_WRITE);
	b->io.data = b;
	ev_io_start(w->loop, &b->io);
	return b;
}

void vf_backend_watch(struct vf_backend *b, int events)
{
	egd_io_arm(b->w->loop, &b->io, events);
}

void vf_backend_release(struct vf_backend *b, bool reusable)
{
	struct vf_worker *w = b->w;

	if (!reusable || w->draining || w->n_idle >= POOL_MAX ||
	    b->cfg_gen != w->cfg_gen) {
		backend_free(b);
		return;
	}
	b->owner = NULL;
	b->idle_since = ev_now(w->loop);
	vf_backend_watch(b, EV_READ);
	b->next = w->idle;
	w->idle = b;
	w->n_idle++;
}

void vf_pool_flush(struct vf_worker *w)
{
	struct vf_backend *b;

	while ((b = w->idle) != NULL) {
		w->idle = b->next;
		backend_free(b);
	}
	w->n_idle = 0;
}
