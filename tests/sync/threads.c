/* SPDX-License-Identifier: MIT */
/*
 * threads.c - the same locks with threads standing in for processes, so
 * ThreadSanitizer (suite 'threaded') can check them: THREADS threads
 * increment a plain counter under the robust mutex and under each
 * semaphore kind, with blocking, timed and try acquisition mixed, and a
 * thread that exits holding the mutex hands IPK_MUTEX_OWNER_DIED to the
 * next locker. For System V semaphores and OFD locks, which the sanitizer
 * cannot see, an atomic occupancy count checks exclusion instead.
 */
#include <pthread.h>

#include "synct.h"

#define THREADS 4
#define ITERS 5000

static ipk_mutex *mx;
static ipk_sem *sems[3];
static char path[64];
static uint64_t counter;          /* plain: the lock under test protects it */
static _Atomic int inside;        /* threads in the critical section */
static _Atomic uint64_t acounter; /* for locks the sanitizer cannot see */

/* 0 blocking, 1 timed, 2 try until it works */
static int64_t how(int i)
{
	return i % 3 == 0 ? IPK_FOREVER : i % 3 == 1 ? 10 * IPK_SEC : 0;
}

static void enter(void)
{
	T_EQ(atomic_fetch_add(&inside, 1), 0);
}

static void leave(void)
{
	T_EQ(atomic_fetch_sub(&inside, 1), 1);
}

static void *mutex_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		int r;

		while ((r = ipk_mutex_lock(mx, how(i))) == -EAGAIN)
			sched_yield();
		T_EQ(r, 0);
		enter();
		counter++;
		leave();
		T_EQ(ipk_mutex_unlock(mx), 0);
	}
	return NULL;
}

static void *sem_thread(void *arg)
{
	ipk_sem *s = arg;
	bool visible = s != sems[2]; /* not System V */

	for (int i = 0; i < ITERS; i++) {
		int r;

		while ((r = ipk_sem_wait(s, how(i))) == -EAGAIN)
			sched_yield();
		T_EQ(r, 0);
		enter();
		if (visible)
			counter++;
		else
			atomic_fetch_add_explicit(&acounter, 1, memory_order_relaxed);
		leave();
		T_EQ(ipk_sem_post(s), 0);
	}
	return NULL;
}

static void *ofd_thread(void *arg)
{
	ipk_flock *l;

	(void)arg;
	T_OK(ipk_flock_open(path, IPK_FLOCK_OFD, 0, IPK_FLOCK_CREATE, &l));
	for (int i = 0; i < ITERS / 5; i++) {
		T_EQ(ipk_flock_lock(l, IPK_FLOCK_EXCL, 0, 0, how(i) == 0 ? IPK_SEC : how(i)), 0);
		enter();
		atomic_fetch_add_explicit(&acounter, 1, memory_order_relaxed);
		leave();
		T_EQ(ipk_flock_unlock(l, 0, 0), 0);
	}
	ipk_flock_free(l);
	return NULL;
}

static void run(void *(*fn)(void *), void *arg)
{
	pthread_t t[THREADS];

	counter = 0;
	atomic_store(&acounter, 0);
	for (int i = 0; i < THREADS; i++)
		T_EQ(pthread_create(&t[i], NULL, fn, arg), 0);
	for (int i = 0; i < THREADS; i++)
		T_EQ(pthread_join(t[i], NULL), 0);
}

static void *die_holding(void *arg)
{
	(void)arg;
	T_EQ(ipk_mutex_lock(mx, IPK_FOREVER), 0);
	counter = 99; /* half-done */
	return NULL;  /* the thread ends holding the mutex */
}

/* The mutex under threads: exclusion, a holder thread that exits holding it. */
static void mutex_part(void *mem)
{
	pthread_t t;

	T_OK(ipk_mutex_init(mem, 512, 0, &mx));
	run(mutex_thread, NULL);
	T_EQ(counter, (uint64_t)THREADS * ITERS);

	T_EQ(pthread_create(&t, NULL, die_holding, NULL), 0);
	T_EQ(pthread_join(t, NULL), 0);
	/* Blocking, not timed: ThreadSanitizer (clang 14) records a lock that
	 * pthread_mutex_lock() returns with EOWNERDEAD, but not one from
	 * pthread_mutex_timedlock(), and would then call the unlock wrong. */
	T_EQ(ipk_mutex_lock(mx, IPK_FOREVER), IPK_MUTEX_OWNER_DIED);
	T_EQ(counter, 99);
	counter = 0;
	T_EQ(ipk_mutex_consistent(mx), 0);
	T_EQ(ipk_mutex_unlock(mx), 0);
	run(mutex_thread, NULL);
	T_EQ(counter, (uint64_t)THREADS * ITERS);
	T_EQ(ipk_mutex_destroy(mx), 0);
}

int main(void)
{
	void *mem = synct_shared(4096);
	struct ipk_sem_ref refs[3] = {
		{ .kind = IPK_SEM_POSIX },
		{ .kind = IPK_SEM_UNNAMED, .mem = (char *)mem + 512 },
		{ .kind = IPK_SEM_SYSV, .key = IPC_PRIVATE, .nsems = 1 },
	};
	char name[64];

	if (synct_robust_lists())
		mutex_part(mem);
	else
		printf("mutex part not run: %s\n", SYNCT_NO_ROBUST);

	snprintf(name, sizeof(name), "/ipk-sem-thr-%d", (int)getpid());
	refs[0].name = name;
	for (int k = 0; k < 3; k++) {
		T_OK(ipk_sem_create(&refs[k], 1, 0, IPK_SEM_EXCL, &sems[k]));
		run(sem_thread, sems[k]);
		if (k < 2)
			T_EQ(counter, (uint64_t)THREADS * ITERS);
		else
			T_EQ(atomic_load(&acounter), (uint64_t)THREADS * ITERS);
		T_EQ(ipk_sem_value(sems[k]), 1);
		ipk_sem_free(sems[k]);
	}

	t_path(path, sizeof(path), "flock-thr");
	run(ofd_thread, NULL);
	T_EQ(atomic_load(&acounter), (uint64_t)THREADS * (ITERS / 5));
	T_SYS(unlink(path));
	return 0;
}
