/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include <edgeguard/edgeguard.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/net.h"
#include "core/prom.h"
#include "core/tls.h"

/* One daemon per process: the signal and timer callbacks find it here. */
static struct egd_daemon dm;
static enum egd_level log_level = EGD_INFO;
static bool log_to_file;	/* a log file was configured at start */
static ev_tstamp next_rotation; /* of the session ticket key */
static bool watch_settling;	/* a change was seen at the last look */
static char errbuf[1024];

/* Points stderr, where the diagnostic log goes, at the configured file
 * (opened anew: after logrotate renamed the old one, on SIGUSR1). Without
 * a log file at start, stderr stays what systemd or the shell made it. */
static int open_log(const struct egd_dconf *c)
{
	const char *path = c->log_file;
	int fd;

	if (!log_to_file || path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		egd_log(EGD_ERR, "log_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (dup2(fd, STDERR_FILENO) == -1) {
		egd_log(EGD_ERR, "log_file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Whether next names another log file than cur (a reload moves to it). */
static bool log_moved(const struct egd_dconf *cur, const struct egd_dconf *next)
{
	const char *a, *b;

	if (cur == NULL)
		return false;
	a = cur->log_file;
	b = next->log_file;
	return b != NULL && (a == NULL || strcmp(a, b) != 0);
}

static bool same_listeners(const struct egd_dconf *a, const struct egd_dconf *b)
{
	return a->workers == b->workers &&
	       a->admin_enabled == b->admin_enabled &&
	       (!a->admin_enabled || egd_addr_equal(&a->admin, &b->admin)) &&
	       dm.ops->same_listeners(a, b);
}

static void reload(const char *why)
{
	struct egd_dconf *cur = egd_dconf_current();
	struct egd_dconf *next = NULL;
	struct timespec now;

	/* systemd's notify-reload protocol wants the reload's start time. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)now.tv_sec * 1000000ULL +
			   (unsigned long long)now.tv_nsec / 1000ULL);
	egd_log(EGD_NOTICE, "reloading %s (%s)", dm.config_path, why);
	if (dm.ops->load(dm.config_path, false, &next, errbuf, sizeof(errbuf)) <
	    0) {
		egd_prom_reloaded(false);
		egd_log(EGD_ERR,
			"reload failed, the previous configuration stays in "
			"force: %s",
			errbuf);
	} else {
		if (cur != NULL && !same_listeners(cur, next))
			egd_log(EGD_WARN, "listen addresses and workers "
					  "change only at restart");
		if (log_moved(cur, next))
			open_log(next);
		egd_dconf_publish(next);
		for (unsigned i = 0; i < dm.n_workers; i++)
			egd_worker_post_refresh(dm.workers[i]);
		egd_prom_reloaded(true);
		egd_log(EGD_NOTICE, "configuration reloaded");
	}
	egd_dconf_unref(cur);
	sd_notify(0, "READY=1");
}

static void reopen(void)
{
	struct egd_dconf *c = egd_dconf_current();
	const char *path;

	if (c == NULL)
		return;
	path = c->log_file;
	if (log_to_file && path != NULL && open_log(c) == 0)
		egd_log(EGD_NOTICE, "log file %s reopened", path);
	if (dm.ops->reopen != NULL)
		dm.ops->reopen(c);
	egd_dconf_unref(c);
}

static void signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)revents;
	switch (s->signum) {
	case SIGHUP:
		reload("SIGHUP");
		break;
	case SIGUSR1:
		reopen();
		break;
	default:
		egd_log(EGD_NOTICE, "shutting down (signal %d)", s->signum);
		sd_notify(0, "STOPPING=1");
		ev_break(loop, EVBREAK_ALL);
		break;
	}
}

/* Once a second: the daemon's own chores, a new session ticket key when
 * it is due, and certificate, key or CA files replaced on disk
 * (cert-manager, Vault agent, certbot) reload everything. A change
 * reloads when it is seen at two looks in a row: tools replace a
 * certificate and its key one after the other, and a look between the
 * two would load a mismatched pair and fail the reload. */
static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egd_dconf *c = egd_dconf_current();
	ev_tstamp now = ev_now(loop);
	bool seen, changed;
	long rotation;

	(void)t;
	(void)revents;
	if (c == NULL)
		return;
	if (dm.ops->tick != NULL)
		dm.ops->tick(c);
	rotation = dm.ops->ticket_rotation_s(c);
	if (rotation > 0 && now >= next_rotation) {
		if (egd_tls_tickets_rotate() < 0)
			egd_log(EGD_ERR, "session ticket key rotation failed");
		next_rotation = now + (ev_tstamp)rotation;
	}
	seen = egd_watch_changed(&c->watch);
	changed = seen && watch_settling;
	watch_settling = seen && !changed;
	egd_dconf_unref(c);
	if (changed)
		reload("a certificate, key or CA file changed");
}

/* The workers and the admin loop, zeroed then set up. */
static int workers_init(unsigned n)
{
	const struct egd_daemon_ops *ops = dm.ops;

	dm.admin = calloc(1, ops->worker_size);
	dm.workers = calloc(n, sizeof(*dm.workers));
	if (dm.admin == NULL || dm.workers == NULL)
		return -1;
	dm.n_workers = n;
	for (unsigned i = 0; i < n; i++)
		if ((dm.workers[i] = calloc(1, ops->worker_size)) == NULL)
			return -1;
	if (ops->worker_init(dm.admin, n, false) == -1)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (ops->worker_init(dm.workers[i], i, true) == -1)
			return -1;
	return 0;
}

static void workers_free(void)
{
	for (unsigned i = 0; i < dm.n_workers; i++) {
		if (dm.workers[i] != NULL)
			dm.ops->worker_free(dm.workers[i]);
		free(dm.workers[i]);
	}
	free(dm.workers);
	dm.workers = NULL;
	dm.n_workers = 0;
	if (dm.admin != NULL)
		dm.ops->worker_free(dm.admin);
	free(dm.admin);
	dm.admin = NULL;
}

/* Starts the worker threads with the handled signals blocked: they
 * inherit the mask, so the signals reach the main loop only. */
static int workers_start(const int *signums, int n)
{
	sigset_t block, old;
	int ret = 0;

	sigemptyset(&block);
	for (int i = 0; i < n; i++)
		sigaddset(&block, signums[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned i = 0; i < dm.n_workers && ret == 0; i++)
		if (egd_worker_start(dm.workers[i]) == -1) {
			egd_log(EGD_ERR, "cannot start worker %u", i);
			ret = -1;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* Drains the started workers, all at once, then waits for them. */
static void workers_stop(void)
{
	for (unsigned i = 0; i < dm.n_workers; i++)
		if (dm.workers[i]->started)
			egd_worker_post_stop(dm.workers[i]);
	for (unsigned i = 0; i < dm.n_workers; i++)
		if (dm.workers[i]->started)
			egd_worker_join(dm.workers[i]);
}

/* Logs to the configured file from now on, if any. */
static int log_start(const struct egd_dconf *c)
{
	if (c->log_file == NULL)
		return 0;
	log_to_file = true;
	if (open_log(c) == -1)
		return -1;
	/* The journal no longer reads stderr: lines get their time stamp
	 * again. Still single-threaded here. */
	unsetenv("JOURNAL_STREAM");
	egd_log_setup(dm.ops->name, log_level);
	return 0;
}

static int run(struct egd_dconf *c)
{
	static const int signums[4] = {SIGHUP, SIGUSR1, SIGTERM, SIGINT};
	long rotation = dm.ops->ticket_rotation_s(c);
	ev_signal sigs[4];
	ev_timer tick;
	int status = 1;

	signal(SIGPIPE, SIG_IGN);
	if (log_start(c) == -1)
		return 1;
	if (rotation >= 0 && egd_tls_tickets_rotate() < 0) {
		egd_log(EGD_ERR, "cannot generate a session ticket key");
		return 1;
	}
	if (workers_init(c->workers) == -1) {
		egd_log(EGD_ERR, "cannot set up the workers");
		goto out;
	}
	if (dm.ops->open_listeners(&dm, c, errbuf, sizeof(errbuf)) == -1 ||
	    (c->admin_enabled &&
	     egd_daemon_listen(dm.admin, dm.ops->admin_kind, false, &c->admin,
			       -1, true, errbuf, sizeof(errbuf)) == -1) ||
	    dm.ops->drop_privileges(c, errbuf, sizeof(errbuf)) == -1) {
		egd_log(EGD_ERR, "%s", errbuf);
		goto out;
	}
	egd_dconf_publish(egd_dconf_ref(c));
	if (workers_start(signums, 4) == -1)
		goto out_stop;
	egd_worker_start(dm.admin);
	for (int i = 0; i < 4; i++) {
		ev_signal_init(&sigs[i], signal_cb, signums[i]);
		ev_signal_start(dm.admin->loop, &sigs[i]);
	}
	ev_timer_init(&tick, tick_cb, 1.0, 1.0);
	ev_timer_start(dm.admin->loop, &tick);
	next_rotation = ev_now(dm.admin->loop) + (ev_tstamp)rotation;
	dm.ops->started(&dm, c);
	sd_notify(0, "READY=1");
	ev_run(dm.admin->loop, 0);
	ev_timer_stop(dm.admin->loop, &tick);
	for (int i = 0; i < 4; i++)
		ev_signal_stop(dm.admin->loop, &sigs[i]);
	status = 0;
out_stop:
	workers_stop();
out:
	workers_free();
	egd_dconf_publish(NULL);
	egd_tls_tickets_clear();
	return status;
}

int egd_daemon_listen(struct egd_worker *w, int kind, bool tls,
		      const struct egd_addr *a, int shared_fd, bool owns,
		      char *err, size_t errlen)
{
	int fd = shared_fd;

	if (fd == -1) {
		fd = egd_listen(a, true, 1024, err, errlen);
		if (fd == -1)
			return -1;
		owns = true;
	}
	if (egd_worker_add_listener(w, kind, tls, fd, owns) == -1) {
		snprintf(err, errlen, "out of memory");
		if (shared_fd == -1)
			close(fd);
		return -1;
	}
	return 0;
}

/* Parses argv into dm and log_level. Returns -1 to go on, else the exit
 * status. */
static int parse_args(int argc, char **argv, bool *test)
{
	static const struct option help_only[] = {
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct egd_daemon_ops *ops = dm.ops;
	const struct option *longopts =
		ops->longopts ? ops->longopts : help_only;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:tdVh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			dm.config_path = optarg;
			break;
		case 't':
			*test = true;
			break;
		case 'd':
			log_level = EGD_DEBUG;
			break;
		case 'V':
			printf("%s %s\n", ops->name, eg_version());
			return 0;
		case 'h':
			fputs(ops->usage, stdout);
			return 0;
		default:
			if (opt != '?' && ops->option != NULL &&
			    ops->option(opt, optarg) == 0)
				break;
			fputs(ops->usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(ops->usage, stderr);
		return 2;
	}
	return -1;
}

int egd_daemon_main(const struct egd_daemon_ops *ops, int argc, char **argv)
{
	struct egd_dconf *c = NULL;
	bool test = false;
	int status;

	dm.ops = ops;
	dm.config_path = ops->default_config;
	if ((status = parse_args(argc, argv, &test)) != -1)
		return status;
	egd_log_setup(ops->name, log_level);
	if (ops->command != NULL &&
	    (status = ops->command(dm.config_path)) != -1)
		return status;
	if (ops->load(dm.config_path, test, &c, errbuf, sizeof(errbuf)) < 0) {
		fprintf(stderr, "%s: %s\n", ops->name, errbuf);
		if (test)
			fprintf(stderr, "configuration file %s test failed\n",
				dm.config_path);
		return 1;
	}
	if (test) {
		printf("configuration file %s test is successful\n",
		       dm.config_path);
		egd_dconf_unref(c);
		return 0;
	}
	status = run(c);
	egd_dconf_unref(c);
	return status;
}
