/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_TESTS_TEST_HELPERS_H
#define EG_TESTS_TEST_HELPERS_H

/*
 * What several Check suites need: main()'s runner, and allocators for
 * eg_set_allocator() that run out of memory on demand.
 */

#include <stddef.h>

#include <check.h>

/* Runs suite `s` (the runner takes ownership of it) with the output
 * CK_VERBOSITY selects, normal by default. Returns the process exit status:
 * EXIT_SUCCESS when every test passed, else EXIT_FAILURE. */
int tu_run(Suite *s);

/* Budget: the first tu_alloc_budget allocations succeed, every later one
 * fails (-1, the default: none fails). Pair with free(). */
extern long tu_alloc_budget;
void *tu_budget_malloc(size_t n);
void *tu_budget_realloc(void *p, size_t n);

/* Nth call: the call numbered tu_fail_at fails (tu_alloc_calls counts them
 * from 1; 0 fails none), and tu_live_blocks counts blocks not yet given to
 * tu_counting_free(), so every out-of-memory exit is checked for leaks
 * without a sanitizer. */
extern unsigned long tu_alloc_calls, tu_fail_at;
extern long tu_live_blocks;
void *tu_failing_malloc(size_t n);
void *tu_failing_realloc(void *old, size_t n);
void tu_counting_free(void *p);
/* Installs those three with eg_set_allocator(), the counters zeroed, to fail
 * call number fail_at (0: none). */
void tu_fail_alloc_at(unsigned long fail_at);

#endif
