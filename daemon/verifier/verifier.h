/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_VERIFIER_VERIFIER_H
#define EG_DAEMON_VERIFIER_VERIFIER_H

/*
 * edgeguard-verifier internals: worker threads (one libev loop each), the
 * client connection state machine, the backend pool and the local
 * responders (403, authorization endpoint, admin).
 */

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>

#include <ev.h>
#include <gnutls/gnutls.h>

#include <edgeguard/edgeguard.h>

#include "core/buf.h"
#include "core/exchange.h"
#include "core/http1.h"
#include "core/stream.h"
#include "core/worker.h"
#include "verifier/vconfig.h"

#define VF_BACKEND_MAGIC 0x56424b31u

enum vf_kind {
	VF_PROXY, /* TLS from the edge, proxied to the backend */
	VF_AUTHZ, /* plain HTTP authorization sub-requests */
	VF_ADMIN, /* plain HTTP /healthz and /metrics */
};

struct vf_worker;

/* An idle or attached backend connection (plain TCP or unix socket). */
struct vf_backend {
	unsigned magic;
	bool connected;	     /* connect finished */
	bool reused;	     /* came from the idle pool */
	int error;	     /* errno of a failed connect, else 0 */
	struct egd_stream s; /* owns the socket */
	ev_io io;
	struct vf_worker *w;   /* borrowed */
	struct vf_conn *owner; /* NULL while idle in the pool */
	struct vf_backend *next;
	ev_tstamp idle_since;
	unsigned cfg_gen; /* configuration generation it was made for */
};

/* A client connection: the core exchange (core/exchange.h) with what the
 * verifier adds, the peer's identity and the backend connection. */
struct vf_conn {
	EGD_EXCH_EMBED(struct vf_worker);
	enum vf_kind kind;
	bool audited_handshake;	  /* handshake-reject mode recorded already */
	LIST_ENTRY(vf_conn) link; /* in the worker's conns */
	struct vf_config *cfg;	  /* held: credentials and limits at accept */
	struct vf_config *pcfg;	  /* held: policy `peer` was verified with */
	struct eg_peer *peer;	  /* owned; NULL until verified */
	struct vf_backend *be;	  /* owned while attached */
};

/* A core worker (core/worker.h: loop, listeners, draining, n_conns)
 * with the verifier's connections and backend pool. */
struct vf_worker {
	EGD_WORKER_EMBED;
	struct vf_config *cfg; /* held: newest config seen */
	unsigned cfg_gen;
	LIST_HEAD(, vf_conn) conns; /* live connections */
	struct vf_backend *idle;    /* pool of idle backend connections */
	unsigned n_idle;
};

/* worker.c: egd_worker_init() with the verifier's callbacks. */
int vf_worker_init(struct vf_worker *w, unsigned id, bool threaded);
/* Closes everything and drops the config held. */
void vf_worker_free(struct vf_worker *w);
/* The worker's current config, refreshed when a new one was published. */
struct vf_config *vf_worker_config(struct vf_worker *w);

static inline void vf_worker_maybe_exit(struct vf_worker *w)
{
	egd_worker_maybe_exit(&w->core);
}

/* conn.c */
void vf_conn_accept(struct vf_worker *w, enum vf_kind kind, int fd,
		    const struct sockaddr *sa, socklen_t salen);
void vf_conn_close(struct vf_conn *c);
static inline void vf_conn_pump(struct vf_conn *c)
{
	egd_exch_pump(&c->x);
}
/* Queues a locally generated response and closes after it when
 * `close`. */
static inline void vf_conn_reply(struct vf_conn *c, int status,
				 const char *ctype, const char *extra_headers,
				 const char *body, bool close)
{
	egd_exch_reply(&c->x, status, ctype, extra_headers, body, close);
}
int vf_tls_verify_cb(gnutls_session_t session);

/* request.c: the head of a proxied request is complete: queues it to the
 * backend, or a local response. */
void vf_request_head(struct vf_conn *c);
/* Decision for connection c under its worker's current config: verifies the
 * peer when needed. host/path as in eg_request. Returns as
 * eg_policy_decide(). */
int vf_decide(struct vf_conn *c, const char *host, const char *path,
	      struct eg_decision *d);
/* The peer's DER chain (borrowed from the session), at most max. */
int vf_peer_chain(struct vf_conn *c, struct eg_der *chain, size_t max,
		  size_t *n);
/* Records one decision in cfg's audit log and the metrics. */
void vf_audit_event(struct vf_config *cfg, const char *component,
		    const char *peer, const char *sni,
		    const struct eg_decision *d, const char *method,
		    const char *host, const char *path);
/* Records one decision in the audit log and metrics. */
void vf_audit(struct vf_conn *c, const char *component,
	      const struct eg_decision *d, const char *method, const char *host,
	      const char *path);

/* request.c: false when the trailer section of the complete request h
 * holds a field that must not travel in one (framing, routing, hop-by-hop,
 * identity). */
bool vf_request_trailers_ok(const struct egd_http *h);

/* backend.c: a connection for c, from the idle pool unless `fresh`; with
 * `peek`, a pooled one is first checked for a close that has arrived (a
 * request that cannot be resent should not find out by losing it). NULL
 * with errno set when a new one cannot be started. */
struct vf_backend *vf_backend_get(struct vf_worker *w, struct vf_conn *c,
				  bool fresh, bool peek);
void vf_backend_release(struct vf_backend *b, bool reusable);
void vf_backend_watch(struct vf_backend *b, int events);
void vf_pool_flush(struct vf_worker *w);

/* authz.c / admin.c: a plain HTTP request is complete. */
void vf_authz_request(struct vf_conn *c);
void vf_admin_request(struct vf_conn *c);

/* idhdr.c: appends the identity headers enabled in cfg for decision d and
 * the peer's chain (leaf first). False when out has no room. */
bool vf_identity_headers(struct egd_buf *out, const struct vf_config *cfg,
			 const struct eg_der *chain, size_t n,
			 const struct eg_decision *d);
/* True when `name` (len bytes) is one of the identity headers, which are
 * stripped from every client request whatever the configuration. */
bool vf_is_identity_header(const char *name, size_t len);

#endif
