/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include <edgeguard/reason.h>

static const struct {
	const char *name;
	const char *remedy;
} reasons[EG_REASON_COUNT] = {
	[EG_REASON_NONE] = {"none",
			    "nothing to fix: the certificate is admitted"},
	[EG_REASON_NO_CERTIFICATE] =
		{"no_certificate",
		 "the client presented no certificate: configure the edge to "
		 "send its client certificate (e.g. proxy_ssl_certificate, "
		 "edgeguard-forwarder)"},
	[EG_REASON_UNTRUSTED_ISSUER] =
		{"untrusted_issuer",
		 "the chain does not lead to a CA in policy.trust.ca_files: "
		 "issue the certificate from a trusted CA, send the "
		 "intermediates, or add the CA bundle"},
	[EG_REASON_EXPIRED] = {"expired",
			       "the certificate (or a CA above it) is past its "
			       "notAfter date: renew it"},
	[EG_REASON_NOT_YET_VALID] =
		{"not_yet_valid", "the certificate (or a CA above it) is not "
				  "valid yet: check the issuer's and this "
				  "host's clocks, or wait until notBefore"},
	[EG_REASON_REVOKED] =
		{"revoked",
		 "the certificate is revoked, or its CA's CRL is out of date: "
		 "issue a new certificate, or refresh the CRL file"},
	[EG_REASON_BAD_SIGNATURE] =
		{"bad_signature",
		 "a signature in the chain does not verify or uses an insecure "
		 "algorithm: reissue the certificate with SHA-256 or better "
		 "from the real CA"},
	[EG_REASON_MISSING_CLIENT_AUTH_EKU] =
		{"missing_client_auth_eku",
		 "certificate lacks the clientAuth EKU: reissue it with "
		 "extendedKeyUsage=clientAuth"},
	[EG_REASON_IDENTITY_NOT_ALLOWED] =
		{"identity_not_allowed",
		 "no CN/O/OU/SAN of the certificate is in the rule's allow "
		 "list: add its identity to the allow list or issue it with an "
		 "allowed name"},
	[EG_REASON_PIN_MISMATCH] =
		{"pin_mismatch",
		 "the certificate's SHA-256 (or SPKI) fingerprint is not "
		 "pinned: add the new fingerprint to the rule's pins before "
		 "rotating"},
	[EG_REASON_MALFORMED_CERTIFICATE] =
		{"malformed_certificate",
		 "the certificate chain does not parse as X.509: check what "
		 "the client sends (DER, order, length)"},
	[EG_REASON_INTERNAL_ERROR] =
		{"internal_error",
		 "edgeguard could not complete the check (out of memory or a "
		 "GnuTLS failure): see the daemon log"},
};

const char *eg_reason_name(enum eg_reason r)
{
	if ((unsigned)r >= EG_REASON_COUNT)
		r = EG_REASON_INTERNAL_ERROR;
	return reasons[r].name;
}

int eg_reason_from_name(const char *name)
{
	for (int r = 0; r < EG_REASON_COUNT; r++)
		if (strcmp(reasons[r].name, name) == 0)
			return r;
	return -1;
}

const char *eg_reason_remedy(enum eg_reason r)
{
	if ((unsigned)r >= EG_REASON_COUNT)
		r = EG_REASON_INTERNAL_ERROR;
	return reasons[r].remedy;
}
