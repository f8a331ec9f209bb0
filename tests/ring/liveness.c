/* SPDX-License-Identifier: MIT */
/*
 * liveness.c - publisher death and restart as subscribers see them:
 * kill -9 of the publisher mid-stream (subscribers drain what was committed,
 * then -EOWNERDEAD once, both blocking and with timeout 0, and no
 * half-written record is delivered; after it they wait for a successor); a second publisher on a
 * live name (-EBUSY); a restart on the same name (-ECONNRESET once, then the new publisher's
 * messages with the seq numbers continuing); IPK_RING_EXCL (-EEXIST); a
 * clean close (-EPIPE); kill -9 of one subscriber mid-read leaves the
 * publisher and the other subscribers alone.
 */
#include <signal.h>
#include <sys/prctl.h>

#include "ringt.h"

static char name[64];
static struct rt_step ready;

/* Publishes self-checking messages as fast as it can until killed. */
static int publisher(void *arg)
{
	static unsigned char buf[512];
	ipk_ring *r;
	uint64_t seq = 0;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL)); /* never outlive a failed test */
	T_OK(ipk_ring_create(name, NULL, &r));
	rt_signal(&ready);
	for (;;) {
		size_t len = rt_len(++seq, sizeof(buf));

		rt_fill(buf, len, seq);
		T_OK(ipk_ring_publish(r, buf, len));
	}
	return 0;
}

/* A subscriber that receives until told the publisher died, checking
 * every message. */
static int drain_until_gone(ipk_ring_sub *s, int64_t timeout)
{
	static unsigned char buf[512];
	uint64_t n = 0, last = 0;

	for (;;) {
		ssize_t len = ipk_ring_recv(s, buf, sizeof(buf), timeout);

		if (len == -EAGAIN)
			continue;
		if (len < 0) {
			T_EQ(len, -EOWNERDEAD);
			break;
		}
		uint64_t seq = rt_check(buf, (size_t)len);

		T_TRUE(seq > last);
		last = seq;
		n++;
	}
	printf("drained %llu messages after the kill\n", (unsigned long long)n);
	return 0;
}

static int late_subscriber(void *arg)
{
	static unsigned char buf[512];
	ipk_ring_sub *s;

	(void)arg;
	T_OK(ipk_ring_open(name, NULL, &s));
	rt_signal(&ready);
	T_OK(ipk_ring_recv(s, buf, sizeof(buf), RT_TIMEOUT));
	pause(); /* killed mid-stream */
	return 0;
}

static void wait_killed(pid_t pid)
{
	int st;

	T_EQ(waitpid(pid, &st, 0), pid);
	T_TRUE(WIFSIGNALED(st));
	T_EQ(WTERMSIG(st), SIGKILL);
}

int main(void)
{
	struct ipk_ring_opts excl = { .flags = IPK_RING_EXCL };
	struct ipk_ring_stats st;
	unsigned char buf[512];
	ipk_ring_sub *a, *b;
	uint64_t lost_a;
	ipk_ring *r, *r2;
	pid_t pid, spid;

	rt_name(name, sizeof(name), "live");
	rt_step_init(&ready);
	pid = t_fork(publisher, NULL);
	rt_await(&ready);
	T_OK(ipk_ring_open(name, NULL, &a));
	T_OK(ipk_ring_open(name, NULL, &b));
	T_EQ(ipk_ring_create(name, NULL, &r), -EBUSY); /* it lives */
	T_EQ(ipk_ring_create(name, &excl, &r), -EEXIST);

	/* a subscriber killed mid-stream disturbs nobody */
	spid = t_fork(late_subscriber, NULL);
	rt_await(&ready);
	T_SYS(kill(spid, SIGKILL));
	wait_killed(spid);
	T_OK(ipk_ring_recv(a, buf, sizeof(buf), RT_TIMEOUT));

	/* the publisher killed mid-write: drain, then -EOWNERDEAD once */
	T_SYS(kill(pid, SIGKILL));
	wait_killed(pid);
	drain_until_gone(a, IPK_FOREVER);
	drain_until_gone(b, 0);
	/* then they wait for a successor */
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	T_EQ(ipk_ring_recv(b, buf, sizeof(buf), 20 * IPK_MSEC), -ETIMEDOUT);

	/* a restart on the name takes over: new epoch, seq carries on */
	lost_a = ipk_ring_lost(a);
	T_OK(ipk_ring_create(name, NULL, &r));
	T_OK(ipk_ring_stats(r, &st));
	T_EQ(st.epoch, 2);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -ECONNRESET);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	rt_fill(buf, 100, 1);
	T_OK(ipk_ring_publish(r, buf, 100));
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), 0), 100);
	T_EQ(rt_check(buf, 100), 1);
	/* a death between storing pub_seq and head skips one seq number */
	T_TRUE(ipk_ring_lost(a) - lost_a <= 1);
	/* b sees the new epoch before any message of the new publisher */
	T_EQ(ipk_ring_recv(b, buf, sizeof(buf), IPK_FOREVER), -ECONNRESET);
	T_EQ(ipk_ring_recv(b, buf, sizeof(buf), IPK_FOREVER), 100);
	T_EQ(ipk_ring_create(name, NULL, &r2), -EBUSY);

	/* a clean close: drained, then -EPIPE, also for a blocked receiver */
	T_OK(ipk_ring_publish(r, buf, 100));
	ipk_ring_close(r);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), IPK_FOREVER), 100);
	T_EQ(ipk_ring_recv(a, buf, sizeof(buf), IPK_FOREVER), -EPIPE);
	ipk_ring_sub_close(a);
	ipk_ring_sub_close(b);
	T_EQ(ipk_ring_open(name, NULL, &a), -ENOENT);
	return 0;
}
