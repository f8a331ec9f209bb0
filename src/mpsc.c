/* SPDX-License-Identifier: MIT */
/*
 * mpsc.c - ipk_mpsc's consumer: the queue's objects (its header "/name",
 * locked for its life, and the doorbell), the socket producers register
 * on, admitting them (SO_PEERCRED, the lane's seals and header), taking
 * messages from the lanes in turn, waiting, and forgetting producers that
 * left or died once their lanes are drained.
 *
 * The protocol and its memory orders are in mpsc_layout.h; the producer's
 * side is mpsc_prod.c. Nothing in a lane is trusted beyond what keeps the
 * consumer inside the mapping: a producer that writes nonsense into its
 * own lane loses its lane (stats.broken), nothing else.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "mpsc_layout.h"
#include "shmname.h"

#define LIVENESS_NS (10 * IPK_MSEC)    /* connections looked at while receiving */
#define SLEEP_SLICE_NS (50 * IPK_MSEC) /* longest sleep between such looks */
#define BURST 64                       /* messages from one lane before the next */
#define CHECK_EVERY 256                /* receives between clock reads while busy */
#define SPIN_ROUND 64                  /* looks at the lanes between clock reads */
#define MAX_PENDING 64                 /* accepted connections yet to say hello */
#define PENDING_NS IPK_SEC             /* how long one may take to say it */
#define HELLO_FDS 8                    /* descriptors a hello's buffer has room for */

struct lane {
	struct ipk__mpsc_lane *hdr; /* the mapping: header page + data */
	unsigned char *data;
	size_t map_size;
	uint64_t cap, mask, max_msg;
	uint64_t pos;      /* our copy of hdr->pos */
	uint64_t next_seq; /* the seq after the last one taken */
	int sock;          /* the producer's connection: hangs up when it goes */
	bool gone;         /* it hung up: drain, then forget */
	bool broken;       /* nonsense in the lane: forget at once */
	bool fenced;       /* no message taken since the last empty-lane fence */
	struct ipk_mpsc_from from;
};

struct pending {
	int sock;      /* accepted, its hello not read yet */
	int64_t since; /* when */
};

struct ipk_mpsc {
	int fd; /* "/name", read-write, flock(LOCK_EX) for our life */
	int door_fd;
	int lsock; /* the listening socket */
	struct ipk__mpsc_hdr *hdr;
	struct ipk__mpsc_door *door;
	struct lane **lanes;
	size_t n, lanes_cap;
	struct lane *unacked;    /* whose last message was returned, its pos not yet stored */
	struct pending *pending; /* accepted, hello not read yet */
	size_t npending, pending_cap;
	struct pollfd *pfds; /* n of them, for check() */
	size_t cursor;       /* the lane taken from last */
	unsigned burst;      /* messages taken from it in a row */
	unsigned calls;
	uint32_t joins_seen;
	uint32_t next_id;
	uint32_t flags;
	mode_t mode;
	int64_t spin_ns;
	int64_t next_check_ns;
	size_t msg_len;
	bool armed;                 /* we left sleeping = 1 for the helper (ipk_mpsc_fd()) */
	bool published;             /* the header names us: ours to close */
	struct ipk__mpsc_poll poll; /* ipk_mpsc_fd()'s helper */
	struct ipk_mpsc_stats st;
	char name[NAME_MAX + 1];
	char door_name[NAME_MAX + 1];
	struct ipk__shm_id id, door_id;
};

/* ---- objects (the header and the doorbell: mpsc_names.c) ----------------- */

/* An abstract socket with a name nobody can guess before reading "/name". */
static int listen_socket(ipk_mpsc *c, struct sockaddr_un *sa, socklen_t *salen)
{
	uint64_t rnd = 0;
	int n;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)ipk__now_ns() * 0x9e3779b97f4a7c15ull;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, IPK__MPSC_ADDR_MAX - 1, "ipk-mpsc-%d-%016llx", (int)getpid(),
		     (unsigned long long)rnd);
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	c->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lsock < 0)
		return ipk__neg_errno();
	if (bind(c->lsock, (struct sockaddr *)sa, *salen) < 0 || listen(c->lsock, SOMAXCONN) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_mpsc_create(const char *name, const struct ipk_mpsc_opts *opts, ipk_mpsc **ret)
{
	struct sockaddr_un sa;
	socklen_t salen;
	uint64_t start = 0, epoch;
	bool fresh = false;
	ipk_mpsc *c;
	void *map;
	int r;

	IPK_CHECK_ARG(ret && ipk__mpsc_check_name(name) == 0);
	IPK_CHECK_ARG(!opts || !(opts->flags & ~(IPK_MPSC_EXCL | IPK_MPSC_KEEP | IPK_MPSC_SPIN)));
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = c->door_fd = c->lsock = c->poll.efd = -1;
	c->flags = opts ? opts->flags : 0;
	c->mode = opts && opts->mode ? opts->mode & 0777 : 0600;
	c->spin_ns = opts && opts->spin_ns > 0 ? opts->spin_ns : 0;
	c->next_id = 1;
	memcpy(c->name, name, strlen(name) + 1);
	ipk__mpsc_door_name(name, c->door_name);

	r = ipk__mpsc_open_header(c->name, c->mode, c->flags & IPK_MPSC_EXCL, &c->fd, &c->id,
				  &fresh);
	if (r < 0)
		goto fail;
	map = mmap(NULL, IPK__MPSC_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (map == MAP_FAILED)
		goto fail_errno;
	c->hdr = map;
	/* Relaxed: we hold the lock; no one else writes it. One its
	 * creator never finished (magic 0) is new to us as well. */
	if (!fresh && atomic_load_explicit(&c->hdr->magic, memory_order_relaxed) == 0)
		fresh = true;
	if (!fresh && c->hdr->version != IPK__MPSC_VERSION) {
		r = -EPROTO;
		goto fail;
	}
	if (fchmod(c->fd, c->mode) < 0)
		goto fail_errno;
	r = ipk__mpsc_open_door(c->door_name, c->mode, fresh, &c->door_fd, &c->door_id);
	if (r < 0)
		goto fail;
	map = mmap(NULL, IPK__MPSC_DOOR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->door_fd, 0);
	if (map == MAP_FAILED)
		goto fail_errno;
	c->door = map;
	if (fchmod(c->door_fd, c->mode) < 0)
		goto fail_errno;
	/* Relaxed: producers check it only to refuse a wrong object. */
	atomic_store_explicit(&c->door->magic, IPK__MPSC_DOOR_MAGIC, memory_order_relaxed);
	c->door->version = IPK__MPSC_VERSION;
	/* Relaxed: only compared with, for "look at the socket now". */
	c->joins_seen = atomic_load_explicit(&c->door->joins, memory_order_relaxed);
	r = listen_socket(c, &sa, &salen);
	if (r < 0)
		goto fail;

	/* A takeover stores its epoch first, then the header's line 1: a
	 * producer reads epoch, the fields, and epoch again after an acquire
	 * fence (mpsc_prod.c hello()). The fence pairs with the release
	 * fence here: a producer that read our pid or address reads our
	 * epoch after them, never the dead consumer's, so it cannot register
	 * with us under the old epoch (and register again at its next look).
	 * One that read our epoch with the dead one's fields fails to
	 * connect or to match the pid, and looks again later. A new header
	 * is published by magic, stored last with release. */
	if (!fresh) {
		epoch = atomic_load_explicit(&c->hdr->epoch, memory_order_relaxed);
		atomic_store_explicit(&c->hdr->epoch, epoch + 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_release);
	}
	(void)ipk__proc_start_time(getpid(), &start);
	atomic_store_explicit(&c->hdr->pid, (int32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&c->hdr->start, start, memory_order_relaxed);
	c->hdr->addr_len = (uint32_t)(salen - offsetof(struct sockaddr_un, sun_path));
	memcpy(c->hdr->addr, sa.sun_path, c->hdr->addr_len);
	if (fresh) {
		atomic_store_explicit(&c->hdr->state, IPK__MPSC_STATE_LIVE, memory_order_relaxed);
		c->hdr->version = IPK__MPSC_VERSION;
		atomic_store_explicit(&c->hdr->epoch, 1, memory_order_relaxed);
		atomic_store_explicit(&c->hdr->magic, IPK__MPSC_MAGIC, memory_order_release);
	} else {
		/* Release: pairs with the producer's acquire load of state. */
		atomic_store_explicit(&c->hdr->state, IPK__MPSC_STATE_LIVE, memory_order_release);
	}
	c->published = true;
	c->st.epoch = atomic_load_explicit(&c->hdr->epoch, memory_order_relaxed);
	/* Producers that slept on the door for a consumer: look now. */
	atomic_fetch_add_explicit(&c->door->futex, 1, memory_order_release);
	ipk__mpsc_futex_wake(&c->door->futex);
	*ret = c;
	return 0;

fail_errno:
	r = ipk__neg_errno();
fail:
	/* What we made goes; a dead consumer's objects (its producers hand
	 * their lanes to whoever takes them over) and anything that is not
	 * ours stay. */
	c->flags &= ~IPK_MPSC_KEEP;
	if (!fresh)
		c->id.ino = c->door_id.ino = 0;
	ipk_mpsc_close(c);
	return r;
}

/* ---- producers: admission and departure ---------------------------------- */

static void forget_lane(struct lane *l)
{
	if (l->hdr)
		(void)munmap(l->hdr, l->map_size);
	if (l->sock >= 0)
		ipk__close(l->sock);
	free(l);
}

/* May this peer produce? See "Who may connect" in mpsc.h. */
static bool allowed(const ipk_mpsc *c, const struct ucred *cr)
{
	if (cr->uid == geteuid() || cr->uid == 0)
		return true;
	if ((c->mode & S_IWGRP) && cr->gid == getegid())
		return true;
	return (c->mode & S_IWOTH) != 0;
}

/*
 * Map and check a lane a producer handed us: a memfd sealed against
 * shrinking and growing (so no page of it can vanish under us), of the
 * size its header says, with sane sizes. Return: 0; -EPROTO.
 */
static int map_lane(struct lane *l, int fd)
{
	struct stat st;
	uint64_t cap, max_msg;
	int seals = fcntl(fd, F_GET_SEALS);
	void *map;

	if (seals < 0 || !(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW) || fstat(fd, &st) < 0 ||
	    st.st_size < (off_t)(IPK__MPSC_LANE_HDR + IPK__MPSC_MIN_CAP) ||
	    (uint64_t)st.st_size > IPK__MPSC_LANE_HDR + IPK__MPSC_MAX_CAP)
		return -EPROTO;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -EPROTO;
	l->hdr = map;
	l->map_size = (size_t)st.st_size;
	/* Copied out once: the producer may change them later, we do not
	 * look again. Acquire: pairs with the producer's release store of
	 * magic after it set the lane up. */
	if (atomic_load_explicit(&l->hdr->magic, memory_order_acquire) != IPK__MPSC_LANE_MAGIC ||
	    l->hdr->version != IPK__MPSC_VERSION)
		return -EPROTO;
	cap = l->hdr->capacity;
	max_msg = l->hdr->max_msg;
	if (cap < IPK__MPSC_MIN_CAP || cap > IPK__MPSC_MAX_CAP || (cap & (cap - 1)) ||
	    l->map_size != IPK__MPSC_LANE_HDR + cap || max_msg == 0 || max_msg > cap / 4 - 16)
		return -EPROTO;
	l->cap = cap;
	l->mask = cap - 1;
	l->max_msg = max_msg;
	l->data = (unsigned char *)map + IPK__MPSC_LANE_HDR;
	/* Relaxed: where the last consumer stopped (ours to write; a value
	 * the producer made up only moves us within the lane). */
	l->pos = atomic_load_explicit(&l->hdr->pos, memory_order_relaxed) & ~(uint64_t)15;
	return 0;
}

static _Atomic uint64_t *seq_word(const struct lane *l, uint64_t pos)
{
	return (_Atomic uint64_t *)(l->data + (pos & l->mask) + 8);
}

static _Atomic uint64_t *word0(const struct lane *l, uint64_t pos)
{
	return (_Atomic uint64_t *)(l->data + (pos & l->mask));
}

static void answer(int sock, uint32_t yes, uint32_t id)
{
	struct ipk__mpsc_reply rep = { .answer = yes, .producer = id };

	(void)send(sock, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int add_lane(ipk_mpsc *c, struct lane *l)
{
	if (c->n == c->lanes_cap) {
		size_t cap = c->lanes_cap ? c->lanes_cap * 2 : 16;
		struct lane **v = realloc(c->lanes, cap * sizeof(*v));
		struct pollfd *p;

		if (!v)
			return -ENOMEM;
		c->lanes = v;
		p = realloc(c->pfds, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->pfds = p;
		c->lanes_cap = cap;
	}
	c->lanes[c->n++] = l;
	return 0;
}

/*
 * Read the hello on an accepted connection @sock and admit or refuse its
 * producer. Return: 0 (not there yet: keep @sock pending); 1 (done with
 * @sock: admitted, refused or gone).
 */
static int take_hello(ipk_mpsc *c, int sock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(HELLO_FDS * sizeof(int))];
	} ctl;
	struct ipk__mpsc_hello hello;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct cmsghdr *cm;
	struct lane *l = NULL;
	int lane_fd = -1;
	int nfds = 0;
	uint64_t w;
	ssize_t n;

	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* Every descriptor that came is ours to close, whatever else came
	 * with it: keep the first, close the rest. */
	for (cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				lane_fd = fd;
			else
				ipk__close(fd);
		}
	}
	if (n <= 0) {
		if (lane_fd >= 0)
			ipk__close(lane_fd);
		if (nfds == 0) {
			ipk__close(sock); /* gone before it said hello */
			return 1;
		}
		lane_fd = -1;
		goto refuse;
	}
	if (n != (ssize_t)sizeof(hello) || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || nfds != 1 ||
	    hello.magic != IPK__MPSC_HELLO_MAGIC || hello.version != IPK__MPSC_VERSION ||
	    getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 || !allowed(c, &cr))
		goto refuse;
	l = calloc(1, sizeof(*l));
	if (!l)
		goto refuse;
	l->sock = -1;
	if (map_lane(l, lane_fd) < 0)
		goto refuse;
	ipk__close(lane_fd); /* the mapping keeps the memory */
	lane_fd = -1;
	/* Acquire: as A (mpsc_layout.h). A committed record here gives the
	 * seq to expect; otherwise the producer's word does. */
	w = atomic_load_explicit(seq_word(l, l->pos), memory_order_acquire);

	l->next_seq = w != IPK__MPSC_NONE ? w : hello.next_seq;
	l->from = (struct ipk_mpsc_from){
		.pid = cr.pid, .uid = cr.uid, .gid = cr.gid, .producer = c->next_id
	};
	l->sock = sock;
	if (add_lane(c, l) < 0)
		goto refuse;
	answer(sock, IPK__MPSC_YES, c->next_id++);
	c->st.joined++;
	return 1;

refuse:
	answer(sock, IPK__MPSC_NO, 0);
	if (l) {
		l->sock = -1;
		forget_lane(l);
	}
	if (lane_fd >= 0)
		ipk__close(lane_fd);
	ipk__close(sock);
	c->st.refused++;
	return 1;
}

/*
 * Refuse @sock without taking anything it sent: read with no room for
 * descriptors (the kernel closes any that came) so that it gets our answer
 * rather than a reset for unread data.
 */
static void refuse_unread(ipk_mpsc *c, int sock)
{
	struct ipk__mpsc_hello hello;

	for (int i = 0; i < 4 && recv(sock, &hello, sizeof(hello), MSG_DONTWAIT) > 0; i++)
		;
	answer(sock, IPK__MPSC_NO, 0);
	ipk__close(sock);
	c->st.refused++;
}

/*
 * Accept whoever is connecting, and read the hellos that are there. Whom
 * we would refuse anyway goes before it can hand us anything; of the rest
 * at most MAX_PENDING wait for their hello (more wait in the backlog,
 * where what they send costs us nothing), none longer than PENDING_NS:
 * anyone may connect, and each costs us a descriptor.
 */
static void admit(ipk_mpsc *c)
{
	int64_t now = ipk__now_ns();
	bool more = true;

	while (more) {
		size_t was;

		while (c->npending < MAX_PENDING) {
			int s = accept4(c->lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			struct ucred cr;
			socklen_t crlen = sizeof(cr);

			if (s < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				more = false; /* EAGAIN; EMFILE: it waits in the backlog */
				break;
			}
			if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
			    !allowed(c, &cr)) {
				refuse_unread(c, s);
				continue;
			}
			if (c->npending == c->pending_cap) {
				size_t cap = c->pending_cap ? c->pending_cap * 2 : 8;
				struct pending *v = realloc(c->pending, cap * sizeof(*v));

				if (!v) {
					ipk__close(s);
					more = false;
					break;
				}
				c->pending = v;
				c->pending_cap = cap;
			}
			c->pending[c->npending++] = (struct pending){ .sock = s, .since = now };
		}
		was = c->npending;
		for (size_t i = 0; i < c->npending;) {
			struct pending *p = &c->pending[i];
			bool done = take_hello(c, p->sock);

			if (!done && now - p->since > PENDING_NS) {
				refuse_unread(c, p->sock);
				done = true;
			}
			if (done)
				c->pending[i] = c->pending[--c->npending];
			else
				i++;
		}
		if (c->npending == was)
			break; /* all still silent: the backlog waits for them */
	}
}

/* Drop lane @i (its producer left or broke it). */
static void retire(ipk_mpsc *c, size_t i)
{
	struct lane *l = c->lanes[i];

	if (l->broken) {
		c->st.broken++;
	} else {
		/* Acquire: pairs with nothing in particular - the producer
		 * is gone; its stores reached us with the hang-up. A claim
		 * past the last record we took is a record it began and
		 * never committed: one at most (it writes one at a time). */
		uint64_t claim = atomic_load_explicit(&l->hdr->claim, memory_order_acquire);

		if (claim > l->next_seq)
			c->st.skipped++;
		c->st.left++;
	}
	if (c->unacked == l)
		c->unacked = NULL;
	forget_lane(l);
	c->lanes[i] = c->lanes[--c->n];
	if (c->cursor >= c->n)
		c->cursor = 0;
	c->burst = 0;
}

/*
 * Every LIVENESS_NS while receiving: admit, and notice producers whose
 * connection hung up (closed, or died: the kernel closes it either way);
 * forget those whose lanes hold nothing more.
 */
static void check(ipk_mpsc *c, int64_t now)
{
	c->next_check_ns = now + LIVENESS_NS;
	admit(c);
	for (size_t i = 0; i < c->n; i++)
		c->pfds[i] =
			(struct pollfd){ .fd = c->lanes[i]->sock, .events = POLLIN | POLLRDHUP };
	if (c->n && poll(c->pfds, c->n, 0) > 0) {
		/* Anything at all on a connection after the hello is its end
		 * (or a producer that does not follow the protocol). */
		for (size_t i = 0; i < c->n; i++)
			if (c->pfds[i].revents)
				c->lanes[i]->gone = true;
	}
	for (size_t i = c->n; i-- > 0;) {
		struct lane *l = c->lanes[i];

		/* Acquire: as A; the hang-up came after its last commit. */
		if (l->broken ||
		    (l->gone && atomic_load_explicit(seq_word(l, l->pos), memory_order_acquire) ==
					IPK__MPSC_NONE))
			retire(c, i);
	}
}

/* ---- receiving ----------------------------------------------------------- */

static void wake_room(struct lane *l)
{
	/* Only one of us and a producer that stopped waiting clears it. */
	if (atomic_exchange_explicit(&l->hdr->waiting, 0, memory_order_relaxed)) {
		/* Release: pairs with the producer's acquire load of room;
		 * it then sees our store of pos too. */
		atomic_fetch_add_explicit(&l->hdr->room, 1, memory_order_release);
		ipk__mpsc_futex_wake(&l->hdr->room);
	}
}

/*
 * The next message of lane @l into @buf. Return: its length; -EAGAIN (the
 * lane holds nothing committed); -EMSGSIZE.
 */
static ssize_t take_from(ipk_mpsc *c, struct lane *l, void *buf, size_t len,
			 struct ipk_mpsc_from *from)
{
	for (int pads = 0;; pads++) {
		uint64_t off = l->pos & l->mask;
		/* Acquire: A, pairs with the producer's commit C. */
		uint64_t seq = atomic_load_explicit(seq_word(l, l->pos), memory_order_acquire);
		uint64_t w0, rlen, need;

		if (seq == IPK__MPSC_NONE) {
			if (!l->fenced) {
				/* The room pair's store-load fence (mpsc_layout.h):
				 * our pos before its waiting flag. */
				atomic_thread_fence(memory_order_seq_cst);
				l->fenced = true;
				wake_room(l);
			}
			return -EAGAIN;
		}
		/* Relaxed: ordered by the acquire load above. */
		w0 = atomic_load_explicit(word0(l, l->pos), memory_order_relaxed);
		rlen = (uint32_t)w0;
		if ((w0 >> 32) == IPK__MPSC_KIND_PAD && off != 0 && pads == 0) {
			l->pos += l->cap - off;
			/* Release: P; the producer may reuse the PAD's bytes. */
			atomic_store_explicit(&l->hdr->pos, l->pos, memory_order_release);
			continue;
		}
		need = ipk__mpsc_rec_size(rlen);
		if ((w0 >> 32) != IPK__MPSC_KIND_MSG || rlen > l->max_msg || off + need > l->cap) {
			l->broken = true;
			c->next_check_ns = 0; /* forget it at once */
			return -EAGAIN;
		}
		if (rlen > len) {
			c->msg_len = (size_t)rlen;
			return -EMSGSIZE;
		}
		memcpy(buf, l->data + off + IPK__MPSC_REC_HDR, (size_t)rlen);
		l->pos += need;
		l->next_seq = seq + 1;
		l->fenced = false;
		/* Stored when the caller asks for the next one (ack()): a
		 * consumer killed while it handles this message gets it again
		 * after a restart instead of losing it. */
		c->unacked = l;
		if (from) {
			*from = l->from;
			from->seq = seq;
		}
		c->st.delivered++;
		return (ssize_t)rlen;
	}
}

/* The message returned last is done with: its bytes may be reused. */
static void ack(ipk_mpsc *c)
{
	struct lane *l = c->unacked;

	c->unacked = NULL;
	/* Release: P, pairs with the producer's acquire load of pos: the
	 * bytes we copied are reused only after this. */
	atomic_store_explicit(&l->hdr->pos, l->pos, memory_order_release);
	/* Relaxed: a look that misses a producer on its way to sleep is made
	 * good by the fence when the lane is found empty, or by its sleep
	 * slice. */
	if (atomic_load_explicit(&l->hdr->waiting, memory_order_relaxed))
		wake_room(l);
}

/* One message from the lanes in turn, up to BURST from one. */
static ssize_t take(ipk_mpsc *c, void *buf, size_t len, struct ipk_mpsc_from *from)
{
	/* Relaxed: a hint to accept now; the socket itself is the truth. */
	uint32_t j = atomic_load_explicit(&c->door->joins, memory_order_relaxed);

	if (j != c->joins_seen) {
		c->joins_seen = j;
		admit(c);
	}
	for (size_t k = 0; k < c->n; k++) {
		ssize_t r = take_from(c, c->lanes[c->cursor], buf, len, from);

		if (r >= 0) {
			if (++c->burst >= BURST) {
				c->burst = 0;
				c->cursor = c->cursor + 1 < c->n ? c->cursor + 1 : 0;
			}
			return r;
		}
		if (r == -EMSGSIZE)
			return r;
		c->burst = 0;
		c->cursor = c->cursor + 1 < c->n ? c->cursor + 1 : 0;
	}
	return -EAGAIN;
}

/* Is anything to do: a committed record in a lane, or a producer joining? */
static bool ready(const ipk_mpsc *c)
{
	/* Relaxed: a hint; take() loads them again. */
	if (atomic_load_explicit(&c->door->joins, memory_order_relaxed) != c->joins_seen)
		return true;
	for (size_t i = 0; i < c->n; i++) {
		const struct lane *l = c->lanes[i];

		/* Acquire: as A (the doorbell pair: after the fence). */
		if (atomic_load_explicit(seq_word(l, l->pos), memory_order_acquire) !=
		    IPK__MPSC_NONE)
			return true;
	}
	return false;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Receiving again: the helper stops watching, we stop being "asleep". */
static void rest(ipk_mpsc *c)
{
	ipk__mpsc_poll_rest(&c->poll);
	if (c->armed) {
		/* Relaxed: a producer that reads the stale 1 pays one wake-up. */
		atomic_store_explicit(&c->door->sleeping, 0, memory_order_relaxed);
		c->armed = false;
	}
}

/* Nothing to take: spin (until @spin_until, the receive's start plus
 * spin_ns; or for ever with IPK_MPSC_SPIN), or sleep on the doorbell,
 * until something may have come, a slice has passed, or @deadline_ns
 * (-ETIMEDOUT). */
static int wait_some(ipk_mpsc *c, int64_t now, int64_t deadline_ns, int64_t spin_until)
{
	int64_t until = c->flags & IPK_MPSC_SPIN   ? deadline_ns
			: spin_until < deadline_ns ? spin_until
						   : deadline_ns;

	if ((c->flags & IPK_MPSC_SPIN) || now < until) {
		int64_t slice = now + LIVENESS_NS < until ? now + LIVENESS_NS : until;

		for (;;) {
			for (int i = 0; i < SPIN_ROUND; i++) {
				if (ready(c))
					return 0;
				cpu_relax();
			}
			now = ipk__now_ns();
			if (now >= deadline_ns)
				return -ETIMEDOUT;
			if (now >= slice)
				break;
		}
		if (now < until || (c->flags & IPK_MPSC_SPIN))
			return 0; /* a liveness look, then spin on */
	}

	int64_t wake = deadline_ns - now > SLEEP_SLICE_NS ? now + SLEEP_SLICE_NS : deadline_ns;
	int rc = 0;

	/* The consumer's half of the doorbell pair (mpsc_layout.h). */
	atomic_store_explicit(&c->door->sleeping, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	/* Acquire: pairs with a producer's release increment. */
	uint32_t f = atomic_load_explicit(&c->door->futex, memory_order_acquire);

	if (!ready(c))
		rc = ipk__mpsc_futex_wait(&c->door->futex, f, wake);
	/* Relaxed: a producer that reads the stale 1 pays one FUTEX_WAKE. */
	atomic_store_explicit(&c->door->sleeping, 0, memory_order_relaxed);
	return rc == -ETIMEDOUT && wake == deadline_ns ? -ETIMEDOUT : 0;
}

/*
 * Nothing to take, and the caller will wait on ipk_mpsc_fd(): our half of
 * the doorbell pair, then the helper waits in our stead (mpsc_poll.c).
 * Return: true (armed); false (something came: receive it).
 */
static bool arm(ipk_mpsc *c)
{
	atomic_store_explicit(&c->door->sleeping, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	/* Acquire: pairs with a producer's release increment. */
	uint32_t f = atomic_load_explicit(&c->door->futex, memory_order_acquire);

	c->armed = true;
	if (ready(c)) {
		rest(c);
		return false;
	}
	ipk__mpsc_poll_arm(&c->poll, f);
	return true;
}

IPK_API ssize_t ipk_mpsc_recv(ipk_mpsc *c, void *buf, size_t len, struct ipk_mpsc_from *from,
			      int64_t timeout_ns)
{
	int64_t deadline, now, spin_until = 0;
	ssize_t r;

	IPK_CHECK_ARG(c && (buf || len == 0));
	if (c->unacked)
		ack(c);
	if (c->poll.started)
		rest(c);
	deadline = ipk__deadline(timeout_ns);
	for (;;) {
		r = take(c, buf, len, from);
		if (r != -EAGAIN) {
			/* Busy: look at the connections now and then all the same. */
			if (++c->calls % CHECK_EVERY == 0 &&
			    (now = ipk__now_ns()) >= c->next_check_ns)
				check(c, now);
			return r;
		}
		now = ipk__now_ns();
		if (now >= c->next_check_ns) {
			check(c, now);
			r = take(c, buf, len, from);
			if (r != -EAGAIN)
				return r;
		}
		if (deadline == IPK__NOWAIT || (deadline != IPK__NEVER && now >= deadline)) {
			if (c->poll.started && !arm(c))
				continue; /* something came after all */
			return deadline == IPK__NOWAIT ? -EAGAIN : -ETIMEDOUT;
		}
		if (c->spin_ns > 0 && spin_until == 0)
			spin_until = now + c->spin_ns; /* once per receive */
		r = wait_some(c, now, deadline, spin_until);
		if (r == -ETIMEDOUT && c->poll.started && !arm(c))
			continue;
		if (r < 0)
			return r;
	}
}

IPK_API int ipk_mpsc_fd(ipk_mpsc *c)
{
	int r;

	IPK_CHECK_ARG(c);
	if (!c->poll.started) {
		r = ipk__mpsc_poll_start(&c->poll, &c->door->futex);
		if (r < 0)
			return r;
	}
	return c->poll.efd;
}

IPK_API size_t ipk_mpsc_msg_len(const ipk_mpsc *c)
{
	return c ? c->msg_len : 0;
}

IPK_API int ipk_mpsc_stats(const ipk_mpsc *c, struct ipk_mpsc_stats *ret)
{
	IPK_CHECK_ARG(c && ret);
	*ret = c->st;
	ret->producers = c->n;
	return 0;
}

IPK_API void ipk_mpsc_close(ipk_mpsc *c)
{
	if (!c)
		return;
	if (c->unacked)
		ack(c);
	ipk__mpsc_poll_stop(&c->poll); /* before the door is unmapped */
	/* Only a header that names us is ours to mark: one we failed to take
	 * over still belongs to the dead consumer (its producers wait for a
	 * successor), one of another version to whoever made it. */
	if (c->published) {
		/* Release: pairs with the producers' acquire load of state. */
		atomic_store_explicit(&c->hdr->state, IPK__MPSC_STATE_CLOSED, memory_order_release);
		if (c->door) {
			/* Producers asleep for room look again and see it. */
			atomic_fetch_add_explicit(&c->door->futex, 1, memory_order_relaxed);
			ipk__mpsc_futex_wake(&c->door->futex);
		}
	}
	for (size_t i = 0; i < c->n; i++)
		forget_lane(c->lanes[i]);
	for (size_t i = 0; i < c->npending; i++)
		ipk__close(c->pending[i].sock);
	free(c->lanes);
	free(c->pfds);
	free(c->pending);
	if (c->lsock >= 0)
		ipk__close(c->lsock);
	/* Under our lock: no successor takes the names over meanwhile. */
	if (!(c->flags & IPK_MPSC_KEEP)) {
		if (c->id.ino)
			(void)ipk__shm_unlink(c->name, &c->id);
		if (c->door_id.ino)
			(void)ipk__shm_unlink(c->door_name, &c->door_id);
	}
	if (c->hdr)
		(void)munmap(c->hdr, IPK__MPSC_HDR_SIZE);
	if (c->door)
		(void)munmap(c->door, IPK__MPSC_DOOR_SIZE);
	if (c->door_fd >= 0)
		ipk__close(c->door_fd);
	if (c->fd >= 0)
		ipk__close(c->fd); /* the lock goes last */
	free(c);
}
