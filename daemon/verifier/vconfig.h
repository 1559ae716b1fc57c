/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_VERIFIER_VCONFIG_H
#define EG_DAEMON_VERIFIER_VCONFIG_H

/*
 * The verifier's whole configuration: the `verifier` group plus the
 * library's `policy` and `audit` groups of the same file, with everything
 * loaded (TLS credentials, policy, audit log). Immutable once built and
 * reference counted (core/dconf.h): workers hold references while they
 * use one, SIGHUP builds the next and swaps it in (vf_config_current()).
 */

#include <stdbool.h>
#include <stddef.h>

#include <edgeguard/edgeguard.h>

#include "core/dcfg.h"
#include "core/dconf.h"
#include "core/net.h"
#include "core/tls.h"

struct vf_identity_headers {
	bool identity;		/* X-Edge-Client-Identity */
	bool verify;		/* X-Edge-Client-Verify */
	bool client_cert;	/* Client-Cert (RFC 9440) */
	bool client_cert_chain; /* Client-Cert-Chain (RFC 9440) */
	bool xfcc;		/* X-Forwarded-Client-Cert (Envoy) */
};

struct vf_limits {
	unsigned handshake_timeout_ms;
	unsigned header_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned backend_connect_timeout_ms;
	unsigned backend_response_timeout_ms;
	unsigned drain_timeout_ms;
	unsigned max_header_bytes;
	unsigned max_headers;
	unsigned max_connections; /* per worker */
};

struct vf_config {
	struct egd_dconf d;	 /* first: workers, admin, user, files */
	struct egd_addr *listen; /* owned array */
	size_t n_listen;
	char *cert; /* owned (eg_free), resolved file names */
	char *key;
	char *priority; /* owned; NULL: EGD_TLS_DEFAULT_PRIORITY */
	bool reject_at_handshake;
	unsigned ticket_key_rotation_s;
	struct egd_addr backend;
	char backend_text[128];
	struct vf_identity_headers hdr;
	struct vf_limits limits;
	bool authz_enabled;
	struct egd_addr authz;
	char *authz_header;		   /* owned */
	struct egd_tls_server *tls;	   /* owned */
	struct eg_policy *policy;	   /* one reference */
	struct eg_audit_config *audit_cfg; /* owned */
	struct eg_audit_log *audit;	   /* owned; NULL when not opened */
};

static inline struct vf_config *vf_config_of(struct egd_dconf *d)
{
	return d ? (struct vf_config *)(void *)d : NULL;
}

/*
 * Loads `path`. `verify` becomes the TLS certificate verify function.
 * With open_audit false (config test) the audit log is not opened.
 * Returns 0 and *out with one reference, or -1 with
 * "file:line: key: message" in err.
 */
int vf_config_load(const char *path, bool open_audit,
		   gnutls_certificate_verify_function *verify,
		   struct vf_config **out, char *err, size_t errlen);

static inline struct vf_config *vf_config_ref(struct vf_config *c)
{
	return vf_config_of(egd_dconf_ref(&c->d));
}

/* Drops a reference; the last one frees everything. NULL is a no-op. */
static inline void vf_config_unref(struct vf_config *c)
{
	egd_dconf_unref(c ? &c->d : NULL);
}

/* The configuration in force (egd_dconf_current()): a new reference. */
static inline struct vf_config *vf_config_current(void)
{
	return vf_config_of(egd_dconf_current());
}

#endif
