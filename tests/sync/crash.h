/* SPDX-License-Identifier: MIT */
/*
 * tests/sync/crash.h - the crash test both lock kinds share: WORKERS
 * processes increment a counter in shared memory under the lock, and in
 * each round one holder, chosen by whichever worker reaches a random count
 * first, is killed with SIGKILL at a random point of its critical section.
 * A new worker replaces it and the run goes on.
 *
 * The protected state is the counter plus one "done" count per worker
 * slot; each increment adds one to both. Killed between the two (stage 1),
 * a holder leaves them disagreeing, and the next holder must repair that:
 * for the robust mutex because the lock says IPK_MUTEX_OWNER_DIED, for a
 * SEM_UNDO semaphore (which tells nobody) because of the "pending" marker
 * the holder sets before it changes anything - the journal a semaphore
 * user needs.
 *
 * Checked at the end: the counter equals the sum of the recorded
 * increments, every round's death was noticed exactly once and repaired,
 * each survivor's own count matches its slot, nobody waited 10 s for the
 * lock (a deadlock fails the test), and the lock still works.
 */
#ifndef IPCKIT_TESTS_CRASH_H
#define IPCKIT_TESTS_CRASH_H

#include "synct.h"

#define WORKERS 3
#define MAX_ROUNDS 100000
#define LOCK_TIMEOUT (10 * IPK_SEC)
#define NO_KILL UINT64_MAX

struct crash_ops {
	const char *name;
	/* true: lock() returns 1 after a holder died (the mutex); false:
	 * lock() only ever returns 0, the marker tells (the semaphore) */
	bool tells;
	/* 0 or 1 (owner died), or a negative errno */
	int (*lock)(int64_t timeout_ns);
	int (*consistent)(void);
	int (*unlock)(void);
};

struct crash_state {
	_Atomic uint64_t counter; /* under the lock; atomic so the parent may peek */
	_Atomic uint64_t pending; /* slot + 1 while a holder changes the state */
	_Atomic uint64_t noticed; /* deaths the next holder noticed */
	_Atomic uint64_t fixed;   /* ... of which left counter != sum of done */
	_Atomic uint64_t kill_at; /* the holder that sees counter >= this dies */
	_Atomic uint32_t stage;   /* where it dies: 0, 1 or 2 (see holder) */
	_Atomic int32_t victim;   /* its pid, once it is ready to die */
	_Atomic uint32_t stop;    /* workers: finish and exit */
	_Atomic uint32_t nslots;  /* slots handed out so far */
	_Atomic uint64_t done[WORKERS + MAX_ROUNDS + 1];
};

static const struct crash_ops *crash_ops;
static struct crash_state *crash_st;
static uint64_t crash_sum(void)
{
	uint32_t n = atomic_load(&crash_st->nslots);
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += atomic_load_explicit(&crash_st->done[i], memory_order_relaxed);
	return sum;
}

/* Under the lock, after it: notice a dead predecessor and repair. */
static void crash_check_in(int r)
{
	struct crash_state *st = crash_st;
	bool died = crash_ops->tells ? r == 1 : atomic_load(&st->pending) != 0;
	uint64_t sum;

	if (r < 0)
		T_FAIL("%s: lock: %d (%s)", crash_ops->name, r, ipk_errname(r));
	if (!crash_ops->tells)
		T_EQ(r, 0);
	if (!died)
		return;
	sum = crash_sum();
	if (atomic_load(&st->counter) != sum) {
		atomic_store(&st->counter, sum);
		atomic_fetch_add(&st->fixed, 1);
	}
	atomic_store(&st->pending, 0);
	atomic_fetch_add(&st->noticed, 1);
	if (crash_ops->tells)
		T_EQ(crash_ops->consistent(), 0);
}

/* The chosen holder: do part of an increment, then wait to be killed. */
static void crash_die_here(unsigned slot)
{
	struct crash_state *st = crash_st;
	uint32_t stage = atomic_load(&st->stage);

	atomic_store(&st->kill_at, NO_KILL);
	atomic_store(&st->pending, slot + 1);
	if (stage >= 1)
		atomic_fetch_add(&st->counter, 1);
	if (stage >= 2)
		atomic_fetch_add(&st->done[slot], 1);
	atomic_store_explicit(&st->victim, (int32_t)getpid(), memory_order_release);
	for (;;)
		pause();
}

static int crash_worker(void *arg)
{
	struct crash_state *st = crash_st;
	unsigned slot = (unsigned)(uintptr_t)arg;
	uint64_t mine = 0;

	while (!atomic_load_explicit(&st->stop, memory_order_acquire)) {
		crash_check_in(crash_ops->lock(LOCK_TIMEOUT));
		if (atomic_load(&st->counter) >= atomic_load(&st->kill_at))
			crash_die_here(slot);
		atomic_store(&st->pending, slot + 1);
		atomic_fetch_add(&st->counter, 1);
		atomic_fetch_add(&st->done[slot], 1);
		atomic_store(&st->pending, 0);
		mine++;
		T_EQ(crash_ops->unlock(), 0);
	}
	T_EQ(atomic_load(&st->done[slot]), mine);
	return 0;
}

static pid_t crash_spawn(void)
{
	unsigned slot = atomic_fetch_add(&crash_st->nslots, 1);

	return t_fork(crash_worker, (void *)(uintptr_t)slot);
}

/* Run @rounds rounds with @ops; the lock must exist before. */
static void crash_run(const struct crash_ops *ops, unsigned rounds)
{
	struct crash_state *st;
	pid_t pids[WORKERS];
	uint64_t seed = synct_seed(), stage1 = 0, stages[3] = { 0 };
	int64_t t0 = synct_now_ns();
	int r;

	if (rounds > MAX_ROUNDS)
		T_FAIL("at most %d rounds", MAX_ROUNDS);
	crash_ops = ops;
	crash_st = st = synct_shared(sizeof(*st));
	atomic_store(&st->kill_at, NO_KILL);
	for (int i = 0; i < WORKERS; i++)
		pids[i] = crash_spawn();

	for (unsigned round = 0; round < rounds; round++) {
		uint32_t stage = synct_rand(&seed) % 3;
		int64_t r0 = synct_now_ns();
		pid_t victim;
		int i;

		stages[stage]++;
		atomic_store(&st->victim, 0);
		atomic_store(&st->stage, stage);
		atomic_store(&st->kill_at, atomic_load(&st->counter) + 1 + synct_rand(&seed) % 64);
		while (!(victim = atomic_load_explicit(&st->victim, memory_order_acquire))) {
			if (synct_now_ns() - r0 > 10 * IPK_SEC)
				T_FAIL("%s: round %u: no holder reached the kill point", ops->name,
				       round);
			sched_yield();
		}
		for (i = 0; i < WORKERS && pids[i] != victim; i++)
			;
		if (i == WORKERS)
			T_FAIL("%s: victim %d is not a worker", ops->name, (int)victim);
		T_SYS(kill(victim, SIGKILL));
		synct_wait_signal(victim, SIGKILL);
		pids[i] = crash_spawn();
	}
	stage1 = stages[1];

	atomic_store_explicit(&st->stop, 1, memory_order_release);
	for (int i = 0; i < WORKERS; i++)
		t_wait_exit(pids[i], 0);
	/* The last death may have gone unnoticed by workers that stopped. */
	r = ops->lock(LOCK_TIMEOUT);
	crash_check_in(r);
	T_EQ(atomic_load(&st->pending), 0);
	T_EQ(atomic_load(&st->counter), crash_sum());
	/* Every death noticed once (by the lock's result, or by the marker
	 * the victim left), and exactly the stage-1 deaths needed a fix. */
	T_EQ(atomic_load(&st->noticed), rounds);
	T_EQ(atomic_load(&st->fixed), stage1);
	T_EQ(ops->unlock(), 0);
	fprintf(stderr,
		"%s: %u rounds in %.1f s: %llu increments, %llu deaths noticed, %llu repaired "
		"(killed at stage 0/1/2: %llu/%llu/%llu)\n",
		ops->name, rounds, (double)(synct_now_ns() - t0) / 1e9,
		(unsigned long long)atomic_load(&st->counter),
		(unsigned long long)atomic_load(&st->noticed),
		(unsigned long long)atomic_load(&st->fixed), (unsigned long long)stages[0],
		(unsigned long long)stages[1], (unsigned long long)stages[2]);
	(void)munmap(st, sizeof(*st));
}

#endif /* IPCKIT_TESTS_CRASH_H */
