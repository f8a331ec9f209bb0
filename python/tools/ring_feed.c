/* SPDX-License-Identifier: MIT */
/*
 * ring_feed - a C publisher for the Python package's tests and benchmark:
 * publishes COUNT messages of --size bytes into the ring "/name" in
 * batches (ipk_ring_publish_batch()), as fast as it can or at --rate
 * messages/s, after --wait-subscribers subscribers have attached.
 *
 * Each message starts with its sequence number, 0 to COUNT-1, as a
 * little-endian uint64; the rest is that number's low byte repeated. A
 * subscriber checks order and counts gaps against its ring's loss count.
 * On the way out (done, SIGINT, SIGTERM) it closes the ring, which removes
 * the name, and prints one line of JSON on stdout:
 *   {"published": N, "count": COUNT, "seconds": S, "msgs_per_s": R, "stopped": false}
 * Only the public API of libipckit is used. Exit: 0 done or stopped by a
 * signal, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipckit/ipckit.h>

#define MAX_BATCH 4096u
#define MIN_SIZE 8u /* room for the sequence number */
/* --rate: sleep only when this far ahead of the schedule. A sleep costs
 * tens of microseconds on a busy machine even when its time has passed,
 * so batches go out early by up to this much, and late ones catch up. */
#define AHEAD_NS (50 * IPK_USEC)

static const char usage[] =
	"Usage: ring_feed NAME [options]\n"
	"Publish --count messages into the ring NAME (\"/name\") in batches.\n"
	"  -n, --count N              messages (default 1000000)\n"
	"  -s, --size BYTES           message size, >= 8 (default 64)\n"
	"  -b, --batch N              messages per ipk_ring_publish_batch() (default 32)\n"
	"  -c, --capacity BYTES       ring capacity, a power of two (default 16777216)\n"
	"  -r, --rate N               messages/s, 0 = as fast as possible (default 0)\n"
	"  -w, --wait-subscribers N   publish nothing until N are attached (default 1)\n"
	"  -t, --timeout SEC          how long to wait for them (default 10)\n"
	"  -h, --help\n"
	"Each message begins with its sequence number (uint64, little-endian).\n"
	"Prints {\"published\": N, ...} on stdout; removes the ring on exit.\n";

struct feed {
	const char *name;
	unsigned long count;
	unsigned size, batch, wait_subs;
	uint64_t capacity;
	double rate, timeout_s;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static void sleep_until(int64_t due)
{
	struct timespec ts = { (time_t)(due / IPK_SEC), (long)(due % IPK_SEC) };

	/* a stop signal ends it early (EINTR): the caller looks at stop */
	(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int fail(const char *what, const char *name, int err)
{
	fprintf(stderr, "ring_feed: %s: %s: %s (%s)\n", name, what, strerror(-err),
		ipk_errname(-err));
	return 1;
}

static int parse_num(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct feed *f)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "wait-subscribers", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:s:b:c:r:w:t:h", opts, NULL)) != -1) {
		double v;
		int bad;

		if (c == 'h') {
			fputs(usage, stdout);
			exit(0);
		}
		if (c == '?')
			return -1;
		bad = parse_num(optarg, 0, 1e15, &v) < 0;
		if (c == 'n')
			f->count = (unsigned long)v;
		else if (c == 's')
			bad = bad || v < MIN_SIZE || v > (1u << 30), f->size = (unsigned)v;
		else if (c == 'b')
			bad = bad || v < 1 || v > MAX_BATCH, f->batch = (unsigned)v;
		else if (c == 'c')
			f->capacity = (uint64_t)v;
		else if (c == 'r')
			f->rate = v;
		else if (c == 'w')
			bad = bad || v > 1e6, f->wait_subs = (unsigned)v;
		else
			f->timeout_s = v;
		if (bad) {
			fprintf(stderr, "ring_feed: bad value for --%s: '%s'\n",
				opts[strchr("nsbcrwt", c) - "nsbcrwt"].name, optarg);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fputs("ring_feed: one ring name expected (ring_feed --help)\n", stderr);
		return -1;
	}
	f->name = argv[optind];
	return 0;
}

/* Until f->wait_subs subscribers are attached; the count is polled every
 * millisecond, as an attach makes no event the publisher could wait on. */
static int wait_subscribers(const struct feed *f, ipk_ring *r)
{
	int64_t due = now_ns() + (int64_t)(f->timeout_s * 1e9);

	for (;;) {
		int k = ipk_ring_subscribers(r);

		if (k < 0)
			return fail("subscribers", f->name, k);
		if ((unsigned)k >= f->wait_subs || stop)
			return 0;
		if (now_ns() >= due) {
			fprintf(stderr,
				"ring_feed: %s: %d of %u subscribers attached within %g s\n",
				f->name, k, f->wait_subs, f->timeout_s);
			return 1;
		}
		sleep_until(now_ns() + IPK_MSEC);
	}
}

static void put_seq(unsigned char *p, unsigned size, uint64_t seq)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (unsigned char)(seq >> (8 * i));
	memset(p + 8, (int)(seq & 0xff), size - 8);
}

/* Publish f->count messages; *published counts those that went out. */
static int feed(const struct feed *f, ipk_ring *r, unsigned char *buf, struct ipk_msg *msgs,
		unsigned long *published)
{
	int64_t start = now_ns();
	unsigned long seq = 0;

	while (seq < f->count && !stop) {
		unsigned n = f->count - seq < f->batch ? (unsigned)(f->count - seq) : f->batch;
		int k;

		if (f->rate > 0) { /* the batch is due when its first message is */
			int64_t due = start + (int64_t)((double)seq * 1e9 / f->rate);

			if (due - now_ns() > AHEAD_NS)
				sleep_until(due);
		}
		for (unsigned i = 0; i < n; i++) {
			msgs[i].buf = buf + (size_t)i * f->size;
			msgs[i].len = f->size;
			put_seq(msgs[i].buf, f->size, seq + i);
		}
		k = ipk_ring_publish_batch(r, msgs, n);
		if (k < 0)
			return fail("publish", f->name, k);
		seq += (unsigned)k; /* a lossy ring takes all n */
		*published = seq;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct feed f = { .count = 1000000,
			  .size = 64,
			  .batch = 32,
			  .wait_subs = 1,
			  .capacity = 1u << 24,
			  .timeout_s = 10 };
	struct ipk_ring_opts ro = { 0 };
	struct sigaction sa = { 0 };
	unsigned long published = 0;
	unsigned char *buf = NULL;
	struct ipk_msg *msgs = NULL;
	ipk_ring *r = NULL;
	int64_t t0, t1;
	int rc, err;

	if (parse_args(argc, argv, &f) < 0)
		return 2;
	sa.sa_handler = on_stop; /* no SA_RESTART: a sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	buf = malloc((size_t)f.batch * f.size);
	msgs = calloc(f.batch, sizeof(*msgs));
	if (!buf || !msgs) {
		fputs("ring_feed: out of memory\n", stderr);
		rc = 1;
		goto out;
	}
	ro.capacity = f.capacity;
	/* the default max_msg (capacity / 4 - 16) unless a message needs more:
	 * a batch shares one record only within max_msg */
	ro.max_msg = f.size <= f.capacity / 4 - 16 ? 0 : f.size;
	err = ipk_ring_create(f.name, &ro, &r);
	if (err < 0) {
		rc = fail("create", f.name, err);
		goto out;
	}
	rc = wait_subscribers(&f, r);
	if (rc)
		goto out;
	t0 = now_ns();
	rc = feed(&f, r, buf, msgs, &published);
	t1 = now_ns();
	printf("{\"published\": %lu, \"count\": %lu, \"seconds\": %.9f, \"msgs_per_s\": %.0f, "
	       "\"stopped\": %s}\n",
	       published, f.count, (double)(t1 - t0) / 1e9,
	       t1 > t0 ? (double)published * 1e9 / (double)(t1 - t0) : 0.0,
	       stop ? "true" : "false");
	fflush(stdout);
out:
	ipk_ring_close(r); /* subscribers drain what is left, then see the end */
	free(msgs);
	free(buf);
	return rc;
}
