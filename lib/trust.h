/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_TRUST_H
#define EG_LIB_TRUST_H

/*
 * Trust: CA bundles and CRLs in a GnuTLS trust list, plus what GnuTLS does
 * not give us per call: verification at an injected time and the
 * reject/grace treatment of expired CRLs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/x509.h>
#include <libconfig.h>

#include <edgeguard/policy.h>
#include <edgeguard/reason.h>

/* Longest chain a peer may present. */
#define EG_MAX_CHAIN 16

struct eg_trust;

/*
 * Loads the `trust` group (ca_files, crl_files, crl_expired). Relative
 * names resolve against base_dir. Returns 0 and *out (eg_trust_free()), or
 * EG_E_CONFIG / EG_E_NOMEM with "file:line: key: message" in err.
 */
int eg_trust_load(const config_setting_t *group, const char *base_dir,
		  struct eg_trust **out, char *err, size_t errlen);

void eg_trust_free(struct eg_trust *t);

const struct eg_trust_item *eg_trust_items(const struct eg_trust *t,
					   size_t *count);

/*
 * Verifies chain[0..n) (leaf first, any order after it) at time `now`.
 * Returns the reason (EG_REASON_NONE when the chain is good) and a human
 * detail in detail. Never fails open.
 */
enum eg_reason eg_trust_verify(const struct eg_trust *t,
			       gnutls_x509_crt_t *chain, size_t n, time_t now,
			       bool require_client_auth, char *detail,
			       size_t dlen);

#endif
