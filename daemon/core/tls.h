/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_TLS_H
#define EG_DAEMON_CORE_TLS_H

/*
 * Server-side GnuTLS for the daemons: credentials (certificate chain and
 * key from PEM files or a PKCS#11 URL, priority string), non-blocking
 * sessions with ALPN http/1.1 and session tickets whose master key is
 * shared by every worker (so a ticket resumes on any of them) and rotated.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>

/* Safe default: TLS 1.3 and 1.2 only, GnuTLS' curated suites. */
#define EGD_TLS_DEFAULT_PRIORITY                                               \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

/* What server and client credentials have alike: our certificate chain
 * and key, the leaf's notAfter and subject, and a priority cache. */
struct egd_tls_creds {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	time_t cert_not_after;	/* leaf notAfter of our certificate */
	char cert_subject[256]; /* leaf subject DN, for metrics labels */
};

/*
 * Allocates c->cred with the PEM chain `cert` (leaf first) and `key` (a
 * PEM file or a pkcs11: URL) and reads the leaf's notAfter and subject;
 * `what` names the certificate in messages ("certificate"). Returns 0,
 * or -1 with a message in err; c keeps what was made until
 * egd_tls_creds_clear().
 */
int egd_tls_creds_load(struct egd_tls_creds *c, const char *what,
		       const char *cert, const char *key, char *err,
		       size_t errlen);
/* Builds c->prio from `priority`, or `dflt` when it is NULL. Returns 0, or
 * -1 with the position of the error in err. */
int egd_tls_creds_priority(struct egd_tls_creds *c, const char *priority,
			   const char *dflt, char *err, size_t errlen);
/* Frees what c holds, not c. */
void egd_tls_creds_clear(struct egd_tls_creds *c);

/*
 * Creates a non-blocking session on fd with gnutls_init() `flags` (plus
 * GNUTLS_NONBLOCK and GNUTLS_NO_SIGNAL), c's priority and credentials,
 * ALPN http/1.1 with `alpn_flags`, no handshake timeout. Returns 0 and
 * *out (gnutls_deinit()), or a negative GnuTLS error.
 */
int egd_tls_creds_session(const struct egd_tls_creds *c, unsigned flags,
			  unsigned alpn_flags, int fd, gnutls_session_t *out);

struct egd_tls_server {
	struct egd_tls_creds creds;
};

/*
 * Loads credentials. ca_files (may be empty) only fill the CA names of the
 * CertificateRequest; `verify` is installed as the certificate verify
 * function (the caller decides, GnuTLS never does). Returns 0 and *out
 * (free with egd_tls_server_free()), or -1 with a message in err.
 */
int egd_tls_server_new(const char *cert, const char *key, const char *priority,
		       const char *const *ca_files, size_t n_ca,
		       gnutls_certificate_verify_function *verify,
		       struct egd_tls_server **out, char *err, size_t errlen);
void egd_tls_server_free(struct egd_tls_server *srv);

/* Reads the first certificate of the PEM file `cert` (a chain, leaf
 * first): its notAfter into *not_after and its subject DN into `subject`
 * (always terminated; "" when it cannot be printed). Returns 0, or -1 with
 * a message naming the file in err. */
int egd_tls_leaf_info(const char *cert, time_t *not_after, char *subject,
		      size_t subject_len, char *err, size_t errlen);

/* Process-wide ticket master key. egd_tls_tickets_rotate() generates a new
 * one (call at start and periodically); returns 0 or a GnuTLS error. */
int egd_tls_tickets_rotate(void);
void egd_tls_tickets_clear(void);

/*
 * Creates a non-blocking server session on fd: credentials, priority, ALPN
 * http/1.1, tickets, client certificate requested (required when
 * `require_cert`), `ptr` retrievable with gnutls_session_get_ptr().
 * Returns 0 and *out (gnutls_deinit()), or a negative GnuTLS error.
 */
int egd_tls_session_new(const struct egd_tls_server *srv, int fd,
			bool require_cert, void *ptr, gnutls_session_t *out);

/* `key` (a file name or a pkcs11: URL) as it may be logged: a URL's query
 * (pin-value, pin-source) is replaced by "?...". Returns buf. */
const char *egd_tls_key_shown(const char *key, char *buf, size_t buflen);

/* The SNI the client sent, or "" (always terminated); s may be NULL. */
void egd_tls_sni(gnutls_session_t s, char *buf, size_t buflen);

#endif
