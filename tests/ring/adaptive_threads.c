/* SPDX-License-Identifier: MIT */
/*
 * adaptive_threads.c - adaptive waiting (IPK_RING_ADAPTIVE) with threads
 * standing in for processes, so that ThreadSanitizer sees both sides
 * (suite 'threaded'): a publisher thread that is steady, then bursty,
 * then paused, then steady at another rate, on a memfd ring, and two
 * adaptive subscriber threads that must receive every message, in order,
 * checksums intact (the ring holds the whole feed: nothing is lost); then
 * the same into a queue (IPK_RING_QUEUE) with an adaptive consumer thread.
 */
#include <pthread.h>

#include "ringt.h"

#define LEN 64
#define TOTAL 1200

static int ring_fd, bell_fd;
static char name[64];
static pthread_barrier_t start;

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / IPK_SEC, .tv_nsec = ns % IPK_SEC };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *subscriber(void *arg)
{
	struct ipk_ring_sub_opts o = { .flags = IPK_RING_ADAPTIVE };
	unsigned char buf[LEN];
	uint64_t want = 1;
	ipk_ring_sub *s;
	ssize_t n;

	if (arg) {
		o.flags |= IPK_RING_CONSUMER;
		T_OK(ipk_ring_open(name, &o, &s));
	} else {
		T_OK(ipk_ring_open_fd(ring_fd, bell_fd, &o, &s));
	}
	pthread_barrier_wait(&start);
	while ((n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) >= 0)
		T_EQ(rt_check(buf, (size_t)n), want++);
	T_EQ(n, -EPIPE);
	T_EQ(want, TOTAL + 1);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return NULL;
}

/* Steady (200 us apart), bursts of up to 32, a pause of 80 ms (longer
 * than a sleep slice would be lost in), steady again at 1 ms. */
static void feed(ipk_ring *r)
{
	unsigned char buf[LEN];

	for (uint64_t seq = 1; seq <= TOTAL; seq++) {
		rt_fill(buf, LEN, seq);
		T_OK(ipk_ring_publish_wait(r, buf, LEN, RT_TIMEOUT));
		if (seq <= 300)
			sleep_ns(200 * IPK_USEC);
		else if (seq <= 1000 && seq % 32 == 0)
			sleep_ns((int64_t)(seq % 3) * IPK_MSEC);
		else if (seq == 1000)
			sleep_ns(80 * IPK_MSEC);
		else if (seq > 1000)
			sleep_ns(IPK_MSEC);
	}
}

int main(void)
{
	struct ipk_ring_opts qo = { .capacity = 4096, .flags = IPK_RING_QUEUE };
	pthread_t t[2];
	ipk_ring *r;

	T_OK(ipk_ring_create(NULL, NULL, &r));
	T_OK(ipk_ring_fds(r, &ring_fd, &bell_fd));
	T_EQ(pthread_barrier_init(&start, NULL, 3), 0);
	for (int i = 0; i < 2; i++)
		T_EQ(pthread_create(&t[i], NULL, subscriber, NULL), 0);
	pthread_barrier_wait(&start);
	feed(r);
	ipk_ring_close(r);
	for (int i = 0; i < 2; i++)
		T_EQ(pthread_join(t[i], NULL), 0);
	T_EQ(pthread_barrier_destroy(&start), 0);

	rt_name(name, sizeof(name), "adaptive-threads");
	T_OK(ipk_ring_create(name, &qo, &r));
	T_EQ(pthread_barrier_init(&start, NULL, 2), 0);
	T_EQ(pthread_create(&t[0], NULL, subscriber, r), 0);
	pthread_barrier_wait(&start);
	feed(r);
	ipk_ring_close(r);
	T_EQ(pthread_join(t[0], NULL), 0);
	T_EQ(pthread_barrier_destroy(&start), 0);
	return 0;
}
