/* SPDX-License-Identifier: MIT */
/*
 * sig.c - signals as IPC: sigqueue() and pidfd_send_signal() with a
 * payload, reception through signalfd and sigtimedwait(), and the
 * self-pipe handler. The event loop (loop.c) builds on the signalfd part;
 * pidfds themselves come from notify.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include <ipckit/sig.h>

#include "internal.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424 /* the same number on every architecture */
#endif

#define H_SIGPENDING                                                                  \
	"RLIMIT_SIGPENDING, signals queued to one user's processes (ulimit -i N, or " \
	"LimitSIGPENDING= in a systemd unit)"

static bool valid_signo(int signo)
{
	return signo >= 1 && signo < NSIG;
}

IPK_API int ipk_sig_send(pid_t pid, int signo, intptr_t value)
{
	union sigval sv;

	IPK_CHECK_ARG(pid > 0 && valid_signo(signo));
	memset(&sv, 0, sizeof(sv));
	sv.sival_ptr = (void *)value;
	if (sigqueue(pid, signo, sv) < 0)
		return ipk__neg_errno();
	return 0;
}

IPK_API int ipk_sig_send_pidfd(int pidfd, int signo, intptr_t value)
{
	siginfo_t si;

	IPK_CHECK_ARG(pidfd >= 0 && valid_signo(signo));
	/* What sigqueue() would have filled in: the receiver cannot tell the
	 * two paths apart. The kernel accepts a negative si_code (SI_QUEUE)
	 * from another process, never a kernel one. */
	memset(&si, 0, sizeof(si));
	si.si_signo = signo;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_ptr = (void *)value;
	if (syscall(SYS_pidfd_send_signal, pidfd, signo, &si, 0) < 0)
		return ipk__neg_errno(); /* ENOSYS: -EOPNOTSUPP */
	return 0;
}

IPK_API const char *ipk_sig_limit_hint(int err)
{
	return err == -EAGAIN || err == EAGAIN ? H_SIGPENDING : NULL;
}

IPK_API int ipk_sig_block(const sigset_t *set)
{
	IPK_CHECK_ARG(set);
	return -pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* glibc's sigisemptyset() misses real-time signals (seen with 2.36):
 * look at every number instead. */
static bool set_empty(const sigset_t *set)
{
	int s;

	for (s = 1; s < NSIG; s++)
		if (sigismember(set, s) == 1)
			return false;
	return true;
}

static bool usable_set(const sigset_t *set)
{
	return set && !set_empty(set) && !sigismember(set, SIGKILL) && !sigismember(set, SIGSTOP);
}

static void from_siginfo(const siginfo_t *si, struct ipk_siginfo *r)
{
	memset(r, 0, sizeof(*r));
	r->signo = si->si_signo;
	r->code = si->si_code;
	r->pid = si->si_pid;
	r->uid = si->si_uid;
	r->value = si->si_value.sival_int;
	r->ptr = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
}

IPK_API int ipk_sig_wait(const sigset_t *set, int64_t timeout_ns, struct ipk_siginfo *ret)
{
	int64_t deadline = ipk__deadline(timeout_ns);
	siginfo_t si;

	IPK_CHECK_ARG(set && !set_empty(set) && ret);
	for (;;) {
		struct timespec ts = { 0, 0 };
		int r;

		if (deadline == IPK__NEVER) {
			r = sigwaitinfo(set, &si);
		} else {
			int64_t left = deadline == IPK__NOWAIT ? 0 : deadline - ipk__now_ns();

			if (left < 0)
				return -ETIMEDOUT;
			ts.tv_sec = (time_t)(left / IPK_SEC);
			ts.tv_nsec = (long)(left % IPK_SEC);
			r = sigtimedwait(set, &si, &ts);
		}
		if (r > 0) {
			from_siginfo(&si, ret);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return ipk__neg_errno();
		if (deadline == IPK__NOWAIT)
			return -EAGAIN;
		/* sigtimedwait's EAGAIN is its timeout: loop once more to
		 * turn it into -ETIMEDOUT against our own clock. */
		if (ipk__now_ns() >= deadline)
			return -ETIMEDOUT;
	}
}

/* --- signalfd --------------------------------------------------------- */

struct ipk_sigfd {
	int fd;
};

IPK_API int ipk_sigfd_open(const sigset_t *set, ipk_sigfd **ret)
{
	ipk_sigfd *s;
	int r;

	IPK_CHECK_ARG(usable_set(set) && ret);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = -pthread_sigmask(SIG_BLOCK, set, NULL);
	if (r < 0)
		goto fail;
	s->fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->fd < 0) {
		r = ipk__neg_errno();
		goto fail;
	}
	*ret = s;
	return 0;

fail:
	free(s);
	return r;
}

/* One signalfd_siginfo from @fd, as the public record. */
static int read_sigfd(int fd, int64_t deadline, struct ipk_siginfo *ret)
{
	struct signalfd_siginfo ssi;
	int r = ipk__read_record(fd, &ssi, sizeof(ssi), deadline);

	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->signo = (int)ssi.ssi_signo;
	ret->code = ssi.ssi_code;
	ret->pid = (pid_t)ssi.ssi_pid;
	ret->uid = (uid_t)ssi.ssi_uid;
	ret->value = ssi.ssi_int;
	ret->ptr = ssi.ssi_ptr;
	return 0;
}

IPK_API int ipk_sigfd_read(ipk_sigfd *s, int64_t timeout_ns, struct ipk_siginfo *ret)
{
	IPK_CHECK_ARG(s && ret);
	return read_sigfd(s->fd, ipk__deadline(timeout_ns), ret);
}

IPK_API int ipk_sigfd_fd(const ipk_sigfd *s)
{
	return s ? s->fd : -EINVAL;
}

IPK_API void ipk_sigfd_close(ipk_sigfd *s)
{
	if (!s)
		return;
	ipk__close(s->fd);
	free(s);
}

/* --- the self-pipe handler -------------------------------------------- */

/*
 * The handler finds its pipe through this table, indexed by signal number:
 * write end + 1, 0 for none. It is read in signal context, so it holds
 * lock-free atomics only; a relaxed load is enough because the descriptor
 * is published before sigaction() installs the handler, and sigaction is a
 * system call (a full barrier for the thread that will run the handler).
 */
static _Atomic int handler_wfd[NSIG];
static _Atomic uint64_t handler_dropped[NSIG];

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signal handlers need lock-free int atomics");

struct ipk_sighandler {
	int signo;
	int rfd, wfd;
	bool installed;
	struct sigaction old;
};

/* Signal context: only write() and atomics, errno preserved. A record
 * (32 bytes) is below PIPE_BUF, so it lands whole or not at all. */
static void on_signal(int signo, siginfo_t *si, void *uctx)
{
	int saved = errno;
	int wfd;

	(void)uctx;
	if (signo <= 0 || signo >= NSIG)
		return;
	wfd = atomic_load_explicit(&handler_wfd[signo], memory_order_relaxed) - 1;
	if (wfd >= 0) {
		struct ipk_siginfo rec;

		memset(&rec, 0, sizeof(rec));
		rec.signo = signo;
		rec.code = si->si_code;
		rec.pid = si->si_pid;
		rec.uid = si->si_uid;
		rec.value = si->si_value.sival_int;
		rec.ptr = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
		if (write(wfd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
			atomic_fetch_add_explicit(&handler_dropped[signo], 1, memory_order_relaxed);
	}
	errno = saved;
}

IPK_API int ipk_sighandler_install(int signo, ipk_sighandler **ret)
{
	struct sigaction sa;
	ipk_sighandler *h;
	int p[2], r, none = 0;

	IPK_CHECK_ARG(valid_signo(signo) && signo != SIGKILL && signo != SIGSTOP && ret);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->signo = signo;
	h->rfd = h->wfd = -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = ipk__neg_errno();
		goto fail;
	}
	h->rfd = p[0];
	h->wfd = p[1];
	if (!atomic_compare_exchange_strong_explicit(&handler_wfd[signo], &none, h->wfd + 1,
						     memory_order_relaxed, memory_order_relaxed)) {
		h->wfd = -1; /* not published: keep the owner's slot */
		ipk__close(p[1]);
		r = -EBUSY;
		goto fail;
	}
	atomic_store_explicit(&handler_dropped[signo], 0, memory_order_relaxed);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask); /* the handler is never interrupted by another */
	if (sigaction(signo, &sa, &h->old) < 0) {
		r = ipk__neg_errno();
		atomic_store_explicit(&handler_wfd[signo], 0, memory_order_relaxed);
		goto fail;
	}
	h->installed = true;
	*ret = h;
	return 0;

fail:
	ipk__close(h->rfd);
	ipk__close(h->wfd);
	free(h);
	return r;
}

IPK_API int ipk_sighandler_read(ipk_sighandler *h, int64_t timeout_ns, struct ipk_siginfo *ret)
{
	struct ipk_siginfo rec;
	int r;

	IPK_CHECK_ARG(h && ret);
	r = ipk__read_record(h->rfd, &rec, sizeof(rec), ipk__deadline(timeout_ns));
	if (r == 0)
		*ret = rec;
	return r;
}

IPK_API int ipk_sighandler_fd(const ipk_sighandler *h)
{
	return h ? h->rfd : -EINVAL;
}

IPK_API uint64_t ipk_sighandler_dropped(const ipk_sighandler *h)
{
	return h ? atomic_load_explicit(&handler_dropped[h->signo], memory_order_relaxed) : 0;
}

IPK_API void ipk_sighandler_free(ipk_sighandler *h)
{
	if (!h)
		return;
	/* Disposition first, then the table, then the pipe: a signal that
	 * arrives in between finds no descriptor and is dropped, never
	 * written to a descriptor number that was reused. */
	if (h->installed)
		(void)sigaction(h->signo, &h->old, NULL);
	atomic_store_explicit(&handler_wfd[h->signo], 0, memory_order_relaxed);
	ipk__close(h->rfd);
	ipk__close(h->wfd);
	free(h);
}

/* --- names ------------------------------------------------------------ */

IPK_API int ipk_sig_from_name(const char *name)
{
	uint64_t n;
	int i;

	if (!name)
		return -EINVAL;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	if (name[0] >= '0' && name[0] <= '9') {
		if (ipk__parse_u64(name, strlen(name), 10, &n) < 0 || n == 0 || n >= NSIG)
			return -EINVAL;
		return (int)n;
	}
	if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
		bool min = !strncasecmp(name, "RTMIN", 5);
		const char *p = name + 5;
		int s = min ? SIGRTMIN : SIGRTMAX;

		if (*p) {
			if (*p != (min ? '+' : '-') ||
			    ipk__parse_u64(p + 1, strlen(p + 1), 10, &n) < 0 ||
			    n > (uint64_t)(SIGRTMAX - SIGRTMIN))
				return -EINVAL;
			s = min ? s + (int)n : s - (int)n;
		}
		return s;
	}
	for (i = 1; i < SIGRTMIN; i++) {
		const char *abbr = sigabbrev_np(i);

		if (abbr && !strcasecmp(abbr, name))
			return i;
	}
	return -EINVAL;
}

IPK_API int ipk_sig_name(int signo, char *buf, size_t len)
{
	const char *abbr;
	int n;

	IPK_CHECK_ARG(valid_signo(signo) && buf);
	if (signo == SIGRTMAX)
		n = snprintf(buf, len, "SIGRTMAX");
	else if (signo >= SIGRTMIN)
		n = signo == SIGRTMIN ? snprintf(buf, len, "SIGRTMIN")
				      : snprintf(buf, len, "SIGRTMIN+%d", signo - SIGRTMIN);
	else if ((abbr = sigabbrev_np(signo)))
		n = snprintf(buf, len, "SIG%s", abbr);
	else
		n = snprintf(buf, len, "SIG%d", signo);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
