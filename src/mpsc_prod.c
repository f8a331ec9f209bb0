/* SPDX-License-Identifier: MIT */
/*
 * mpsc_prod.c - ipk_mpsc's producer: its lane (a sealed memfd it makes and
 * hands to the consumer), registering over the consumer's socket (again
 * for each new consumer epoch), sending - claim, bytes, mark, commit, the
 * doorbell - and waiting for room.
 *
 * The protocol and its memory orders are in mpsc_layout.h; the consumer's
 * side is mpsc.c. The send fast path stays in this file: no system call
 * unless the lane is full, the consumer sleeps, or it changed.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "mpsc_layout.h"
#include "shmname.h"

#define ROOM_SLICE_NS (10 * IPK_MSEC) /* longest sleep for room between looks */
#define RETRY_NS (1 * IPK_MSEC)       /* between connect attempts */

/* struct ipk_mpsc_prod.state */
enum { UNREGISTERED, PENDING, ADMITTED, REFUSED };

struct ipk_mpsc_prod {
	const struct ipk__mpsc_hdr *hdr; /* "/name", read-only */
	struct ipk__mpsc_door *door;
	struct ipk__mpsc_lane *lane;
	unsigned char *data;
	size_t map_size;
	int lane_fd;
	int sock;       /* to the consumer of epoch, or -1 */
	int state;      /* UNREGISTERED, PENDING (hello sent), ADMITTED, REFUSED */
	uint64_t epoch; /* the consumer's epoch we registered with (0: none) */
	uid_t owner;    /* owner of "/name": the consumer's uid */
	uint64_t cap, mask, max_msg;
	uint64_t head; /* where the next record goes */
	uint64_t seq;  /* the seq of the next message */
	uint64_t cons; /* lane->pos as last loaded */
};

static _Atomic uint64_t *seq_word(const ipk_mpsc_prod *p, uint64_t pos)
{
	return (_Atomic uint64_t *)(p->data + (pos & p->mask) + 8);
}

static _Atomic uint64_t *word0(const ipk_mpsc_prod *p, uint64_t pos)
{
	return (_Atomic uint64_t *)(p->data + (pos & p->mask));
}

/* ---- registering ---------------------------------------------------------- */

/* Wake the consumer, whatever it sleeps for (a hello: it accepts). */
static void ring_door(ipk_mpsc_prod *p)
{
	/* Release: pairs with the consumer's acquire load of futex. */
	atomic_fetch_add_explicit(&p->door->futex, 1, memory_order_release);
	ipk__mpsc_futex_wake(&p->door->futex);
}

/*
 * Connect to the consumer the header names now and send it the hello with
 * our lane. Return: 0 (pending: the consumer answers in its receives);
 * -ECONNREFUSED (no live consumer); -EPIPE (it closed the queue); -EAGAIN
 * (its socket's backlog is full, or it is setting up: again later);
 * -EPROTO (the socket's peer is not the consumer the header names);
 * -errno.
 */
static int hello(ipk_mpsc_prod *p)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct ipk__mpsc_hello h = { .magic = IPK__MPSC_HELLO_MAGIC,
				     .version = IPK__MPSC_VERSION,
				     .next_seq = p->seq };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct cmsghdr *cm;
	uint64_t epoch;
	uint32_t len;
	int32_t pid;
	int s, r;

	/* Epoch, the fields, epoch again (a takeover stores its epoch first:
	 * mpsc.c ipk_mpsc_create()). The same epoch twice: the fields are
	 * not of a consumer older than it. */
	for (int tries = 0;; tries++) {
		uint64_t again;

		if (tries == 16)
			return -EAGAIN; /* a takeover under way: later */
		/* Acquire: pairs with the consumer's release store of magic. */
		epoch = atomic_load_explicit(&p->hdr->epoch, memory_order_acquire);
		if (atomic_load_explicit(&p->hdr->state, memory_order_acquire) !=
		    IPK__MPSC_STATE_LIVE)
			return -EPIPE;
		pid = atomic_load_explicit(&p->hdr->pid, memory_order_relaxed);
		len = p->hdr->addr_len;
		if (len < 2 || len > IPK__MPSC_ADDR_MAX)
			return -EPROTO;
		memcpy(sa.sun_path, p->hdr->addr, len);
		/* Acquire: pairs with the consumer's release fence after its
		 * epoch: fields of a newer consumer mean a newer epoch here. */
		atomic_thread_fence(memory_order_acquire);
		again = atomic_load_explicit(&p->hdr->epoch, memory_order_relaxed);
		if (again == epoch)
			break;
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ipk__neg_errno();
	if (connect(s, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		r = errno == EAGAIN                            ? -EAGAIN
		    : errno == ECONNREFUSED || errno == ENOENT ? -ECONNREFUSED
							       : ipk__neg_errno();
		goto fail;
	}
	/* The kernel says who listens there: the header's consumer, of the
	 * uid that owns the header (a process that learnt the address and
	 * bound it first after the consumer died is refused). */
	r = -EPROTO;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 || cr.pid != pid ||
	    cr.uid != p->owner)
		goto fail;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p->lane_fd, sizeof(int));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
		r = errno == EAGAIN ? -EAGAIN : -ECONNREFUSED;
		goto fail;
	}
	if (p->sock >= 0)
		ipk__close(p->sock);
	p->sock = s;
	p->epoch = epoch;
	p->state = PENDING;
	/* Relaxed: a hint for the consumer to accept; the socket is the truth. */
	atomic_fetch_add_explicit(&p->door->joins, 1, memory_order_relaxed);
	ring_door(p);
	return 0;

fail:
	ipk__close(s);
	return r;
}

/* Read the consumer's answer if it is there. Return: 0; -EACCES
 * (refused); -ECONNREFUSED (the consumer went away). */
static int read_answer(ipk_mpsc_prod *p)
{
	struct ipk__mpsc_reply rep;
	ssize_t n;

	if (p->state != PENDING)
		return p->state == REFUSED ? -EACCES : 0;
	n = recv(p->sock, &rep, sizeof(rep), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == (ssize_t)sizeof(rep) && rep.answer == IPK__MPSC_YES) {
		p->state = ADMITTED;
		return 0;
	}
	if (n == (ssize_t)sizeof(rep)) {
		p->state = REFUSED;
		return -EACCES;
	}
	/* It went before it answered: a successor gets the lane. */
	ipk__close(p->sock);
	p->sock = -1;
	p->state = UNREGISTERED;
	p->epoch = 0;
	return -ECONNREFUSED;
}

/*
 * The slow path's look at the consumer: closed (-EPIPE), refused us
 * (-EACCES), replaced (register with the new one). Return: 0 (go on;
 * possibly still unregistered: the lane keeps what we send); -EPIPE;
 * -EACCES.
 */
static int refresh(ipk_mpsc_prod *p)
{
	int r;

	if (atomic_load_explicit(&p->hdr->state, memory_order_acquire) != IPK__MPSC_STATE_LIVE)
		return -EPIPE;
	if (p->state == REFUSED)
		return -EACCES;
	/* Relaxed: hello() loads it again with acquire. */
	if (atomic_load_explicit(&p->hdr->epoch, memory_order_relaxed) != p->epoch ||
	    p->state == UNREGISTERED) {
		r = hello(p);
		if (r == -EPIPE)
			return r;
		return 0; /* no consumer now, or a full backlog: later */
	}
	r = read_answer(p);
	return r == -EACCES ? r : 0;
}

/* ---- connecting ----------------------------------------------------------- */

static int open_lane(ipk_mpsc_prod *p)
{
	void *map;

	p->map_size = (size_t)(IPK__MPSC_LANE_HDR + p->cap);
	p->lane_fd = ipk__shm_memfd("ipk-mpsc-lane", p->map_size);
	if (p->lane_fd < 0)
		return p->lane_fd;
	/* The consumer maps it too: no one may take pages from under it. */
	if (fcntl(p->lane_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return ipk__neg_errno();
	map = mmap(NULL, p->map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, p->lane_fd,
		   0);
	if (map == MAP_FAILED)
		return ipk__neg_errno();
	p->lane = map;
	p->data = (unsigned char *)map + IPK__MPSC_LANE_HDR;
	p->lane->version = IPK__MPSC_VERSION;
	p->lane->capacity = p->cap;
	p->lane->max_msg = (uint32_t)p->max_msg;
	/* Relaxed: published by the release store of magic below. */
	atomic_store_explicit(seq_word(p, 0), IPK__MPSC_NONE, memory_order_relaxed);
	/* Release: pairs with the consumer's acquire load of magic. */
	atomic_store_explicit(&p->lane->magic, IPK__MPSC_LANE_MAGIC, memory_order_release);
	return 0;
}

/* "/name" read-only, once its consumer has set it up; "/name-door". */
static int open_names(ipk_mpsc_prod *p, const char *name, int64_t deadline)
{
	char door[NAME_MAX + 1];
	struct stat st;
	void *map;
	int fd, r;

	fd = ipk__shm_open(name, O_RDONLY, false, 0, &st);
	if (fd < 0)
		return fd;
	if (st.st_size != IPK__MPSC_HDR_SIZE) {
		ipk__close(fd);
		return -EPROTO;
	}
	map = mmap(NULL, IPK__MPSC_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = ipk__neg_errno();
		ipk__close(fd);
		return r;
	}
	p->hdr = map;
	p->owner = st.st_uid;
	/* Acquire: pairs with the consumer's release store of magic. A new
	 * queue is linked, locked, before it is set up: wait for that while
	 * someone holds the lock. Unlocked, its creator died before it was
	 * done and no one took it over. */
	while (atomic_load_explicit(&p->hdr->magic, memory_order_acquire) == 0) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			(void)flock(fd, LOCK_UN);
			/* Acquire: as above; set up since our first look. */
			if (atomic_load_explicit(&p->hdr->magic, memory_order_acquire) != 0)
				break;
			ipk__close(fd);
			return -ECONNREFUSED;
		}
		r = ipk__sleep_until(deadline, RETRY_NS);
		if (r < 0) {
			ipk__close(fd);
			return r;
		}
	}
	ipk__close(fd);
	if (atomic_load_explicit(&p->hdr->magic, memory_order_acquire) != IPK__MPSC_MAGIC ||
	    p->hdr->version != IPK__MPSC_VERSION)
		return -EPROTO;
	ipk__mpsc_door_name(name, door);
	fd = ipk__shm_open(door, O_RDWR, false, 0, &st);
	if (fd < 0)
		return fd == -ENOENT ? -ECONNREFUSED : fd;
	if (st.st_size != IPK__MPSC_DOOR_SIZE) {
		ipk__close(fd);
		return -EPROTO;
	}
	map = mmap(NULL, IPK__MPSC_DOOR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = ipk__neg_errno();
	ipk__close(fd);
	if (map == MAP_FAILED)
		return r;
	p->door = map;
	/* Relaxed: only to refuse a wrong object. */
	if (atomic_load_explicit(&p->door->magic, memory_order_relaxed) != IPK__MPSC_DOOR_MAGIC)
		return -EPROTO;
	return 0;
}

IPK_API int ipk_mpsc_connect(const char *name, const struct ipk_mpsc_prod_opts *opts,
			     int64_t timeout_ns, ipk_mpsc_prod **ret)
{
	int64_t deadline = ipk__deadline(timeout_ns);
	uint64_t cap = opts && opts->capacity ? opts->capacity : IPK__MPSC_DEFAULT_CAP;
	ipk_mpsc_prod *p;
	int r;

	IPK_CHECK_ARG(ret && ipk__mpsc_check_name(name) == 0);
	IPK_CHECK_ARG(cap >= IPK__MPSC_MIN_CAP && cap <= IPK__MPSC_MAX_CAP && !(cap & (cap - 1)));
	IPK_CHECK_ARG(!opts || opts->max_msg <= cap / 4 - 16);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->lane_fd = p->sock = -1;
	p->cap = cap;
	p->mask = cap - 1;
	p->max_msg = opts && opts->max_msg ? opts->max_msg : cap / 4 - 16;
	r = open_names(p, name, deadline);
	if (r < 0)
		goto fail;
	r = open_lane(p);
	if (r < 0)
		goto fail;
	/* A consumer that is starting, or a backlog that is full: retry. */
	while ((r = hello(p)) == -EAGAIN || r == -ECONNREFUSED) {
		int w = ipk__sleep_until(deadline, RETRY_NS);

		if (w < 0) {
			r = r == -ECONNREFUSED ? r : w;
			goto fail;
		}
	}
	if (r < 0) {
		r = r == -EPIPE ? -ECONNREFUSED : r; /* its consumer closed it */
		goto fail;
	}
	/* Wait for the answer, which the consumer gives in a receive. */
	while (deadline != IPK__NOWAIT && p->state == PENDING) {
		r = ipk__wait_fd(p->sock, POLLIN, deadline);
		if (r < 0)
			goto fail;
		r = read_answer(p);
		if (r < 0)
			goto fail;
	}
	*ret = p;
	return 0;

fail:
	ipk_mpsc_prod_close(p);
	return r;
}

IPK_API void ipk_mpsc_prod_close(ipk_mpsc_prod *p)
{
	if (!p)
		return;
	/* The consumer sees the hang-up, takes what is left, forgets us. */
	if (p->sock >= 0)
		ipk__close(p->sock);
	if (p->lane)
		(void)munmap(p->lane, p->map_size);
	if (p->lane_fd >= 0)
		ipk__close(p->lane_fd);
	if (p->door)
		(void)munmap(p->door, IPK__MPSC_DOOR_SIZE);
	if (p->hdr)
		(void)munmap((void *)p->hdr, IPK__MPSC_HDR_SIZE);
	free(p);
}

IPK_API size_t ipk_mpsc_prod_max_msg(const ipk_mpsc_prod *p)
{
	return p ? (size_t)p->max_msg : 0;
}

IPK_API int ipk_mpsc_prod_poll(ipk_mpsc_prod *p)
{
	IPK_CHECK_ARG(p);
	return refresh(p);
}

/* ---- sending -------------------------------------------------------------- */

/*
 * Wait until @need bytes past head are free (the consumer's pos moved),
 * or @deadline: the producer's half of the room pair (mpsc_layout.h).
 * Looks at the consumer (closed, refused, replaced) every slice.
 */
static int wait_room(ipk_mpsc_prod *p, uint64_t need, int64_t deadline)
{
	for (;;) {
		int64_t now, wake;
		uint32_t f;
		int r = refresh(p);

		if (r < 0)
			return r;
		if (deadline == IPK__NOWAIT)
			return -EAGAIN;
		now = ipk__now_ns();
		if (deadline != IPK__NEVER && now >= deadline)
			return -ETIMEDOUT;
		atomic_store_explicit(&p->lane->waiting, 1, memory_order_seq_cst);
		atomic_thread_fence(memory_order_seq_cst);
		/* Acquire (both): pair with the consumer's release increment
		 * of room and release store of pos (P). */
		f = atomic_load_explicit(&p->lane->room, memory_order_acquire);
		p->cons = atomic_load_explicit(&p->lane->pos, memory_order_acquire);
		if (p->head + need - p->cons > p->cap) {
			wake = deadline - now > ROOM_SLICE_NS ? now + ROOM_SLICE_NS : deadline;
			(void)ipk__mpsc_futex_wait(&p->lane->room, f, wake);
			p->cons = atomic_load_explicit(&p->lane->pos, memory_order_acquire);
		}
		if (p->head + need - p->cons <= p->cap) {
			/* Relaxed: the consumer may clear it too; a stale 1
			 * costs it one FUTEX_WAKE. */
			atomic_store_explicit(&p->lane->waiting, 0, memory_order_relaxed);
			return 0;
		}
	}
}

#define STEP(n)                  \
	do {                     \
		if (step)        \
			step(n); \
	} while (0)

IPK_API int ipk_mpsc_send(ipk_mpsc_prod *p, const void *buf, size_t len, int64_t timeout_ns)
{
	void (*step)(int) = ipk__mpsc_test_step;
	uint64_t off, pad, rec, need, h;
	int r;

	IPK_CHECK_ARG(p && (buf || len == 0));
	if (len > p->max_msg)
		return -EMSGSIZE;
	/* Relaxed (both): a look at a line that changes only when the
	 * consumer does; refresh() loads them again with acquire. */
	if (atomic_load_explicit(&p->hdr->epoch, memory_order_relaxed) != p->epoch ||
	    atomic_load_explicit(&p->hdr->state, memory_order_relaxed) != IPK__MPSC_STATE_LIVE ||
	    p->state == REFUSED) {
		r = refresh(p);
		if (r < 0)
			return r;
	}
	rec = ipk__mpsc_rec_size(len);
	off = p->head & p->mask;
	pad = off + rec > p->cap ? p->cap - off : 0;
	need = pad + rec + IPK__MPSC_REC_HDR; /* and the next record's mark */
	if (p->head + need - p->cons > p->cap) {
		/* Acquire: pairs with the consumer's release store P. */
		p->cons = atomic_load_explicit(&p->lane->pos, memory_order_acquire);
		if (p->head + need - p->cons > p->cap) {
			r = wait_room(p, need, ipk__deadline(timeout_ns));
			if (r < 0)
				return r;
		}
	}
	STEP(0);
	/* K, relaxed: read by the consumer only after our death. */
	atomic_store_explicit(&p->lane->claim, p->seq + 1, memory_order_relaxed);
	STEP(1);
	h = p->head;
	if (pad) {
		/* A PAD to the end of the lap, committed on its own: the
		 * lap's start marked first, then its seq word (release, as
		 * C). It takes no seq: it holds the seq of the message after it. */
		atomic_store_explicit(seq_word(p, h + pad), IPK__MPSC_NONE, memory_order_relaxed);
		atomic_store_explicit(word0(p, h), ipk__mpsc_word(0, IPK__MPSC_KIND_PAD),
				      memory_order_relaxed);
		atomic_store_explicit(seq_word(p, h), p->seq, memory_order_release);
		h += pad;
		STEP(2);
	}
	off = h & p->mask;
	if (step && len > 1) {
		memcpy(p->data + off + IPK__MPSC_REC_HDR, buf, len / 2);
		STEP(3); /* half of the payload */
		memcpy(p->data + off + IPK__MPSC_REC_HDR + len / 2, (const char *)buf + len / 2,
		       len - len / 2);
	} else {
		memcpy(p->data + off + IPK__MPSC_REC_HDR, buf, len);
	}
	STEP(4);
	/* M: the next record's seq word, before our commit. Relaxed: C
	 * orders it. */
	atomic_store_explicit(seq_word(p, h + rec), IPK__MPSC_NONE, memory_order_relaxed);
	STEP(5);
	atomic_store_explicit(word0(p, h), ipk__mpsc_word(len, IPK__MPSC_KIND_MSG),
			      memory_order_relaxed);
	STEP(6);
	/* C, seq_cst: whoever sees the seq sees the bytes (release), and it
	 * precedes the load of sleeping below (the doorbell pair). */
	atomic_store_explicit(seq_word(p, h), p->seq, memory_order_seq_cst);
	STEP(7);
	p->head = h + rec;
	p->seq++;
	/* S. Not cleared here: a producer that cleared it could leave the
	 * next producer's commit without a wake-up (tests/model/mpsc.pml);
	 * the consumer clears it when it wakes. */
	if (atomic_load_explicit(&p->door->sleeping, memory_order_seq_cst))
		ring_door(p);
	return 0;
}
