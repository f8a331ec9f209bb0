/* SPDX-License-Identifier: MIT */
/*
 * notify.c - eventfd counters, timerfd timers, pidfd process watches (with
 * a polling fallback) and sealed memfd blobs passed over a Unix socket.
 * Signals are in sig.c; the loop that waits on all of these is loop.c.
 *
 * The blob receiver is the part that faces a peer it must not trust: it
 * checks the descriptor that arrives (a memfd? all four seals? the
 * announced size?) before the first mmap(), because a mapping of a file
 * that its sender can still shrink turns every read past the new end into
 * SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include <ipckit/notify.h>
#include <ipckit/unix.h>

#include "internal.h"

/* --- eventfd ---------------------------------------------------------- */

struct ipk_event {
	int fd;
};

IPK_API int ipk_event_new(unsigned flags, ipk_event **ret)
{
	ipk_event *ev;
	int r;

	IPK_CHECK_ARG(!(flags & ~IPK_EVENT_SEMAPHORE) && ret);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK |
				    ((flags & IPK_EVENT_SEMAPHORE) ? EFD_SEMAPHORE : 0));
	if (ev->fd < 0) {
		r = ipk__neg_errno();
		free(ev);
		return r;
	}
	*ret = ev;
	return 0;
}

IPK_API int ipk_event_signal(ipk_event *ev, uint64_t n)
{
	ssize_t w;

	IPK_CHECK_ARG(ev && n > 0 && n != UINT64_MAX);
	w = ipk__write_eintr(ev->fd, &n, sizeof(n));
	if (w < 0)
		return (int)w; /* -EAGAIN: the counter is full */
	return w == (ssize_t)sizeof(n) ? 0 : -EIO;
}

/* Read one 8-byte value from a non-blocking eventfd or timerfd. */
static int read_u64(int fd, int64_t deadline, uint64_t *ret)
{
	uint64_t v;
	int r = ipk__read_record(fd, &v, sizeof(v), deadline);

	if (r == 0 && ret)
		*ret = v;
	return r;
}

IPK_API int ipk_event_wait(ipk_event *ev, int64_t timeout_ns, uint64_t *ret)
{
	IPK_CHECK_ARG(ev);
	return read_u64(ev->fd, ipk__deadline(timeout_ns), ret);
}

IPK_API int ipk_event_fd(const ipk_event *ev)
{
	return ev ? ev->fd : -EINVAL;
}

IPK_API void ipk_event_free(ipk_event *ev)
{
	if (!ev)
		return;
	ipk__close(ev->fd);
	free(ev);
}

/* --- timerfd ---------------------------------------------------------- */

struct ipk_timer {
	int fd;
	clockid_t clock;
};

IPK_API int ipk_timer_new(clockid_t clock, ipk_timer **ret)
{
	ipk_timer *t;
	int r;

	IPK_CHECK_ARG(
		(clock == CLOCK_MONOTONIC || clock == CLOCK_REALTIME || clock == CLOCK_BOOTTIME) &&
		ret);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->clock = clock;
	t->fd = timerfd_create(clock, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0) {
		r = ipk__neg_errno();
		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / IPK_SEC), (long)(ns % IPK_SEC) };

	return ts;
}

static int timer_arm(ipk_timer *t, int64_t first_ns, int64_t interval_ns, unsigned flags)
{
	struct itimerspec its;
	int tf = 0;

	its.it_value = ns_to_ts(first_ns);
	its.it_interval = ns_to_ts(interval_ns);
	if (flags & IPK_TIMER_ABS) {
		tf = TFD_TIMER_ABSTIME;
		/* A wall-clock timer learns when the clock is set under it. */
		if (t->clock == CLOCK_REALTIME)
			tf |= TFD_TIMER_CANCEL_ON_SET;
	}
	if (timerfd_settime(t->fd, tf, &its, NULL) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_timer_once(ipk_timer *t, int64_t when_ns, unsigned flags)
{
	IPK_CHECK_ARG(t && when_ns > 0 && !(flags & ~IPK_TIMER_ABS));
	return timer_arm(t, when_ns, 0, flags);
}

IPK_API int ipk_timer_every(ipk_timer *t, int64_t first_ns, int64_t interval_ns, unsigned flags)
{
	IPK_CHECK_ARG(t && interval_ns > 0 && first_ns >= 0 && !(flags & ~IPK_TIMER_ABS));
	if (first_ns == 0) {
		IPK_CHECK_ARG(!(flags & IPK_TIMER_ABS));
		first_ns = interval_ns;
	}
	return timer_arm(t, first_ns, interval_ns, flags);
}

IPK_API int ipk_timer_disarm(ipk_timer *t)
{
	struct itimerspec its;

	IPK_CHECK_ARG(t);
	memset(&its, 0, sizeof(its));
	if (timerfd_settime(t->fd, 0, &its, NULL) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_timer_wait(ipk_timer *t, int64_t timeout_ns, uint64_t *ret)
{
	IPK_CHECK_ARG(t);
	return read_u64(t->fd, ipk__deadline(timeout_ns), ret);
}

IPK_API int ipk_timer_fd(const ipk_timer *t)
{
	return t ? t->fd : -EINVAL;
}

IPK_API void ipk_timer_free(ipk_timer *t)
{
	if (!t)
		return;
	ipk__close(t->fd);
	free(t);
}

/* --- pidfd and its fallback -------------------------------------------- */

#define PIDWATCH_POLL_NS (10 * IPK_MSEC)

struct ipk_pidwatch {
	pid_t pid;
	int pidfd;         /* the pidfd, or -1 in fallback mode */
	int evfd;          /* fallback: signalled by the thread when pid is gone */
	bool thread;       /* the fallback thread was started */
	_Atomic bool quit; /* close asks the thread to end; relaxed: it is
			    * only a flag, the join orders the rest */
	pthread_t tid;
};

static void *pidwatch_thread(void *arg)
{
	ipk_pidwatch *w = arg;
	uint64_t one = 1;

	while (!atomic_load_explicit(&w->quit, memory_order_relaxed)) {
		if (!ipk__pid_exists(w->pid)) {
			(void)!write(w->evfd, &one, sizeof(one));
			break;
		}
		struct timespec ts = ns_to_ts(PIDWATCH_POLL_NS);

		(void)nanosleep(&ts, NULL);
	}
	return NULL;
}

static int pidwatch_fallback(ipk_pidwatch *w)
{
	sigset_t all, old;
	int r;

	if (!ipk__pid_exists(w->pid))
		return -ESRCH;
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->evfd < 0)
		return ipk__neg_errno();
	/* The helper takes no signals: they belong to the program's own
	 * threads (and its signalfds). */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&w->tid, NULL, pidwatch_thread, w);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	w->thread = true;
	return 0;
}

IPK_API int ipk_pidwatch_open(pid_t pid, unsigned flags, ipk_pidwatch **ret)
{
	ipk_pidwatch *w;
	int r;

	IPK_CHECK_ARG(pid > 0 && !(flags & ~IPK_PIDWATCH_FALLBACK) && ret);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pid = pid;
	w->pidfd = w->evfd = -1;
	if (!(flags & IPK_PIDWATCH_FALLBACK)) {
		w->pidfd = ipk__pidfd_open(pid);
		if (w->pidfd < 0 && errno != ENOSYS) {
			r = ipk__neg_errno();
			goto fail;
		}
	}
	if (w->pidfd < 0) {
		r = pidwatch_fallback(w);
		if (r < 0)
			goto fail;
	}
	*ret = w;
	return 0;

fail:
	ipk_pidwatch_close(w);
	return r;
}

IPK_API int ipk_pidwatch_fd(const ipk_pidwatch *w)
{
	if (!w)
		return -EINVAL;
	return w->pidfd >= 0 ? w->pidfd : w->evfd;
}

IPK_API int ipk_pidwatch_pidfd(const ipk_pidwatch *w)
{
	if (!w)
		return -EINVAL;
	return w->pidfd >= 0 ? w->pidfd : -EOPNOTSUPP;
}

IPK_API pid_t ipk_pidwatch_pid(const ipk_pidwatch *w)
{
	return w ? w->pid : -EINVAL;
}

IPK_API int ipk_pidwatch_wait(ipk_pidwatch *w, int64_t timeout_ns)
{
	int r;

	IPK_CHECK_ARG(w);
	/* Both descriptors stay readable once the process is gone: poll, do
	 * not consume, so the next wait (or the caller's loop) sees it too. */
	if (timeout_ns == 0) {
		struct pollfd p = { ipk_pidwatch_fd(w), POLLIN, 0 };

		r = poll(&p, 1, 0);
		if (r < 0)
			return ipk__neg_errno();
		return r > 0 ? 0 : -EAGAIN;
	}
	r = ipk__wait_fd(ipk_pidwatch_fd(w), POLLIN, ipk__deadline(timeout_ns));
	return r < 0 ? r : 0;
}

IPK_API void ipk_pidwatch_close(ipk_pidwatch *w)
{
	if (!w)
		return;
	if (w->thread) {
		atomic_store_explicit(&w->quit, true, memory_order_relaxed);
		(void)pthread_join(w->tid, NULL);
	}
	if (w->pidfd >= 0)
		ipk__close(w->pidfd);
	if (w->evfd >= 0)
		ipk__close(w->evfd);
	free(w);
}

/* --- one descriptor and a payload over a Unix socket -------------------- */

/*
 * Receive exactly @len bytes and at most one descriptor (*@ret_fd, -1 if
 * none came), through ipk_fd_recv() (unix.c). More descriptors than one
 * are closed and reported as -EPROTO, as is a datagram of the wrong size.
 */
static int fd_recv(int sock, void *buf, size_t len, int64_t timeout_ns, int *ret_fd)
{
	int fd = -1;
	struct ipk_fdmsg m = { .fds = &fd, .max_fds = 1 };
	ssize_t n = ipk_fd_recv(sock, buf, len, &m, timeout_ns);

	if (n == -ETOOMANYREFS)
		return -EPROTO;
	if (n < 0)
		return (int)n;
	if ((size_t)n != len) {
		if (m.nfds)
			ipk__close(fd);
		return -EPROTO; /* a datagram is the whole header or nothing */
	}
	*ret_fd = m.nfds ? fd : -1;
	return 0;
}

/* --- sealed memfd blobs ------------------------------------------------- */

#define BLOB_MAGIC 0x424b5049u /* "IPKB" little-endian */
#define BLOB_VERSION 1u
#define BLOB_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/* What travels with the descriptor; the size is checked against fstat. */
struct blob_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t size;
};

struct ipk_blob {
	int fd;
	void *wmap;       /* writable mapping before sealing, else NULL */
	const void *rmap; /* read-only mapping after sealing, else NULL */
	size_t size;
	bool sealed;
};

IPK_API int ipk_blob_create(size_t size, ipk_blob **ret)
{
	ipk_blob *b;
	int r;

	IPK_CHECK_ARG(size > 0 && size <= (size_t)INT64_MAX && ret);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->size = size;
	b->fd = memfd_create("ipk-blob", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (b->fd < 0)
		goto fail_errno;
	if (ftruncate(b->fd, (off_t)size) < 0)
		goto fail_errno;
	b->wmap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->wmap == MAP_FAILED) {
		b->wmap = NULL;
		goto fail_errno;
	}
	*ret = b;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	ipk_blob_free(b);
	return r;
}

IPK_API void *ipk_blob_data(ipk_blob *b)
{
	return b ? b->wmap : NULL;
}

IPK_API const void *ipk_blob_view(const ipk_blob *b)
{
	if (!b)
		return NULL;
	return b->sealed ? b->rmap : b->wmap;
}

IPK_API size_t ipk_blob_size(const ipk_blob *b)
{
	return b ? b->size : 0;
}

IPK_API int ipk_blob_fd(const ipk_blob *b)
{
	return b ? b->fd : -EINVAL;
}

IPK_API int ipk_blob_seal(ipk_blob *b)
{
	void *m;
	int r;

	IPK_CHECK_ARG(b);
	if (b->sealed)
		return 0;
	/* F_SEAL_WRITE is refused while a writable shared mapping exists,
	 * ours included: drop ours first, and restore it if sealing fails. */
	(void)munmap(b->wmap, b->size);
	b->wmap = NULL;
	if (fcntl(b->fd, F_ADD_SEALS, BLOB_SEALS) < 0) {
		r = ipk__neg_errno();
		m = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
		b->wmap = m == MAP_FAILED ? NULL : m;
		return r;
	}
	m = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->fd, 0);
	if (m == MAP_FAILED)
		return ipk__neg_errno();
	b->rmap = m;
	b->sealed = true;
	return 0;
}

IPK_API int ipk_blob_send(const ipk_blob *b, int sock, int64_t timeout_ns)
{
	struct blob_hdr h;

	IPK_CHECK_ARG(b && b->sealed && sock >= 0);
	memset(&h, 0, sizeof(h));
	h.magic = BLOB_MAGIC;
	h.version = BLOB_VERSION;
	h.size = b->size;
	return ipk_fd_send(sock, &h, sizeof(h), &b->fd, 1, timeout_ns);
}

/* The checks a received descriptor must pass before it is mapped. */
static int blob_check(int fd, const struct blob_hdr *h, size_t max_size)
{
	struct stat st;
	int seals;

	if (h->magic != BLOB_MAGIC || h->version != BLOB_VERSION)
		return -EPROTO;
	if (fstat(fd, &st) < 0)
		return ipk__neg_errno();
	seals = fcntl(fd, F_GET_SEALS);
	if (!S_ISREG(st.st_mode) || seals < 0)
		return -EMEDIUMTYPE; /* a pipe, socket, or file that cannot be sealed */
	if ((seals & BLOB_SEALS) != BLOB_SEALS)
		return -EPERM;
	/* Sealed against shrinking and growing: this size is final. */
	if (h->size == 0 || st.st_size < 0 || (uint64_t)st.st_size != h->size)
		return -EBADMSG;
	if (h->size > SIZE_MAX || (max_size && h->size > max_size))
		return -EFBIG;
	return 0;
}

IPK_API int ipk_blob_recv(int sock, size_t max_size, int64_t timeout_ns, ipk_blob **ret)
{
	struct blob_hdr h;
	ipk_blob *b;
	void *m;
	int fd = -1, r;

	IPK_CHECK_ARG(sock >= 0 && ret);
	r = fd_recv(sock, &h, sizeof(h), timeout_ns, &fd);
	if (r < 0)
		return r;
	if (fd < 0)
		return -EPROTO;
	r = blob_check(fd, &h, max_size);
	if (r < 0)
		goto fail;
	b = calloc(1, sizeof(*b));
	if (!b) {
		r = -ENOMEM;
		goto fail;
	}
	m = mmap(NULL, (size_t)h.size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		r = ipk__neg_errno();
		free(b);
		goto fail;
	}
	b->fd = fd;
	b->rmap = m;
	b->size = (size_t)h.size;
	b->sealed = true;
	*ret = b;
	return 0;

fail:
	ipk__close(fd);
	return r;
}

IPK_API void ipk_blob_free(ipk_blob *b)
{
	if (!b)
		return;
	if (b->wmap)
		(void)munmap(b->wmap, b->size);
	if (b->rmap)
		(void)munmap((void *)b->rmap, b->size);
	if (b->fd >= 0)
		ipk__close(b->fd);
	free(b);
}
