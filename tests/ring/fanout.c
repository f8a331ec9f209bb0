/* SPDX-License-Identifier: MIT */
/*
 * fanout.c - 1, 2, 8 and 32 subscriber processes on one ring, a publisher
 * at a modest, paced rate: every subscriber receives every message, in
 * order, with nothing lost, and sees -EPIPE after the publisher closes.
 * Prints what each configuration took.
 */
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>

#include "ringt.h"

#define MSGS 50000
#define RATE 50000 /* messages per second */

static char name[64];
static struct rt_step ready;

static int subscriber(void *arg)
{
	unsigned char buf[64];
	ipk_ring_sub *s;
	uint64_t want = 1;
	ssize_t n;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_open(name, NULL, &s));
	rt_signal(&ready);
	while ((n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT)) >= 0)
		T_EQ(rt_check(buf, (size_t)n), want++);
	T_EQ(n, -EPIPE);
	T_EQ(want, MSGS + 1);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return 0;
}

static void run(int nsub)
{
	struct ipk_ring_opts o = { .capacity = 4 << 20 };
	unsigned char buf[64];
	pid_t pids[32];
	ipk_ring *r;
	int64_t t0, t1;

	rt_name(name, sizeof(name), "fan");
	T_OK(ipk_ring_create(name, &o, &r));
	for (int i = 0; i < nsub; i++)
		pids[i] = t_fork(subscriber, NULL);
	for (int i = 0; i < nsub; i++)
		rt_await(&ready);
	t0 = rt_now();
	for (uint64_t seq = 1; seq <= MSGS; seq++) {
		while (rt_now() < t0 + (int64_t)(seq * IPK_SEC / RATE))
			sched_yield();
		rt_fill(buf, 64, seq);
		T_OK(ipk_ring_publish(r, buf, 64));
	}
	ipk_ring_close(r);
	for (int i = 0; i < nsub; i++)
		t_wait_exit(pids[i], 0);
	t1 = rt_now();
	printf("%2d subscribers: %d messages each, none lost, %.2f s (%.0f msg/s per subscriber)\n",
	       nsub, MSGS, (double)(t1 - t0) / 1e9, MSGS / ((double)(t1 - t0) / 1e9));
}

int main(void)
{
	rt_step_init(&ready);
	run(1);
	run(2);
	run(8);
	run(32);
	return 0;
}
