/* SPDX-License-Identifier: MIT */
/*
 * transport/mq.c - POSIX message queues (mq:/name) as channels.
 *
 * The queue descriptor is non-blocking and is the channel's descriptor: on
 * Linux an mqd_t is a file descriptor that polls (POLLIN: a message waits,
 * POLLOUT: there is room), so waiting is ipk__wait_fd() with the deadline.
 * Tags are priorities. The notification calls (ipk_mq_notify*) check the
 * channel here and leave the rest to mq.c; the limits live there too.
 *
 * The kernel refuses a receive buffer smaller than the queue's msgsize
 * without consuming anything and without saying how long the message is;
 * such a receive waits for a message as usual and then fails with
 * -EMSGSIZE, next_len = msgsize (an upper bound).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ipckit/mq.h>

#include "internal.h"
#include "mqnotify.h"
#include "transport.h"

struct ipk__mq {
	mqd_t q;       /* also ch->fd */
	long msgsize;  /* the queue's mq_msgsize */
	long prio_max; /* sysconf(_SC_MQ_PRIO_MAX) */
	bool can_send, can_recv;
	pid_t creator; /* unlinks at close (unless KEEP); 0 if not ours */
	dev_t dev;     /* the queue we made, so a successor is never unlinked */
	ino_t ino;
	char *gather; /* sendv of several pieces: msgsize bytes, writers only */
	/* ipk_mq_notify*() state; NULL until first armed. Only mq.c touches
	 * it, under its own lock. */
	struct ipk__mq_notifier *notifier;
	char name[NAME_MAX + 2];
};

/* Used when /proc/sys/fs/mqueue does not say (the kernel's own defaults). */
#define MAXMSG_FALLBACK 10
#define MSGSIZE_FALLBACK 8192
/* A queue that vanishes between "exists" and "open": try again this often. */
#define OPEN_TRIES 100

static struct ipk__mq *mq_of(struct ipk_chan *ch)
{
	return ch->t;
}

/* The attributes of a queue we create; NULL: the kernel's defaults. */
static struct mq_attr *create_attr(const struct ipk_url *url, struct mq_attr *a)
{
	if (!url->set[IPK__OPT_MAXMSG] && !url->set[IPK__OPT_MSGSIZE])
		return NULL;
	memset(a, 0, sizeof(*a));
	a->mq_maxmsg = (long)ipk__url_num(url, IPK__OPT_MAXMSG, 0);
	a->mq_msgsize = (long)ipk__url_num(url, IPK__OPT_MSGSIZE, 0);
	if (!a->mq_maxmsg) {
		int64_t v = ipk__proc_i64("/proc/sys/fs/mqueue/msg_default");

		a->mq_maxmsg = v > 0 ? (long)v : MAXMSG_FALLBACK;
	}
	if (!a->mq_msgsize) {
		int64_t v = ipk__proc_i64("/proc/sys/fs/mqueue/msgsize_default");

		a->mq_msgsize = v > 0 ? (long)v : MSGSIZE_FALLBACK;
	}
	return a;
}

/* Open or create; sets *created when this call made the queue. */
static mqd_t open_queue(struct ipk_chan *ch, const struct ipk_url *url, int oflag, bool *created)
{
	struct mq_attr a, *ap = create_attr(url, &a);
	mode_t mode = ipk__url_mode(url);

	*created = false;
	if (!(ch->flags & IPK_CHAN_CREATE))
		return mq_open(url->path, oflag);
	for (int i = 0; i < OPEN_TRIES; i++) {
		mqd_t q = mq_open(url->path, oflag | O_CREAT | O_EXCL, mode, ap);

		if (q >= 0) {
			*created = true;
			return q;
		}
		if (errno != EEXIST || (ch->flags & IPK_CHAN_EXCL))
			return q;
		q = mq_open(url->path, oflag); /* reuse the existing queue */
		if (q >= 0 || errno != ENOENT)
			return q;
	}
	errno = EAGAIN;
	return (mqd_t)-1;
}

/*
 * A creating end found a queue at the name: adopt it only if it is ours,
 * open to others no more than perm= says (-EPERM), and has the maxmsg= and
 * msgsize= the URL asks for, if it does (-EEXIST: another queue).
 */
static int adopt_check(const struct ipk_url *url, const struct mq_attr *a, const struct stat *st)
{
	int r = ipk__owner_check(st->st_uid, st->st_mode, ipk__url_mode(url));

	if (r < 0)
		return r;
	if (url->set[IPK__OPT_MAXMSG] && (uint64_t)a->mq_maxmsg != url->num[IPK__OPT_MAXMSG])
		return -EEXIST;
	if (url->set[IPK__OPT_MSGSIZE] && (uint64_t)a->mq_msgsize != url->num[IPK__OPT_MSGSIZE])
		return -EEXIST;
	return 0;
}

#define MQ_DIR "/dev/mqueue" /* where the mqueue file system is usually mounted */

/*
 * An opening end waits, within its deadline, for a queue that does not
 * exist yet, as the other named transports wait for their names: through
 * inotify on the mqueue mount (/dev/mqueue) where there is one, else by
 * polling (namewait.c). Return: 0 and *@q; -ETIMEDOUT; -errno.
 */
static int wait_queue(struct ipk_chan *ch, const struct ipk_url *url, int oflag,
		      int64_t deadline_ns, mqd_t *q, bool *created)
{
	char path[sizeof(MQ_DIR) + sizeof(url->path)];
	struct ipk__namewait w;
	int r;

	(void)snprintf(path, sizeof(path), "%s%s", MQ_DIR, url->path);
	ipk__namewait_init(&w, path, 0, 0);
	for (;;) {
		*q = open_queue(ch, url, oflag, created);
		if (*q >= 0) {
			r = 0;
			break;
		}
		r = ipk__neg_errno();
		if (r != -ENOENT || (ch->flags & IPK_CHAN_CREATE) || deadline_ns == IPK__NOWAIT)
			break;
		r = ipk__namewait(&w, deadline_ns); /* -ETIMEDOUT at the end */
		if (r < 0)
			break;
	}
	ipk__namewait_end(&w);
	return r;
}

static int mq_open_chan(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	bool rd = !(ch->flags & IPK_CHAN_WRONLY), wr = !(ch->flags & IPK_CHAN_RDONLY);
	int oflag = (rd && wr ? O_RDWR : rd ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC;
	struct ipk__mq *m;
	struct mq_attr a;
	struct stat st;
	bool created;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = wait_queue(ch, url, oflag, deadline_ns, &m->q, &created);
	if (r < 0) {
		free(m);
		return r;
	}
	memcpy(m->name, url->path, url->path_len + 1);
	if (created) {
		m->creator = getpid();
		/* undo the umask, as perm= promises */
		if (fchmod(m->q, ipk__url_mode(url)) < 0)
			goto fail_errno;
	}
	if (mq_getattr(m->q, &a) < 0 || fstat(m->q, &st) < 0)
		goto fail_errno;
	if ((ch->flags & IPK_CHAN_CREATE) && !created) {
		r = adopt_check(url, &a, &st);
		if (r < 0)
			goto fail;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->msgsize = a.mq_msgsize;
	m->prio_max = sysconf(_SC_MQ_PRIO_MAX);
	if (m->prio_max <= 0)
		m->prio_max = 32768; /* the Linux value */
	m->can_recv = rd;
	m->can_send = wr;
	if (wr) {
		m->gather = malloc((size_t)m->msgsize);
		if (!m->gather) {
			errno = ENOMEM;
			goto fail_errno;
		}
	}
	ch->t = m;
	ch->fd = m->q;
	ch->max_msg = (size_t)m->msgsize; /* the queue's, whatever msgsize= said */
	return 0;

fail_errno:
	r = ipk__neg_errno();
fail:
	if (created)
		(void)mq_unlink(m->name);
	(void)mq_close(m->q);
	free(m->gather);
	free(m);
	return r;
}

static int send_prio(struct ipk__mq *m, const void *buf, size_t len, unsigned prio,
		     int64_t deadline_ns)
{
	if (!m->can_send)
		return -EBADF;
	for (;;) {
		int r;

		if (mq_send(m->q, buf, len, prio) == 0)
			return 0;
		r = ipk__retry_wait(m->q, POLLOUT, deadline_ns); /* full: wait for room */
		if (r < 0)
			return r;
	}
}

static int mq_send_iov(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		       int64_t deadline_ns)
{
	struct ipk__mq *m = mq_of(ch);

	if (iovcnt == 1)
		return send_prio(m, iov[0].iov_base, len, 0, deadline_ns);
	if (!m->can_send)
		return -EBADF;
	ipk__iov_gather(m->gather, iov, iovcnt);
	return send_prio(m, m->gather, len, 0, deadline_ns);
}

static int mq_send_tag(struct ipk_chan *ch, const void *buf, size_t len, long tag,
		       int64_t deadline_ns)
{
	struct ipk__mq *m = mq_of(ch);

	if (tag < 0 || tag >= m->prio_max)
		return -EINVAL;
	return send_prio(m, buf, len, (unsigned)tag, deadline_ns);
}

/* Wait until a message waits, without taking it. */
static int wait_message(struct ipk__mq *m, int64_t deadline_ns)
{
	for (;;) {
		struct mq_attr a;
		int r;

		if (mq_getattr(m->q, &a) < 0)
			return ipk__neg_errno();
		if (a.mq_curmsgs > 0)
			return 0;
		r = ipk__wait_fd(m->q, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
}

static ssize_t mq_recv_tag(struct ipk_chan *ch, void *buf, size_t len, long select, long *tag,
			   int64_t deadline_ns)
{
	struct ipk__mq *m = mq_of(ch);

	if (select != 0)
		return -EINVAL; /* POSIX queues order by priority, not by choice */
	if (!m->can_recv)
		return -EBADF;
	if (len < (size_t)m->msgsize) {
		int r = wait_message(m, deadline_ns);

		if (r < 0)
			return r;
		ch->next_len = (size_t)m->msgsize; /* upper bound: the kernel won't say */
		return -EMSGSIZE;
	}
	for (;;) {
		unsigned prio;
		ssize_t n = mq_receive(m->q, buf, len, &prio);
		int r;

		if (n >= 0) {
			*tag = (long)prio;
			return n;
		}
		r = ipk__retry_wait(m->q, POLLIN, deadline_ns);
		if (r < 0)
			return r;
	}
}

static ssize_t mq_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	long tag;

	return mq_recv_tag(ch, buf, len, 0, &tag, deadline_ns);
}

/* Unlink the name only while it still names the queue we created. */
static void unlink_ours(struct ipk__mq *m)
{
	struct stat st;
	mqd_t q = mq_open(m->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (q < 0 && errno == EACCES)
		q = mq_open(m->name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (q < 0) {
		/* perm=0 leaves nothing to check with; another user's queue
		 * (root opens any) is kept by the sticky /dev/mqueue */
		if (errno == EACCES)
			(void)mq_unlink(m->name);
		return;
	}
	if (fstat(q, &st) == 0 && st.st_dev == m->dev && st.st_ino == m->ino)
		(void)mq_unlink(m->name);
	(void)mq_close(q);
}

static void mq_close_chan(struct ipk_chan *ch)
{
	struct ipk__mq *m = mq_of(ch);

	if (!m)
		return;
	ipk__mq_notify_free(&m->notifier);
	if (m->creator && m->creator == getpid() && !(ch->flags & IPK_CHAN_KEEP))
		unlink_ours(m);
	(void)mq_close(m->q);
	free(m->gather);
	free(m);
	ch->t = NULL;
}

/* The queue a notification call acts on: -EOPNOTSUPP for a channel of
 * another transport; with @recv, -EBADF for a sending end. */
static int notify_queue(ipk_chan *ch, bool recv, struct ipk__mq **ret)
{
	IPK_CHECK_ARG(ch);
	if (ch->tp != &ipk__transport_mq)
		return -EOPNOTSUPP;
	if (recv && !mq_of(ch)->can_recv)
		return -EBADF;
	*ret = mq_of(ch);
	return 0;
}

IPK_API int ipk_mq_notify(ipk_chan *ch, ipk_mq_notify_fn fn, void *arg)
{
	struct ipk__mq *m;
	int r = notify_queue(ch, true, &m);

	return r < 0 ? r : ipk__mq_notify(&m->notifier, ch, m->q, fn, arg);
}

IPK_API int ipk_mq_notify_signal(ipk_chan *ch, int signo, void *value)
{
	struct ipk__mq *m;
	int r = notify_queue(ch, true, &m);

	return r < 0 ? r : ipk__mq_notify_signal(&m->notifier, ch, m->q, signo, value);
}

IPK_API int ipk_mq_notify_off(ipk_chan *ch)
{
	struct ipk__mq *m;
	int r = notify_queue(ch, false, &m);

	return r < 0 ? r : ipk__mq_notify_off(&m->notifier);
}

const struct ipk_transport ipk__transport_mq = {
	.scheme = "mq",
	.open = mq_open_chan,
	.send = mq_send_iov,
	.recv = mq_recv,
	.send_tag = mq_send_tag,
	.recv_tag = mq_recv_tag,
	.send_batch = ipk__send_batch_loop,
	.recv_batch = ipk__recv_batch_loop,
	.flush = ipk__no_flush,
	.fd = ipk__fd_plain,
	.close = mq_close_chan,
	.subscribers = ipk__no_subscribers,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_mq = {
	.name = "mq",
	.addr = IPK__ADDR_POSIX,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_MAXMSG) | IPK__OPT(IPK__OPT_PERM),
	.obj = IPK__OBJ_SLASH,
	.tp = &ipk__transport_mq,
};
