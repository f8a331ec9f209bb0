/* SPDX-License-Identifier: MIT */
/*
 * queue.c - lossless queue mode (IPK_RING_QUEUE): a full queue refuses
 * (-EAGAIN) or waits (-ETIMEDOUT) instead of overwriting, and
 * ipk_ring_publish_batch() publishes what fits of a larger batch; a second
 * consumer is -EBUSY; a consumer that closes and comes back continues
 * where it stopped; a slow consumer process under a producer at full speed
 * receives every one of 10^5 messages (the second half in batches), in
 * order, checksums intact, nothing lost, while a lossy subscriber watches
 * the same queue; a ring that is not a queue has no consumer
 * (-EOPNOTSUPP); memfd queues are -EINVAL.
 */
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>

#include "ringt.h"

#define N 100000
#define MAXLEN 300

static char name[64];
static struct rt_step ready;
static const struct ipk_ring_sub_opts consumer = { .flags = IPK_RING_CONSUMER };

/* Takes the first half one by one, the second in ipk_ring_recv_batch()
 * calls of up to 8. */
static int slow_consumer(void *arg)
{
	static unsigned char bufs[8][MAXLEN];
	ipk_ring_sub *s;
	uint64_t want = 1;
	int n;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_ring_open(name, &consumer, &s));
	rt_signal(&ready);
	for (;;) {
		struct ipk_msg m[8];
		unsigned k = want <= N / 2 ? 1 : 8;

		for (unsigned j = 0; j < k; j++)
			m[j] = (struct ipk_msg){ .buf = bufs[j], .len = MAXLEN };
		n = ipk_ring_recv_batch(s, m, k, RT_TIMEOUT);
		if (n < 0)
			break;
		for (int j = 0; j < n; j++) {
			T_EQ(rt_check(bufs[j], m[j].len), want++);
			if (want % 64 == 0)
				sched_yield(); /* slower than the producer */
		}
	}
	T_EQ(n, -EPIPE);
	T_EQ(want, N + 1);
	T_EQ(ipk_ring_lost(s), 0);
	ipk_ring_sub_close(s);
	return 0;
}

int main(void)
{
	struct ipk_ring_opts o = { .capacity = 4096, .max_msg = 1000, .flags = IPK_RING_QUEUE };
	unsigned char buf[MAXLEN];
	ipk_ring_sub *c, *c2, *watcher;
	int full = 0, first;
	ipk_ring *r;
	pid_t pid;

	rt_name(name, sizeof(name), "queue");
	T_EQ(ipk_ring_create(NULL, &o, &r), -EINVAL);
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, &consumer, &c));
	T_EQ(ipk_ring_open(name, &consumer, &c2), -EBUSY);
	{
		int rfd, bfd;

		T_OK(ipk_ring_fds(r, &rfd, &bfd));
		T_EQ(ipk_ring_open_fd(rfd, bfd, &consumer, &c2), -EINVAL);
	}

	/* fill it: -EAGAIN, never an overwrite */
	for (;;) {
		rt_fill(buf, 100, (uint64_t)full + 1);
		int rc = ipk_ring_publish(r, buf, 100);

		if (rc == -EAGAIN)
			break;
		T_OK(rc);
		full++;
	}
	/* 100 bytes take a 128-byte record, and the mark after the newest
	 * record 16 bytes: 31 fit in 4096 */
	T_EQ(full, (4096 - 16) / 128);
	T_EQ(ipk_ring_publish_wait(r, buf, 100, 0), -EAGAIN);
	T_EQ(ipk_ring_publish_wait(r, buf, 100, 20 * IPK_MSEC), -ETIMEDOUT);
	{
		void *p;

		T_EQ(ipk_ring_reserve(r, 100, &p), -EAGAIN);
	}

	/* the consumer takes half, closes, comes back: continues there */
	for (first = 1; first <= full / 2; first++) {
		T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), 100);
		T_EQ(rt_check(buf, 100), first);
	}
	ipk_ring_sub_close(c);
	T_OK(ipk_ring_open(name, &consumer, &c));
	T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), 100);
	T_EQ(rt_check(buf, 100), first);
	while (ipk_ring_recv(c, buf, sizeof(buf), 0) >= 0)
		;

	/* publish_batch: what fits of a batch larger than the queue, then
	 * -EAGAIN, then the rest once the consumer made room */
	{
		static unsigned char store[40][100];
		struct ipk_msg v[40];
		ssize_t n;

		for (int j = 0; j < 40; j++) {
			rt_fill(store[j], 100, 1000 + (uint64_t)j);
			v[j] = (struct ipk_msg){ .buf = store[j], .len = 100 };
		}
		T_EQ(ipk_ring_publish_batch(r, v, 40), full);
		T_EQ(ipk_ring_publish_batch(r, v + full, 40 - (size_t)full), -EAGAIN);
		/* one batch receive takes them all and makes the room */
		{
			static unsigned char got[40][100];
			struct ipk_msg m[40];

			for (int j = 0; j < full; j++)
				m[j] = (struct ipk_msg){ .buf = got[j], .len = 100 };
			T_EQ(ipk_ring_recv_batch(c, m, (unsigned)full, 0), full);
			for (int j = 0; j < full; j++)
				T_EQ(rt_check(got[j], m[j].len), 1000 + (uint64_t)j);
		}
		T_EQ(ipk_ring_publish_batch(r, v + full, 40 - (size_t)full), 40 - full);
		for (int j = full; j < 40; j++) {
			T_EQ(ipk_ring_recv(c, buf, sizeof(buf), 0), 100);
			T_EQ(rt_check(buf, 100), 1000 + (uint64_t)j);
		}
		n = ipk_ring_recv(c, buf, sizeof(buf), 0);
		T_EQ(n, -EAGAIN);
	}
	T_EQ(ipk_ring_lost(c), 0);
	ipk_ring_sub_close(c);
	ipk_ring_close(r);

	/* a consumer process slower than the producer, and a lossy watcher */
	rt_name(name, sizeof(name), "queue");
	rt_step_init(&ready);
	T_OK(ipk_ring_create(name, &o, &r));
	T_OK(ipk_ring_open(name, NULL, &watcher));
	pid = t_fork(slow_consumer, NULL);
	rt_await(&ready);
	for (uint64_t seq = 1; seq <= N; seq++) {
		size_t len = rt_len(seq, MAXLEN);

		rt_fill(buf, len, seq);
		T_OK(ipk_ring_publish_wait(r, buf, len, RT_TIMEOUT));
	}
	ipk_ring_close(r);
	t_wait_exit(pid, 0);
	{
		uint64_t last = 0, got;
		ssize_t n;

		got = rt_drain(watcher, buf, sizeof(buf), &last, &n);
		T_EQ(n, -EPIPE);
		T_EQ(got + ipk_ring_lost(watcher), N);
	}
	ipk_ring_sub_close(watcher);

	/* not a queue: no consumer */
	rt_name(name, sizeof(name), "queue");
	o.flags = 0;
	T_OK(ipk_ring_create(name, &o, &r));
	T_EQ(ipk_ring_open(name, &consumer, &c), -EOPNOTSUPP);
	ipk_ring_close(r);
	return 0;
}
