/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_EXCHANGE_H
#define EG_DAEMON_CORE_EXCHANGE_H

/*
 * A client connection of either daemon and the HTTP/1.1 exchanges it
 * carries: the pump that reads, parses, relays and writes until nothing
 * moves, the request and response state machines, keep-alive, lingering
 * close, local answers and the client side of the timer. What differs
 * between the daemons comes through struct egd_exch_ops: how the request
 * head is rewritten and where it goes, the connection to the next hop
 * (plain backend or TLS origin), what a failure is counted and logged as.
 *
 * A daemon's connection embeds the members with EGD_EXCH_EMBED, so its
 * code reads c->cout while the core functions take &c->x (the same bytes,
 * as with EGD_WORKER_EMBED).
 */

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <ev.h>
#include <gnutls/gnutls.h>

#include "core/buf.h"
#include "core/http1.h"
#include "core/stream.h"
#include "core/worker.h"

/* Request: reading the head, relaying the body, complete. */
enum egd_rq { RQ_HEAD, RQ_BODY, RQ_DONE };
/* Response: none yet, waiting for the next hop's head, head parsed and
 * waiting for room in cout, relaying the body, complete. */
enum egd_rs { RS_NONE, RS_WAIT, RS_HEADOUT, RS_BODY, RS_DONE };

/* How the next hop failed the exchange, as the exchange sees it. */
enum egd_exch_error {
	EGD_EX_CLOSED,	  /* closed before a byte of the answer */
	EGD_EX_TRUNCATED, /* closed in the middle of the response head */
	EGD_EX_INVALID,	  /* unparsable response */
	EGD_EX_SWITCHED,  /* 101 to a request whose Upgrade was removed */
};

struct egd_exch;

struct egd_exch_ops {
	/* NULL, or what else a failed client TLS handshake (GnuTLS error
	 * `ret`) is recorded as. */
	void (*handshake_failed)(struct egd_exch *x, int ret);
	/* A proxied request's head is complete (rs is RS_WAIT): queue the
	 * rewritten head in bout and attach a next-hop connection, or answer
	 * locally (egd_exch_reply()). */
	void (*request_head)(struct egd_exch *x);
	/* A request answered locally (not proxied) is complete. */
	void (*request_done)(struct egd_exch *x);
	/* NULL, or false when the trailers of the complete request h must
	 * not be relayed. */
	bool (*trailers_ok)(const struct egd_http *h);
	/* Moves bytes between bout/bin and the next hop. Returns 1 on
	 * progress (a failure counts), else 0. */
	int (*upstream_io)(struct egd_exch *x);
	/* The next hop failed the exchange (see egd_exch_error). */
	void (*upstream_error)(struct egd_exch *x, enum egd_exch_error e);
	/* Gives the next-hop connection back (none attached: nothing);
	 * `reuse`: the exchange ended cleanly and it may be pooled, and its
	 * latency is recorded. */
	void (*detach)(struct egd_exch *x, bool reuse, bool done);
	/* A deadline passed while the next hop had the turn: returns 0 when
	 * handled (a local answer, a failure), -1 to close. */
	int (*timeout)(struct egd_exch *x);
	/* A handshake deadline passed (NULL: nothing to record). */
	void (*handshake_timeout)(struct egd_exch *x);
	/* Arms the watchers and the timer (see egd_exch_arm()). */
	void (*arm)(struct egd_exch *x);
	/* Closes and frees the connection. */
	void (*close)(struct egd_exch *x);
	/* Counters. */
	atomic_ulong *bad_requests;
	atomic_ulong *handshakes_failed;
	atomic_ulong *handshakes_full;
	atomic_ulong *handshakes_resumed;
};

#define EGD_EXCH_MAGIC 0x45584331u

#define EGD_EXCH_MEMBERS(worker_type)                                          \
	unsigned magic; /* EGD_EXCH_MAGIC while alive */                       \
	const struct egd_exch_ops *ops;                                        \
	union {                                                                \
		struct egd_worker *wk; /* borrowed: the owning worker */       \
		worker_type *w;	       /* the same, as the daemon's */         \
	};                                                                     \
	struct egd_stream client;                                              \
	ev_io io;                                                              \
	ev_timer timer;                                                        \
	struct egd_buf cin;  /* from the client (plaintext) */                 \
	struct egd_buf cout; /* to the client (plaintext) */                   \
	struct egd_buf bout; /* to the next hop (plaintext) */                 \
	struct egd_buf bin;  /* from the next hop (plaintext) */               \
	struct egd_http req;                                                   \
	struct egd_http resp;                                                  \
	size_t up_sent; /* request bytes written to the next hop */            \
	size_t up_recv; /* response bytes read from it */                      \
	/* A bodiless idempotent request's head may be sent again on      */   \
	/* another connection (when and how often: the daemon's rules):   */   \
	/* its replay_len bytes stay at the front of bout, which nothing  */   \
	/* else is written to until the exchange ends. 0 otherwise.       */   \
	size_t replay_len;                                                     \
	ev_tstamp accepted_at;                                                 \
	ev_tstamp head_start; /* first byte of the current request head */     \
	ev_tstamp req_start;  /* head complete */                              \
	ev_tstamp last_io;    /* last read from the client */                  \
	ev_tstamp up_last_io; /* last next-hop activity */                     \
	ev_tstamp deadline;   /* what the timer waits for */                   \
	enum egd_rq rq;                                                        \
	enum egd_rs rs;                                                        \
	bool proxy;	       /* requests are relayed, not answered here */   \
	bool close_after;      /* close once the current response is out */    \
	bool closing;	       /* flush cout, then close */                    \
	bool lingering;	       /* response sent, write side shut: draining */  \
	bool up_eof;	       /* the next hop closed */                       \
	bool up_reusable;      /* the next-hop connection may be pooled */     \
	bool resp_init;	       /* resp is set up */                            \
	bool head_method_head; /* the request was HEAD */                      \
	bool req_http10;                                                       \
	char addr[INET6_ADDRSTRLEN + 8]; /* "ip:port" of the client */         \
	char ip[INET6_ADDRSTRLEN + 8];	 /* the address alone */

struct egd_exch {
	EGD_EXCH_MEMBERS(struct egd_worker)
};

#define EGD_EXCH_EMBED(worker_type)                                            \
	union {                                                                \
		struct egd_exch x;                                             \
		struct {                                                       \
			EGD_EXCH_MEMBERS(worker_type)                          \
		};                                                             \
	}

/* Sets up x on fd (ownership taken) and tls (NULL: plaintext), with a
 * request parser within the limits given; the watchers are not started.
 * Returns 0, or -1 (out of memory; fd and tls are then not taken). */
int egd_exch_init(struct egd_exch *x, struct egd_worker *wk,
		  const struct egd_exch_ops *ops, bool proxy, int fd,
		  gnutls_session_t tls, unsigned max_header_bytes,
		  unsigned max_headers);
/* Stops the watchers, closes the client stream and frees the buffers and
 * parsers (the next-hop connection is the daemon's). */
void egd_exch_free(struct egd_exch *x);

/* Runs the connection until nothing moves, then arms it (or closes it:
 * x may be gone on return). */
void egd_exch_pump(struct egd_exch *x);

/* Queues a response made here (ctype NULL: text/plain); with `close`,
 * the connection closes after it. */
void egd_exch_reply(struct egd_exch *x, int status, const char *ctype,
		    const char *extra_headers, const char *body, bool close);

/* The next hop failed after the daemon counted, logged and detached it:
 * answered with `status` (502, 504) when nothing of the response went
 * out, else (status 0) the client connection is cut, as only that tells
 * it the response is incomplete. */
void egd_exch_abort(struct egd_exch *x, int status);

/* Puts the replayable head (replay_len bytes) back into bout for another
 * connection to the next hop. */
void egd_exch_rewind(struct egd_exch *x);

/* Moves bytes from bout to the next hop on s, and from s into bin while
 * a response is awaited, keeping up_sent, up_recv, up_eof and up_last_io.
 * Returns 1 on progress, 0, or -1 on an error (s->err). */
int egd_exch_relay(struct egd_exch *x, struct egd_stream *s);

/* Arms the client watcher and the timer: the client's deadlines (linger,
 * handshake, head, idle) come first, then up_dl when not 0. */
void egd_exch_arm(struct egd_exch *x, unsigned handshake_ms, unsigned header_ms,
		  unsigned idle_ms, ev_tstamp up_dl);

#endif
