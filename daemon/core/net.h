/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_NET_H
#define EG_DAEMON_CORE_NET_H

/*
 * Socket addresses as users write them ("127.0.0.1:8443", "[::1]:8443",
 * "*:8443", "unix:/run/app.sock"), listening sockets and non-blocking
 * connects. Every function reports failures as -1 with a message in the
 * caller's buffer, never by printing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct egd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool is_unix;
};

/* Parses `text`. Returns 0, or -1 with a message in err. */
int egd_addr_parse(const char *text, struct egd_addr *out, char *err,
		   size_t errlen);

/* "192.0.2.1:443", "[2001:db8::1]:443", "unix:/path" into buf (always
 * terminated); returns buf. */
const char *egd_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
			    size_t buflen);

/* True when both parse to the same socket address. */
bool egd_addr_equal(const struct egd_addr *a, const struct egd_addr *b);

/*
 * Creates a non-blocking, close-on-exec listening socket. With reuseport,
 * SO_REUSEPORT lets each worker own a socket on the same address so the
 * kernel spreads connections. A unix socket path is unlinked first when it
 * is a stale socket. Returns the fd, or -1 with a message in err.
 */
int egd_listen(const struct egd_addr *a, bool reuseport, int backlog, char *err,
	       size_t errlen);

/* Starts a non-blocking connect. Returns the fd (connection may still be in
 * progress: wait for writability, then egd_connect_result()), or -1 with
 * errno set. */
int egd_connect(const struct egd_addr *a);

/* 0 when the connect on fd completed, else the errno value. */
int egd_connect_result(int fd);

#endif
