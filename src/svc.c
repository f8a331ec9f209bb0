/* SPDX-License-Identifier: MIT */
/*
 * svc.c - the ipk_svc server: the listening socket, each client's
 * connection (handshake, shared memory, doorbells, death), taking requests
 * in turn from every client, and replies. The client is svc_client.c; the
 * shared layout and the queues are in svc_internal.h, the socket file in
 * svc_name.c.
 *
 * One epoll descriptor holds the listener, every client's socket (its
 * hang-up is the client's death) and every client's doorbell eventfd; it
 * is ipk_svc_fd(), and the server sleeps in it. Requests themselves are
 * found by looking at the queues, which costs no system call: events are
 * collected only when the queues are empty, and every SVC_LIVENESS_NS
 * while spinning.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "shmname.h"
#include "sockets.h"
#include "svc_internal.h"

#define DEFAULT_MAX_MSG 4096u
#define DEFAULT_SLOTS 16u
#define BACKLOG 128
#define EVENTS_MAX 32
#define CONNS_MAX (1u << 24)      /* an id has 24 bits for the connection */
#define ACK_NS IPK_SEC            /* a peer's time from our hello to its ACK */
#define SWEEP_NS (100 * IPK_MSEC) /* how often un-ACKed peers are looked at */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { EV_LISTEN = 0, EV_SOCK = 1, EV_BELL = 2 };

struct svc_conn {
	int sock;       /* connected SOCK_SEQPACKET socket */
	int efd;        /* our doorbell: the client writes it when we sleep */
	int cli_efd;    /* the client's doorbell (-1 until its ACK came) */
	bool active;    /* the ACK came: the queues are in use */
	int64_t ack_by; /* until the ACK came: when the peer is dropped */
	struct svc_conn_hdr *hdr;
	size_t size;
	struct svc_q req, rep;
	struct ipk_cred cred;
	uint64_t pending[]; /* one bit per slot: received, not yet answered */
};

struct ipk_svc {
	int lfd, epfd, page_fd;
	struct svc_page *page;
	struct ipk__ownfile file;
	struct ipk__access *access;
	uint32_t slots, max_msg, flags;
	int64_t spin_ns;
	uint64_t cap, conn_size;
	struct svc_conn **conns; /* by index; NULL: free */
	uint32_t *gens;          /* each index's generation (ids of dropped ones fail) */
	uint32_t n, nlive;       /* array length, connections */
	uint32_t nhello;         /* connections whose ACK has not come */
	int64_t sweep_at;        /* when un-ACKed ones are next looked at */
	uint32_t next;           /* where the next scan starts (clients in turn) */
	bool armed;              /* page->sleeping is 1 */
	unsigned quiet;          /* receives since events were last collected */
};

static uint64_t ev_data(uint32_t kind, uint32_t idx, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)idx << 2 | kind;
}

static void drop(ipk_svc *s, uint32_t idx)
{
	struct svc_conn *c = s->conns[idx];

	if (!c)
		return;
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->sock, NULL);
	if (c->efd >= 0)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->efd, NULL);
	ipk__close(c->sock);
	if (c->efd >= 0)
		ipk__close(c->efd);
	if (c->cli_efd >= 0)
		ipk__close(c->cli_efd);
	if (c->hdr)
		(void)munmap(c->hdr, c->size);
	if (!c->active)
		s->nhello--;
	free(c);
	s->conns[idx] = NULL;
	s->gens[idx]++;
	s->nlive--;
}

static int free_index(ipk_svc *s, uint32_t *ret)
{
	uint32_t i, n;

	for (i = 0; i < s->n; i++)
		if (!s->conns[i]) {
			*ret = i;
			return 0;
		}
	if (s->n >= CONNS_MAX)
		return -EMFILE;
	n = s->n ? s->n * 2 : 16;
	struct svc_conn **conns = realloc(s->conns, n * sizeof(*conns));
	if (!conns)
		return -ENOMEM;
	s->conns = conns;
	uint32_t *gens = realloc(s->gens, n * sizeof(*gens));
	if (!gens)
		return -ENOMEM;
	s->gens = gens;
	for (i = s->n; i < n; i++) {
		s->conns[i] = NULL;
		s->gens[i] = 0;
	}
	*ret = s->n;
	s->n = n;
	return 0;
}

/* The connection's memfd: header, two queues, sealed against resizing.
 * Not populated yet: a peer costs its memory once its ACK came. */
static int conn_memory(ipk_svc *s, struct svc_conn *c, int *ret_fd)
{
	int fd = ipk__shm_memfd("ipk-svc-conn", s->conn_size), r;
	void *base;

	if (fd < 0)
		return fd;
	base = mmap(NULL, s->conn_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto fail_errno;
	c->hdr = base;
	c->size = s->conn_size;
	c->hdr->magic = SVC_CONN_MAGIC;
	c->hdr->version = SVC_VERSION;
	c->hdr->slots = s->slots;
	c->hdr->max_msg = s->max_msg;
	c->hdr->cap = s->cap;
	c->hdr->req_off = SVC_PAGE;
	c->hdr->rep_off = SVC_PAGE + s->cap;
	svc_q_init(&c->req, (char *)base + SVC_PAGE, &c->hdr->req_tail, s->cap);
	svc_q_init(&c->rep, (char *)base + SVC_PAGE + s->cap, &c->hdr->rep_tail, s->cap);
	/* A client that shrank the file would kill us with SIGBUS. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail_errno;
	*ret_fd = fd;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	ipk__close(fd);
	return r;
}

static int epoll_add(ipk_svc *s, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? ipk__neg_errno() : 0;
}

/* A peer that connected and passed the policy (@fd is ours either way). */
static int conn_new(ipk_svc *s, int fd)
{
	struct svc_wire w = { .magic = SVC_HELLO_MAGIC };
	struct svc_conn *c;
	uint32_t idx;
	int memfd = -1, fds[3], r;

	c = calloc(1, sizeof(*c) + (s->slots + 63) / 64 * sizeof(uint64_t));
	if (!c) {
		ipk__close(fd);
		return -ENOMEM;
	}
	c->sock = fd;
	c->efd = c->cli_efd = -1;
	r = free_index(s, &idx);
	if (r < 0)
		goto fail;
	s->conns[idx] = c;
	s->nlive++;
	s->nhello++;
	c->ack_by = ipk__now_ns() + ACK_NS;
	r = ipk_peer_cred(fd, &c->cred);
	if (r < 0)
		goto fail_drop;
	r = conn_memory(s, c, &memfd);
	if (r < 0)
		goto fail_drop;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0) {
		r = ipk__neg_errno();
		goto fail_drop;
	}
	w.version = SVC_VERSION;
	w.slots = s->slots;
	w.max_msg = s->max_msg;
	w.cap = s->cap;
	w.size = s->conn_size;
	fds[0] = s->page_fd;
	fds[1] = memfd;
	fds[2] = c->efd;
	/* Never waits: a new socket's buffer has room for one message. */
	r = ipk_fd_send(fd, &w, sizeof(w), fds, 3, 0);
	ipk__close(memfd);
	if (r < 0)
		goto fail_drop;
	r = epoll_add(s, fd, EPOLLIN | EPOLLRDHUP, ev_data(EV_SOCK, idx, s->gens[idx]));
	if (r == 0)
		r = epoll_add(s, c->efd, EPOLLIN, ev_data(EV_BELL, idx, s->gens[idx]));
	if (r < 0)
		goto fail_drop;
	return 0;

fail_drop:
	drop(s, idx);
	return r;
fail:
	ipk__close(fd);
	free(c);
	return r;
}

static void accept_all(ipk_svc *s)
{
	static const struct svc_wire deny = { .magic = SVC_DENY_MAGIC, .version = SVC_VERSION };

	for (int i = 0; i < EVENTS_MAX; i++) {
		int fd, r;

		if (ipk__sock_accept(s->lfd, IPK__NOWAIT, &fd) < 0)
			return;
		/* before a byte of the peer's is read */
		r = ipk__access_check(s->access, fd);
		if (r < 0) {
			if (r == -EACCES)
				(void)ipk_fd_send(fd, &deny, sizeof(deny), NULL, 0, 0);
			ipk__close(fd);
			continue;
		}
		(void)conn_new(s, fd); /* a failure costs only that client */
	}
}

/* The client's ACK with its eventfd; anything else drops it. */
static void conn_ack(ipk_svc *s, uint32_t idx)
{
	struct svc_conn *c = s->conns[idx];
	struct svc_wire w;
	int fd = -1;
	struct ipk_fdmsg m = { .fds = &fd, .max_fds = 1 };
	ssize_t n = ipk_fd_recv(c->sock, &w, sizeof(w), &m, 0);

	if (n == -EAGAIN)
		return;
	if (n == (ssize_t)sizeof(w) && !memcmp(w.magic, SVC_ACK_MAGIC, 8) &&
	    w.version == SVC_VERSION && m.nfds == 1 && ipk__svc_is_eventfd(fd) &&
	    ipk__fd_nonblock_cloexec(fd) == 0) {
		c->cli_efd = fd;
		c->active = true;
		s->nhello--;
		/* no page faults on the queues later; an older kernel: faults */
		(void)madvise(c->hdr, c->size, MADV_POPULATE_WRITE);
		return;
	}
	if (n >= 0 && m.nfds == 1)
		ipk__close(fd);
	drop(s, idx);
}

static void sock_event(ipk_svc *s, uint32_t idx, uint32_t events)
{
	struct svc_conn *c = s->conns[idx];
	char b;

	if (!c->active && (events & EPOLLIN)) {
		conn_ack(s, idx);
		if (!s->conns[idx])
			return;
	}
	if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
		drop(s, idx);
		return;
	}
	/* An active client sends nothing more on the socket: data is a
	 * protocol error, EOF its end. */
	if (c->active && (events & EPOLLIN) && recv(c->sock, &b, 1, MSG_DONTWAIT | MSG_PEEK) != -1)
		drop(s, idx);
}

/* Drop the peers whose ACK did not come within ACK_NS of our hello: each
 * holds a connection's memfd and descriptors. */
static void sweep(ipk_svc *s)
{
	int64_t now = ipk__now_ns();

	if (now < s->sweep_at)
		return;
	s->sweep_at = now + SWEEP_NS;
	for (uint32_t i = 0; i < s->n && s->nhello; i++)
		if (s->conns[i] && !s->conns[i]->active && now >= s->conns[i]->ack_by)
			drop(s, i);
}

/* Collect what the epoll descriptor holds, waiting up to @timeout_ms
 * (while a peer's ACK is awaited, up to ACK_NS: it is dropped then). */
static int events(ipk_svc *s, int timeout_ms)
{
	struct epoll_event ev[EVENTS_MAX];
	int n;

	if (s->nhello && (timeout_ms < 0 || timeout_ms > ACK_NS / IPK_MSEC))
		timeout_ms = (int)(ACK_NS / IPK_MSEC);
	n = epoll_wait(s->epfd, ev, EVENTS_MAX, timeout_ms);

	s->quiet = 0;
	if (n < 0)
		return errno == EINTR ? 0 : ipk__neg_errno();
	for (int i = 0; i < n; i++) {
		uint64_t d = ev[i].data.u64;
		uint32_t kind = d & 3, idx = (uint32_t)d >> 2, gen = (uint32_t)(d >> 32);
		uint64_t v;

		if (kind == EV_LISTEN) {
			accept_all(s);
			continue;
		}
		/* an event of a connection dropped earlier in this round */
		if (idx >= s->n || !s->conns[idx] || s->gens[idx] != gen)
			continue;
		if (kind == EV_BELL)
			(void)ipk__read_eintr(s->conns[idx]->efd, &v, sizeof(v));
		else
			sock_event(s, idx, ev[i].events);
	}
	if (s->nhello)
		sweep(s);
	return n;
}

static bool pending(const struct svc_conn *c, uint32_t tag)
{
	return c->pending[tag / 64] >> (tag % 64) & 1;
}

static uint64_t make_id(const ipk_svc *s, uint32_t idx, uint32_t tag)
{
	return (uint64_t)(s->gens[idx] & 0xffffff) << 40 | (uint64_t)idx << 16 | tag;
}

/* Take one request from the next client that has one. Return: its
 * length; -EMSGSIZE; -EAGAIN (none). */
static ssize_t scan(ipk_svc *s, void *buf, size_t len, struct ipk_svc_req *req)
{
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t idx = (s->next + i) % s->n, l, tag;
		struct svc_conn *c = s->conns[idx];
		int r;

		if (!c || !c->active)
			continue;
		r = svc_q_peek(&c->req, &l, &tag);
		if (r == 0)
			continue;
		if (r < 0 || l > s->max_msg || tag >= s->slots || pending(c, tag)) {
			drop(s, idx); /* a client that breaks the protocol */
			continue;
		}
		if (l > len) {
			s->next = idx;
			return -EMSGSIZE;
		}
		svc_copy_out(&c->req, c->req.pos, buf, l);
		svc_q_take(&c->req, l);
		c->pending[tag / 64] |= (uint64_t)1 << (tag % 64);
		req->id = make_id(s, idx, tag);
		req->peer = c->cred;
		s->next = idx + 1;
		return l;
	}
	return -EAGAIN;
}

/* Is a request committed in any queue? Loads only: for spinning. */
static bool any_ready(const ipk_svc *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct svc_conn *c = s->conns[i];

		if (c && c->active && svc_q_ready(&c->req))
			return true;
	}
	return false;
}

static void set_sleeping(ipk_svc *s, bool on)
{
	if (s->armed == on)
		return;
	s->armed = on;
	/* seq_cst, and the fence after it in arm(): the store of the
	 * store-load pair whose load is the queues' scan; the client's pair
	 * is its commit and its load of sleeping (svc_client.c: ring()). */
	atomic_store_explicit(&s->page->sleeping, on, memory_order_seq_cst);
}

/* Say we may sleep, then look once more (Dekker: see svc_internal.h). */
static ssize_t arm(ipk_svc *s, void *buf, size_t len, struct ipk_svc_req *req)
{
	ssize_t r;

	set_sleeping(s, true);
	atomic_thread_fence(memory_order_seq_cst);
	r = scan(s, buf, len, req);
	if (r != -EAGAIN)
		set_sleeping(s, false);
	return r;
}

IPK_API ssize_t ipk_svc_recv(ipk_svc *s, void *buf, size_t len, struct ipk_svc_req *req,
			     int64_t timeout_ns)
{
	bool spinning = s && ((s->flags & IPK_SVC_SPIN) || s->spin_ns > 0);
	int64_t deadline, now, until = 0, look = 0;
	ssize_t r;

	IPK_CHECK_ARG(s && (buf || !len) && req);
	/* Connections come and go while requests flow too. */
	if (++s->quiet >= 256)
		(void)events(s, 0);
	r = scan(s, buf, len, req);
	/* A spinner's first round costs no clock read and no system call:
	 * the request due next in a busy exchange is taken within it. */
	if (r == -EAGAIN && spinning && timeout_ns != 0) {
		for (int i = 0; i < SVC_SPIN_ROUND && !any_ready(s); i++)
			svc_cpu_relax();
		r = scan(s, buf, len, req);
	}
	if (r != -EAGAIN) {
		set_sleeping(s, false);
		return r;
	}
	deadline = ipk__deadline(timeout_ns);
	r = events(s, 0); /* before waiting in earnest: clients coming and going */
	if (r < 0)
		return r;
	for (;;) {
		r = scan(s, buf, len, req);
		if (r != -EAGAIN) {
			set_sleeping(s, false);
			return r;
		}
		if (deadline == IPK__NOWAIT)
			return arm(s, buf, len, req);
		now = ipk__now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (spinning && until == 0) {
			until = (s->flags & IPK_SVC_SPIN) || s->spin_ns > deadline - now
					? deadline
					: now + s->spin_ns;
			look = now + SVC_LIVENESS_NS;
		}
		if (spinning && now < until) {
			set_sleeping(s, false);
			while (!any_ready(s)) {
				for (int i = 0; i < SVC_SPIN_ROUND && !any_ready(s); i++)
					svc_cpu_relax();
				now = ipk__now_ns();
				if (now >= until)
					break;
				if (now >= look) {
					(void)events(s, 0);
					look = now + SVC_LIVENESS_NS;
				}
			}
			continue;
		}
		r = arm(s, buf, len, req);
		if (r != -EAGAIN)
			return r;
		now = ipk__now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		int64_t left =
			deadline == IPK__NEVER ? -1 : (deadline - now + IPK_MSEC - 1) / IPK_MSEC;

		r = events(s, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0)
			return r;
	}
}

IPK_API int ipk_svc_reply(ipk_svc *s, uint64_t id, const void *buf, size_t len)
{
	uint32_t idx = (uint32_t)(id >> 16) & 0xffffff, tag = (uint32_t)id & 0xffff;
	struct svc_conn *c;

	IPK_CHECK_ARG(s && (buf || !len));
	if (len > s->max_msg)
		return -EMSGSIZE;
	if (idx >= s->n || !s->conns[idx] || (s->gens[idx] & 0xffffff) != (id >> 40))
		return -ECONNRESET;
	c = s->conns[idx];
	if (tag >= s->slots || !pending(c, tag))
		return -ENOENT;
	if (svc_q_put(&c->rep, tag, buf, len) < 0) {
		drop(s, idx); /* it did not consume its replies */
		return -ECONNRESET;
	}
	c->pending[tag / 64] &= ~((uint64_t)1 << (tag % 64));
	/* seq_cst fence: orders the commit (a store) before the load of
	 * cli_waiting; pairs with the fence after the client's store of it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&c->hdr->cli_waiting, memory_order_relaxed))
		svc_ring_efd(c->cli_efd);
	return 0;
}

IPK_API int ipk_svc_fd(const ipk_svc *s)
{
	return s ? s->epfd : -EINVAL;
}

IPK_API unsigned ipk_svc_clients(const ipk_svc *s)
{
	return s ? s->nlive : 0;
}

IPK_API unsigned long ipk_svc_refused(const ipk_svc *s, struct ipk_cred *ret)
{
	return s ? ipk__access_refused(s->access, ret) : 0;
}

/* The page every client maps read-only: sealed against writable mappings
 * (F_SEAL_FUTURE_WRITE) once ours exists. */
static int page_new(ipk_svc *s)
{
	void *p;

	s->page_fd = ipk__shm_memfd("ipk-svc", SVC_PAGE);
	if (s->page_fd < 0)
		return s->page_fd;
	p = mmap(NULL, SVC_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s->page_fd, 0);
	if (p == MAP_FAILED)
		return ipk__neg_errno();
	s->page = p;
	s->page->magic = SVC_PAGE_MAGIC;
	s->page->version = SVC_VERSION;
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
	if (fcntl(s->page_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_svc_create(const char *name, const struct ipk_svc_opts *opts, ipk_svc **ret)
{
	struct ipk_svc_opts o = opts ? *opts : (struct ipk_svc_opts){ 0 };
	struct sockaddr_un sa;
	socklen_t salen;
	ipk_svc *s;
	int r;

	IPK_CHECK_ARG(name && ret);
	IPK_CHECK_ARG(o.slots <= SVC_SLOTS_MAX && o.max_msg <= SVC_MSG_MAX && o.spin_ns >= 0);
	IPK_CHECK_ARG(!(o.flags & ~(IPK_SVC_SPIN | IPK_SVC_EXCL)) && !(o.mode & ~(mode_t)0777));
	r = ipk__svc_addr(name, &sa, &salen);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lfd = s->epfd = s->page_fd = -1;
	s->slots = o.slots ? o.slots : DEFAULT_SLOTS;
	s->max_msg = o.max_msg ? o.max_msg : DEFAULT_MAX_MSG;
	s->flags = o.flags;
	s->spin_ns = o.spin_ns;
	s->cap = svc_cap(s->slots, s->max_msg);
	s->conn_size = svc_conn_size(s->cap);
	r = ipk__access_new(o.access, NULL, &s->access);
	if (r < 0)
		goto fail;
	r = page_new(s);
	if (r < 0)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		goto fail_errno;
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0)
		goto fail_errno;
	r = ipk__svc_bind(s->lfd, &sa, salen, o.mode ? o.mode : 0600, o.flags & IPK_SVC_EXCL,
			  &s->file);
	if (r < 0)
		goto fail;
	if (listen(s->lfd, BACKLOG) < 0)
		goto fail_errno;
	r = epoll_add(s, s->lfd, EPOLLIN, ev_data(EV_LISTEN, 0, 0));
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;

fail_errno:
	r = ipk__neg_errno();
fail:
	ipk_svc_close(s);
	return r;
}

IPK_API void ipk_svc_close(ipk_svc *s)
{
	static const struct svc_wire bye = { .magic = SVC_BYE_MAGIC, .version = SVC_VERSION };

	if (!s)
		return;
	/* First the name: a client that reconnects at once finds no
	 * listener that is about to go. */
	if (s->lfd >= 0)
		ipk__close(s->lfd);
	ipk__ownfile_remove(&s->file);
	for (uint32_t i = 0; i < s->n; i++) {
		if (!s->conns[i])
			continue;
		/* Before the socket closes: the client tells a clean end
		 * (-EPIPE) from a death (-ECONNRESET). */
		(void)ipk_fd_send(s->conns[i]->sock, &bye, sizeof(bye), NULL, 0, 0);
		drop(s, i);
	}
	free(s->conns);
	free(s->gens);
	if (s->epfd >= 0)
		ipk__close(s->epfd);
	if (s->page)
		(void)munmap(s->page, SVC_PAGE);
	if (s->page_fd >= 0)
		ipk__close(s->page_fd);
	ipk__access_free(s->access);
	free(s);
}
