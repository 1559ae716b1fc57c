/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/http1.h"
#include "core/net.h"
#include "core/tls_client.h"
#include "forwarder/forwarder.h"

#define PROBE_READ_MAX 16384

/* Milliseconds left until `deadline` (CLOCK_MONOTONIC), at least 0. */
static int left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

static void deadline_in(struct timespec *d, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

/* Waits for `events` on fd until the deadline. Returns 1, or 0 on
 * timeout. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = {fd, events, 0};
	int r;

	do {
		r = poll(&p, 1, left_ms(deadline));
	} while (r == -1 && errno == EINTR);
	return r > 0;
}

static int wait_tls(gnutls_session_t s, int fd, const struct timespec *dl)
{
	return wait_fd(fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN,
		       dl);
}

/* Connects to the first server that answers. Returns the fd or -1. */
static int probe_connect(const struct egf_origin *o, FILE *out,
			 const struct egf_server **used)
{
	struct timespec dl;

	for (size_t i = 0; i < o->n_servers; i++) {
		const struct egf_server *s = &o->servers[i];
		int fd = egd_connect(&s->addr);
		int e;

		if (fd == -1) {
			fprintf(out, "server %s: connect: %s\n", s->text,
				strerror(errno));
			continue;
		}
		deadline_in(&dl, o->connect_timeout_ms);
		if (!wait_fd(fd, POLLOUT, &dl)) {
			fprintf(out,
				"server %s: connect timed out after %u ms\n",
				s->text, o->connect_timeout_ms);
			close(fd);
			continue;
		}
		e = egd_connect_result(fd);
		if (e != 0) {
			fprintf(out, "server %s: connect: %s\n", s->text,
				strerror(e));
			close(fd);
			continue;
		}
		*used = s;
		return fd;
	}
	return -1;
}

static int handshake(const struct egf_origin *o, gnutls_session_t s, int fd,
		     FILE *out)
{
	struct timespec dl;
	char why[300];
	int ret;

	deadline_in(&dl, o->handshake_timeout_ms);
	do {
		ret = gnutls_handshake(s);
		if (ret == GNUTLS_E_AGAIN && !wait_tls(s, fd, &dl)) {
			fprintf(out, "TLS handshake timed out after %u ms\n",
				o->handshake_timeout_ms);
			return -1;
		}
	} while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
	if (ret < 0) {
		fprintf(out, "TLS handshake failed: %s\n",
			egd_tls_client_why(s, ret, why, sizeof(why)));
		if (egd_tls_client_refused(s, ret))
			fprintf(out, "=> the origin refused the client "
				     "certificate\n");
		else if (egd_tls_client_verify_failed(ret))
			fprintf(out, "=> the origin's certificate is not the "
				     "one ca_file and verify_name expect\n");
		return -1;
	}
	fprintf(out,
		"TLS handshake done (%s); the origin's certificate is "
		"valid%s%s\n",
		gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
		o->verify_name ? " for " : "",
		o->verify_name ? o->verify_name : "");
	return 0;
}

static int send_all(gnutls_session_t s, int fd, const char *p, size_t len,
		    const struct timespec *dl)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(s, p, len);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (!wait_tls(s, fd, dl))
				return GNUTLS_E_TIMEDOUT;
			continue;
		}
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the peer closes, the buffer is full or the deadline.
 * Returns the bytes read, or a negative GnuTLS error. */
static ssize_t recv_all(gnutls_session_t s, int fd, char *buf, size_t cap,
			const struct timespec *dl)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = gnutls_record_recv(s, buf + got, cap - got);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (!wait_tls(s, fd, dl))
				return got > 0 ? (ssize_t)got
					       : GNUTLS_E_TIMEDOUT;
			continue;
		}
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
			break;
		if (n < 0)
			return got > 0 ? (ssize_t)got : n;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Reports the response in buf. Returns 0 (admitted) or 1. */
static int report_response(const char *buf, size_t len, FILE *out)
{
	static const char reason_prefix[] = "403 Forbidden: ";
	struct egd_http h;
	size_t consumed = 0;
	enum egd_http_result r;
	const char *body;
	size_t blen, rlen;
	int status, ret = 1;

	if (egd_http_init(&h, true, PROBE_READ_MAX, 256) == -1) {
		fprintf(out, "out of memory\n");
		return 1;
	}
	r = egd_http_feed(&h, buf, len, &consumed);
	if (r != EGD_HTTP_HEAD && r != EGD_HTTP_DONE) {
		fprintf(out,
			"the origin sent no valid HTTP response (%zu "
			"bytes)\n",
			len);
		goto out;
	}
	status = llhttp_get_status_code(&h.parser);
	body = buf + consumed;
	blen = len - consumed;
	fprintf(out, "HTTP %d %.*s\n", status, (int)h.status_len,
		egd_http_str(&h, h.status));
	if (status == 403 && blen > sizeof(reason_prefix) - 1 &&
	    memcmp(body, reason_prefix, sizeof(reason_prefix) - 1) == 0) {
		body += sizeof(reason_prefix) - 1;
		blen -= sizeof(reason_prefix) - 1;
		for (rlen = 0; rlen < blen && rlen < 64 &&
			       ((body[rlen] >= 'a' && body[rlen] <= 'z') ||
				body[rlen] == '_');
		     rlen++)
			;
		fprintf(out, "=> refused by the origin's edgeguard: %.*s\n",
			(int)rlen, body);
	} else if (status < 400) {
		fprintf(out, "=> admitted\n");
		ret = 0;
	} else {
		fprintf(out, "=> the origin answered with an error status\n");
	}
out:
	egd_http_free(&h);
	return ret;
}

static int exchange(const struct egf_origin *o, gnutls_session_t s, int fd,
		    FILE *out)
{
	char *buf = NULL, req[600], why[300];
	const char *host = o->n_hosts > 0 && o->hosts[0][0] != '*' ? o->hosts[0]
			   : o->sni				   ? o->sni
			   : o->verify_name ? o->verify_name
					    : "localhost";
	struct timespec dl;
	ssize_t n;
	int ret = 1;

	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
		 "edgeguard-forwarder-probe\r\nConnection: close\r\n\r\n",
		 host);
	deadline_in(&dl, o->response_timeout_ms);
	buf = malloc(PROBE_READ_MAX);
	if (buf == NULL) {
		fprintf(out, "out of memory\n");
		return 1;
	}
	n = send_all(s, fd, req, strlen(req), &dl);
	if (n != GNUTLS_E_TIMEDOUT) {
		/* Even after a failed send: the alert of an origin that
		 * refused us may be waiting, and it says why. */
		ssize_t m = recv_all(s, fd, buf, PROBE_READ_MAX, &dl);

		if (n == 0 || (m < 0 && egd_tls_client_refused(s, (int)m)))
			n = m;
	}
	if (n == 0) {
		fprintf(out, "the origin closed the connection without an "
			     "answer\n");
	} else if (n < 0) {
		fprintf(out, "no HTTP response: %s\n",
			egd_tls_client_why(s, (int)n, why, sizeof(why)));
		if (egd_tls_client_refused(s, (int)n))
			fprintf(out, "=> the origin refused the client "
				     "certificate after the handshake\n");
	} else {
		ret = report_response(buf, (size_t)n, out);
	}
	free(buf);
	return ret;
}

int egf_probe_origin(const char *conf, const char *origin, FILE *out)
{
	struct egf_config *cfg = NULL;
	const struct egf_server *server = NULL;
	struct egf_origin *o;
	gnutls_session_t s = NULL;
	char err[1024], when[64];
	struct tm tm;
	int fd = -1, ret = 2;

	if (egf_config_load(conf, &cfg, err, sizeof(err)) < 0) {
		fprintf(out, "%s\n", err);
		return 2;
	}
	o = egf_config_origin(cfg, origin);
	if (o == NULL) {
		fprintf(out, "%s: no origin is named '%s'; there are:", conf,
			origin);
		for (size_t i = 0; i < cfg->n_origins; i++)
			fprintf(out, " %s", cfg->origins[i].name);
		fprintf(out, "\n");
		goto out;
	}
	gmtime_r(&o->tls->creds.cert_not_after, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out,
		"origin %s: client certificate %s (%s), valid until %s%s\n",
		o->name, o->cert, o->tls->creds.cert_subject, when,
		o->tls->creds.cert_not_after < time(NULL) ? " - EXPIRED" : "");
	ret = 1;
	fd = probe_connect(o, out, &server);
	if (fd == -1) {
		fprintf(out, "=> no server of the origin could be reached\n");
		goto out;
	}
	fprintf(out, "connected to %s (SNI %s)\n", server->text,
		o->sni ? o->sni : "none");
	if (egd_tls_client_session(o->tls, fd, o->sni, o->verify_name, &s) <
	    0) {
		fprintf(out, "cannot create a TLS session\n");
		goto out;
	}
	if (handshake(o, s, fd, out) == 0)
		ret = exchange(o, s, fd, out);
out:
	if (s != NULL)
		gnutls_deinit(s);
	if (fd != -1)
		close(fd);
	egf_config_unref(cfg);
	return ret;
}
