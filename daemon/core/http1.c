/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http1.h"
#include "core/pool.h"

static struct egd_http *from_parser(llhttp_t *p)
{
	struct egd_http *h = p->data;

	return h != NULL && h->magic == EGD_HTTP_MAGIC ? h : NULL;
}

/* RFC 9110 5.6.2 tchar. llhttp 8.1 lets SP into a field name ("X A",
 * "Transfer-Encoding : chunked"); a backend that trims it would frame the
 * body differently from us, so such a name is an error here. */
static bool is_tchar(unsigned char ch)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr(extra, ch) != NULL);
}

static int arena_put(struct egd_http *h, const char *at, size_t len)
{
	if (len > h->cap - h->used) {
		h->overflow = EGD_HTTP_TOO_LARGE;
		return -1;
	}
	memcpy(h->arena + h->used, at, len);
	h->used += (uint32_t)len;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL)
		return -1;
	h->used = 0;
	h->n = h->n_head = 0;
	h->url = h->url_len = 0;
	h->status = h->status_len = 0;
	h->in_value = false;
	h->head_done = h->msg_done = false;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL)
		return -1;
	if (h->url_len == 0)
		h->url = h->used;
	if (arena_put(h, at, len) == -1)
		return -1;
	h->url_len += (uint32_t)len;
	return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL)
		return -1;
	if (h->status_len == 0)
		h->status = h->used;
	if (arena_put(h, at, len) == -1)
		return -1;
	h->status_len += (uint32_t)len;
	return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)at[i]))
			return -1;
	/* A field arrives in pieces when a read ends inside it: a new header
	 * starts only after a value (or at the first one). */
	if (h->n == 0 || h->in_value) {
		if (h->n == h->max) {
			h->overflow = EGD_HTTP_TOO_MANY;
			return -1;
		}
		h->hdr[h->n].name = h->used;
		h->hdr[h->n].name_len = 0;
		h->hdr[h->n].value = h->used;
		h->hdr[h->n].value_len = 0;
		h->n++;
		h->in_value = false;
	}
	if (arena_put(h, at, len) == -1)
		return -1;
	h->hdr[h->n - 1].name_len += (uint32_t)len;
	h->hdr[h->n - 1].value = h->used;
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL || h->n == 0)
		return -1;
	/* llhttp accepts obs-fold (RFC 9112 5.2 lets a proxy reject it, and a
	 * backend may unfold differently: a desync risk). A value continues in
	 * a second piece legitimately only when the first piece ended one
	 * input buffer and the second starts the next one. */
	if (h->hdr[h->n - 1].value_len > 0 &&
	    !(h->piece_at_end && at == h->feed_start))
		return -1;
	h->piece_at_end = at + len == h->feed_end;
	h->in_value = true;
	if (arena_put(h, at, len) == -1)
		return -1;
	h->hdr[h->n - 1].value_len += (uint32_t)len;
	return 0;
}

/* llhttp 8.1 takes ": v" as a field with an empty name. */
static int on_header_value_complete(llhttp_t *p)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL || h->n == 0 || h->hdr[h->n - 1].name_len == 0)
		return -1;
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL)
		return -1;
	/* Only HTTP/1.0 and 1.1 heads are re-serialised as 1.x; anything
	 * else (0.9 simple requests, "HTTP/2.0") is not ours to guess. */
	if (llhttp_get_http_major(p) != 1 || llhttp_get_http_minor(p) > 1)
		return -1;
	/* A request with a transfer coding must end in chunked, or it has no
	 * determinable length (RFC 9112 6.3; llhttp says so only after this
	 * callback, and a head reported complete must have a sound framing),
	 * and must be HTTP/1.1: 1.0 has no transfer codings (RFC 9112 6.1),
	 * and a 1.0 hop behind us could take the chunked body for the next
	 * request. */
	if (p->type == HTTP_REQUEST && (p->flags & F_TRANSFER_ENCODING) != 0 &&
	    ((p->flags & F_CHUNKED) == 0 || llhttp_get_http_minor(p) == 0))
		return -1;
	/* Optional whitespace around a value is not part of it (RFC 9110
	 * 5.5); llhttp drops the leading part only. */
	for (unsigned i = 0; i < h->n; i++) {
		const char *v = h->arena + h->hdr[i].value;

		while (h->hdr[i].value_len > 0 &&
		       (v[h->hdr[i].value_len - 1] == ' ' ||
			v[h->hdr[i].value_len - 1] == '\t'))
			h->hdr[i].value_len--;
	}
	h->head_done = true;
	h->n_head = h->n;
	/* Responses to HEAD, 1xx, 204 and 304 have no body whatever their
	 * Content-Length says (RFC 9110 6.4.1); llhttp 8.1 only knows that
	 * when told: its "1" skips the body and the message completes next.
	 * Waiting for those bytes would swallow the next response. */
	if (h->no_body || (p->type == HTTP_RESPONSE &&
			   (p->status_code < 200 || p->status_code == 204 ||
			    p->status_code == 304)))
		return 1;
	return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *p)
{
	struct egd_http *h = from_parser(p);

	if (h == NULL)
		return -1;
	h->msg_done = true;
	/* After an Upgrade or CONNECT llhttp stops on its own with
	 * HPE_PAUSED_UPGRADE; pausing here too would report the end of the
	 * same message twice. */
	if (p->upgrade)
		return 0;
	return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_message_complete = on_message_complete,
};

static size_t hdr_bytes(const struct egd_http *h)
{
	return (h->max ? h->max : 1) * sizeof(*h->hdr);
}

int egd_http_init(struct egd_http *h, bool response, size_t max_bytes,
		  unsigned max_headers)
{
	if (max_bytes == 0 || max_bytes > UINT32_MAX)
		return -1;
	memset(h, 0, sizeof(*h));
	h->magic = EGD_HTTP_MAGIC;
	h->cap = (uint32_t)max_bytes;
	h->max = max_headers;
	llhttp_init(&h->parser, response ? HTTP_RESPONSE : HTTP_REQUEST,
		    &settings);
	h->parser.data = h;
	return 0;
}

/* The arena and the field table are taken when a head starts arriving. */
static int http_storage(struct egd_http *h)
{
	if (h->arena == NULL)
		h->arena = egd_pool_get(h->cap);
	if (h->hdr == NULL)
		h->hdr = egd_pool_get(hdr_bytes(h));
	return h->arena != NULL && h->hdr != NULL ? 0 : -1;
}

void egd_http_release(struct egd_http *h)
{
	if (h->head_done || h->head_bytes > 0)
		return;
	egd_pool_put(h->arena, h->cap);
	egd_pool_put(h->hdr, hdr_bytes(h));
	h->arena = NULL;
	h->hdr = NULL;
}

void egd_http_free(struct egd_http *h)
{
	egd_pool_put(h->arena, h->cap);
	egd_pool_put(h->hdr, hdr_bytes(h));
	h->arena = NULL;
	h->hdr = NULL;
	h->magic = 0;
}

void egd_http_next(struct egd_http *h)
{
	h->head_done = h->msg_done = false;
	h->head_bytes = 0;
	h->no_body = false;
}

enum egd_http_result egd_http_feed(struct egd_http *h, const char *data,
				   size_t len, size_t *consumed)
{
	bool head_was_done = h->head_done;
	llhttp_errno_t e;

	*consumed = 0;
	h->after_head = false;
	if (h->overflow)
		return h->overflow;
	if (llhttp_get_errno(&h->parser) == HPE_PAUSED)
		llhttp_resume(&h->parser);
	else if (llhttp_get_errno(&h->parser) != HPE_OK)
		return EGD_HTTP_ERROR;
	if (len > 0 && http_storage(h) == -1)
		return EGD_HTTP_ERROR;
	h->feed_start = data;
	h->feed_end = data + len;
	e = llhttp_execute(&h->parser, data, len);
	if (e == HPE_OK) {
		*consumed = len;
	} else if (e == HPE_PAUSED) {
		*consumed = (size_t)(llhttp_get_error_pos(&h->parser) - data);
	} else if (e == HPE_PAUSED_UPGRADE) {
		/* Upgrade is stripped before forwarding: the message ends
		 * here and the connection closes after the response. */
		*consumed = (size_t)(llhttp_get_error_pos(&h->parser) - data);
		h->msg_done = true;
	} else {
		return h->overflow ? h->overflow : EGD_HTTP_ERROR;
	}
	/* The arena only holds what the head says; the limit is on what the
	 * peer sent, blank padding and line ends included. */
	if (!head_was_done) {
		h->head_bytes += *consumed;
		if (h->head_bytes > h->cap) {
			h->overflow = EGD_HTTP_TOO_LARGE;
			*consumed = 0;
			return h->overflow;
		}
	}
	if (h->msg_done)
		return EGD_HTTP_DONE;
	if (h->head_done && !head_was_done) {
		h->after_head = true;
		return EGD_HTTP_HEAD;
	}
	return EGD_HTTP_MORE;
}

enum egd_http_result egd_http_eof(struct egd_http *h)
{
	if (llhttp_get_errno(&h->parser) == HPE_PAUSED)
		llhttp_resume(&h->parser);
	/* The end of a close-delimited body runs on_message_complete,
	 * which pauses like at the end of any message. */
	switch (llhttp_finish(&h->parser)) {
	case HPE_OK:
	case HPE_PAUSED:
		return h->msg_done ? EGD_HTTP_DONE : EGD_HTTP_ERROR;
	default:
		return EGD_HTTP_ERROR;
	}
}

bool egd_http_name_is(const struct egd_http *h, unsigned i, const char *name)
{
	size_t len = strlen(name);

	return h->hdr[i].name_len == len &&
	       strncasecmp(h->arena + h->hdr[i].name, name, len) == 0;
}

int egd_http_find(const struct egd_http *h, const char *name, unsigned from)
{
	for (unsigned i = from; i < h->n; i++)
		if (egd_http_name_is(h, i, name))
			return (int)i;
	return -1;
}

bool egd_http_list_has(const char *list, size_t len, const char *token,
		       size_t tlen)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len &&
		       (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		s = i;
		while (i < len && list[i] != ',')
			i++;
		e = i;
		while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e - s == tlen && strncasecmp(list + s, token, tlen) == 0)
			return true;
	}
	return false;
}

const char *egd_http_error(const struct egd_http *h)
{
	if (h->overflow == EGD_HTTP_TOO_LARGE)
		return "header section too large";
	if (h->overflow == EGD_HTTP_TOO_MANY)
		return "too many header fields";
	return llhttp_errno_name(llhttp_get_errno(&h->parser));
}
