/* SPDX-License-Identifier: MIT */
/*
 * fuzz_url.c - libFuzzer target for the channel URL parser.
 *
 * The input, cut at its first NUL, goes to the public ipk_url_check(). The
 * sanitizers catch reads outside the string (it is copied into a buffer of
 * exactly its size); the checks below catch answers that break the header's
 * contract: 0 or -EINVAL only, a reason and an offset inside the string on
 * -EINVAL, the same answer with and without the out-parameters.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipckit/ipckit.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t len = nul ? (size_t)(nul - data) : size;
	char *url = malloc(len + 1);
	const char *why = NULL;
	size_t where = (size_t)-1;
	int r, r2;

	if (!url)
		return 0;
	memcpy(url, data, len);
	url[len] = '\0';

	r = ipk_url_check(url, &where, &why);
	CHECK(r == 0 || r == -EINVAL);
	if (r == -EINVAL) {
		CHECK(why != NULL);
		CHECK(why[0] != '\0');
		CHECK(where <= len);
	}

	r2 = ipk_url_check(url, NULL, NULL);
	CHECK(r2 == r);

	free(url);
	return 0;
}
