/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/stream.h"

/* One TLS record's worth per gnutls_record_send(). */
#define TLS_CHUNK 16384
/* Read-ahead: the largest TLS record (RFC 8446 5.2) and its header. */
#define RAW_SIZE (16384 + 256 + 5)
/* recv_some(): nothing there now. */
#define WOULD_BLOCK (-2)

/* GnuTLS's pull function: serves what `raw` holds, else refills it with
 * one recv() of up to a whole record. */
static ssize_t stream_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct egd_stream *s = ptr;
	size_t have = egd_buf_len(&s->raw);
	ssize_t n;

	if (have == 0) {
		size_t space = egd_buf_space(&s->raw);

		if (space == 0) {
			gnutls_transport_set_errno(s->tls, ENOMEM);
			return -1;
		}
		n = recv(s->fd, egd_buf_tail(&s->raw), space, 0);
		if (n <= 0) {
			if (n == -1)
				gnutls_transport_set_errno(s->tls, errno);
			return n;
		}
		egd_buf_commit(&s->raw, (size_t)n);
		have = (size_t)n;
	}
	if (len > have)
		len = have;
	memcpy(data, egd_buf_head(&s->raw), len);
	egd_buf_consume(&s->raw, len);
	return (ssize_t)len;
}

void egd_stream_init(struct egd_stream *s, int fd, gnutls_session_t tls)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->tls = tls;
	s->handshaking = tls != NULL;
	s->readable = true; /* the first bytes may be there already */
	egd_buf_setup(&s->raw, RAW_SIZE);
	if (tls != NULL) {
		/* Reads come through stream_pull(); writes stay on the
		 * socket (GnuTLS's own vectored send). */
		gnutls_transport_set_ptr2(tls, s,
					  (gnutls_transport_ptr_t)(intptr_t)fd);
		gnutls_transport_set_pull_function(tls, stream_pull);
	}
}

void egd_stream_release(struct egd_stream *s)
{
	egd_buf_release(&s->raw);
}

void egd_stream_close(struct egd_stream *s)
{
	egd_buf_free(&s->raw);
	if (s->tls != NULL)
		gnutls_deinit(s->tls);
	s->tls = NULL;
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

int egd_stream_handshake(struct egd_stream *s)
{
	int ret;

	if (!s->handshaking)
		return 1;
	do {
		ret = gnutls_handshake(s->tls);
	} while (ret == GNUTLS_E_INTERRUPTED);
	if (ret == GNUTLS_E_AGAIN) {
		s->want_write = gnutls_record_get_direction(s->tls) == 1;
		return 0;
	}
	if (ret < 0) {
		s->err = ret;
		return ret;
	}
	s->handshaking = false;
	s->want_write = false;
	/* The first request may have come with the client's Finished. */
	s->readable = true;
	return 1;
}

void egd_stream_ready(struct egd_stream *s, int events)
{
	/* A TLS read that blocked on writing goes on once writable. */
	if ((events & EGD_STREAM_READ) ||
	    ((events & EGD_STREAM_WRITE) && s->want_write))
		s->readable = true;
}

/* Bytes read (0: the peer closed), WOULD_BLOCK, or -1 (s->err). */
static ssize_t recv_some(struct egd_stream *s, char *dst, size_t len)
{
	ssize_t n;

	for (;;) {
		if (s->tls == NULL) {
			n = recv(s->fd, dst, len, 0);
			if (n >= 0)
				return n;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return WOULD_BLOCK;
			s->err = errno;
			return -1;
		}
		n = gnutls_record_recv(s->tls, dst, len);
		if (n >= 0) {
			s->want_write = false;
			return n;
		}
		if (n == GNUTLS_E_AGAIN) {
			s->want_write =
				gnutls_record_get_direction(s->tls) == 1;
			return WOULD_BLOCK;
		}
		if (n == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		/* Interrupted, a warning alert, a renegotiation attempt:
		 * nothing for the caller, read on. */
		if (n == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)n))
			continue;
		s->err = (int)n;
		return -1;
	}
}

int egd_stream_read(struct egd_stream *s, struct egd_buf *b)
{
	char sink[4096];
	int progress = 0;

	while (!s->eof && s->readable) {
		/* egd_buf_space() may compact, moving the tail: ask first. */
		size_t space = b != NULL ? egd_buf_space(b) : sizeof(sink);
		char *dst = b != NULL ? egd_buf_tail(b) : sink;
		ssize_t n;

		if (space == 0)
			break;
		n = recv_some(s, dst, space);
		if (n == WOULD_BLOCK) {
			s->readable = false;
			break;
		}
		if (n < 0)
			return -1;
		progress = 1;
		if (n == 0) {
			s->eof = true;
			break;
		}
		if (b != NULL)
			egd_buf_commit(b, (size_t)n);
		/* Short read: the socket is empty for now. What GnuTLS has
		 * decrypted already is not in the socket: take it too. */
		if ((size_t)n < space &&
		    (s->tls == NULL ||
		     (gnutls_record_check_pending(s->tls) == 0 &&
		      egd_buf_len(&s->raw) == 0))) {
			s->readable = false;
			break;
		}
	}
	return progress;
}

int egd_stream_write(struct egd_stream *s, struct egd_buf *b)
{
	int progress = 0;

	while (egd_buf_len(b) > 0) {
		size_t len = egd_buf_len(b);
		ssize_t n;

		if (s->tls != NULL) {
			/* GnuTLS wants a blocked send retried with the same
			 * size (it has the record already). */
			if (s->tls_pending > 0)
				len = s->tls_pending;
			else if (len > TLS_CHUNK)
				len = TLS_CHUNK;
			n = gnutls_record_send(s->tls, egd_buf_head(b), len);
			if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN) {
				s->tls_pending = len;
				if (n == GNUTLS_E_AGAIN)
					break;
				continue;
			}
			s->tls_pending = 0;
			if (n < 0) {
				s->err = (int)n;
				return -1;
			}
		} else {
			n = send(s->fd, egd_buf_head(b), len, MSG_NOSIGNAL);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n == -1) {
				s->err = errno;
				return -1;
			}
		}
		egd_buf_consume(b, (size_t)n);
		progress = 1;
		/* A short plain send: the socket buffer is full. */
		if (s->tls == NULL && (size_t)n < len)
			break;
	}
	return progress;
}

void egd_stream_shutdown(struct egd_stream *s)
{
	/* close_notify tells the peer the response ended on purpose. It is
	 * sent once: a socket too full to take it still gets the FIN. */
	if (s->tls != NULL && !s->handshaking)
		gnutls_bye(s->tls, GNUTLS_SHUT_WR);
	shutdown(s->fd, SHUT_WR);
}

int egd_stream_events(const struct egd_stream *s, bool reading, bool writing)
{
	if (s->handshaking)
		return s->want_write ? EGD_STREAM_WRITE : EGD_STREAM_READ;
	return (reading ? EGD_STREAM_READ : 0) |
	       (writing || s->want_write ? EGD_STREAM_WRITE : 0);
}

const char *egd_stream_strerror(const struct egd_stream *s)
{
	return s->err < 0 ? gnutls_strerror(s->err) : strerror(s->err);
}
