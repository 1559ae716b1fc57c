/* SPDX-License-Identifier: Apache-2.0 */
/* Check suite "lg_hist": the load generator's latency histogram reports
 * quantiles within its stated precision, never below the true value. */
#include "config.h"

#include <stdlib.h>

#include <check.h>

#include "loadgen.h"

static struct lg_hist *h;

static void setup(void)
{
	h = malloc(sizeof(*h));
	ck_assert_ptr_nonnull(h);
	lg_hist_init(h);
}

static void teardown(void)
{
	free(h);
}

/* Every value lands in a bucket whose top is at or above it and at most
 * 1/64 above it: the histogram's whole precision claim. */
START_TEST(bucket_bounds)
{
	static const uint64_t v[] = {0,
				     1,
				     63,
				     64,
				     65,
				     127,
				     128,
				     1000,
				     1023,
				     1024,
				     123456789,
				     (1ull << 40) + 17,
				     UINT64_MAX - 1,
				     UINT64_MAX};

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		unsigned idx = lg_hist_index(v[i]);
		uint64_t high = lg_hist_bucket_high(idx);

		ck_assert_uint_lt(idx, LG_HIST_BUCKETS);
		ck_assert_uint_ge(high, v[i]);
		ck_assert_uint_le(high - v[i], v[i] / LG_HIST_SUB);
		if (idx > 0)
			ck_assert_uint_lt(lg_hist_bucket_high(idx - 1), v[i]);
	}
}
END_TEST

/* 1..100000 ns: each quantile is the true one or up to 1.6 % above. */
START_TEST(quantiles_uniform)
{
	static const double q[] = {0.5, 0.9, 0.99, 0.999, 1.0};

	for (uint64_t i = 1; i <= 100000; i++)
		lg_hist_record(h, i);
	ck_assert_uint_eq(h->count, 100000);
	ck_assert_uint_eq(h->min, 1);
	ck_assert_uint_eq(h->max, 100000);
	for (size_t i = 0; i < sizeof(q) / sizeof(*q); i++) {
		uint64_t want = (uint64_t)(q[i] * 100000);
		uint64_t got = lg_hist_quantile(h, q[i]);

		ck_assert_uint_ge(got, want);
		ck_assert_uint_le(got, want + want / LG_HIST_SUB);
	}
}
END_TEST

/* A rare slow outlier shows in p999 and max, not in p50 or p99. */
START_TEST(quantiles_outlier)
{
	for (int i = 0; i < 9990; i++)
		lg_hist_record(h, 200000);
	for (int i = 0; i < 10; i++)
		lg_hist_record(h, 50000000);
	ck_assert_uint_le(lg_hist_quantile(h, 0.5), 200000 + 200000 / 64);
	ck_assert_uint_le(lg_hist_quantile(h, 0.99), 200000 + 200000 / 64);
	ck_assert_uint_le(lg_hist_quantile(h, 0.999), 200000 + 200000 / 64);
	ck_assert_uint_ge(lg_hist_quantile(h, 0.9991), 50000000);
	ck_assert_uint_eq(lg_hist_quantile(h, 1.0), 50000000);
}
END_TEST

/* Merging thread histograms equals recording everything in one. */
START_TEST(merge_equals_single)
{
	struct lg_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	lg_hist_init(a);
	lg_hist_init(b);
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t v = (i * 7919) % 1000003;

		lg_hist_record(h, v);
		lg_hist_record(i % 2 ? a : b, v);
	}
	lg_hist_merge(a, b);
	ck_assert_uint_eq(a->count, h->count);
	ck_assert_uint_eq(a->min, h->min);
	ck_assert_uint_eq(a->max, h->max);
	ck_assert_uint_eq(a->sum, h->sum);
	ck_assert_uint_eq(lg_hist_quantile(a, 0.99), lg_hist_quantile(h, 0.99));
	free(a);
	free(b);
}
END_TEST

START_TEST(empty)
{
	ck_assert_uint_eq(lg_hist_quantile(h, 0.5), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lg_hist");
	TCase *tc = tcase_create("hist");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bucket_bounds);
	tcase_add_test(tc, quantiles_uniform);
	tcase_add_test(tc, quantiles_outlier);
	tcase_add_test(tc, merge_equals_single);
	tcase_add_test(tc, empty);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
