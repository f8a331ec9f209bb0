/* SPDX-License-Identifier: MIT */
/*
 * ring_names.c - the objects a ring is made of and the names that lead to
 * them: the feed "/name", the doorbell "/name-bell" and the queue's
 * consumer page "/name-cons" (IPK__RING_BELL, IPK__RING_CONS); their
 * creation, takeover and removal for a publisher, their opening for a
 * subscriber, and ipk_ring_info() for ipckit ls/stat/gc.
 *
 * Every named object is made, opened and removed through shmname.c, the
 * ownership layer ipk_shm uses too (a new ring appears at its name
 * complete and locked; only what is ours is adopted or removed; a name is
 * removed only while it leads to our object); an anonymous ring's
 * memfds are made there too (ipk__shm_memfd()). What lies inside the
 * objects is ring_layout.h's; mapping and writing them is ring_pub.c's
 * and ring_sub.c's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>

#include "ring_internal.h"

/* "/name" with no other slash, short enough for "-bell". */
int ipk__ring_check_name(const char *name)
{
	size_t n;

	if (!name || name[0] != '/')
		return -EINVAL;
	n = strlen(name);
	if (n < 2 || n + 5 > NAME_MAX || strchr(name + 1, '/'))
		return -EINVAL;
	return 0;
}

const char *const ipk__ring_parts[] = { IPK__RING_BELL, IPK__RING_CONS, NULL };

/* "/name" + "-bell" or "-cons"; ipk__ring_check_name() left room for it. */
void ipk__ring_name_with(const char *name, const char *suffix, char *buf)
{
	size_t n = strlen(name);

	memcpy(buf, name, n);
	memcpy(buf + n, suffix, 6);
}

/*
 * The feed at r->name: take over a dead publisher's, or make a new one.
 * The new one appears at the name complete and already locked
 * (ipk__shm_new(), ipk__shm_link()), so of any number of racing creators
 * exactly one links it and every other finds it locked: -EBUSY. Only what
 * is ours is adopted or replaced (ipk__shm_open(): owner, mode, a regular
 * file); a foreign object is -EPERM, a strange one -EPROTO.
 */
static int open_named_feed(ipk_ring *r, mode_t mode, bool *fresh)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		int fd, rc;

		fd = r->flags & IPK_RING_EXCL ? -ENOENT
					      : ipk__shm_open(r->name, O_RDWR, true, mode, &st);
		if (fd >= 0) {
			r->fd = fd;
			r->feed_id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
			/* The live publisher holds the lock for its whole life. */
			if (flock(r->fd, LOCK_EX | LOCK_NB) < 0)
				return errno == EWOULDBLOCK ? -EBUSY : ipk__neg_errno();
			rc = ipk__ring_adopt(r, &st);
			if (rc == 1 && fchmod(r->fd, mode) < 0)
				return ipk__neg_errno();
			if (rc != 0)
				return rc < 0 ? rc : 0;
			/* A dead ring of ours that does not fit: replace it.
			 * We hold its lock, so no other creator decided the
			 * same; its name goes only while it leads to it. */
			(void)ipk__shm_unlink(r->name, &r->feed_id);
			ipk__close(r->fd);
			r->fd = -1;
		} else if (fd != -ENOENT) {
			return fd;
		}
		fd = ipk__shm_new(IPK__RING_HDR_SIZE + r->cap, mode, true);
		if (fd < 0)
			return fd;
		rc = ipk__shm_link(fd, r->name, &r->feed_id);
		if (rc == 0) {
			r->fd = fd;
			*fresh = true;
			return 0;
		}
		ipk__close(fd);
		if (rc != -EEXIST || (r->flags & IPK_RING_EXCL))
			return rc;
		/* Another creator won the name: look at what it made. */
	}
	return -EBUSY;
}

/*
 * A companion object of a named ring (doorbell, consumer page), read-write:
 * a fresh ring gets a new one in place of whatever of ours a dead ring
 * left; a taken-over ring keeps its own (sleepers' counts, the consumer's
 * position) if it is whole. Return: a descriptor and *@id; -errno.
 */
static int open_companion(const char *name, size_t size, mode_t mode, bool fresh,
			  struct ipk__shm_id *id)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat st;
		int fd = ipk__shm_open(name, O_RDWR, true, mode, &st), rc;

		if (fd >= 0) {
			*id = (struct ipk__shm_id){ st.st_dev, st.st_ino };
			if (!fresh && st.st_size >= (off_t)size) {
				if (fchmod(fd, mode) == 0)
					return fd;
				rc = ipk__neg_errno();
				ipk__close(fd);
				return rc;
			}
			ipk__close(fd);
			rc = ipk__shm_unlink(name, id);
			if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
				return rc;
		} else if (fd != -ENOENT) {
			return fd;
		}
		fd = ipk__shm_new(size, mode, false);
		if (fd < 0)
			return fd;
		rc = ipk__shm_link(fd, name, id);
		if (rc == 0)
			return fd;
		ipk__close(fd);
		if (rc != -EEXIST)
			return rc;
	}
	return -EBUSY;
}

int ipk__ring_open_bell(ipk_ring *r, mode_t mode, bool fresh)
{
	if (r->named) {
		r->bell_fd =
			open_companion(r->bell_name, IPK__RING_BELL_SIZE, mode, fresh, &r->bell_id);
		if (r->bell_fd < 0)
			return r->bell_fd;
	} else {
		r->bell_fd = ipk__shm_memfd("ipk-ring-bell", IPK__RING_BELL_SIZE);
		if (r->bell_fd < 0)
			return r->bell_fd;
		(void)fcntl(r->bell_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	}
	r->bell =
		mmap(NULL, IPK__RING_BELL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->bell_fd, 0);
	if (r->bell == MAP_FAILED) {
		r->bell = NULL;
		return ipk__neg_errno();
	}
	/* Relaxed: subscribers check magic only to reject a wrong object; the
	 * words they use start at zero or carry on from before. */
	atomic_store_explicit(&r->bell->magic, IPK__RING_BELL_MAGIC, memory_order_relaxed);
	r->bell->version = IPK__RING_VERSION;
	return 0;
}

/*
 * Queue mode: the consumer's page. A fresh ring gets a fresh page at
 * position 0; a taken-over queue keeps its consumer's position (or starts
 * one at head).
 */
int ipk__ring_open_cons(ipk_ring *r, mode_t mode, bool fresh)
{
	r->cons_fd = open_companion(r->cons_name, IPK__RING_CONS_SIZE, mode, fresh, &r->cons_id);
	if (r->cons_fd < 0)
		return r->cons_fd;
	r->cons =
		mmap(NULL, IPK__RING_CONS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->cons_fd, 0);
	if (r->cons == MAP_FAILED) {
		r->cons = NULL;
		return ipk__neg_errno();
	}
	/* Relaxed: no consumer can use the page before the ring's magic,
	 * stored after this (fresh), or before it finds this magic
	 * (takeover), and a consumer only reads pos after taking the page's
	 * lock. */
	if (atomic_load_explicit(&r->cons->magic, memory_order_relaxed) != IPK__RING_CONS_MAGIC) {
		atomic_store_explicit(&r->cons->pos, r->head, memory_order_relaxed);
		atomic_store_explicit(&r->cons->shown, r->head, memory_order_relaxed);
		r->cons->version = IPK__RING_VERSION;
		atomic_store_explicit(&r->cons->magic, IPK__RING_CONS_MAGIC, memory_order_release);
	} else {
		/* Taken over: the one producer that could have been counted
		 * as waiting for room is the dead one we replace. Relaxed:
		 * only the consumer reads it, and a stale look costs it one
		 * FUTEX_WAKE. */
		atomic_store_explicit(&r->cons->waiting, 0, memory_order_relaxed);
	}
	return 0;
}

/* Remove the ring's names that still lead to its objects; a name that
 * someone else's object has taken since (ipckit rm, then a new publisher)
 * is theirs. Under the feed's lock: no successor takes ours over meanwhile. */
void ipk__ring_remove_names(const ipk_ring *r)
{
	if (r->feed_id.ino)
		(void)ipk__shm_unlink(r->name, &r->feed_id);
	if (r->bell_id.ino)
		(void)ipk__shm_unlink(r->bell_name, &r->bell_id);
	if (r->cons_id.ino)
		(void)ipk__shm_unlink(r->cons_name, &r->cons_id);
}

int ipk__ring_open_feed(ipk_ring *r, mode_t mode, bool *fresh)
{
	if (r->named)
		return open_named_feed(r, mode, fresh);
	r->fd = ipk__shm_memfd("ipk-ring", IPK__RING_HDR_SIZE + r->cap);
	if (r->fd < 0)
		return r->fd;
	*fresh = true; /* a memfd is always new */
	return 0;
}

/* Map @size bytes of @fd read-write, once the object is known to hold them. */
int ipk__ring_map_rw(int fd, size_t size, void **ret)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return ipk__neg_errno();
	if (st.st_size < (off_t)size)
		return -EBADMSG;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return ipk__neg_errno();
	*ret = p;
	return 0;
}

static int open_cons_page(ipk_ring_sub *s, const char *name)
{
	char cons[NAME_MAX + 1];
	struct stat st;
	void *page;
	int r;

	ipk__ring_name_with(name, IPK__RING_CONS, cons);
	s->cons_fd = ipk__shm_open(cons, O_RDWR, false, 0, &st);
	if (s->cons_fd < 0)
		return s->cons_fd == -ENOENT ? -EOPNOTSUPP : s->cons_fd;
	/* One consumer at a time: the lock dies with it. */
	if (flock(s->cons_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : ipk__neg_errno();
	r = ipk__ring_map_rw(s->cons_fd, IPK__RING_CONS_SIZE, &page);
	if (r < 0)
		return r;
	s->cons = page;
	/* Acquire: pairs with the release store of magic in ipk__ring_open_cons(). */
	if (atomic_load_explicit(&s->cons->magic, memory_order_acquire) != IPK__RING_CONS_MAGIC)
		return -EPROTO;
	return 0;
}

int ipk__ring_open_named(ipk_ring_sub *s, const char *name, bool consumer)
{
	char bell[NAME_MAX + 1];
	uint32_t magic = 0;
	struct stat st;

	s->fd = ipk__shm_open(name, O_RDONLY, false, 0, &st);
	if (s->fd < 0)
		return s->fd;
	/* Its publisher makes the doorbell and the consumer page before it
	 * stores magic: until then, look again later (not without them, and
	 * not at the price of mapping the whole feed). */
	if (pread(s->fd, &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) && !magic)
		return -EAGAIN;
	/* Without write access to the doorbell we wait by polling. */
	ipk__ring_name_with(name, IPK__RING_BELL, bell);
	s->bell_fd = ipk__shm_open(bell, O_RDWR, false, 0, &st);
	if (s->bell_fd == -EPROTO)
		return -EPROTO;
	if (consumer)
		return open_cons_page(s, name);
	return 0;
}

/* ---- inspection (ipckit ls/stat/gc) ------------------------------------ */

IPK_API int ipk_ring_info(const char *name, struct ipk_ring_info *ret)
{
	char cons_name[NAME_MAX + 1];
	struct ipk_ring_info info;
	const struct ipk__ring_hdr *h;
	uint64_t cap, max_msg, start;
	struct stat st, cst;
	void *map;
	int fd, cfd, rc;

	IPK_CHECK_ARG(ret && ipk__ring_check_name(name) == 0);
	fd = ipk__shm_open(name, O_RDONLY, false, 0, &st);
	if (fd < 0)
		return fd;
	if (st.st_size < (off_t)IPK__RING_HDR_SIZE ||
	    (uint64_t)st.st_size > IPK__RING_HDR_SIZE + IPK__RING_MAX_CAP) {
		rc = st.st_size < (off_t)IPK__RING_HDR_SIZE ? -EPROTO : -EBADMSG;
		goto out_fd;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = ipk__neg_errno();
		goto out_fd;
	}
	h = map;
	rc = ipk__ring_check_live_header(h, (size_t)st.st_size, &cap, &max_msg);
	if (rc < 0)
		goto out_map;
	memset(&info, 0, sizeof(info));
	info.capacity = cap;
	info.max_msg = max_msg;
	/* Acquire: pairs with the release increment at a takeover, after
	 * which pid, start and state belong to this epoch. */
	info.epoch = atomic_load_explicit(&h->epoch, memory_order_acquire);
	info.pid = atomic_load_explicit(&h->pid, memory_order_relaxed);
	start = atomic_load_explicit(&h->start, memory_order_relaxed);
	info.closed =
		atomic_load_explicit(&h->state, memory_order_relaxed) == IPK__RING_STATE_CLOSED;
	info.published = atomic_load_explicit(&h->pub_seq, memory_order_relaxed);
	info.head = atomic_load_explicit(&h->head, memory_order_relaxed);
	info.tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	info.alive = ipk__pid_alive(info.pid, start, -1);
	ipk__ring_name_with(name, IPK__RING_CONS, cons_name);
	cfd = ipk__shm_open(cons_name, O_RDONLY, false, 0, &cst);
	if (cfd >= 0) {
		const struct ipk__ring_cons *c;

		info.queue = 1;
		if (cst.st_size >= (off_t)IPK__RING_CONS_SIZE) {
			c = mmap(NULL, IPK__RING_CONS_SIZE, PROT_READ, MAP_SHARED, cfd, 0);
			if (c != MAP_FAILED) {
				uint64_t pos = atomic_load_explicit(&c->pos, memory_order_relaxed);

				if (atomic_load_explicit(&c->magic, memory_order_acquire) ==
					    IPK__RING_CONS_MAGIC &&
				    pos <= info.head) {
					info.consumer_lag = info.head - pos;
					info.has_consumer_lag = 1;
				}
				(void)munmap((void *)c, IPK__RING_CONS_SIZE);
			}
		}
		ipk__close(cfd);
	}
	*ret = info;
	rc = 0;
out_map:
	(void)munmap(map, (size_t)st.st_size);
out_fd:
	ipk__close(fd);
	return rc;
}
