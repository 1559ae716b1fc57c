/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_FORWARDER_FORWARDER_H
#define EG_DAEMON_FORWARDER_FORWARDER_H

/*
 * edgeguard-forwarder internals: worker threads (one libev loop each), the
 * inbound HTTP/1.1 connection state machine, origin connections over mutual
 * TLS with a per-worker keep-alive pool per origin, and the admin
 * responder. Every object that comes back through a libev callback's
 * `data` pointer carries a magic number that is checked first.
 */

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <stdio.h>

#include <ev.h>
#include <gnutls/gnutls.h>

#include "core/buf.h"
#include "core/exchange.h"
#include "core/http1.h"
#include "core/stream.h"
#include "core/worker.h"
#include "forwarder/fconfig.h"
#include "forwarder/metrics.h"
#include "forwarder/probe.h"

#define EGF_UP_MAGIC 0x46555031u

enum egf_kind {
	EGF_PROXY, /* plain HTTP from the edge proxy, forwarded to origins */
	EGF_ADMIN, /* plain HTTP /healthz and /metrics */
};

struct egf_worker;
struct egf_conn;

enum egf_up_state { UP_CONNECTING, UP_HANDSHAKING, UP_READY };

/* A TLS connection to one server of an origin: attached to a request, or
 * idle in its worker's pool. */
struct egf_upstream {
	unsigned magic;
	int fd;
	gnutls_session_t tls; /* NULL until the TCP connect completed */
	enum egf_up_state state;
	bool reused;	    /* taken from the pool by its current owner */
	bool answered;	    /* carried at least one complete response */
	bool ticket_kept;   /* its session was kept for resumption */
	bool want_write;    /* the last TLS call blocked on writing */
	bool readable;	    /* may have bytes: reported readable, or not
			     * read dry since (see core/stream.h) */
	size_t tls_pending; /* size of a gnutls_record_send() that hit EAGAIN:
			     * retried with the same size */
	int events;	    /* events io is armed for */
	ev_io io;
	struct egf_worker *w;		 /* borrowed */
	struct egf_conn *owner;		 /* NULL while idle in the pool */
	struct egf_upstream *next;	 /* pool list */
	struct egf_config *cfg;		 /* held */
	struct egf_origin *origin;	 /* borrowed from cfg */
	const struct egf_server *server; /* borrowed from origin */
	ev_tstamp started;		 /* connect, then handshake start */
	ev_tstamp idle_since;
	enum egf_error fail; /* set when a step failed */
	char why[400];	     /* ... and in words */
};

/* A connection from the edge proxy: the core exchange (core/exchange.h)
 * with the forwarder's routing and origin connection. */
struct egf_conn {
	EGD_EXCH_EMBED(struct egf_worker);
	enum egf_kind kind;
	bool stale_retried; /* resent once after a pooled one was closed */
	unsigned attempts;  /* connections tried for this request */
	LIST_ENTRY(egf_conn) link; /* in the worker's conns */
	struct egf_config *cfg;	   /* held: limits at accept */
	struct egf_config *rcfg;   /* held: routes the current request */
	struct egf_origin *origin; /* borrowed from rcfg */
	struct egf_upstream *up;   /* owned while attached */
};

/* Idle origin connections of one origin in one worker. */
struct egf_pool {
	struct egf_upstream *idle; /* newest first */
	unsigned n;
};

/* A core worker (core/worker.h: loop, listeners, draining, n_conns)
 * with the forwarder's connections and origin pools. */
struct egf_worker {
	EGD_WORKER_EMBED;
	ev_timer sweep_timer;	/* closes pooled connections idle too long */
	struct egf_config *cfg; /* held: newest config seen */
	unsigned cfg_gen;
	struct egf_pool *pools;	     /* owned, one per origin of cfg */
	LIST_HEAD(, egf_conn) conns; /* live connections */
};

/* worker.c: egd_worker_init() with the forwarder's callbacks. */
int egf_worker_init(struct egf_worker *w, unsigned id, bool threaded);
/* Closes everything and drops the config held. */
void egf_worker_free(struct egf_worker *w);
/* The worker's current config, refreshed when a new one was published
 * (which empties the pools made for the previous one). Borrowed. */
struct egf_config *egf_worker_config(struct egf_worker *w);

static inline void egf_worker_maybe_exit(struct egf_worker *w)
{
	egd_worker_maybe_exit(&w->core);
}

/* conn.c: takes ownership of fd; `tls`: a TLS listener's connection. */
void egf_conn_accept(struct egf_worker *w, enum egf_kind kind, bool tls, int fd,
		     const struct sockaddr *sa, socklen_t salen);
void egf_conn_close(struct egf_conn *c);
static inline void egf_conn_pump(struct egf_conn *c)
{
	egd_exch_pump(&c->x);
}

/* Queues a locally generated response; closes after it when `close`. */
static inline void egf_conn_reply(struct egf_conn *c, int status,
				  const char *extra_headers, const char *body,
				  bool close)
{
	egd_exch_reply(&c->x, status, NULL, extra_headers, body, close);
}

/* exchange.c: what the exchange with an origin needs of the forwarder
 * (core/exchange.h). */
extern const struct egd_exch_ops egf_exch_ops;
/* The origin connection failed (or none could be started): the request
 * is sent again when allowed, else answered 502/504 and logged with the
 * origin's name and `why`. */
void egf_upstream_failed(struct egf_conn *c, enum egf_error kind,
			 const char *why);
/* A connect, handshake or response deadline passed. */
void egf_upstream_timeout(struct egf_conn *c);
/* The deadline of the origin connection's current phase, or 0. */
ev_tstamp egf_upstream_deadline(const struct egf_conn *c);

/* request.c: the head of a request is complete: queues it for an origin,
 * or a local response. */
void egf_request_head(struct egf_conn *c);
/* Attaches an origin connection for c's request (pooled unless fresh).
 * Returns 0, or -1 with errno when none could be started. */
int egf_request_connect(struct egf_conn *c, bool fresh);

/* upstream.c */
/* A connection to origin o of cfg for c: an idle one from w's pool unless
 * `fresh` (checked for a close that has arrived first with `peek`), else a
 * new connect to the next server. NULL with errno set when a new one
 * cannot be started. */
struct egf_upstream *egf_upstream_get(struct egf_worker *w, struct egf_conn *c,
				      struct egf_config *cfg,
				      struct egf_origin *o, bool fresh,
				      bool peek);
/* Advances connect and handshake: 1 ready, 0 waiting for I/O, -1 failed
 * (u->fail and u->why say why). */
int egf_upstream_step(struct egf_upstream *u);
/* Gives u back: into the pool when reusable and still wanted, else
 * closed. */
void egf_upstream_release(struct egf_upstream *u, bool reusable);
void egf_upstream_watch(struct egf_upstream *u, int events);
void egf_pool_flush(struct egf_worker *w);
/* Closes pooled connections idle longer than their origin allows. */
void egf_pool_sweep(struct egf_worker *w);

/* admin.c: a request to the admin listener is complete. */
void egf_admin_request(struct egf_conn *c);

#endif
