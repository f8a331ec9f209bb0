/* SPDX-License-Identifier: MIT */
/*
 * ipckit/inspect.h - every IPC object visible on this host, who holds it,
 * and which of them dead processes left behind (behind `ipckit ls`,
 * `ipckit stat` and `ipckit gc`).
 *
 * ipk_inspect_scan() takes one snapshot: System V queues, segments and
 * semaphore sets (/proc/sysvipc), POSIX message queues (the mqueue
 * mount), POSIX shared memory, named semaphores and ipckit rings
 * (/dev/shm), bound Unix domain sockets (/proc/net/unix), and the FIFOs
 * and memfds some process holds open. Holders are found by reading every
 * /proc/PID/fd and /proc/PID/maps once; a process whose entries may not be
 * read is listed in ipk_inspect_denied(), never skipped silently. Objects
 * and processes that vanish while the scan runs are left out without an
 * error.
 *
 * Threads: a snapshot is read-only once made; any number of threads may
 * read one. Different snapshots are independent.
 */
#ifndef IPCKIT_INSPECT_H
#define IPCKIT_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ipk_inspect ipk_inspect; /* one snapshot of the host */

/* The kinds of object; IPK_INSPECT_BIT(kind) makes the mask of a scan. */
enum ipk_inspect_kind {
	IPK_INSPECT_SYSV_MSG, /* System V message queue */
	IPK_INSPECT_SYSV_SHM, /* System V shared-memory segment */
	IPK_INSPECT_SYSV_SEM, /* System V semaphore set */
	IPK_INSPECT_MQ,       /* POSIX message queue */
	IPK_INSPECT_SHM,      /* POSIX shared memory (/dev/shm), not a ring */
	IPK_INSPECT_SEM,      /* POSIX named semaphore (/dev/shm/sem.NAME) */
	IPK_INSPECT_RING,     /* ipckit ring or queue (with its -bell/-cons) */
	IPK_INSPECT_UNIX,     /* bound Unix domain socket */
	IPK_INSPECT_FIFO,     /* named pipe held open by a process */
	IPK_INSPECT_MEMFD,    /* memfd held open or mapped by a process */
	IPK_INSPECT_NKINDS
};

#define IPK_INSPECT_BIT(kind) (1u << (kind))
#define IPK_INSPECT_ALL ((1u << IPK_INSPECT_NKINDS) - 1)

/* ipk_holder.how */
#define IPK_HOLD_FD 0x1u  /* has a descriptor open */
#define IPK_HOLD_MAP 0x2u /* has it mapped (or a System V segment attached) */

/* A live process that holds an object. */
struct ipk_holder {
	pid_t pid;
	uid_t uid;     /* owner of /proc/PID: its effective uid */
	unsigned how;  /* IPK_HOLD_* */
	int fd;        /* its lowest descriptor of the object, or -1 */
	char comm[16]; /* /proc/PID/comm */
};

/*
 * What `ipckit gc` may do with an object (ipk_inspect_obj.gc), decided when the
 * snapshot is taken. Only what is proven left behind is an orphan; an
 * object no live process is seen using, but that one may still use, is
 * unknown and is kept (remove it with `ipckit rm`).
 */
enum ipk_inspect_gc {
	IPK_GC_IN_USE,  /* a live process holds, maps, attaches or publishes it */
	IPK_GC_ORPHAN,  /* proven left behind by dead processes: gc removes it */
	IPK_GC_UNKNOWN, /* no live user seen, but no proof that none is left */
};

/* One object. Fields that do not apply are 0, pids unknown are -1. */
struct ipk_inspect_obj {
	enum ipk_inspect_kind kind;
	char name[288]; /* "/name" (mq, shm, sem, ring), socket or fifo path,
			 * "@abstract", "memfd:NAME", "0x%08x" key (System V) */
	int64_t key;    /* System V key (0 = IPC_PRIVATE) */
	int64_t id;     /* System V id; -1 otherwise */
	uid_t uid;      /* owner */
	gid_t gid;
	uint32_t mode;             /* permission bits */
	uint64_t size;             /* bytes: segment/object size, or bytes queued */
	uint64_t count;            /* messages queued (queues), attaches (System V
				    * segments), semaphores (System V sets) */
	uint64_t max_msg;          /* POSIX mq: mq_maxmsg; ring: largest message */
	uint64_t msg_size;         /* POSIX mq: mq_msgsize */
	pid_t cpid;                /* creator (System V msg, shm) or -1 */
	pid_t lpid;                /* last sender (msg), attacher (shm), semop (sem; a
				    * live one if any), or -1; 0: none yet */
	pid_t lrpid;               /* System V msg: last receiver; 0: none yet */
	uint64_t dev, ino;         /* of the file (0 for System V queues, semaphores) */
	int sock_type;             /* unix: SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	int sock_state;            /* unix: 1 unconnected, 2 connecting, 3 connected,
				    * 4 disconnecting (SS_* of the kernel) */
	int listening;             /* unix: 1 if a listening socket */
	int sock_conns;            /* unix: accepted sockets sharing its address */
	int ring_err;              /* ring: 0 if @ring is valid, else ipk_ring_info()'s error */
	struct ipk_ring_info ring; /* IPK_INSPECT_RING */
	int ipckit;                /* 1: made by ipckit (ring, or its -bell/-cons page) */
	size_t nholders;
	const struct ipk_holder *holders; /* sorted by pid */
	size_t npeers;
	const struct ipk_holder *peers; /* unix: processes holding the other end of
					 * its connections (sock_diag), by pid */
	enum ipk_inspect_gc gc;         /* see ipk_inspect_orphan() */
	char gc_why[160];               /* why it is in that state, one phrase ("publisher 42
					 * dead; nobody holds or maps it") */
};

/**
 * ipk_inspect_scan() - take a snapshot of the host's IPC objects
 * @kinds: IPK_INSPECT_BIT() mask of what to list; 0 = IPK_INSPECT_ALL
 *
 * Reads /proc/sysvipc/{msg,shm,sem}, the mqueue mount, /dev/shm,
 * /proc/net/unix and every /proc/PID/{fd,maps,comm}. Sources that do not
 * exist (no mqueue mount) are left out; ipk_inspect_mqueue() tells.
 * Return: 0 and *@ret; -EINVAL (bad @kinds); -ENOMEM; -errno of opening
 * /proc. Blocking: no (reads /proc only). Threads: safe.
 */
IPK_API int ipk_inspect_scan(unsigned kinds, ipk_inspect **ret);

/* ipk_inspect_free() - release a snapshot; accepts NULL. */
IPK_API void ipk_inspect_free(ipk_inspect *in);

/* ipk_inspect_count() - the number of objects, in kind order. */
IPK_API size_t ipk_inspect_count(const ipk_inspect *in);

/* ipk_inspect_obj() - object @i (< ipk_inspect_count()), or NULL. */
IPK_API const struct ipk_inspect_obj *ipk_inspect_obj(const ipk_inspect *in, size_t i);

/**
 * ipk_inspect_denied() - processes whose fds or maps could not be read
 * @pids: set to an array of the returned length (owned by @in)
 *
 * Their holds are missing from the snapshot: run as root to see them.
 * Return: the number of such processes.
 */
IPK_API size_t ipk_inspect_denied(const ipk_inspect *in, const pid_t **pids);

/* ipk_inspect_procs() - the number of processes scanned. */
IPK_API size_t ipk_inspect_procs(const ipk_inspect *in);

/* ipk_inspect_mqueue() - where the mqueue filesystem is mounted, or NULL
 * if it is not (POSIX queues are then not listed; mount it with
 * "mount -t mqueue none /dev/mqueue"). */
IPK_API const char *ipk_inspect_mqueue(const ipk_inspect *in);

/* ipk_inspect_kind_name() - "sysv-msg", "sysv-shm", "sysv-sem", "mq", "shm",
 * "sem", "ring", "unix", "fifo", "memfd"; NULL for anything else. */
IPK_API const char *ipk_inspect_kind_name(enum ipk_inspect_kind kind);

/* ipk_inspect_kind_parse() - the kind named @name (as above).
 * Return: the kind (>= 0); -EINVAL for an unknown name. */
IPK_API int ipk_inspect_kind_parse(const char *name);

/**
 * ipk_inspect_find() - the object a URL names in the snapshot
 * @url: "shm:/name" (ring or shared memory), "mq:/name", "sem:/name",
 *       "sysvmq:KEY", "sysvshm:KEY", "sysvsem:KEY" (KEY decimal or 0x-hex;
 *       "id=N" for the id instead), "unix:/path", "unix:@name",
 *       "fifo:/path", "memfd:NAME"
 *
 * Return: 0 and *@ret (points into @in); -EINVAL (a URL of no such form);
 * -ENOENT (well-formed, but nothing by that name).
 */
IPK_API int ipk_inspect_find(const ipk_inspect *in, const char *url,
			     const struct ipk_inspect_obj **ret);

/**
 * ipk_inspect_orphan() - did dead processes leave @o behind, for certain?
 *
 * The kernel does not record who uses most IPC objects, so orphanhood is
 * proven per kind and @o->gc says what was found (@o->gc_why says why):
 * - ring (with its -bell/-cons pages): orphan when its publisher process is
 *   gone (pid dead, or reused by a process with another start time), it was
 *   not closed on purpose (IPK_RING_KEEP), and no live process holds or
 *   maps it or its pages; a lone -bell/-cons page of ipckit that nobody
 *   holds, whose ring name does not exist, likewise. Both rest on having
 *   seen every process: when some process's fds or maps could not be read
 *   (not root, or closed even to root), /proc hides processes (hidepid), or
 *   this PID namespace is not the host's but the IPC namespace is (the
 *   host's processes are not seen), they are unknown. (A PID namespace
 *   with an IPC namespace of its own, a container, is taken to have its own
 *   objects: processes outside it are not looked for.)
 * - System V segment: orphan when nobody has it attached (shm_nattch, a
 *   kernel count) and its creator and last attacher are dead (a pid that now
 *   names a process started after the segment's last change or last attach
 *   is dead). A creator of 0 (outside this PID namespace) is unknown.
 * - System V queues and semaphore sets: never orphans. The kernel records
 *   no creator, and any process may still use one by key or id (a creator
 *   waiting for another message type, say): unknown, or in use when its
 *   last sender or receiver, or a last operator of the set, lives, or a
 *   process waits on the set.
 * - POSIX queues, shared memory, named semaphores, Unix sockets: nothing
 *   records who made them, and a queue or segment nobody holds open may
 *   still be waiting for its next user: unknown unless held (in use).
 * - FIFOs and memfds are found only through their holders: in use.
 * A stopped process (SIGSTOP) is alive; so is a zombie (its threads may
 * still run).
 * Return: 1 if @o->gc is IPK_GC_ORPHAN, else 0.
 */
IPK_API int ipk_inspect_orphan(const struct ipk_inspect_obj *o);

/**
 * ipk_inspect_remove() - remove @o from the system, if it is still what the
 * snapshot saw
 * @o: an object of a snapshot (ipk_inspect_obj(), ipk_inspect_find()); a
 *     socket or FIFO may also be given by kind and path alone (dev and ino
 *     0: whatever socket or FIFO is at the path)
 *
 * Removes whatever its state (ipk_inspect_orphan() is the caller's check), but
 * only the object the snapshot saw: a name that leads elsewhere now is left
 * alone (-ESTALE). shm_unlink, mq_unlink, sem_unlink, IPC_RMID, or unlink of
 * a socket's or FIFO's path. Processes that hold it keep what they have.
 * - ring: only while the feed is the file scanned (@o->dev, @o->ino), its
 *   header names the same publisher (@o->ring.pid, @o->ring.epoch), and,
 *   unless the snapshot saw its publisher alive, no publisher holds it:
 *   the feed's lock, which every live publisher holds and a new one must
 *   take before it adopts or replaces the ring, is held while the -bell and
 *   -cons pages and then the feed are removed, each only while its name
 *   leads to the file looked at. A ring seen alive is removed without the
 *   lock (ipckit rm): a successor that adopts it in that instant loses it
 *   too. If the feed is gone (-ENOENT), its pages are left to a later scan.
 * - POSIX shared memory, a ring's lone page, a named semaphore (files in
 *   /dev/shm), a FIFO: only while the path leads to @o->dev, @o->ino. The
 *   kernel removes by name only, so a file made at the name between that
 *   check and the removal is removed.
 * - POSIX queue: mq_unlink() takes a name only; the queue is checked
 *   against @o->dev, @o->ino through the mqueue mount first (same window).
 * - System V: by id (IPC_RMID), as before: a new object under the same
 *   key gets a new id.
 * - bound Unix socket: by path and type (a socket file), not by identity:
 *   the snapshot holds the socket's inode, not its file's.
 * Memfds and abstract sockets have no name to remove: -EOPNOTSUPP.
 * Return: 0; -ESTALE (changed since the scan: another object at the name,
 * a ring taken over, or held by a publisher the snapshot did not see:
 * nothing removed; scan again); -ENOENT (already gone); -EPERM/-EACCES;
 * -EOPNOTSUPP; -EINVAL (an @o with no file recorded where one is needed).
 * Blocking: no.
 */
IPK_API int ipk_inspect_remove(const struct ipk_inspect_obj *o);

#ifdef __cplusplus
}
#endif

#endif /* IPCKIT_INSPECT_H */
