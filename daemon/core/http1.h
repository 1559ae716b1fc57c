/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_HTTP1_H
#define EG_DAEMON_CORE_HTTP1_H

/*
 * HTTP/1.1 message heads parsed by llhttp (strict mode, no lenient flags:
 * CL+TE, duplicate Content-Length, obs-fold, bare CR and bad chunk sizes
 * are errors), plus what llhttp 8.1 lets through and a backend could read
 * differently: field names that are not tokens ("Transfer-Encoding :"),
 * empty names, versions other than 1.0 and 1.1, a request whose last
 * transfer coding is not chunked. Responses that cannot have a body (to
 * HEAD, 1xx, 204, 304) end with their head. The head limit counts the bytes
 * as sent. The head (request-target or status text, and the header fields,
 * values without surrounding whitespace) is copied into a fixed arena
 * sized by the configured limit; the body is never copied: the parser
 * pauses after the head and after the message so the caller can forward
 * the raw body bytes between those points with the framing the parser has
 * validated.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

struct egd_hdr {
	uint32_t name; /* arena offsets; strings are not NUL-terminated */
	uint32_t name_len;
	uint32_t value;
	uint32_t value_len;
};

enum egd_http_result {
	EGD_HTTP_MORE,	    /* all input consumed, message not finished */
	EGD_HTTP_HEAD,	    /* head complete; the body (if any) follows */
	EGD_HTTP_DONE,	    /* message complete */
	EGD_HTTP_TOO_LARGE, /* head exceeds max bytes (431) */
	EGD_HTTP_TOO_MANY,  /* more than max header fields (431) */
	EGD_HTTP_ERROR,	    /* malformed: answer 400 (502 for responses) */
};

#define EGD_HTTP_MAGIC 0x48545031u

struct egd_http {
	unsigned magic;
	llhttp_t parser;
	char *arena; /* owned, cap bytes from the pool, or NULL */
	uint32_t cap;
	uint32_t used;
	struct egd_hdr *hdr; /* owned, max entries from the pool, or NULL */
	unsigned n;
	unsigned n_head; /* fields of the head; those after it are trailers */
	unsigned max;
	uint32_t url; /* request-target (requests) */
	uint32_t url_len;
	uint32_t status; /* reason phrase (responses) */
	uint32_t status_len;
	bool in_value;		/* last callback was a header value */
	bool piece_at_end;	/* last value piece ended its input buffer */
	const char *feed_start; /* input of the current egd_http_feed() */
	const char *feed_end;
	bool head_done;
	bool msg_done;
	bool no_body;	   /* responses: the request was HEAD */
	bool after_head;   /* head returned, not fed since: feed even zero
			      * bytes so a bodiless message completes */
	size_t head_bytes; /* bytes of the current head so far */
	enum egd_http_result overflow; /* 0 or TOO_LARGE / TOO_MANY */
};

/* Prepares a request (`response` false) or response parser with a head
 * limit. The arena is taken from the thread's block pool when a head
 * starts. Returns 0 or -1 (bad limit). */
int egd_http_init(struct egd_http *h, bool response, size_t max_bytes,
		  unsigned max_headers);
/* Between messages (after egd_http_next(), before the next head's first
 * byte), gives the arena back to the pool; otherwise does nothing. */
void egd_http_release(struct egd_http *h);
void egd_http_free(struct egd_http *h);

/* Forgets the current head; the parser continues with the next message
 * (keep-alive, pipelining). */
void egd_http_next(struct egd_http *h);

/*
 * Feeds bytes. *consumed tells how many were parsed: after EGD_HTTP_HEAD
 * they are the head's (the rest starts the body); after EGD_HTTP_DONE they
 * end the message. Call again with the remaining bytes to go on.
 */
enum egd_http_result egd_http_feed(struct egd_http *h, const char *data,
				   size_t len, size_t *consumed);

/* Tells the parser the peer closed: returns EGD_HTTP_DONE when that ends a
 * message delimited by close, else EGD_HTTP_ERROR. */
enum egd_http_result egd_http_eof(struct egd_http *h);

static inline const char *egd_http_str(const struct egd_http *h, uint32_t off)
{
	return h->arena + off;
}

/* Case-insensitive comparison of header i's name with `name`. */
bool egd_http_name_is(const struct egd_http *h, unsigned i, const char *name);

/* Index of the first header named `name` at or after `from`, or -1. */
int egd_http_find(const struct egd_http *h, const char *name, unsigned from);

/* True when the comma-separated `list` (e.g. a Connection value) holds
 * `token`, compared case-insensitively. */
bool egd_http_list_has(const char *list, size_t len, const char *token,
		       size_t tlen);

/* Human reason of the last parse error (static). */
const char *egd_http_error(const struct egd_http *h);

#endif
