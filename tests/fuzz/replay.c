/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/replay.c - a fuzz target's committed corpus, replayed without
 * libFuzzer, so that every build (gcc, ASan) runs the inputs through the
 * target's own checks, not only the clang fuzz build.
 *
 *   replay-<target> DIR|FILE...
 *
 * Linked with one fuzz_<target>.c: each input goes once to its
 * LLVMFuzzerTestOneInput(), in a buffer of exactly its size. The target
 * aborts on a finding; this driver adds that no input leaves a descriptor
 * open (the entries of /proc/self/fd before and after each one) and that
 * each argument holds at least one input, so a moved corpus is a failure,
 * not an empty pass.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../harness.h"

#include "fuzz.h"

/* All of @path in a buffer of exactly its size, so that AddressSanitizer
 * sees a read past the end; *len gets the size. The caller frees. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	struct stat st;
	uint8_t *buf;

	if (!f)
		T_FAIL("%s: %s", path, strerror(errno));
	T_SYS(fstat(fileno(f), &st));
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		T_FAIL("out of memory");
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		T_FAIL("%s: short read", path);
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static void replay_one(const char *path)
{
	size_t len;
	uint8_t *data = slurp(path, &len);
	int before = t_count_fds();

	(void)LLVMFuzzerTestOneInput(data, len);
	if (t_count_fds() != before)
		T_FAIL("%s: %d descriptors open after the input, %d before", path, t_count_fds(),
		       before);
	free(data);
}

/* Return: how many inputs @path held (itself, or the files in it). */
static int replay(const char *path)
{
	struct dirent **ents;
	struct stat st;
	char sub[4096];
	int n, count = 0;

	T_SYS(stat(path, &st));
	if (!S_ISDIR(st.st_mode)) {
		replay_one(path);
		return 1;
	}
	n = scandir(path, &ents, NULL, alphasort); /* the same order every run */
	if (n < 0)
		T_FAIL("%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			replay_one(sub);
			count++;
		}
		free(ents[i]);
	}
	free(ents);
	return count;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		T_FAIL("usage: %s DIR|FILE...", argv[0]);
	for (int i = 1; i < argc; i++) {
		int n = replay(argv[i]);

		if (n == 0)
			T_FAIL("%s: no inputs", argv[i]);
		printf("%s: %d inputs, no finding, no descriptor left open\n", argv[i], n);
	}
	return 0;
}
