/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <edgeguard/alloc.h>

#include "alloc.h"

static void *(*alloc_malloc)(size_t) = malloc;
static void *(*alloc_realloc)(void *, size_t) = realloc;
static void (*alloc_free)(void *) = free;

void eg_set_allocator(void *(*malloc_fn)(size_t),
		      void *(*realloc_fn)(void *, size_t),
		      void (*free_fn)(void *))
{
	alloc_malloc = malloc_fn ? malloc_fn : malloc;
	alloc_realloc = realloc_fn ? realloc_fn : realloc;
	alloc_free = free_fn ? free_fn : free;
	json_set_alloc_funcs(alloc_malloc, alloc_free);
}

void *eg_malloc(size_t n)
{
	return alloc_malloc(n ? n : 1);
}

void *eg_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	p = eg_malloc(nmemb * size);
	if (p != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

void *eg_realloc(void *p, size_t n)
{
	return alloc_realloc(p, n ? n : 1);
}

void eg_free(void *p)
{
	if (p != NULL)
		alloc_free(p);
}

char *eg_strdup(const char *s)
{
	return eg_memdup0(s, strlen(s));
}

char *eg_memdup0(const void *p, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = eg_malloc(n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}
