/* SPDX-License-Identifier: MIT */
/*
 * threads.c - the ring with threads standing in for processes, so that
 * ThreadSanitizer sees both sides of every access (suite 'threaded'): a
 * publisher at full speed on a 4 KiB memfd ring (lapped constantly) and
 * five subscribers - a blocking one, a slow one, a spinning one, one
 * driven by poll() on ipk_ring_fd() and one taking batches
 * (ipk_ring_recv_batch()) - each checking every message's
 * checksum and order, and delivered + lost == published at the end (half
 * the messages published in ipk_ring_publish_batch() batches); then
 * a queue (IPK_RING_QUEUE) whose consumer thread must get every message,
 * with the producer waiting for room in ipk_ring_publish_wait(). Only
 * the copying calls: zero-copy views read the mapping with plain loads,
 * which the seqlock tolerates but TSan rightly calls a race.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include "ringt.h"

#define MAXLEN 300

static uint64_t total = 200000;
static int ring_fd, bell_fd;
static pthread_barrier_t start;

enum kind { BLOCK, SLOW, SPIN, POLL, BATCH, KINDS };

static void *subscriber(void *arg)
{
	enum kind k = (enum kind)(intptr_t)arg;
	struct ipk_ring_sub_opts o = { .flags = k == SPIN ? IPK_RING_SPIN : 0,
				       .spin_ns = k == BLOCK ? 20 * IPK_USEC : 0 };
	unsigned char buf[MAXLEN];
	uint64_t delivered = 0, last = 0;
	ipk_ring_sub *s;
	int fd = -1;
	ssize_t n;

	T_OK(ipk_ring_open_fd(ring_fd, bell_fd, &o, &s));
	if (k == POLL)
		fd = (int)T_OK(ipk_ring_fd(s));
	pthread_barrier_wait(&start);
	for (;;) {
		if (k == POLL) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			n = ipk_ring_recv(s, buf, sizeof(buf), 0);
			if (n == -EAGAIN) {
				T_EQ(poll(&p, 1, 10000), 1);
				continue;
			}
		} else if (k == BATCH) {
			static unsigned char bufs[8 * MAXLEN]; /* this kind's thread only */
			int got = rt_recv_checked(s, bufs, MAXLEN, &last);

			if (got == -EPIPE)
				break;
			delivered += (uint64_t)got;
			continue;
		} else {
			n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT);
		}
		if (n == -EPIPE)
			break;
		T_OK(n);
		uint64_t seq = rt_check(buf, (size_t)n);

		T_TRUE(seq > last);
		last = seq;
		delivered++;
		if (k == SLOW && delivered % 16 == 0)
			sched_yield();
	}
	T_EQ(delivered + ipk_ring_lost(s), total);
	printf("kind %d: delivered %llu lost %llu\n", (int)k, (unsigned long long)delivered,
	       (unsigned long long)ipk_ring_lost(s));
	ipk_ring_sub_close(s);
	return NULL;
}

static char qname[64];

static void *queue_consumer(void *arg)
{
	const struct ipk_ring_sub_opts o = { .flags = IPK_RING_CONSUMER };
	unsigned char buf[MAXLEN];
	uint64_t want = 1;
	ipk_ring_sub *s;
	ssize_t n;

	(void)arg;
	T_OK(ipk_ring_open(qname, &o, &s));
	pthread_barrier_wait(&start);
	while ((n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) >= 0)
		T_EQ(rt_check(buf, (size_t)n), want++);
	T_EQ(n, -EPIPE);
	T_EQ(want, total + 1);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return NULL;
}

static void queue_run(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000, .flags = IPK_RING_QUEUE };
	unsigned char buf[MAXLEN];
	ipk_ring *r;
	pthread_t th;

	rt_name(qname, sizeof(qname), "tq");
	T_OK(ipk_ring_create(qname, &o, &r));
	pthread_barrier_init(&start, NULL, 2);
	T_EQ(pthread_create(&th, NULL, queue_consumer, NULL), 0);
	pthread_barrier_wait(&start);
	for (uint64_t seq = 1; seq <= total; seq++) {
		size_t len = rt_len(seq, MAXLEN);

		rt_fill(buf, len, seq);
		T_OK(ipk_ring_publish_wait(r, buf, len, RT_TIMEOUT));
	}
	ipk_ring_close(r);
	T_EQ(pthread_join(th, NULL), 0);
	pthread_barrier_destroy(&start);
}

int main(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000 };
	pthread_t th[KINDS];
	const char *env = getenv("IPK_RING_STRESS_N");
	ipk_ring *r;

	if (env)
		total = strtoull(env, NULL, 10);
	T_OK(ipk_ring_create(NULL, &o, &r));
	T_OK(ipk_ring_fds(r, &ring_fd, &bell_fd));
	pthread_barrier_init(&start, NULL, KINDS + 1);
	for (int k = 0; k < KINDS; k++)
		T_EQ(pthread_create(&th[k], NULL, subscriber, (void *)(intptr_t)k), 0);
	pthread_barrier_wait(&start);
	for (uint64_t seq = 1; seq <= total; seq += 1024) {
		rt_publish_mixed(r, seq, seq + 1023 < total ? seq + 1023 : total, MAXLEN);
		sched_yield(); /* let the subscribers catch up now and then */
	}
	ipk_ring_close(r);
	for (int k = 0; k < KINDS; k++)
		T_EQ(pthread_join(th[k], NULL), 0);
	pthread_barrier_destroy(&start);
	queue_run();
	return 0;
}
