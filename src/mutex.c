/* SPDX-License-Identifier: MIT */
/*
 * mutex.c - the robust process-shared mutex: a pthread mutex with
 * PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and PTHREAD_MUTEX_ERRORCHECK,
 * wrapped in a header that says it was initialised by ipckit.
 *
 * The kernel does the crash work. glibc registers each robust mutex a
 * thread holds in that thread's robust list (set_robust_list(2)); when the
 * thread dies, however it dies, the kernel walks the list, sets
 * FUTEX_OWNER_DIED in each lock word and wakes one waiter, whose lock then
 * returns EOWNERDEAD. This file adds two things to that: a layout check
 * (magic and version) so attaching to memory that holds no mutex is an
 * error instead of undefined behaviour, and the "owner died, not yet
 * acknowledged" bit that lets ipk_mutex_unlock() report the careless case
 * loudly instead of silently poisoning the mutex.
 *
 * What it leaves to others: where the memory comes from (ipk_shm, or an
 * anonymous shared mapping), and what "repair" means for the caller's data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ipckit/mutex.h>

#include "internal.h"

#define MUTEX_MAGIC 0x69706b6du /* "ipkm" */
#define MUTEX_VERSION 1u

struct ipk_mutex {
	/* Release store by ipk_mutex_init() after the pthread mutex is
	 * ready; acquire load in ipk_mutex_attach(): whoever sees the magic
	 * sees an initialised mutex. */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t flags;
	/* 1 between an EOWNERDEAD lock and ipk_mutex_consistent(). Read and
	 * written only by the holder, so the mutex itself orders it
	 * (relaxed is enough). */
	_Atomic uint32_t dead_pending;
	pthread_mutex_t m;
};

_Static_assert(sizeof(struct ipk_mutex) <= IPK_MUTEX_SIZE, "IPK_MUTEX_SIZE too small");
_Static_assert(_Alignof(struct ipk_mutex) <= IPK_MUTEX_ALIGN, "IPK_MUTEX_ALIGN too small");

/*
 * Whether the kernel keeps this thread's robust list: 0, or -ENOTSUP where
 * it does not. Every Linux since 2.6.17 does; an emulator (qemu-user) may
 * not: it cannot walk a list in guest memory when a thread dies. There a
 * dead holder's lock would never be released (its waiters hang) and
 * glibc's timed lock can even abort. So the mutex is refused, not offered
 * without the one property it exists for.
 */
static int robust_lists(void)
{
	static _Atomic int known; /* 0 not yet asked, 1 yes, -1 no */
	int k = atomic_load_explicit(&known, memory_order_relaxed);

	if (!k) {
		void *head;
		size_t len;

		k = syscall(SYS_get_robust_list, 0, &head, &len) == 0 || errno != ENOSYS ? 1 : -1;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k > 0 ? 0 : -ENOTSUP;
}

static int check_mem(const void *mem, size_t len)
{
	IPK_CHECK_ARG(mem);
	IPK_CHECK_ARG(len >= IPK_MUTEX_SIZE);
	IPK_CHECK_ARG(((uintptr_t)mem % IPK_MUTEX_ALIGN) == 0);
	return robust_lists();
}

IPK_API int ipk_mutex_init(void *mem, size_t len, unsigned flags, ipk_mutex **ret)
{
	struct ipk_mutex *mx = mem;
	pthread_mutexattr_t a;
	int r;

	r = check_mem(mem, len);
	if (r < 0)
		return r;
	IPK_CHECK_ARG(ret);
	IPK_CHECK_ARG((flags & ~(unsigned)IPK_MUTEX_PI) == 0);

	memset(mem, 0, IPK_MUTEX_SIZE);
	r = pthread_mutexattr_init(&a);
	if (r)
		return -r;
	r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!r)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	/* Error checking: unlock by a non-owner is EPERM, relock EDEADLK. */
	if (!r)
		r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	if (!r && (flags & IPK_MUTEX_PI))
		r = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	if (!r)
		r = pthread_mutex_init(&mx->m, &a);
	(void)pthread_mutexattr_destroy(&a);
	if (r)
		return ipk__neg(r); /* ENOTSUP (no PI here) is -EOPNOTSUPP too */

	mx->version = MUTEX_VERSION;
	mx->flags = flags;
	atomic_store_explicit(&mx->dead_pending, 0, memory_order_relaxed);
	/* Release: pairs with the acquire in ipk_mutex_attach(). */
	atomic_store_explicit(&mx->magic, MUTEX_MAGIC, memory_order_release);
	*ret = mx;
	return 0;
}

IPK_API int ipk_mutex_attach(void *mem, size_t len, ipk_mutex **ret)
{
	struct ipk_mutex *mx = mem;
	int r;

	r = check_mem(mem, len);
	if (r < 0)
		return r;
	IPK_CHECK_ARG(ret);
	/* Acquire: pairs with the release in ipk_mutex_init(). */
	if (atomic_load_explicit(&mx->magic, memory_order_acquire) != MUTEX_MAGIC ||
	    mx->version != MUTEX_VERSION)
		return -EPROTO;
	*ret = mx;
	return 0;
}

/* CLOCK_MONOTONIC deadline -> a CLOCK_REALTIME one, for the calls that
 * take only that clock. A clock step during the wait stretches or shortens
 * it by the step; the monotonic deadline is checked again after. */
static struct timespec realtime_of(int64_t deadline_ns)
{
	struct timespec ts;
	int64_t left = deadline_ns - ipk__now_ns(), at;

	if (left < 0)
		left = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	at = (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec + left;
	ts.tv_sec = (time_t)(at / IPK_SEC);
	ts.tv_nsec = (long)(at % IPK_SEC);
	return ts;
}

/*
 * Lock by @deadline_ns; IPK__NOWAIT tries once. Trying is a timed lock
 * whose deadline has passed, not pthread_mutex_trylock(): with glibc 2.36,
 * after pthread_mutex_trylock() of an unrecoverable robust mutex returned
 * ENOTRECOVERABLE, the same thread's pthread_mutex_unlock() crashed in
 * __pthread_mutex_unlock_full() (seen on Debian 12), where the timed path
 * leaves the mutex as it found it and the unlock says EPERM.
 */
static int timed_lock(struct ipk_mutex *mx, int64_t deadline_ns)
{
	struct timespec ts;
	int r;

#ifdef IPK__TSAN
	r = EINVAL; /* ThreadSanitizer intercepts timedlock, not clocklock */
#else
	ts.tv_sec = (time_t)(deadline_ns / IPK_SEC);
	ts.tv_nsec = (long)(deadline_ns % IPK_SEC);
	r = pthread_mutex_clocklock(&mx->m, CLOCK_MONOTONIC, &ts);
#endif
	/* A priority-inheritance mutex on a kernel without FUTEX_LOCK_PI2
	 * takes only CLOCK_REALTIME. */
	if (r == EINVAL) {
		ts = realtime_of(deadline_ns);
		if (deadline_ns == IPK__NOWAIT)
			ts.tv_sec = ts.tv_nsec = 0;
		r = pthread_mutex_timedlock(&mx->m, &ts);
		if (r == ETIMEDOUT && ipk__now_ns() < deadline_ns)
			r = EINTR; /* the realtime clock jumped: wait again */
	}
	return r;
}

IPK_API int ipk_mutex_lock(ipk_mutex *mx, int64_t timeout_ns)
{
	int64_t deadline;
	int r;

	IPK_CHECK_ARG(mx);
	deadline = ipk__deadline(timeout_ns);
	do {
		if (deadline == IPK__NEVER)
			r = pthread_mutex_lock(&mx->m);
		else
			r = timed_lock(mx, deadline);
	} while (r == EINTR);

	switch (r) {
	case 0:
		return 0;
	case EOWNERDEAD:
		/* We hold it; the previous holder's update may be half done. */
		atomic_store_explicit(&mx->dead_pending, 1, memory_order_relaxed);
		return IPK_MUTEX_OWNER_DIED;
	case ETIMEDOUT:
		return deadline == IPK__NOWAIT ? -EAGAIN : -ETIMEDOUT;
	default:
		return -r; /* EDEADLK, ENOTRECOVERABLE, EAGAIN */
	}
}

IPK_API int ipk_mutex_trylock(ipk_mutex *mx)
{
	return ipk_mutex_lock(mx, 0);
}

IPK_API int ipk_mutex_consistent(ipk_mutex *mx)
{
	int r;

	IPK_CHECK_ARG(mx);
	/* Only the holder may call this (as for pthread_mutex_consistent(),
	 * which does not check): the bit is the holder's. */
	if (!atomic_load_explicit(&mx->dead_pending, memory_order_relaxed))
		return -EINVAL;
	r = pthread_mutex_consistent(&mx->m);
	if (r)
		return -r;
	atomic_store_explicit(&mx->dead_pending, 0, memory_order_relaxed);
	return 0;
}

IPK_API int ipk_mutex_unlock(ipk_mutex *mx)
{
	uint32_t pending;
	int r;

	IPK_CHECK_ARG(mx);
	/* The holder's bit; another thread may read it here but writes
	 * nothing, because its unlock fails with EPERM. */
	pending = atomic_load_explicit(&mx->dead_pending, memory_order_relaxed);
	r = pthread_mutex_unlock(&mx->m);
	if (r)
		return -r; /* EPERM: not held by this thread; nothing changed */
	if (!pending)
		return 0;
	/* Unlocked while inconsistent: glibc has marked it not recoverable,
	 * so nobody can lock it again and clearing the bit after the unlock
	 * races with no one. */
	atomic_store_explicit(&mx->dead_pending, 0, memory_order_relaxed);
	return -ENOTRECOVERABLE;
}

IPK_API int ipk_mutex_destroy(ipk_mutex *mx)
{
	int r;

	IPK_CHECK_ARG(mx);
	/* glibc does not refuse to destroy a locked robust mutex: ask. */
	r = timed_lock(mx, IPK__NOWAIT);
	if (r == ETIMEDOUT || r == EDEADLK)
		return -EBUSY;
	if (r == 0 || r == EOWNERDEAD)
		(void)pthread_mutex_unlock(&mx->m);
	atomic_store_explicit(&mx->magic, 0, memory_order_relaxed);
	r = pthread_mutex_destroy(&mx->m);
	return r ? -r : 0;
}
