/* SPDX-License-Identifier: MIT */
/*
 * race.c - N processes race to create one ring name, released together:
 * in every round exactly one becomes the publisher, every other one gets
 * -EBUSY, and a subscriber then reads the winner's message from the ring
 * at the name. 1000 rounds with 2 racers and 1000 with 8
 * (IPK_RING_RACE_ROUNDS sets the count).
 */
#include <sched.h>
#include <stdatomic.h>

#include "ringt.h"

#define MAX_RACERS 8
#define PENDING 1

struct board {
	_Atomic int go, sub_ready, done;
	_Atomic int result[MAX_RACERS];
};

static char name[64];
static struct board *bd;

static void await_flag(_Atomic int *flag)
{
	int64_t until = rt_now() + RT_TIMEOUT;

	while (!atomic_load(flag)) {
		if (rt_now() > until)
			T_FAIL("racer %d: timed out", (int)getpid());
		sched_yield();
	}
}

static int racer(void *arg)
{
	struct ipk_ring_opts o = { .capacity = 4096 };
	int i = (int)(intptr_t)arg, r;
	ipk_ring *ring;

	await_flag(&bd->go);
	r = ipk_ring_create(name, &o, &ring);
	atomic_store(&bd->result[i], r);
	if (r < 0)
		return 0;
	await_flag(&bd->sub_ready);
	T_OK(ipk_ring_publish(ring, &i, sizeof(i)));
	await_flag(&bd->done);
	ipk_ring_close(ring);
	return 0;
}

static void round_of(int n)
{
	pid_t pids[MAX_RACERS];
	int winner = -1, got;
	ipk_ring_sub *s;

	atomic_store(&bd->go, 0);
	atomic_store(&bd->sub_ready, 0);
	atomic_store(&bd->done, 0);
	for (int i = 0; i < n; i++) {
		atomic_store(&bd->result[i], PENDING);
		pids[i] = t_fork(racer, (void *)(intptr_t)i);
	}
	atomic_store(&bd->go, 1);
	for (int i = 0; i < n; i++) {
		int64_t until = rt_now() + RT_TIMEOUT;
		int r;

		while ((r = atomic_load(&bd->result[i])) == PENDING) {
			T_TRUE(rt_now() < until);
			sched_yield();
		}
		if (r == 0) {
			if (winner >= 0)
				T_FAIL("two winners: racers %d and %d", winner, i);
			winner = i;
		} else {
			T_EQ(r, -EBUSY);
		}
	}
	T_TRUE(winner >= 0);
	T_OK(ipk_ring_open(name, NULL, &s));
	atomic_store(&bd->sub_ready, 1);
	T_EQ(ipk_ring_recv(s, &got, sizeof(got), RT_TIMEOUT), (ssize_t)sizeof(got));
	T_EQ(got, winner);
	atomic_store(&bd->done, 1);
	for (int i = 0; i < n; i++)
		t_wait_exit(pids[i], 0);
	T_EQ(ipk_ring_recv(s, &got, sizeof(got), RT_TIMEOUT), -EPIPE);
	ipk_ring_sub_close(s);
}

int main(void)
{
	const char *env = getenv("IPK_RING_RACE_ROUNDS");
	int rounds = env ? atoi(env) : 1000;
	static const int racers[] = { 2, 8 };

	rt_name(name, sizeof(name), "race");
	bd = mmap(NULL, sizeof(*bd), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_TRUE(bd != MAP_FAILED);
	for (size_t k = 0; k < sizeof(racers) / sizeof(racers[0]); k++) {
		int64_t t0 = rt_now();

		for (int i = 0; i < rounds; i++)
			round_of(racers[k]);
		printf("%d rounds of %d racers: one publisher each, the rest -EBUSY, the "
		       "winner's ring read (%.1f s)\n",
		       rounds, racers[k], (double)(rt_now() - t0) / IPK_SEC);
	}
	return 0;
}
