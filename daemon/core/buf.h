/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_BUF_H
#define EG_DAEMON_CORE_BUF_H

/*
 * A bounded byte buffer: data lives in [start, end) of a fixed allocation;
 * the free space is at the tail and is recovered by sliding the data to the
 * front when the tail is short. The capacity is fixed when the buffer is
 * set up; the storage may come later, on first use, from the thread's
 * block pool (core/pool.h), and go back there while the buffer is empty, so
 * an idle connection holds only the struct.
 */

#include <stdbool.h>
#include <stddef.h>

struct egd_buf {
	char *data; /* owned, cap bytes from egd_pool_get(), or NULL */
	size_t cap;
	size_t start; /* first unread byte */
	size_t end;   /* one past the last byte */
};

/* Allocates cap bytes. Returns 0 or -1 (out of memory). */
int egd_buf_init(struct egd_buf *b, size_t cap);
/* Sets the capacity; the storage is taken when bytes first go in. */
void egd_buf_setup(struct egd_buf *b, size_t cap);
/* Gives the storage back when the buffer is empty; it stays usable. */
void egd_buf_release(struct egd_buf *b);
/* Releases the allocation; the buffer may be init'ed again. */
void egd_buf_free(struct egd_buf *b);

static inline size_t egd_buf_len(const struct egd_buf *b)
{
	return b->end - b->start;
}

static inline const char *egd_buf_head(const struct egd_buf *b)
{
	return b->data + b->start;
}

/* Bytes that would fit, compacted, without taking storage: for deciding
 * whether to wait for input. */
static inline size_t egd_buf_room(const struct egd_buf *b)
{
	return b->cap - egd_buf_len(b);
}

/* Free bytes at the tail, after compacting when that gains room; takes
 * the storage if the buffer has none (0 when that fails). */
size_t egd_buf_space(struct egd_buf *b);
/* Where the next bytes go; valid for egd_buf_space() bytes. Call
 * egd_buf_space() first: it may compact the buffer and move the tail. */
static inline char *egd_buf_tail(struct egd_buf *b)
{
	return b->data + b->end;
}
static inline void egd_buf_commit(struct egd_buf *b, size_t n)
{
	b->end += n;
}
void egd_buf_consume(struct egd_buf *b, size_t n);
static inline void egd_buf_reset(struct egd_buf *b)
{
	b->start = b->end = 0;
}

/* Appends n bytes; returns false (nothing appended) when they do not fit. */
bool egd_buf_append(struct egd_buf *b, const void *p, size_t n);
bool egd_buf_appends(struct egd_buf *b, const char *s);
/* printf-style append; false when the result does not fit. */
bool egd_buf_printf(struct egd_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Grows the capacity to hold at least `need` more bytes (for locally built
 * responses whose size is not bounded by the peer). Returns 0 or -1. */
int egd_buf_reserve(struct egd_buf *b, size_t need);

#endif
