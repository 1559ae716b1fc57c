/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

/* The forwarder's connections from the edge proxy: accepting and closing
 * them; the exchange itself is the core's (core/exchange.h) with the
 * forwarder's ops (exchange.c). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/net.h"
#include "forwarder/forwarder.h"

/* The TLS session of a connection accepted on a TLS listener, or NULL
 * with the reason logged. */
static gnutls_session_t tls_session(struct egf_conn *c, int fd)
{
	gnutls_session_t s = NULL;
	int ret;

	/* A reload that dropped the tls group: its listeners stay until a
	 * restart, but there is no certificate to serve. */
	if (c->cfg->tls_in == NULL) {
		egd_log(EGD_WARN,
			"%s: TLS listener without a tls group in "
			"the configuration: closed",
			c->addr);
		return NULL;
	}
	ret = egf_tls_in_session(c->cfg->tls_in, fd, c, &s);
	if (ret < 0) {
		egd_log(EGD_ERR, "TLS session: %s", gnutls_strerror(ret));
		return NULL;
	}
	return s;
}

void egf_conn_accept(struct egf_worker *w, enum egf_kind kind, bool tls, int fd,
		     const struct sockaddr *sa, socklen_t salen)
{
	struct egf_config *cfg = egf_worker_config(w);
	struct egf_conn *c = NULL;
	gnutls_session_t s = NULL;
	char *colon;

	if (cfg == NULL || w->draining ||
	    w->n_conns >= cfg->limits.max_connections) {
		/* Overloaded: refuse at once rather than queue. */
		egf_count(&egf_metrics.connections_refused);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->kind = kind;
	c->cfg = egf_config_ref(cfg);
	egd_addr_format(sa, salen, c->addr, sizeof(c->addr));
	if ((tls && (s = tls_session(c, fd)) == NULL) ||
	    egd_exch_init(&c->x, &w->core, &egf_exch_ops, kind == EGF_PROXY, fd,
			  s, cfg->limits.max_header_bytes,
			  cfg->limits.max_headers) == -1) {
		if (s != NULL)
			gnutls_deinit(s);
		egf_config_unref(c->cfg);
		free(c);
		close(fd);
		return;
	}
	if (sa->sa_family != AF_UNIX) {
		snprintf(c->ip, sizeof(c->ip), "%s", c->addr);
		colon = strrchr(c->ip, ':');
		if (colon != NULL)
			*colon = '\0';
		if (c->ip[0] == '[') {
			/* "[v6]" as egd_addr_format() wrote it: bare. */
			memmove(c->ip, c->ip + 1, strlen(c->ip));
			c->ip[strlen(c->ip) - 1] = '\0';
		}
	}
	LIST_INSERT_HEAD(&w->conns, c, link);
	w->n_conns++;
	egf_gauge(&egf_metrics.active_connections, 1);
	egf_count(&egf_metrics.connections_total);
	egf_conn_pump(c);
}

void egf_conn_close(struct egf_conn *c)
{
	struct egf_worker *w = c->w;

	if (c->up != NULL)
		egf_upstream_release(c->up, false);
	egd_exch_free(&c->x);
	LIST_REMOVE(c, link);
	w->n_conns--;
	egf_gauge(&egf_metrics.active_connections, -1);
	egf_config_unref(c->rcfg);
	egf_config_unref(c->cfg);
	free(c);
	egf_worker_maybe_exit(w);
}
