/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/prom.h"
#include "core/tls.h"

static atomic_ulong reloads[2]; /* by ok */

static const double lat_le[EGD_LAT_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

void egd_histogram_observe(struct egd_histogram *h, double seconds)
{
	unsigned i = 0;

	while (i < EGD_LAT_BUCKETS && seconds > lat_le[i])
		i++;
	egd_count(&h->bucket[i]);
	atomic_fetch_add_explicit(&h->sum_us, (unsigned long)(seconds * 1e6),
				  memory_order_relaxed);
}

void egd_prom_reloaded(bool ok)
{
	egd_count(&reloads[ok]);
}

int egd_prom_reloads(struct egd_buf *out)
{
	return egd_prom_printf(
		out,
		"# TYPE edgeguard_reloads_total counter\n"
		"edgeguard_reloads_total{result=\"ok\"} %lu\n"
		"edgeguard_reloads_total{result=\"error\"} %lu\n",
		egd_prom_get(&reloads[true]), egd_prom_get(&reloads[false]));
}

unsigned egd_prom_name_slot(struct egd_prom_names *t, const char *name)
{
	unsigned n = egd_prom_names_count(t);
	unsigned slot = t->max;

	for (unsigned i = 0; i < n; i++)
		if (strncmp(t->name[i], name, EGD_PROM_NAME_MAX - 1) == 0)
			return i;
	pthread_mutex_lock(&t->lock);
	n = atomic_load_explicit(&t->n, memory_order_relaxed);
	for (unsigned i = 0; i < n && slot == t->max; i++)
		if (strncmp(t->name[i], name, EGD_PROM_NAME_MAX - 1) == 0)
			slot = i;
	if (slot == t->max && n < t->max) {
		slot = n;
		snprintf(t->name[slot], EGD_PROM_NAME_MAX, "%s",
			 n == t->max - 1 ? "(other)" : name);
		atomic_store_explicit(&t->n, n + 1, memory_order_release);
	}
	if (slot == t->max)
		slot = t->max - 1;
	pthread_mutex_unlock(&t->lock);
	return slot;
}

int egd_prom_printf(struct egd_buf *out, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	/* One more byte for the terminator vsnprintf() writes. */
	if (n < 0 || egd_buf_reserve(out, (size_t)n + 1) == -1 ||
	    egd_buf_space(out) < (size_t)n + 1) {
		va_end(ap2);
		return -1;
	}
	vsnprintf(egd_buf_tail(out), (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	egd_buf_commit(out, (size_t)n);
	return 0;
}

void egd_prom_label(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (; *src != '\0' && o + 3 < len; src++) {
		if (*src == '"' || *src == '\\') {
			dst[o++] = '\\';
			dst[o++] = *src;
		} else if (*src == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = *src;
		}
	}
	dst[o] = '\0';
}

int egd_prom_histogram(struct egd_buf *out, const char *name, const char *help,
		       struct egd_histogram *h)
{
	unsigned long cum = 0;

	EGD_PROM_OUT(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help,
		     name);
	for (int i = 0; i < EGD_LAT_BUCKETS; i++) {
		cum += egd_prom_get(&h->bucket[i]);
		EGD_PROM_OUT(out, "%s_bucket{le=\"%g\"} %lu\n", name, lat_le[i],
			     cum);
	}
	cum += egd_prom_get(&h->bucket[EGD_LAT_BUCKETS]);
	EGD_PROM_OUT(out,
		     "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n",
		     name, cum, name, (double)egd_prom_get(&h->sum_us) / 1e6,
		     name, cum);
	return 0;
}

int egd_prom_expiry_head(struct egd_buf *out, const char *help)
{
	return egd_prom_printf(
		out,
		"# HELP edgeguard_certificate_expiry_timestamp_seconds %s\n"
		"# TYPE edgeguard_certificate_expiry_timestamp_seconds gauge\n",
		help);
}

int egd_prom_creds_expiry(struct egd_buf *out, const char *kind,
			  const char *origin, const char *file,
			  const struct egd_tls_creds *c)
{
	return egd_prom_expiry(out, kind, origin, file, c->cert_subject,
			       (long long)c->cert_not_after);
}

int egd_prom_expiry(struct egd_buf *out, const char *kind, const char *origin,
		    const char *file, const char *subject, long long when)
{
	char o[160], f[300], s[300];

	egd_prom_label(o, sizeof(o), origin ? origin : "");
	egd_prom_label(f, sizeof(f), file ? file : "");
	egd_prom_label(s, sizeof(s), subject ? subject : "");
	return egd_prom_printf(
		out,
		"edgeguard_certificate_expiry_timestamp_seconds{kind=\"%s\""
		"%s%s%s,file=\"%s\",subject=\"%s\"} %lld\n",
		kind, origin ? ",origin=\"" : "", o, origin ? "\"" : "", f, s,
		when);
}
