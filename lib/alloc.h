/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_LIB_ALLOC_H
#define EG_LIB_ALLOC_H

/* The library's allocator (replaceable through eg_set_allocator()). Every
 * object the library allocates goes through these. */

#include <stddef.h>

#include <edgeguard/alloc.h> /* eg_free() */

void *eg_malloc(size_t n);
void *eg_calloc(size_t nmemb, size_t size);
void *eg_realloc(void *p, size_t n);
char *eg_strdup(const char *s);
char *eg_memdup0(const void *p, size_t n); /* n bytes plus a NUL */

#endif
