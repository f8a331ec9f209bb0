/* SPDX-License-Identifier: MIT */
/*
 * inspect_internal.h - the snapshot of ipckit/inspect.h as its scanners
 * share it: the object array, the (dev, ino) index the process scan
 * resolves holders through, and one entry point per family of objects.
 *
 * A scan has two phases. First the objects: System V (inspect_sysv.c),
 * the mqueue mount and /dev/shm (inspect_posix.c), /proc/net/unix
 * (inspect_unix.c). Each object that has a file gets an index entry
 * (dev, ino) -> object; sockets are entered with dev 0 and their socket
 * inode. Then every process once (inspect_holders.c) finds what it holds
 * or maps through that index. The core (inspect.c) runs the phases and
 * owns the arrays; inspect_remove.c says what gc may do, finds objects by
 * URL and removes them.
 */
#ifndef IPK_INSPECT_INTERNAL_H
#define IPK_INSPECT_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ipckit/inspect.h>

#include "internal.h"

struct inspect_obj {
	struct ipk_inspect_obj pub; /* what the caller sees; holders and peers point below */
	struct ipk_holder *holders;
	size_t nholders, cap_holders;
	struct ipk_holder *peers; /* unix: holders of the other ends */
	size_t npeers, cap_peers;
	/* System V times (wall-clock seconds, 0: never): when lpid acted
	 * (msg: last send; shm: last attach or detach), when lrpid acted (msg:
	 * last receive), the last change (creation or IPC_SET). */
	int64_t lpid_time, lrpid_time, change_time;
	unsigned long waiters; /* System V set: processes blocked in semop() */
	bool base_not_ring;    /* -bell/-cons page: its ring's name exists, not as a ring */
};

/* Keys that are no file: a segment id (maps), a peer's socket inode. */
#define DEV_SYSV UINT64_MAX
#define DEV_PEER (UINT64_MAX - 1)

struct index_key {
	uint64_t dev, ino;
	size_t idx; /* into objs */
};

struct ipk_inspect {
	struct inspect_obj *objs;
	size_t nobjs, cap_objs;
	struct index_key *keys; /* (dev, ino) -> object */
	size_t nkeys, cap_keys;
	size_t nkeys_sorted; /* keys[0, nkeys_sorted) are sorted; later ones are searched linearly
			      */
	pid_t *denied;
	size_t ndenied, cap_denied;
	size_t nprocs;
	unsigned kinds;
	char mqueue[PATH_MAX];
	bool have_mqueue;
	char ipcns[64];     /* readlink of /proc/self/ns/ipc */
	bool foreign_pidns; /* not the host's PID namespace: not every process seen */
	bool hidepid;       /* /proc hides other users' processes from us */
	double boot_real;   /* CLOCK_REALTIME at boot (now), for start times */
	long hz;            /* clock ticks per second of /proc/PID/stat */
};

static inline bool ipk__inspect_wants(const ipk_inspect *in, enum ipk_inspect_kind kind)
{
	return in->kinds & IPK_INSPECT_BIT(kind);
}

/* inspect.c: the arrays and the index. */
int ipk__inspect_grow(void **arr, size_t *cap, size_t need, size_t elem);
/* A new object of @kind; NULL without memory. Pointers into objs change
 * with the next call. */
struct inspect_obj *ipk__inspect_new_obj(ipk_inspect *in, enum ipk_inspect_kind kind);
int ipk__inspect_add_key(ipk_inspect *in, uint64_t dev, uint64_t ino, size_t idx);
/* Sorts every key entered so far for ipk__inspect_lookup(). */
void ipk__inspect_sort_keys(ipk_inspect *in);
/* The object with file (@dev, @ino), or -1. */
ssize_t ipk__inspect_lookup(const ipk_inspect *in, uint64_t dev, uint64_t ino);
/* Adds a hold of @idx (a peer's if @peer) by process @pid. */
int ipk__inspect_add_hold(ipk_inspect *in, size_t idx, bool peer, pid_t pid, uid_t uid,
			  const char *comm, unsigned how, int fd);

/* inspect_sysv.c */
/* The System V objects of the kinds asked for; 0 or -ENOMEM. */
int ipk__inspect_scan_sysv(ipk_inspect *in);

/* inspect_posix.c */
void ipk__inspect_find_mqueue(ipk_inspect *in);
int ipk__inspect_scan_mqueue(ipk_inspect *in);
int ipk__inspect_scan_devshm(ipk_inspect *in);

/* inspect_unix.c */
int ipk__inspect_scan_unix(ipk_inspect *in);
int ipk__inspect_scan_unix_peers(ipk_inspect *in);

/* inspect_holders.c */
void ipk__inspect_check_process_view(ipk_inspect *in);
int ipk__inspect_scan_procs(ipk_inspect *in);

/* inspect_remove.c: sets o->pub.gc and gc_why (see ipk_inspect_orphan()). */
void ipk__inspect_classify(const ipk_inspect *in, struct inspect_obj *o);

#endif /* IPK_INSPECT_INTERNAL_H */
