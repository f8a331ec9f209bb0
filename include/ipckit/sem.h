/* SPDX-License-Identifier: MIT */
/*
 * ipckit/sem.h - counting semaphores, one API over three kinds:
 *
 *   IPK_SEM_POSIX    named, sem_open(3): "/name" (in /dev/shm), any process
 *   IPK_SEM_UNNAMED  sem_init(3) with pshared=1 at an address in shared
 *                    memory (IPK_SEM_SIZE bytes), like ipk_mutex
 *   IPK_SEM_SYSV     a System V set (semget(2)): several semaphores that
 *                    ipk_sem_op() changes atomically, SEM_UNDO on request,
 *                    removed with IPC_RMID
 *
 * Every kind: ipk_sem_wait() (with a timeout; 0 = try once), ipk_sem_post(),
 * ipk_sem_value(). On a System V set these act on semaphore 0;
 * ipk_sem_op() and ipk_sem_value_at() reach the others.
 *
 * Crash semantics: a process killed after its wait and before its post
 * leaves a POSIX semaphore (named or unnamed) one lower forever; nobody is
 * told. A System V semaphore opened with IPK_SEM_UNDO has the kernel undo
 * the dead process's changes (SEM_UNDO), so a set used as a lock is
 * released - but the next holder is not told either: the protected data
 * may be half-updated (see ipk_mutex for a lock that reports it).
 *
 * Names: the process that created a named semaphore or a set removes it at
 * ipk_sem_free() (sem_unlink, IPC_RMID) unless IPK_SEM_KEEP; an unnamed
 * semaphore is destroyed (and can no longer be opened). A forked child's
 * copy of a handle removes nothing. Removing a set wakes its waiters with
 * -EIDRM; a removed POSIX name leaves the semaphore working for those that
 * have it open.
 *
 * Threads: wait, post, value and op may run concurrently on one handle
 * from any number of threads; ipk_sem_remove() and ipk_sem_free() must not
 * run concurrently with anything else on the same handle.
 */
#ifndef IPCKIT_SEM_H
#define IPCKIT_SEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h> /* key_t, IPC_PRIVATE */
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes an unnamed semaphore occupies in shared memory, and its alignment. */
#define IPK_SEM_SIZE 64
#define IPK_SEM_ALIGN 8

typedef struct ipk_sem ipk_sem;

enum ipk_sem_kind {
	IPK_SEM_POSIX = 1,
	IPK_SEM_UNNAMED,
	IPK_SEM_SYSV,
};

/* Which semaphore: the fields that matter for its kind. */
struct ipk_sem_ref {
	enum ipk_sem_kind kind;
	/* POSIX: "/name": one leading '/', no other, 1 to 251 bytes after it */
	const char *name;
	/* UNNAMED: IPK_SEM_SIZE bytes of shared memory, IPK_SEM_ALIGN-aligned */
	void *mem;
	/* SYSV: the key (e.g. from ftok(3)); IPC_PRIVATE creates a new
	 * private set, and opens the set @id */
	key_t key;
	/* SYSV with key IPC_PRIVATE, open only: ipk_sem_sysv_id() of the
	 * creator's handle */
	int id;
	/* SYSV: semaphores in the set. Create: 0 means 1, at most the
	 * kernel's SEMMSL; open: at least this many (0: any) */
	unsigned nsems;
};

enum {
	/* create: fail with -EEXIST if it exists */
	IPK_SEM_EXCL = 1u << 0,
	/* create: leave it in place at ipk_sem_free() */
	IPK_SEM_KEEP = 1u << 1,
	/* create, open (SYSV; no effect on the POSIX kinds, which nothing
	 * undoes): every operation of this handle is undone by
	 * the kernel when this process exits or is killed (SEM_UNDO). For a
	 * set used as a lock - each process waits, then posts - not for one
	 * process signalling another, whose posts would vanish at its exit */
	IPK_SEM_UNDO = 1u << 2,
};

/* One change in ipk_sem_op(): semaphore @index gains @delta. A negative
 * delta waits until the value is at least -@delta; 0 waits until it is 0. */
struct ipk_sem_op {
	unsigned short index;
	short delta;
};

/**
 * ipk_sem_create() - create a semaphore (or set) with initial @value
 * @ref: which one (struct ipk_sem_ref)
 * @value: initial value of every semaphore (POSIX: at most SEM_VALUE_MAX,
 *         SYSV: at most SEMVMX, 32767)
 * @mode: permissions (0 means 0600), applied exactly; ignored for UNNAMED
 * @flags: IPK_SEM_EXCL, IPK_SEM_KEEP, IPK_SEM_UNDO
 *
 * Without IPK_SEM_EXCL an existing named semaphore or set is opened as it is
 * (its value unchanged) and is not removed at free. UNNAMED always
 * initialises the memory at @ref->mem. A new System V set becomes visible
 * to ipk_sem_open() only once its values are set.
 *
 * Return: 0 and *@ret; -EINVAL (bad name, kind, flags or value; SYSV: more
 * semaphores than SEMMSL); -EEXIST; -EACCES; -ENAMETOOLONG; -ENOSPC (SYSV:
 * SEMMNI sets or SEMMNS semaphores in the system); other -errno. The limit
 * behind an error: ipk_sem_limit_hint().
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_sem_create(const struct ipk_sem_ref *ref, unsigned value, mode_t mode,
			   unsigned flags, ipk_sem **ret);

/**
 * ipk_sem_open() - open an existing semaphore (or set)
 * @flags: 0 or IPK_SEM_UNDO
 *
 * Return: 0 and *@ret; -EINVAL (bad name, kind or flags; SYSV: a set of
 * fewer than @ref->nsems semaphores); -ENOENT (no such semaphore); -EACCES;
 * -EPROTO (UNNAMED: no semaphore initialised by ipckit at @ref->mem);
 * -EAGAIN (SYSV: its creator has not finished setting it up within a
 * second); other -errno. Blocking: no (SYSV: at most a second, see -EAGAIN).
 * Threads: safe.
 */
IPK_API int ipk_sem_open(const struct ipk_sem_ref *ref, unsigned flags, ipk_sem **ret);

/**
 * ipk_sem_wait() - decrement by one, waiting while the value is 0
 * @timeout_ns: 0 = try once; IPK_FOREVER = no limit
 *
 * Return: 0; -EAGAIN (timeout 0 and the value is 0); -ETIMEDOUT; -EIDRM
 * (SYSV: the set was removed); -EINVAL. Retries EINTR.
 * Blocking: until decremented or the timeout. Threads: safe.
 */
IPK_API int ipk_sem_wait(ipk_sem *s, int64_t timeout_ns);

/** ipk_sem_trywait() - ipk_sem_wait(@s, 0) */
IPK_API int ipk_sem_trywait(ipk_sem *s);

/**
 * ipk_sem_post() - increment by one, waking a waiter
 *
 * Return: 0; -EOVERFLOW (the value is at its maximum: SEM_VALUE_MAX, or
 * SEMVMX for SYSV; nothing changed); -EIDRM; -EINVAL.
 * Blocking: no. Threads: safe; async-signal-safe for POSIX kinds.
 */
IPK_API int ipk_sem_post(ipk_sem *s);

/**
 * ipk_sem_value() - the current value (of semaphore 0 for SYSV)
 *
 * Return: the value (>= 0; a snapshot that may change at once); -EIDRM;
 * -EINVAL. Threads: safe.
 */
IPK_API int ipk_sem_value(ipk_sem *s);

/**
 * ipk_sem_op() - apply @n changes to a System V set, all or none
 * @ops: @n changes (struct ipk_sem_op); one index may appear several times
 * @n: 1 to SEMOPM (the kernel's limit on operations per call)
 * @timeout_ns: how long to wait until all of them can be applied at once;
 *              0 = try once; IPK_FOREVER = no limit
 *
 * Nothing changes until every operation can succeed together; then all of
 * them happen in one step (semtimedop(2)). With IPK_SEM_UNDO on the handle
 * each change is undone at this process's exit.
 *
 * Return: 0; -EAGAIN (timeout 0 and some operation would wait);
 * -ETIMEDOUT; -EFBIG (an index outside the set); -E2BIG (@n above
 * SEMOPM); -EOVERFLOW (a value would exceed SEMVMX); -EIDRM; -EOPNOTSUPP
 * (not a SYSV handle); -EINVAL. Retries EINTR.
 * Blocking: until applied or the timeout. Threads: safe.
 */
IPK_API int ipk_sem_op(ipk_sem *s, const struct ipk_sem_op *ops, size_t n, int64_t timeout_ns);

/**
 * ipk_sem_value_at() - the value of semaphore @index of a System V set
 *
 * Return: the value (>= 0); -EFBIG (@index outside the set); -EOPNOTSUPP
 * (not SYSV); -EIDRM; -EINVAL. Threads: safe.
 */
IPK_API int ipk_sem_value_at(ipk_sem *s, unsigned index);

/**
 * ipk_sem_count() - semaphores in the set (1 for the POSIX kinds)
 *
 * Return: the count (> 0); -EINVAL. Threads: safe.
 */
IPK_API int ipk_sem_count(const ipk_sem *s);

/**
 * ipk_sem_sysv_id() - the System V set's id (semid), for struct
 * ipk_sem_ref.id or ipcs(1)
 *
 * Return: the id (>= 0); -EOPNOTSUPP for other kinds; -EINVAL.
 */
IPK_API int ipk_sem_sysv_id(const ipk_sem *s);

/**
 * ipk_sem_remove() - remove it now: sem_unlink(), IPC_RMID, or destroy an
 * unnamed semaphore; any handle may, as far as permissions allow
 *
 * After it, ipk_sem_free() removes nothing. A POSIX name is removed only if
 * it still refers to this handle's semaphore.
 * Return: 0; -ENOENT (already gone); -ESTALE (the name now refers to
 * another semaphore: left alone); -EPERM, -EACCES; -EINVAL.
 * Threads: see the top of this file.
 */
IPK_API int ipk_sem_remove(ipk_sem *s);

/**
 * ipk_sem_free() - close, and remove what this process created unless
 * IPK_SEM_KEEP; accepts NULL
 *
 * Cannot fail. Threads: see the top of this file.
 */
IPK_API void ipk_sem_free(ipk_sem *s);

/**
 * ipk_sem_limit_hint() - the system limit behind an error, and how to
 * raise it
 * @err: the error just returned (negative or positive errno)
 * @ref: the semaphore the failed call was about (its kind, and for SYSV
 *       the nsems it asked for)
 *
 * Call it right after the failure: it compares the request with the
 * limits as they are now. For example ipk_sem_create() of a System V set
 * of 300 semaphores failing with -EINVAL while SEMMSL is 250 gives
 * "SEMMSL, semaphores per System V set (kernel.sem, 1st field: ...)". The
 * System V limits are the four fields of kernel.sem: SEMMSL SEMMNS SEMOPM
 * SEMMNI; SEMVMX (32767) is fixed.
 *
 * Return: a static string, or NULL when no limit explains @err.
 * Threads: safe.
 */
IPK_API const char *ipk_sem_limit_hint(int err, const struct ipk_sem_ref *ref);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_SEM_H */
