/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_TESTS_BENCH_LOADGEN_H
#define EG_TESTS_BENCH_LOADGEN_H

/*
 * eg-loadgen: an mTLS load generator on GnuTLS (wrk and h2load cannot
 * present client certificates). One epoll loop per thread with many
 * non-blocking connections; every thread owns its counters and latency
 * histogram and main sums them after joining, so the hot path shares
 * nothing but the read-only credentials.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

enum lg_mode {
	LG_HANDSHAKE, /* a new connection per operation */
	LG_RESUME,    /* the same, resuming with the slot's last ticket */
	LG_KEEPALIVE, /* requests over persistent connections */
	LG_REJECT,    /* connections the server must refuse */
	LG_IDLE,      /* open, one request each, then held */
};

/*
 * HdrHistogram-style buckets over nanoseconds: exact below LG_HIST_SUB,
 * then LG_HIST_SUB buckets per power of two, so any recorded value is
 * reported within 1/LG_HIST_SUB (1.6 %) of itself.
 */
#define LG_HIST_SUB_BITS 6
#define LG_HIST_SUB	 (1u << LG_HIST_SUB_BITS)
#define LG_HIST_BUCKETS	 (LG_HIST_SUB * (64 - LG_HIST_SUB_BITS + 1))

struct lg_hist {
	uint64_t count;
	uint64_t min; /* meaningful when count > 0 */
	uint64_t max;
	uint64_t sum; /* wraps only after centuries of summed latency */
	uint64_t b[LG_HIST_BUCKETS];
};

void lg_hist_init(struct lg_hist *h);
void lg_hist_record(struct lg_hist *h, uint64_t v);
void lg_hist_merge(struct lg_hist *dst, const struct lg_hist *src);
/* Bucket index of v and the highest value that bucket holds; exposed for
 * the histogram's own test. */
unsigned lg_hist_index(uint64_t v);
uint64_t lg_hist_bucket_high(unsigned idx);
/* The highest value equivalent to the q-quantile (0 < q <= 1) of what was
 * recorded (never below the true quantile, at most 1.6 % above it), 0 when
 * nothing was. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

/* Per-thread counters, summed by main; names in eg-loadgen.c. */
enum lg_counter {
	LG_C_CONNECTS,	 /* TCP connections started */
	LG_C_HANDSHAKES, /* TLS handshakes the client completed */
	LG_C_FULL,	 /* ... of which full */
	LG_C_RESUMED,	 /* ... of which resumed from a ticket */
	LG_C_REQUESTS,	 /* requests started */
	LG_C_RESPONSES,	 /* complete responses parsed */
	/* responses by status class, in this order */
	LG_C_S2XX,
	LG_C_S3XX,
	LG_C_S4XX,
	LG_C_S5XX,
	LG_C_SOTHER,	   /* 1xx as final status, or beyond 599 */
	LG_C_S403,	   /* the verifier's rejection */
	LG_C_OPS,	   /* the mode's unit of work, completed as expected */
	LG_C_REJ_ALERT,	   /* reject: the server sent a fatal TLS alert */
	LG_C_REJ_HTTP,	   /* reject: a 4xx response */
	LG_C_REJ_CLOSE,	   /* reject: closed or reset without a response */
	LG_C_SERVER_CLOSE, /* keep-alive ended by the server after a reply */
	LG_C_HELD,	   /* idle: connections open at the end */
	LG_C_IDLE_LOST,	   /* idle: held connections the server closed */
	LG_C_E_CONNECT,	   /* errors: socket or connect */
	LG_C_E_TLS,	   /* handshake or record layer */
	LG_C_E_HTTP,	   /* unparsable response, or bytes after it */
	LG_C_E_EOF,	   /* closed before the response was complete */
	LG_C_E_TIMEOUT,	   /* an operation took longer than --timeout */
	LG_C_E_STATUS,	   /* a status the mode did not expect */
	LG_C_MAX
};
#define LG_C_FIRST_ERROR LG_C_E_CONNECT

struct lg_opts {
	enum lg_mode mode;
	unsigned threads;
	unsigned conns; /* in all threads */
	unsigned seconds;
	unsigned timeout_ms;	   /* per connect, handshake or request */
	unsigned open_concurrency; /* idle: handshakes in flight per thread */
	bool request;		   /* handshake/idle: one GET per connection */
	int expect_status;	   /* 0: any; reject mode: unused */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *address; /* as given, for the report */
	const char *sni;     /* NULL: none sent, server name not checked */
	const char *host;    /* Host header */
	const char *path;
	const char *ca; /* NULL: server certificate not verified */
	const char *cert;
	const char *key;
	const char *priority;
	const char *ready_file; /* idle: created once all are open */
};

/* Read-only while the threads run, except `ready`. */
struct lg_shared {
	pthread_mutex_t lock; /* guards go */
	pthread_cond_t cond;  /* go changed */
	int go;		      /* 0: wait; 1: run until end_ns; -1: abort */
	const struct lg_opts *o;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	const char *req; /* the request, borrowed from main */
	size_t req_len;
	uint64_t end_ns;   /* CLOCK_MONOTONIC deadline, set with go */
	atomic_bool *stop; /* set on SIGINT/SIGTERM */
	atomic_uint ready; /* idle: threads whose connections settled */
};

struct lg_conn;

struct lg_thread {
	unsigned id;
	pthread_t tid;
	struct lg_shared *sh; /* borrowed */
	unsigned nconns;
	struct lg_conn *conns; /* owned by lg_thread_main while it runs */
	int ep;		       /* epoll descriptor */
	char *buf;	       /* owned: decrypted response bytes */
	size_t bufsize;
	unsigned *pending; /* owned: connections to (re)start now */
	unsigned npending;
	unsigned opening; /* idle: handshakes in flight */
	unsigned next_open;
	unsigned settled; /* idle: connections held or given up */
	uint64_t c[LG_C_MAX];
	struct lg_hist *hist; /* owned */
	char first_error[200];
	int setup_error;     /* 0, or -errno when the loop could not start */
	uint64_t stopped_ns; /* when the measured loop ended */
};

/* Thread body (pthread_create argument: a struct lg_thread). */
void *lg_thread_main(void *arg);

uint64_t lg_now_ns(void);

#endif
