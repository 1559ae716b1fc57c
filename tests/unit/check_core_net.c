/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "core_net": socket addresses as users write them in the
 * daemons' configuration (a table of good and bad spellings, each bad one
 * with an error that quotes it), their printed form, and real listening
 * and connecting sockets on loopback and in the file system.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>

#include "core/net.h"
#include "test_helpers.h"

/* want == NULL: refused. Otherwise the address as egd_addr_format()
 * prints it. */
static const struct {
	const char *text;
	const char *want;
} rows[] = {
	{"127.0.0.1:8443", "127.0.0.1:8443"},
	{"0.0.0.0:1", "0.0.0.0:1"},
	{"192.0.2.10:65535", "192.0.2.10:65535"},
	{"*:443", "0.0.0.0:443"},
	{":443", "0.0.0.0:443"},
	{"127.0.0.1:0080", "127.0.0.1:80"},
	{"[::1]:8443", "[::1]:8443"},
	{"[::]:443", "[::]:443"},
	{"[2001:DB8::1]:443", "[2001:db8::1]:443"},
	{"[::ffff:192.0.2.1]:443", "[::ffff:192.0.2.1]:443"},
	{"unix:/run/edgeguard/authz.sock", "unix:/run/edgeguard/authz.sock"},
	{"unix:/", "unix:/"},
	/* Refused: no port, bad port, names, unbracketed IPv6, bad unix. */
	{"", NULL},
	{"127.0.0.1", NULL},
	{"127.0.0.1:", NULL},
	{"127.0.0.1:0", NULL},
	{"127.0.0.1:65536", NULL},
	{"127.0.0.1:99999999999999999999999", NULL},
	{"127.0.0.1:-1", NULL},
	{"127.0.0.1:+80", NULL},
	{"127.0.0.1: 80", NULL},
	{"127.0.0.1:80 ", NULL},
	{"127.0.0.1:80x", NULL},
	{"127.0.0.1:0x50", NULL},
	{"localhost:80", NULL},
	{"256.0.0.1:80", NULL},
	{"1.2.3:80", NULL},
	{"1.2.3.4.5:80", NULL},
	{" 127.0.0.1:80", NULL},
	{"::1:80", NULL},
	{"[::1]", NULL},
	{"[::1]80", NULL},
	{"[::1:80", NULL},
	{"[]:80", NULL},
	{"[127.0.0.1]:80", NULL},
	{"[fe80::1%eth0]:80", NULL},
	{"[::1]:", NULL},
	{"[::1]:0", NULL},
	{"["
	 "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:80",
	 NULL},
	{"**:80", NULL},
	{"unix:", NULL},
	{"unix:run/x.sock", NULL},
	{"unix:~/x.sock", NULL},
	{"UNIX:/x.sock", NULL},
	{"tcp://127.0.0.1:80", NULL},
};

START_TEST(test_parse_table)
{
	const char *text = rows[_i].text;
	const char *want = rows[_i].want;
	char err[512], out[128];
	struct egd_addr a;
	int ret;

	err[0] = '\0';
	ret = egd_addr_parse(text, &a, err, sizeof(err));
	if (want == NULL) {
		char quoted[300];

		ck_assert_msg(ret == -1, "\"%s\" accepted", text);
		/* The error quotes what the user wrote and says what would
		 * have been right. */
		snprintf(quoted, sizeof(quoted), "'%s'", text);
		ck_assert_msg(strstr(err, quoted) != NULL, "%s: %s", text, err);
		ck_assert_msg(strstr(err, "expected") != NULL, "%s: %s", text,
			      err);
		return;
	}
	ck_assert_msg(ret == 0, "\"%s\" refused: %s", text, err);
	egd_addr_format((const struct sockaddr *)&a.ss, a.len, out,
			sizeof(out));
	ck_assert_str_eq(out, want);
	ck_assert(a.is_unix == (strncmp(text, "unix:", 5) == 0));
}
END_TEST

START_TEST(test_parse_fields)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	const struct sockaddr_un *un;
	struct egd_addr a;
	char err[256];

	ck_assert_int_eq(egd_addr_parse("192.0.2.1:8443", &a, err, sizeof(err)),
			 0);
	s4 = (const struct sockaddr_in *)&a.ss;
	ck_assert_int_eq(s4->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(s4->sin_port), 8443);
	ck_assert_uint_eq(ntohl(s4->sin_addr.s_addr), 0xc0000201u);
	ck_assert_uint_eq(a.len, sizeof(*s4));

	ck_assert_int_eq(egd_addr_parse("*:80", &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(s4->sin_addr.s_addr, htonl(INADDR_ANY));

	ck_assert_int_eq(egd_addr_parse("[::1]:443", &a, err, sizeof(err)), 0);
	s6 = (const struct sockaddr_in6 *)&a.ss;
	ck_assert_int_eq(s6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(s6->sin6_port), 443);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	ck_assert_uint_eq(a.len, sizeof(*s6));

	ck_assert_int_eq(
		egd_addr_parse("unix:/run/a.sock", &a, err, sizeof(err)), 0);
	un = (const struct sockaddr_un *)&a.ss;
	ck_assert_int_eq(un->sun_family, AF_UNIX);
	ck_assert_str_eq(un->sun_path, "/run/a.sock");
	ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) +
					 sizeof("/run/a.sock"));
}
END_TEST

/* sun_path holds 108 bytes with the NUL: 107 characters is the longest. */
START_TEST(test_unix_path_length)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	char text[256], err[512];
	struct egd_addr a;

	memcpy(text, "unix:/", 6);
	memset(text + 6, 'p', max - 1);
	text[5 + max] = '\0';
	ck_assert_int_eq(egd_addr_parse(text, &a, err, sizeof(err)), 0);
	text[5 + max] = 'p';
	text[6 + max] = '\0';
	ck_assert_int_eq(egd_addr_parse(text, &a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "at most 107 bytes"));
}
END_TEST

/* Errors go into the caller's buffer, always terminated, however long the
 * input and however short the buffer. */
START_TEST(test_error_buffer)
{
	char text[5000], err[16];
	struct egd_addr a;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memset(err, 'Z', sizeof(err));
	ck_assert_int_eq(egd_addr_parse(text, &a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(memchr(err, '\0', sizeof(err)));
	ck_assert_int_eq(strncmp(err, "'xxxx", 5), 0);
	memcpy(text, "unix:", 5);
	ck_assert_int_eq(egd_addr_parse(text, &a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(memchr(err, '\0', sizeof(err)));
}
END_TEST

START_TEST(test_format)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct egd_addr a;
	char err[128], out[64];

	/* An accepted unix peer has no name. */
	egd_addr_format((const struct sockaddr *)&un, sizeof(sa_family_t), out,
			sizeof(out));
	ck_assert_str_eq(out, "unix:");
	egd_addr_format((const struct sockaddr *)&un, sizeof(un), out,
			sizeof(out));
	ck_assert_str_eq(out, "unix:");
	/* Truncated to the buffer, terminated. */
	ck_assert_int_eq(
		egd_addr_parse("[2001:db8::1]:443", &a, err, sizeof(err)), 0);
	memset(out, 'Z', sizeof(out));
	ck_assert_ptr_eq(
		egd_addr_format((const struct sockaddr *)&a.ss, a.len, out, 6),
		out);
	ck_assert_str_eq(out, "[2001");
	/* No room at all: nothing written. */
	out[0] = 'Z';
	egd_addr_format((const struct sockaddr *)&a.ss, a.len, out, 0);
	ck_assert_int_eq(out[0], 'Z');
}
END_TEST

START_TEST(test_equal)
{
	struct egd_addr a, b;
	char err[128];

	ck_assert_int_eq(egd_addr_parse("127.0.0.1:80", &a, err, sizeof(err)),
			 0);
	ck_assert_int_eq(egd_addr_parse("127.0.0.1:0080", &b, err, sizeof(err)),
			 0);
	ck_assert(egd_addr_equal(&a, &b));
	ck_assert_int_eq(egd_addr_parse("127.0.0.1:81", &b, err, sizeof(err)),
			 0);
	ck_assert(!egd_addr_equal(&a, &b));
	ck_assert_int_eq(
		egd_addr_parse("[::ffff:127.0.0.1]:80", &b, err, sizeof(err)),
		0);
	ck_assert(!egd_addr_equal(&a, &b));
	ck_assert_int_eq(egd_addr_parse("*:80", &a, err, sizeof(err)), 0);
	ck_assert_int_eq(egd_addr_parse("0.0.0.0:80", &b, err, sizeof(err)), 0);
	ck_assert(egd_addr_equal(&a, &b));
	ck_assert_int_eq(egd_addr_parse("unix:/a", &a, err, sizeof(err)), 0);
	ck_assert_int_eq(egd_addr_parse("unix:/ab", &b, err, sizeof(err)), 0);
	ck_assert(!egd_addr_equal(&a, &b));
	ck_assert_int_eq(egd_addr_parse("unix:/a", &b, err, sizeof(err)), 0);
	ck_assert(egd_addr_equal(&a, &b));
}
END_TEST

static void assert_nonblock_cloexec(int fd)
{
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* The port the kernel picked for a listener bound to port 0. */
static struct egd_addr bound_addr(int fd)
{
	struct egd_addr a;

	memset(&a, 0, sizeof(a));
	a.len = sizeof(a.ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a.ss, &a.len), 0);
	return a;
}

static void wait_connected(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	ck_assert_int_eq(poll(&p, 1, 5000), 1);
}

START_TEST(test_listen_connect_tcp)
{
	struct egd_addr any, a;
	char err[256], name[64];
	int l, c, s;

	ck_assert_int_eq(egd_addr_parse("127.0.0.1:1", &any, err, sizeof(err)),
			 0);
	((struct sockaddr_in *)&any.ss)->sin_port = 0;
	l = egd_listen(&any, false, 16, err, sizeof(err));
	ck_assert_msg(l != -1, "%s", err);
	assert_nonblock_cloexec(l);
	a = bound_addr(l);
	c = egd_connect(&a);
	ck_assert_int_ne(c, -1);
	assert_nonblock_cloexec(c);
	wait_connected(c);
	ck_assert_int_eq(egd_connect_result(c), 0);
	for (int i = 0; i < 100 && (s = accept(l, NULL, NULL)) == -1; i++)
		usleep(10000);
	ck_assert_int_ne(s, -1);
	ck_assert_int_eq(send(c, "ping", 4, 0), 4);
	ck_assert_int_eq(recv(s, name, sizeof(name), 0), 4);
	close(s);
	close(c);

	/* The address is taken: refused, and the error names it. */
	egd_addr_format((struct sockaddr *)&a.ss, a.len, name, sizeof(name));
	ck_assert_int_eq(egd_listen(&a, false, 16, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, name));
	ck_assert_ptr_nonnull(strstr(err, strerror(EADDRINUSE)));
	close(l);

	/* Nobody listens any more: the connect fails, now or later. */
	c = egd_connect(&a);
	if (c == -1) {
		ck_assert_int_eq(errno, ECONNREFUSED);
	} else {
		wait_connected(c);
		ck_assert_int_eq(egd_connect_result(c), ECONNREFUSED);
		close(c);
	}
}
END_TEST

/* Every worker binds the same address with SO_REUSEPORT. */
START_TEST(test_reuseport)
{
	struct egd_addr any, a;
	char err[256];
	int l1, l2;

	ck_assert_int_eq(egd_addr_parse("127.0.0.1:1", &any, err, sizeof(err)),
			 0);
	((struct sockaddr_in *)&any.ss)->sin_port = 0;
	l1 = egd_listen(&any, true, 16, err, sizeof(err));
	ck_assert_msg(l1 != -1, "%s", err);
	a = bound_addr(l1);
	l2 = egd_listen(&a, true, 16, err, sizeof(err));
	ck_assert_msg(l2 != -1, "%s", err);
	close(l2);
	close(l1);
}
END_TEST

START_TEST(test_listen_ipv6_only)
{
	struct egd_addr any, a, v4;
	char err[256];
	int l, fd, one = 0;
	socklen_t len = sizeof(one);

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd == -1)
		return; /* no IPv6 in this sandbox */
	close(fd);
	ck_assert_int_eq(egd_addr_parse("[::]:1", &any, err, sizeof(err)), 0);
	((struct sockaddr_in6 *)&any.ss)->sin6_port = 0;
	l = egd_listen(&any, true, 16, err, sizeof(err));
	ck_assert_msg(l != -1, "%s", err);
	ck_assert_int_eq(getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, &len),
			 0);
	ck_assert_int_eq(one, 1);
	/* [::] does not take IPv4: the same port is free for 0.0.0.0. */
	a = bound_addr(l);
	ck_assert_int_eq(egd_addr_parse("0.0.0.0:1", &v4, err, sizeof(err)), 0);
	((struct sockaddr_in *)&v4.ss)->sin_port =
		((struct sockaddr_in6 *)&a.ss)->sin6_port;
	fd = egd_listen(&v4, false, 16, err, sizeof(err));
	ck_assert_msg(fd != -1, "%s", err);
	close(fd);
	close(l);
}
END_TEST

START_TEST(test_listen_unix)
{
	char dir[] = "/tmp/check_core_net.XXXXXX";
	char text[160], path[128], err[256];
	struct egd_addr a;
	struct stat st;
	int l, c, s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	snprintf(text, sizeof(text), "unix:%s", path);
	ck_assert_int_eq(egd_addr_parse(text, &a, err, sizeof(err)), 0);
	l = egd_listen(&a, true, 16, err, sizeof(err));
	ck_assert_msg(l != -1, "%s", err);
	assert_nonblock_cloexec(l);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	c = egd_connect(&a);
	ck_assert_int_ne(c, -1);
	wait_connected(c);
	ck_assert_int_eq(egd_connect_result(c), 0);
	s = accept(l, NULL, NULL);
	ck_assert_int_ne(s, -1);
	close(s);
	close(c);
	close(l);

	/* The socket file a dead process left behind is replaced. */
	l = egd_listen(&a, true, 16, err, sizeof(err));
	ck_assert_msg(l != -1, "stale socket not replaced: %s", err);
	close(l);
	unlink(path);

	/* Anything else at that path is not ours to delete. */
	fclose(fopen(path, "w"));
	ck_assert_int_eq(egd_listen(&a, true, 16, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, text));
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(path);

	/* No such directory. */
	snprintf(text, sizeof(text), "unix:%s/missing/s.sock", dir);
	ck_assert_int_eq(egd_addr_parse(text, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(egd_listen(&a, true, 16, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
	c = egd_connect(&a);
	ck_assert_int_eq(c, -1);
	ck_assert_int_eq(errno, ENOENT);
	rmdir(dir);
}
END_TEST

static Suite *net_suite(void)
{
	Suite *s = suite_create("core_net");
	TCase *tc = tcase_create("address");

	tcase_add_loop_test(tc, test_parse_table, 0,
			    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_parse_fields);
	tcase_add_test(tc, test_unix_path_length);
	tcase_add_test(tc, test_error_buffer);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("sockets");
	tcase_add_test(tc, test_listen_connect_tcp);
	tcase_add_test(tc, test_reuseport);
	tcase_add_test(tc, test_listen_ipv6_only);
	tcase_add_test(tc, test_listen_unix);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(net_suite());
}
