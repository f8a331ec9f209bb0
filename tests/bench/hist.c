/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/hist.c - the benchmark's log-linear histogram: exact below
 * 128, every percentile within 1 % of the exact sample, ordered, max and
 * min exact, huge values clamped, an empty histogram reads 0; merged
 * histograms read as one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "hist.h"

static struct hist h;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The exact value a histogram percentile stands for: rank ceil(q * n). */
static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);

	if ((double)rank < q * (double)n)
		rank++;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void check_set(uint64_t *v, size_t n)
{
	static const double qs[] = { 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999 };
	uint64_t prev = 0;
	size_t i;

	hist_init(&h);
	for (i = 0; i < n; i++)
		hist_add(&h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	T_EQ(h.count, (uint64_t)n);
	T_EQ(h.min, v[0]);
	T_EQ(h.max, v[n - 1]);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t got = hist_quantile(&h, qs[i]), want = exact(v, n, qs[i]);
		double err = (double)(got > want ? got - want : want - got) / (double)want;

		if (err > 0.01) {
			fprintf(stderr, "q=%g: got %llu, want %llu (error %.4f)\n", qs[i],
				(unsigned long long)got, (unsigned long long)want, err);
			T_EQ(err <= 0.01, 1);
		}
		T_EQ(got >= prev, 1); /* percentiles are ordered */
		T_EQ(got <= h.max, 1);
		prev = got;
	}
	T_EQ(hist_quantile(&h, 1.0), v[n - 1]);
}

int main(void)
{
	static uint64_t v[200000];
	size_t i;

	/* Empty. */
	hist_init(&h);
	T_EQ(hist_quantile(&h, 0.5), (uint64_t)0);

	/* Small values are exact. */
	for (i = 0; i < 128; i++)
		v[i] = i;
	check_set(v, 128);
	T_EQ(hist_quantile(&h, 0.5), (uint64_t)63);

	/* Log-uniform values from 1 ns to about 17 s. */
	for (i = 0; i < 200000; i++)
		v[i] = 1 + (rng() >> (rng() % 30 + 30));
	check_set(v, 200000);

	/* A latency-like set: a tight body and a long tail. */
	for (i = 0; i < 200000; i++)
		v[i] = i % 1000 ? 200 + rng() % 50 : 50000 + rng() % 1000000;
	check_set(v, 200000);

	/* One value, repeated: every percentile is that value. */
	for (i = 0; i < 1000; i++)
		v[i] = 123456789;
	check_set(v, 1000);
	T_EQ(hist_quantile(&h, 0.5), (uint64_t)123456789);

	/* Two histograms merged read as one of all their samples (the
	 * receivers of a fan-out case). */
	{
		static struct hist a, b, all;

		hist_init(&a);
		hist_init(&b);
		hist_init(&all);
		for (i = 0; i < 50000; i++) {
			uint64_t x = 100 + rng() % 100000;

			hist_add(i % 3 ? &a : &b, x);
			hist_add(&all, x);
		}
		hist_add(&b, 7);
		hist_add(&all, 7);
		hist_merge(&a, &b);
		T_EQ(a.count, all.count);
		T_EQ(a.sum, all.sum);
		T_EQ(a.min, (uint64_t)7);
		T_EQ(a.max, all.max);
		T_EQ(hist_quantile(&a, 0.5), hist_quantile(&all, 0.5));
		T_EQ(hist_quantile(&a, 0.99), hist_quantile(&all, 0.99));
		hist_init(&b);
		hist_merge(&a, &b); /* an empty one changes nothing */
		T_EQ(a.min, (uint64_t)7);
		T_EQ(a.count, all.count);
	}

	/* Beyond the top bucket: counted, clamped to the exact max. */
	hist_init(&h);
	hist_add(&h, UINT64_MAX / 2);
	hist_add(&h, 100);
	T_EQ(hist_quantile(&h, 1.0), UINT64_MAX / 2);
	T_EQ(hist_quantile(&h, 0.99) <= UINT64_MAX / 2, 1);
	T_EQ(hist_quantile(&h, 0.5), (uint64_t)100);
	return 0;
}
