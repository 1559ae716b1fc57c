/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_POLICY_INTERNAL_H
#define EG_LIB_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <edgeguard/policy.h>

#include "match.h"
#include "trust.h"

struct eg_rule {
	char *name;   /* owned */
	char **hosts; /* normalised host patterns, owned */
	size_t nhosts;
	char **paths; /* normalised path prefixes, owned */
	size_t npaths;
	enum eg_mode mode;
	bool allow_any;		  /* any certificate the trust accepts */
	struct eg_pattern *allow; /* identity patterns: any one admits */
	size_t nallow;
	struct eg_pattern *pins; /* leaf/SPKI pins: one must match */
	size_t npins;
};

struct eg_policy {
	atomic_uint refs;
	struct eg_trust *trust;
	bool require_client_auth_eku;
	struct eg_rule *rules; /* first match wins */
	size_t nrules;
	struct eg_rule default_rule;
};

#endif
