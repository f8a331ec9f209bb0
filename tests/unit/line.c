/* SPDX-License-Identifier: MIT */
/* The framing=line decoder against its model (tests/fuzz/fuzz_line.c) on
 * pseudo-random streams: every line length around the maximum, lines split
 * across reads anywhere, buffers too small, ends of stream mid-line. The
 * same target runs under libFuzzer; this run needs no fuzzer. */
#include "harness.h"

#include "../fuzz/fuzz_line.c"

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

int main(void)
{
	static uint8_t in[2048];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 10000; i++) {
		size_t n = 1 + (size_t)(rnd(&x) % sizeof(in));

		for (size_t k = 0; k < n; k++)
			in[k] = (uint8_t)rnd(&x);
		T_EQ(LLVMFuzzerTestOneInput(in, n), 0); /* CHECK() aborts on a wrong answer */
	}
	return 0;
}
