/* SPDX-License-Identifier: MIT */
/*
 * queue_steps.c - the queue's consumer shows its position to the producer
 * in steps (a sixteenth of the capacity), and still loses nothing and
 * repeats nothing: a consumer that has read less than a step leaves the
 * queue full for the producer (-EAGAIN) until it closes, finds nothing to
 * read, or a successor opens; one killed with SIGKILL after a message is
 * followed by a consumer that starts with the next message, never one the
 * dead one was given, and a producer waiting for room meanwhile
 * (ipk_ring_publish_wait()) is woken when the successor opens; a
 * consumer that takes messages one by one while the producer keeps the
 * queue full receives every message, in order.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "ringt.h"

#define LEN 100
#define N 20000

static char name[64];
static struct rt_step go, told;
static const struct ipk_ring_sub_opts consumer = { .flags = IPK_RING_CONSUMER };

/* Fill the queue with messages @first.. ; return how many fit. */
static int fill(ipk_ring *r, uint64_t first)
{
	unsigned char buf[LEN];
	int n = 0;

	for (;;) {
		int rc;

		rt_fill(buf, LEN, first + (uint64_t)n);
		rc = ipk_ring_publish(r, buf, LEN);
		if (rc == -EAGAIN)
			return n;
		T_OK(rc);
		n++;
	}
}

/* Takes one message, says which, and dies of SIGKILL. */
static int dies_after_one(void *arg)
{
	unsigned char buf[LEN];
	ipk_ring_sub *s;
	uint64_t seq;

	(void)arg;
	T_OK(ipk_ring_open(name, &consumer, &s));
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT), LEN);
	seq = rt_check(buf, LEN);
	T_EQ(write(told.fd[1], &seq, sizeof(seq)), (ssize_t)sizeof(seq));
	(void)kill(getpid(), SIGKILL);
	return 1;
}

/* Once told to: takes messages *@arg.. in order until the queue is empty
 * for a while; exits 0 if there were at least two. */
static int successor(void *arg)
{
	uint64_t want = *(const uint64_t *)arg;
	unsigned char buf[LEN];
	ipk_ring_sub *s;
	ssize_t n;
	int got = 0;

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	rt_await(&go);
	T_OK(ipk_ring_open(name, &consumer, &s));
	while ((n = ipk_ring_recv(s, buf, sizeof(buf), 200 * IPK_MSEC)) >= 0) {
		T_EQ(rt_check(buf, (size_t)n), want++);
		got++;
	}
	T_EQ(n, -ETIMEDOUT);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return got >= 2 ? 0 : 1;
}

/* Takes N messages one by one, in order. */
static int one_by_one(void *arg)
{
	unsigned char buf[LEN];
	ipk_ring_sub *s;
	uint64_t want = 1;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_open(name, &consumer, &s));
	rt_signal(&go);
	while (want <= N) {
		ssize_t n = ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT);

		T_EQ(n, LEN);
		T_EQ(rt_check(buf, LEN), want++);
	}
	T_EQ(ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT), -EPIPE);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return 0;
}

int main(void)
{
	/* 4096 bytes: steps of 256, two 128-byte records */
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000, .flags = IPK_RING_QUEUE };
	unsigned char buf[LEN];
	uint64_t dead_seq, next;
	ipk_ring_sub *c;
	ipk_ring *r;
	int full, st;
	pid_t pid, pid2;

	rt_name(name, sizeof(name), "qsteps");
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, &consumer, &c));
	full = fill(r, 1);
	T_EQ(full, (4096 - 16) / 128);

	/* one message read: less than a step, not shown yet */
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), LEN);
	T_EQ(rt_check(buf, LEN), 1);
	rt_fill(buf, LEN, (uint64_t)full + 1);
	T_EQ(ipk_ring_publish(r, buf, LEN), -EAGAIN);
	/* two: a step, shown: room for two */
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), LEN);
	T_EQ(rt_check(buf, LEN), 2);
	T_EQ(fill(r, (uint64_t)full + 1), 2);
	/* one more, then close: shown at close */
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), LEN);
	T_EQ(rt_check(buf, LEN), 3);
	ipk_ring_sub_close(c);
	T_EQ(fill(r, (uint64_t)full + 3), 1);
	/* a consumer that finds nothing to read shows what it took */
	T_OK(ipk_ring_open(name, &consumer, &c));
	for (next = 4; next <= (uint64_t)full + 3; next++) {
		T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), LEN);
		T_EQ(rt_check(buf, LEN), next);
	}
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(fill(r, next), full);
	ipk_ring_sub_close(c);
	ipk_ring_close(r);

	/* killed after one message (not shown): the successor starts after
	 * it, and wakes the producer that waits for its room */
	rt_name(name, sizeof(name), "qsteps");
	rt_step_init(&go);
	rt_step_init(&told);
	T_OK(ipk_ring_create(name, &o, &r));
	full = fill(r, 1);
	pid = t_fork(dies_after_one, NULL);
	T_EQ(read(told.fd[0], &dead_seq, sizeof(dead_seq)), (ssize_t)sizeof(dead_seq));
	T_EQ(dead_seq, 1);
	T_SYS(waitpid(pid, &st, 0));
	T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	rt_fill(buf, LEN, (uint64_t)full + 1);
	T_EQ(ipk_ring_publish(r, buf, LEN), -EAGAIN); /* its room is not shown */
	next = dead_seq + 1;
	pid2 = t_fork(successor, &next);
	rt_signal(&go);
	T_OK(ipk_ring_publish_wait(r, buf, LEN, RT_TIMEOUT));
	t_wait_exit(pid2, 0);
	ipk_ring_close(r);

	/* one by one under a producer that keeps the queue full */
	rt_name(name, sizeof(name), "qsteps");
	rt_step_init(&go);
	T_OK(ipk_ring_create(name, &o, &r));
	pid = t_fork(one_by_one, NULL);
	rt_await(&go);
	for (uint64_t seq = 1; seq <= N; seq++) {
		rt_fill(buf, LEN, seq);
		T_OK(ipk_ring_publish_wait(r, buf, LEN, RT_TIMEOUT));
	}
	ipk_ring_close(r);
	t_wait_exit(pid, 0);
	return 0;
}
