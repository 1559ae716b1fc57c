/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "core_buf": the bounded byte buffers every connection of the
 * daemons relays through. A buffer that overruns, loses bytes when it
 * slides its data to the front, or reorders them corrupts a proxied
 * stream, so the last test runs a long random workload against a plain
 * model of a FIFO.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/pool.h"
#include "test_helpers.h"

static void assert_holds(const struct egd_buf *b, const char *want)
{
	size_t n = strlen(want);

	ck_assert_uint_eq(egd_buf_len(b), n);
	ck_assert_uint_le(b->end, b->cap);
	ck_assert_uint_le(b->start, b->end);
	ck_assert_int_eq(memcmp(egd_buf_head(b), want, n), 0);
}

/* Initialises *b with capacity cap, holding text. */
static void init_holding(struct egd_buf *b, size_t cap, const char *text)
{
	ck_assert_int_eq(egd_buf_init(b, cap), 0);
	ck_assert(egd_buf_appends(b, text));
}

START_TEST(test_init_free)
{
	struct egd_buf b;

	ck_assert_int_eq(egd_buf_init(&b, 64), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(b.cap, 64);
	ck_assert_uint_eq(egd_buf_len(&b), 0);
	ck_assert_uint_eq(egd_buf_space(&b), 64);
	egd_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
	/* Freed twice and initialised again: connections reuse the slot. */
	egd_buf_free(&b);
	init_holding(&b, 8, "12345678");
	assert_holds(&b, "12345678");
	egd_buf_free(&b);
}
END_TEST

/* Exactly full fits; one byte more is refused and changes nothing. */
START_TEST(test_full)
{
	struct egd_buf b;

	init_holding(&b, 16, "0123456789abcdef");
	assert_holds(&b, "0123456789abcdef");
	ck_assert_uint_eq(egd_buf_space(&b), 0);
	ck_assert(!egd_buf_append(&b, "x", 1));
	assert_holds(&b, "0123456789abcdef");
	ck_assert(egd_buf_append(&b, "", 0));
	egd_buf_consume(&b, 1);
	ck_assert(!egd_buf_append(&b, "xy", 2));
	assert_holds(&b, "123456789abcdef");
	ck_assert(egd_buf_append(&b, "x", 1));
	assert_holds(&b, "123456789abcdefx");
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_consume)
{
	struct egd_buf b;

	init_holding(&b, 16, "hello world");
	egd_buf_consume(&b, 6);
	assert_holds(&b, "world");
	egd_buf_consume(&b, 0);
	assert_holds(&b, "world");
	/* Emptied: the whole capacity is free again at once. */
	egd_buf_consume(&b, 5);
	ck_assert_uint_eq(b.start, 0);
	ck_assert_uint_eq(b.end, 0);
	ck_assert_uint_eq(egd_buf_space(&b), 16);
	ck_assert(egd_buf_appends(&b, "abc"));
	egd_buf_reset(&b);
	ck_assert_uint_eq(egd_buf_len(&b), 0);
	ck_assert_uint_eq(egd_buf_space(&b), 16);
	egd_buf_free(&b);
}
END_TEST

/* Reading into the tail: space() slides the data to the front when the
 * tail is short, and keeps it in order. */
START_TEST(test_tail_compaction)
{
	struct egd_buf b;
	size_t space;

	init_holding(&b, 16, "0123456789ab");
	egd_buf_consume(&b, 10);
	space = egd_buf_space(&b);
	ck_assert_uint_eq(space, 14);
	ck_assert_uint_eq(b.start, 0);
	assert_holds(&b, "ab");
	memcpy(egd_buf_tail(&b), "cdefghijklmnop", 14);
	egd_buf_commit(&b, 14);
	assert_holds(&b, "abcdefghijklmnop");
	ck_assert_uint_eq(egd_buf_space(&b), 0);
	egd_buf_free(&b);
}
END_TEST

/* A long tail is used as it is: no copying while there is room. */
START_TEST(test_no_needless_move)
{
	struct egd_buf b;

	init_holding(&b, 16, "abcd");
	egd_buf_consume(&b, 2);
	ck_assert_uint_eq(egd_buf_space(&b), 12);
	ck_assert_uint_eq(b.start, 2);
	assert_holds(&b, "cd");
	egd_buf_free(&b);
}
END_TEST

/* An append larger than the tail but not than the free bytes uses the gap
 * at the front the half-full rule left. */
START_TEST(test_append_uses_front_gap)
{
	struct egd_buf b;

	init_holding(&b, 16, "abcd");
	egd_buf_consume(&b, 2);
	ck_assert(egd_buf_appends(&b, "efghijklmnopq"));
	assert_holds(&b, "cdefghijklmnopq");
	ck_assert(egd_buf_appends(&b, "r"));
	assert_holds(&b, "cdefghijklmnopqr");
	ck_assert(!egd_buf_appends(&b, "s"));
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
	char big[2048];
	struct egd_buf b;

	ck_assert_int_eq(egd_buf_init(&b, 32), 0);
	ck_assert(egd_buf_printf(&b, "HTTP/1.1 %d %s\r\n", 403, "Forbidden"));
	assert_holds(&b, "HTTP/1.1 403 Forbidden\r\n");
	/* Does not fit: refused whole, nothing half-written. */
	ck_assert(!egd_buf_printf(&b, "%s", "0123456789"));
	assert_holds(&b, "HTTP/1.1 403 Forbidden\r\n");
	ck_assert(egd_buf_printf(&b, "%s", "01234567"));
	ck_assert_uint_eq(egd_buf_len(&b), 32);
	egd_buf_free(&b);

	/* Longer than the formatting scratch: refused, even with room. */
	ck_assert_int_eq(egd_buf_init(&b, 4096), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert(!egd_buf_printf(&b, "%s", big));
	ck_assert_uint_eq(egd_buf_len(&b), 0);
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_reserve)
{
	struct egd_buf b;
	char *before;

	init_holding(&b, 16, "0123456789");
	egd_buf_consume(&b, 4);
	/* Enough free bytes already: nothing moves. */
	before = b.data;
	ck_assert_int_eq(egd_buf_reserve(&b, 10), 0);
	ck_assert_ptr_eq(b.data, before);
	assert_holds(&b, "456789");
	/* Growing keeps the content, at the front. */
	ck_assert_int_eq(egd_buf_reserve(&b, 100), 0);
	ck_assert_uint_ge(b.cap - egd_buf_len(&b), 100);
	ck_assert_uint_eq(b.start, 0);
	assert_holds(&b, "456789");
	for (int i = 0; i < 100; i++)
		ck_assert(egd_buf_append(&b, "z", 1));
	ck_assert_uint_eq(egd_buf_len(&b), 106);
	egd_buf_free(&b);

	/* A freed buffer grows from nothing. */
	ck_assert_int_eq(egd_buf_reserve(&b, 5000), 0);
	ck_assert_uint_ge(b.cap, 5000);
	ck_assert(egd_buf_appends(&b, "x"));
	assert_holds(&b, "x");
	egd_buf_free(&b);
}
END_TEST

/* xorshift: the same workload on every run. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Stream byte number k is (unsigned char)k, so the model FIFO is two
 * counters. */
static bool holds_stream(const struct egd_buf *b, size_t from, size_t n)
{
	const unsigned char *p = (const unsigned char *)egd_buf_head(b);

	if (egd_buf_len(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(from + i))
			return false;
	return true;
}

/* Check's assertions cost a system call each: the hot loop tests plainly
 * and reports the first broken step. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg("step %d: %s", step, #cond);              \
	} while (0)

/* Random reads into the tail, appends and consumes against a model FIFO:
 * bytes come out in the order they went in, none lost or invented, and the
 * buffer never claims more room than its allocation has. */
START_TEST(test_stream_model)
{
	enum { CAP = 97, STEPS = 200000 };
	uint32_t seed = 0x2545f491u + (uint32_t)_i;
	size_t m_head = 0, m_tail = 0;
	unsigned char tmp[CAP + 10];
	struct egd_buf b;

	ck_assert_int_eq(egd_buf_init(&b, CAP), 0);
	for (int step = 0; step < STEPS; step++) {
		uint32_t op = rnd(&seed) % 3;
		size_t n = rnd(&seed) % (CAP + 10);
		size_t space;
		bool fits;

		switch (op) {
		case 0:
			space = egd_buf_space(&b);
			CHECK(space == b.cap - b.end);
			CHECK(egd_buf_len(&b) + space <= CAP);
			if (n > space)
				n = space;
			for (size_t i = 0; i < n; i++)
				egd_buf_tail(&b)[i] = (char)(m_tail + i);
			egd_buf_commit(&b, n);
			m_tail += n;
			break;
		case 1:
			fits = CAP - egd_buf_len(&b) >= n;
			for (size_t i = 0; i < n; i++)
				tmp[i] = (unsigned char)(m_tail + i);
			CHECK(egd_buf_append(&b, tmp, n) == fits);
			if (fits)
				m_tail += n;
			break;
		default:
			if (n > egd_buf_len(&b))
				n = egd_buf_len(&b);
			egd_buf_consume(&b, n);
			m_head += n;
			break;
		}
		CHECK(b.end <= b.cap);
		CHECK(holds_stream(&b, m_head, m_tail - m_head));
	}
	ck_assert_uint_gt(m_head, 1000000);
	egd_buf_free(&b);
}
END_TEST

/* An idle connection's buffers hold no storage: set up, they take it on
 * first use and give it back only when empty, keeping what they hold. */
START_TEST(test_lazy_release)
{
	struct egd_buf b;

	egd_buf_setup(&b, 32);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(egd_buf_room(&b), 32);
	ck_assert(egd_buf_appends(&b, "keep"));
	ck_assert_ptr_nonnull(b.data);
	egd_buf_release(&b); /* not empty: no-op */
	assert_holds(&b, "keep");
	ck_assert_uint_eq(egd_buf_room(&b), 28);
	egd_buf_consume(&b, 4);
	egd_buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 32);
	ck_assert_uint_eq(egd_buf_space(&b), 32);
	ck_assert_ptr_nonnull(b.data);
	ck_assert(egd_buf_appends(&b, "again"));
	assert_holds(&b, "again");
	egd_buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

/* The pool hands a given-back block to the next request of that size on
 * the same thread, and never one of another size. */
START_TEST(test_pool_reuse)
{
	void *a = egd_pool_get(4096);
	void *other;
	void *again;

	ck_assert_ptr_nonnull(a);
	memset(a, 0xab, 4096);
	egd_pool_put(a, 4096);
	other = egd_pool_get(8192);
	ck_assert_ptr_nonnull(other);
	memset(other, 0xcd, 8192); /* must not be `a`: too small */
	again = egd_pool_get(4096);
	ck_assert_ptr_nonnull(again);
#ifndef EGD_POOL_BYPASS
	ck_assert_ptr_eq(again, a);
#endif
	egd_pool_put(again, 4096);
	egd_pool_put(other, 8192);
	egd_pool_put(NULL, 4096);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("core_buf");
	TCase *tc = tcase_create("bounds");

	tcase_add_test(tc, test_init_free);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_consume);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_lazy_release);
	tcase_add_test(tc, test_pool_reuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("compaction");
	tcase_add_test(tc, test_tail_compaction);
	tcase_add_test(tc, test_no_needless_move);
	tcase_add_test(tc, test_append_uses_front_gap);
	tcase_add_loop_test(tc, test_stream_model, 0, 4);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(buf_suite());
}
