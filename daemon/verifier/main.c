/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/privs.h"
#include "core/net.h"
#include "verifier/metrics.h"
#include "verifier/verifier.h"

#define DEFAULT_CONFIG SYSCONFDIR "/edgeguard/verifier.conf"

static const struct vf_config *cfg_of(const struct egd_dconf *d)
{
	return (const struct vf_config *)(const void *)d;
}

static struct vf_worker *worker_of(struct egd_worker *w)
{
	return egd_container_of(w, struct vf_worker, core);
}

static int load(const char *path, bool test, struct egd_dconf **out, char *err,
		size_t errlen)
{
	struct vf_config *c = NULL;

	if (vf_config_load(path, !test, vf_tls_verify_cb, &c, err, errlen) < 0)
		return -1;
	*out = &c->d;
	return 0;
}

static bool same_listeners(const struct egd_dconf *da,
			   const struct egd_dconf *db)
{
	const struct vf_config *a = cfg_of(da), *b = cfg_of(db);

	if (a->n_listen != b->n_listen ||
	    a->authz_enabled != b->authz_enabled ||
	    (a->authz_enabled && !egd_addr_equal(&a->authz, &b->authz)))
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (!egd_addr_equal(&a->listen[i], &b->listen[i]))
			return false;
	return true;
}

static int worker_init(struct egd_worker *w, unsigned id, bool threaded)
{
	return vf_worker_init(worker_of(w), id, threaded);
}

static void worker_free(struct egd_worker *w)
{
	vf_worker_free(worker_of(w));
}

/* A unix socket is one fd shared by every worker (SO_REUSEPORT does not
 * apply to it), owned by worker 0. */
static int open_listeners(struct egd_daemon *d, const struct egd_dconf *dc,
			  char *err, size_t errlen)
{
	const struct vf_config *cfg = cfg_of(dc);
	struct egd_worker *w0 = d->workers[0];
	int authz_unix = -1;

	if (cfg->authz_enabled && cfg->authz.is_unix) {
		authz_unix = egd_listen(&cfg->authz, false, 1024, err, errlen);
		if (authz_unix == -1)
			return -1;
	}
	for (unsigned i = 0; i < d->n_workers; i++) {
		for (size_t j = 0; j < cfg->n_listen; j++)
			if (egd_daemon_listen(d->workers[i], VF_PROXY, false,
					      &cfg->listen[j], -1, true, err,
					      errlen) == -1)
				goto fail;
		if (cfg->authz_enabled &&
		    egd_daemon_listen(d->workers[i], VF_AUTHZ, false,
				      &cfg->authz, authz_unix, i == 0, err,
				      errlen) == -1)
			goto fail;
	}
	return 0;
fail:
	/* Unless worker 0 took it, the shared fd is still ours to close. */
	if (authz_unix != -1 &&
	    (w0->n_listeners == 0 ||
	     w0->listeners[w0->n_listeners - 1].fd != authz_unix))
		close(authz_unix);
	return -1;
}

/* Hands the authz unix socket to the proxy's group, then drops root. */
static int drop_privileges(const struct egd_dconf *dc, char *err, size_t errlen)
{
	const struct vf_config *cfg = cfg_of(dc);
	const char *sock = NULL;

	if (cfg->authz_enabled && cfg->authz.is_unix)
		sock = ((const struct sockaddr_un *)&cfg->authz.ss)->sun_path;
	return egd_privs_drop("verifier", cfg->d.user, cfg->d.group, &sock,
			      sock ? 1 : 0, err, errlen);
}

static long ticket_rotation_s(const struct egd_dconf *dc)
{
	return (long)cfg_of(dc)->ticket_key_rotation_s;
}

static void reopen(const struct egd_dconf *dc)
{
	const struct vf_config *cfg = cfg_of(dc);

	if (cfg->audit != NULL && eg_audit_log_reopen(cfg->audit) < 0)
		egd_log(EGD_ERR, "audit log reopen failed");
}

/* Writes the aggregated audit records that are due. */
static void tick(const struct egd_dconf *dc)
{
	const struct vf_config *cfg = cfg_of(dc);
	struct timespec ts;

	if (cfg->audit == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	eg_audit_log_flush(cfg->audit,
			   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void started(const struct egd_daemon *d, const struct egd_dconf *dc)
{
	egd_log(EGD_NOTICE, "edgeguard-verifier %s: %u workers, backend %s",
		eg_version(), d->n_workers, cfg_of(dc)->backend_text);
}

static const struct egd_daemon_ops verifier_ops = {
	.name = "edgeguard-verifier",
	.default_config = DEFAULT_CONFIG,
	.usage = "usage: edgeguard-verifier [-c FILE] [-t] [-d] [-V]\n"
		 "  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		 "  -t       test the configuration and exit\n"
		 "  -d       debug logging\n"
		 "  -V       print the version and exit\n",
	.load = load,
	.same_listeners = same_listeners,
	.worker_size = sizeof(struct vf_worker),
	.worker_init = worker_init,
	.worker_free = worker_free,
	.admin_kind = VF_ADMIN,
	.open_listeners = open_listeners,
	.drop_privileges = drop_privileges,
	.ticket_rotation_s = ticket_rotation_s,
	.reopen = reopen,
	.tick = tick,
	.started = started,
};

int main(int argc, char **argv)
{
	return egd_daemon_main(&verifier_ops, argc, argv);
}
