/* SPDX-License-Identifier: MIT */
/*
 * mq.c - POSIX queue notification (mq_notify by thread or signal), the
 * kernel's message-queue limits, and the name of the limit behind an error.
 * The queues themselves are transports (transport/mq.c, transport/sysvmq.c);
 * the mq: transport owns each channel's notifier and asks here (mqnotify.h).
 *
 * Notification by thread is SIGEV_THREAD as the kernel implements it, done
 * here rather than by glibc's mq_notify(): the kernel writes a 32-byte
 * cookie to a netlink socket; one dispatcher thread per process reads it and
 * starts a thread for the trampoline, which runs the callback. (glibc does
 * the same, but creates its threads inside libc where ThreadSanitizer cannot
 * see them; ours are ordinary pthread_create() calls.)
 *
 * An event may arrive after the channel was closed (the kernel sent it just
 * before), so the cookie carries not a pointer but an id, looked up in a
 * registry under one lock. The same lock orders the trampoline's re-arm
 * against ipk_chan_close(): a re-arm never reaches a descriptor number that
 * close() has already given back.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/netlink.h>

#include <ipckit/mq.h>

#include "internal.h"
#include "mqnotify.h"
#include "url_parse.h"

enum note_mode { NOTE_OFF, NOTE_THREAD, NOTE_SIGNAL };

struct ipk__mq_notifier {
	struct ipk__mq_notifier *next; /* registry list */
	uint64_t id;                   /* what the kernel event carries */
	ipk_chan *ch;
	mqd_t q;
	enum note_mode mode;
	ipk_mq_notify_fn fn;
	void *arg;
	unsigned refs;       /* trampolines between lookup and return */
	bool busy;           /* a trampoline is running fn */
	bool dead;           /* the channel closed; freed when refs drops to 0 */
	pthread_cond_t cond; /* busy, refs or dead changed */
};

/* Guards the list and every field of every notifier. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ipk__mq_notifier *reg_head;
static uint64_t reg_next_id = 1;
/* The notifier whose callback this thread is running, if any. */
static _Thread_local struct ipk__mq_notifier *in_callback;

static struct ipk__mq_notifier *reg_find(uint64_t id)
{
	for (struct ipk__mq_notifier *n = reg_head; n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

static void reg_unlink(struct ipk__mq_notifier *n)
{
	for (struct ipk__mq_notifier **p = &reg_head; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			return;
		}
	}
}

/* The kernel's SIGEV_THREAD protocol (ipc/mqueue.c). */
#define COOKIE_LEN 32
#define COOKIE_WOKENUP 1

/* The dispatcher: its netlink socket, -1 until started (under reg_lock). */
static int nl_fd = -1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void *trampoline(void *arg);

static void *dispatcher(void *arg)
{
	int fd = (int)(intptr_t)arg;
	pthread_attr_t attr;

	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		unsigned char cookie[COOKIE_LEN];
		ssize_t n = recv(fd, cookie, sizeof(cookie), 0);
		uint64_t id;
		pthread_t th;

		if (n < 0 && (errno == EINTR || errno == ENOBUFS || errno == ENOMEM))
			continue;
		if (n < 0)
			break; /* the socket went away (only after fork, in a child) */
		if (n != COOKIE_LEN || cookie[COOKIE_LEN - 1] != COOKIE_WOKENUP)
			continue;
		memcpy(&id, cookie, sizeof(id));
		/* one thread per event, as SIGEV_THREAD promises; if none can be
		 * had, run it here rather than lose the event */
		if (pthread_create(&th, &attr, trampoline, (void *)(uintptr_t)id) != 0)
			(void)trampoline((void *)(uintptr_t)id);
	}
	(void)pthread_attr_destroy(&attr);
	return NULL;
}

/* fork(): the child has no dispatcher; it makes its own when it arms. */
static void atfork_prepare(void)
{
	(void)pthread_mutex_lock(&reg_lock);
}

static void atfork_parent(void)
{
	(void)pthread_mutex_unlock(&reg_lock);
}

static void atfork_child(void)
{
	ipk__close(nl_fd); /* our copy only: the parent's dispatcher reads on */
	nl_fd = -1;
	(void)pthread_mutex_unlock(&reg_lock);
}

static void register_atfork(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Under reg_lock. */
static int start_dispatcher(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t th;
	int fd, r;

	if (nl_fd >= 0)
		return 0;
	(void)pthread_once(&atfork_once, register_atfork);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return ipk__neg_errno();
	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* its threads (and the callbacks) take no signals: the application's */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&th, &attr, dispatcher, (void *)(intptr_t)fd);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	(void)pthread_attr_destroy(&attr);
	if (r != 0) {
		ipk__close(fd);
		return -r;
	}
	nl_fd = fd;
	return 0;
}

/* Register @n for SIGEV_THREAD delivery; under reg_lock. */
static int arm_thread(const struct ipk__mq_notifier *n)
{
	unsigned char cookie[COOKIE_LEN] = { 0 };
	struct sigevent sev;
	int r = start_dispatcher();

	if (r < 0)
		return r;
	memcpy(cookie, &n->id, sizeof(n->id));
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_signo = nl_fd;            /* where the kernel writes */
	sev.sigev_value.sival_ptr = cookie; /* copied at registration */
	if (syscall(SYS_mq_notify, n->q, &sev) < 0)
		return ipk__neg_errno();
	return 0;
}

static void *trampoline(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	struct ipk__mq_notifier *n;

	(void)pthread_mutex_lock(&reg_lock);
	n = reg_find(id);
	if (!n || n->mode != NOTE_THREAD) {
		(void)pthread_mutex_unlock(&reg_lock); /* stale event: closed or changed */
		return NULL;
	}
	n->refs++;
	/* Re-arm first: from here on, a message reaching the empty queue
	 * fires again; one arriving while it is not empty is found by the
	 * drain in fn. EBUSY means someone registered meanwhile: armed. */
	(void)arm_thread(n);
	while (n->busy && !n->dead && n->mode == NOTE_THREAD)
		(void)pthread_cond_wait(&n->cond, &reg_lock); /* one callback at a time */
	if (!n->dead && n->mode == NOTE_THREAD) {
		ipk_mq_notify_fn fn = n->fn;
		void *fn_arg = n->arg;

		n->busy = true;
		(void)pthread_mutex_unlock(&reg_lock);
		in_callback = n;
		fn(n->ch, fn_arg);
		in_callback = NULL;
		(void)pthread_mutex_lock(&reg_lock);
		n->busy = false;
	}
	n->refs--;
	(void)pthread_cond_broadcast(&n->cond);
	if (n->dead && n->refs == 0) {
		/* fn closed its own channel: the last one out frees */
		(void)pthread_mutex_unlock(&reg_lock);
		(void)pthread_cond_destroy(&n->cond);
		free(n);
		return NULL;
	}
	(void)pthread_mutex_unlock(&reg_lock);
	return NULL;
}

/* The channel's notifier, made on first use; under reg_lock. */
static int get_notifier(struct ipk__mq_notifier **slot, ipk_chan *ch, mqd_t q,
			struct ipk__mq_notifier **ret)
{
	struct ipk__mq_notifier *n = *slot;

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (pthread_cond_init(&n->cond, NULL) != 0) {
			free(n);
			return -ENOMEM;
		}
		n->id = reg_next_id++;
		n->ch = ch;
		n->q = q;
		n->next = reg_head;
		reg_head = n;
		*slot = n;
	}
	*ret = n;
	return 0;
}

/* Wait for a callback that runs on another thread; under reg_lock. */
static void wait_idle(struct ipk__mq_notifier *n)
{
	while (n->busy && in_callback != n)
		(void)pthread_cond_wait(&n->cond, &reg_lock);
}

/* Replace the registration: @mode with @sev for signals; under reg_lock. */
static int arm(struct ipk__mq_notifier *n, enum note_mode mode, const struct sigevent *sev)
{
	int r = 0;

	if (n->mode != NOTE_OFF)
		(void)mq_notify(n->q, NULL); /* ours: re-registering would be EBUSY */
	n->mode = NOTE_OFF;
	if (mode == NOTE_THREAD)
		r = arm_thread(n);
	else if (mode == NOTE_SIGNAL && mq_notify(n->q, sev) < 0)
		r = ipk__neg_errno();
	if (r == 0)
		n->mode = mode; /* else EBUSY: another process holds it */
	return r;
}

int ipk__mq_notify(struct ipk__mq_notifier **slot, ipk_chan *ch, mqd_t q, ipk_mq_notify_fn fn,
		   void *arg)
{
	struct ipk__mq_notifier *n;
	int r;

	IPK_CHECK_ARG(fn);
	(void)pthread_mutex_lock(&reg_lock);
	r = get_notifier(slot, ch, q, &n);
	if (r == 0) {
		n->fn = fn;
		n->arg = arg;
		r = arm(n, NOTE_THREAD, NULL);
	}
	(void)pthread_mutex_unlock(&reg_lock);
	return r;
}

int ipk__mq_notify_signal(struct ipk__mq_notifier **slot, ipk_chan *ch, mqd_t q, int signo,
			  void *value)
{
	struct ipk__mq_notifier *n;
	struct sigevent sev;
	int r;

	IPK_CHECK_ARG(signo > 0 && signo <= SIGRTMAX && signo != SIGKILL && signo != SIGSTOP);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_ptr = value ? value : ch;
	(void)pthread_mutex_lock(&reg_lock);
	r = get_notifier(slot, ch, q, &n);
	if (r == 0) {
		wait_idle(n); /* no callback outlives the switch to signals */
		r = arm(n, NOTE_SIGNAL, &sev);
	}
	(void)pthread_mutex_unlock(&reg_lock);
	return r;
}

int ipk__mq_notify_off(struct ipk__mq_notifier **slot)
{
	struct ipk__mq_notifier *n;

	(void)pthread_mutex_lock(&reg_lock);
	n = *slot;
	if (n) {
		(void)arm(n, NOTE_OFF, NULL);
		(void)pthread_cond_broadcast(&n->cond); /* waiting trampolines leave */
		wait_idle(n);
	}
	(void)pthread_mutex_unlock(&reg_lock);
	return 0;
}

void ipk__mq_notify_free(struct ipk__mq_notifier **slot)
{
	struct ipk__mq_notifier *n;
	bool self;

	(void)pthread_mutex_lock(&reg_lock);
	n = *slot;
	if (!n) {
		(void)pthread_mutex_unlock(&reg_lock);
		return;
	}
	*slot = NULL;
	(void)arm(n, NOTE_OFF, NULL);
	reg_unlink(n); /* late events find nothing */
	n->dead = true;
	(void)pthread_cond_broadcast(&n->cond);
	/* Wait for every other trampoline; our own (close from fn) frees it. */
	self = in_callback == n;
	while (n->refs > (self ? 1u : 0u))
		(void)pthread_cond_wait(&n->cond, &reg_lock);
	(void)pthread_mutex_unlock(&reg_lock);
	if (!self) {
		(void)pthread_cond_destroy(&n->cond);
		free(n);
	}
}

/* ---- limits ---------------------------------------------------------- */

static int64_t rlim64(rlim_t v)
{
	return v == RLIM_INFINITY || v > (rlim_t)INT64_MAX ? IPK_MQ_UNLIMITED : (int64_t)v;
}

IPK_API int ipk_mq_limits(struct ipk_mq_limits *ret)
{
	struct ipk_mq_limits l;
	struct rlimit rl;

	IPK_CHECK_ARG(ret);
	if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
		l.rlimit_msgqueue_soft = rlim64(rl.rlim_cur);
		l.rlimit_msgqueue_hard = rlim64(rl.rlim_max);
	} else {
		l.rlimit_msgqueue_soft = l.rlimit_msgqueue_hard = -1;
	}
	l.msg_max = ipk__proc_i64("/proc/sys/fs/mqueue/msg_max");
	l.msgsize_max = ipk__proc_i64("/proc/sys/fs/mqueue/msgsize_max");
	l.queues_max = ipk__proc_i64("/proc/sys/fs/mqueue/queues_max");
	l.msg_default = ipk__proc_i64("/proc/sys/fs/mqueue/msg_default");
	l.msgsize_default = ipk__proc_i64("/proc/sys/fs/mqueue/msgsize_default");
	l.msgmnb = ipk__proc_i64("/proc/sys/kernel/msgmnb");
	l.msgmax = ipk__proc_i64("/proc/sys/kernel/msgmax");
	l.msgmni = ipk__proc_i64("/proc/sys/kernel/msgmni");
	*ret = l;
	return 0;
}

/* ---- hints ----------------------------------------------------------- */

#define H_MSG_MAX "fs.mqueue.msg_max (sysctl -w fs.mqueue.msg_max=N)"
#define H_MSGSIZE_MAX "fs.mqueue.msgsize_max (sysctl -w fs.mqueue.msgsize_max=N, at most 16777216)"
#define H_QUEUES_MAX "fs.mqueue.queues_max (sysctl -w fs.mqueue.queues_max=N)"
#define H_RLIMIT_MSGQUEUE "RLIMIT_MSGQUEUE, bytes of POSIX queues per user (ulimit -q)"
#define H_RLIMIT_NOFILE "RLIMIT_NOFILE, open descriptors per process (ulimit -n)"
#define H_MQ_FULL                                                                       \
	"the queue's maxmsg, fixed at creation (?maxmsg=N, at most fs.mqueue.msg_max: " \
	"sysctl -w fs.mqueue.msg_max=N)"
#define H_MQ_MSGSIZE                                                                          \
	"the queue's msgsize, fixed at creation (?msgsize=N, at most fs.mqueue.msgsize_max: " \
	"sysctl -w fs.mqueue.msgsize_max=N)"
#define H_MSGMNB "kernel.msgmnb, bytes per System V queue (sysctl -w kernel.msgmnb=N; new queues)"
#define H_MSGMAX "kernel.msgmax, bytes per System V message (sysctl -w kernel.msgmax=N)"
#define H_MSGMNI "kernel.msgmni, System V queues in the system (sysctl -w kernel.msgmni=N)"

/* EMFILE from mq_open: out of descriptors, or over RLIMIT_MSGQUEUE? */
static bool out_of_fds(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd >= 0) {
		ipk__close(fd);
		return false;
	}
	return errno == EMFILE;
}

static bool over(const struct ipk_url *u, enum ipk__opt o, int64_t limit)
{
	return u->set[o] && limit >= 0 && u->num[o] > (uint64_t)limit;
}

static const char *mq_hint(int err, const struct ipk_url *u, enum ipk_mq_op op,
			   const struct ipk_mq_limits *l)
{
	if (op == IPK_MQ_OP_OPEN) {
		switch (err) {
		case EINVAL:
			if (over(u, IPK__OPT_MAXMSG, l->msg_max))
				return H_MSG_MAX;
			if (over(u, IPK__OPT_MSGSIZE, l->msgsize_max))
				return H_MSGSIZE_MAX;
			return NULL;
		case EMFILE:
			return out_of_fds() ? H_RLIMIT_NOFILE : H_RLIMIT_MSGQUEUE;
		case ENOSPC:
			return H_QUEUES_MAX;
		}
		return NULL;
	}
	if (op == IPK_MQ_OP_SEND) {
		switch (err) {
		case EAGAIN:
		case ETIMEDOUT:
			return H_MQ_FULL;
		case EMSGSIZE:
			return H_MQ_MSGSIZE;
		}
	}
	return NULL;
}

static const char *sysv_hint(int err, const struct ipk_url *u, enum ipk_mq_op op,
			     const struct ipk_mq_limits *l)
{
	if (op == IPK_MQ_OP_OPEN) {
		switch (err) {
		case EINVAL:
			if (over(u, IPK__OPT_MSGSIZE, l->msgmax))
				return H_MSGMAX;
			if (over(u, IPK__OPT_MSGSIZE, l->msgmnb))
				return H_MSGMNB;
			return NULL;
		case ENOSPC:
			return H_MSGMNI;
		}
		return NULL;
	}
	if (op == IPK_MQ_OP_SEND) {
		switch (err) {
		case EAGAIN:
		case ETIMEDOUT:
			return H_MSGMNB;
		case EMSGSIZE:
			return H_MSGMAX;
		}
	}
	return NULL;
}

IPK_API const char *ipk_mq_limit_hint(int err, const char *url, enum ipk_mq_op op)
{
	struct ipk_mq_limits l;
	struct ipk_url u;

	if (!url || ipk__url_parse(url, &u, NULL, NULL) < 0)
		return NULL;
	if (err < 0)
		err = -err;
	(void)ipk_mq_limits(&l);
	if (!strcmp(u.scheme_name, "mq"))
		return mq_hint(err, &u, op, &l);
	if (!strcmp(u.scheme_name, "sysvmq"))
		return sysv_hint(err, &u, op, &l);
	return NULL;
}
