/* SPDX-License-Identifier: MIT */
/*
 * threads.c - the lane, doorbell and room protocols with threads standing
 * in for processes, so that ThreadSanitizer can check every access (suite
 * 'threaded'): four producer threads with small lanes (wrap-around, PAD
 * records, waits for room) and a consumer that sleeps on the doorbell,
 * one that spins, one that waits in poll() on ipk_mpsc_fd() (its helper
 * thread); every message whole and in order per producer.
 */
#include <poll.h>
#include <pthread.h>

#include "mpsct.h"

#define PRODUCERS 4
#define COUNT 20000
#define MAXLEN 200

static char name[64];

static void *producer(void *arg)
{
	uint64_t who = (uint64_t)(uintptr_t)arg;
	unsigned char buf[MAXLEN];
	ipk_mpsc_prod *p;

	T_OK(ipk_mpsc_connect(name, &(struct ipk_mpsc_prod_opts){ .capacity = 4096 }, 0, &p));
	for (uint64_t seq = 0; seq < COUNT; seq++) {
		size_t len = mt_len(seq + who, MAXLEN);

		mt_fill(buf, len, who, seq);
		T_OK(ipk_mpsc_send(p, buf, len, MT_TIMEOUT));
	}
	ipk_mpsc_prod_close(p);
	return NULL;
}

static void run(const struct ipk_mpsc_opts *opts, bool polled, const char *how)
{
	uint64_t next[PRODUCERS] = { 0 };
	pthread_t th[PRODUCERS];
	unsigned char buf[MAXLEN];
	ipk_mpsc *c;

	T_OK(ipk_mpsc_create(name, opts, &c));
	if (polled)
		T_OK(ipk_mpsc_fd(c));
	for (int i = 0; i < PRODUCERS; i++)
		T_EQ(pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i), 0);
	for (uint64_t i = 0; i < (uint64_t)PRODUCERS * COUNT; i++) {
		struct ipk_mpsc_from from;
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), &from, polled ? 0 : MT_TIMEOUT);
		uint64_t who, seq;

		if (polled && n == -EAGAIN) {
			struct pollfd pfd = { .fd = ipk_mpsc_fd(c), .events = POLLIN };

			T_EQ(poll(&pfd, 1, (int)(MT_TIMEOUT / IPK_MSEC)), 1);
			i--;
			continue;
		}
		T_OK(n);
		seq = mt_check(buf, (size_t)n, &who);
		T_TRUE(who < PRODUCERS);
		T_EQ(seq, next[who]);
		T_EQ(from.pid, getpid());
		next[who]++;
	}
	for (int i = 0; i < PRODUCERS; i++)
		T_EQ(pthread_join(th[i], NULL), 0);
	ipk_mpsc_close(c);
	printf("%s: %d threads x %d messages\n", how, PRODUCERS, COUNT);
}

int main(void)
{
	mt_name(name, sizeof(name), "threads");
	run(NULL, false, "sleeping consumer");
	run(&(struct ipk_mpsc_opts){ .flags = IPK_MPSC_SPIN }, false, "spinning consumer");
	run(NULL, true, "consumer waiting in poll()");
	return 0;
}
