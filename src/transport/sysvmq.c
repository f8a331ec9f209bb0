/* SPDX-License-Identifier: MIT */
/*
 * transport/sysvmq.c - System V message queues (sysvmq:KEY, sysvmq:/path:PROJ,
 * sysvmq:private) as channels. Tags are message types.
 *
 * msgsnd/msgrcv always run with IPC_NOWAIT in the caller's thread, so the
 * kernel queue stays the one authority on order and nothing is taken ahead
 * of the caller. What the kernel lacks is done here:
 *
 * - Never truncate. A receive asks msgrcv for at most the caller's length
 *   without MSG_NOERROR: a longer message gets E2BIG and stays queued. Only
 *   then is it taken into the channel's "held" buffer, so -EMSGSIZE can say
 *   its exact length; the next receive whose selector matches it gets it
 *   first (as the oldest message of its type; a negative selector still
 *   prefers a lower type waiting in the kernel). One message can be held;
 *   while it is, a second refusal reports the buffer size as an upper bound.
 *
 * - A descriptor to poll, and waiting without a busy loop. msgrcv cannot be
 *   polled, so ch->fd is an eventfd kept by a watcher thread. The watcher
 *   blocks in msgrcv(msgsz = 0, type 0): the kernel answers E2BIG as soon as
 *   any non-empty message is queued, and takes nothing. It is started by the
 *   first receive that finds nothing ("lazily": a channel that only sends
 *   never has one, which keeps sysvmq:private + fork() simple), and armed
 *   again by each receive that finds nothing. The eventfd is readable while
 *   the watcher is not armed: initially (so the first poll wakes and the
 *   first receive starts it), after it saw a message, or when the queue was
 *   removed. So: readable whenever the queue may hold a message of any type.
 *
 *   A zero-length message does fit msgsz = 0, so the watcher takes it; it is
 *   kept in a one-message slot and delivered first. While the watcher hands
 *   it over (microseconds), a receive with timeout 0 may not see it yet, and
 *   a message sent right after it may overtake it; it is never lost.
 *
 * - Timeouts. A receive with selector 0 sleeps on a condition variable until
 *   the watcher fires. A typed receive arms the watcher once (so it wakes on
 *   the first arrival), then retries with a back-off: 50 us doubling to 5 ms
 *   (it is woken early whenever the watcher fires). A send to a full queue
 *   backs off the same way, except without a deadline: then it blocks in
 *   msgsnd, which the kernel wakes as soon as there is room. Removal
 *   (IPC_RMID) is seen at the next attempt: -EIDRM within 5 ms, at once for
 *   a receive with selector 0 or a send blocked in msgsnd.
 *
 * Close stops the watcher with pthread_cancel(); cancellation is enabled
 * only inside its msgrcv, which takes nothing but a zero-length message (one
 * arriving in that instant may be lost). The creator removes the queue first
 * unless IPK_CHAN_KEEP, which wakes the watcher with EIDRM instead. Messages
 * the channel holds go back to the queue (at its end) when it stays.
 *
 * After fork(), a child that receives on a channel whose watcher ran in the
 * parent starts afresh: new eventfd at the same descriptor number, new
 * watcher; what the parent's channel held stays with the parent.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "internal.h"
#include "transport.h"

#define BACKOFF_MIN_NS (50 * IPK_USEC)
#define BACKOFF_MAX_NS (5 * IPK_MSEC)
#define MSGMAX_FALLBACK 8192
#define OPEN_TRIES 100
#define HOLD_MAX ((size_t)1 << 30)

struct msgbox {
	long mtype;
	char mtext[];
};

struct sysvq {
	int id;
	pid_t creator; /* removes the queue at close; 0: not ours */
	bool can_send, can_recv;
	struct msgbox *sbuf; /* send: type + payload, max_msg bytes */
	struct msgbox *rbuf; /* receive: what msgrcv writes, rcap bytes */
	size_t rcap;
	/* The message a receive refused (-EMSGSIZE); receiver only. */
	struct msgbox *held;
	size_t hcap, hlen;
	bool hfull;
	/* The watcher; the fields after `lock` are guarded by it. started
	 * and gen belong to the receiver (and close). */
	bool started;
	unsigned gen; /* fork generation of this process's channel */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* armed, zfull, err or stop changed */
	bool armed;          /* the watcher should wait in msgrcv */
	bool stop;
	bool zfull; /* a zero-length message the watcher took */
	long ztype;
	int err; /* the watcher saw the queue go: -EIDRM */
	int efd; /* ch->fd: readable while !armed */
};

/* Bumped in the child at every fork(): a watcher of an older generation
 * does not exist in this process. Relaxed: the handler runs in the one
 * thread of the new child, before anything reads it. */
static atomic_uint fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
	atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
}

static void register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, on_fork_child);
}

static unsigned current_gen(void)
{
	return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

/* ---- eventfd: readable while the watcher is not armed ----------------- */

static void efd_set(int efd)
{
	uint64_t one = 1;

	(void)!write(efd, &one, sizeof(one));
}

static void efd_clear(int efd)
{
	uint64_t v;

	(void)!read(efd, &v, sizeof(v));
}

/* ---- the watcher ----------------------------------------------------- */

static void *watcher(void *arg)
{
	struct sysvq *s = arg;
	struct msgbox zbuf;

	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	(void)pthread_mutex_lock(&s->lock);
	for (;;) {
		ssize_t n;
		int e;

		while (!s->armed && !s->stop)
			(void)pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop)
			break;
		(void)pthread_mutex_unlock(&s->lock);
		/* Only here may close() cancel us: msgsz 0 takes nothing
		 * but a zero-length message. */
		(void)pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		n = msgrcv(s->id, &zbuf, 0, 0, 0);
		e = errno;
		(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		(void)pthread_mutex_lock(&s->lock);
		if (n < 0 && e == EINTR)
			continue;
		if (n >= 0) {
			s->zfull = true;
			s->ztype = zbuf.mtype;
		} else if (e != E2BIG) {
			s->err = e == EIDRM || e == EINVAL ? -EIDRM : -e;
		}
		/* E2BIG: a message is queued, untouched */
		s->armed = false;
		efd_set(s->efd);
		(void)pthread_cond_broadcast(&s->cond);
		if (s->err)
			break;
	}
	(void)pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int start_watcher(struct sysvq *s)
{
	sigset_t all, old;
	int r;

	/* the watcher takes no signal: they belong to the application */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->thread, NULL, watcher, s);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	s->started = true;
	return 0;
}

/* Under s->lock: let the watcher wait for the next message. Without a
 * watcher (none could be started) the eventfd simply stays readable. */
static void arm(struct sysvq *s)
{
	if (s->armed || s->zfull || s->err || s->stop)
		return;
	if (!s->started && start_watcher(s) < 0)
		return;
	s->armed = true;
	efd_clear(s->efd);
	(void)pthread_cond_broadcast(&s->cond);
}

/* In a child after fork(): the watcher and what it guarded stayed behind. */
static int adopt_after_fork(struct ipk_chan *ch, struct sysvq *s)
{
	pthread_condattr_t ca;
	int efd;

	efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return ipk__neg_errno();
	/* same number, new eventfd: ipk_chan_fd() stays valid */
	if (dup3(efd, s->efd, O_CLOEXEC) < 0) {
		int r = ipk__neg_errno();

		ipk__close(efd);
		return r;
	}
	ipk__close(efd);
	(void)pthread_mutex_init(&s->lock, NULL);
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&s->cond, &ca);
	(void)pthread_condattr_destroy(&ca);
	s->started = s->armed = s->stop = s->zfull = s->hfull = false;
	s->err = 0;
	s->gen = current_gen();
	ch->fd = s->efd;
	return 0;
}

/* Wait on s->cond until @deadline_ns; under s->lock. -ETIMEDOUT after it. */
static int cond_wait_until(struct sysvq *s, int64_t deadline_ns)
{
	struct timespec ts;

	if (deadline_ns == IPK__NEVER)
		return -pthread_cond_wait(&s->cond, &s->lock);
	ts.tv_sec = deadline_ns / IPK_SEC;
	ts.tv_nsec = deadline_ns % IPK_SEC;
	return -pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

/* ---- receive --------------------------------------------------------- */

static bool matches(long type, long select)
{
	return select == 0 || (select > 0 && type == select) || (select < 0 && type <= -select);
}

static int grow(struct msgbox **b, size_t *cap)
{
	size_t n = *cap * 2;
	struct msgbox *p;

	if (n > HOLD_MAX)
		return -EMSGSIZE;
	p = realloc(*b, sizeof(**b) + n);
	if (!p)
		return -ENOMEM;
	*b = p;
	*cap = n;
	return 0;
}

static ssize_t deliver(struct msgbox *b, size_t n, void *buf, long *tag)
{
	if (n)
		memcpy(buf, b->mtext, n);
	*tag = b->mtype;
	return (ssize_t)n;
}

static int rcv_errno(void)
{
	return errno == EIDRM || errno == EINVAL ? -EIDRM : ipk__neg_errno();
}

/* The message msgrcv refused as longer than @len: take it and hold it. */
static ssize_t refuse(struct ipk_chan *ch, struct sysvq *s, void *buf, size_t len, long select,
		      long *tag)
{
	struct msgbox *t;
	ssize_t n;
	size_t c;

	if (s->hfull) {
		ch->next_len = s->rcap > len ? s->rcap : len + 1; /* upper bound */
		return -EMSGSIZE;
	}
	for (;;) {
		int r;

		n = msgrcv(s->id, s->rbuf, s->rcap, select, IPC_NOWAIT);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != E2BIG)
			return errno == ENOMSG ? -ENOMSG : rcv_errno();
		r = grow(&s->rbuf, &s->rcap); /* over msgmax as it was at open */
		if (r < 0) {
			ch->next_len = s->rcap;
			return r;
		}
	}
	if ((size_t)n <= len) /* another took the long one; this one fits */
		return deliver(s->rbuf, (size_t)n, buf, tag);
	t = s->held;
	s->held = s->rbuf;
	s->rbuf = t;
	c = s->hcap;
	s->hcap = s->rcap;
	s->rcap = c;
	s->hlen = (size_t)n;
	s->hfull = true;
	ch->next_len = (size_t)n;
	return -EMSGSIZE;
}

/* One IPC_NOWAIT attempt on the kernel queue. -ENOMSG: nothing matches. */
static ssize_t kernel_take(struct ipk_chan *ch, struct sysvq *s, void *buf, size_t len, long select,
			   long *tag)
{
	for (;;) {
		size_t want = len < s->rcap ? len : s->rcap;
		ssize_t n = msgrcv(s->id, s->rbuf, want, select, IPC_NOWAIT);

		if (n >= 0)
			return deliver(s->rbuf, (size_t)n, buf, tag);
		if (errno == EINTR)
			continue;
		if (errno == ENOMSG)
			return -ENOMSG;
		if (errno == E2BIG)
			return refuse(ch, s, buf, len, select, tag);
		return rcv_errno();
	}
}

/* Deliver a message the channel holds, if one matches. -ENOMSG: none. */
static ssize_t local_take(struct ipk_chan *ch, struct sysvq *s, void *buf, size_t len, long select,
			  long *tag)
{
	bool z = false, h = s->hfull && matches(s->held->mtype, select);
	long ztype = 0, type;

	if (s->started) {
		(void)pthread_mutex_lock(&s->lock);
		z = s->zfull && matches(s->ztype, select);
		ztype = s->ztype;
		(void)pthread_mutex_unlock(&s->lock);
	}
	if (!h && !z)
		return -ENOMSG;
	/* with a negative selector the lowest type wins; else the held one */
	if (h && z && select < 0 && ztype < s->held->mtype)
		h = false;
	type = h ? s->held->mtype : ztype;
	if (select < 0 && type > 1) {
		/* a lower type still in the kernel comes first */
		ssize_t r = kernel_take(ch, s, buf, len, -(type - 1), tag);

		if (r != -ENOMSG)
			return r;
	}
	if (!h) {
		(void)pthread_mutex_lock(&s->lock);
		s->zfull = false; /* the watcher fired for it: eventfd stays set */
		(void)pthread_mutex_unlock(&s->lock);
		*tag = ztype;
		return 0;
	}
	if (s->hlen > len) {
		ch->next_len = s->hlen;
		return -EMSGSIZE;
	}
	s->hfull = false;
	return deliver(s->held, s->hlen, buf, tag);
}

/* Nothing matched: wait for the watcher or the next back-off step. */
static int wait_more(struct sysvq *s, long select, int64_t deadline_ns, int64_t *step,
		     bool *armed_once)
{
	int r = 0;

	(void)pthread_mutex_lock(&s->lock);
	if (select == 0 || !*armed_once)
		arm(s);
	*armed_once = true;
	if (s->err) {
		r = s->err; /* the queue is gone */
	} else if (select == 0 && s->armed) {
		while (s->armed && !s->err && r == 0)
			r = cond_wait_until(s, deadline_ns);
		if (r == -ETIMEDOUT && !s->armed)
			r = 0; /* fired at the last moment: look once more */
	} else {
		int64_t until = ipk__now_ns() + *step;

		if (deadline_ns != IPK__NEVER && until >= deadline_ns) {
			until = deadline_ns;
			if (ipk__now_ns() >= deadline_ns)
				r = -ETIMEDOUT;
		}
		if (r == 0 && cond_wait_until(s, until) == -ETIMEDOUT && until == deadline_ns)
			r = -ETIMEDOUT;
		else if (r == 0 && s->err)
			r = s->err;
		*step = *step * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : *step * 2;
	}
	(void)pthread_mutex_unlock(&s->lock);
	return r;
}

static ssize_t sysv_recv_tag(struct ipk_chan *ch, void *buf, size_t len, long select, long *tag,
			     int64_t deadline_ns)
{
	struct sysvq *s = ch->t;
	int64_t step = BACKOFF_MIN_NS;
	bool armed_once = false;

	if (!s->can_recv)
		return -EBADF;
	if (s->gen != current_gen()) {
		int r = adopt_after_fork(ch, s);

		if (r < 0)
			return r;
	}
	for (;;) {
		ssize_t r = local_take(ch, s, buf, len, select, tag);
		int w;

		if (r == -ENOMSG)
			r = kernel_take(ch, s, buf, len, select, tag);
		if (r != -ENOMSG)
			return r;
		if (deadline_ns == IPK__NOWAIT) {
			(void)pthread_mutex_lock(&s->lock);
			arm(s); /* so the eventfd tells when to try again */
			(void)pthread_mutex_unlock(&s->lock);
			return -EAGAIN;
		}
		w = wait_more(s, select, deadline_ns, &step, &armed_once);
		if (w < 0)
			return w;
	}
}

static ssize_t sysv_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	long tag;

	return sysv_recv_tag(ch, buf, len, 0, &tag, deadline_ns);
}

/* ---- send ------------------------------------------------------------ */

/* msgsnd said EINVAL: the queue is gone, or the message is over msgmax. */
static int snd_einval(struct sysvq *s)
{
	struct msqid_ds ds;

	return msgctl(s->id, IPC_STAT, &ds) < 0 ? -EIDRM : -EMSGSIZE;
}

static int send_type(struct sysvq *s, size_t len, long type, int64_t deadline_ns)
{
	int64_t step = BACKOFF_MIN_NS;

	s->sbuf->mtype = type;
	for (;;) {
		int r;

		if (msgsnd(s->id, s->sbuf, len, IPC_NOWAIT) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EIDRM)
			return -EIDRM;
		if (errno == EINVAL)
			return snd_einval(s);
		if (errno != EAGAIN)
			return ipk__neg_errno();
		if (deadline_ns == IPK__NEVER)
			break; /* no limit: let the kernel wake us when there is room */
		r = ipk__sleep_until(deadline_ns, step); /* full: msgsnd cannot be polled */
		if (r < 0)
			return r;
		step = step * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : step * 2;
	}
	while (msgsnd(s->id, s->sbuf, len, 0) < 0) {
		if (errno == EIDRM)
			return -EIDRM;
		if (errno == EINVAL)
			return snd_einval(s);
		if (errno != EINTR)
			return ipk__neg_errno();
	}
	return 0;
}

static int sysv_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		     int64_t deadline_ns)
{
	struct sysvq *s = ch->t;
	size_t off = 0;

	if (!s->can_send)
		return -EBADF;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len)
			memcpy(s->sbuf->mtext + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return send_type(s, len, 1, deadline_ns);
}

static int sysv_send_tag(struct ipk_chan *ch, const void *buf, size_t len, long tag,
			 int64_t deadline_ns)
{
	struct sysvq *s = ch->t;

	if (tag < 1)
		return -EINVAL; /* msgsnd needs a positive type */
	if (!s->can_send)
		return -EBADF;
	if (len)
		memcpy(s->sbuf->mtext, buf, len);
	return send_type(s, len, tag, deadline_ns);
}

/* ---- open and close -------------------------------------------------- */

static int get_key(const struct ipk_url *url, key_t *key)
{
	switch (url->sysv) {
	case IPK__SYSV_KEY:
		*key = (key_t)url->key;
		return 0;
	case IPK__SYSV_FTOK:
		*key = ftok(url->path, url->proj);
		return *key == (key_t)-1 ? ipk__neg_errno() : 0;
	case IPK__SYSV_PRIVATE:
		*key = IPC_PRIVATE;
		return 0;
	}
	return -EINVAL;
}

/* A creating end found queue @id at its key: adopt it only if it is ours
 * (owner and creator) and open to others no more than @mode; else -EPERM. */
static int adopt_check(int id, mode_t mode)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return errno == EACCES ? -EPERM : ipk__neg_errno();
	if (ds.msg_perm.cuid != geteuid())
		return -EPERM; /* its creator may change or remove it */
	return ipk__owner_check(ds.msg_perm.uid, ds.msg_perm.mode & 0777, mode);
}

/* msgget as the flags say; sets *created when this call made the queue. */
static int get_queue(struct ipk_chan *ch, const struct ipk_url *url, key_t key, int perm,
		     bool *created)
{
	int mode = (int)ipk__url_mode(url);

	*created = false;
	if (key == IPC_PRIVATE) {
		int id = msgget(IPC_PRIVATE, IPC_CREAT | mode);

		*created = id >= 0;
		return id < 0 ? ipk__neg_errno() : id;
	}
	if (!(ch->flags & IPK_CHAN_CREATE)) {
		/* asking for @perm makes msgget check the permission now */
		int id = msgget(key, perm);

		return id < 0 ? ipk__neg_errno() : id;
	}
	for (int i = 0; i < OPEN_TRIES; i++) {
		int id = msgget(key, IPC_CREAT | IPC_EXCL | mode);

		if (id >= 0) {
			*created = true;
			return id;
		}
		if (errno != EEXIST || (ch->flags & IPK_CHAN_EXCL))
			return ipk__neg_errno();
		id = msgget(key, perm);
		if (id >= 0) {
			int r = adopt_check(id, (mode_t)mode);

			return r < 0 ? r : id;
		}
		if (errno != ENOENT)
			return ipk__neg_errno();
	}
	return -EAGAIN;
}

/* The largest message: msgsize= if the kernel can carry it, else -EINVAL;
 * without msgsize=, what one message in this queue can be. */
static int fit_max(struct ipk_chan *ch, const struct ipk_url *url, int id, size_t *msgmax)
{
	int64_t mm = ipk__proc_i64("/proc/sys/kernel/msgmax");
	struct msqid_ds ds;
	size_t qbytes;

	*msgmax = mm > 0 ? (size_t)mm : MSGMAX_FALLBACK;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		return ipk__neg_errno();
	qbytes = (size_t)ds.msg_qbytes;
	if (url->set[IPK__OPT_MSGSIZE]) {
		if (ch->max_msg > *msgmax || ch->max_msg > qbytes)
			return -EINVAL; /* kernel.msgmax or kernel.msgmnb: see ipk_mq_limit_hint */
		return 0;
	}
	ch->max_msg = *msgmax < qbytes ? *msgmax : qbytes;
	return 0;
}

/* Give back what the channel holds (to the end of the queue). */
static void put_back(struct sysvq *s)
{
	if (s->hfull)
		(void)msgsnd(s->id, s->held, s->hlen, IPC_NOWAIT);
	if (s->zfull) {
		struct msgbox z = { .mtype = s->ztype };

		(void)msgsnd(s->id, &z, 0, IPC_NOWAIT);
	}
	s->hfull = s->zfull = false;
}

static void sysv_close(struct ipk_chan *ch)
{
	struct sysvq *s = ch->t;
	bool mine, remove;

	if (!s)
		return;
	mine = s->gen == current_gen();
	remove = s->creator && s->creator == getpid() && !(ch->flags & IPK_CHAN_KEEP);
	if (remove)
		(void)msgctl(s->id, IPC_RMID, NULL); /* wakes the watcher: EIDRM */
	if (mine && s->started) {
		(void)pthread_mutex_lock(&s->lock);
		s->stop = true;
		(void)pthread_cond_broadcast(&s->cond);
		(void)pthread_mutex_unlock(&s->lock);
		(void)pthread_cancel(s->thread);
		(void)pthread_join(s->thread, NULL);
	}
	if (mine && !remove)
		put_back(s);
	if (mine) {
		(void)pthread_cond_destroy(&s->cond);
		(void)pthread_mutex_destroy(&s->lock);
	}
	ipk__close(s->efd);
	free(s->sbuf);
	free(s->rbuf);
	free(s->held);
	free(s);
	ch->t = NULL;
}

static int sysv_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	bool rd = !(ch->flags & IPK_CHAN_WRONLY), wr = !(ch->flags & IPK_CHAN_RDONLY);
	pthread_condattr_t ca;
	struct sysvq *s;
	size_t msgmax;
	bool created;
	key_t key;
	int r;

	(void)deadline_ns; /* msgget never waits */
	r = get_key(url, &key);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->efd = -1;
	(void)pthread_once(&atfork_once, register_atfork);
	s->gen = current_gen();
	s->can_recv = rd;
	s->can_send = wr;
	r = get_queue(ch, url, key, (rd ? 0400 : 0) | (wr ? 0200 : 0), &created);
	if (r < 0) {
		free(s);
		return r;
	}
	s->id = r;
	if (created)
		s->creator = getpid();
	r = fit_max(ch, url, s->id, &msgmax);
	if (r < 0)
		goto fail;
	s->rcap = s->hcap = ch->max_msg > msgmax ? ch->max_msg : msgmax;
	if (wr) {
		s->sbuf = malloc(sizeof(*s->sbuf) + ch->max_msg);
		if (!s->sbuf)
			goto fail_nomem;
	}
	if (rd) {
		s->rbuf = malloc(sizeof(*s->rbuf) + s->rcap);
		s->held = malloc(sizeof(*s->held) + s->hcap);
		if (!s->rbuf || !s->held)
			goto fail_nomem;
	}
	/* readable at first: the first receive starts the watcher */
	s->efd = eventfd(rd ? 1 : 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		r = ipk__neg_errno();
		goto fail;
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto fail_nomem;
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&s->cond, &ca);
	(void)pthread_condattr_destroy(&ca);
	if (r != 0) {
		(void)pthread_mutex_destroy(&s->lock);
		goto fail_nomem;
	}
	ch->t = s;
	ch->fd = s->efd;
	return 0;

fail_nomem:
	r = -ENOMEM;
fail:
	if (created)
		(void)msgctl(s->id, IPC_RMID, NULL);
	ipk__close(s->efd);
	free(s->sbuf);
	free(s->rbuf);
	free(s->held);
	free(s);
	return r;
}

const struct ipk_transport ipk__transport_sysvmq = {
	.scheme = "sysvmq",
	.open = sysv_open,
	.send = sysv_send,
	.recv = sysv_recv,
	.send_tag = sysv_send_tag,
	.recv_tag = sysv_recv_tag,
	.send_batch = ipk__send_batch_loop,
	.recv_batch = ipk__recv_batch_loop,
	.flush = ipk__no_flush,
	.fd = ipk__fd_plain,
	.close = sysv_close,
	.subscribers = ipk__no_subscribers,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_sysvmq = {
	.name = "sysvmq",
	.addr = IPK__ADDR_SYSV,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_PERM),
	.obj = IPK__OBJ_SYSV,
	.tp = &ipk__transport_sysvmq,
};
