/* SPDX-License-Identifier: MIT */
/*
 * svc_client.c - the ipk_svc client: connecting (the handshake that hands
 * over the shared memory), calls and their slots, matching replies to
 * calls, waiting (spin, spin-then-sleep, the pollable descriptor), and
 * following the server through its death and restart. The server is
 * svc.c; the layout and the queues are in svc_internal.h.
 *
 * A call occupies a slot from its start until its reply is taken or, for a
 * cancelled call, until its reply arrives: the server echoes the slot's
 * number (the tag), and no slot is reused while the server may still
 * answer it. Replies to other calls than the one waited for are kept in
 * the slot's own buffer. The slot table outlives a connection: when the
 * connection breaks, its calls become failed slots whose error their
 * ipk_svc_call_wait() returns, and the next call connects again.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "sockets.h"
#include "svc_internal.h"

enum { SLOT_FREE = 0, SLOT_SENT, SLOT_DONE, SLOT_ABANDONED, SLOT_FAILED };

struct svc_slot {
	uint64_t n;   /* the call's number (its handle is n << 16 | tag) */
	uint32_t len; /* SLOT_DONE: the reply's length */
	int state;
	int err;              /* SLOT_FAILED: what the wait returns */
	size_t stash_cap;     /* bytes at stash */
	unsigned char *stash; /* SLOT_DONE: the reply */
};

struct ipk_svc_client {
	struct sockaddr_un sa;
	socklen_t salen;
	uint32_t flags;
	int64_t spin_ns;
	int epfd;    /* ipk_svc_client_fd(): efd and sock */
	int efd;     /* our doorbell, for the client's life */
	int sock;    /* -1 while disconnected */
	int srv_efd; /* the server's doorbell of this connection */
	const struct svc_page *page;
	struct svc_conn_hdr *hdr;
	size_t size;
	struct svc_q req, rep;
	uint32_t slots, max_msg; /* this connection's */
	bool armed;              /* hdr->cli_waiting is 1 */
	uint64_t calls;          /* calls started */
	uint32_t hint;           /* where to look for a free slot */
	int64_t next_look;       /* spinning: when to look at the socket */
	int64_t idle_look;       /* a call from then on looks first (coarse clock) */
	struct svc_slot slot[SVC_SLOTS_MAX];
};

/* The clock of the kernel's last tick (a few ns to read, a few ms
 * behind): enough to tell a client idle for a millisecond or more. */
static int64_t coarse_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * IPK_SEC + ts.tv_nsec;
}

static int64_t left_ns(int64_t deadline)
{
	int64_t left;

	if (deadline == IPK__NEVER)
		return IPK_FOREVER;
	if (deadline == IPK__NOWAIT)
		return 0;
	left = deadline - ipk__now_ns();
	return left > 0 ? left : 1; /* passed: one more try, not "forever" */
}

static void unmap(ipk_svc_client *c)
{
	if (c->hdr)
		(void)munmap(c->hdr, c->size);
	c->hdr = NULL;
	if (c->page)
		(void)munmap((void *)c->page, SVC_PAGE);
	c->page = NULL;
	if (c->sock >= 0) {
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		ipk__close(c->sock);
	}
	c->sock = -1;
	if (c->srv_efd >= 0)
		ipk__close(c->srv_efd);
	c->srv_efd = -1;
	c->armed = false;
}

static void slot_free(struct svc_slot *sl)
{
	sl->state = SLOT_FREE;
}

static void break_conn(ipk_svc_client *c, int err);

/* Keep the reply of a call nobody waits for right now. */
static int stash(ipk_svc_client *c, struct svc_slot *sl, uint32_t len)
{
	if (sl->stash_cap < len) {
		unsigned char *p = realloc(sl->stash, len);

		if (!p)
			return -ENOMEM;
		sl->stash = p;
		sl->stash_cap = len;
	}
	svc_copy_out(&c->rep, c->rep.pos, sl->stash, len);
	sl->len = len;
	sl->state = SLOT_DONE;
	return 0;
}

/*
 * Take every reply there is; the one for slot @want goes straight into
 * @buf if it fits. Return: its length; -EAGAIN (not among them).
 */
static ssize_t drain(ipk_svc_client *c, uint32_t want, void *buf, size_t cap)
{
	ssize_t got = -EAGAIN;
	uint32_t len, tag;
	int r;

	while (c->hdr && (r = svc_q_peek(&c->rep, &len, &tag)) != 0) {
		struct svc_slot *sl = &c->slot[tag < c->slots ? tag : 0];

		if (r < 0 || tag >= c->slots || len > c->max_msg ||
		    (sl->state != SLOT_SENT && sl->state != SLOT_ABANDONED)) {
			break_conn(c, -EPROTO);
			break;
		}
		if (sl->state == SLOT_ABANDONED) {
			slot_free(sl);
		} else if (tag == want && buf && len <= cap && got == -EAGAIN) {
			svc_copy_out(&c->rep, c->rep.pos, buf, len);
			slot_free(sl);
			got = len;
		} else if (stash(c, sl, len) < 0) {
			break; /* taken later, when memory allows */
		}
		svc_q_take(&c->rep, len);
	}
	return got;
}

/*
 * The connection is over (@err: -ECONNRESET, -EPIPE, -EPROTO): take the
 * replies committed before it ended, fail the calls still waiting.
 */
static void break_conn(ipk_svc_client *c, int err)
{
	if (!c->hdr)
		return;
	/* drain() calls us on a protocol error: no second drain then */
	if (err != -EPROTO)
		(void)drain(c, UINT32_MAX, NULL, 0);
	/* The failed calls are news for an event loop too. */
	svc_ring_efd(c->efd);
	for (uint32_t i = 0; i < SVC_SLOTS_MAX; i++) {
		if (c->slot[i].state == SLOT_SENT) {
			c->slot[i].state = SLOT_FAILED;
			c->slot[i].err = err;
		} else if (c->slot[i].state == SLOT_ABANDONED) {
			slot_free(&c->slot[i]);
		}
	}
	unmap(c);
}

/* Has the server gone? A clean close sends BYE first. Return: 0 (alive);
 * -EPIPE; -ECONNRESET. */
static int look_at_socket(ipk_svc_client *c)
{
	struct svc_wire w;
	ssize_t n;

	if (c->sock < 0)
		return -ECONNRESET;
	n = recv(c->sock, &w, sizeof(w), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == (ssize_t)sizeof(w) && !memcmp(w.magic, SVC_BYE_MAGIC, 8))
		return -EPIPE;
	return -ECONNRESET; /* EOF, an error, or bytes that are no BYE */
}

/* Most of a connection the client prefaults when it maps it. */
#define SVC_POPULATE_MAX ((uint64_t)4 << 20)

/* Is @fd a memfd sealed against shrinking and growing? */
static bool sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 &&
	       (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW);
}

/* Check the server's hello and map what it handed us (@fds: page,
 * connection, its doorbell; ours to close). */
static int adopt(ipk_svc_client *c, const struct svc_wire *w, int *fds)
{
	struct stat st;
	void *p;

	if (w->version != SVC_VERSION || w->slots == 0 || w->slots > SVC_SLOTS_MAX ||
	    w->max_msg == 0 || w->max_msg > SVC_MSG_MAX ||
	    w->cap != svc_cap(w->slots, w->max_msg) || w->size != svc_conn_size(w->cap))
		return -EPROTO;
	/* Both memfds sealed against resizing, or the server could shrink
	 * them under our mappings later (SIGBUS on our next access). */
	if (!sealed(fds[0]) || !sealed(fds[1]))
		return -EPROTO;
	if (fstat(fds[0], &st) < 0 || st.st_size < SVC_PAGE || fstat(fds[1], &st) < 0 ||
	    (uint64_t)st.st_size < w->size || !ipk__svc_is_eventfd(fds[2]))
		return -EPROTO;
	p = mmap(NULL, SVC_PAGE, PROT_READ, MAP_SHARED, fds[0], 0);
	if (p == MAP_FAILED)
		return ipk__neg_errno();
	c->page = p;
	/* Prefault small connections only: populating a large one would let
	 * the server make us commit memory it never touched itself. */
	p = mmap(NULL, w->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (w->size <= SVC_POPULATE_MAX ? MAP_POPULATE : 0), fds[1], 0);
	if (p == MAP_FAILED)
		return ipk__neg_errno();
	c->hdr = p;
	c->size = w->size;
	if (c->page->magic != SVC_PAGE_MAGIC || c->hdr->magic != SVC_CONN_MAGIC ||
	    c->hdr->slots != w->slots || c->hdr->max_msg != w->max_msg || c->hdr->cap != w->cap)
		return -EPROTO;
	c->slots = w->slots;
	c->max_msg = w->max_msg;
	svc_q_init(&c->req, (char *)p + SVC_PAGE, &c->hdr->req_tail, w->cap);
	svc_q_init(&c->rep, (char *)p + SVC_PAGE + w->cap, &c->hdr->rep_tail, w->cap);
	c->srv_efd = fds[2];
	fds[2] = -1;
	return ipk__fd_nonblock_cloexec(c->srv_efd);
}

static int connect_now(ipk_svc_client *c, int64_t deadline)
{
	struct svc_wire w, ack = { .magic = SVC_ACK_MAGIC, .version = SVC_VERSION };
	int fds[3] = { -1, -1, -1 }, fd, r;
	struct ipk_fdmsg m = { .fds = fds, .max_fds = 3 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = 1 };
	ssize_t n;

	r = ipk__sock_connect(AF_UNIX, SOCK_SEQPACKET, (struct sockaddr *)&c->sa, c->salen, false,
			      deadline, &fd);
	if (r == -EPROTOTYPE)
		return -EPROTO; /* a socket of another type */
	if (r < 0)
		return r;
	c->sock = fd;
	n = ipk_fd_recv(fd, &w, sizeof(w), &m, left_ns(deadline));
	if (n < 0) {
		r = n == -EPIPE                               ? -ECONNRESET
		    : n == -EAGAIN && deadline != IPK__NOWAIT ? -ETIMEDOUT
							      : (int)n;
		goto fail;
	}
	r = -EPROTO;
	if (n == 0) /* EOF on a SOCK_SEQPACKET socket: the server went away */
		r = -ECONNRESET;
	else if (n == (ssize_t)sizeof(w) && !memcmp(w.magic, SVC_DENY_MAGIC, 8))
		r = -EACCES;
	else if (n == (ssize_t)sizeof(w) && !memcmp(w.magic, SVC_HELLO_MAGIC, 8) && m.nfds == 3)
		r = adopt(c, &w, fds);
	if (r < 0)
		goto fail;
	r = ipk_fd_send(fd, &ack, sizeof(ack), &c->efd, 1, left_ns(deadline));
	if (r < 0)
		goto fail;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = ipk__neg_errno();
		goto fail;
	}
	for (int i = 0; i < 2; i++)
		ipk__close(fds[i]);
	return 0;

fail:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			ipk__close(fds[i]);
	unmap(c);
	return r == -EPIPE ? -ECONNRESET : r;
}

IPK_API int ipk_svc_connect(const char *name, const struct ipk_svc_client_opts *opts,
			    int64_t timeout_ns, ipk_svc_client **ret)
{
	int64_t deadline = ipk__deadline(timeout_ns);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	ipk_svc_client *c;
	int r;

	IPK_CHECK_ARG(name && ret);
	IPK_CHECK_ARG(!opts || (!(opts->flags & ~IPK_SVC_SPIN) && opts->spin_ns >= 0));
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->epfd = c->efd = c->sock = c->srv_efd = -1;
	if (opts) {
		c->flags = opts->flags;
		c->spin_ns = opts->spin_ns;
	}
	r = ipk__svc_addr(name, &c->sa, &c->salen);
	if (r < 0)
		goto fail;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->efd < 0 || c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->efd, &ev) < 0) {
		r = ipk__neg_errno();
		goto fail;
	}
	r = connect_now(c, deadline);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	ipk_svc_client_close(c);
	return r;
}

IPK_API void ipk_svc_client_close(ipk_svc_client *c)
{
	if (!c)
		return;
	unmap(c);
	if (c->efd >= 0)
		ipk__close(c->efd);
	if (c->epfd >= 0)
		ipk__close(c->epfd);
	for (uint32_t i = 0; i < SVC_SLOTS_MAX; i++)
		free(c->slot[i].stash);
	free(c);
}

IPK_API int ipk_svc_call_start(ipk_svc_client *c, const void *buf, size_t len, uint64_t *call,
			       int64_t timeout_ns)
{
	struct svc_slot *sl = NULL;
	uint32_t tag = 0;
	int r;

	IPK_CHECK_ARG(c && (buf || !len) && call);
	/* A server that went while we were idle: found before the request
	 * goes into its queue, so the call goes to its successor. At most
	 * one look per SVC_LIVENESS_NS: calls back to back make none. */
	if (c->hdr) {
		int64_t now = coarse_now_ns();

		if (now >= c->idle_look) {
			r = look_at_socket(c);
			if (r < 0)
				break_conn(c, r);
		}
		c->idle_look = now + SVC_LIVENESS_NS;
	}
	if (!c->hdr) {
		r = connect_now(c, ipk__deadline(timeout_ns));
		if (r < 0)
			return r;
	}
	if (len > c->max_msg)
		return -EMSGSIZE;
	for (uint32_t i = 0; i < c->slots; i++) {
		tag = (c->hint + i) % c->slots;
		if (c->slot[tag].state == SLOT_FREE) {
			sl = &c->slot[tag];
			break;
		}
	}
	if (!sl) {
		/* Replies not taken yet may free a cancelled call's slot. */
		(void)drain(c, UINT32_MAX, NULL, 0);
		if (!c->hdr)
			return -EPROTO; /* the server broke the protocol */
		for (uint32_t i = 0; i < c->slots && !sl; i++)
			if (c->slot[i].state == SLOT_FREE)
				sl = &c->slot[tag = i];
		if (!sl)
			return -EBUSY;
	}
	if (svc_q_put(&c->req, tag, buf, len) < 0) {
		break_conn(c, -EPROTO); /* the server does not take requests */
		return -EPROTO;
	}
	c->hint = tag + 1;
	sl->n = ++c->calls;
	sl->state = SLOT_SENT;
	*call = sl->n << 16 | tag;
	/* seq_cst fence: the commit (a store) before the load of sleeping;
	 * pairs with the fence after the server's store of it (svc.c: arm()). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&c->page->sleeping, memory_order_relaxed))
		svc_ring_efd(c->srv_efd);
	return 0;
}

static struct svc_slot *find(ipk_svc_client *c, uint64_t call)
{
	uint32_t tag = (uint32_t)call & 0xffff;
	struct svc_slot *sl = tag < SVC_SLOTS_MAX ? &c->slot[tag] : NULL;

	if (!sl || sl->n != call >> 16 || sl->state == SLOT_FREE || sl->state == SLOT_ABANDONED)
		return NULL;
	return sl;
}

static void set_waiting(ipk_svc_client *c, bool on)
{
	if (c->armed == on || !c->hdr)
		return;
	c->armed = on;
	/* seq_cst, with the fence after it in the wait: the store of the
	 * store-load pair whose load is our look at the reply queue; the
	 * server's pair is its commit and its load (svc.c: ipk_svc_reply()). */
	atomic_store_explicit(&c->hdr->cli_waiting, on, memory_order_seq_cst);
}

/* The reply of @sl, if it is there. Return: its length; -EMSGSIZE; the
 * call's error; -EAGAIN (still waiting). */
static ssize_t collect(ipk_svc_client *c, struct svc_slot *sl, void *buf, size_t cap)
{
	ssize_t r;

	if (sl->state == SLOT_SENT) {
		r = drain(c, (uint32_t)(sl - c->slot), buf, cap);
		if (r >= 0)
			return r;
	}
	if (sl->state == SLOT_DONE) {
		if (sl->len > cap)
			return -EMSGSIZE;
		memcpy(buf, sl->stash, sl->len);
		slot_free(sl);
		return sl->len;
	}
	if (sl->state == SLOT_FAILED) {
		slot_free(sl);
		return sl->err;
	}
	return -EAGAIN;
}

/* Spin until a reply is committed, @until passes or the socket says the
 * server is gone. */
static void spin(ipk_svc_client *c, int64_t until)
{
	for (;;) {
		for (int i = 0; i < SVC_SPIN_ROUND; i++) {
			if (svc_q_ready(&c->rep))
				return;
			svc_cpu_relax();
		}
		int64_t now = ipk__now_ns();

		if (now >= c->next_look) {
			int r = look_at_socket(c);

			c->next_look = now + SVC_LIVENESS_NS;
			if (r < 0) {
				break_conn(c, r);
				return;
			}
		}
		if (now >= until)
			return;
	}
}

IPK_API ssize_t ipk_svc_call_wait(ipk_svc_client *c, uint64_t call, void *buf, size_t cap,
				  int64_t timeout_ns)
{
	int64_t deadline, now;
	struct svc_slot *sl;
	ssize_t r;

	IPK_CHECK_ARG(c && (buf || !cap));
	sl = find(c, call);
	if (!sl)
		return -ENOENT;
	r = collect(c, sl, buf, cap);
	/* A spinner's first round costs no clock read: the reply of a
	 * busy server comes within it. */
	if (r == -EAGAIN && c->hdr && timeout_ns != 0 &&
	    ((c->flags & IPK_SVC_SPIN) || c->spin_ns > 0)) {
		for (int i = 0; i < SVC_SPIN_ROUND && !svc_q_ready(&c->rep); i++)
			svc_cpu_relax();
		r = collect(c, sl, buf, cap);
	}
	if (r != -EAGAIN) {
		set_waiting(c, false);
		return r;
	}
	deadline = ipk__deadline(timeout_ns);
	for (;;) {
		r = collect(c, sl, buf, cap);
		if (r != -EAGAIN) {
			set_waiting(c, false);
			return r;
		}
		if (!c->hdr)
			continue; /* broke meanwhile: the slot has failed */
		now = ipk__now_ns();
		if (deadline != IPK__NOWAIT && now >= deadline)
			return -ETIMEDOUT;
		if (deadline != IPK__NOWAIT && ((c->flags & IPK_SVC_SPIN) || c->spin_ns > 0)) {
			int64_t until = (c->flags & IPK_SVC_SPIN) || c->spin_ns > deadline - now
						? deadline
						: now + c->spin_ns;

			set_waiting(c, false);
			spin(c, until);
			if (!c->hdr || svc_q_ready(&c->rep))
				continue;
			if (ipk__now_ns() >= deadline)
				return -ETIMEDOUT;
		}
		/* Clear the doorbell first (a ring after this is for a reply
		 * we have not seen), then say we may sleep, then look once
		 * more (Dekker): the descriptor is readable only for news. */
		if (deadline == IPK__NOWAIT) {
			uint64_t v;

			(void)ipk__read_eintr(c->efd, &v, sizeof(v));
		}
		set_waiting(c, true);
		atomic_thread_fence(memory_order_seq_cst);
		r = collect(c, sl, buf, cap);
		if (r != -EAGAIN) {
			set_waiting(c, false);
			return r;
		}
		r = look_at_socket(c);
		if (r < 0) {
			break_conn(c, (int)r);
			continue;
		}
		if (deadline == IPK__NOWAIT)
			return -EAGAIN;

		struct epoll_event ev[2];
		int64_t left = deadline == IPK__NEVER
				       ? -1
				       : (deadline - ipk__now_ns() + IPK_MSEC - 1) / IPK_MSEC;
		int n = epoll_wait(c->epfd, ev, 2, left > INT32_MAX ? INT32_MAX : (int)left);
		uint64_t v;

		if (n < 0 && errno != EINTR)
			return ipk__neg_errno();
		for (int i = 0; i < n; i++)
			if (ev[i].data.u64 == 0)
				(void)ipk__read_eintr(c->efd, &v, sizeof(v));
		/* the socket's events: look_at_socket() in the next round */
	}
}

IPK_API int ipk_svc_call_cancel(ipk_svc_client *c, uint64_t call)
{
	struct svc_slot *sl;

	IPK_CHECK_ARG(c);
	sl = find(c, call);
	if (!sl)
		return -ENOENT;
	sl->state = sl->state == SLOT_SENT ? SLOT_ABANDONED : SLOT_FREE;
	return 0;
}

IPK_API ssize_t ipk_svc_call(ipk_svc_client *c, const void *req, size_t len, void *rep, size_t cap,
			     int64_t timeout_ns)
{
	int64_t deadline = ipk__deadline(timeout_ns);
	uint64_t call;
	ssize_t r;

	r = ipk_svc_call_start(c, req, len, &call, timeout_ns);
	if (r < 0)
		return r;
	r = ipk_svc_call_wait(c, call, rep, cap, left_ns(deadline));
	if (r == -ETIMEDOUT || r == -EAGAIN || r == -EMSGSIZE)
		(void)ipk_svc_call_cancel(c, call);
	return r;
}

IPK_API int ipk_svc_client_fd(const ipk_svc_client *c)
{
	return c ? c->epfd : -EINVAL;
}

IPK_API size_t ipk_svc_max_msg(const ipk_svc_client *c)
{
	return c && c->hdr ? c->max_msg : 0;
}
