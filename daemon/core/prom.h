/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EG_DAEMON_CORE_PROM_H
#define EG_DAEMON_CORE_PROM_H

/*
 * Prometheus text exposition (version 0.0.4) for the daemons' /metrics:
 * counters and gauges updated by workers with relaxed atomics (no lock on
 * the data path), a latency histogram, and the rendering helpers. Every
 * render function appends to a buffer it grows as needed and returns 0, or
 * -1 when out of memory (the caller answers 500).
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

static inline void egd_count(atomic_ulong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline void egd_gauge(atomic_long *g, long delta)
{
	atomic_fetch_add_explicit(g, delta, memory_order_relaxed);
}

static inline unsigned long egd_prom_get(atomic_ulong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Request latency: the same bucket bounds for both daemons, from 1 ms to
 * 10 s; bucket[EGD_LAT_BUCKETS] counts the slower ones. */
#define EGD_LAT_BUCKETS 12

struct egd_histogram {
	atomic_ulong bucket[EGD_LAT_BUCKETS + 1]; /* not cumulative */
	atomic_ulong sum_us;
};

void egd_histogram_observe(struct egd_histogram *h, double seconds);

/* A bounded, append-only table of names that label counters (policy
 * rules, origins): they come and go with reloads, the table keeps every
 * name seen; the last slot is named "(other)" and gathers the overflow.
 * The caller keeps its counters in an array of `max` entries indexed like
 * the table. */
#define EGD_PROM_NAME_MAX 64

struct egd_prom_names {
	pthread_mutex_t lock;
	char (*name)[EGD_PROM_NAME_MAX]; /* borrowed: max slots */
	unsigned max;			 /* at least 1 */
	atomic_uint n;			 /* slots in use */
};

#define EGD_PROM_NAMES_INIT(storage, count)                                    \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, storage, count, 0                   \
	}

/* The slot of `name` (cut to EGD_PROM_NAME_MAX - 1 bytes), taken on first
 * sight; lock-free once it exists. Always < t->max. */
unsigned egd_prom_name_slot(struct egd_prom_names *t, const char *name);

/* Slots in use: their names are stable and may be read without a lock. */
static inline unsigned egd_prom_names_count(struct egd_prom_names *t)
{
	return atomic_load_explicit(&t->n, memory_order_acquire);
}

/* printf-style append of any length. Returns 0 or -1. */
int egd_prom_printf(struct egd_buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends and returns -1 from the calling render function on failure. */
#define EGD_PROM_OUT(out, ...)                                                 \
	do {                                                                   \
		if (egd_prom_printf(out, __VA_ARGS__) == -1)                   \
			return -1;                                             \
	} while (0)

/* Counts a configuration reload, done or failed (core/daemon.c does), and
 * renders both counts as edgeguard_reloads_total (0 or -1). */
void egd_prom_reloaded(bool ok);
int egd_prom_reloads(struct egd_buf *out);

/* Copies src into dst (len bytes, always terminated; a longer value is
 * cut) escaped as a label value: label values come from certificates and
 * configuration files. */
void egd_prom_label(char *dst, size_t len, const char *src);

/* Renders h as the histogram `name` (its _bucket, _sum and _count series)
 * under HELP text `help`. Returns 0 or -1. */
int egd_prom_histogram(struct egd_buf *out, const char *name, const char *help,
		       struct egd_histogram *h);

/* The HELP (text `help`) and TYPE lines of
 * edgeguard_certificate_expiry_timestamp_seconds. Returns 0 or -1. */
int egd_prom_expiry_head(struct egd_buf *out, const char *help);

/* One edgeguard_certificate_expiry_timestamp_seconds sample: labels kind,
 * origin (left out when NULL), file and subject, escaped here. Returns 0
 * or -1. */
int egd_prom_expiry(struct egd_buf *out, const char *kind, const char *origin,
		    const char *file, const char *subject, long long when);

struct egd_tls_creds;

/* The sample of the certificate of c (core/tls.h), loaded from `file`. */
int egd_prom_creds_expiry(struct egd_buf *out, const char *kind,
			  const char *origin, const char *file,
			  const struct egd_tls_creds *c);

#endif
