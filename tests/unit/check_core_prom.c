/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "core_prom": the Prometheus text both daemons serve on
 * /metrics. Scrapers reject a whole exposition over one bad line, so label
 * values taken from certificates must be escaped, histogram buckets must
 * be cumulative and end in +Inf, and a line longer than any fixed buffer
 * must still come out whole.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/buf.h"
#include "core/prom.h"
#include "core/tls.h"
#include "test_helpers.h"

/* The buffer's bytes as a C string (egd_buf holds no terminator). */
static const char *text(struct egd_buf *b)
{
	ck_assert_int_eq(egd_prom_printf(b, "%c", '\0'), 0);
	return egd_buf_head(b);
}

static const struct {
	const char *in;
	size_t len;
	const char *want;
} label_cases[] = {
	{"plain", 64, "plain"},
	{"CN=a \"b\"", 64, "CN=a \\\"b\\\""},
	{"back\\slash", 64, "back\\\\slash"},
	{"two\nlines", 64, "two\\nlines"},
	{"", 64, ""},
	/* Cut, never in the middle of an escape. */
	{"abcdef", 4, "a"},
	{"\"\"\"\"", 7, "\\\"\\\""},
};

START_TEST(test_label)
{
	char out[64];

	egd_prom_label(out, label_cases[_i].len, label_cases[_i].in);
	ck_assert_str_eq(out, label_cases[_i].want);
}
END_TEST

START_TEST(test_printf_long)
{
	struct egd_buf b = {NULL, 0, 0, 0};
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(egd_prom_printf(&b, "a%sb\n", big), 0);
	ck_assert_int_eq(egd_prom_printf(&b, "%d\n", 7), 0);
	ck_assert_uint_eq(egd_buf_len(&b), strlen(big) + 3 + 2);
	ck_assert_int_eq(memcmp(egd_buf_head(&b) + strlen(big) + 3, "7\n", 2),
			 0);
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_histogram)
{
	static struct egd_histogram h;
	struct egd_buf b = {NULL, 0, 0, 0};
	const char *t;

	egd_histogram_observe(&h, 0.0005); /* le 0.001 */
	egd_histogram_observe(&h, 0.001);  /* bounds are inclusive */
	egd_histogram_observe(&h, 0.2);	   /* le 0.25 */
	egd_histogram_observe(&h, 60);	   /* +Inf only */
	ck_assert_int_eq(egd_prom_histogram(&b, "x_seconds", "X.", &h), 0);
	t = text(&b);
	ck_assert_ptr_nonnull(strstr(t, "# HELP x_seconds X.\n"
					"# TYPE x_seconds histogram\n"
					"x_seconds_bucket{le=\"0.001\"} 2\n"
					"x_seconds_bucket{le=\"0.0025\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "x_seconds_bucket{le=\"0.1\"} 2\n"
					"x_seconds_bucket{le=\"0.25\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "x_seconds_bucket{le=\"10\"} 3\n"
					"x_seconds_bucket{le=\"+Inf\"} 4\n"
					"x_seconds_sum 60.201500\n"
					"x_seconds_count 4\n"));
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_expiry)
{
	struct egd_buf b = {NULL, 0, 0, 0};

	ck_assert_int_eq(egd_prom_expiry(&b, "client", "o\"1", "/e/c.pem",
					 "CN=edge", 1700000000LL),
			 0);
	ck_assert_int_eq(egd_prom_expiry(&b, "ca", NULL, NULL, NULL, 5), 0);
	ck_assert_str_eq(
		text(&b),
		"edgeguard_certificate_expiry_timestamp_seconds{kind="
		"\"client\","
		"origin=\"o\\\"1\",file=\"/e/c.pem\",subject=\"CN=edge\"} "
		"1700000000\n"
		"edgeguard_certificate_expiry_timestamp_seconds{kind=\"ca\","
		"file=\"\",subject=\"\"} 5\n");
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_expiry_creds)
{
	struct egd_tls_creds c = {.cert_not_after = 42};
	struct egd_buf b = {NULL, 0, 0, 0};

	snprintf(c.cert_subject, sizeof(c.cert_subject), "CN=x");
	ck_assert_int_eq(egd_prom_expiry_head(&b, "Expiry."), 0);
	ck_assert_int_eq(egd_prom_creds_expiry(&b, "server", NULL, "s.pem", &c),
			 0);
	ck_assert_str_eq(
		text(&b),
		"# HELP edgeguard_certificate_expiry_timestamp_seconds "
		"Expiry.\n"
		"# TYPE edgeguard_certificate_expiry_timestamp_seconds gauge\n"
		"edgeguard_certificate_expiry_timestamp_seconds{kind="
		"\"server\",file=\"s.pem\",subject=\"CN=x\"} 42\n");
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_reloads)
{
	struct egd_buf b = {NULL, 0, 0, 0};

	egd_prom_reloaded(true);
	egd_prom_reloaded(true);
	egd_prom_reloaded(false);
	ck_assert_int_eq(egd_prom_reloads(&b), 0);
	ck_assert_str_eq(text(&b), "# TYPE edgeguard_reloads_total counter\n"
				   "edgeguard_reloads_total{result=\"ok\"} 2\n"
				   "edgeguard_reloads_total{result=\"error\"} "
				   "1\n");
	egd_buf_free(&b);
}
END_TEST

START_TEST(test_names)
{
	static char storage[3][EGD_PROM_NAME_MAX];
	static struct egd_prom_names t = EGD_PROM_NAMES_INIT(storage, 3);

	ck_assert_uint_eq(egd_prom_name_slot(&t, "a"), 0);
	ck_assert_uint_eq(egd_prom_name_slot(&t, "b"), 1);
	ck_assert_uint_eq(egd_prom_name_slot(&t, "a"), 0);
	/* The last slot gathers every name that no longer fits. */
	ck_assert_uint_eq(egd_prom_name_slot(&t, "c"), 2);
	ck_assert_str_eq(storage[2], "(other)");
	ck_assert_uint_eq(egd_prom_name_slot(&t, "d"), 2);
	ck_assert_uint_eq(egd_prom_names_count(&t), 3);
	ck_assert_str_eq(storage[1], "b");
}
END_TEST

/* A name longer than a slot finds its cut copy again. */
START_TEST(test_long_name)
{
	static char s2[4][EGD_PROM_NAME_MAX];
	static struct egd_prom_names t2 = EGD_PROM_NAMES_INIT(s2, 4);
	char longer[100];

	memset(longer, 'n', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_uint_eq(egd_prom_name_slot(&t2, longer), 0);
	ck_assert_uint_eq(egd_prom_name_slot(&t2, longer), 0);
	ck_assert_uint_eq(egd_prom_names_count(&t2), 1);
	ck_assert_uint_eq(strlen(s2[0]), EGD_PROM_NAME_MAX - 1);
}
END_TEST

static Suite *prom_suite(void)
{
	Suite *s = suite_create("core_prom");
	TCase *tc = tcase_create("render");

	tcase_add_loop_test(tc, test_label, 0,
			    sizeof(label_cases) / sizeof(label_cases[0]));
	tcase_add_test(tc, test_printf_long);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_expiry_creds);
	tcase_add_test(tc, test_reloads);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_long_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(prom_suite());
}
