/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_TLS_CLIENT_H
#define EG_DAEMON_CORE_TLS_CLIENT_H

/*
 * Client-side GnuTLS for the daemons that connect to a TLS server with a
 * client certificate (the forwarder, its origin probe): credentials (our
 * certificate chain and key from PEM files or a PKCS#11 URL, the CA bundle
 * that must have issued the server's certificate, a priority string), the
 * server certificate verified by GnuTLS against that bundle and the
 * expected name on every full handshake, and one TLS session kept for
 * resumption, shared by every thread that connects with these credentials.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "core/tls.h"

/* TLS 1.3 and 1.2 only, GnuTLS' curated suites, in our order. */
#define EGD_TLS_CLIENT_DEFAULT_PRIORITY                                        \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct egd_tls_client {
	struct egd_tls_creds creds; /* our client certificate */
	pthread_mutex_t lock;
	gnutls_datum_t resume; /* guarded by lock: gnutls-allocated session
				* data of the last session that had it */
};

/*
 * Loads credentials: cert (PEM chain, leaf first) and key (PEM file or
 * pkcs11: URL) are presented to the server; ca_file (NULL: the system trust
 * store) must have issued the server's certificate; priority NULL means
 * EGD_TLS_CLIENT_DEFAULT_PRIORITY. Returns 0 and *out
 * (free with egd_tls_client_free()), or -1 with a message in err.
 */
int egd_tls_client_new(const char *cert, const char *key, const char *ca_file,
		       const char *priority, struct egd_tls_client **out,
		       char *err, size_t errlen);
/* NULL is a no-op. No session made from cl may outlive it. */
void egd_tls_client_free(struct egd_tls_client *cl);

/*
 * Creates a non-blocking client session on fd: credentials, priority, ALPN
 * http/1.1, SNI `sni` (NULL: none), the server certificate verified against
 * the CA bundle and, unless verify_name is NULL, the name verify_name (a
 * DNS name or an IP address). Both strings are borrowed and must outlive
 * the session. The kept session, if any, is offered for resumption.
 * Returns 0 and *out (gnutls_deinit()), or a negative GnuTLS error.
 */
int egd_tls_client_session(struct egd_tls_client *cl, int fd, const char *sni,
			   const char *verify_name, gnutls_session_t *out);

/*
 * Keeps s's session for later resumption when it has resumption data: at
 * once after a TLS 1.2 handshake, after the server's NewSessionTicket in
 * TLS 1.3 (processed by gnutls_record_recv()). Returns true when kept, so
 * the caller stops asking for this session.
 */
bool egd_tls_client_keep(struct egd_tls_client *cl, gnutls_session_t s);

/* Drops the kept session (the server refused it, or it must not be used
 * again). */
void egd_tls_client_forget(struct egd_tls_client *cl);

/*
 * Explains a failed handshake or receive `ret` on s in words for a log
 * line: the verification status of the server's certificate, the alert the
 * server sent, or GnuTLS' message. Returns buf (always terminated).
 */
const char *egd_tls_client_why(gnutls_session_t s, int ret, char *buf,
			       size_t buflen);

/* True when `ret` means the server's certificate failed verification. */
bool egd_tls_client_verify_failed(int ret);

/* True when `ret` is an alert a server sends when it refuses the client
 * certificate (unknown CA, bad, expired, revoked or missing certificate,
 * access denied). */
bool egd_tls_client_refused(gnutls_session_t s, int ret);

#endif
