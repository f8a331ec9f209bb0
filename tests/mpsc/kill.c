/* SPDX-License-Identifier: MIT */
/*
 * kill.c - kill -9 of a producer at every step of a send, made
 * deterministic by the step hook mpsc_prod.c calls (ipk__mpsc_test_step):
 * the victim sends four messages, the consumer takes them, then the
 * victim sends a fifth that needs a PAD record (so every step happens)
 * and is killed at step N of it:
 *
 *   0 room found, nothing written    4 payload written
 *   1 claim stored                   5 the next record's mark written
 *   2 PAD committed                  6 word 0 written
 *   3 half of the payload            7 committed (before the doorbell)
 *
 * For each N, a second producer then streams messages: all of them arrive
 * whole while the victim's lane is stuck or dead (nobody is blocked by
 * it); the victim's four messages arrive, the fifth arrives only when it
 * was committed (7) and is never delivered torn; it is counted skipped
 * when it was claimed but not committed (1-6); the victim is forgotten.
 */
#include "mpsct.h"
#include "mpsc_layout.h"

#define LEN 900 /* records of 928 bytes: the fifth wraps a 4096-byte lane */
#define FIRST 4 /* sent and taken before the one that is killed */
#define STREAM 2000
#define STEPS 8

static char name[64];
static struct mt_step ready, go, stream;
static int target;

static void die_at(int step)
{
	if (step == target)
		(void)raise(SIGKILL);
}

static int victim(void *arg)
{
	struct ipk_mpsc_prod_opts po = { .capacity = 4096 };
	unsigned char buf[LEN];
	ipk_mpsc_prod *p;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, &po, 0, &p)); /* admitted in a receive */
	for (uint64_t seq = 0; seq < FIRST; seq++) {
		mt_fill(buf, LEN, 0, seq);
		T_OK(ipk_mpsc_send(p, buf, LEN, MT_TIMEOUT));
	}
	mt_signal(&ready);
	mt_await(&go); /* the first are taken: room for the next */
	mt_fill(buf, LEN, 0, FIRST);
	ipk__mpsc_test_step = die_at;
	T_OK(ipk_mpsc_send(p, buf, LEN, MT_TIMEOUT));
	T_FAIL("step %d: still alive after the send", target);
	return 1;
}

static int bystander(void *arg)
{
	unsigned char buf[200];
	ipk_mpsc_prod *p;

	(void)arg;
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	T_OK(ipk_mpsc_connect(name, NULL, 0, &p));
	mt_signal(&ready);
	mt_await(&stream);
	for (uint64_t seq = 0; seq < STREAM; seq++) {
		size_t len = mt_len(seq, sizeof(buf));

		mt_fill(buf, len, 1, seq);
		T_OK(ipk_mpsc_send(p, buf, len, MT_TIMEOUT));
	}
	ipk_mpsc_prod_close(p);
	return 0;
}

/* Receive until @n messages came, checking each; counts per producer. */
static void receive(ipk_mpsc *c, uint64_t n, uint64_t *next)
{
	unsigned char buf[LEN];

	for (uint64_t i = 0; i < n; i++) {
		ssize_t len = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, MT_TIMEOUT);
		uint64_t who, seq;

		T_OK(len);
		seq = mt_check(buf, (size_t)len, &who);
		T_TRUE(who < 2);
		T_EQ(seq, next[who]);
		next[who]++;
	}
}

static void one_step(int step)
{
	uint64_t next[2] = { 0, 0 };
	struct ipk_mpsc_stats st;
	unsigned char buf[LEN];
	pid_t v, b;
	int64_t died, seen;
	int status;
	ipk_mpsc *c;
	ssize_t n;

	target = step;
	T_OK(ipk_mpsc_create(name, NULL, &c));
	v = t_fork(victim, NULL);
	b = t_fork(bystander, NULL);
	mt_await(&ready);
	mt_await(&ready);
	receive(c, FIRST, next);
	T_EQ(next[0], FIRST);
	mt_signal(&go);
	T_EQ(waitpid(v, &status, 0), v);
	T_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	died = mt_now();
	/* The other producer is not held up by the dead one's lane. */
	mt_signal(&stream);
	receive(c, STREAM + (step == 7), next);
	T_EQ(next[1], STREAM);
	T_EQ(next[0], FIRST + (step == 7));
	t_wait_exit(b, 0);
	/* Both forgotten, the victim's half record counted. */
	for (;;) {
		n = ipk_mpsc_recv(c, buf, sizeof(buf), NULL, 10 * IPK_MSEC);
		T_EQ(n, -ETIMEDOUT);
		T_OK(ipk_mpsc_stats(c, &st));
		if (st.producers == 0)
			break;
		T_TRUE(mt_now() - died < MT_TIMEOUT);
	}
	seen = mt_now();
	T_EQ(st.skipped, step >= 1 && step <= 6 ? 1 : 0);
	T_EQ(st.left, 2);
	T_EQ(st.delivered, FIRST + STREAM + (step == 7));
	ipk_mpsc_close(c);
	printf("killed at step %d: %s, %llu skipped, forgotten %.1f ms after the death\n", step,
	       step == 7 ? "delivered" : "not delivered", (unsigned long long)st.skipped,
	       (double)(seen - died) / 1e6);
}

int main(void)
{
	mt_name(name, sizeof(name), "kill");
	mt_step_init(&ready);
	mt_step_init(&go);
	mt_step_init(&stream);
	for (int step = 0; step < STEPS; step++)
		one_step(step);
	return 0;
}
