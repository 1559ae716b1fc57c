/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the daemons' HTTP/1.1 parser (daemon/core/http1.c), request
 * and response side. The first input byte picks the side, HEAD-request
 * semantics for responses and the limits; the second the piece sizes. The
 * rest is parsed twice, whole and in pieces each copied into its own
 * allocation (so AddressSanitizer sees any read past what was given), and
 * the two runs must agree: where the bytes of a TLS record end must never
 * change what a message means.
 *
 * Invariants checked (abort() on violation):
 *   - consumed never exceeds the input; "need more" consumed all of it;
 *   - a refusal consumes nothing and is final;
 *   - a head lies inside the arena, within the field-count limit;
 *   - whole and piecewise runs see the same completed messages (heads and
 *     body bytes), the same refusal or none, and without a refusal the
 *     same partial message.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t max_bytes[] = {64, 512, 8192, 65536};
static const unsigned max_headers[] = {2, 16, 100, 100};

/* What a run saw: every message's head and body bytes, appended. */
struct seen {
	char *p;
	size_t n, cap;
	size_t done_mark; /* n after the last completed message */
	bool refused;
};

static void add(struct seen *s, const void *p, size_t n)
{
	if (s->n + n + 1 > s->cap) {
		size_t cap = (s->cap + n + 1) * 2;
		char *q = realloc(s->p, cap);

		if (q == NULL)
			abort();
		s->p = q;
		s->cap = cap;
	}
	if (n > 0)
		memcpy(s->p + s->n, p, n);
	s->n += n;
}

static void check_head(const struct egd_http *h, struct seen *s)
{
	static const char mark[] = "\0H";
	uint16_t code = (uint16_t)h->parser.status_code;
	uint8_t method = h->parser.method;

	if (h->n > h->max || h->n_head > h->n || h->used > h->cap ||
	    h->url + (size_t)h->url_len > h->used ||
	    h->status + (size_t)h->status_len > h->used)
		abort();
	add(s, mark, sizeof(mark));
	add(s, &code, sizeof(code));
	add(s, &method, sizeof(method));
	add(s, egd_http_str(h, h->url), h->url_len);
	add(s, egd_http_str(h, h->status), h->status_len);
	for (unsigned i = 0; i < h->n; i++) {
		const struct egd_hdr *f = &h->hdr[i];

		if (f->name + (size_t)f->name_len > h->used ||
		    f->value + (size_t)f->value_len > h->used ||
		    f->name_len == 0)
			abort();
		add(s, "\0N", 2);
		add(s, egd_http_str(h, f->name), f->name_len);
		add(s, "\0V", 2);
		add(s, egd_http_str(h, f->value), f->value_len);
	}
	/* Exercised the way the verifier uses a head. */
	(void)egd_http_find(h, "Host", 0);
	for (int i = egd_http_find(h, "Connection", 0); i != -1;
	     i = egd_http_find(h, "Connection", (unsigned)i + 1))
		(void)egd_http_list_has(egd_http_str(h, h->hdr[i].value),
					h->hdr[i].value_len, "close", 5);
}

/* The trailer fields a chunked message ended with: inside the arena, and
 * the same however the input was cut. */
static void check_trailers(const struct egd_http *h, struct seen *s)
{
	if (h->n > h->max || h->n_head > h->n || h->used > h->cap)
		abort();
	for (unsigned i = h->n_head; i < h->n; i++) {
		const struct egd_hdr *f = &h->hdr[i];

		if (f->name + (size_t)f->name_len > h->used ||
		    f->value + (size_t)f->value_len > h->used ||
		    f->name_len == 0)
			abort();
		add(s, "\0T", 2);
		add(s, egd_http_str(h, f->name), f->name_len);
		add(s, "\0V", 2);
		add(s, egd_http_str(h, f->value), f->value_len);
	}
}

/*
 * Feeds one piece the way a connection does: after a head or a message
 * the remainder is fed again, even when empty. Returns false once the
 * parser refused.
 */
static bool feed_piece(struct egd_http *h, const char *piece, size_t len,
		       bool head_request, bool *in_body, struct seen *s)
{
	size_t pos = 0;

	for (;;) {
		size_t c = (size_t)-1;
		enum egd_http_result r =
			egd_http_feed(h, piece + pos, len - pos, &c);

		if (c > len - pos)
			abort();
		if (r >= EGD_HTTP_TOO_LARGE) {
			size_t again = 1;

			if (c != 0 ||
			    egd_http_feed(h, piece, len, &again) != r ||
			    again != 0 || egd_http_error(h) == NULL)
				abort();
			s->refused = true;
			return false;
		}
		/* Body bytes go in unmarked: pieces must not show. */
		if (*in_body && c > 0)
			add(s, piece + pos, c);
		pos += c;
		switch (r) {
		case EGD_HTTP_MORE:
			if (pos != len)
				abort();
			return true;
		case EGD_HTTP_HEAD:
			if (!h->head_done || !h->after_head || *in_body)
				abort();
			check_head(h, s);
			add(s, "\0B", 2);
			*in_body = true;
			break;
		case EGD_HTTP_DONE:
			if (!h->head_done || !h->msg_done)
				abort();
			if (!*in_body)
				check_head(h, s);
			else
				check_trailers(h, s);
			add(s, "\0D", 2);
			s->done_mark = s->n;
			*in_body = false;
			egd_http_next(h);
			h->no_body = head_request;
			if (pos == len)
				return true;
			break;
		default:
			abort();
		}
	}
}

static void run(const char *in, size_t len, bool response, bool head_request,
		unsigned limit, unsigned piece_seed, struct seen *s)
{
	struct egd_http h;
	bool in_body = false, going = true;
	size_t pos = 0;

	if (egd_http_init(&h, response, max_bytes[limit], max_headers[limit]) !=
	    0)
		abort();
	h.no_body = head_request;
	if (piece_seed == 0) {
		going = feed_piece(&h, in, len, head_request, &in_body, s);
	} else {
		for (unsigned i = 0; going && pos < len; i++) {
			size_t n = (piece_seed * (i + 7u)) % 97u + 1u;
			char *piece;

			if (n > len - pos)
				n = len - pos;
			piece = malloc(n ? n : 1);
			if (piece == NULL)
				abort();
			memcpy(piece, in + pos, n);
			going = feed_piece(&h, piece, n, head_request, &in_body,
					   s);
			free(piece);
			pos += n;
		}
	}
	if (going && in_body) {
		enum egd_http_result r = egd_http_eof(&h);

		if (r != EGD_HTTP_DONE && r != EGD_HTTP_ERROR)
			abort();
	}
	egd_http_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole = {0}, pieces = {0};
	bool response, head_request;
	unsigned limit, seed;
	char *in;
	size_t len;

	if (size < 2)
		return 0;
	response = data[0] & 1;
	head_request = response && (data[0] & 2);
	limit = (data[0] >> 2) & 3;
	seed = data[1] ? data[1] : 1;
	len = size - 2;
	in = malloc(len ? len : 1);
	if (in == NULL)
		abort();
	memcpy(in, data + 2, len);
	run(in, len, response, head_request, limit, 0, &whole);
	run(in, len, response, head_request, limit, seed, &pieces);
	if (whole.refused != pieces.refused ||
	    whole.done_mark != pieces.done_mark ||
	    (whole.done_mark > 0 &&
	     memcmp(whole.p, pieces.p, whole.done_mark) != 0))
		abort();
	if (!whole.refused &&
	    (whole.n != pieces.n ||
	     (whole.n > 0 && memcmp(whole.p, pieces.p, whole.n) != 0)))
		abort();
	free(whole.p);
	free(pieces.p);
	free(in);
	return 0;
}
