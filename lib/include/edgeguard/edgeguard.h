/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_EDGEGUARD_H
#define EDGEGUARD_EDGEGUARD_H

#include <edgeguard/alloc.h>
#include <edgeguard/audit.h>
#include <edgeguard/error.h>
#include <edgeguard/identity.h>
#include <edgeguard/policy.h>
#include <edgeguard/reason.h>

/* Library version string, from AC_INIT. */
const char *eg_version(void);

#endif
