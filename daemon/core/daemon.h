/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_DAEMON_H
#define EG_DAEMON_CORE_DAEMON_H

/*
 * One daemon's life, the same for the verifier and the forwarder: options
 * (-c -t -d -V -h), configuration test, the optional log file, workers and
 * admin loop, binding while privileged then dropping root, systemd
 * notification, and the main loop's signals: SIGHUP reloads (a failed
 * reload is logged and the previous configuration stays in force),
 * SIGUSR1 reopens the log files, SIGTERM and SIGINT drain the workers and
 * exit. A timer reloads when a certificate, key or CA file was replaced
 * and rotates the session ticket key. What differs between the daemons
 * comes through struct egd_daemon_ops.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/dconf.h"
#include "core/worker.h"

/* The running daemon, as its callbacks see it. */
struct egd_daemon {
	const struct egd_daemon_ops *ops;
	const char *config_path;     /* borrowed from argv or ops */
	struct egd_worker **workers; /* owned, n_workers of ops->worker_size */
	unsigned n_workers;
	struct egd_worker *admin; /* owned: the main thread's loop */
};

struct egd_daemon_ops {
	const char *name;	    /* "edgeguard-verifier": log prefix, -V */
	const char *default_config; /* without -c */
	const char *usage;	    /* the whole -h text */
	/* Options besides -c -t -d -V -h, or NULL; `option` takes them:
	 * returns 0, or -1 for a usage error. */
	const struct option *longopts;
	int (*option)(int opt, const char *arg);
	/* Runs instead of the daemon when an option asked for it (the log is
	 * set up): returns the exit status, or -1 to go on. NULL: never. */
	int (*command)(const char *config_path);

	/* Loads the configuration at path into *out (one reference); `test`:
	 * -t, check only, open no log or audit file. Returns 0 or -1 with
	 * err filled. */
	int (*load)(const char *path, bool test, struct egd_dconf **out,
		    char *err, size_t errlen);
	/* Whether b binds what a binds, besides workers and admin which
	 * the core compares (else a reload warns). */
	bool (*same_listeners)(const struct egd_dconf *a,
			       const struct egd_dconf *b);

	/* The daemon's worker: worker_size bytes beginning with the struct
	 * egd_worker (EGD_WORKER_EMBED), zeroed before worker_init;
	 * worker_free releases what it holds, not w, and accepts a w that
	 * worker_init failed on or never saw. */
	size_t worker_size;
	int (*worker_init)(struct egd_worker *w, unsigned id, bool threaded);
	void (*worker_free)(struct egd_worker *w);

	/* The listener kind of admin { listen }, which the core binds. */
	int admin_kind;
	/* Binds every other listener of d's workers, still root. Returns 0
	 * or -1 with err filled. */
	int (*open_listeners)(struct egd_daemon *d, const struct egd_dconf *c,
			      char *err, size_t errlen);
	/* Hands the unix sockets to the proxy's group and drops root
	 * (egd_privs_drop()). Returns 0 or -1 with err filled. */
	int (*drop_privileges)(const struct egd_dconf *c, char *err,
			       size_t errlen);

	/* Session ticket key: -1 when c serves no TLS (no key), else the
	 * seconds between rotations (0: the first key stays). */
	long (*ticket_rotation_s)(const struct egd_dconf *c);
	/* SIGUSR1: reopens the daemon's own files (audit log). Or NULL. */
	void (*reopen)(const struct egd_dconf *c);
	/* Once a second in the main loop (audit flush). Or NULL. */
	void (*tick)(const struct egd_dconf *c);
	/* Logs the start-up line ("N workers, ..."). */
	void (*started)(const struct egd_daemon *d, const struct egd_dconf *c);
};

/* Adds a listener of `kind` on a to w, for ops->open_listeners: binds a
 * (SO_REUSEPORT) unless shared_fd is a socket bound already, which w
 * then owns when `owns`. Returns 0 or -1 with err filled; on failure a
 * shared_fd stays the caller's. */
int egd_daemon_listen(struct egd_worker *w, int kind, bool tls,
		      const struct egd_addr *a, int shared_fd, bool owns,
		      char *err, size_t errlen);

/* Runs the daemon described by ops (borrowed, static): parses argv and
 * returns main()'s exit status (0, 1 on failure, 2 on usage error). */
int egd_daemon_main(const struct egd_daemon_ops *ops, int argc, char **argv);

#endif
