/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_CONN_H
#define EG_DAEMON_CORE_CONN_H

/*
 * Small pieces both daemons' connection code uses: arming a libev watcher
 * without needless epoll_ctl() calls, and giving an idle connection's
 * buffers back to the pool.
 */

#include <ev.h>

#include "core/buf.h"
#include "core/http1.h"
#include "core/log.h"
#include "core/stream.h"

_Static_assert(EGD_STREAM_READ == EV_READ && EGD_STREAM_WRITE == EV_WRITE,
	       "egd_stream_events() results are libev event masks");

/* Waits for `events` (EV_READ | EV_WRITE, 0: none) on io's fd. Changes
 * the watcher only when the mask changes, and with ev_io_modify():
 * ev_io_set() would mark the fd as new and cost an epoll_ctl() even for
 * the same mask. */
static inline void egd_io_arm(struct ev_loop *loop, ev_io *io, int events)
{
	if ((io->events & (EV_READ | EV_WRITE)) == events &&
	    ev_is_active(io) == (events != 0))
		return;
	ev_io_stop(loop, io);
	ev_io_modify(io, events);
	if (events != 0)
		ev_io_start(loop, io);
}

/* Arms a client connection's watcher: readable while cin has room (or
 * while lingering, when what arrives is discarded), writable while cout
 * holds bytes, and whatever TLS is blocked on. */
static inline void egd_conn_arm_client(struct ev_loop *loop, ev_io *io,
				       const struct egd_stream *s,
				       const struct egd_buf *cin,
				       const struct egd_buf *cout,
				       bool lingering)
{
	egd_io_arm(loop, io,
		   egd_stream_events(
			   s, !s->eof && (lingering || egd_buf_room(cin) > 0),
			   egd_buf_len(cout) > 0));
}

/* Reads what the client sent into cin (discarded while lingering); a
 * failure is logged (debug) under `who`, progress refreshes *last_io.
 * Returns 1 on progress, 0, -1. */
static inline int egd_conn_read(struct egd_stream *s, struct egd_buf *cin,
				bool lingering, const char *who, ev_tstamp now,
				ev_tstamp *last_io)
{
	int r = egd_stream_read(s, lingering ? NULL : cin);

	if (r == -1)
		egd_log(EGD_DEBUG, "%s: receive: %s", who,
			egd_stream_strerror(s));
	else if (r == 1)
		*last_io = now;
	return r;
}

/* Writes cout to the client; a failure is logged (debug) under `who`.
 * Returns 1 on progress, 0, -1. */
static inline int egd_conn_write(struct egd_stream *s, struct egd_buf *cout,
				 const char *who)
{
	int r = egd_stream_write(s, cout);

	if (r == -1)
		egd_log(EGD_DEBUG, "%s: send: %s", who, egd_stream_strerror(s));
	return r;
}

/* Between requests a keep-alive connection holds no buffers: they go back
 * to the worker's pool (core/pool.h), which the next request on any
 * connection takes them from. That is what keeps an idle connection
 * small. Buffers that hold bytes, and a parser in the middle of a head,
 * keep theirs. */
static inline void
egd_conn_release_idle(struct egd_stream *client, struct egd_buf *cin,
		      struct egd_buf *cout, struct egd_buf *bin,
		      struct egd_buf *bout, struct egd_http *req,
		      struct egd_http *resp)
{
	egd_stream_release(client);
	egd_buf_release(cin);
	egd_buf_release(cout);
	egd_buf_release(bin);
	egd_buf_release(bout);
	egd_http_release(req);
	egd_http_release(resp);
}

#endif
