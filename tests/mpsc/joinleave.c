/* SPDX-License-Identifier: MIT */
/*
 * joinleave.c - producers come and go at any time, in numbers far above
 * 32: four processes each connect, send and close fifty producers one
 * after the other while the consumer receives; then one process holds 200
 * producers at once. Every message arrives whole and in order per
 * producer, and each producer is forgotten once it has closed and its
 * lane is drained.
 */
#include "mpsct.h"

#define PROCS 4
#define ROUNDS 50
#define PER 20
#define MANY 200

static char name[64];
static struct mt_step sent, done;

static int churn(void *arg)
{
	uint64_t proc = (uint64_t)(uintptr_t)arg;
	unsigned char buf[64];

	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	for (uint64_t r = 0; r < ROUNDS; r++) {
		ipk_mpsc_prod *p;

		T_OK(ipk_mpsc_connect(name, &(struct ipk_mpsc_prod_opts){ .capacity = 4096 }, 0,
				      &p));
		for (uint64_t seq = 0; seq < PER; seq++) {
			mt_fill(buf, sizeof(buf), proc * 1000 + r, seq);
			T_OK(ipk_mpsc_send(p, buf, sizeof(buf), MT_TIMEOUT));
		}
		ipk_mpsc_prod_close(p);
	}
	return 0;
}

static int many(void *arg)
{
	static ipk_mpsc_prod *p[MANY];
	unsigned char buf[64];

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	for (uint64_t i = 0; i < MANY; i++) {
		T_OK(ipk_mpsc_connect(name, &(struct ipk_mpsc_prod_opts){ .capacity = 4096 }, 0,
				      &p[i]));
		mt_fill(buf, sizeof(buf), i, 0);
		T_OK(ipk_mpsc_send(p[i], buf, sizeof(buf), MT_TIMEOUT));
	}
	mt_signal(&sent);
	mt_await(&done);
	for (int i = 0; i < MANY; i++)
		ipk_mpsc_prod_close(p[i]);
	return 0;
}

/* Receive until nothing comes for a while and no producer is left. */
static void wait_forgotten(ipk_mpsc *c, struct ipk_mpsc_stats *st)
{
	unsigned char buf[64];

	for (int64_t end = mt_now() + MT_TIMEOUT;;) {
		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 10 * IPK_MSEC), -ETIMEDOUT);
		T_OK(ipk_mpsc_stats(c, st));
		if (st->producers == 0)
			return;
		T_TRUE(mt_now() < end);
	}
}

int main(void)
{
	static uint64_t next[PROCS * 1000];
	static bool seen[MANY + 1];
	struct ipk_mpsc_stats st;
	struct ipk_mpsc_from from;
	unsigned char buf[64];
	pid_t pids[PROCS], pid;
	ipk_mpsc *c;

	mt_name(name, sizeof(name), "join");
	mt_step_init(&sent);
	mt_step_init(&done);
	T_OK(ipk_mpsc_create(name, NULL, &c));
	for (int i = 0; i < PROCS; i++)
		pids[i] = t_fork(churn, (void *)(uintptr_t)i);
	for (int i = 0; i < PROCS * ROUNDS * PER; i++) {
		ssize_t n = ipk_mpsc_recv(c, buf, sizeof(buf), &from, MT_TIMEOUT);
		uint64_t who, seq;

		T_EQ(n, sizeof(buf));
		seq = mt_check(buf, sizeof(buf), &who);
		T_TRUE(who < PROCS * 1000 && who % 1000 < ROUNDS);
		T_EQ(seq, next[who]);
		T_EQ(from.seq, seq);
		next[who]++;
	}
	for (int i = 0; i < PROCS; i++)
		t_wait_exit(pids[i], 0);
	wait_forgotten(c, &st);
	T_EQ(st.joined, PROCS * ROUNDS);
	T_EQ(st.left, PROCS * ROUNDS);
	printf("%d producers joined, sent and left in turn\n", PROCS * ROUNDS);

	pid = t_fork(many, NULL);
	for (int i = 0; i < MANY; i++) {
		uint64_t who;

		T_EQ(ipk_mpsc_recv(c, buf, sizeof(buf), &from, MT_TIMEOUT), sizeof(buf));
		T_EQ(mt_check(buf, sizeof(buf), &who), 0);
		T_TRUE(who < MANY && !seen[who]);
		seen[who] = true;
		T_EQ(from.pid, pid);
	}
	mt_await(&sent);
	T_OK(ipk_mpsc_stats(c, &st));
	T_EQ(st.producers, MANY);
	mt_signal(&done);
	t_wait_exit(pid, 0);
	wait_forgotten(c, &st);
	T_EQ(st.left, PROCS * ROUNDS + MANY);
	T_EQ(st.skipped, 0);
	ipk_mpsc_close(c);
	printf("%d producers at once, all forgotten after they closed\n", MANY);
	return 0;
}
