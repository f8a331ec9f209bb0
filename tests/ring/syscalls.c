/* SPDX-License-Identifier: MIT */
/*
 * syscalls.c - publishing costs no system call while no subscriber sleeps:
 * this program re-executes itself as a publisher under `strace -c` (with a
 * subscriber attached that never waits) for 1000 and for 100000 rounds (by
 * turns a publish and a batch of four); the two runs must make the same
 * number of system calls, give or take SLACK: a call per publish would add
 * 99,000, but a run once made one call more than the other under
 * AddressSanitizer, whose runtime calls as it needs. Any difference prints
 * both runs' strace tables. Skipped without strace, without permission to
 * trace, and under ThreadSanitizer (whose runtime makes calls of its own).
 */
#include "ringt.h"

#define SLACK 2

static int publish(const char *name, long n)
{
	ipk_ring_sub *s;
	ipk_ring *r;

	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_open(name, NULL, &s));
	for (long i = 0; i < n; i++) {
		struct ipk_msg v[4];

		if (i % 2 == 0) {
			T_OK(ipk_ring_publish(r, &i, sizeof(i)));
			continue;
		}
		for (int j = 0; j < 4; j++)
			v[j] = (struct ipk_msg){ .buf = &i, .len = sizeof(i) };
		T_EQ(ipk_ring_publish_batch(r, v, 4), 4);
	}
	ipk_ring_sub_close(s);
	ipk_ring_close(r);
	return 0;
}

/* System calls made by "self publish NAME N", as strace -c counts them;
 * its table in @table (@len bytes). */
static long traced_calls(const char *self, const char *name, long n, char *table, size_t len)
{
	char out[128], cmd[1024], line[256];
	long calls = -1;
	size_t used = 0;
	FILE *f;

	snprintf(out, sizeof(out), "/tmp/ipk-ring-strace-%d", (int)getpid());
	/* LeakSanitizer refuses to run under ptrace: no leak check in the child */
	snprintf(cmd, sizeof(cmd), "ASAN_OPTIONS=detect_leaks=0 strace -c -o %s %s publish %s %ld",
		 out, self, name, n);
	if (system(cmd) != 0)
		T_SKIP("strace cannot trace here: %s", cmd);
	f = fopen(out, "r");
	T_TRUE(f);
	table[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *tot = strstr(line, " total");

		if (used + strlen(line) < len) {
			memcpy(table + used, line, strlen(line) + 1);
			used += strlen(line);
		}
		double pct, secs;
		long usecs, c;

		if (tot && sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs, &c) == 4)
			calls = c;
	}
	fclose(f);
	unlink(out);
	T_TRUE(calls > 0);
	return calls;
}

int main(int argc, char **argv)
{
	char name[64], few_table[8192], many_table[8192];
	long few, many;

#if defined(__SANITIZE_THREAD__)
	T_SKIP("ThreadSanitizer's runtime makes system calls of its own");
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	T_SKIP("ThreadSanitizer's runtime makes system calls of its own");
#endif
#endif

	if (argc == 4 && strcmp(argv[1], "publish") == 0)
		return publish(argv[2], atol(argv[3]));
	if (system("strace -V >/dev/null 2>&1") != 0)
		T_SKIP("strace is not installed");
	rt_name(name, sizeof(name), "sys");
	few = traced_calls(argv[0], name, 1000, few_table, sizeof(few_table));
	many = traced_calls(argv[0], name, 100000, many_table, sizeof(many_table));
	printf("system calls: %ld for 1000 rounds, %ld for 100000\n", few, many);
	if (many != few)
		printf("1000 rounds:\n%s100000 rounds:\n%s", few_table, many_table);
	T_TRUE(many >= few - SLACK && many <= few + SLACK);
	return 0;
}
