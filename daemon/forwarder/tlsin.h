/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_FORWARDER_TLSIN_H
#define EG_DAEMON_FORWARDER_TLSIN_H

/*
 * Optional TLS from the edge proxy: the `tls` group of the forwarder's
 * configuration (its own listeners, server certificate, priority string,
 * session ticket key rotation, and optionally a CA whose client
 * certificate the edge proxy must present). The TLS server itself is
 * core/tls.c, the same as the verifier's.
 */

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>
#include <libconfig.h>

#include "core/dcfg.h"
#include "core/net.h"
#include "core/tls.h"

struct egf_tls_in {
	struct egd_addr *listen; /* owned array */
	size_t n_listen;
	char *cert;	 /* owned (eg_free), resolved file name */
	char *key;	 /* owned (eg_free), file name or PKCS#11 URL */
	char *client_ca; /* owned (eg_free); NULL: none asked */
	unsigned ticket_key_rotation_s; /* 0: the first key stays */
	struct egd_tls_server *srv;	/* owned */
};

/*
 * Reads the optional group `tls` of the forwarder group f, loads its
 * credentials and adds their files to `watch`. Returns 0 with *out
 * (NULL when the group is absent; free with egf_tls_in_free()), or a
 * negative error with "file:line: key: message" in err.
 */
int egf_tls_in_load(const config_setting_t *f, const char *dir,
		    struct egd_watch *watch, struct egf_tls_in **out, char *err,
		    size_t errlen);
void egf_tls_in_free(struct egf_tls_in *t);

/* A server session on fd for t (the handshake not started), `ptr` its
 * user pointer. Returns 0 and *out, or a negative GnuTLS error. */
int egf_tls_in_session(const struct egf_tls_in *t, int fd, void *ptr,
		       gnutls_session_t *out);

#endif
