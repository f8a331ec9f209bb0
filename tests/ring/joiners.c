/* SPDX-License-Identifier: MIT */
/*
 * joiners.c - subscribers join and leave at random while the publisher
 * runs at full speed through a small ring. Each one starts at a random
 * place (the end, the oldest, a seq in the past, present or future),
 * receives for a random while, and checks against the seq each message
 * carries that the ring's counts are exact: lost is the sum of the gaps it
 * saw (and the gap before its first message, when it asked for a seq that
 * was overwritten), skipped is its start, and skipped + lost + delivered
 * is the seq it expects next. IPK_RING_JOINERS sets how many (100).
 */
#include <signal.h>
#include <sys/prctl.h>

#include "ringt.h"

static char name[64];
static struct rt_step up;

static int publisher(void *arg)
{
	struct ipk_ring_opts o = { .capacity = 8192 };
	uint64_t seq = 0;
	ipk_ring *r;

	(void)arg;
	/* full speed until killed, also if the test dies first */
	T_SYS(prctl(PR_SET_PDEATHSIG, SIGKILL));
	if (getppid() == 1)
		return 1;
	T_OK(ipk_ring_create(name, &o, &r));
	rt_signal(&up);
	for (;; seq++)
		T_OK(ipk_ring_publish(r, &seq, sizeof(seq)));
	return 1;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int joiner(void *arg)
{
	uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	struct ipk_ring_sub_opts o = { .from = (uint32_t)(rnd(&x) % 3) };
	struct ipk_ring_counts c;
	uint64_t v, want = 0, gaps = 0, n = 0, rounds = 1000 + rnd(&x) % 10000;
	ipk_ring_sub *s;
	int64_t guess;

	if (o.from == IPK_RING_FROM_SEQ) {
		ipk_ring_sub *probe;

		/* somewhere around the present: behind, at or ahead of it */
		T_OK(ipk_ring_open(name, NULL, &probe));
		T_OK(ipk_ring_counts(probe, &c));
		ipk_ring_sub_close(probe);
		guess = (int64_t)c.start + (int64_t)(rnd(&x) % 4000) - 3000;
		o.from_seq = guess < 0 ? 0 : (uint64_t)guess;
	}
	T_OK(ipk_ring_open(name, &o, &s));
	for (uint64_t i = 0; i < rounds; i++) {
		T_EQ(ipk_ring_recv(s, &v, sizeof(v), RT_TIMEOUT), (ssize_t)sizeof(v));
		if (i == 0) {
			/* the start is known by the first message at the latest
			 * (at open, unless the publisher lapped every walk) */
			T_OK(ipk_ring_counts(s, &c));
			want = c.start;
		}
		T_TRUE(v >= want);
		gaps += v - want;
		want = v + 1;
		n++;
	}
	T_OK(ipk_ring_counts(s, &c));
	T_EQ(c.delivered, n);
	T_EQ(c.lost, gaps);
	T_EQ(c.skipped, c.start);
	T_EQ(c.skipped + c.lost + c.delivered, want);
	ipk_ring_sub_close(s);
	return 0;
}

int main(void)
{
	const char *env = getenv("IPK_RING_JOINERS");
	int joiners = env ? atoi(env) : 100;
	pid_t pub, live[4] = { 0 };

	rt_name(name, sizeof(name), "joiners");
	rt_step_init(&up);
	pub = t_fork(publisher, NULL);
	rt_await(&up);
	/* four at a time: each one that ends makes room for the next */
	for (int i = 0; i < joiners; i++) {
		int k = i % 4;

		if (live[k])
			t_wait_exit(live[k], 0);
		live[k] = t_fork(joiner, (void *)(uintptr_t)(i + 1));
	}
	for (int k = 0; k < 4; k++)
		if (live[k])
			t_wait_exit(live[k], 0);
	T_SYS(kill(pub, SIGKILL));
	T_SYS(waitpid(pub, NULL, 0));
	(void)shm_unlink(name);
	{
		char bell[80];

		snprintf(bell, sizeof(bell), "%s-bell", name);
		(void)shm_unlink(bell);
	}
	printf("%d subscribers joined and left a full-speed 8 KiB ring: every count exact\n",
	       joiners);
	return 0;
}
