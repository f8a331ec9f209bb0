/* SPDX-License-Identifier: MIT */
/*
 * bench/hist.c - the log-linear histogram (see hist.h for the error bound).
 */
#include <math.h>
#include <string.h>

#include "hist.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Bucket of @v: values below HIST_SUB are their own bucket; above, the
 * exponent picks a group of HIST_SUB buckets and the HIST_SUB_BITS bits
 * below the leading one pick the bucket in it. */
static uint64_t bucket_of(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	return (uint64_t)(e - HIST_SUB_BITS + 1) * HIST_SUB +
	       ((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The smallest value of bucket @b and its width. */
static void bucket_range(uint64_t b, uint64_t *lo, uint64_t *width)
{
	uint64_t group = b / HIST_SUB, sub = b % HIST_SUB;
	unsigned e;

	if (group == 0) {
		*lo = b;
		*width = 1;
		return;
	}
	e = (unsigned)group + HIST_SUB_BITS - 1;
	*width = (uint64_t)1 << (e - HIST_SUB_BITS);
	*lo = ((uint64_t)1 << e) + sub * *width;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->bucket[bucket_of(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	uint64_t b;

	if (src->count == 0)
		return;
	for (b = 0; b < HIST_BUCKETS; b++)
		dst->bucket[b] += src->bucket[b];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, b;

	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank) {
			uint64_t lo, width, mid;

			bucket_range(b, &lo, &width);
			mid = lo + width / 2;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}
