/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check suite "reason": the reason codes are user-facing (403 body, audit
 * record, `edgeguard check`, metrics), so their names are pinned here to the
 * list in DESIGN.md, not to whatever reason.c happens to contain.
 */
#include "config.h"

#include <string.h>

#include <check.h>

#include <edgeguard/reason.h>

#include "test_helpers.h"

/* DESIGN.md "Policy semantics", in enum order. */
static const struct {
	enum eg_reason reason;
	const char *name;
} design_names[] = {
	{EG_REASON_NO_CERTIFICATE, "no_certificate"},
	{EG_REASON_UNTRUSTED_ISSUER, "untrusted_issuer"},
	{EG_REASON_EXPIRED, "expired"},
	{EG_REASON_NOT_YET_VALID, "not_yet_valid"},
	{EG_REASON_REVOKED, "revoked"},
	{EG_REASON_BAD_SIGNATURE, "bad_signature"},
	{EG_REASON_MISSING_CLIENT_AUTH_EKU, "missing_client_auth_eku"},
	{EG_REASON_IDENTITY_NOT_ALLOWED, "identity_not_allowed"},
	{EG_REASON_PIN_MISMATCH, "pin_mismatch"},
	{EG_REASON_MALFORMED_CERTIFICATE, "malformed_certificate"},
	{EG_REASON_INTERNAL_ERROR, "internal_error"},
};

#define N_DESIGN (sizeof(design_names) / sizeof(design_names[0]))

START_TEST(test_design_names)
{
	enum eg_reason r = design_names[_i].reason;
	const char *want = design_names[_i].name;

	ck_assert_msg(strcmp(eg_reason_name(r), want) == 0,
		      "reason %d: name \"%s\", DESIGN.md says \"%s\"", (int)r,
		      eg_reason_name(r), want);
	ck_assert_msg(eg_reason_from_name(want) == (int)r,
		      "from_name(\"%s\") = %d, want %d", want,
		      eg_reason_from_name(want), (int)r);
}
END_TEST

/* Eleven rejection codes plus "none": a new enum value must be added to
 * DESIGN.md (and to the table above) on purpose. */
START_TEST(test_count_matches_design)
{
	ck_assert_uint_eq(N_DESIGN, 11);
	ck_assert_int_eq(EG_REASON_COUNT, N_DESIGN + 1);
	ck_assert_str_eq(eg_reason_name(EG_REASON_NONE), "none");
	ck_assert_int_eq(eg_reason_from_name("none"), EG_REASON_NONE);
}
END_TEST

START_TEST(test_names_distinct_and_remedies_present)
{
	for (int a = 0; a < EG_REASON_COUNT; a++) {
		const char *name = eg_reason_name((enum eg_reason)a);
		const char *remedy = eg_reason_remedy((enum eg_reason)a);

		ck_assert_msg(name != NULL && name[0] != '\0',
			      "reason %d has no name", a);
		ck_assert_msg(remedy != NULL && strlen(remedy) >= 10,
			      "reason %d (%s) has no real remedy", a, name);
		ck_assert_msg(strchr(remedy, '\n') == NULL,
			      "remedy of %s is not one line", name);
		/* Names go into metrics labels and the 403 body verbatim. */
		for (const char *c = name; *c != '\0'; c++)
			ck_assert_msg((*c >= 'a' && *c <= 'z') || *c == '_',
				      "name \"%s\" has character '%c'", name,
				      *c);
		for (int b = 0; b < a; b++) {
			ck_assert_msg(
				strcmp(name,
				       eg_reason_name((enum eg_reason)b)) != 0,
				"reasons %d and %d share name %s", a, b, name);
			ck_assert_msg(
				strcmp(remedy, eg_reason_remedy(
						       (enum eg_reason)b)) != 0,
				"reasons %d and %d share a remedy", a, b);
		}
	}
}
END_TEST

START_TEST(test_round_trip)
{
	for (int r = 0; r < EG_REASON_COUNT; r++)
		ck_assert_int_eq(
			eg_reason_from_name(eg_reason_name((enum eg_reason)r)),
			r);
}
END_TEST

START_TEST(test_out_of_range)
{
	static const int bad[] = {EG_REASON_COUNT, EG_REASON_COUNT + 1, 1000,
				  -1, -1000};
	const char *ie_remedy = eg_reason_remedy(EG_REASON_INTERNAL_ERROR);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(strcmp(eg_reason_name((enum eg_reason)bad[i]),
				     "internal_error") == 0,
			      "name(%d) = %s", bad[i],
			      eg_reason_name((enum eg_reason)bad[i]));
		ck_assert_msg(eg_reason_remedy((enum eg_reason)bad[i]) ==
				      ie_remedy,
			      "remedy(%d) is not internal_error's", bad[i]);
	}
}
END_TEST

START_TEST(test_unknown_names)
{
	static const char *const unknown[] = {
		"",	    "Expired",	      "EXPIRED",
		"expired ", " expired",	      "expire",
		"expiredx", "no-certificate", "identity_not_allowed\n",
		"internal", "reason",
	};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		ck_assert_msg(eg_reason_from_name(unknown[i]) == -1,
			      "from_name(\"%s\") = %d, want -1", unknown[i],
			      eg_reason_from_name(unknown[i]));
}
END_TEST

static Suite *reason_suite(void)
{
	Suite *s = suite_create("reason");
	TCase *tc = tcase_create("names");

	tcase_add_loop_test(tc, test_design_names, 0, (int)N_DESIGN);
	tcase_add_test(tc, test_count_matches_design);
	tcase_add_test(tc, test_names_distinct_and_remedies_present);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_unknown_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(reason_suite());
}
