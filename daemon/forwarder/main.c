/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <systemd/sd-daemon.h>

#include <edgeguard/edgeguard.h>

#include "core/log.h"
#include "core/privs.h"
#include "core/net.h"
#include "core/tls.h"
#include "forwarder/forwarder.h"

#define DEFAULT_CONFIG	 SYSCONFDIR "/edgeguard/forwarder.conf"
#define WATCH_INTERVAL_S 2.0

static const char *config_path = DEFAULT_CONFIG;
static struct egf_worker *workers; /* cfg->workers threads */
static unsigned n_workers;
static struct egf_worker admin; /* the main thread's loop */
static ev_tstamp next_rotation; /* of the session ticket key */
static enum egd_level log_level = EGD_INFO;
static bool log_to_file; /* log_file was configured at start */
static char err[1024];

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgeguard-forwarder [-c FILE] [-t] [-d] [-V]\n"
		"       edgeguard-forwarder [-c FILE] --check-origin NAME\n"
		"  -c FILE             configuration (default %s)\n"
		"  -t                  test the configuration and exit\n"
		"  -d                  debug logging\n"
		"  -V                  print the version and exit\n"
		"  --check-origin NAME connect to origin NAME with its client\n"
		"                      certificate and tell whether it admits "
		"it\n",
		DEFAULT_CONFIG);
}

static bool same_addrs(const struct egd_addr *a, size_t na,
		       const struct egd_addr *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!egd_addr_equal(&a[i], &b[i]))
			return false;
	return true;
}

static bool same_listeners(const struct egf_config *a,
			   const struct egf_config *b)
{
	const struct egf_tls_in *ta = a->tls_in, *tb = b->tls_in;

	return a->d.workers == b->d.workers &&
	       a->d.admin_enabled == b->d.admin_enabled &&
	       (!a->d.admin_enabled ||
		egd_addr_equal(&a->d.admin, &b->d.admin)) &&
	       same_addrs(a->listen, a->n_listen, b->listen, b->n_listen) &&
	       same_addrs(ta ? ta->listen : NULL, ta ? ta->n_listen : 0,
			  tb ? tb->listen : NULL, tb ? tb->n_listen : 0);
}

/* Points stderr, where the diagnostic log goes, at the configured file
 * (opened anew: after logrotate renamed the old one, on SIGUSR1). Without
 * log_file at start, stderr stays what systemd or the shell made it. */
static int open_log(const struct egf_config *cfg)
{
	int fd;

	if (!log_to_file || cfg->log_file == NULL)
		return 0;
	fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		  0640);
	if (fd == -1) {
		egd_log(EGD_ERR, "log_file %s: %s", cfg->log_file,
			strerror(errno));
		return -1;
	}
	if (dup2(fd, STDERR_FILENO) == -1) {
		egd_log(EGD_ERR, "log_file %s: %s", cfg->log_file,
			strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void reload(const char *why)
{
	struct egf_config *cur = egf_config_current();
	struct egf_config *next = NULL;
	struct timespec now;

	/* systemd's notify-reload protocol wants the reload's start time. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)now.tv_sec * 1000000ULL +
			   (unsigned long long)now.tv_nsec / 1000ULL);
	egd_log(EGD_NOTICE, "reloading %s (%s)", config_path, why);
	if (egf_config_load(config_path, &next, err, sizeof(err)) < 0) {
		egf_count(&egf_metrics.reload_errors);
		egd_log(EGD_ERR,
			"reload failed, the previous configuration stays in "
			"force: %s",
			err);
	} else {
		if (cur != NULL && !same_listeners(cur, next))
			egd_log(EGD_WARN, "listen addresses and workers "
					  "change only at restart");
		if (cur != NULL && next->log_file != NULL &&
		    (cur->log_file == NULL ||
		     strcmp(cur->log_file, next->log_file) != 0))
			open_log(next);
		egd_dconf_publish(&next->d);
		for (unsigned i = 0; i < n_workers; i++)
			egd_worker_post_refresh(&workers[i].core);
		egf_count(&egf_metrics.reloads);
		egd_log(EGD_NOTICE, "configuration reloaded");
	}
	egf_config_unref(cur);
	sd_notify(0, "READY=1");
}

static void signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct egf_config *cfg;

	(void)revents;
	switch (s->signum) {
	case SIGHUP:
		reload("SIGHUP");
		break;
	case SIGUSR1:
		cfg = egf_config_current();
		if (cfg != NULL && log_to_file && cfg->log_file != NULL &&
		    open_log(cfg) == 0)
			egd_log(EGD_NOTICE, "log file %s reopened",
				cfg->log_file);
		egf_config_unref(cfg);
		break;
	default:
		egd_log(EGD_NOTICE, "shutting down (signal %d)", s->signum);
		sd_notify(0, "STOPPING=1");
		ev_break(loop, EVBREAK_ALL);
		break;
	}
}

/* Every WATCH_INTERVAL_S: a new session ticket key when it is due, and
 * certificate, key or CA files replaced on disk (cert-manager, Vault
 * agent, certbot) reload everything. */
static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egf_config *cfg = egf_config_current();
	ev_tstamp now = ev_now(loop);
	bool changed;

	(void)t;
	(void)revents;
	if (cfg == NULL)
		return;
	if (cfg->tls_in != NULL && cfg->tls_in->ticket_key_rotation_s > 0 &&
	    now >= next_rotation) {
		if (egd_tls_tickets_rotate() < 0)
			egd_log(EGD_ERR, "session ticket key rotation failed");
		next_rotation = now + cfg->tls_in->ticket_key_rotation_s;
	}
	changed = egd_watch_changed(&cfg->d.watch);
	egf_config_unref(cfg);
	if (changed)
		reload("a certificate, key or CA file changed");
}

static int open_listener(struct egf_worker *w, enum egf_kind kind, bool tls,
			 const struct egd_addr *a, int shared_fd, bool owns)
{
	int fd = shared_fd;

	if (fd == -1) {
		fd = egd_listen(a, true, 1024, err, sizeof(err));
		if (fd == -1)
			return -1;
		owns = true;
	}
	if (egd_worker_add_listener(&w->core, kind, tls, fd, owns) == -1) {
		snprintf(err, sizeof(err), "out of memory");
		if (shared_fd == -1)
			close(fd);
		return -1;
	}
	return 0;
}

/* A unix socket is one fd shared by every worker (SO_REUSEPORT does not
 * apply to it), owned by worker 0. */
static int open_proxy_listeners(const struct egd_addr *addrs, size_t n,
				bool tls)
{
	for (size_t j = 0; j < n; j++) {
		int shared = -1;

		if (addrs[j].is_unix &&
		    (shared = egd_listen(&addrs[j], false, 1024, err,
					 sizeof(err))) == -1)
			return -1;
		for (unsigned i = 0; i < n_workers; i++)
			if (open_listener(&workers[i], EGF_PROXY, tls,
					  &addrs[j], shared, i == 0) == -1) {
				/* Unless worker 0 took it, it is ours. */
				if (i == 0 && shared != -1)
					close(shared);
				return -1;
			}
	}
	return 0;
}

/* Binds everything while still privileged. */
static int open_listeners(const struct egf_config *cfg)
{
	if (open_proxy_listeners(cfg->listen, cfg->n_listen, false) == -1 ||
	    (cfg->tls_in != NULL &&
	     open_proxy_listeners(cfg->tls_in->listen, cfg->tls_in->n_listen,
				  true) == -1))
		return -1;
	if (cfg->d.admin_enabled &&
	    open_listener(&admin, EGF_ADMIN, false, &cfg->d.admin, -1, true) ==
		    -1)
		return -1;
	return 0;
}

/* Hands the unix listeners to the edge proxy's group, then drops root. */
static size_t unix_paths(const struct egd_addr *addrs, size_t n,
			 const char **out)
{
	size_t k = 0;

	for (size_t j = 0; j < n; j++)
		if (addrs[j].is_unix)
			out[k++] = ((const struct sockaddr_un *)&addrs[j].ss)
					   ->sun_path;
	return k;
}

static int drop_privileges(const struct egf_config *cfg)
{
	size_t n_tls = cfg->tls_in ? cfg->tls_in->n_listen : 0;
	const char **socks = calloc(cfg->n_listen + n_tls + 1, sizeof(*socks));
	size_t n;
	int ret;

	if (socks == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		return -1;
	}
	n = unix_paths(cfg->listen, cfg->n_listen, socks);
	if (cfg->tls_in != NULL)
		n += unix_paths(cfg->tls_in->listen, n_tls, socks + n);
	ret = egd_privs_drop("forwarder", cfg->d.user, cfg->d.group, socks, n,
			     err, sizeof(err));
	free(socks);
	return ret;
}

static int run(struct egf_config *cfg)
{
	static const int signums[4] = {SIGHUP, SIGUSR1, SIGTERM, SIGINT};
	ev_signal sigs[4];
	ev_timer tick;
	sigset_t block, old;
	int status = 1;

	signal(SIGPIPE, SIG_IGN);
	if (cfg->log_file != NULL) {
		log_to_file = true;
		if (open_log(cfg) == -1)
			return 1;
		/* The journal no longer reads stderr: lines get their time
		 * stamp again. Still single-threaded here. */
		unsetenv("JOURNAL_STREAM");
		egd_log_setup("edgeguard-forwarder", log_level);
	}
	if (cfg->tls_in != NULL && egd_tls_tickets_rotate() < 0) {
		egd_log(EGD_ERR, "cannot generate a session ticket key");
		return 1;
	}
	n_workers = cfg->d.workers;
	workers = calloc(n_workers, sizeof(*workers));
	if (workers == NULL || egf_worker_init(&admin, n_workers, false) == -1)
		goto out;
	for (unsigned i = 0; i < n_workers; i++)
		if (egf_worker_init(&workers[i], i, true) == -1)
			goto out;
	if (open_listeners(cfg) == -1 || drop_privileges(cfg) == -1) {
		egd_log(EGD_ERR, "%s", err);
		goto out;
	}
	egd_dconf_publish(egd_dconf_ref(&cfg->d));
	/* Workers inherit a mask with the handled signals blocked, so they
	 * are delivered to the main loop only. */
	sigemptyset(&block);
	for (int i = 0; i < 4; i++)
		sigaddset(&block, signums[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned i = 0; i < n_workers; i++)
		if (egd_worker_start(&workers[i].core) == -1) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			egd_log(EGD_ERR, "cannot start worker %u", i);
			goto out_stop;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	egd_worker_start(&admin.core);
	for (int i = 0; i < 4; i++) {
		ev_signal_init(&sigs[i], signal_cb, signums[i]);
		ev_signal_start(admin.loop, &sigs[i]);
	}
	ev_timer_init(&tick, tick_cb, WATCH_INTERVAL_S, WATCH_INTERVAL_S);
	ev_timer_start(admin.loop, &tick);
	if (cfg->tls_in != NULL)
		next_rotation =
			ev_now(admin.loop) + cfg->tls_in->ticket_key_rotation_s;
	egd_log(EGD_NOTICE, "edgeguard-forwarder %s: %u workers, %zu origins",
		eg_version(), n_workers, cfg->n_origins);
	sd_notify(0, "READY=1");
	ev_run(admin.loop, 0);
	ev_timer_stop(admin.loop, &tick);
	for (int i = 0; i < 4; i++)
		ev_signal_stop(admin.loop, &sigs[i]);
	status = 0;
out_stop:
	for (unsigned i = 0; i < n_workers; i++)
		if (workers[i].started)
			egd_worker_post_stop(&workers[i].core);
	for (unsigned i = 0; i < n_workers; i++)
		if (workers[i].started)
			egd_worker_join(&workers[i].core);
out:
	for (unsigned i = 0; workers != NULL && i < n_workers; i++)
		egf_worker_free(&workers[i]);
	egf_worker_free(&admin);
	free(workers);
	egd_dconf_publish(NULL);
	egd_tls_tickets_clear();
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"check-origin", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct egf_config *cfg = NULL;
	const char *probe = NULL;
	bool test = false;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "c:tdVh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'd':
			log_level = EGD_DEBUG;
			break;
		case 'O':
			probe = optarg;
			break;
		case 'V':
			printf("edgeguard-forwarder %s\n", eg_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	egd_log_setup("edgeguard-forwarder", log_level);
	if (probe != NULL)
		return egf_probe_origin(config_path, probe, stdout);
	if (egf_config_load(config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "edgeguard-forwarder: %s\n", err);
		if (test)
			fprintf(stderr, "configuration file %s test failed\n",
				config_path);
		return 1;
	}
	if (test) {
		printf("configuration file %s test is successful\n",
		       config_path);
		egf_config_unref(cfg);
		return 0;
	}
	status = run(cfg);
	egf_config_unref(cfg);
	return status;
}
