/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_FORWARDER_FCONFIG_H
#define EG_DAEMON_FORWARDER_FCONFIG_H

/*
 * The forwarder's configuration: the `forwarder` group of its file with
 * every origin's TLS credentials loaded. Immutable once built and
 * reference counted (core/dconf.h): workers, requests and origin
 * connections hold references while they use one; SIGHUP builds the next and swaps it in
 * (egf_config_publish()), so new requests use new certificates while
 * connections made with the old ones finish and drain.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/dcfg.h"
#include "core/dconf.h"
#include "core/net.h"
#include "core/tls_client.h"
#include "forwarder/tlsin.h"

struct egf_origin_stats;

struct egf_server {
	struct egd_addr addr;
	char text[300]; /* as configured, "host:port", for log lines */
};

struct egf_origin {
	char *name;   /* owned */
	char **hosts; /* owned array of owned lower-case names */
	size_t n_hosts;
	struct egf_server *servers; /* owned array, resolved at load */
	size_t n_servers;
	char *sni;	   /* owned; NULL: no SNI */
	char *verify_name; /* owned; NULL: chain verified, name not */
	char *cert;	   /* owned, resolved file names */
	char *key;
	char *ca_file;	    /* owned; NULL: system trust store */
	char *priority;	    /* owned; NULL: EGD_TLS_CLIENT_DEFAULT_PRIORITY */
	unsigned pool_size; /* idle connections kept per worker */
	unsigned connect_timeout_ms;
	unsigned handshake_timeout_ms;
	unsigned response_timeout_ms;
	unsigned idle_timeout_ms;   /* pooled connection lifetime when idle */
	unsigned retries;	    /* more attempts on connection failure */
	unsigned index;		    /* position in egf_config.origins */
	atomic_uint next_server;    /* round robin over servers */
	struct egd_tls_client *tls; /* owned */
	struct egf_origin_stats *stats; /* borrowed: process-wide slot */
};

struct egf_limits {
	unsigned header_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned drain_timeout_ms;
	unsigned max_header_bytes;
	unsigned max_headers;
	unsigned max_connections;      /* per worker */
	unsigned handshake_timeout_ms; /* inbound TLS */
};

struct egf_config {
	struct egd_dconf d;	 /* first: workers, admin, user, files */
	struct egd_addr *listen; /* owned array of plain listeners */
	size_t n_listen;
	struct egf_tls_in *tls_in; /* owned; NULL: no TLS listeners */
	struct egf_limits limits;
	struct egf_origin *origins; /* owned array */
	size_t n_origins;
	struct egf_origin *default_origin; /* borrowed from origins; or NULL */
};

static inline struct egf_config *egf_config_of(struct egd_dconf *d)
{
	return d ? (struct egf_config *)(void *)d : NULL;
}

/*
 * Loads `path`. Returns 0 and *out with one reference, or -1 with
 * "file:line: key: message" in err.
 */
int egf_config_load(const char *path, struct egf_config **out, char *err,
		    size_t errlen);

static inline struct egf_config *egf_config_ref(struct egf_config *c)
{
	return egf_config_of(egd_dconf_ref(&c->d));
}

/* Drops a reference; the last one frees everything. NULL is a no-op. */
static inline void egf_config_unref(struct egf_config *c)
{
	egd_dconf_unref(c ? &c->d : NULL);
}

/* The origin named `name` (borrowed from c), or NULL. */
struct egf_origin *egf_config_origin(const struct egf_config *c,
				     const char *name);

/* The origin serving `host` (len bytes, a Host header value: case and a
 * port are ignored), else the default origin, else NULL. Borrowed. */
struct egf_origin *egf_config_route(const struct egf_config *c,
				    const char *host, size_t len);

/* The configuration in force (egd_dconf_current()): a new reference. */
static inline struct egf_config *egf_config_current(void)
{
	return egf_config_of(egd_dconf_current());
}

#endif
