/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/net.h"

static int parse_port(const char *s, unsigned *port)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int egd_addr_parse(const char *text, struct egd_addr *out, char *err,
		   size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	size_t hlen;
	unsigned port;

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
		size_t plen = strlen(text + 5);

		if (plen == 0 || plen >= sizeof(un->sun_path) ||
		    text[5] != '/') {
			snprintf(err, errlen,
				 "'%s': expected unix:/absolute/path (at most "
				 "%zu bytes)",
				 text, sizeof(un->sun_path) - 1);
			return -1;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, text + 5, plen + 1);
		out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				       plen + 1);
		out->is_unix = true;
		return 0;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			goto bad;
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
	}
	if (parse_port(colon + 1, &port) == -1)
		goto bad;
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;

		if (strcmp(host, "*") == 0 || host[0] == '\0')
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*s4);
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "'%s': expected IPv4:port, [IPv6]:port, *:port or "
		 "unix:/path",
		 text);
	return -1;
}

const char *egd_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
			    size_t buflen)
{
	char ip[INET6_ADDRSTRLEN];

	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, buflen, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, buflen, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);

		/* An accepted unix peer usually has no name at all. */
		if (len > off && un->sun_path[0] != '\0')
			snprintf(buf, buflen, "unix:%.*s", (int)(len - off),
				 un->sun_path);
		else
			snprintf(buf, buflen, "unix:");
	}
	return buf;
}

bool egd_addr_equal(const struct egd_addr *a, const struct egd_addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int egd_listen(const struct egd_addr *a, bool reuseport, int backlog, char *err,
	       size_t errlen)
{
	char name[128];
	int one = 1;
	int fd;

	egd_addr_format((const struct sockaddr *)&a->ss, a->len, name,
			sizeof(name));
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd == -1)
		goto fail;
	if (a->is_unix) {
		const struct sockaddr_un *un =
			(const struct sockaddr_un *)&a->ss;
		struct stat st;

		if (lstat(un->sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(un->sun_path);
	} else {
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) == -1)
			goto fail;
		if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
					    sizeof(one)) == -1)
			goto fail;
		/* [::] must not also grab IPv4: users list both explicitly. */
		if (a->ss.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			       sizeof(one)) == -1)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		goto fail;
	if (listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen on %s: %s", name, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int egd_connect(const struct egd_addr *a)
{
	int one = 1;
	int fd;
	int saved;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd == -1)
		return -1;
	if (!a->is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 &&
	    errno != EINPROGRESS) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int egd_connect_result(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return errno;
	return soerr;
}
