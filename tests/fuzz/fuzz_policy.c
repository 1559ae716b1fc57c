/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: policy configuration text (libconfig + every pattern
 * compiler). Any input must load or fail with a message, never crash. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <edgeguard/edgeguard.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_policy *p = NULL;
	char err[512];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (eg_policy_load_string(text, "fuzz.conf", "/nonexistent", &p, err,
				  sizeof(err)) == 0)
		eg_policy_unref(p);
	free(text);
	return 0;
}
