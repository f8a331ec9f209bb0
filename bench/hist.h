/* SPDX-License-Identifier: MIT */
/*
 * bench/hist.h - a log-linear latency histogram with bounded relative error.
 *
 * Values (nanoseconds) below 2^HIST_SUB_BITS are counted exactly. Above,
 * each power of two [2^e, 2^(e+1)) is cut into 2^HIST_SUB_BITS equal
 * buckets, so a bucket is at most 1/128 of its values wide; a percentile is
 * reported as the middle of its bucket, within 0.4 % of the true sample
 * (and never above the exact maximum). Recording is a few shifts and one
 * increment: no allocation, no sorting. The struct is plain memory, so it
 * can live in a MAP_SHARED page that the measuring process fills and its
 * parent reads.
 */
#ifndef IPCKIT_BENCH_HIST_H
#define IPCKIT_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB ((uint64_t)1 << HIST_SUB_BITS)
/* Exponents up to 2^42 ns (73 minutes); larger values land in the top. */
#define HIST_MAX_EXP 42
#define HIST_BUCKETS ((HIST_MAX_EXP - HIST_SUB_BITS + 2) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	uint64_t sum;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* Adds every sample of @src to @dst (the receivers of a fan-out case). */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile @q (0 < q <= 1): the smallest bucket whose
 * cumulative count reaches ceil(q * count), as its midpoint, clamped to
 * [min, max]. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif /* IPCKIT_BENCH_HIST_H */
