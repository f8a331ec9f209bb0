/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the epoll reactor. Every source is a struct src registered in
 * epoll with its own address as the event's data: a caller's descriptor, a
 * timer (its own timerfd), the loop's signalfd, or the wake-up eventfd.
 *
 * Removing a source during a round must not free it: an event for it may
 * still sit later in the same epoll_wait() batch. Removed sources are
 * marked dead (never dispatched again) and freed when the round ends.
 *
 * The only state other threads touch is the stop flag, the deferred list
 * (under a mutex) and the wake-up eventfd.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <ipckit/loop.h>

#include "internal.h"

_Static_assert(IPK_LOOP_IN == EPOLLIN && IPK_LOOP_OUT == EPOLLOUT && IPK_LOOP_ERR == EPOLLERR &&
		       IPK_LOOP_HUP == EPOLLHUP && IPK_LOOP_EDGE == (uint32_t)EPOLLET &&
		       IPK_LOOP_ONESHOT == EPOLLONESHOT,
	       "IPK_LOOP_* are epoll's bits");

#define FD_EVENTS                                                                   \
	(IPK_LOOP_IN | IPK_LOOP_OUT | IPK_LOOP_ERR | IPK_LOOP_HUP | IPK_LOOP_EDGE | \
	 IPK_LOOP_ONESHOT)
#define MAX_EVENTS 64
#define MAX_SIGNALS_PER_ROUND 64 /* then other sources get their turn */

enum src_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL, SRC_WAKE };

struct src {
	enum src_kind kind;
	int fd;
	bool dead; /* removed: skip, free at the end of the round */
	struct src *next_dead;
	ipk_loop_fd_fn fn; /* SRC_FD */
	void *arg;
};

struct ipk_loop_timer {
	struct src src; /* first: an event's src is the timer */
	ipk_loop *loop;
	ipk_loop_timer_fn fn;
	void *arg;
	ipk_loop_timer *prev, *next; /* the loop's live timers */
};

struct defer {
	struct defer *next;
	ipk_loop_defer_fn fn;
	void *arg;
};

struct sig_entry {
	ipk_loop_signal_fn fn;
	void *arg;
};

struct ipk_loop {
	int epfd;
	struct src wake; /* eventfd: stop, wake, defer from any thread */
	struct src sig;  /* the signalfd's source; fd -1 without signals */
	ipk_sigfd *sigfd;
	sigset_t sigset; /* the signals in the loop */
	int nsigs;       /* how many */
	struct sig_entry sigs[NSIG];
	struct src **fds; /* caller descriptors, indexed by fd */
	size_t nfds;
	ipk_loop_timer *timers;
	struct src *dead;   /* removed this round */
	bool running;       /* loop thread only */
	_Atomic bool stop;  /* relaxed: a flag; the eventfd write wakes */
	pthread_mutex_t mu; /* protects defer_head/defer_tail */
	struct defer *defer_head, *defer_tail;
};

IPK_API int ipk_loop_new(ipk_loop **ret)
{
	ipk_loop *l;
	struct epoll_event ev;
	int r;

	IPK_CHECK_ARG(ret);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->wake.kind = SRC_WAKE;
	l->sig.kind = SRC_SIGNAL;
	l->sig.fd = -1;
	sigemptyset(&l->sigset);
	r = -pthread_mutex_init(&l->mu, NULL);
	if (r < 0) {
		free(l);
		return r;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wake.fd < 0)
		goto fail_errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &l->wake;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake.fd, &ev) < 0)
		goto fail_errno;
	*ret = l;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	ipk_loop_free(l);
	return r;
}

static void free_dead(ipk_loop *l)
{
	while (l->dead) {
		struct src *s = l->dead;

		l->dead = s->next_dead;
		free(s); /* a timer's src is its first member */
	}
}

IPK_API void ipk_loop_free(ipk_loop *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nfds; i++)
		free(l->fds[i]);
	free(l->fds);
	while (l->timers)
		ipk_loop_timer_cancel(l->timers);
	free_dead(l);
	ipk_sigfd_close(l->sigfd);
	while (l->defer_head) {
		struct defer *d = l->defer_head;

		l->defer_head = d->next;
		free(d);
	}
	if (l->wake.fd >= 0)
		ipk__close(l->wake.fd);
	if (l->epfd >= 0)
		ipk__close(l->epfd);
	(void)pthread_mutex_destroy(&l->mu);
	free(l);
}

static void kill_src(ipk_loop *l, struct src *s)
{
	s->dead = true;
	s->next_dead = l->dead;
	l->dead = s;
}

/* --- caller descriptors ------------------------------------------------- */

static int grow_fds(ipk_loop *l, int fd)
{
	size_t n = l->nfds ? l->nfds : 64;
	struct src **p;

	while (n <= (size_t)fd)
		n *= 2;
	p = realloc(l->fds, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + l->nfds, 0, (n - l->nfds) * sizeof(*p));
	l->fds = p;
	l->nfds = n;
	return 0;
}

IPK_API int ipk_loop_add_fd(ipk_loop *l, int fd, uint32_t events, ipk_loop_fd_fn fn, void *arg)
{
	struct epoll_event ev;
	struct src *s;
	int r;

	IPK_CHECK_ARG(l && fd >= 0 && fn && !(events & ~FD_EVENTS));
	if ((size_t)fd >= l->nfds) {
		r = grow_fds(l, fd);
		if (r < 0)
			return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kind = SRC_FD;
	s->fd = fd;
	s->fn = fn;
	s->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = ipk__neg_errno();
		free(s);
		return r;
	}
	/* The kernel took it although the table has an entry: that entry is
	 * stale (its descriptor was closed without ipk_loop_del_fd(), which
	 * removed it from epoll). */
	if (l->fds[fd])
		kill_src(l, l->fds[fd]);
	l->fds[fd] = s;
	return 0;
}

IPK_API int ipk_loop_mod_fd(ipk_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev;

	IPK_CHECK_ARG(l && fd >= 0 && !(events & ~FD_EVENTS));
	if ((size_t)fd >= l->nfds || !l->fds[fd])
		return -ENOENT;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = l->fds[fd];
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_loop_del_fd(ipk_loop *l, int fd)
{
	IPK_CHECK_ARG(l && fd >= 0);
	if ((size_t)fd >= l->nfds || !l->fds[fd])
		return -ENOENT;
	/* ENOENT or EBADF here: closed without removal, already gone. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	kill_src(l, l->fds[fd]);
	l->fds[fd] = NULL;
	return 0;
}

/* --- timers -------------------------------------------------------------- */

static int timer_add(ipk_loop *l, int64_t first_ns, int64_t interval_ns, ipk_loop_timer_fn fn,
		     void *arg, ipk_loop_timer **ret)
{
	struct itimerspec its;
	struct epoll_event ev;
	ipk_loop_timer *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->src.kind = SRC_TIMER;
	t->loop = l;
	t->fn = fn;
	t->arg = arg;
	t->src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->src.fd < 0)
		goto fail_errno;
	its.it_value.tv_sec = (time_t)(first_ns / IPK_SEC);
	its.it_value.tv_nsec = (long)(first_ns % IPK_SEC);
	its.it_interval.tv_sec = (time_t)(interval_ns / IPK_SEC);
	its.it_interval.tv_nsec = (long)(interval_ns % IPK_SEC);
	if (timerfd_settime(t->src.fd, 0, &its, NULL) < 0)
		goto fail_errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &t->src;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, t->src.fd, &ev) < 0)
		goto fail_errno;
	t->next = l->timers;
	if (l->timers)
		l->timers->prev = t;
	l->timers = t;
	if (ret)
		*ret = t;
	return 0;

fail_errno:
	r = ipk__neg_errno();
	if (t->src.fd >= 0)
		ipk__close(t->src.fd);
	free(t);
	return r;
}

IPK_API int ipk_loop_timer_once(ipk_loop *l, int64_t delay_ns, ipk_loop_timer_fn fn, void *arg,
				ipk_loop_timer **ret)
{
	IPK_CHECK_ARG(l && delay_ns >= 0 && fn);
	/* it_value 0 would disarm: "now" is the smallest delay there is. */
	return timer_add(l, delay_ns ? delay_ns : 1, 0, fn, arg, ret);
}

IPK_API int ipk_loop_timer_every(ipk_loop *l, int64_t interval_ns, ipk_loop_timer_fn fn, void *arg,
				 ipk_loop_timer **ret)
{
	IPK_CHECK_ARG(l && interval_ns > 0 && fn);
	return timer_add(l, interval_ns, interval_ns, fn, arg, ret);
}

IPK_API void ipk_loop_timer_cancel(ipk_loop_timer *t)
{
	ipk_loop *l;

	if (!t)
		return;
	l = t->loop;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, t->src.fd, NULL);
	ipk__close(t->src.fd);
	t->src.fd = -1;
	if (t->prev)
		t->prev->next = t->next;
	else
		l->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	kill_src(l, &t->src);
}

static int timer_dispatch(ipk_loop *l, ipk_loop_timer *t)
{
	uint64_t n;

	/* Nothing to read: a re-arm or cancel raced with the event. */
	if (read(t->src.fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	t->fn(l, t, n, t->arg);
	return 1;
}

/* --- signals ------------------------------------------------------------- */

/* Replace the signalfd with one for @set, which holds @n signals (none: no
 * signalfd). Pending signals live in the process, not in the signalfd, so
 * none is lost in the swap. */
static int sig_reopen(ipk_loop *l, const sigset_t *set, int n)
{
	struct epoll_event ev;
	ipk_sigfd *s = NULL;
	int r;

	if (n > 0) {
		r = ipk_sigfd_open(set, &s);
		if (r < 0)
			return r;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &l->sig;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, ipk_sigfd_fd(s), &ev) < 0) {
			r = ipk__neg_errno();
			ipk_sigfd_close(s);
			return r;
		}
	}
	if (l->sigfd) {
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, ipk_sigfd_fd(l->sigfd), NULL);
		ipk_sigfd_close(l->sigfd);
	}
	l->sigfd = s;
	l->sig.fd = s ? ipk_sigfd_fd(s) : -1;
	l->sigset = *set;
	l->nsigs = n;
	return 0;
}

IPK_API int ipk_loop_add_signal(ipk_loop *l, int signo, ipk_loop_signal_fn fn, void *arg)
{
	sigset_t set;
	int r;

	IPK_CHECK_ARG(l && fn && signo >= 1 && signo < NSIG && signo != SIGKILL &&
		      signo != SIGSTOP);
	if (sigismember(&l->sigset, signo))
		return -EEXIST;
	set = l->sigset;
	sigaddset(&set, signo);
	r = sig_reopen(l, &set, l->nsigs + 1);
	if (r < 0)
		return r;
	l->sigs[signo].fn = fn;
	l->sigs[signo].arg = arg;
	return 0;
}

IPK_API int ipk_loop_del_signal(ipk_loop *l, int signo)
{
	sigset_t set;
	int r;

	IPK_CHECK_ARG(l && signo >= 1 && signo < NSIG);
	if (!sigismember(&l->sigset, signo))
		return -ENOENT;
	set = l->sigset;
	sigdelset(&set, signo);
	r = sig_reopen(l, &set, l->nsigs - 1);
	if (r < 0)
		return r;
	l->sigs[signo].fn = NULL;
	return 0;
}

static int sig_dispatch(ipk_loop *l)
{
	struct ipk_siginfo si;
	int n = 0;

	while (n < MAX_SIGNALS_PER_ROUND && l->sigfd && ipk_sigfd_read(l->sigfd, 0, &si) == 0) {
		struct sig_entry *e;

		if (si.signo <= 0 || si.signo >= NSIG)
			continue;
		e = &l->sigs[si.signo];
		if (e->fn) { /* NULL: removed earlier in this round */
			e->fn(l, &si, e->arg);
			n++;
		}
	}
	return n;
}

/* --- deferred calls, wake-up, stop ---------------------------------------- */

static void wake_write(ipk_loop *l)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: awake anyway. */
	(void)!write(l->wake.fd, &one, sizeof(one));
}

IPK_API int ipk_loop_defer(ipk_loop *l, ipk_loop_defer_fn fn, void *arg)
{
	struct defer *d;

	IPK_CHECK_ARG(l && fn);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->arg = arg;
	(void)pthread_mutex_lock(&l->mu);
	if (l->defer_tail)
		l->defer_tail->next = d;
	else
		l->defer_head = d;
	l->defer_tail = d;
	(void)pthread_mutex_unlock(&l->mu);
	wake_write(l);
	return 0;
}

static int defer_dispatch(ipk_loop *l)
{
	struct defer *d;
	int n = 0;

	/* Take the whole list: what the callbacks defer runs next round. */
	(void)pthread_mutex_lock(&l->mu);
	d = l->defer_head;
	l->defer_head = l->defer_tail = NULL;
	(void)pthread_mutex_unlock(&l->mu);
	while (d) {
		struct defer *next = d->next;

		d->fn(l, d->arg);
		free(d);
		d = next;
		n++;
	}
	return n;
}

IPK_API void ipk_loop_stop(ipk_loop *l)
{
	if (!l)
		return;
	atomic_store_explicit(&l->stop, true, memory_order_relaxed);
	wake_write(l);
}

IPK_API void ipk_loop_wake(ipk_loop *l)
{
	if (l)
		wake_write(l);
}

IPK_API int ipk_loop_fd(const ipk_loop *l)
{
	return l ? l->epfd : -EINVAL;
}

/* --- running ------------------------------------------------------------- */

static int round_once(ipk_loop *l, int64_t timeout_ns)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, i, ran, ms;

	ran = defer_dispatch(l);
	if (ran > 0 || timeout_ns == 0)
		ms = 0; /* deferred work was done: only collect what is ready */
	else if (timeout_ns < 0)
		ms = -1;
	else
		ms = timeout_ns / IPK_MSEC >= INT_MAX
			     ? INT_MAX
			     : (int)((timeout_ns + IPK_MSEC - 1) / IPK_MSEC);
	n = epoll_wait(l->epfd, evs, MAX_EVENTS, ms);
	if (n < 0)
		return errno == EINTR ? ran : ipk__neg_errno();
	for (i = 0; i < n; i++) {
		struct src *s = evs[i].data.ptr;
		uint64_t v;

		if (s->dead)
			continue;
		switch (s->kind) {
		case SRC_FD:
			s->fn(l, s->fd, evs[i].events, s->arg);
			ran++;
			break;
		case SRC_TIMER:
			ran += timer_dispatch(l, (ipk_loop_timer *)s);
			break;
		case SRC_SIGNAL:
			ran += sig_dispatch(l);
			break;
		case SRC_WAKE:
			(void)!read(s->fd, &v, sizeof(v));
			break;
		}
	}
	free_dead(l);
	return ran;
}

IPK_API int ipk_loop_run_once(ipk_loop *l, int64_t timeout_ns)
{
	int r;

	IPK_CHECK_ARG(l);
	if (l->running)
		return -EBUSY;
	l->running = true;
	r = round_once(l, timeout_ns);
	l->running = false;
	return r;
}

IPK_API int ipk_loop_run(ipk_loop *l)
{
	int r = 0;

	IPK_CHECK_ARG(l);
	if (l->running)
		return -EBUSY;
	l->running = true;
	do {
		r = round_once(l, IPK_FOREVER);
		if (r < 0)
			break;
		r = 0;
	} while (!atomic_exchange_explicit(&l->stop, false, memory_order_relaxed));
	l->running = false;
	return r;
}
