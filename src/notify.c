/* SPDX-License-Identifier: MIT */
/*
 * notify.c - eventfd counters, timerfd timers and pidfd process watches
 * (with a polling fallback). Signals are in sig.c, sealed memfd blobs in
 * blob.c; the loop that waits on all of these is loop.c.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <ipckit/notify.h>

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
