/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <edgeguard/edgeguard.h>

const char *eg_version(void)
{
	return EG_VERSION;
}
