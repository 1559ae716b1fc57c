/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "path": request-target normalisation for rule selection. A
 * path that slips past a "/admin" rule by spelling it differently is a
 * policy bypass, so every spelling here must land on the same string.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <edgeguard/error.h>

#include "path.h"
#include "test_helpers.h"

/* want == NULL: the target must be refused with EG_E_BAD_REQUEST. */
static const struct {
	const char *target;
	const char *want;
} norm_rows[] = {
	{"/", "/"},
	{"/a/b", "/a/b"},
	{"/a/b/", "/a/b/"},
	{"/a/../b", "/b"},
	{"/a/./b", "/a/b"},
	{"/a/b/..", "/a/"},
	{"/a/b/.", "/a/b/"},
	{"/a/b/../../..", "/"},
	{"//a//b", "/a/b"},
	{"///", "/"},
	{"/%61dmin", "/admin"},
	{"/%41DMIN", "/ADMIN"},
	/* A decoded slash becomes a separator: "/a%2fb" selects "/a/b" rules
	 * just as a backend that decodes before routing would see it. */
	{"/a%2fb", "/a/b"},
	{"/a%2Fb", "/a/b"},
	{"/a/%2e%2e/b", "/b"},
	{"/a/%2E%2E/b", "/b"},
	{"/a/.%2e/b", "/b"},
	{"/a/%2e/b", "/a/b"},
	{"/%2e%2e/admin", "/admin"},
	{"/public/..%2fadmin", "/admin"},
	{"/public/%2e%2e%2fadmin", "/admin"},
	{"/../..", "/"},
	{"/../admin", "/admin"},
	{"/a?x=../y", "/a"},
	{"/a#f", "/a"},
	{"/a?x#f", "/a"},
	{"/a/..?x", "/"},
	{"/?", "/"},
	{"http://h/x/../y", "/y"},
	{"https://h.example:8443/admin?x", "/admin"},
	{"http://h", "/"},
	{"http://h?q", "/"},
	{"HTTP://H/A", "/A"},
	{"*", "/"},
	/* Decoded once only: "%252e" is the literal text "%2e", not a dot. */
	{"/%252e%252e/admin", "/%2e%2e/admin"},
	{"/a%2525", "/a%25"},
	{"/.../x", "/.../x"},
	{"/..a/x", "/..a/x"},
	{"/a./x", "/a./x"},
	{"/%ff%fe", "/\xff\xfe"},
	{"%00", NULL},
	{"/%00", NULL},
	{"/a%00b", NULL},
	{"/%zz", NULL},
	{"/%g0", NULL},
	{"/%0g", NULL},
	{"/%4", NULL},
	{"/%", NULL},
	{"/a%", NULL},
	{"", NULL},
	{"a/b", NULL},
	{"admin", NULL},
	{"?x", NULL},
	{"http:/x", NULL},
	{"**", NULL},
	/* absolute-form needs a scheme right at the start */
	{"x?y://h/admin", NULL},
	{"/x", "/x"},
	{"1http://h/admin", NULL},
	{"://h/admin", NULL},
};

#define N_NORM (sizeof(norm_rows) / sizeof(norm_rows[0]))

START_TEST(test_normalize_table)
{
	const char *target = norm_rows[_i].target;
	const char *want = norm_rows[_i].want;
	char buf[512];
	int n;

	memset(buf, 'X', sizeof(buf));
	n = eg_path_normalize(target, buf, sizeof(buf));
	if (want == NULL) {
		ck_assert_msg(n == EG_E_BAD_REQUEST,
			      "row %d \"%s\": got %d (\"%s\"), want "
			      "EG_E_BAD_REQUEST",
			      _i, target, n, n >= 0 ? buf : "");
		return;
	}
	ck_assert_msg(n >= 0, "row %d \"%s\": error %d, want \"%s\"", _i,
		      target, n, want);
	ck_assert_msg(strcmp(buf, want) == 0,
		      "row %d \"%s\": got \"%s\", want \"%s\"", _i, target, buf,
		      want);
	ck_assert_msg((size_t)n == strlen(want),
		      "row %d \"%s\": returned length %d, want %zu", _i, target,
		      n, strlen(want));
}
END_TEST

/* Normalising a normalised path changes nothing (except the one case where
 * the output holds a '%' that would be decoded again, see %252e above). */
START_TEST(test_normalize_idempotent)
{
	for (size_t i = 0; i < N_NORM; i++) {
		char once[512], twice[512];

		if (norm_rows[i].want == NULL ||
		    strchr(norm_rows[i].want, '%') != NULL)
			continue;
		ck_assert_int_ge(eg_path_normalize(norm_rows[i].target, once,
						   sizeof(once)),
				 0);
		ck_assert_int_ge(eg_path_normalize(once, twice, sizeof(twice)),
				 0);
		ck_assert_msg(strcmp(once, twice) == 0,
			      "\"%s\" -> \"%s\" -> \"%s\"", norm_rows[i].target,
			      once, twice);
	}
}
END_TEST

static char *repeat(const char *head, const char *unit, size_t times)
{
	size_t hl = strlen(head), ul = strlen(unit);
	char *s = malloc(hl + ul * times + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < times; i++)
		memcpy(s + hl + i * ul, unit, ul);
	s[hl + ul * times] = '\0';
	return s;
}

START_TEST(test_overlong)
{
	char buf[16384];
	char small[8];
	char *huge = repeat("/", "a", 20000);
	char *huge_dots = repeat("", "/..", 10000);
	char *too_long = repeat("/", "b", 7);

	/* Longer than any path the library considers: refused, not cut. */
	ck_assert_int_eq(eg_path_normalize(huge, buf, sizeof(buf)),
			 EG_E_BAD_REQUEST);
	/* The limit applies to the input, even when the result is short. */
	ck_assert_int_eq(eg_path_normalize(huge_dots, buf, sizeof(buf)),
			 EG_E_BAD_REQUEST);
	/* A result one byte too long for the caller's buffer is refused. */
	ck_assert_int_eq(eg_path_normalize(too_long, small, sizeof(small)),
			 EG_E_BAD_REQUEST);
	ck_assert_int_eq(eg_path_normalize("/bbbbb", small, sizeof(small)), 6);
	ck_assert_str_eq(small, "/bbbbb");
	ck_assert_int_eq(eg_path_normalize("/", small, 1), EG_E_BAD_REQUEST);
	free(too_long);
	free(huge_dots);
	free(huge);
}
END_TEST

/* Long but acceptable: a few thousand bytes still normalise exactly. */
START_TEST(test_long_ok)
{
	char buf[8192];
	char *target = repeat("", "/seg/../x", 400);
	int n = eg_path_normalize(target, buf, sizeof(buf));
	char *want = repeat("", "/x", 400);

	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert_str_eq(buf, want);
	free(want);
	free(target);
}
END_TEST

static const struct {
	const char *path;
	const char *prefix;
	bool want;
} prefix_rows[] = {
	{"/admin", "/admin", true},
	{"/admin/", "/admin", true},
	{"/admin/x", "/admin", true},
	{"/admin/x/y", "/admin", true},
	{"/administrator", "/admin", false},
	{"/admin.php", "/admin", false},
	{"/adm", "/admin", false},
	{"/", "/admin", false},
	{"/x/admin", "/admin", false},
	{"/Admin", "/admin", false},
	{"/", "/", true},
	{"/anything", "/", true},
	{"/a/b", "/a/b", true},
	{"/a/bc", "/a/b", false},
	{"/a/b/c", "/a/b", true},
	{"/a", "/a/b", false},
};

START_TEST(test_has_prefix_table)
{
	const char *path = prefix_rows[_i].path;
	const char *prefix = prefix_rows[_i].prefix;

	ck_assert_msg(eg_path_has_prefix(path, prefix) == prefix_rows[_i].want,
		      "row %d: has_prefix(\"%s\", \"%s\") should be %s", _i,
		      path, prefix, prefix_rows[_i].want ? "true" : "false");
}
END_TEST

/* Every spelling of the admin area selects the "/admin" prefix once
 * normalised; none of the look-alikes does. */
START_TEST(test_spellings_of_admin)
{
	static const char *const in[] = {
		"/admin",
		"/admin/",
		"/%61dmin/x",
		"//admin",
		"/./admin",
		"/public/../admin",
		"/public/%2e%2e/admin",
		"/x/..%2fadmin",
		"/admin?x=/public",
		"http://h/admin#frag",
	};
	static const char *const out[] = {
		"/administrator",
		"/public/admin",
		"/%2561dmin",
		"/adm%69n_",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_int_ge(eg_path_normalize(in[i], buf, sizeof(buf)), 0);
		ck_assert_msg(eg_path_has_prefix(buf, "/admin"),
			      "\"%s\" -> \"%s\" escapes the /admin rule", in[i],
			      buf);
	}
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		ck_assert_int_ge(eg_path_normalize(out[i], buf, sizeof(buf)),
				 0);
		ck_assert_msg(!eg_path_has_prefix(buf, "/admin"),
			      "\"%s\" -> \"%s\" wrongly selects /admin", out[i],
			      buf);
	}
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("normalize");

	tcase_add_loop_test(tc, test_normalize_table, 0, (int)N_NORM);
	tcase_add_test(tc, test_normalize_idempotent);
	tcase_add_test(tc, test_overlong);
	tcase_add_test(tc, test_long_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("prefix");
	tcase_add_loop_test(
		tc, test_has_prefix_table, 0,
		(int)(sizeof(prefix_rows) / sizeof(prefix_rows[0])));
	tcase_add_test(tc, test_spellings_of_admin);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(path_suite());
}
