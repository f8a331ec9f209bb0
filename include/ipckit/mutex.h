/* SPDX-License-Identifier: MIT */
/*
 * ipckit/mutex.h - a robust process-shared mutex that lives in shared
 * memory (pthread PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST).
 *
 * The mutex occupies IPK_MUTEX_SIZE bytes at an address the caller chooses
 * inside a shared mapping (an ipk_shm object, or an anonymous MAP_SHARED
 * region inherited across fork()). One process initialises it there with
 * ipk_mutex_init(); every other process that maps the same bytes (at any
 * address) gets its handle with ipk_mutex_attach(). The handle is the
 * address itself: there is nothing to free, and no descriptor.
 *
 * Crash semantics: when the holder dies (SIGKILL included) the kernel
 * releases the mutex, and the next locker acquires it with the result
 * IPK_MUTEX_OWNER_DIED instead of 0. That caller holds the lock; the data
 * it protects may be half-updated. It repairs the data and calls
 * ipk_mutex_consistent(), then unlocks as usual. If it unlocks without
 * ipk_mutex_consistent() (or dies too), the mutex becomes unrecoverable:
 * every later lock returns -ENOTRECOVERABLE, for every process, until the
 * mutex is destroyed and initialised again. ipk_mutex_lock() is declared
 * warn_unused_result, and unlocking an owner-died mutex without
 * acknowledging it returns -ENOTRECOVERABLE, so the case cannot pass
 * unnoticed:
 *
 *	r = ipk_mutex_lock(m, IPK_FOREVER);
 *	if (r < 0)
 *		return r;                  // not locked
 *	if (r == IPK_MUTEX_OWNER_DIED) {
 *		repair(state);             // locked: make the state whole
 *		ipk_mutex_consistent(m);
 *	}
 *	...
 *	ipk_mutex_unlock(m);
 *
 * Ownership is per thread: only the thread that locked may unlock (another
 * gets -EPERM), and a thread that locks twice gets -EDEADLK.
 *
 * Threads: every function may be called from any thread of any process
 * that maps the mutex. ipk_mutex_init() and ipk_mutex_destroy() must not
 * run while any other call on the same mutex is in progress.
 */
#ifndef IPCKIT_MUTEX_H
#define IPCKIT_MUTEX_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes a mutex occupies in shared memory, and the alignment it needs. */
#define IPK_MUTEX_SIZE 64
#define IPK_MUTEX_ALIGN 8

/* ipk_mutex_lock(): locked, and the previous owner died holding it. */
#define IPK_MUTEX_OWNER_DIED 1

enum {
	/* priority inheritance (PTHREAD_PRIO_INHERIT): a low-priority holder
	 * runs at the priority of the highest-priority waiter */
	IPK_MUTEX_PI = 1u << 0,
};

typedef struct ipk_mutex ipk_mutex;

/**
 * ipk_mutex_init() - initialise a robust process-shared mutex at @mem
 * @mem: IPK_MUTEX_SIZE bytes in shared memory, IPK_MUTEX_ALIGN-aligned
 * @len: bytes available at @mem (at least IPK_MUTEX_SIZE)
 * @flags: 0 or IPK_MUTEX_PI
 *
 * Overwrites whatever was at @mem; initialise once, before other processes
 * attach. The mutex starts unlocked.
 *
 * Return: 0 and *@ret (== @mem); -EINVAL (NULL, too short, misaligned,
 * unknown flags); -EOPNOTSUPP (IPK_MUTEX_PI and the system has no
 * priority-inheritance futexes; or the kernel keeps no robust lists - an
 * emulator such as qemu-user - so a holder's death would never release
 * the lock); other -errno of pthread_mutex_init().
 * Blocking: no. Threads: see the top of this file.
 */
IPK_API int ipk_mutex_init(void *mem, size_t len, unsigned flags, ipk_mutex **ret);

/**
 * ipk_mutex_attach() - the mutex another process initialised at @mem
 * @mem, @len: as for ipk_mutex_init(), in this process's mapping
 *
 * Return: 0 and *@ret (== @mem); -EINVAL (NULL, too short, misaligned);
 * -EPROTO (no initialised ipckit mutex there, or another version's);
 * -EOPNOTSUPP (no robust lists here: see ipk_mutex_init()).
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_mutex_attach(void *mem, size_t len, ipk_mutex **ret);

/**
 * ipk_mutex_lock() - lock, waiting at most @timeout_ns
 * @timeout_ns: 0 = try once; IPK_FOREVER = no limit
 *
 * Return: 0 (locked); IPK_MUTEX_OWNER_DIED (locked, the previous owner died
 * holding it: repair, then ipk_mutex_consistent()); -EAGAIN (timeout 0 and
 * it is held); -ETIMEDOUT; -EDEADLK (this thread holds it already);
 * -ENOTRECOVERABLE (an owner died and nobody repaired it: not locked);
 * -EINVAL (NULL). On every negative result the mutex is not held.
 * Blocking: until locked or the timeout. Retries EINTR.
 * Threads: safe.
 */
IPK_API int ipk_mutex_lock(ipk_mutex *m, int64_t timeout_ns) __attribute__((warn_unused_result));

/**
 * ipk_mutex_trylock() - ipk_mutex_lock(@m, 0)
 */
IPK_API int ipk_mutex_trylock(ipk_mutex *m) __attribute__((warn_unused_result));

/**
 * ipk_mutex_consistent() - declare the protected state repaired after
 * IPK_MUTEX_OWNER_DIED; the mutex stays locked
 *
 * Return: 0; -EINVAL (NULL, or the mutex is not in the owner-died state:
 * nothing to acknowledge). Blocking: no.
 * Threads: only the thread that got IPK_MUTEX_OWNER_DIED and still holds
 * the lock may call it (like pthread_mutex_consistent(), it cannot tell).
 */
IPK_API int ipk_mutex_consistent(ipk_mutex *m);

/**
 * ipk_mutex_unlock() - unlock a mutex this thread holds
 *
 * Return: 0; -EPERM (this thread does not hold it: nothing changed);
 * -ENOTRECOVERABLE (it was locked with IPK_MUTEX_OWNER_DIED and not
 * declared consistent: it is unlocked and now unrecoverable for everyone);
 * -EINVAL (NULL). Blocking: no. Threads: the holder only.
 */
IPK_API int ipk_mutex_unlock(ipk_mutex *m);

/**
 * ipk_mutex_destroy() - destroy an unlocked mutex; attach fails afterwards
 *
 * Also the way out of -ENOTRECOVERABLE: destroy, repair the state, and
 * ipk_mutex_init() again, while no other process uses the mutex.
 * Return: 0; -EBUSY (locked, by anyone); -EINVAL (NULL).
 * Threads: see the top of this file.
 */
IPK_API int ipk_mutex_destroy(ipk_mutex *m);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_MUTEX_H */
