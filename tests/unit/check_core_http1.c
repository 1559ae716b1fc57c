/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "core_http1": the daemons' HTTP/1.1 head parser
 * (daemon/core/http1.c over llhttp). Every message is a row of a table
 * with the trace the parser must produce; each row is also fed split at
 * every byte boundary and one byte at a time, because a TLS record or a
 * TCP segment can end anywhere and the verdict must not depend on where.
 * A request the verifier would read differently from a backend is a
 * request smuggling hole, so the refusals matter as much as the parses.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/http1.h"
#include "test_helpers.h"

#define MAX_BYTES   512
#define MAX_HEADERS 8

/*
 * A trace spells out what the parser reported: for each message its
 * request line ("GET /a") or status ("200 OK"), each field as {name:value},
 * the body bytes it let through as [..] and "." when the message ended.
 * It closes with "+" (needs more input), "!" (malformed), "!L" (head too
 * large) or "!N" (too many fields). Bytes outside printable ASCII and the
 * trace's own punctuation are written \xNN.
 */
struct trace {
	char s[16384];
	size_t n;
};

/* Check's assertions cost a system call each; the driver runs millions of
 * steps, so it tests plainly and reports only a failure. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);  \
	} while (0)

static void put(struct trace *t, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		CHECK(t->n + 5 < sizeof(t->s));
		if (ch < 0x20 || ch > 0x7e || strchr("[]{}\\", ch) != NULL)
			t->n += (size_t)snprintf(t->s + t->n, 5, "\\x%02x", ch);
		else
			t->s[t->n++] = (char)ch;
	}
	t->s[t->n] = '\0';
}

static void puts_(struct trace *t, const char *s)
{
	size_t len = strlen(s);

	CHECK(t->n + len < sizeof(t->s));
	memcpy(t->s + t->n, s, len + 1);
	t->n += len;
}

static void put_head(struct trace *t, struct egd_http *h, bool response)
{
	char code[16];

	if (response) {
		snprintf(code, sizeof(code), "%d ",
			 llhttp_get_status_code(&h->parser));
		puts_(t, code);
		put(t, egd_http_str(h, h->status), h->status_len);
	} else {
		puts_(t, llhttp_method_name(llhttp_get_method(&h->parser)));
		puts_(t, " ");
		put(t, egd_http_str(h, h->url), h->url_len);
	}
	for (unsigned i = 0; i < h->n; i++) {
		puts_(t, "{");
		put(t, egd_http_str(h, h->hdr[i].name), h->hdr[i].name_len);
		puts_(t, ":");
		put(t, egd_http_str(h, h->hdr[i].value), h->hdr[i].value_len);
		puts_(t, "}");
	}
}

enum kind { REQ, RESP, RESP_TO_HEAD };

/*
 * Feeds in[0, len) as the pieces ending at cuts[] (ascending, the last one
 * len) the way a connection does: after a head or a message the rest of
 * the piece is fed again, even when nothing is left, so a bodiless message
 * can complete. Checks on the way that the parser never claims more bytes
 * than it was given.
 */
static void drive(const char *in, size_t len, const size_t *cuts, size_t ncuts,
		  enum kind kind, size_t max_bytes, unsigned max_headers,
		  struct trace *t)
{
	bool response = kind != REQ;
	enum egd_http_result r = EGD_HTTP_MORE;
	struct egd_http h;
	bool in_body = false;
	size_t from = 0;

	CHECK(egd_http_init(&h, response, max_bytes, max_headers) == 0);
	h.no_body = kind == RESP_TO_HEAD;
	t->n = 0;
	t->s[0] = '\0';
	for (size_t k = 0; k < ncuts && r < EGD_HTTP_TOO_LARGE; k++) {
		size_t end = cuts[k], pos = from, c;

		CHECK(end <= len);
		for (;;) {
			c = (size_t)-1;
			r = egd_http_feed(&h, in + pos, end - pos, &c);
			CHECK(c <= end - pos);
			if (r >= EGD_HTTP_TOO_LARGE)
				CHECK(c == 0);
			if (in_body && c > 0) {
				puts_(t, "[");
				put(t, in + pos, c);
				puts_(t, "]");
			}
			pos += c;
			if (r == EGD_HTTP_HEAD) {
				CHECK(h.after_head);
				put_head(t, &h, response);
				in_body = true;
				continue;
			}
			if (r != EGD_HTTP_DONE)
				break;
			if (!in_body)
				put_head(t, &h, response);
			puts_(t, ".");
			in_body = false;
			egd_http_next(&h);
			h.no_body = kind == RESP_TO_HEAD;
			if (pos == end)
				break;
		}
		/* MORE means every byte was taken. */
		if (r == EGD_HTTP_MORE)
			CHECK(pos == end);
		from = end;
	}
	if (r == EGD_HTTP_MORE)
		puts_(t, "+");
	else if (r == EGD_HTTP_TOO_LARGE)
		puts_(t, "!L");
	else if (r == EGD_HTTP_TOO_MANY)
		puts_(t, "!N");
	else if (r == EGD_HTTP_ERROR)
		puts_(t, "!");
	if (r >= EGD_HTTP_TOO_LARGE) {
		size_t c = 1;

		/* A refusal is final: the stream cannot be resynchronised. */
		CHECK(egd_http_feed(&h, "GET / HTTP/1.1\r\n\r\n", 18, &c) == r);
		CHECK(c == 0);
		CHECK(egd_http_error(&h) != NULL);
	}
	egd_http_free(&h);
}

/* Where a body is split, the trace shows "][" between the pieces; where
 * the input is refused, how much body went through before depends on the
 * pieces (the verifier then cuts the connection, not answers). */
static void normalize(const char *in, bool refused, char *out, size_t outlen)
{
	size_t o = 0;
	int depth = 0;

	for (size_t i = 0; in[i] != '\0'; i++) {
		if (in[i] == ']' && in[i + 1] == '[' && !refused) {
			i++;
			continue;
		}
		if (refused && in[i] == '[')
			depth++;
		if (depth == 0) {
			CHECK(o + 1 < outlen);
			out[o++] = in[i];
		}
		if (refused && in[i] == ']')
			depth--;
	}
	out[o] = '\0';
}

#define MSG(s) s, sizeof(s) - 1

static const struct row {
	const char *name;
	enum kind kind;
	const char *in;
	size_t len;
	const char *want;
} rows[] = {
	/* Complete heads. */
	{"get", REQ, MSG("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
	 "GET /a{Host:x}."},
	{"http/1.0 without Host", REQ, MSG("GET /a HTTP/1.0\r\n\r\n"),
	 "GET /a."},
	{"absolute form", REQ,
	 MSG("GET http://h/a?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
	 "GET http://h/a?q=1{Host:h}."},
	{"whitespace around values is not part of them", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: \t x \t\r\nX-E:\r\nX-F:  \r\n\r\n"),
	 "GET /a{Host:x}{X-E:}{X-F:}."},
	{"inner whitespace kept", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX-A: a  b\r\n\r\n"),
	 "GET /a{Host:x}{X-A:a  b}."},
	{"obs-text value kept as bytes", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX-A: \xff\xfe\xc3\x28\r\n\r\n"),
	 "GET /a{Host:x}{X-A:\\xff\\xfe\\xc3(}."},
	{"names keep their case", REQ,
	 MSG("GET /a HTTP/1.1\r\nhOsT: x\r\nX-!#$%&'*+-.^_`|~: v\r\n\r\n"),
	 "GET /a{hOsT:x}{X-!#$%&'*+-.^_`|~:v}."},
	{"blank lines before a request", REQ,
	 MSG("\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "GET /a{Host:x}."},
	/* The head is rewritten before it is forwarded, so a bare LF ending
	 * the head cannot reach a backend. */
	{"LF ending the head", REQ, MSG("GET /a HTTP/1.1\r\nHost: x\r\n\n"),
	 "GET /a{Host:x}."},
	/* Bodies. */
	{"Content-Length body", REQ,
	 MSG("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
	 "POST /p{Host:x}{Content-Length:5}[hello]."},
	{"Content-Length 0", REQ,
	 MSG("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
	 "POST /p{Host:x}{Content-Length:0}."},
	{"chunked with an extension and trailers", REQ,
	 MSG("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	     "\r\n3;q=\"a b\"\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: v\r\n"
	     "Y-T: w\r\n\r\n"),
	 "POST /c{Host:x}{Transfer-Encoding:chunked}[3;q=\"a b\"\\x0d\\x0aabc"
	 "\\x0d\\x0aA\\x0d\\x0a0123456789\\x0d\\x0a0\\x0d\\x0aX-T: "
	 "v\\x0d\\x0aY-T: w\\x0d\\x0a\\x0d\\x0a]."},
	{"chunk size with leading zeros", REQ,
	 MSG("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	     "\r\n003\r\nabc\r\n0\r\n\r\n"),
	 "POST /c{Host:x}{Transfer-Encoding:chunked}[003\\x0d\\x0aabc\\x0d"
	 "\\x0a0\\x0d\\x0a\\x0d\\x0a]."},
	{"chunked as the last coding", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
	     "chunked\r\n\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:gzip, "
	 "chunked}[0\\x0d\\x0a\\x0d\\x0a]."},
	/* Pipelining: several messages in one read, each one whole. */
	{"pipelined", REQ,
	 MSG("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: "
	     "x\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: "
	     "x\r\n\r\n"),
	 "GET /1{Host:x}.POST /2{Host:x}{Content-Length:2}[hi].GET "
	 "/3{Host:x}."},
	{"pipelined, chunked then plain", REQ,
	 MSG("POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n1\r\nz\r\n0\r\n\r\nGET /2 HTTP/1.1\r\nHost: "
	     "x\r\n\r\n"),
	 "POST /1{Host:x}{Transfer-Encoding:chunked}[1\\x0d\\x0az\\x0d\\x0a0"
	 "\\x0d\\x0a\\x0d\\x0a].GET /2{Host:x}."},
	{"pipelined, second incomplete", REQ,
	 MSG("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHo"),
	 "GET /1{Host:x}.+"},
	/* Need more: a prefix of a valid message is never an error. */
	{"incomplete head", REQ, MSG("GET /a HTTP/1.1\r\nHost: x\r\n"), "+"},
	{"incomplete body", REQ,
	 MSG("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel"),
	 "POST /p{Host:x}{Content-Length:5}[hel]+"},
	{"incomplete chunked body", REQ,
	 MSG("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n5\r\nab"),
	 "POST /p{Host:x}{Transfer-Encoding:chunked}[5\\x0d\\x0aab]+"},
	/* Upgrade and CONNECT end the HTTP stream: nothing after them is a
	 * request. */
	{"upgrade", REQ,
	 MSG("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: "
	     "websocket\r\n\r\n"),
	 "GET /ws{Host:x}{Connection:Upgrade}{Upgrade:websocket}."},
	{"bytes after an upgrade", REQ,
	 MSG("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: "
	     "websocket\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
	 "GET /ws{Host:x}{Connection:Upgrade}{Upgrade:websocket}.!"},
	{"connect", REQ, MSG("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"),
	 "CONNECT h:443{Host:h:443}."},
	/* Framing a backend could read differently (RFC 9112 6.3, 11.2). */
	{"CL+TE", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "
	     "4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"TE+CL", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"duplicate differing CL", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "
	     "4\r\nContent-Length: 5\r\n\r\nabcde"),
	 "!"},
	{"duplicate equal CL", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "
	     "4\r\nContent-Length: 4\r\n\r\nabcd"),
	 "!"},
	{"CL list", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd"),
	 "!"},
	{"negative CL", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), "!"},
	{"signed CL", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd"),
	 "!"},
	{"CL overflowing 64 bits", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "
	     "99999999999999999999999\r\n\r\n"),
	 "!"},
	{"chunked not last", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
	     "gzip\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"TE without chunked", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "identity\r\n\r\n"),
	 "!"},
	{"TE in HTTP/1.0", REQ,
	 MSG("POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"TE lookalike", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "xchunked\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"chunked twice", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"space before the colon", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : "
	     "chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"space inside a name", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n"), "!"},
	{"empty name", REQ, MSG("GET /a HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n"),
	 "!"},
	{"obs-fold", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"), "!"},
	{"obs-fold with a tab", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n"), "!"},
	{"obs-fold of the first field", REQ,
	 MSG("GET /a HTTP/1.1\r\n Host: x\r\n\r\n"), "!"},
	{"bare CR in a field", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n"), "!"},
	{"bare CR ending the request line", REQ,
	 MSG("GET /a HTTP/1.1\rHost: x\r\n\r\n"), "!"},
	{"bare LF line ends", REQ, MSG("GET /a HTTP/1.1\nHost: x\n\n"), "!"},
	{"NUL in a value", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"), "!"},
	{"control byte in a value", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"), "!"},
	{"NUL in a name", REQ,
	 MSG("GET /a HTTP/1.1\r\nHost: x\r\nX\0A: b\r\n\r\n"), "!"},
	{"NUL in the target", REQ, MSG("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"),
	 "!"},
	{"space in the target", REQ,
	 MSG("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), "!"},
	{"bad method", REQ, MSG("G@T /a HTTP/1.1\r\nHost: x\r\n\r\n"), "!"},
	{"lower-case method", REQ, MSG("get /a HTTP/1.1\r\nHost: x\r\n\r\n"),
	 "!"},
	{"HTTP/0.9 request", REQ, MSG("GET /a\r\n\r\n"), "!"},
	{"HTTP/2.0 in a 1.x head", REQ,
	 MSG("GET /a HTTP/2.0\r\nHost: x\r\n\r\n"), "!"},
	{"HTTP/1.2", REQ, MSG("GET /a HTTP/1.2\r\nHost: x\r\n\r\n"), "!"},
	{"bad chunk size", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"chunk size overflowing 64 bits", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n10000000000000001\r\nabc\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"negative chunk size", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"0x chunk size", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"space after the chunk size", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"chunk longer than its size", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"bare LF after chunk data", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n3\r\nabc\n0\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	{"obs-fold in a trailer", REQ,
	 MSG("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n"),
	 "POST /a{Host:x}{Transfer-Encoding:chunked}!"},
	/* Responses. */
	{"200 with a body", RESP,
	 MSG("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
	 "200 OK{Content-Length:2}[hi]."},
	{"200 without a reason phrase", RESP,
	 MSG("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
	 "200 {Content-Length:0}."},
	{"chunked response", RESP,
	 MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n2;x=y\r\nhi\r\n0\r\nT: 1\r\n\r\n"),
	 "200 OK{Transfer-Encoding:chunked}[2;x=y\\x0d\\x0ahi\\x0d\\x0a0\\x0d"
	 "\\x0aT: 1\\x0d\\x0a\\x0d\\x0a]."},
	{"interim then final", RESP,
	 MSG("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: "
	     "</s>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
	 "100 Continue.103 Early Hints{Link:</s>}.200 "
	 "OK{Content-Length:1}[z]."},
	/* Responses that never have a body, whatever they announce: reading
	 * one would swallow the next response on a kept-alive connection. */
	{"204 with a Content-Length", RESP,
	 MSG("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 "
	     "200 OK\r\nContent-Length: 0\r\n\r\n"),
	 "204 No Content{Content-Length:5}.200 OK{Content-Length:0}."},
	{"304 with a Content-Length", RESP,
	 MSG("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 "
	     "200 OK\r\nContent-Length: 0\r\n\r\n"),
	 "304 Not Modified{Content-Length:10}.200 OK{Content-Length:0}."},
	{"1xx with a Content-Length", RESP,
	 MSG("HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 "
	     "OK\r\nContent-Length: 0\r\n\r\n"),
	 "100 Continue{Content-Length:3}.200 OK{Content-Length:0}."},
	{"responses to HEAD", RESP_TO_HEAD,
	 MSG("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 "
	     "OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	 "200 OK{Content-Length:10}.200 OK{Transfer-Encoding:chunked}."},
	{"body delimited by close", RESP,
	 MSG("HTTP/1.1 200 OK\r\n\r\nuntil close"), "200 OK[until close]+"},
	{"response CL+TE", RESP,
	 MSG("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n0\r\n\r\n"),
	 "!"},
	{"response duplicate CL", RESP,
	 MSG("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: "
	     "2\r\n\r\nab"),
	 "!"},
	{"response obs-fold", RESP,
	 MSG("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
	 "!"},
	{"response space before the colon", RESP,
	 MSG("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nab"), "!"},
	{"bad status code", RESP, MSG("HTTP/1.1 2x0 OK\r\n\r\n"), "!"},
	{"HTTP/2.0 status line", RESP,
	 MSG("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), "!"},
	{"response bad chunk size", RESP,
	 MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n"),
	 "200 OK{Transfer-Encoding:chunked}!"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

START_TEST(test_whole)
{
	const struct row *r = &rows[_i];
	size_t cut = r->len;
	struct trace t;

	drive(r->in, r->len, &cut, 1, r->kind, MAX_BYTES, MAX_HEADERS, &t);
	ck_assert_msg(strcmp(t.s, r->want) == 0, "%s:\n got  %s\n want %s",
		      r->name, t.s, r->want);
}
END_TEST

static bool refused(const char *want)
{
	return strchr(want, '!') != NULL;
}

START_TEST(test_split_everywhere)
{
	const struct row *r = &rows[_i];
	static char want[sizeof(((struct trace *)0)->s)];
	static char got[sizeof(((struct trace *)0)->s)];
	static struct trace t;

	normalize(r->want, refused(r->want), want, sizeof(want));
	for (size_t k = 1; k < r->len; k++) {
		size_t cuts[2] = {k, r->len};

		drive(r->in, r->len, cuts, 2, r->kind, MAX_BYTES, MAX_HEADERS,
		      &t);
		normalize(t.s, refused(r->want), got, sizeof(got));
		if (strcmp(got, want) != 0)
			ck_abort_msg("%s split at %zu:\n got  %s\n want %s",
				     r->name, k, got, want);
	}
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	const struct row *r = &rows[_i];
	static char want[sizeof(((struct trace *)0)->s)];
	static char got[sizeof(((struct trace *)0)->s)];
	static size_t cuts[1024];
	static struct trace t;

	ck_assert_uint_le(r->len, sizeof(cuts) / sizeof(cuts[0]));
	for (size_t k = 0; k < r->len; k++)
		cuts[k] = k + 1;
	drive(r->in, r->len, cuts, r->len, r->kind, MAX_BYTES, MAX_HEADERS, &t);
	normalize(r->want, refused(r->want), want, sizeof(want));
	normalize(t.s, refused(r->want), got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "%s:\n got  %s\n want %s",
		      r->name, got, want);
}
END_TEST

/* Need more and error are told apart: cutting a message that parses short
 * anywhere leaves a parser waiting, never one that refused. */
START_TEST(test_prefix_needs_more)
{
	const struct row *r = &rows[_i];
	struct trace t;

	if (refused(r->want))
		return;
	for (size_t k = 0; k < r->len; k++) {
		drive(r->in, k, &k, 1, r->kind, MAX_BYTES, MAX_HEADERS, &t);
		if (refused(t.s) ||
		    (t.s[t.n - 1] != '+' && t.s[t.n - 1] != '.'))
			ck_abort_msg("%s cut at %zu: %s", r->name, k, t.s);
	}
}
END_TEST

/* A head of `size` bytes exactly: "GET / HTTP/1.1\r\n", Host, one field
 * padded to length with `fill`, and the blank line. */
static size_t make_head(char *buf, size_t size, char fill)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: v";
	size_t n = sizeof(pre) - 1;

	ck_assert_uint_ge(size, n + 4);
	memcpy(buf, pre, n);
	memset(buf + n, fill, size - n - 4);
	if (fill == ' ') /* padding then a byte, so it is not trailing */
		buf[size - 5] = 'v';
	memcpy(buf + size - 4, "\r\n\r\n", 4);
	return size;
}

static enum egd_http_result feed_all(const char *in, size_t len, size_t max,
				     unsigned max_headers, size_t piece)
{
	enum egd_http_result r = EGD_HTTP_MORE;
	struct egd_http h;
	size_t pos = 0, c;

	ck_assert_int_eq(egd_http_init(&h, false, max, max_headers), 0);
	while (pos < len && r == EGD_HTTP_MORE) {
		size_t n = len - pos < piece ? len - pos : piece;

		r = egd_http_feed(&h, in + pos, n, &c);
		pos += c;
	}
	egd_http_free(&h);
	return r;
}

/* The limit is on the head as sent: at the limit a head passes, one byte
 * more is 431, whether the bytes are a value or blank padding, and
 * whatever the read sizes. */
START_TEST(test_head_size_limit)
{
	static const char fills[] = {'a', ' ', '\t'};
	static const size_t pieces[] = {1, 7, 100, 100000};
	char buf[1024];

	for (size_t f = 0; f < sizeof(fills); f++)
		for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]);
		     p++) {
			size_t n = make_head(buf, 300, fills[f]);

			ck_assert_int_eq(feed_all(buf, n, 300, 8, pieces[p]),
					 EGD_HTTP_HEAD);
			n = make_head(buf, 301, fills[f]);
			ck_assert_int_eq(feed_all(buf, n, 300, 8, pieces[p]),
					 EGD_HTTP_TOO_LARGE);
		}
}
END_TEST

START_TEST(test_head_limit_is_per_message)
{
	char buf[2048];
	size_t n = make_head(buf, 300, 'a');
	struct egd_http h;
	size_t pos = 0, c;

	/* Four heads of 300 bytes in one stream, limit 300: each fits. */
	for (int i = 1; i < 4; i++)
		memcpy(buf + (size_t)i * n, buf, n);
	ck_assert_int_eq(egd_http_init(&h, false, 300, 8), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(egd_http_feed(&h, buf + pos, 4 * n - pos, &c),
				 EGD_HTTP_HEAD);
		pos += c;
		ck_assert_int_eq(egd_http_feed(&h, buf + pos, 4 * n - pos, &c),
				 EGD_HTTP_DONE);
		ck_assert_uint_eq(c, 0);
		egd_http_next(&h);
	}
	ck_assert_uint_eq(pos, 4 * n);
	egd_http_free(&h);
}
END_TEST

/* Between keep-alive requests the arena goes back to the pool; in the
 * middle of a head it stays, and the next head parses as before. */
START_TEST(test_release_between_messages)
{
	static const char a[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char b[] = "GET /bb HTTP/1.1\r\nHost: y\r\n\r\n";
	struct egd_http h;
	size_t c;

	ck_assert_int_eq(egd_http_init(&h, false, 256, 8), 0);
	ck_assert_ptr_null(h.arena);
	ck_assert_int_eq(egd_http_feed(&h, a, sizeof(a) - 1, &c),
			 EGD_HTTP_HEAD);
	egd_http_release(&h); /* head parsed, message not over: kept */
	ck_assert_ptr_nonnull(h.arena);
	ck_assert_int_eq(egd_http_feed(&h, a + c, 0, &c), EGD_HTTP_DONE);
	egd_http_next(&h);
	egd_http_release(&h);
	ck_assert_ptr_null(h.arena);
	ck_assert_ptr_null(h.hdr);
	/* Half a head: kept while the rest is awaited. */
	ck_assert_int_eq(egd_http_feed(&h, b, 10, &c), EGD_HTTP_MORE);
	egd_http_release(&h);
	ck_assert_ptr_nonnull(h.arena);
	ck_assert_int_eq(egd_http_feed(&h, b + 10, sizeof(b) - 11, &c),
			 EGD_HTTP_HEAD);
	ck_assert_int_eq(h.url_len, 3);
	ck_assert_int_eq(memcmp(egd_http_str(&h, h.url), "/bb", 3), 0);
	ck_assert_int_eq(egd_http_find(&h, "Host", 0), 0);
	ck_assert_int_eq(memcmp(egd_http_str(&h, h.hdr[0].value), "y", 1), 0);
	egd_http_free(&h);
}
END_TEST

START_TEST(test_long_target)
{
	char buf[1024];
	size_t n;

	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', 600);
	n = 605;
	memcpy(buf + n, " HTTP/1.1\r\nHost: x\r\n\r\n", 22);
	n += 22;
	ck_assert_int_eq(feed_all(buf, n, 512, 8, 1000), EGD_HTTP_TOO_LARGE);
	ck_assert_int_eq(feed_all(buf, n, 1024, 8, 1000), EGD_HTTP_HEAD);
}
END_TEST

static size_t make_fields(char *buf, unsigned fields)
{
	size_t n = (size_t)snprintf(buf, 64, "GET / HTTP/1.1\r\n");

	for (unsigned i = 0; i < fields; i++)
		n += (size_t)snprintf(buf + n, 32, "X-%u: v\r\n", i);
	memcpy(buf + n, "\r\n", 2);
	return n + 2;
}

START_TEST(test_field_count_limit)
{
	char buf[4096];
	size_t n;

	n = make_fields(buf, 8);
	ck_assert_int_eq(feed_all(buf, n, 4096, 8, 3), EGD_HTTP_HEAD);
	n = make_fields(buf, 9);
	ck_assert_int_eq(feed_all(buf, n, 4096, 8, 3), EGD_HTTP_TOO_MANY);
	ck_assert_int_eq(feed_all(buf, n, 4096, 8, 100000), EGD_HTTP_TOO_MANY);
}
END_TEST

/* The body is never copied: after the head the caller relays exactly the
 * bytes the parser consumed, and nothing of the next message. */
START_TEST(test_body_bounds)
{
	static const char in[] =
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
		"3\r\n\r\nabcGET";
	struct egd_http h;
	size_t c, head;

	ck_assert_int_eq(egd_http_init(&h, false, 256, 8), 0);
	ck_assert_int_eq(egd_http_feed(&h, in, sizeof(in) - 1, &c),
			 EGD_HTTP_HEAD);
	head = c;
	ck_assert_int_eq(memcmp(in + head, "abc", 3), 0);
	/* Only part of the body is available: all of it is taken. */
	ck_assert_int_eq(egd_http_feed(&h, in + head, 2, &c), EGD_HTTP_MORE);
	ck_assert_uint_eq(c, 2);
	ck_assert_int_eq(
		egd_http_feed(&h, in + head + 2, sizeof(in) - 1 - head - 2, &c),
		EGD_HTTP_DONE);
	ck_assert_uint_eq(c, 1);
	egd_http_free(&h);
}
END_TEST

/* A bodiless request completes on a zero-byte feed right after its head,
 * so the connection does not wait for bytes that never come. */
START_TEST(test_zero_feed_after_head)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct egd_http h;
	size_t c;

	ck_assert_int_eq(egd_http_init(&h, false, 256, 8), 0);
	ck_assert_int_eq(egd_http_feed(&h, in, sizeof(in) - 1, &c),
			 EGD_HTTP_HEAD);
	ck_assert_uint_eq(c, sizeof(in) - 1);
	ck_assert(h.after_head);
	ck_assert_int_eq(egd_http_feed(&h, in + c, 0, &c), EGD_HTTP_DONE);
	ck_assert_uint_eq(c, 0);
	ck_assert(!h.after_head);
	egd_http_free(&h);
}
END_TEST

static enum egd_http_result eof_after(const char *in, size_t len, bool response)
{
	enum egd_http_result r;
	struct egd_http h;
	size_t pos = 0, c;

	ck_assert_int_eq(egd_http_init(&h, response, 256, 8), 0);
	do {
		r = egd_http_feed(&h, in + pos, len - pos, &c);
		pos += c;
	} while (r == EGD_HTTP_HEAD);
	ck_assert_int_eq(r, EGD_HTTP_MORE);
	r = egd_http_eof(&h);
	egd_http_free(&h);
	return r;
}

START_TEST(test_eof)
{
	/* A response without length ends with the connection... */
	ck_assert_int_eq(
		eof_after(MSG("HTTP/1.1 200 OK\r\n\r\nall of it"), true),
		EGD_HTTP_DONE);
	ck_assert_int_eq(eof_after(MSG("HTTP/1.0 200 OK\r\n\r\n"), true),
			 EGD_HTTP_DONE);
	/* ...any other cut is a truncated message. */
	ck_assert_int_eq(
		eof_after(
			MSG("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"),
			true),
		EGD_HTTP_ERROR);
	ck_assert_int_eq(eof_after(MSG("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
				       "chunked\r\n\r\n5\r\nab"),
				   true),
			 EGD_HTTP_ERROR);
	ck_assert_int_eq(eof_after(MSG("HTTP/1.1 200 OK\r\nContent-Le"), true),
			 EGD_HTTP_ERROR);
	ck_assert_int_eq(eof_after(MSG("GET / HTTP/1.1\r\nHost"), false),
			 EGD_HTTP_ERROR);
	ck_assert_int_eq(
		eof_after(MSG("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
			      "4\r\n\r\nab"),
			  false),
		EGD_HTTP_ERROR);
}
END_TEST

START_TEST(test_find)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: "
				 "2\r\nX-AB: 3\r\nX-A: 4\r\n\r\n";
	struct egd_http h;
	size_t c;
	int i;

	ck_assert_int_eq(egd_http_init(&h, false, 256, 8), 0);
	ck_assert_int_eq(egd_http_feed(&h, in, sizeof(in) - 1, &c),
			 EGD_HTTP_HEAD);
	ck_assert_uint_eq(h.n, 5);
	ck_assert(egd_http_name_is(&h, 0, "host"));
	ck_assert(egd_http_name_is(&h, 0, "HOST"));
	ck_assert(!egd_http_name_is(&h, 0, "hos"));
	ck_assert(!egd_http_name_is(&h, 0, "hosts"));
	ck_assert(!egd_http_name_is(&h, 3, "X-A"));
	i = egd_http_find(&h, "X-A", 0);
	ck_assert_int_eq(i, 1);
	i = egd_http_find(&h, "X-A", (unsigned)i + 1);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(h.hdr[i].value_len, 1);
	ck_assert_int_eq(egd_http_str(&h, h.hdr[i].value)[0], '2');
	i = egd_http_find(&h, "X-A", (unsigned)i + 1);
	ck_assert_int_eq(i, 4);
	ck_assert_int_eq(egd_http_find(&h, "X-A", 5), -1);
	ck_assert_int_eq(egd_http_find(&h, "Content-Length", 0), -1);
	egd_http_free(&h);
}
END_TEST

/* Fields after the head are the trailers; the head's stay where they
 * were. */
START_TEST(test_trailer_fields)
{
	static const char in[] =
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
		"chunked\r\n\r\n1\r\nz\r\n0\r\nT-1: a\r\nT-2: "
		"b\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	struct egd_http h;
	size_t pos = 0, c;

	ck_assert_int_eq(egd_http_init(&h, false, 256, 8), 0);
	ck_assert_int_eq(egd_http_feed(&h, in, sizeof(in) - 1, &c),
			 EGD_HTTP_HEAD);
	pos += c;
	ck_assert_uint_eq(h.n_head, 2);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_int_eq(egd_http_feed(&h, in + pos, sizeof(in) - 1 - pos, &c),
			 EGD_HTTP_DONE);
	pos += c;
	ck_assert_uint_eq(h.n_head, 2);
	ck_assert_uint_eq(h.n, 4);
	ck_assert(egd_http_name_is(&h, 1, "Transfer-Encoding"));
	ck_assert(egd_http_name_is(&h, 2, "T-1"));
	ck_assert(egd_http_name_is(&h, 3, "T-2"));
	ck_assert_int_eq(egd_http_str(&h, h.hdr[3].value)[0], 'b');
	/* The next message starts with no fields at all. */
	egd_http_next(&h);
	ck_assert_int_eq(egd_http_feed(&h, in + pos, sizeof(in) - 1 - pos, &c),
			 EGD_HTTP_HEAD);
	ck_assert_uint_eq(h.n_head, 0);
	ck_assert_uint_eq(h.n, 0);
	egd_http_free(&h);
}
END_TEST

static const struct {
	const char *list;
	const char *token;
	bool want;
} list_rows[] = {
	{"close", "close", true},
	{"Close", "close", true},
	{"keep-alive, close", "close", true},
	{" keep-alive ,\tclose\t ", "close", true},
	{",,close,,", "close", true},
	{"closed", "close", false},
	{"clos", "close", false},
	{"x-close", "close", false},
	{"close-x", "close", false},
	{"", "close", false},
	{",", "close", false},
	{"upgrade, X-Secret", "x-secret", true},
	{"a b, c", "b", false},
	{"a b, c", "a b", true},
};

START_TEST(test_list_has)
{
	const char *l = list_rows[_i].list;
	const char *t = list_rows[_i].token;

	ck_assert_msg(egd_http_list_has(l, strlen(l), t, strlen(t)) ==
			      list_rows[_i].want,
		      "\"%s\" has \"%s\"", l, t);
}
END_TEST

/* The list is hostile bytes with a length, not a C string. */
START_TEST(test_list_has_bounds)
{
	static const char nul[] = "a,\0close";

	ck_assert(egd_http_list_has("close,x", 5, "close", 5));
	ck_assert(!egd_http_list_has("close,x", 4, "close", 5));
	ck_assert(!egd_http_list_has("x,close", 2, "close", 5));
	/* A NUL is a byte of the token, not its end. */
	ck_assert(!egd_http_list_has(nul, sizeof(nul) - 1, "close", 5));
	ck_assert(egd_http_list_has(nul, sizeof(nul) - 1, "\0close", 6));
}
END_TEST

static Suite *http1_suite(void)
{
	Suite *s = suite_create("core_http1");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, test_whole, 0, (int)N_ROWS);
	tcase_add_loop_test(tc, test_split_everywhere, 0, (int)N_ROWS);
	tcase_add_loop_test(tc, test_byte_at_a_time, 0, (int)N_ROWS);
	tcase_add_loop_test(tc, test_prefix_needs_more, 0, (int)N_ROWS);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_head_size_limit);
	tcase_add_test(tc, test_head_limit_is_per_message);
	tcase_add_test(tc, test_release_between_messages);
	tcase_add_test(tc, test_long_target);
	tcase_add_test(tc, test_field_count_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, test_body_bounds);
	tcase_add_test(tc, test_zero_feed_after_head);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_trailer_fields);
	tcase_add_loop_test(tc, test_list_has, 0,
			    (int)(sizeof(list_rows) / sizeof(list_rows[0])));
	tcase_add_test(tc, test_list_has_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(http1_suite());
}
