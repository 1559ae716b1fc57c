/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_POOL_H
#define EG_DAEMON_CORE_POOL_H

/*
 * A per-thread cache of fixed-size blocks for connection buffers and
 * parser arenas. A keep-alive connection gives its buffers back whenever it
 * waits for the next request, so an idle connection holds none, and the
 * next request takes them from here rather than from malloc. Blocks of a
 * few sizes are kept, up to a byte budget per thread; the rest goes back
 * to malloc. A thread's cache is freed when the thread exits.
 */

#include <stddef.h>

/* Under AddressSanitizer every block goes straight to malloc and free, so
 * a use after egd_pool_put() is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define EGD_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EGD_POOL_BYPASS 1
#endif
#endif

/* A block of `size` bytes (contents undefined), or NULL. */
void *egd_pool_get(size_t size);
/* Gives back a block from egd_pool_get() of the same size; NULL is a
 * no-op. */
void egd_pool_put(void *p, size_t size);

#endif
