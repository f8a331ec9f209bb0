/* SPDX-License-Identifier: MIT */
/*
 * ipckit/flock.h - advisory file locks, one API over three kinds:
 *
 *   IPK_FLOCK_FLOCK  flock(2): the whole file, owned by the open file
 *                    description (shared with fork()ed children and dup()s)
 *   IPK_FLOCK_POSIX  fcntl(2) F_SETLK/F_SETLKW record locks: byte ranges,
 *                    owned by the PROCESS. The trap: closing ANY descriptor
 *                    of the file in the process - another library's, a
 *                    second open() of the same path - releases all of the
 *                    process's locks on it. Not inherited by fork(). The
 *                    kernel detects deadlocks between processes (-EDEADLK).
 *   IPK_FLOCK_OFD    fcntl(2) F_OFD_SETLK/F_OFD_SETLKW (Linux 3.15): byte
 *                    ranges owned by the open file description, so other
 *                    descriptors' close() leaves them alone, and two
 *                    handles in one process (or two threads) exclude each
 *                    other. No deadlock detection.
 *
 * Every kind is released by the kernel when its owner is gone: a killed
 * process's locks are released at its death. Locks are advisory: they bind
 * only processes that take them.
 *
 * A handle is one open file description of the lock file (O_CLOEXEC). The
 * file is created on request and never removed (removing a lock file while
 * others may lock it lets two processes lock two different files).
 *
 * Threads: one handle may be used from several threads, but POSIX locks do
 * not exclude threads of one process from each other (they belong to the
 * process); use OFD locks on one handle per thread for that.
 */
#ifndef IPCKIT_FLOCK_H
#define IPCKIT_FLOCK_H

#include <stdint.h>
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_flock ipk_flock;

enum ipk_flock_kind {
	IPK_FLOCK_FLOCK = 1,
	IPK_FLOCK_POSIX,
	IPK_FLOCK_OFD,
};

/* Lock types. */
enum ipk_flock_type {
	IPK_FLOCK_SHARED = 1, /* readers: many at once */
	IPK_FLOCK_EXCL,       /* one writer, no readers */
};

enum {
	/* open: create the file if it does not exist (with @mode) */
	IPK_FLOCK_CREATE = 1u << 0,
	/* open: read-only descriptor; POSIX and OFD kinds then allow only
	 * shared locks (an exclusive one is -EBADF) */
	IPK_FLOCK_RDONLY = 1u << 1,
};

/**
 * ipk_flock_open() - open @path for locking with @kind
 * @mode: permissions of a created file (0 means 0600), applied exactly
 * @flags: IPK_FLOCK_CREATE, IPK_FLOCK_RDONLY
 *
 * Return: 0 and *@ret; -EINVAL (bad kind or flags, NULL); -ENOENT (no file
 * and no IPK_FLOCK_CREATE); -EACCES; -EISDIR; other -errno of open(2).
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_flock_open(const char *path, enum ipk_flock_kind kind, mode_t mode, unsigned flags,
			   ipk_flock **ret);

/**
 * ipk_flock_lock() - take a lock on bytes [@start, @start + @len)
 * @type: IPK_FLOCK_SHARED or IPK_FLOCK_EXCL
 * @start, @len: the range; @len 0 = to the end of the file, however far it
 *               grows. IPK_FLOCK_FLOCK locks the whole file: both must be 0
 * @timeout_ns: 0 = try once; IPK_FOREVER = no limit
 *
 * Taking a lock this handle already holds converts it (shared <->
 * exclusive); for IPK_FLOCK_FLOCK the conversion is not atomic (flock(2)
 * releases first). A wait with IPK_FOREVER sleeps in the kernel; a timed
 * wait polls (first after 50 us, backing off to 5 ms between attempts), so
 * it may start a little after the lock is free, and the kernel's deadlock
 * detection (-EDEADLK) applies only to IPK_FOREVER waits of POSIX locks.
 *
 * Return: 0; -EAGAIN (timeout 0 and it is held); -ETIMEDOUT; -EDEADLK
 * (POSIX, IPK_FOREVER: waiting would deadlock with another process that
 * waits for a lock this process holds); -EBADF (exclusive lock on a
 * read-only handle); -ENOLCK (the kernel's lock table is full); -EINVAL
 * (bad type or range). Retries EINTR.
 * Blocking: until locked or the timeout. Threads: see the top of this file.
 */
IPK_API int ipk_flock_lock(ipk_flock *l, enum ipk_flock_type type, off_t start, off_t len,
			   int64_t timeout_ns);

/**
 * ipk_flock_unlock() - release bytes [@start, @start + @len) (for
 * IPK_FLOCK_FLOCK: 0, 0, the whole file)
 *
 * Unlocking a range that is not locked is not an error.
 * Return: 0; -EINVAL (bad range). Blocking: no.
 */
IPK_API int ipk_flock_unlock(ipk_flock *l, off_t start, off_t len);

/**
 * ipk_flock_fd() - the handle's descriptor (it stays the handle's)
 *
 * Return: the fd (>= 0); -EINVAL if @l is NULL. Threads: safe.
 */
IPK_API int ipk_flock_fd(const ipk_flock *l);

/**
 * ipk_flock_free() - close the handle, which releases its locks (and, for
 * IPK_FLOCK_POSIX, every lock this process holds on the file); accepts
 * NULL. Cannot fail.
 */
IPK_API void ipk_flock_free(ipk_flock *l);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_FLOCK_H */
