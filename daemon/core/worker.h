/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_WORKER_H
#define EG_DAEMON_CORE_WORKER_H

/*
 * A worker: one thread, one libev loop, its own SO_REUSEPORT listeners (or
 * a share of a unix socket), told by the main thread through one ev_async
 * to take a newly published configuration or to drain and stop. The
 * daemon supplies what differs through struct egd_worker_ops: what an
 * accepted connection becomes, what a new configuration changes, how its
 * connections drain. The main thread's admin loop is a worker without a
 * thread.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>

#define EGD_WORKER_MAGIC   0x45575231u
#define EGD_LISTENER_MAGIC 0x454c5331u

#define egd_container_of(p, type, member)                                      \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

struct egd_worker;

struct egd_listener {
	unsigned magic;
	int kind; /* the daemon's listener kind */
	bool tls; /* its connections start with a TLS handshake */
	int fd;
	bool owns_fd; /* false: a unix socket shared by all workers */
	ev_io io;
	struct egd_worker *w; /* borrowed */
};

struct egd_worker_ops {
	/* A connection accepted on l: takes ownership of fd. */
	void (*accept)(struct egd_worker *w, const struct egd_listener *l,
		       int fd, const struct sockaddr *sa, socklen_t salen);
	/* A configuration was published (and once when the thread starts):
	 * take it, drop what was made for the previous one. */
	void (*refresh)(struct egd_worker *w);
	/* Draining began, the listeners are stopped: close the idle
	 * connections, let the others finish their response. Returns how
	 * long they get, in ms. */
	unsigned (*drain)(struct egd_worker *w);
	/* Close every connection, pooled ones included. */
	void (*close_all)(struct egd_worker *w);
};

/*
 * The members of struct egd_worker. A daemon's worker embeds them with
 * EGD_WORKER_EMBED so that its code reads w->loop while the core
 * functions take &w->core (the same bytes, as the kernel's struct_group).
 */
#define EGD_WORKER_MEMBERS                                                     \
	unsigned magic;                                                        \
	unsigned id;                                                           \
	const struct egd_worker_ops *ops;                                      \
	struct ev_loop *loop;                                                  \
	pthread_t thread;                                                      \
	bool threaded; /* false: the main thread's admin loop */               \
	bool started;  /* its thread runs */                                   \
	ev_async wake;                                                         \
	ev_timer drain_timer;                                                  \
	atomic_bool stop;    /* set by main: drain and exit */                 \
	atomic_bool refresh; /* set by main: a new config is published */      \
	bool draining;                                                         \
	unsigned n_conns;		/* kept by the daemon */               \
	struct egd_listener *listeners; /* owned array */                      \
	size_t n_listeners;

struct egd_worker {
	EGD_WORKER_MEMBERS
};

#define EGD_WORKER_EMBED                                                       \
	union {                                                                \
		struct egd_worker core;                                        \
		struct {                                                       \
			EGD_WORKER_MEMBERS                                     \
		};                                                             \
	}

/* Sets up w (threaded: a loop of its own, else the default loop). ops is
 * borrowed for w's lifetime. Returns 0 or -1. */
int egd_worker_init(struct egd_worker *w, unsigned id, bool threaded,
		    const struct egd_worker_ops *ops);
/* Adds a listener on fd (ownership taken when owns_fd), before start.
 * Returns 0 or -1 (out of memory; fd is then not taken). */
int egd_worker_add_listener(struct egd_worker *w, int kind, bool tls, int fd,
			    bool owns_fd);
/* Starts the listeners, and the thread of a threaded worker. */
int egd_worker_start(struct egd_worker *w);
/* From the main thread: drain and stop; take the published config. */
void egd_worker_post_stop(struct egd_worker *w);
void egd_worker_post_refresh(struct egd_worker *w);
void egd_worker_join(struct egd_worker *w);
/* Ends the loop once draining and the last connection is gone. */
void egd_worker_maybe_exit(struct egd_worker *w);
/* Closes everything; w may be inited again. A w never inited (zeroed) is
 * a no-op. */
void egd_worker_free(struct egd_worker *w);

#endif
