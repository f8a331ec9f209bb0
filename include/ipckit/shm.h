/* SPDX-License-Identifier: MIT */
/*
 * ipckit/shm.h - shared-memory objects: one API over four backings.
 *
 *   IPK_SHM_POSIX  shm_open(3), name "/name" (tmpfs, /dev/shm)
 *   IPK_SHM_SYSV   shmget(2)/shmat(2), a key, or IPC_PRIVATE
 *   IPK_SHM_MEMFD  memfd_create(2): anonymous, shared by fork() or by
 *                  handing its fd to another process (SCM_RIGHTS)
 *   IPK_SHM_FILE   a regular file mapped with mmap(2)
 *
 * An ipk_shm is a handle on one object plus at most one mapping of all of
 * it. The object's size is fixed when it is created or opened; what a
 * process maps is that size, never more.
 *
 * Sizes are checked whenever they can change under us: an object opened
 * with an expected size, and every ipk_shm_map(), measure the object
 * (fstat(2), or IPC_STAT for System V) first. An object that is smaller than
 * expected - its creator shrank it, or never grew it - is -EBADMSG: "the
 * object is not the size its users agreed on", and no access past its end
 * (SIGBUS) ever happens in the library. A shrink AFTER a process has mapped
 * it cannot be detected this way; memfd objects are therefore sealed against
 * shrinking at creation (F_SEAL_SHRINK), System V segments cannot shrink,
 * and POSIX and file objects rely on their users' good behaviour.
 *
 * A read-only mapping can never be made writable: fd-backed objects are
 * mapped through a descriptor opened O_RDONLY (reopened through
 * /proc/self/fd when the handle is read-write), System V segments are
 * attached SHM_RDONLY, so mprotect(PROT_WRITE) fails with EACCES and a
 * write faults (SIGSEGV).
 *
 * Names: the process that created an object removes it at ipk_shm_free()
 * (shm_unlink, IPC_RMID, unlink) unless IPK_SHM_KEEP, and only while the
 * name still refers to the object it created: a successor's object at the
 * same name is never removed. A forked child's copy of the handle never
 * removes anything. Every descriptor is close-on-exec.
 *
 * Threads: a handle may be used from any thread, but ipk_shm_map(),
 * ipk_shm_unmap(), ipk_shm_seal(), ipk_shm_remove() and ipk_shm_free() on
 * one handle must not run concurrently with each other or with the
 * accessors. The accessors alone are safe together. The shared memory
 * itself is plain memory: order accesses to it with atomics or locks.
 */
#ifndef IPCKIT_SHM_H
#define IPCKIT_SHM_H

#include <stddef.h>
#include <sys/ipc.h> /* key_t, also without POSIX feature macros */
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_shm ipk_shm;

enum ipk_shm_kind {
	IPK_SHM_POSIX = 1,
	IPK_SHM_SYSV,
	IPK_SHM_MEMFD,
	IPK_SHM_FILE,
};

/* Which object: the fields that matter for its kind. */
struct ipk_shm_ref {
	enum ipk_shm_kind kind;
	/* POSIX: "/name" (one leading '/', no other, at most NAME_MAX after
	 * it); FILE: a path; MEMFD: a label shown in /proc/PID/fd and maps
	 * (NULL: "ipk-shm"; at most 249 bytes); SYSV: unused */
	const char *name;
	/* SYSV: the key (e.g. from ftok(3)); IPC_PRIVATE creates a new
	 * private segment, and opens the segment @id */
	key_t key;
	/* SYSV with key IPC_PRIVATE, open only: a segment id
	 * (ipk_shm_sysv_id() of the creator's handle) */
	int id;
};

enum {
	/* create: fail with -EEXIST if the object exists */
	IPK_SHM_EXCL = 1u << 0,
	/* create: leave the object in place at ipk_shm_free() */
	IPK_SHM_KEEP = 1u << 1,
	/* open: read-only handle; map: read-only mapping */
	IPK_SHM_RDONLY = 1u << 2,
	/* map: fault every page in now (MAP_POPULATE; System V:
	 * MADV_POPULATE_READ/WRITE), not on first touch */
	IPK_SHM_PREFAULT = 1u << 3,
	/* create (MEMFD, SYSV): back with reserved huge pages (MFD_HUGETLB,
	 * SHM_HUGETLB) if the system has enough free, else normal pages;
	 * map: transparent huge page advice (MADV_HUGEPAGE) for an object
	 * that has no reserved huge pages. Never an error: ipk_shm_pages()
	 * says what was used. */
	IPK_SHM_HUGE = 1u << 4,
	/* map: lock the pages in RAM (mlock(2); limited by RLIMIT_MEMLOCK
	 * unless CAP_IPC_LOCK) */
	IPK_SHM_MLOCK = 1u << 5,
};

/* Seals of memfd objects (ipk_shm_seal()). */
enum {
	/* the size can change no more (F_SEAL_SHRINK | F_SEAL_GROW) */
	IPK_SHM_SEAL_SIZE = 1u << 0,
	/* no new writable mapping and no write(2), by anyone, while mappings
	 * that exist keep working (F_SEAL_FUTURE_WRITE, Linux 5.1): seal,
	 * then hand the fd over, and the receiver can only read */
	IPK_SHM_SEAL_FUTURE_WRITE = 1u << 1,
	/* no further seals (F_SEAL_SEAL) */
	IPK_SHM_SEAL_SEAL = 1u << 2,
};

/* What backs a mapping (ipk_shm_pages()). */
enum ipk_shm_pages {
	IPK_SHM_PAGES_NONE = 0, /* not mapped */
	IPK_SHM_PAGES_NORMAL,   /* base pages */
	IPK_SHM_PAGES_THP,      /* base pages, advised MADV_HUGEPAGE */
	IPK_SHM_PAGES_HUGETLB,  /* reserved huge pages (hugetlbfs) */
};

/**
 * ipk_shm_create() - create a shared-memory object of @size bytes
 * @ref: which object (struct ipk_shm_ref)
 * @size: bytes (> 0); rounded up to the huge page size for an object
 *        backed by huge pages
 * @mode: permissions (0 means 0600), applied exactly (not masked by the
 *        umask); ignored for MEMFD
 * @flags: IPK_SHM_EXCL, IPK_SHM_KEEP, IPK_SHM_HUGE
 *
 * Without IPK_SHM_EXCL an existing object (not MEMFD, not IPC_PRIVATE) is
 * adopted - opened read-write as it is, and not removed at free since this
 * handle did not create it - only if it is a regular file (never a
 * symbolic link at the name) or a segment that our effective uid owns (a
 * segment: and created), open to group and others no more than @mode:
 * someone else may hold it open already. A POSIX object appears at its
 * name complete: made without a name, sized, its memory allocated, then
 * linked (a full tmpfs is -ENOSPC here, never a SIGBUS at first touch). A MEMFD object is sealed
 * against shrinking (F_SEAL_SHRINK) and executing (MFD_NOEXEC_SEAL where
 * the kernel has it). The handle is not mapped: see ipk_shm_map().
 *
 * Return: 0 and *@ret; -EINVAL (bad name, kind, size or flags); -EEXIST
 * (IPK_SHM_EXCL and it exists, or something that is not a regular file is
 * at the name: a FIFO, directory, socket or symbolic link); -EPERM (it
 * exists and is another user's, or more open than @mode); -EBADMSG (it
 * exists and is smaller than @size); -EACCES; -ENAMETOOLONG; -ENOSPC, -ENOMEM (system limits:
 * ipk_shm_limit_hint()); other -errno of the underlying calls.
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_shm_create(const struct ipk_shm_ref *ref, size_t size, mode_t mode, unsigned flags,
			   ipk_shm **ret);

/**
 * ipk_shm_open() - open an existing object of at least @size bytes
 * @ref: which object; MEMFD objects have no name (use ipk_shm_open_fd())
 * @size: the size its users agreed on; 0 accepts any non-empty object
 * @flags: 0 or IPK_SHM_RDONLY
 *
 * The handle's size is the object's real size (>= @size).
 *
 * Never waits on what it finds: a FIFO, directory or socket at the name,
 * or a symbolic link at a POSIX name, is -EINVAL at once.
 *
 * Return: 0 and *@ret; -EINVAL (bad name or flags, MEMFD, not a regular
 * file); -ENOENT (no such object); -EACCES (permissions); -EBADMSG (smaller than @size, or empty);
 * -EFBIG (larger than this process can map); other -errno.
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_shm_open(const struct ipk_shm_ref *ref, size_t size, unsigned flags, ipk_shm **ret);

/**
 * ipk_shm_open_fd() - a handle on the object behind @fd (memfd, a POSIX
 * object's or a file's descriptor, e.g. received over a Unix socket)
 * @fd: stays the caller's: the handle uses its own descriptor
 * @size: as for ipk_shm_open()
 * @flags: 0 or IPK_SHM_RDONLY (the handle's descriptor is then opened
 *         O_RDONLY, even when @fd is read-write)
 *
 * The kind is IPK_SHM_MEMFD for a memfd and IPK_SHM_FILE otherwise. The
 * handle never removes anything.
 *
 * Return: 0 and *@ret; -EINVAL (bad flags, not a regular file); -EBADF;
 * -EACCES (a read-write handle asked for a read-only @fd); -EBADMSG;
 * -EFBIG; other -errno. (A read-write handle on a memfd sealed
 * F_SEAL_FUTURE_WRITE opens, but its read-write ipk_shm_map() is -EPERM.)
 * Blocking: no. Threads: safe.
 */
IPK_API int ipk_shm_open_fd(int fd, size_t size, unsigned flags, ipk_shm **ret);

/**
 * ipk_shm_map() - map the whole object into this process
 * @flags: IPK_SHM_RDONLY, IPK_SHM_PREFAULT, IPK_SHM_HUGE, IPK_SHM_MLOCK
 *
 * Measures the object first (see the top of this file). A read-only
 * mapping stays read-only: mprotect() cannot upgrade it.
 *
 * Return: 0 and *@ret, the address (page-aligned, ipk_shm_size() bytes);
 * -EINVAL (bad flags); -EBUSY (already mapped: one mapping per handle);
 * -EACCES (read-write mapping of a read-only handle); -EPERM (memfd sealed
 * F_SEAL_FUTURE_WRITE, read-write); -EBADMSG (the object shrank); with
 * IPK_SHM_MLOCK, -ENOMEM, -EPERM or -EAGAIN from mlock(2), where
 * ipk_shm_limit_hint() names RLIMIT_MEMLOCK; other -errno of mmap/shmat.
 * Nothing stays mapped after a failure.
 * Blocking: IPK_SHM_PREFAULT and IPK_SHM_MLOCK fault in every page first.
 * Threads: see the top of this file.
 */
IPK_API int ipk_shm_map(ipk_shm *shm, unsigned flags, void **ret);

/**
 * ipk_shm_unmap() - unmap the handle's mapping, if any
 *
 * Return: 0; -EINVAL if @shm is NULL. Threads: see the top of this file.
 */
IPK_API int ipk_shm_unmap(ipk_shm *shm);

/**
 * ipk_shm_addr() - the current mapping, NULL if none
 * Threads: safe with the other accessors.
 */
IPK_API void *ipk_shm_addr(const ipk_shm *shm);

/**
 * ipk_shm_size() - the object's size in bytes, as measured at create/open
 *
 * Return: the size (> 0); 0 if @shm is NULL. Threads: safe.
 */
IPK_API size_t ipk_shm_size(const ipk_shm *shm);

/**
 * ipk_shm_kind() - the backing: IPK_SHM_POSIX ... IPK_SHM_FILE
 *
 * Return: the kind; -EINVAL if @shm is NULL. Threads: safe.
 */
IPK_API int ipk_shm_kind(const ipk_shm *shm);

/**
 * ipk_shm_fd() - the handle's descriptor, to pass to another process
 *
 * It stays the handle's (closed by ipk_shm_free()); dup it to keep it.
 * Return: the fd (>= 0); -EOPNOTSUPP for System V (use ipk_shm_sysv_id());
 * -EINVAL if @shm is NULL. Threads: safe.
 */
IPK_API int ipk_shm_fd(const ipk_shm *shm);

/**
 * ipk_shm_sysv_id() - the System V segment id (shmid), for
 * struct ipk_shm_ref.id or ipcs(1)
 *
 * Return: the id (>= 0); -EOPNOTSUPP for other kinds; -EINVAL.
 * Threads: safe.
 */
IPK_API int ipk_shm_sysv_id(const ipk_shm *shm);

/**
 * ipk_shm_pages() - what backs the current mapping
 *
 * IPK_SHM_PAGES_HUGETLB for an object created with reserved huge pages;
 * IPK_SHM_PAGES_THP when IPK_SHM_HUGE fell back to transparent huge page
 * advice (whether the kernel then uses huge pages is its choice:
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled); IPK_SHM_PAGES_NORMAL
 * otherwise, including when the advice was refused, and for a System V
 * segment that another process created with huge pages (not detected).
 * Return: an enum ipk_shm_pages; IPK_SHM_PAGES_NONE if not mapped or NULL.
 * Threads: safe.
 */
IPK_API enum ipk_shm_pages ipk_shm_pages(const ipk_shm *shm);

/**
 * ipk_shm_seal() - add seals to a memfd object (IPK_SHM_SEAL_*)
 *
 * All of @seals or none are applied. Seals bind every process that holds
 * the memfd, this one too, and cannot be removed.
 *
 * Return: 0; -EINVAL (unknown bits, or nothing to seal); -EOPNOTSUPP (not a
 * memfd, or IPK_SHM_SEAL_FUTURE_WRITE on a kernel older than 5.1: nothing
 * was sealed); -EPERM (F_SEAL_SEAL is set, or the handle is read-only).
 * Blocking: no. Threads: see the top of this file.
 */
IPK_API int ipk_shm_seal(ipk_shm *shm, unsigned seals);

/**
 * ipk_shm_remove() - remove the object's name now (shm_unlink, IPC_RMID,
 * unlink), if the name still refers to this handle's object
 *
 * Existing handles and mappings keep working; new opens fail with
 * -ENOENT (System V: once the last process detaches). Any handle may remove
 * whatever the caller's permissions allow; after it, ipk_shm_free() removes
 * nothing.
 *
 * Return: 0 (also for MEMFD and ipk_shm_open_fd() handles: no name); -ENOENT (the name is
 * gone); -ESTALE (the name now refers to another object: left alone);
 * -EPERM, -EACCES; -EINVAL if @shm is NULL.
 * Threads: see the top of this file.
 */
IPK_API int ipk_shm_remove(ipk_shm *shm);

/**
 * ipk_shm_free() - unmap, close, and remove what this process created
 * (unless IPK_SHM_KEEP); accepts NULL
 *
 * Cannot fail. Threads: see the top of this file.
 */
IPK_API void ipk_shm_free(ipk_shm *shm);

/**
 * ipk_shm_limit_hint() - the system limit behind an error, and how to raise
 * it
 * @err: the error just returned (negative or positive errno)
 * @kind: the object's kind
 * @flags: the flags of the call that failed
 *
 * For example ipk_shm_map(..., IPK_SHM_MLOCK, ...) failing with -ENOMEM
 * gives "RLIMIT_MEMLOCK, bytes of memory locked per process (ulimit -l;
 * CAP_IPC_LOCK is not limited)".
 *
 * Return: a static string, or NULL when no limit explains @err.
 * Threads: safe.
 */
IPK_API const char *ipk_shm_limit_hint(int err, enum ipk_shm_kind kind, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_SHM_H */
