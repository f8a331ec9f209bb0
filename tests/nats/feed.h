/* SPDX-License-Identifier: MIT */
/*
 * tests/nats/feed.h - the numbered, checksummed feed of the bridge tests: a
 * paced publisher on a shm: ring that warms up until every checker sees
 * messages end to end, and checkers that verify order, checksums and that
 * what they missed equals their ring's lost count exactly.
 */
#ifndef IPCKIT_TESTS_NATS_FEED_H
#define IPCKIT_TESTS_NATS_FEED_H

#include <poll.h>

#include "nats_harness.h"

#define WARMUP UINT64_MAX

struct msg {
	uint64_t seq;
	uint64_t sum;
	uint8_t pad[48];
};

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void make(struct msg *m, uint64_t seq)
{
	uint64_t h = mix(seq);

	m->seq = seq;
	for (size_t i = 0; i < sizeof(m->pad); i++)
		m->pad[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;
	m->sum = mix(h ^ m->pad[0] ^ ((uint64_t)m->pad[47] << 8));
}

static bool good(const struct msg *m)
{
	struct msg w;

	make(&w, m->seq);
	return memcmp(&w, m, sizeof(w)) == 0;
}

static uint64_t n_msgs, rate;
static char ring_a[128], ring_b[128];
static int ready[2]; /* checkers -> publisher: "I see the warm-up" */
static int done[2];  /* closed by the parent: the publisher may go */
static int need_ready = 2;
static void (*on_progress)(uint64_t got); /* fast checker, every message */

static int publisher(void *arg)
{
	struct msg m;
	ipk_chan *a;
	struct pollfd p = { .events = POLLIN };
	int seen = 0;
	double t0;
	char c;

	(void)arg;
	close(done[1]);
	p.fd = ready[0];
	if (ipk_chan_open(ring_a, IPK_CHAN_CREATE, 0, &a) < 0)
		return 10;
	/* warm up until both checkers see messages arrive end to end */
	while (seen < need_ready) {
		m.seq = WARMUP;
		if (ipk_chan_send(a, &m, sizeof(m), 0) < 0)
			return 11;
		while (poll(&p, 1, 20) == 1 && read(ready[0], &c, 1) == 1)
			seen++;
	}
	t0 = tn_now();
	for (uint64_t i = 0; i < n_msgs; i++) {
		make(&m, i);
		if (ipk_chan_send(a, &m, sizeof(m), 0) < 0)
			return 12;
		if (i % 1000 == 999) {
			double ahead = t0 + (double)(i + 1) / (double)rate - tn_now();

			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	/* keep the ring (and bridge1's subscription) until told to stop:
	 * the parent closes its end of the pipe */
	while (read(done[0], &c, 1) > 0)
		;
	ipk_chan_close(a);
	return 0;
}

/* Reads @url until the last message; slow: a pause per message. */
static int checker(const char *url, bool slow, uint64_t *got_out, uint64_t *lost_out)
{
	struct msg m;
	ipk_chan *ch;
	uint64_t got = 0, gaps = 0, next = 0, lost0 = 0;
	bool started = false;

	if (ipk_chan_open(url, 0, 20 * IPK_SEC, &ch) < 0)
		return 20;
	for (;;) {
		ssize_t n = ipk_chan_recv(ch, &m, sizeof(m), 30 * IPK_SEC);

		if (n < 0) {
			fprintf(stderr, "checker %s: recv %zd (%s) after %llu\n", url, n,
				ipk_errname((int)n), (unsigned long long)got);
			return 21;
		}
		if (n != sizeof(m))
			return 22;
		if (m.seq == WARMUP) {
			if (!started && write(ready[1], "r", 1) == 1)
				started = true;
			continue;
		}
		if (!good(&m)) {
			fprintf(stderr, "checker %s: bad checksum at %llu\n", url,
				(unsigned long long)m.seq);
			return 23;
		}
		if (got == 0) {
			if (m.seq != 0) {
				fprintf(stderr, "checker %s: first message %llu\n", url,
					(unsigned long long)m.seq);
				return 24;
			}
			lost0 = ipk_chan_lost(ch);
		} else if (m.seq < next) {
			fprintf(stderr, "checker %s: %llu after %llu\n", url,
				(unsigned long long)m.seq, (unsigned long long)next - 1);
			return 25;
		}
		gaps += m.seq - next;
		if (!slow && m.seq != next) {
			fprintf(stderr, "checker %s: missing %llu..%llu\n", url,
				(unsigned long long)next, (unsigned long long)m.seq - 1);
			return 26;
		}
		next = m.seq + 1;
		got++;
		if (on_progress)
			on_progress(got);
		if (m.seq == n_msgs - 1)
			break;
		/* slow for the first half: overruns; then it catches up */
		if (slow && m.seq < n_msgs / 2)
			usleep(1000);
	}
	*got_out = got;
	*lost_out = ipk_chan_lost(ch) - lost0;
	ipk_chan_close(ch);
	if (got + gaps != n_msgs || gaps != *lost_out) {
		fprintf(stderr, "checker %s: got %llu, gaps %llu, lost count %llu, sent %llu\n",
			url, (unsigned long long)got, (unsigned long long)gaps,
			(unsigned long long)*lost_out, (unsigned long long)n_msgs);
		return 27;
	}
	return 0;
}

#endif /* IPCKIT_TESTS_NATS_FEED_H */
