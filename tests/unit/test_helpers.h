/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_TESTS_TEST_HELPERS_H
#define EG_TESTS_TEST_HELPERS_H

/*
 * What every Check suite's main() does, in one place.
 */

#include <check.h>

/* Runs suite `s` (the runner takes ownership of it) with the output
 * CK_VERBOSITY selects, normal by default. Returns the process exit status:
 * EXIT_SUCCESS when every test passed, else EXIT_FAILURE. */
int tu_run(Suite *s);

#endif
