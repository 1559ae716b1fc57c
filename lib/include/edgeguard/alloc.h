/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EDGEGUARD_ALLOC_H
#define EDGEGUARD_ALLOC_H

#include <stddef.h>

/*
 * Replaces the allocator the library uses for its own objects (jansson's
 * included); meant for out-of-memory tests. Not thread-safe: call before any
 * other eg_ function. NULL arguments restore the libc functions.
 */
void eg_set_allocator(void *(*malloc_fn)(size_t),
		      void *(*realloc_fn)(void *, size_t),
		      void (*free_fn)(void *));

/* Frees memory the library handed to the caller; NULL is a no-op. */
void eg_free(void *ptr);

#endif
