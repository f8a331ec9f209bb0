/* SPDX-License-Identifier: MIT */
/*
 * midwrite.c - kill -9 of the publisher in the middle of a record, made
 * deterministic: it commits one message, reserves the next and writes half
 * of it (zero-copy), then is killed. Subscribers - a copying one, a
 * zero-copy one and a blocked one - get the committed message, never the
 * half-written one, and then -EPIPE. A successor publisher takes the ring
 * over: the half-written record stays invisible and the seq numbers carry
 * on.
 */
#include <signal.h>
#include <sys/prctl.h>

#include "ringt.h"

#define LEN 200

static char name[64];
static struct rt_step ready, go, half;

static int publisher(void *arg)
{
	unsigned char buf[LEN];
	ipk_ring *r;
	void *p;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_create(name, NULL, &r));
	rt_signal(&ready);
	rt_await(&go);
	rt_fill(buf, LEN, 1);
	T_OK(ipk_ring_publish(r, buf, LEN));
	T_OK(ipk_ring_reserve(r, LEN, &p));
	rt_fill(buf, LEN, 2);
	memcpy(p, buf, LEN / 2); /* half of message 2, never committed */
	rt_signal(&half);
	for (;;)
		pause();
	return 0;
}

int main(void)
{
	unsigned char buf[LEN];
	struct ipk_ring_view v;
	struct ipk_ring_stats st;
	ipk_ring_sub *a, *b, *c;
	ipk_ring *r;
	pid_t pid;
	int status;

	rt_name(name, sizeof(name), "midw");
	rt_step_init(&ready);
	rt_step_init(&go);
	rt_step_init(&half);
	pid = t_fork(publisher, NULL);
	rt_await(&ready);
	T_OK(ipk_ring_open(name, NULL, &a));
	T_OK(ipk_ring_open(name, NULL, &b));
	T_OK(ipk_ring_open(name, NULL, &c));
	rt_signal(&go);
	rt_await(&half);
	T_SYS(kill(pid, SIGKILL));
	T_EQ(waitpid(pid, &status, 0), pid);
	T_TRUE(WIFSIGNALED(status));

	/* copying */
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), RT_TIMEOUT), LEN);
	T_EQ(rt_check(buf, LEN), 1);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), RT_TIMEOUT), -EPIPE);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EPIPE);
	/* zero-copy */
	T_OK(ipk_ring_view(b, &v, RT_TIMEOUT));
	T_EQ(v.len, LEN);
	T_EQ(rt_check(v.data, v.len), 1);
	T_OK(ipk_ring_validate(b, &v));
	T_EQ(ipk_ring_view(b, &v, 0), -EPIPE);
	/* one that only looks now, with timeout 0 */
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), LEN);
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), -EPIPE);
	T_EQ(ipk_ring_lost(a) + ipk_ring_lost(b) + ipk_ring_lost(c), 0);

	/* a successor: the half record stays invisible, seq carries on */
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_stats(r, &st));
	T_EQ(st.epoch, 2);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -ECONNRESET);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	rt_fill(buf, LEN, 2);
	T_OK(ipk_ring_publish(r, buf, LEN));
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), RT_TIMEOUT), LEN);
	T_EQ(rt_check(buf, LEN), 2);
	T_EQ(ipk_ring_lost(a), 0); /* the reserved seq was never committed */
	ipk_ring_close(r);
	ipk_ring_sub_close(a);
	ipk_ring_sub_close(b);
	ipk_ring_sub_close(c);
	printf("the half-written record was never delivered\n");
	return 0;
}
