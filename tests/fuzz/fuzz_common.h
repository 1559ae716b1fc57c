/* SPDX-License-Identifier: Apache-2.0 */
/* What the fuzz targets share. */
#ifndef EG_FUZZ_COMMON_H
#define EG_FUZZ_COMMON_H

#include <stdlib.h>

#include <edgeguard/edgeguard.h>

/* The policy of `text`, loaded on first use into *slot and kept for the
 * run (FUZZ_CA is the CA bundle the fuzzing build seeds); aborts when it
 * does not load, which would make every input meaningless. */
static inline struct eg_policy *fuzz_policy(struct eg_policy **slot,
					    const char *text)
{
	char err[256];

	if (*slot == NULL && eg_policy_load_string(text, "fuzz", NULL, slot,
						   err, sizeof(err)) != 0)
		abort();
	return *slot;
}

#endif
