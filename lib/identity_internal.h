/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_IDENTITY_INTERNAL_H
#define EG_LIB_IDENTITY_INTERNAL_H

#include <gnutls/x509.h>

#include <edgeguard/identity.h>

/* Most subjectAltNames a certificate may carry before it counts as
 * malformed: bounds the work a hostile certificate can cause. */
#define EG_MAX_SAN 1024

/* Extracts the identity of an imported certificate whose DER is `der`.
 * Same contract as eg_identity_from_der(). */
int eg_identity_from_crt(gnutls_x509_crt_t crt, const gnutls_datum_t *der,
			 struct eg_identity **out);

/* Syntax checks shared with the allowlist compiler (match.c). */
bool eg_identity_dns_valid(const char *s, size_t len);
bool eg_identity_email_valid(const char *s, size_t len);
bool eg_identity_uri_valid(const char *s, size_t len);

#endif
