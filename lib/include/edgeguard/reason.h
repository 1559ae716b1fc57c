/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_REASON_H
#define EDGEGUARD_REASON_H

/*
 * One reason code per decision. The same string appears in the 403 body,
 * the audit record, `edgeguard check` and metrics, so the names are part of
 * the user-facing contract (DESIGN.md).
 */
enum eg_reason {
	EG_REASON_NONE = 0, /* admitted: nothing to report */
	EG_REASON_NO_CERTIFICATE,
	EG_REASON_UNTRUSTED_ISSUER,
	EG_REASON_EXPIRED,
	EG_REASON_NOT_YET_VALID,
	EG_REASON_REVOKED,
	EG_REASON_BAD_SIGNATURE,
	EG_REASON_MISSING_CLIENT_AUTH_EKU,
	EG_REASON_IDENTITY_NOT_ALLOWED,
	EG_REASON_PIN_MISMATCH,
	EG_REASON_MALFORMED_CERTIFICATE,
	EG_REASON_INTERNAL_ERROR,
	EG_REASON_COUNT
};

/* "no_certificate", ...; "none" for EG_REASON_NONE; "internal_error" for
 * out-of-range values. Static storage. */
const char *eg_reason_name(enum eg_reason r);

/* Parses a reason name; returns -1 when unknown. */
int eg_reason_from_name(const char *name);

/* One line telling an operator how to fix a rejection; static storage. */
const char *eg_reason_remedy(enum eg_reason r);

#endif
