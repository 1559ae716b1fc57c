/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/pool.h"

int egd_buf_init(struct egd_buf *b, size_t cap)
{
	b->data = egd_pool_get(cap);
	b->cap = b->data != NULL ? cap : 0;
	b->start = b->end = 0;
	return b->data != NULL ? 0 : -1;
}

void egd_buf_setup(struct egd_buf *b, size_t cap)
{
	b->data = NULL;
	b->cap = cap;
	b->start = b->end = 0;
}

static bool buf_storage(struct egd_buf *b)
{
	if (b->data == NULL && b->cap > 0)
		b->data = egd_pool_get(b->cap);
	return b->data != NULL;
}

void egd_buf_release(struct egd_buf *b)
{
	if (b->start == b->end && b->data != NULL) {
		egd_pool_put(b->data, b->cap);
		b->data = NULL;
		b->start = b->end = 0;
	}
}

void egd_buf_free(struct egd_buf *b)
{
	egd_pool_put(b->data, b->cap);
	b->data = NULL;
	b->cap = b->start = b->end = 0;
}

size_t egd_buf_space(struct egd_buf *b)
{
	if (!buf_storage(b))
		return 0;
	if (b->start == b->end) {
		b->start = b->end = 0;
	} else if (b->start > 0 && b->cap - b->end < b->cap / 2) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return b->cap - b->end;
}

void egd_buf_consume(struct egd_buf *b, size_t n)
{
	b->start += n;
	if (b->start >= b->end)
		b->start = b->end = 0;
}

bool egd_buf_append(struct egd_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return true;
	if (egd_buf_space(b) < n) {
		/* The half-full heuristic may have left a gap at the front. */
		if (b->cap - egd_buf_len(b) < n)
			return false;
		memmove(b->data, b->data + b->start, egd_buf_len(b));
		b->end -= b->start;
		b->start = 0;
	}
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return true;
}

bool egd_buf_appends(struct egd_buf *b, const char *s)
{
	return egd_buf_append(b, s, strlen(s));
}

bool egd_buf_printf(struct egd_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return false;
	return egd_buf_append(b, tmp, (size_t)n);
}

int egd_buf_reserve(struct egd_buf *b, size_t need)
{
	size_t len = egd_buf_len(b);
	size_t cap;
	char *p;

	if (b->cap - len >= need)
		return buf_storage(b) ? 0 : -1;
	cap = b->cap ? b->cap : 4096;
	while (cap - len < need)
		cap *= 2;
	p = egd_pool_get(cap);
	if (p == NULL)
		return -1;
	if (len > 0)
		memcpy(p, b->data + b->start, len);
	egd_pool_put(b->data, b->cap);
	b->data = p;
	b->cap = cap;
	b->start = 0;
	b->end = len;
	return 0;
}
