/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "forwarder/forwarder.h"

#define SWEEP_S 1.0

static struct egf_worker *egf_worker_of(struct egd_worker *core)
{
	return egd_container_of(core, struct egf_worker, core);
}

static void accept_conn(struct egd_worker *core, const struct egd_listener *l,
			int fd, const struct sockaddr *sa, socklen_t salen)
{
	egf_conn_accept(egf_worker_of(core), (enum egf_kind)l->kind, l->tls, fd,
			sa, salen);
}

struct egf_config *egf_worker_config(struct egf_worker *w)
{
	unsigned gen = egd_dconf_generation();
	struct egf_config *c;
	struct egf_pool *pools;

	if (w->cfg != NULL && gen == w->cfg_gen)
		return w->cfg;
	c = egf_config_current();
	if (c == NULL)
		return w->cfg;
	/* Connections made for the previous configuration may use old
	 * certificates: the idle ones go now, busy ones when released. */
	pools = calloc(c->n_origins, sizeof(*pools));
	if (pools == NULL && w->cfg != NULL) {
		egf_config_unref(c);
		return w->cfg; /* try again on the next request */
	}
	egf_pool_flush(w);
	free(w->pools);
	w->pools = pools;
	egf_config_unref(w->cfg);
	w->cfg = c;
	w->cfg_gen = gen;
	return w->cfg;
}

static void refresh(struct egd_worker *core)
{
	egf_worker_config(egf_worker_of(core));
}

static unsigned drain(struct egd_worker *core)
{
	struct egf_worker *w = egf_worker_of(core);
	struct egf_conn *c, *next;

	egf_pool_flush(w);
	for (c = LIST_FIRST(&w->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, link);
		/* Idle keep-alive connections go now; the others after the
		 * response in progress. */
		if (c->rq == RQ_HEAD && c->rs == RS_NONE && c->head_start == 0)
			egf_conn_close(c);
		else
			c->close_after = true;
	}
	return w->cfg ? w->cfg->limits.drain_timeout_ms : 10000;
}

static void close_all(struct egd_worker *core)
{
	struct egf_worker *w = egf_worker_of(core);

	while (!LIST_EMPTY(&w->conns))
		egf_conn_close(LIST_FIRST(&w->conns));
	egf_pool_flush(w);
}

static void sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct egf_worker *w = t->data;

	(void)loop;
	(void)revents;
	if (w == NULL || w->magic != EGD_WORKER_MAGIC)
		return;
	egf_pool_sweep(w);
}

static const struct egd_worker_ops ops = {
	.accept = accept_conn,
	.refresh = refresh,
	.drain = drain,
	.close_all = close_all,
};

int egf_worker_init(struct egf_worker *w, unsigned id, bool threaded)
{
	memset(w, 0, sizeof(*w));
	if (egd_worker_init(&w->core, id, threaded, &ops) == -1)
		return -1;
	ev_timer_init(&w->sweep_timer, sweep_cb, SWEEP_S, SWEEP_S);
	w->sweep_timer.data = w;
	ev_timer_start(w->loop, &w->sweep_timer);
	/* It must not keep a drained loop alive either. */
	ev_unref(w->loop);
	return 0;
}

void egf_worker_free(struct egf_worker *w)
{
	if (w->magic == EGD_WORKER_MAGIC) {
		ev_ref(w->loop);
		ev_timer_stop(w->loop, &w->sweep_timer);
	}
	egd_worker_free(&w->core);
	free(w->pools);
	w->pools = NULL;
	egf_config_unref(w->cfg);
	w->cfg = NULL;
}
