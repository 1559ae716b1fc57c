/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

#include <edgeguard/edgeguard.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/privs.h"
#include "core/net.h"
#include "forwarder/forwarder.h"

#define DEFAULT_CONFIG SYSCONFDIR "/edgeguard/forwarder.conf"

static const char *probe; /* --check-origin NAME */

static const struct egf_config *cfg_of(const struct egd_dconf *d)
{
	return (const struct egf_config *)(const void *)d;
}

static struct egf_worker *worker_of(struct egd_worker *w)
{
	return egd_container_of(w, struct egf_worker, core);
}

static int option(int opt, const char *arg)
{
	if (opt != 'O')
		return -1;
	probe = arg;
	return 0;
}

static int command(const char *config_path)
{
	return probe ? egf_probe_origin(config_path, probe, stdout) : -1;
}

static int load(const char *path, bool test, struct egd_dconf **out, char *err,
		size_t errlen)
{
	struct egf_config *c = NULL;

	(void)test;
	if (egf_config_load(path, &c, err, errlen) < 0)
		return -1;
	*out = &c->d;
	return 0;
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

static bool same_listeners(const struct egd_dconf *da,
			   const struct egd_dconf *db)
{
	const struct egf_config *a = cfg_of(da), *b = cfg_of(db);
	const struct egf_tls_in *ta = a->tls_in, *tb = b->tls_in;

	return same_addrs(a->listen, a->n_listen, b->listen, b->n_listen) &&
	       same_addrs(ta ? ta->listen : NULL, ta ? ta->n_listen : 0,
			  tb ? tb->listen : NULL, tb ? tb->n_listen : 0);
}

static int worker_init(struct egd_worker *w, unsigned id, bool threaded)
{
	return egf_worker_init(worker_of(w), id, threaded);
}

static void worker_free(struct egd_worker *w)
{
	egf_worker_free(worker_of(w));
}

/* A unix socket is one fd shared by every worker (SO_REUSEPORT does not
 * apply to it), owned by worker 0. */
static int open_proxy_listeners(struct egd_daemon *d,
				const struct egd_addr *addrs, size_t n,
				bool tls, char *err, size_t errlen)
{
	for (size_t j = 0; j < n; j++) {
		int shared = -1;

		if (addrs[j].is_unix &&
		    (shared = egd_listen(&addrs[j], false, 1024, err,
					 errlen)) == -1)
			return -1;
		for (unsigned i = 0; i < d->n_workers; i++)
			if (egd_daemon_listen(d->workers[i], EGF_PROXY, tls,
					      &addrs[j], shared, i == 0, err,
					      errlen) == -1) {
				/* Unless worker 0 took it, it is ours. */
				if (i == 0 && shared != -1)
					close(shared);
				return -1;
			}
	}
	return 0;
}

static int open_listeners(struct egd_daemon *d, const struct egd_dconf *dc,
			  char *err, size_t errlen)
{
	const struct egf_config *cfg = cfg_of(dc);

	if (open_proxy_listeners(d, cfg->listen, cfg->n_listen, false, err,
				 errlen) == -1 ||
	    (cfg->tls_in != NULL &&
	     open_proxy_listeners(d, cfg->tls_in->listen, cfg->tls_in->n_listen,
				  true, err, errlen) == -1))
		return -1;
	return 0;
}

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

/* Hands the unix listeners to the edge proxy's group, then drops root. */
static int drop_privileges(const struct egd_dconf *dc, char *err, size_t errlen)
{
	const struct egf_config *cfg = cfg_of(dc);
	size_t n_tls = cfg->tls_in ? cfg->tls_in->n_listen : 0;
	const char **socks = calloc(cfg->n_listen + n_tls + 1, sizeof(*socks));
	size_t n;
	int ret;

	if (socks == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = unix_paths(cfg->listen, cfg->n_listen, socks);
	if (cfg->tls_in != NULL)
		n += unix_paths(cfg->tls_in->listen, n_tls, socks + n);
	ret = egd_privs_drop("forwarder", cfg->d.user, cfg->d.group, socks, n,
			     err, errlen);
	free(socks);
	return ret;
}

static long ticket_rotation_s(const struct egd_dconf *dc)
{
	const struct egf_tls_in *t = cfg_of(dc)->tls_in;

	return t ? (long)t->ticket_key_rotation_s : -1;
}

static void started(const struct egd_daemon *d, const struct egd_dconf *dc)
{
	egd_log(EGD_NOTICE, "edgeguard-forwarder %s: %u workers, %zu origins",
		eg_version(), d->n_workers, cfg_of(dc)->n_origins);
}

static const struct option longopts[] = {
	{"check-origin", required_argument, NULL, 'O'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}};

static const struct egd_daemon_ops forwarder_ops = {
	.name = "edgeguard-forwarder",
	.default_config = DEFAULT_CONFIG,
	.usage =
		"usage: edgeguard-forwarder [-c FILE] [-t] [-d] [-V]\n"
		"       edgeguard-forwarder [-c FILE] --check-origin NAME\n"
		"  -c FILE             configuration (default " DEFAULT_CONFIG
		")\n"
		"  -t                  test the configuration and exit\n"
		"  -d                  debug logging\n"
		"  -V                  print the version and exit\n"
		"  --check-origin NAME connect to origin NAME with its client\n"
		"                      certificate and tell whether it admits "
		"it\n",
	.longopts = longopts,
	.option = option,
	.command = command,
	.load = load,
	.same_listeners = same_listeners,
	.worker_size = sizeof(struct egf_worker),
	.worker_init = worker_init,
	.worker_free = worker_free,
	.admin_kind = EGF_ADMIN,
	.open_listeners = open_listeners,
	.drop_privileges = drop_privileges,
	.ticket_rotation_s = ticket_rotation_s,
	.started = started,
};

int main(int argc, char **argv)
{
	return egd_daemon_main(&forwarder_ops, argc, argv);
}
