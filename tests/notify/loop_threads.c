/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/loop_threads.c - the calls that other threads may make:
 * ipk_loop_defer(), ipk_loop_wake() and ipk_loop_stop() from threads while
 * the loop runs in its own (run under ThreadSanitizer in suite
 * 'threaded').
 */
#include <pthread.h>
#include <stdatomic.h>

#include "../harness.h"

#define THREADS 4
#define PER 500

static ipk_loop *l;
static pthread_t loop_tid;
static long counted; /* touched by loop callbacks only */
static atomic_int wrong_thread;

static void count(ipk_loop *lp, void *arg)
{
	(void)lp;
	(void)arg;
	if (!pthread_equal(pthread_self(), loop_tid))
		atomic_fetch_add(&wrong_thread, 1);
	counted++;
}

static void *producer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < PER; i++) {
		T_OK(ipk_loop_defer(l, count, NULL));
		if (i % 50 == 0)
			ipk_loop_wake(l);
	}
	return NULL;
}

static void *runner(void *arg)
{
	(void)arg;
	T_OK(ipk_loop_run(l));
	return NULL;
}

static void last(ipk_loop *lp, void *arg)
{
	(void)arg;
	ipk_loop_stop(lp);
}

int main(void)
{
	pthread_t p[THREADS];
	int i;

	T_OK(ipk_loop_new(&l));

	/* 1: a loop with nothing to do, stopped from another thread. */
	T_EQ(pthread_create(&loop_tid, NULL, runner, NULL), 0);
	ipk_loop_stop(l);
	T_EQ(pthread_join(loop_tid, NULL), 0);

	/* 2: deferred calls from several threads all run, in the loop's
	 * thread; the stop comes last through the same queue. */
	T_EQ(pthread_create(&loop_tid, NULL, runner, NULL), 0);
	for (i = 0; i < THREADS; i++)
		T_EQ(pthread_create(&p[i], NULL, producer, NULL), 0);
	for (i = 0; i < THREADS; i++)
		T_EQ(pthread_join(p[i], NULL), 0);
	T_OK(ipk_loop_defer(l, last, NULL));
	T_EQ(pthread_join(loop_tid, NULL), 0);
	T_EQ(counted, THREADS * PER);
	T_EQ(atomic_load(&wrong_thread), 0);

	/* 3: a stop from another thread while the loop waits forever. */
	T_EQ(pthread_create(&loop_tid, NULL, runner, NULL), 0);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL); /* let it block in epoll_wait (not required) */
	ipk_loop_stop(l);
	T_EQ(pthread_join(loop_tid, NULL), 0);

	ipk_loop_free(l);
	return 0;
}
