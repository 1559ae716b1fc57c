/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "core/log.h"
#include "core/privs.h"
#include "core/net.h"
#include "core/tls.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

#define DEFAULT_CONFIG	 SYSCONFDIR "/edgeguard/verifier.conf"
#define WATCH_INTERVAL_S 2.0

static const char *config_path = DEFAULT_CONFIG;
static struct vf_worker *workers; /* cfg->workers threads */
static unsigned n_workers;
static struct vf_worker admin; /* the main thread's loop */
static ev_tstamp next_rotation;
static char err[1024];

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgeguard-verifier [-c FILE] [-t] [-d] [-V]\n"
		"  -c FILE  configuration (default %s)\n"
		"  -t       test the configuration and exit\n"
		"  -d       debug logging\n"
		"  -V       print the version and exit\n",
		DEFAULT_CONFIG);
}

static bool same_listeners(const struct vf_config *a, const struct vf_config *b)
{
	if (a->n_listen != b->n_listen || a->d.workers != b->d.workers ||
	    a->d.admin_enabled != b->d.admin_enabled ||
	    a->authz_enabled != b->authz_enabled ||
	    (a->d.admin_enabled && !egd_addr_equal(&a->d.admin, &b->d.admin)) ||
	    (a->authz_enabled && !egd_addr_equal(&a->authz, &b->authz)))
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (!egd_addr_equal(&a->listen[i], &b->listen[i]))
			return false;
	return true;
}

static void reload(const char *why)
{
	struct vf_config *cur = vf_config_current();
	struct vf_config *next = NULL;
	struct timespec now;

	/* systemd's notify-reload protocol wants the reload's start time. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)now.tv_sec * 1000000ULL +
			   (unsigned long long)now.tv_nsec / 1000ULL);
	egd_log(EGD_NOTICE, "reloading %s (%s)", config_path, why);
	if (vf_config_load(config_path, true, vf_tls_verify_cb, &next, err,
			   sizeof(err)) < 0) {
		vf_count(&vf_metrics.reload_errors);
		egd_log(EGD_ERR,
			"reload failed, the previous configuration stays in "
			"force: %s",
			err);
	} else {
		if (cur != NULL && !same_listeners(cur, next))
			egd_log(EGD_WARN, "listen addresses and workers "
					  "change only at restart");
		egd_dconf_publish(&next->d);
		for (unsigned i = 0; i < n_workers; i++)
			egd_worker_post_refresh(&workers[i].core);
		vf_count(&vf_metrics.reloads);
		egd_log(EGD_NOTICE, "configuration reloaded");
	}
	vf_config_unref(cur);
	sd_notify(0, "READY=1");
}

static void signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct vf_config *cfg;

	(void)revents;
	switch (s->signum) {
	case SIGHUP:
		reload("SIGHUP");
		break;
	case SIGUSR1:
		cfg = vf_config_current();
		if (cfg != NULL && cfg->audit != NULL &&
		    eg_audit_log_reopen(cfg->audit) < 0)
			egd_log(EGD_ERR, "audit log reopen failed");
		vf_config_unref(cfg);
		break;
	default:
		egd_log(EGD_NOTICE, "shutting down (signal %d)", s->signum);
		sd_notify(0, "STOPPING=1");
		ev_break(loop, EVBREAK_ALL);
		break;
	}
}

/* Once a second: aggregated audit records, ticket key, replaced files. */
static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	static ev_tstamp next_watch;
	struct vf_config *cfg = vf_config_current();
	ev_tstamp now = ev_now(loop);
	struct timespec ts;

	(void)t;
	(void)revents;
	if (cfg == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (cfg->audit != NULL)
		eg_audit_log_flush(cfg->audit, (int64_t)ts.tv_sec * 1000 +
						       ts.tv_nsec / 1000000);
	if (cfg->ticket_key_rotation_s > 0 && now >= next_rotation) {
		if (egd_tls_tickets_rotate() < 0)
			egd_log(EGD_ERR, "session ticket key rotation failed");
		next_rotation = now + cfg->ticket_key_rotation_s;
	}
	if (now >= next_watch) {
		next_watch = now + WATCH_INTERVAL_S;
		if (egd_watch_changed(&cfg->d.watch)) {
			vf_config_unref(cfg);
			reload("certificate or CA file changed");
			return;
		}
	}
	vf_config_unref(cfg);
}

static int open_listener(struct vf_worker *w, enum vf_kind kind,
			 const struct egd_addr *a, int shared_fd, bool owns)
{
	int fd = shared_fd;

	if (fd == -1) {
		fd = egd_listen(a, true, 1024, err, sizeof(err));
		if (fd == -1)
			return -1;
		owns = true;
	}
	if (egd_worker_add_listener(&w->core, kind, false, fd, owns) == -1) {
		snprintf(err, sizeof(err), "out of memory");
		if (shared_fd == -1)
			close(fd);
		return -1;
	}
	return 0;
}

/* Binds everything while still privileged. A unix socket is one fd shared
 * by every worker (SO_REUSEPORT does not apply to it), owned by worker 0. */
static int open_listeners(const struct vf_config *cfg)
{
	int authz_unix = -1;

	if (cfg->authz_enabled && cfg->authz.is_unix) {
		authz_unix =
			egd_listen(&cfg->authz, false, 1024, err, sizeof(err));
		if (authz_unix == -1)
			return -1;
	}
	for (unsigned i = 0; i < n_workers; i++) {
		for (size_t j = 0; j < cfg->n_listen; j++)
			if (open_listener(&workers[i], VF_PROXY,
					  &cfg->listen[j], -1, true) == -1)
				goto fail;
		if (cfg->authz_enabled &&
		    open_listener(&workers[i], VF_AUTHZ, &cfg->authz,
				  authz_unix, i == 0) == -1)
			goto fail;
	}
	if (cfg->d.admin_enabled &&
	    open_listener(&admin, VF_ADMIN, &cfg->d.admin, -1, true) == -1)
		return -1;
	return 0;
fail:
	/* Unless worker 0 took it, the shared fd is still ours to close. */
	if (authz_unix != -1 &&
	    (workers[0].n_listeners == 0 ||
	     workers[0].listeners[workers[0].n_listeners - 1].fd != authz_unix))
		close(authz_unix);
	return -1;
}

/* Hands the authz unix socket to the proxy's group, then drops root. */
static int drop_privileges(const struct vf_config *cfg)
{
	const char *sock = NULL;

	if (cfg->authz_enabled && cfg->authz.is_unix)
		sock = ((const struct sockaddr_un *)&cfg->authz.ss)->sun_path;
	return egd_privs_drop("verifier", cfg->d.user, cfg->d.group, &sock,
			      sock ? 1 : 0, err, sizeof(err));
}

int main(int argc, char **argv)
{
	struct vf_config *cfg = NULL;
	bool test = false;
	enum egd_level level = EGD_INFO;
	ev_signal sigs[4];
	static const int signums[4] = {SIGHUP, SIGUSR1, SIGTERM, SIGINT};
	ev_timer tick;
	sigset_t block, old;
	int opt, status = 1;

	while ((opt = getopt(argc, argv, "c:tdVh")) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'd':
			level = EGD_DEBUG;
			break;
		case 'V':
			printf("edgeguard-verifier %s\n", eg_version());
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
	egd_log_setup("edgeguard-verifier", level);
	if (vf_config_load(config_path, !test, vf_tls_verify_cb, &cfg, err,
			   sizeof(err)) < 0) {
		fprintf(stderr, "edgeguard-verifier: %s\n", err);
		if (test)
			fprintf(stderr, "configuration file %s test failed\n",
				config_path);
		return 1;
	}
	if (test) {
		printf("configuration file %s test is successful\n",
		       config_path);
		vf_config_unref(cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (egd_tls_tickets_rotate() < 0) {
		egd_log(EGD_ERR, "cannot generate a session ticket key");
		goto out;
	}
	n_workers = cfg->d.workers;
	workers = calloc(n_workers, sizeof(*workers));
	if (workers == NULL || vf_worker_init(&admin, n_workers, false) == -1)
		goto out;
	for (unsigned i = 0; i < n_workers; i++)
		if (vf_worker_init(&workers[i], i, true) == -1)
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
	ev_timer_init(&tick, tick_cb, 1.0, 1.0);
	ev_timer_start(admin.loop, &tick);
	next_rotation = ev_now(admin.loop) + cfg->ticket_key_rotation_s;
	egd_log(EGD_NOTICE, "edgeguard-verifier %s: %u workers, backend %s",
		eg_version(), n_workers, cfg->backend_text);
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
		vf_worker_free(&workers[i]);
	vf_worker_free(&admin);
	free(workers);
	egd_dconf_publish(NULL);
	vf_config_unref(cfg);
	egd_tls_tickets_clear();
	return status;
}
