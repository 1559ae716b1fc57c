/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "verifier/verifier.h"

static struct vf_worker *vf_worker_of(struct egd_worker *core)
{
	return egd_container_of(core, struct vf_worker, core);
}

static void accept_conn(struct egd_worker *core, const struct egd_listener *l,
			int fd, const struct sockaddr *sa, socklen_t salen)
{
	vf_conn_accept(vf_worker_of(core), (enum vf_kind)l->kind, fd, sa,
		       salen);
}

struct vf_config *vf_worker_config(struct vf_worker *w)
{
	unsigned gen = egd_dconf_generation();

	if (w->cfg == NULL || gen != w->cfg_gen) {
		struct vf_config *c = vf_config_current();

		if (c != NULL) {
			vf_config_unref(w->cfg);
			w->cfg = c;
			w->cfg_gen = gen;
		}
	}
	return w->cfg;
}

/* Pooled backend connections were made for the previous configuration. */
static void refresh(struct egd_worker *core)
{
	struct vf_worker *w = vf_worker_of(core);

	vf_worker_config(w);
	vf_pool_flush(w);
}

static unsigned drain(struct egd_worker *core)
{
	struct vf_worker *w = vf_worker_of(core);
	struct vf_conn *c, *next;

	vf_pool_flush(w);
	for (c = LIST_FIRST(&w->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, link);
		/* Idle keep-alive connections go now; the others after the
		 * response in progress. */
		if (c->rq == RQ_HEAD && c->rs == RS_NONE &&
		    c->head_start == 0 && !c->client.handshaking)
			vf_conn_close(c);
		else
			c->close_after = true;
	}
	return w->cfg ? w->cfg->limits.drain_timeout_ms : 10000;
}

static void close_all(struct egd_worker *core)
{
	struct vf_worker *w = vf_worker_of(core);

	while (!LIST_EMPTY(&w->conns))
		vf_conn_close(LIST_FIRST(&w->conns));
	vf_pool_flush(w);
}

static const struct egd_worker_ops ops = {
	.accept = accept_conn,
	.refresh = refresh,
	.drain = drain,
	.close_all = close_all,
};

int vf_worker_init(struct vf_worker *w, unsigned id, bool threaded)
{
	memset(w, 0, sizeof(*w));
	return egd_worker_init(&w->core, id, threaded, &ops);
}

void vf_worker_free(struct vf_worker *w)
{
	egd_worker_free(&w->core);
	vf_config_unref(w->cfg);
	w->cfg = NULL;
}
