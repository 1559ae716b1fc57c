/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_POLICY_H
#define EDGEGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <edgeguard/identity.h>
#include <edgeguard/reason.h>

/*
 * A policy is the parsed `policy` section of a configuration file: trust
 * (CA bundles, CRLs), the default rule and the per-host / per-path rules.
 * It is immutable once loaded and reference counted, so one policy can be
 * shared read-only by every worker thread while a reload builds the next.
 */
struct eg_policy;

/*
 * Loads the `policy` group of the libconfig file at `path` (other top-level
 * groups are ignored: they belong to the daemon that owns the file).
 * Relative file names inside are resolved against the file's directory.
 * Returns 0 and *out with one reference, or EG_E_CONFIG / EG_E_IO /
 * EG_E_NOMEM with "file:line: key: message" in err (always terminated).
 */
int eg_policy_load_file(const char *path, struct eg_policy **out, char *err,
			size_t errlen);

/* As eg_policy_load_file() for text in memory; `name` is used in messages
 * and `base_dir` resolves relative file names (NULL: current directory). */
int eg_policy_load_string(const char *text, const char *name,
			  const char *base_dir, struct eg_policy **out,
			  char *err, size_t errlen);

/* Takes one more reference; returns p. Thread-safe. */
struct eg_policy *eg_policy_ref(struct eg_policy *p);

/* Drops one reference, freeing the policy with the last; NULL is a no-op. */
void eg_policy_unref(struct eg_policy *p);

/* Certificates and CRLs the policy loaded, for expiry metrics and `check`. */
enum eg_trust_item_kind { EG_TRUST_CA, EG_TRUST_CRL };

struct eg_trust_item {
	enum eg_trust_item_kind kind;
	const char *file;    /* file it came from */
	const char *subject; /* CA subject DN, or CRL issuer DN */
	time_t expires;	     /* CA notAfter, or CRL nextUpdate (0: none) */
};

/* Borrowed array valid while the caller holds a reference to p. */
const struct eg_trust_item *eg_policy_trust_items(const struct eg_policy *p,
						  size_t *count);

/* How an expired CRL is treated: reject every certificate under that CA
 * (default, fail closed) or keep using the stale CRL. */
enum eg_crl_expired { EG_CRL_EXPIRED_REJECT, EG_CRL_EXPIRED_GRACE };

/* ------------------------------------------------------------------------ */

/* One DER certificate; chains are arrays, leaf first. Borrowed. */
struct eg_der {
	const unsigned char *data;
	size_t len;
};

/*
 * The result of verifying a peer's chain against a policy's trust: done once
 * per TLS connection (also for resumed sessions), reused for every request on
 * that connection as long as the same policy is in force.
 */
struct eg_peer;

/*
 * Verifies `chain` (leaf first; n == 0 means the peer sent no certificate)
 * at time `now` against p's trust, and extracts the leaf's identity.
 * Never fails open: on any error the peer records a rejection reason
 * (malformed_certificate, internal_error, ...). Returns 0 and *out (caller
 * frees with eg_peer_free()), or EG_E_NOMEM / EG_E_INVAL without *out.
 */
int eg_peer_verify(const struct eg_policy *p, const struct eg_der *chain,
		   size_t n, time_t now, struct eg_peer **out);

/* The leaf identity, or NULL (no or malformed certificate). Borrowed. */
const struct eg_identity *eg_peer_identity(const struct eg_peer *peer);

/* EG_REASON_NONE when the chain verified, else why not. */
enum eg_reason eg_peer_chain_reason(const struct eg_peer *peer);

/* Human detail of the chain result ("" when none). Borrowed. */
const char *eg_peer_detail(const struct eg_peer *peer);

/* The policy the peer was verified with (identity comparison only). */
const struct eg_policy *eg_peer_policy(const struct eg_peer *peer);

/* Frees a peer; NULL is a no-op. */
void eg_peer_free(struct eg_peer *peer);

/* ------------------------------------------------------------------------ */

/* What the request asked for; every field may be NULL. */
struct eg_request {
	/* Host header or SNI; port and trailing dot ignored */
	const char *host;
	/* request-target as received; query ignored */
	const char *path;
};

enum eg_event { EG_EVENT_ADMIT, EG_EVENT_REJECT, EG_EVENT_WOULD_REJECT };

enum eg_mode { EG_MODE_ENFORCE, EG_MODE_LOG_ONLY };

/* "admit" / "reject" / "would_reject"; "enforce" / "log-only". */
const char *eg_event_name(enum eg_event e);
const char *eg_mode_name(enum eg_mode m);

struct eg_decision {
	bool admit;	     /* the verdict to enforce */
	enum eg_event event; /* admit, reject, or would_reject (log-only) */
	/* NONE on a clean admit; the (would-be) rejection reason otherwise */
	enum eg_reason reason;
	enum eg_mode mode; /* mode of the rule that decided */
	const char *rule;  /* rule name; borrowed from the policy */
	/* Allowlist entry that admitted, e.g. "dns:*.edge.example.net";
	 * NULL if none. Borrowed from the policy. */
	const char *matched;
	/* "cn", "o", "ou", "dns", "uri", "ip", "email", "sha256",
	 * "spki_sha256", "any"; NULL if none. Static. */
	const char *matched_field;
	/* The certificate's value that matched (IP as text; NULL for
	 * pins/any). Borrowed from the peer. */
	const struct eg_str *matched_value;
	const struct eg_identity *identity; /* borrowed from the peer; NULL */
	/* Operator-facing explanation; never send it to an unauthenticated
	 * client. */
	char detail[256];
};

/*
 * Decides one request. `peer` is NULL when there was no TLS client
 * certificate at all, else it must come from eg_peer_verify() with the same
 * policy. Rule selection: the first rule whose hosts and path prefixes match
 * the request, else the default rule. Fail closed: every error that is not
 * the caller's is a rejection with reason internal_error.
 * Returns 0 with *out filled, EG_E_BAD_REQUEST when the policy has rules
 * and req->host is not a valid host name or req->path cannot be normalised
 * (bad percent-encoding, %00): the caller should answer 400. EG_E_INVAL when peer belongs to
 * another policy.
 */
int eg_policy_decide(const struct eg_policy *p, const struct eg_peer *peer,
		     const struct eg_request *req, struct eg_decision *out);

/* True when some rule of p depends on host or path, so a connection's
 * decision must be repeated per request rather than cached. */
bool eg_policy_varies_by_request(const struct eg_policy *p);

#endif
