/* SPDX-License-Identifier: MIT */
/*
 * backpressure.c - a full lane holds its producer back, never drops: with
 * timeout 0 a send is -EAGAIN, with a timeout -ETIMEDOUT, and one message
 * taken makes room. A producer in another process that blocks for room
 * (timeout forever) is woken as the consumer drains, and every one of its
 * messages arrives, in order.
 */
#include "mpsct.h"

#define LEN 100
#define COUNT 5000

static char name[64];
static struct mt_step full;

static int blocked_producer(void *arg)
{
	struct ipk_mpsc_prod_opts po = { .capacity = 4096 };
	unsigned char buf[LEN];
	ipk_mpsc_prod *p;
	uint64_t seq = 0;
	int r;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, &po, 0, &p));
	for (;; seq++) {
		mt_fill(buf, LEN, 0, seq);
		r = ipk_mpsc_send(p, buf, LEN, 0);
		if (r == -EAGAIN)
			break;
		T_OK(r);
	}
	mt_signal(&full);
	for (; seq < COUNT; seq++) {
		mt_fill(buf, LEN, 0, seq);
		T_OK(ipk_mpsc_send(p, buf, LEN, IPK_FOREVER));
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

static void in_process(void)
{
	struct ipk_mpsc_prod_opts po = { .capacity = 4096 };
	unsigned char buf[LEN];
	ipk_mpsc_prod *p;
	ipk_mpsc *c;
	uint64_t n = 0;
	int64_t t0;
	int r;

	T_OK(ipk_mpsc_create(name, NULL, &c));
	T_OK(ipk_mpsc_connect(name, &po, 0, &p));
	while ((r = ipk_mpsc_send(p, buf, LEN, 0)) == 0)
		n++;
	T_EQ(r, -EAGAIN);
	T_EQ(n, 4096 / 128 - 1); /* records of 128 bytes, and room for a mark */
	t0 = mt_now();
	T_EQ(ipk_mpsc_send(p, buf, LEN, 30 * IPK_MSEC), -ETIMEDOUT);
	T_TRUE(mt_now() - t0 >= 30 * IPK_MSEC);
	/* A message is taken when the consumer asks for the next one. */
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0), LEN);
	T_EQ(ipk_mpsc_send(p, buf, LEN, 0), -EAGAIN);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0), LEN);
	T_OK(ipk_mpsc_send(p, buf, LEN, 0));
	T_EQ(ipk_mpsc_send(p, buf, LEN, 0), -EAGAIN);
	for (uint64_t i = 0; i < n - 1; i++)
		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0), LEN);
	T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 0), -EAGAIN);
	ipk_mpsc_prod_close(p);
	ipk_mpsc_close(c);
	printf("full lane: -EAGAIN, -ETIMEDOUT, room once a message is taken\n");
}

int main(void)
{
	struct ipk_mpsc_stats st;
	unsigned char buf[LEN];
	ipk_mpsc *c;
	pid_t pid;

	mt_name(name, sizeof(name), "bp");
	mt_step_init(&full);
	in_process();

	T_OK(ipk_mpsc_create(name, NULL, &c));
	pid = t_fork(blocked_producer, NULL);
	mt_await(&full);
	for (uint64_t seq = 0; seq < COUNT; seq++) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT);
		uint64_t who;

		T_EQ(n, LEN);
		T_EQ(mt_check(buf, LEN, &who), seq);
	}
	t_wait_exit(pid, 0);
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.delivered, COUNT);
	ipk_mpsc_close(c);
	printf("a producer blocked for room: woken, %d messages, none lost\n", COUNT);
	return 0;
}
