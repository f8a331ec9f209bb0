/* SPDX-License-Identifier: MIT */
/*
 * examples/market-data.c - the seed's market-data feed: one publisher
 * writes quotes into a shared-memory ring, N subscriber processes map it
 * read-only and each prints how many quotes it saw, how many it lost, and
 * the end-to-end latency percentiles (each quote carries the
 * CLOCK_MONOTONIC time at which it was published).
 *
 * The publisher writes each quote in place (ipk_ring_reserve + commit) and
 * never waits for anyone; subscribers read in place too (ipk_ring_view,
 * then ipk_ring_validate: a quote overwritten while being read is
 * discarded and counted as lost, never used).
 *
 * Usage: market-data [--subs N] [--rate QUOTES/S] [--seconds S] [--spin]
 *   defaults: 4 subscribers, 100000 quotes/s, 2 seconds; --spin makes the
 *   subscribers busy-poll (lowest latency; wants a CPU each) instead of
 *   sleeping on the ring's futex after a short spin.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <ipckit/ipckit.h>

struct quote {
	uint64_t seq;
	int64_t sent_ns; /* CLOCK_MONOTONIC */
	char symbol[8];
	double bid, ask;
	uint32_t bid_size, ask_size;
};

static const char *const symbols[] = { "ACME", "GLOBX", "INITECH", "UMBRL", "WAYNE" };

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const int64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return (double)v[i] / 1000.0; /* microseconds */
}

static int subscriber(int id, const char *name, int ready_fd, size_t expect, bool spin)
{
	struct ipk_ring_sub_opts o = { .spin_ns = 20000, .flags = spin ? IPK_RING_SPIN : 0 };
	int64_t *lat = malloc((expect ? expect : 1) * sizeof(*lat));
	uint64_t last = 0;
	size_t n = 0;
	ipk_ring_sub *s;
	int r;

	if (!lat)
		return 1;
	r = ipk_ring_open(name, &o, &s);
	if (r < 0) {
		fprintf(stderr, "sub %d: ipk_ring_open: %s\n", id, strerror(-r));
		free(lat);
		return 1;
	}
	(void)!write(ready_fd, "r", 1);
	close(ready_fd);

	for (;;) {
		struct ipk_ring_view v;
		struct quote q;

		r = ipk_ring_view(s, &v, -1);
		if (r == -EPIPE)
			break; /* the publisher closed: everything has been read */
		if (r < 0) {
			fprintf(stderr, "sub %d: %s\n", id, strerror(-r));
			break;
		}
		/* Read in place, then check that nothing was overwritten meanwhile. */
		if (v.len == sizeof(q))
			memcpy(&q, v.data, sizeof(q));
		if (ipk_ring_validate(s, &v) < 0 || v.len != sizeof(q))
			continue; /* overwritten while read: counted as lost, not used */
		if (n < expect)
			lat[n++] = now_ns() - q.sent_ns;
		last = q.seq;
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("sub %d: %zu quotes (last #%llu), %llu lost", id, n, (unsigned long long)last,
	       (unsigned long long)ipk_ring_lost(s));
	if (n)
		printf(", latency p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us",
		       pct(lat, n, 50), pct(lat, n, 99), pct(lat, n, 99.9), pct(lat, n, 100));
	printf("\n");
	fflush(stdout); /* the child ends with _exit() */
	ipk_ring_sub_close(s);
	free(lat);
	return 0;
}

static void usage(FILE *f)
{
	fputs("Usage: market-data [--subs N] [--rate QUOTES/S] [--seconds S] [--spin]\n", f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "subs", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "spin", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipk_ring_opts ro = { .capacity = 1 << 20 };
	long subs = 4, rate = 100000;
	double seconds = 2;
	bool spin = false;
	int fds[2], c, failed = 0;
	uint64_t total;
	char name[64];
	ipk_ring *ring;
	int64_t t0;
	pid_t *kids;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'n')
			subs = strtol(optarg, NULL, 10);
		else if (c == 'r')
			rate = strtol(optarg, NULL, 10);
		else if (c == 's')
			seconds = strtod(optarg, NULL);
		else if (c == 'S')
			spin = true;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), 2;
	}
	if (optind < argc || subs < 1 || subs > 1000 || rate < 1 || rate > 100000000 ||
	    !(seconds > 0 && seconds <= 3600))
		return usage(stderr), 2;
	total = (uint64_t)((double)rate * seconds);

	snprintf(name, sizeof(name), "/ipk-market-data-%d", (int)getpid());
	c = ipk_ring_create(name, &ro, &ring);
	if (c < 0) {
		fprintf(stderr, "publisher: ipk_ring_create: %s\n", strerror(-c));
		return 1;
	}
	/* Subscribers start at the ring's current end: wait until all are in. */
	kids = calloc((size_t)subs, sizeof(*kids));
	if (!kids || pipe(fds) < 0)
		return 1;
	for (long i = 0; i < subs; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(fds[0]);
			_exit(subscriber((int)i + 1, name, fds[1], (size_t)total, spin));
		}
	}
	close(fds[1]);
	for (long i = 0; i < subs; i++) {
		char b;

		if (read(fds[0], &b, 1) != 1) {
			fprintf(stderr, "publisher: a subscriber failed to start\n");
			failed = 1;
			break;
		}
	}
	close(fds[0]);

	printf("publisher: %llu quotes at %ld/s to %ld subscribers\n", (unsigned long long)total,
	       rate, subs);
	fflush(stdout);
	t0 = now_ns();
	for (uint64_t seq = 0; !failed && seq < total; seq++) {
		int64_t due = t0 + (int64_t)((double)seq * 1e9 / (double)rate);
		struct quote *q;

		if (due > now_ns()) {
			struct timespec ts = { due / 1000000000, due % 1000000000 };

			(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		/* Written in place: no copy, and subscribers see it only at commit. */
		if (ipk_ring_reserve(ring, sizeof(*q), (void **)&q) < 0)
			break;
		memset(q, 0, sizeof(*q));
		q->seq = seq;
		snprintf(q->symbol, sizeof(q->symbol), "%s", symbols[seq % 5]);
		q->bid = 100.0 + (double)(seq % 1000) / 100.0;
		q->ask = q->bid + 0.01;
		q->bid_size = 100 + seq % 7 * 100;
		q->ask_size = 100 + seq % 5 * 100;
		q->sent_ns = now_ns();
		(void)ipk_ring_commit(ring, sizeof(*q));
	}
	ipk_ring_close(ring); /* subscribers drain, then see the end */
	for (long i = 0; i < subs; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	free(kids);
	return failed;
}
