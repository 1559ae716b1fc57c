/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eg-floor: the benchmark's floor, what GnuTLS alone costs per mutual-TLS
 * connection on this machine. It does the verifier's TLS work and nothing
 * else: asks for a client certificate, verifies the chain (EKU clientAuth)
 * and one DNS name, answers a request locally with 200 or 403 and closes.
 * No proxying, no keep-alive, one connection at a time (blocking), so it
 * serves only the handshake tests of tests/bench/run.sh.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define DEFAULT_PRIORITY                                                       \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct floor {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_datum_t ticket_key; /* owned: gnutls_free */
	const char *allow;	   /* the one DNS name admitted */
};

static const char ok_response[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: text/plain\r\n"
				  "Content-Length: 19\r\n"
				  "Connection: close\r\n\r\n"
				  "hello from backend\n";
static const char forbidden_response[] = "HTTP/1.1 403 Forbidden\r\n"
					 "Content-Type: text/plain\r\n"
					 "Content-Length: 10\r\n"
					 "Connection: close\r\n\r\n"
					 "forbidden\n";

/* Chain verified for clientAuth and the leaf names `allow`. */
static bool admitted(const struct floor *f, gnutls_session_t s)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t leaf = NULL;
	unsigned n = 0, status = 1;
	bool ok = false;

	chain = gnutls_certificate_get_peers(s, &n);
	if (chain == NULL || n == 0)
		return false;
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 ||
	    status != 0)
		return false;
	if (gnutls_x509_crt_init(&leaf) < 0)
		return false;
	if (gnutls_x509_crt_import(leaf, &chain[0], GNUTLS_X509_FMT_DER) == 0)
		ok = gnutls_x509_crt_check_hostname2(
			     leaf, f->allow,
			     GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS) != 0;
	gnutls_x509_crt_deinit(leaf);
	return ok;
}

/* Reads a request head; false when the client closed or failed first. */
static bool read_head(gnutls_session_t s)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1) {
		n = gnutls_record_recv(s, buf + len, sizeof(buf) - 1 - len);
		/* GNUTLS_E_AGAIN is SO_RCVTIMEO expiring: a failure. */
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return true;
	}
	return false;
}

static void serve(const struct floor *f, int fd)
{
	struct timeval tv = {10, 0};
	gnutls_session_t s = NULL;
	const char *resp;
	int one = 1, ret;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0)
		goto out;
	if (gnutls_priority_set(s, f->prio) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, f->cred) < 0 ||
	    gnutls_session_ticket_enable_server(s, &f->ticket_key) < 0)
		goto out;
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
	gnutls_transport_set_int(s, fd);
	do {
		ret = gnutls_handshake(s);
	} while (ret == GNUTLS_E_INTERRUPTED);
	if (ret < 0 || !read_head(s))
		goto out;
	resp = admitted(f, s) ? ok_response : forbidden_response;
	if (gnutls_record_send(s, resp, strlen(resp)) > 0)
		gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	gnutls_deinit(s);
	close(fd);
}

static int listen_on(const char *addr)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct timeval tv = {0, 200000};
	char host[64];
	const char *colon = strrchr(addr, ':');
	int fd = -1, one = 1;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd != -1 &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
		     -1 ||
	     bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	     listen(fd, 4096) == -1 ||
	     /* accept() wakes up to notice a stop request. */
	     setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int setup(struct floor *f, const char *cert, const char *key,
		 const char *ca, const char *priority)
{
	int ret;

	if ((ret = gnutls_certificate_allocate_credentials(&f->cred)) < 0 ||
	    (ret = gnutls_certificate_set_x509_key_file(
		     f->cred, cert, key, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (ret = gnutls_certificate_set_x509_trust_file(
		     f->cred, ca, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (ret = gnutls_priority_init2(&f->prio, priority, NULL, 0)) < 0 ||
	    (ret = gnutls_session_ticket_key_generate(&f->ticket_key)) < 0) {
		fprintf(stderr, "eg-floor: %s\n", gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"address", required_argument, NULL, 'a'},
		{"cert", required_argument, NULL, 'C'},
		{"key", required_argument, NULL, 'K'},
		{"ca", required_argument, NULL, 'A'},
		{"allow", required_argument, NULL, 'n'},
		{"priority", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *addr = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	const char *priority = DEFAULT_PRIORITY;
	struct floor f = {0};
	struct sigaction sa;
	int ch, lfd = -1, ret = 1;
	bool bad = false;

	while ((ch = getopt_long(argc, argv, "a:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'A':
			ca = optarg;
			break;
		case 'n':
			f.allow = optarg;
			break;
		case 'p':
			priority = optarg;
			break;
		default:
			bad = true;
			break;
		}
	}
	if (bad || optind != argc || addr == NULL || cert == NULL ||
	    key == NULL || ca == NULL || f.allow == NULL) {
		fputs("usage: eg-floor -a 127.0.0.1:PORT --cert FILE --key "
		      "FILE "
		      "--ca FILE --allow DNSNAME [--priority STR]\n",
		      stderr);
		ret = 2;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (setup(&f, cert, key, ca, priority) == -1)
		goto out;
	lfd = listen_on(addr);
	if (lfd == -1) {
		fprintf(stderr, "eg-floor: cannot listen on %s: %s\n", addr,
			strerror(errno));
		goto out;
	}
	while (!stop) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd != -1)
			serve(&f, fd);
	}
	ret = 0;
out:
	if (lfd != -1)
		close(lfd);
	gnutls_free(f.ticket_key.data);
	if (f.prio != NULL)
		gnutls_priority_deinit(f.prio);
	if (f.cred != NULL)
		gnutls_certificate_free_credentials(f.cred);
	return ret;
}
