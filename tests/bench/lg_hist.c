/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "loadgen.h"

void lg_hist_init(struct lg_hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned lg_hist_index(uint64_t v)
{
	unsigned e, top;

	if (v < LG_HIST_SUB)
		return (unsigned)v;
	/* e >= LG_HIST_SUB_BITS: keep the LG_HIST_SUB_BITS bits below the
	 * leading one as the position inside that power of two. */
	e = 63u - (unsigned)__builtin_clzll(v);
	top = (unsigned)(v >> (e - LG_HIST_SUB_BITS));
	return LG_HIST_SUB + (e - LG_HIST_SUB_BITS) * LG_HIST_SUB +
	       (top - LG_HIST_SUB);
}

uint64_t lg_hist_bucket_high(unsigned idx)
{
	unsigned k, sub;

	if (idx < LG_HIST_SUB)
		return idx;
	k = (idx - LG_HIST_SUB) / LG_HIST_SUB;
	sub = (idx - LG_HIST_SUB) % LG_HIST_SUB + LG_HIST_SUB;
	/* The last bucket's top wraps to UINT64_MAX, as it should. */
	return (((uint64_t)sub + 1) << k) - 1;
}

void lg_hist_record(struct lg_hist *h, uint64_t v)
{
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	h->b[lg_hist_index(v)]++;
}

void lg_hist_merge(struct lg_hist *dst, const struct lg_hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned i = 0; i < LG_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t rank, seen = 0;
	uint64_t high;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min;
	/* The smallest value with at least q of all values at or below. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			high = lg_hist_bucket_high(i);
			/* A bucket's top can lie above anything recorded. */
			return high < h->max ? high : h->max;
		}
	}
	return h->max;
}
