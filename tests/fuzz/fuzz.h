/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz.h - what every libFuzzer target shares: the entry point's
 * declaration and CHECK(), which crashes the run (and so keeps the input
 * as an artifact) when a property of the code under test does not hold.
 * The same targets run without libFuzzer over the committed corpus
 * (replay.c), where a failed CHECK() fails the test.
 */
#ifndef IPCKIT_TESTS_FUZZ_H
#define IPCKIT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* IPCKIT_TESTS_FUZZ_H */
