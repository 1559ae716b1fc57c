/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include <edgeguard/edgeguard.h>

#include "test_helpers.h"

int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

long tu_alloc_budget = -1;

/* Whether the next allocation may succeed; spends the budget. */
static bool budget_allows(void)
{
	if (tu_alloc_budget == 0)
		return false;
	if (tu_alloc_budget > 0)
		tu_alloc_budget--;
	return true;
}

void *tu_budget_malloc(size_t n)
{
	return budget_allows() ? malloc(n) : NULL;
}

void *tu_budget_realloc(void *p, size_t n)
{
	return budget_allows() ? realloc(p, n) : NULL;
}

unsigned long tu_alloc_calls, tu_fail_at;
long tu_live_blocks;

void *tu_failing_malloc(size_t n)
{
	void *p;

	if (++tu_alloc_calls == tu_fail_at)
		return NULL;
	p = malloc(n);
	if (p != NULL)
		tu_live_blocks++;
	return p;
}

void *tu_failing_realloc(void *old, size_t n)
{
	void *p;

	if (++tu_alloc_calls == tu_fail_at)
		return NULL;
	p = realloc(old, n);
	if (p != NULL && old == NULL)
		tu_live_blocks++;
	return p;
}

void tu_counting_free(void *p)
{
	if (p != NULL)
		tu_live_blocks--;
	free(p);
}

void tu_fail_alloc_at(unsigned long fail_at)
{
	tu_alloc_calls = 0;
	tu_fail_at = fail_at;
	tu_live_blocks = 0;
	eg_set_allocator(tu_failing_malloc, tu_failing_realloc,
			 tu_counting_free);
}
