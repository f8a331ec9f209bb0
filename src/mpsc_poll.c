/* SPDX-License-Identifier: MIT */
/*
 * mpsc_poll.c - the consumer's pollable descriptor (ipk_mpsc_fd()): an
 * eventfd fed by a helper thread that sleeps on the doorbell's futex word
 * in the consumer's stead.
 *
 * The consumer keeps its half of the doorbell pair (mpsc_layout.h) for
 * itself: when a receive finds nothing it stores sleeping = 1, fences,
 * reads the futex word, looks at every lane once more and only then hands
 * the word it read to the helper (ipk__mpsc_poll_arm()). A producer whose
 * commit that last look missed has seen sleeping = 1 and bumps the word:
 * the helper's FUTEX_WAIT on the old value returns at once or is woken,
 * and it makes the eventfd readable. The helper touches nothing of the
 * consumer's but the atomics below and the eventfd, so the lanes stay the
 * receiving thread's alone.
 */
#include <pthread.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "mpsc_layout.h"

#define HELPER_SLICE_NS (50 * IPK_MSEC) /* longest sleep between looks at stop */

static void fire(struct ipk__mpsc_poll *pl)
{
	const uint64_t one = 1;

	/* Relaxed: only this thread and the consumer's rest() touch them,
	 * and the eventfd's write and read order what matters. */
	atomic_store_explicit(&pl->armed, 0, memory_order_relaxed);
	atomic_store_explicit(&pl->fired, 1, memory_order_relaxed);
	(void)ipk__write_eintr(pl->efd, &one, sizeof(one));
}

static void *helper_main(void *arg)
{
	struct ipk__mpsc_poll *pl = arg;

	/* Relaxed: stop() sets it and then wakes us; a late look is fine. */
	while (!atomic_load_explicit(&pl->stop, memory_order_relaxed)) {
		int64_t wake = ipk__now_ns() + HELPER_SLICE_NS;

		/* Acquire: pairs with the release store in ipk__mpsc_poll_arm();
		 * the word to wait on is then the consumer's. */
		if (!atomic_load_explicit(&pl->armed, memory_order_acquire)) {
			(void)ipk__mpsc_futex_wait(&pl->armed, 0, wake);
			continue;
		}
		uint32_t f = atomic_load_explicit(&pl->word, memory_order_relaxed);

		if (ipk__mpsc_futex_wait(pl->futex, f, wake) == -ETIMEDOUT)
			continue;
		/* Relaxed: any change of the word means "look": a commit, a
		 * join, a new consumer, or a scribbler (a spurious fire). */
		if (atomic_load_explicit(pl->futex, memory_order_relaxed) != f &&
		    atomic_load_explicit(&pl->armed, memory_order_relaxed))
			fire(pl);
	}
	return NULL;
}

int ipk__mpsc_poll_start(struct ipk__mpsc_poll *pl, _Atomic uint32_t *futex)
{
	int r;

	pl->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pl->efd < 0) {
		r = ipk__neg_errno();
		pl->efd = -1;
		return r;
	}
	pl->futex = futex;
	/* Readable at once: the caller receives, and that arms it. */
	fire(pl);
	r = pthread_create(&pl->thread, NULL, helper_main, pl);
	if (r != 0) {
		ipk__close(pl->efd);
		pl->efd = -1;
		return -r;
	}
	pl->started = true;
	return 0;
}

void ipk__mpsc_poll_arm(struct ipk__mpsc_poll *pl, uint32_t word)
{
	atomic_store_explicit(&pl->word, word, memory_order_relaxed);
	/* Release: pairs with the helper's acquire load of armed. */
	atomic_store_explicit(&pl->armed, 1, memory_order_release);
	ipk__mpsc_futex_wake(&pl->armed);
}

void ipk__mpsc_poll_rest(struct ipk__mpsc_poll *pl)
{
	uint64_t v;

	atomic_store_explicit(&pl->armed, 0, memory_order_relaxed);
	/* Relaxed: set before the helper's write to the eventfd; a fire we
	 * do not see now leaves the descriptor readable, and the next call
	 * drains it. One we see before its write is done (the read finds
	 * nothing) is given back: else the write to come would leave the
	 * descriptor readable with nothing to say it must be drained. */
	if (atomic_exchange_explicit(&pl->fired, 0, memory_order_relaxed) &&
	    ipk__read_eintr(pl->efd, &v, sizeof(v)) < 0)
		atomic_store_explicit(&pl->fired, 1, memory_order_relaxed);
}

void ipk__mpsc_poll_stop(struct ipk__mpsc_poll *pl)
{
	if (pl->started) {
		atomic_store_explicit(&pl->stop, true, memory_order_relaxed);
		atomic_store_explicit(&pl->armed, 1, memory_order_relaxed);
		ipk__mpsc_futex_wake(&pl->armed);
		/* The helper may sleep on the door's word: spurious wake-ups
		 * are harmless to anyone else waiting there. */
		atomic_fetch_add_explicit(pl->futex, 1, memory_order_relaxed);
		ipk__mpsc_futex_wake(pl->futex);
		(void)pthread_join(pl->thread, NULL);
		pl->started = false;
	}
	if (pl->efd >= 0)
		ipk__close(pl->efd);
	pl->efd = -1;
}
