/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decisions. eg_peer_verify() does the per-connection work (parse, chain,
 * identity); eg_policy_decide() the per-request work (rule selection,
 * pins, allowlist, mode), which allocates nothing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <edgeguard/error.h>

#include "alloc.h"
#include "identity_internal.h"
#include "match.h"
#include "path.h"
#include "policy_internal.h"
#include "trust.h"

struct eg_peer {
	const struct eg_policy *policy; /* identity only: not referenced */
	struct eg_identity *identity;	/* owned; NULL */
	enum eg_reason reason;		/* chain result */
	/* Sized to its text: an admitted connection keeps its peer for its
	 * lifetime and usually has no detail at all. */
	char detail[];
};

const char *eg_event_name(enum eg_event e)
{
	switch (e) {
	case EG_EVENT_ADMIT:
		return "admit";
	case EG_EVENT_WOULD_REJECT:
		return "would_reject";
	default:
		return "reject";
	}
}

const char *eg_mode_name(enum eg_mode m)
{
	return m == EG_MODE_LOG_ONLY ? "log-only" : "enforce";
}

/* Parses the chain and fills peer->identity and peer->reason, and detail
 * (size bytes) with why it failed. */
static void verify_chain(const struct eg_policy *p, struct eg_peer *peer,
			 const struct eg_der *chain, size_t n, time_t now,
			 char *detail, size_t size)
{
	gnutls_x509_crt_t crts[EG_MAX_CHAIN];
	gnutls_datum_t leaf = {(unsigned char *)chain[0].data,
			       (unsigned)chain[0].len};
	size_t imported = 0;
	int ret;

	if (n > EG_MAX_CHAIN) {
		peer->reason = EG_REASON_MALFORMED_CERTIFICATE;
		snprintf(detail, size, "chain of %zu certificates exceeds %d",
			 n, EG_MAX_CHAIN);
		return;
	}
	for (; imported < n; imported++) {
		gnutls_datum_t d = {(unsigned char *)chain[imported].data,
				    (unsigned)chain[imported].len};

		if (gnutls_x509_crt_init(&crts[imported]) < 0) {
			peer->reason = EG_REASON_INTERNAL_ERROR;
			goto out;
		}
		if (chain[imported].data == NULL || chain[imported].len == 0 ||
		    chain[imported].len > 1024 * 1024 ||
		    gnutls_x509_crt_import(crts[imported], &d,
					   GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[imported]);
			peer->reason = EG_REASON_MALFORMED_CERTIFICATE;
			snprintf(detail, size,
				 "certificate %zu of the chain does not parse "
				 "as X.509 DER",
				 imported + 1);
			goto out;
		}
	}
	ret = eg_identity_from_crt(crts[0], &leaf, &peer->identity);
	if (ret < 0) {
		peer->reason = ret == EG_E_NOMEM
				       ? EG_REASON_INTERNAL_ERROR
				       : EG_REASON_MALFORMED_CERTIFICATE;
		snprintf(detail, size,
			 "leaf certificate fields cannot be read: %s",
			 eg_strerror(ret));
		goto out;
	}
	peer->reason =
		eg_trust_verify(p->trust, crts, n, now,
				p->require_client_auth_eku, detail, size);
	if (peer->reason == EG_REASON_NONE && p->require_client_auth_eku &&
	    !peer->identity->has_client_auth_eku) {
		peer->reason = EG_REASON_MISSING_CLIENT_AUTH_EKU;
		snprintf(detail, size,
			 "leaf has no extendedKeyUsage clientAuth");
	}
out:
	while (imported > 0)
		gnutls_x509_crt_deinit(crts[--imported]);
}

int eg_peer_verify(const struct eg_policy *p, const struct eg_der *chain,
		   size_t n, time_t now, struct eg_peer **out)
{
	struct eg_peer head = {.policy = p};
	char detail[256] = "";
	size_t len;

	*out = NULL;
	if (p == NULL || (n > 0 && chain == NULL))
		return EG_E_INVAL;
	if (n == 0) {
		head.reason = EG_REASON_NO_CERTIFICATE;
		snprintf(detail, sizeof(detail),
			 "the client sent no certificate");
	} else {
		verify_chain(p, &head, chain, n, now, detail, sizeof(detail));
	}
	len = strlen(detail) + 1;
	*out = eg_calloc(1, sizeof(head) + len);
	if (*out == NULL) {
		eg_identity_free(head.identity);
		return EG_E_NOMEM;
	}
	memcpy(*out, &head, sizeof(head));
	memcpy((*out)->detail, detail, len);
	return 0;
}

const struct eg_identity *eg_peer_identity(const struct eg_peer *peer)
{
	return peer ? peer->identity : NULL;
}

enum eg_reason eg_peer_chain_reason(const struct eg_peer *peer)
{
	return peer ? peer->reason : EG_REASON_NO_CERTIFICATE;
}

const char *eg_peer_detail(const struct eg_peer *peer)
{
	return peer ? peer->detail : "";
}

const struct eg_policy *eg_peer_policy(const struct eg_peer *peer)
{
	return peer ? peer->policy : NULL;
}

void eg_peer_free(struct eg_peer *peer)
{
	if (peer == NULL)
		return;
	eg_identity_free(peer->identity);
	eg_free(peer);
}

static bool rule_selects(const struct eg_rule *r, const char *host,
			 const char *path)
{
	bool ok = r->nhosts == 0;

	for (size_t i = 0; !ok && i < r->nhosts; i++)
		ok = host != NULL && eg_match_host(r->hosts[i], host);
	if (!ok)
		return false;
	if (r->npaths == 0)
		return true;
	for (size_t i = 0; i < r->npaths; i++)
		if (eg_path_has_prefix(path, r->paths[i]))
			return true;
	return false;
}

/* Rule for the request, or EG_E_BAD_REQUEST. */
static int select_rule(const struct eg_policy *p, const struct eg_request *req,
		       const struct eg_rule **out)
{
	char path[4096] = "/";
	char *host = NULL;
	int ret;

	*out = &p->default_rule;
	if (p->nrules == 0)
		return 0;
	if (req != NULL && req->path != NULL &&
	    eg_path_normalize(req->path, path, sizeof(path)) < 0)
		return EG_E_BAD_REQUEST;
	if (req != NULL && req->host != NULL && req->host[0] != '\0') {
		ret = eg_match_normalize_host(req->host, &host);
		if (ret == EG_E_NOMEM)
			return ret;
		if (ret < 0)
			return EG_E_BAD_REQUEST;
	}
	for (size_t i = 0; i < p->nrules; i++)
		if (rule_selects(&p->rules[i], host, path)) {
			*out = &p->rules[i];
			break;
		}
	eg_free(host);
	return 0;
}

/* Pins and allowlist of rule r against an identity whose chain verified. */
static enum eg_reason admit_identity(const struct eg_rule *r,
				     const struct eg_identity *id,
				     struct eg_decision *d)
{
	const struct eg_pattern *pin = NULL;

	for (size_t i = 0; i < r->npins && pin == NULL; i++)
		if (eg_match_identity(&r->pins[i], id, NULL))
			pin = &r->pins[i];
	if (r->npins > 0 && pin == NULL) {
		snprintf(d->detail, sizeof(d->detail),
			 "certificate matches none of the %zu pins of rule "
			 "\"%s\"",
			 r->npins, r->name);
		return EG_REASON_PIN_MISMATCH;
	}
	for (size_t i = 0; i < r->nallow; i++)
		if (eg_match_identity(&r->allow[i], id, &d->matched_value)) {
			d->matched = r->allow[i].display;
			d->matched_field =
				eg_match_field_name(r->allow[i].field);
			return EG_REASON_NONE;
		}
	if (r->nallow == 0 && (r->allow_any || pin != NULL)) {
		d->matched = pin ? pin->display : "any";
		d->matched_field =
			pin ? eg_match_field_name(pin->field) : "any";
		return EG_REASON_NONE;
	}
	snprintf(d->detail, sizeof(d->detail),
		 "no name of the certificate is in the allow list of rule "
		 "\"%s\"",
		 r->name);
	return EG_REASON_IDENTITY_NOT_ALLOWED;
}

int eg_policy_decide(const struct eg_policy *p, const struct eg_peer *peer,
		     const struct eg_request *req, struct eg_decision *out)
{
	const struct eg_rule *r;
	int ret;

	memset(out, 0, sizeof(*out));
	if (p == NULL || (peer != NULL && peer->policy != p))
		return EG_E_INVAL;
	ret = select_rule(p, req, &r);
	if (ret == EG_E_NOMEM) {
		r = &p->default_rule;
		out->reason = EG_REASON_INTERNAL_ERROR;
	} else if (ret < 0) {
		return ret;
	}
	out->rule = r->name;
	out->mode = r->mode;
	if (out->reason != EG_REASON_NONE) {
		snprintf(out->detail, sizeof(out->detail), "out of memory");
	} else if (peer == NULL) {
		out->reason = EG_REASON_NO_CERTIFICATE;
		snprintf(out->detail, sizeof(out->detail),
			 "the client sent no certificate");
	} else if (peer->reason != EG_REASON_NONE) {
		out->identity = peer->identity;
		out->reason = peer->reason;
		snprintf(out->detail, sizeof(out->detail), "%s", peer->detail);
	} else {
		out->identity = peer->identity;
		out->reason = admit_identity(r, peer->identity, out);
	}
	if (out->reason == EG_REASON_NONE) {
		out->admit = true;
		out->event = EG_EVENT_ADMIT;
	} else if (r->mode == EG_MODE_LOG_ONLY) {
		out->admit = true;
		out->event = EG_EVENT_WOULD_REJECT;
	} else {
		out->admit = false;
		out->event = EG_EVENT_REJECT;
	}
	return 0;
}
