/* SPDX-License-Identifier: MIT */
/*
 * inspect_remove.c - what gc may do with each object of a snapshot (its
 * ipk_inspect_obj.gc verdict and the reason), finding an object by URL, and
 * removing one. The scanners only gather; the decisions are all here.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "inspect_internal.h"
#include "ring_layout.h"
#include "shmname.h"
#include "url_parse.h"

/*
 * Can @pid be a live process that acted at @t (wall-clock seconds, as the
 * System V objects record times; 0 = no time)? A live pid whose process
 * started after @t is another process that reuses a dead one's number.
 * The kernel's times are whole seconds and the start time is converted to
 * the wall clock as it is now, so "after" needs a margin: started more
 * than 2 s after @t. (A wall clock stepped forward by more than a second
 * since @t can still mislead this; the margin covers the usual slewing.)
 */
static bool pid_lived_at(const ipk_inspect *in, pid_t pid, int64_t t)
{
	uint64_t ticks;

	if (!ipk__pid_exists(pid))
		return false;
	if (t <= 0 || in->hz <= 0 || ipk__proc_start_time(pid, &ticks) < 0)
		return true;
	return in->boot_real + (double)ticks / (double)in->hz <= (double)t + 2.0;
}

/* Why the holders seen may not be all there are; NULL if every process was
 * seen and read. */
static const char *unseen_reason(const ipk_inspect *in, char *buf, size_t len)
{
	if (in->foreign_pidns)
		return "the host's processes share this IPC namespace unseen";
	if (in->hidepid)
		return "/proc hides other users' processes (hidepid)";
	if (in->ndenied) {
		snprintf(buf, len, "%zu process%s could not be inspected", in->ndenied,
			 in->ndenied == 1 ? "" : "es");
		return buf;
	}
	return NULL;
}

#define SET_GC(ob, state, ...)                                                     \
	do {                                                                       \
		(ob)->pub.gc = (state);                                            \
		snprintf((ob)->pub.gc_why, sizeof((ob)->pub.gc_why), __VA_ARGS__); \
	} while (0)

/* Sets o->pub.gc and gc_why (see ipk_inspect_orphan() in inspect.h). */
void ipk__inspect_classify(const ipk_inspect *in, struct inspect_obj *o)
{
	const struct ipk_inspect_obj *x = &o->pub;
	char unseen_buf[64];
	const char *unseen = unseen_reason(in, unseen_buf, sizeof(unseen_buf));

	if (x->nholders) {
		SET_GC(o, IPK_GC_IN_USE, "held by %d (%s)%s", (int)x->holders[0].pid,
		       x->holders[0].comm, x->nholders > 1 ? " and others" : "");
		return;
	}
	switch (x->kind) {
	case IPK_INSPECT_RING:
		if (x->ring_err)
			SET_GC(o, IPK_GC_UNKNOWN, "header unreadable (%s)",
			       ipk_errname(x->ring_err));
		else if (x->ring.alive)
			SET_GC(o, IPK_GC_IN_USE, "publisher %d lives", (int)x->ring.pid);
		else if (x->ring.pid <= 0)
			SET_GC(o, IPK_GC_UNKNOWN, "no publisher recorded");
		else if (x->ring.closed)
			SET_GC(o, IPK_GC_UNKNOWN,
			       "its publisher closed it and kept it on purpose (IPK_RING_KEEP)");
		else if (unseen)
			SET_GC(o, IPK_GC_UNKNOWN,
			       "publisher %d dead, but %s: one may hold or map it",
			       (int)x->ring.pid, unseen);
		else
			SET_GC(o, IPK_GC_ORPHAN, "publisher %d dead; nobody holds or maps it",
			       (int)x->ring.pid);
		return;
	case IPK_INSPECT_SHM:
		if (!x->ipckit)
			break;
		if (o->base_not_ring)
			SET_GC(o, IPK_GC_UNKNOWN,
			       "ring page whose ring name exists but is no ring "
			       "(yet)");
		else if (unseen)
			SET_GC(o, IPK_GC_UNKNOWN, "ring page without its ring, but %s", unseen);
		else
			SET_GC(o, IPK_GC_ORPHAN, "ring page without its ring; nobody holds it");
		return;
	case IPK_INSPECT_SYSV_SHM:
		if (x->count)
			SET_GC(o, IPK_GC_IN_USE, "attached %llu time%s",
			       (unsigned long long)x->count, x->count == 1 ? "" : "s");
		else if (x->cpid <= 0)
			SET_GC(o, IPK_GC_UNKNOWN, "creator not visible from this PID namespace");
		else if (pid_lived_at(in, x->cpid, o->change_time))
			SET_GC(o, IPK_GC_UNKNOWN, "not attached, but its creator %d lives",
			       (int)x->cpid);
		else if (x->lpid > 0 && pid_lived_at(in, x->lpid, o->lpid_time))
			SET_GC(o, IPK_GC_UNKNOWN, "not attached, but its last attacher %d lives",
			       (int)x->lpid);
		else
			SET_GC(o, IPK_GC_ORPHAN,
			       "not attached; creator %d and last attacher %d dead", (int)x->cpid,
			       (int)x->lpid);
		return;
	case IPK_INSPECT_SYSV_MSG:
		if (x->lpid > 0 && pid_lived_at(in, x->lpid, o->lpid_time))
			SET_GC(o, IPK_GC_IN_USE, "last sender %d lives", (int)x->lpid);
		else if (x->lrpid > 0 && pid_lived_at(in, x->lrpid, o->lrpid_time))
			SET_GC(o, IPK_GC_IN_USE, "last receiver %d lives", (int)x->lrpid);
		else
			SET_GC(o, IPK_GC_UNKNOWN,
			       "the kernel records no creator: a live process may still use it "
			       "(last sender %d, last receiver %d dead or none)",
			       (int)x->lpid, (int)x->lrpid);
		return;
	case IPK_INSPECT_SYSV_SEM:
		if (o->waiters)
			SET_GC(o, IPK_GC_IN_USE, "%lu process%s wait on it", o->waiters,
			       o->waiters == 1 ? "" : "es");
		else if (x->lpid > 0 && ipk__pid_exists(x->lpid))
			SET_GC(o, IPK_GC_IN_USE, "last operated on by %d, alive", (int)x->lpid);
		else
			SET_GC(o, IPK_GC_UNKNOWN,
			       "the kernel records no creator: a live process may still use it "
			       "(no live last operator)");
		return;
	case IPK_INSPECT_FIFO:
	case IPK_INSPECT_MEMFD:
		SET_GC(o, IPK_GC_IN_USE, "held"); /* only found through a holder */
		return;
	case IPK_INSPECT_UNIX:
		SET_GC(o, IPK_GC_UNKNOWN, "no holder seen (%s)",
		       unseen ? unseen
			      : "it may be in flight in a message, or held in another PID "
				"namespace");
		return;
	default:
		break;
	}
	/* POSIX shm, mq, sem */
	SET_GC(o, IPK_GC_UNKNOWN, "nothing records its creator: it may wait for its next user%s%s",
	       unseen ? "; " : "", unseen ? unseen : "");
}

/* What an object URL names: the kinds its scheme covers, and the rest as
 * the library's URL parser reads it (url_parse.h). */
struct object_url {
	unsigned kinds; /* IPK_INSPECT_BIT()s of the kinds the scheme names */
	struct ipk__obj_url url;
};

/* Reads @url into *@u; -EINVAL if it is of no form ipk_inspect_find()
 * knows. */
static int parse_object_url(const char *url, struct object_url *u)
{
	static const struct {
		const char *scheme;
		unsigned kinds;
	} schemes[] = {
		{ "shm", IPK_INSPECT_BIT(IPK_INSPECT_RING) | IPK_INSPECT_BIT(IPK_INSPECT_SHM) },
		{ "mq", IPK_INSPECT_BIT(IPK_INSPECT_MQ) },
		{ "sem", IPK_INSPECT_BIT(IPK_INSPECT_SEM) },
		{ "sysvmq", IPK_INSPECT_BIT(IPK_INSPECT_SYSV_MSG) },
		{ "sysvshm", IPK_INSPECT_BIT(IPK_INSPECT_SYSV_SHM) },
		{ "sysvsem", IPK_INSPECT_BIT(IPK_INSPECT_SYSV_SEM) },
		{ "unix", IPK_INSPECT_BIT(IPK_INSPECT_UNIX) },
		{ "unix+dgram", IPK_INSPECT_BIT(IPK_INSPECT_UNIX) },
		{ "unix+seqpacket", IPK_INSPECT_BIT(IPK_INSPECT_UNIX) },
		{ "fifo", IPK_INSPECT_BIT(IPK_INSPECT_FIFO) },
		{ "memfd", IPK_INSPECT_BIT(IPK_INSPECT_MEMFD) },
	};

	if (ipk__url_parse_object(url, &u->url) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (!strcmp(u->url.scheme, schemes[i].scheme)) {
			u->kinds = schemes[i].kinds;
			return 0;
		}
	}
	return -EINVAL; /* a scheme that names no object (pipe:, tcp:, ...) */
}

static bool url_names(const struct object_url *u, const struct ipk_inspect_obj *o)
{
	if (!(u->kinds & IPK_INSPECT_BIT(o->kind)))
		return false;
	if (!u->url.sysv)
		return !strcmp(o->name, u->url.name);
	if (u->url.by_id)
		return o->id == u->url.num;
	return o->key == u->url.num && u->url.num != 0; /* IPC_PRIVATE names nothing */
}

IPK_API int ipk_inspect_find(const ipk_inspect *in, const char *url,
			     const struct ipk_inspect_obj **ret)
{
	struct object_url u;

	IPK_CHECK_ARG(in && url && ret);
	if (parse_object_url(url, &u) < 0)
		return -EINVAL;
	for (size_t i = 0; i < in->nobjs; i++) {
		if (url_names(&u, &in->objs[i].pub)) {
			*ret = &in->objs[i].pub;
			return 0;
		}
	}
	return -ENOENT;
}

IPK_API int ipk_inspect_orphan(const struct ipk_inspect_obj *o)
{
	return o && o->gc == IPK_GC_ORPHAN;
}

/*
 * Removal. A name is removed only while it still leads to the object the
 * snapshot saw ((dev, ino) as scanned); anything else at the name now is
 * -ESTALE and left alone. For POSIX shared memory, semaphores and rings
 * that check and the unlink are ipk__shm_unlink()'s: a new object linked
 * between its lstat() and unlink() is the one race left, the same one a
 * ring's own close has. Rings are held to more (remove_ring()).
 */

/* The file at /dev/shm@name now, if it is a regular file. */
static int shm_file_id(const char *name, struct ipk__shm_id *id)
{
	char path[sizeof(IPK__SHM_DIR) + NAME_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", IPK__SHM_DIR, name);
	if (lstat(path, &st) < 0)
		return ipk__neg_errno();
	if (!S_ISREG(st.st_mode))
		return -ESTALE;
	*id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
	return 0;
}

/* Who publishes the feed @fd (@size bytes) now. */
static int ring_publisher(int fd, off_t size, uint64_t *epoch, pid_t *pid)
{
	const struct ipk__ring_hdr *h;

	if (size < (off_t)IPK__RING_HDR_SIZE)
		return -ESTALE; /* the snapshot read a header there */
	h = mmap(NULL, IPK__RING_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return ipk__neg_errno();
	/* Acquire: pairs with the release increment of epoch at a takeover,
	 * after which pid belongs to the new epoch (as in ipk_ring_info()). */
	*epoch = atomic_load_explicit(&h->epoch, memory_order_acquire);
	*pid = atomic_load_explicit(&h->pid, memory_order_relaxed);
	(void)munmap((void *)h, IPK__RING_HDR_SIZE);
	return 0;
}

/*
 * A ring: its pages, then its feed, only while the feed is the file the
 * snapshot saw, published at the same epoch by the same pid, and - unless
 * the snapshot saw its publisher alive (ipckit rm of a live ring) - while
 * no publisher holds it. The feed's flock is how a publisher holds a ring
 * for its whole life (open_named_feed()) and what a new publisher must take
 * before it adopts or replaces the ring; we take it too, so no publisher
 * adopts the ring, and no creator replaces it or its pages, while we check
 * and remove. The pages go first, while the feed's name still sends any
 * creator to the lock we hold; the feed goes last.
 *
 * What stays: a ring seen live is removed without the lock, so a successor
 * that adopts it between our look at the header and the unlink loses it
 * too; a ring whose header the snapshot could not read (ring_err) has no
 * epoch to compare, only its file and the lock. The snapshot does not keep
 * the pages' own (dev, ino): under the lock the pages at the names are the
 * feed's, and each is removed only while the name leads to the file
 * looked at.
 */
static int remove_ring(const struct ipk_inspect_obj *o)
{
	const struct ipk__shm_id feed = { (dev_t)o->dev, (ino_t)o->ino };
	char part[NAME_MAX + 8];
	struct ipk__shm_id id;
	struct stat st;
	uint64_t epoch;
	pid_t pid;
	int fd, rc;

	if (strlen(o->name) + 6 > sizeof(part))
		return -EINVAL;
	fd = ipk__shm_open(o->name, O_RDONLY, false, 0, &st);
	if (fd < 0)
		return fd == -EPROTO ? -ESTALE : fd; /* no regular file there now */
	rc = -ESTALE;
	if (st.st_dev != feed.dev || st.st_ino != feed.ino)
		goto out;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			rc = ipk__neg_errno();
			goto out;
		}
		if (!o->ring.alive || o->ring_err)
			goto out; /* a publisher holds what the snapshot saw unheld */
	}
	if (!o->ring_err) {
		rc = ring_publisher(fd, st.st_size, &epoch, &pid);
		if (rc < 0)
			goto out;
		rc = -ESTALE;
		if (epoch != o->ring.epoch || pid != o->ring.pid)
			goto out; /* taken over since */
	}
	for (const char *const *p = ipk__ring_parts; *p; p++) {
		snprintf(part, sizeof(part), "%s%s", o->name, *p);
		rc = shm_file_id(part, &id);
		if (rc == 0)
			rc = ipk__shm_unlink(part, &id);
		if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
			goto out;
	}
	rc = ipk__shm_unlink(o->name, &feed);
out:
	ipk__close(fd); /* and with it our lock */
	return rc;
}

/* A POSIX message queue: mq_unlink() takes only a name, so the check
 * against the snapshot's (dev, ino) and the removal are two steps; a queue
 * made at the name between them is removed. */
static int remove_mq(const struct ipk_inspect_obj *o)
{
	ipk_inspect *in = calloc(1, sizeof(*in));
	char path[PATH_MAX + sizeof(o->name)];
	struct stat st;
	int rc = 0;

	if (!in)
		return -ENOMEM;
	ipk__inspect_find_mqueue(in);
	if (in->have_mqueue) {
		snprintf(path, sizeof(path), "%s%s", in->mqueue, o->name);
		if (lstat(path, &st) < 0)
			rc = ipk__neg_errno();
		else if (st.st_dev != (dev_t)o->dev || st.st_ino != (ino_t)o->ino)
			rc = -ESTALE;
	}
	free(in);
	if (rc < 0)
		return rc;
	return mq_unlink(o->name) < 0 ? ipk__neg_errno() : 0;
}

/*
 * unlink(@path) if it still is a file of type @type and, when the
 * snapshot recorded one (@dev, @ino not 0), still that file. A file put at
 * the path between the lstat() and the unlink() is removed: the kernel
 * unlinks by name only.
 */
static int unlink_typed(const char *path, mode_t type, uint64_t dev, uint64_t ino)
{
	bool known = dev || ino;
	struct stat st;

	if (lstat(path, &st) < 0)
		return ipk__neg_errno();
	if ((st.st_mode & S_IFMT) != type)
		return known ? -ESTALE : -ENOENT;
	if (known && (st.st_dev != (dev_t)dev || st.st_ino != (ino_t)ino))
		return -ESTALE;
	return unlink(path) < 0 ? ipk__neg_errno() : 0;
}

/* A named semaphore is /dev/shm/sem.NAME (glibc's sem_unlink()). */
static int remove_sem(const struct ipk_inspect_obj *o)
{
	const struct ipk__shm_id id = { (dev_t)o->dev, (ino_t)o->ino };
	char name[NAME_MAX + 8];

	if (snprintf(name, sizeof(name), "/sem.%s", o->name + 1) >= (int)sizeof(name))
		return -EINVAL;
	return ipk__shm_unlink(name, &id);
}

IPK_API int ipk_inspect_remove(const struct ipk_inspect_obj *o)
{
	int rc;

	IPK_CHECK_ARG(o);
	switch (o->kind) {
	case IPK_INSPECT_RING:
		return o->ino ? remove_ring(o) : -EINVAL;
	case IPK_INSPECT_SHM:
		if (!o->ino)
			return -EINVAL;
		return ipk__shm_unlink(o->name,
				       &(struct ipk__shm_id){ (dev_t)o->dev, (ino_t)o->ino });
	case IPK_INSPECT_SEM:
		return o->ino && o->name[0] == '/' ? remove_sem(o) : -EINVAL;
	case IPK_INSPECT_MQ:
		return o->ino ? remove_mq(o) : -EINVAL;
	case IPK_INSPECT_SYSV_MSG:
		rc = msgctl((int)o->id, IPC_RMID, NULL);
		break;
	case IPK_INSPECT_SYSV_SHM:
		rc = shmctl((int)o->id, IPC_RMID, NULL);
		break;
	case IPK_INSPECT_SYSV_SEM:
		rc = semctl((int)o->id, 0, IPC_RMID);
		break;
	case IPK_INSPECT_UNIX:
		if (o->name[0] != '/')
			return -EOPNOTSUPP; /* abstract: gone with its last holder */
		return unlink_typed(o->name, S_IFSOCK, 0, 0);
	case IPK_INSPECT_FIFO:
		return unlink_typed(o->name, S_IFIFO, o->dev, o->ino);
	default:
		return -EOPNOTSUPP;
	}
	if (rc < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : ipk__neg_errno();
	return 0;
}
