/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/pool.h"

#define POOL_CLASSES 8
/* Enough for a few hundred requests in flight per worker; a larger burst
 * returns its surplus to malloc. */
#define POOL_MAX_BYTES ((size_t)16 << 20)

struct pool_block {
	struct pool_block *next;
};

struct pool_class {
	size_t size;
	struct pool_block *head;
};

struct pool {
	struct pool_class cls[POOL_CLASSES];
	size_t bytes; /* held in all classes */
};

#ifndef EGD_POOL_BYPASS
static __thread struct pool *thread_pool;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_destroy(void *arg)
{
	struct pool *p = arg;

	for (int i = 0; i < POOL_CLASSES; i++) {
		while (p->cls[i].head != NULL) {
			struct pool_block *b = p->cls[i].head;

			p->cls[i].head = b->next;
			free(b);
		}
	}
	free(p);
}

static void pool_key_create(void)
{
	if (pthread_key_create(&pool_key, pool_destroy) != 0)
		abort(); /* only EAGAIN/ENOMEM at start-up */
}

static struct pool *pool_self(void)
{
	if (thread_pool == NULL) {
		pthread_once(&pool_once, pool_key_create);
		thread_pool = calloc(1, sizeof(*thread_pool));
		if (thread_pool != NULL &&
		    pthread_setspecific(pool_key, thread_pool) != 0) {
			free(thread_pool);
			thread_pool = NULL;
		}
	}
	return thread_pool;
}

/* The class for `size`, made when there is a free slot, or NULL. */
static struct pool_class *pool_class(struct pool *p, size_t size, bool make)
{
	for (int i = 0; i < POOL_CLASSES; i++) {
		if (p->cls[i].size == size)
			return &p->cls[i];
		if (p->cls[i].size == 0) {
			if (!make)
				return NULL;
			p->cls[i].size = size;
			return &p->cls[i];
		}
	}
	return NULL;
}
#endif

void *egd_pool_get(size_t size)
{
#ifndef EGD_POOL_BYPASS
	struct pool *p = thread_pool;
	struct pool_class *c;

	if (p != NULL && (c = pool_class(p, size, false)) != NULL &&
	    c->head != NULL) {
		struct pool_block *b = c->head;

		c->head = b->next;
		p->bytes -= size;
		return b;
	}
#endif
	/* A block must hold the free-list link. */
	return malloc(size < sizeof(void *) ? sizeof(void *) : size);
}

void egd_pool_put(void *ptr, size_t size)
{
#ifndef EGD_POOL_BYPASS
	struct pool *p;
	struct pool_class *c;

	if (ptr == NULL)
		return;
	if (size >= sizeof(struct pool_block) && size <= POOL_MAX_BYTES &&
	    (p = pool_self()) != NULL && p->bytes + size <= POOL_MAX_BYTES &&
	    (c = pool_class(p, size, true)) != NULL) {
		struct pool_block *b = ptr;

		b->next = c->head;
		c->head = b;
		p->bytes += size;
		return;
	}
#else
	(void)size;
#endif
	free(ptr);
}
