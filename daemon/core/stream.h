/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_STREAM_H
#define EG_DAEMON_CORE_STREAM_H

/*
 * The client side of a daemon connection: a non-blocking socket, plain or
 * with a GnuTLS server session on it. One place for the rules both
 * daemons need: handshake steps, reads into a bounded buffer, writes that
 * retry a blocked gnutls_record_send() with the same size, close_notify
 * before the write side is shut, and which events to wait for.
 *
 * Reads stop after a short read once GnuTLS holds nothing decrypted, and
 * are not tried again until the event loop reports the socket readable
 * (egd_stream_ready()): the loop is level-triggered, so reading on until
 * EAGAIN, or once more per pass of the caller's loop, would only cost a
 * syscall per request. For the same reason GnuTLS reads through the
 * stream: a record's header and body come in one recv() into `raw`
 * rather than two, and what is left over stays there for the next record.
 */

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>

#include "core/buf.h"

/* Event bits of egd_stream_events(). */
#define EGD_STREAM_READ	 1
#define EGD_STREAM_WRITE 2

struct egd_stream {
	int fd;		      /* owned */
	gnutls_session_t tls; /* owned; NULL: plaintext */
	bool handshaking;     /* TLS and the handshake has not finished */
	bool want_write;      /* the last TLS call blocked on writing */
	bool eof;	      /* the peer closed its side (or close_notify) */
	bool readable;	      /* may have bytes: reported readable, or not
			       * read dry since */
	size_t tls_pending;   /* size of a record send that hit EAGAIN:
				* retried with the same size */
	int err;	      /* after a -1: a GnuTLS code (< 0) or errno */
	struct egd_buf raw;   /* TLS: bytes read from the socket that GnuTLS
			       * has not taken yet */
};

/* Takes ownership of fd and of tls (NULL for plaintext; a TLS session
 * starts in its handshake). */
void egd_stream_init(struct egd_stream *s, int fd, gnutls_session_t tls);

/* Releases the session and closes the socket, without close_notify (see
 * egd_stream_shutdown()). The stream may be init'ed again. */
void egd_stream_close(struct egd_stream *s);

/* Gives the read-ahead buffer back to the pool when it is empty (between
 * requests). */
void egd_stream_release(struct egd_stream *s);

/*
 * Advances the TLS handshake. Returns 1 when it finished (or there is
 * none), 0 when it waits for the socket (egd_stream_events() says which
 * way), or the negative GnuTLS error that ended it.
 */
int egd_stream_handshake(struct egd_stream *s);

/* Tells the stream what the event loop reported (EGD_STREAM_READ /
 * EGD_STREAM_WRITE bits). */
void egd_stream_ready(struct egd_stream *s, int events);

/*
 * Reads into b's free space (b NULL: reads and discards, for lingering),
 * when the socket may have bytes (see egd_stream_ready()).
 * Returns 1 when bytes arrived or the peer closed (s->eof set), 0 when
 * nothing was there or b is full, -1 on error (s->err). A TLS peer's
 * close without close_notify counts as a close: HTTP/1.1 framing, not
 * TLS, tells whether a message was complete.
 */
int egd_stream_read(struct egd_stream *s, struct egd_buf *b);

/* Writes from b's head, consuming what went out. Returns 1 when bytes
 * went out, 0 when the socket is full or b is empty, -1 on error
 * (s->err). */
int egd_stream_write(struct egd_stream *s, struct egd_buf *b);

/* Sends close_notify (best effort, never blocks) and shuts the socket's
 * write side; reads still work, to drain the peer while lingering. */
void egd_stream_shutdown(struct egd_stream *s);

/* The events to wait for: EGD_STREAM_READ when the caller wants to read,
 * EGD_STREAM_WRITE when it has bytes to write, adjusted for what TLS is
 * blocked on; during the handshake only what the handshake needs. */
int egd_stream_events(const struct egd_stream *s, bool reading, bool writing);

/* The error of the last -1, in words (static storage). */
const char *egd_stream_strerror(const struct egd_stream *s);

#endif
