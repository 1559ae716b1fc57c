/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_MATCH_H
#define EG_LIB_MATCH_H

/*
 * Allowlist patterns: compiled once at load, matched read-only by every
 * worker. Matching is exact by default, with three deliberate exceptions:
 * DNS names compare case-insensitively (trailing dot ignored) and
 * `*.example.com` matches exactly one label; URI patterns whose last
 * segment is `*` match on a path boundary; IP patterns may be CIDR prefixes. A name the
 * identity extractor flagged as not well formed never matches.
 */

#include <stdbool.h>
#include <stddef.h>

#include <edgeguard/identity.h>

enum eg_field {
	EG_FIELD_CN,
	EG_FIELD_O,
	EG_FIELD_OU,
	EG_FIELD_DNS,
	EG_FIELD_URI,
	EG_FIELD_IP,
	EG_FIELD_EMAIL,
	EG_FIELD_SHA256,
	EG_FIELD_SPKI_SHA256,
	EG_FIELD_COUNT
};

struct eg_pattern {
	enum eg_field field;
	char *display; /* "dns:*.example.com", owned */
	char *value;   /* normalised text (DNS lowercase, no trailing
				 * dot, wildcard label removed; URI prefix
				 * with its trailing '/'), owned */
	size_t len;
	bool wildcard; /* DNS "*.rest", or URI prefix (last segment "*") */
	unsigned char bytes[32]; /* IP address or SHA-256 pin */
	unsigned ip_len;	 /* 4 or 16 */
	unsigned prefix_bits;	 /* CIDR prefix length */
};

/* Config key for a field ("cn", "dns", "spki_sha256", ...). */
const char *eg_match_field_name(enum eg_field f);

/*
 * Compiles `text` as a pattern for field f. Returns 0, EG_E_NOMEM, or
 * EG_E_CONFIG with the reason in why (e.g. "wildcard must be the whole
 * leftmost label").
 */
int eg_match_compile(enum eg_field f, const char *text, struct eg_pattern *out,
		     char *why, size_t whylen);

/* Releases what eg_match_compile() allocated. */
void eg_match_clear(struct eg_pattern *p);

/*
 * True when the identity carries a name matching p. *value (may be NULL) is
 * set to the certificate's matching name (borrowed from id), or NULL for
 * pins.
 */
bool eg_match_identity(const struct eg_pattern *p, const struct eg_identity *id,
		       const struct eg_str **value);

/*
 * Request host selection: `pattern` is a normalised host pattern (lowercase,
 * optionally "*." + suffix); `host` a normalised host. Exact, or one label
 * for a wildcard.
 */
bool eg_match_host(const char *pattern, const char *host);

/* Lowercases, strips ":port" and a trailing dot, IDNA-maps non-ASCII names
 * into *out (caller frees with eg_free()). Returns 0, EG_E_NOMEM, or
 * EG_E_CONFIG/EG_E_PARSE when the name is not a valid host. */
int eg_match_normalize_host(const char *host, char **out);

#endif
