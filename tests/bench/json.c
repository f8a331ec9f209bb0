/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/json.c - the JSON writer of `ipckit bench --json` and
 * `ipckit ls --json` (bench/json.c): exactly the bytes both documents have
 * always had. Quote and backslash escaped, control bytes as \u00XX (a
 * newline too), DEL and UTF-8 as they are, NULL as null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"

static void check(void (*write)(FILE *, const char *), const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_TRUE(f != NULL);
	write(f, in);
	T_EQ(fclose(f), 0);
	if (strcmp(buf, want) != 0)
		T_FAIL("json of '%s': got '%s', want '%s'", in ? in : "(null)", buf, want);
	free(buf);
}

int main(void)
{
	check(json_str, "", "\"\"");
	check(json_str, "shm-ring", "\"shm-ring\"");
	check(json_str, "a\"b\\c", "\"a\\\"b\\\\c\"");
	check(json_str, "tab\there\nnl\r\x01\x1f",
	      "\"tab\\u0009here\\u000anl\\u000d\\u0001\\u001f\"");
	check(json_str, " \x7f/é€", "\" \x7f/é€\"");
	check(json_str_or_null, "x", "\"x\"");
	check(json_str_or_null, NULL, "null");
	return 0;
}
