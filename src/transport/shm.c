/* SPDX-License-Identifier: MIT */
/*
 * transport/shm.c - shm:/name, the broadcast ring (ring.h) as a channel.
 *
 * The creating end (IPK_CHAN_CREATE) is the publisher and only sends; every
 * other end is a subscriber and only receives. With mode=queue the ring is
 * the lossless queue, and the opening end is its one consumer. With
 * mode=mpsc it is another object, many producers into one consumer, served
 * by transport/shm_mpsc.c. Nothing here touches shared memory itself: it
 * is all ipk_ring calls, so the channel costs one indirect call over the
 * ring API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ipckit/ring.h>

#include "internal.h"
#include "shmname.h"
#include "transport.h"

struct shm_chan {
	ipk_ring *pub;             /* the publisher's end, or NULL */
	ipk_ring_sub *sub;         /* a subscriber's end, or NULL */
	bool queue;                /* mode=queue: sends wait for room */
	char *gather;              /* max_msg bytes for multi-part sends (publisher) */
	struct ipk__namewait wait; /* a subscriber's wait: closed with the channel */
};

static void shm_free(struct shm_chan *t)
{
	if (!t)
		return;
	ipk_ring_close(t->pub);
	ipk_ring_sub_close(t->sub);
	ipk__namewait_end(&t->wait);
	free(t->gather);
	free(t);
}

static int open_pub(struct ipk_chan *ch, struct shm_chan *t, const struct ipk_url *url)
{
	struct ipk_ring_opts o = {
		.capacity = ipk__url_num(url, IPK__OPT_CAPACITY, 0),
		.mode = ipk__url_mode(url),
	};
	struct ipk_ring_stats st;
	int r;

	if (ch->flags & IPK_CHAN_RDONLY)
		return -EINVAL; /* a publisher only sends */
	/* msgsize= left out means the ring's own default, not 64 KiB. */
	if (url->set[IPK__OPT_MSGSIZE]) {
		if (url->num[IPK__OPT_MSGSIZE] > UINT32_MAX)
			return -EINVAL;
		o.max_msg = (uint32_t)url->num[IPK__OPT_MSGSIZE];
	}
	if (ch->flags & IPK_CHAN_EXCL)
		o.flags |= IPK_RING_EXCL;
	if (ch->flags & IPK_CHAN_KEEP)
		o.flags |= IPK_RING_KEEP;
	if (t->queue)
		o.flags |= IPK_RING_QUEUE;
	r = ipk_ring_create(url->path, &o, &t->pub);
	if (r < 0)
		return r;
	(void)ipk_ring_stats(t->pub, &st);
	ch->max_msg = (size_t)st.max_msg;
	t->gather = malloc(ch->max_msg ? ch->max_msg : 1);
	return t->gather ? 0 : -ENOMEM;
}

/* The files of ring "/name" (ring.h) that a subscriber waits for. */
struct ring_files {
	struct ipk__namewait *w; /* the feed's name, and names that begin with it */
	char feed[sizeof(IPK__SHM_DIR) + NAME_MAX + 1];
	char bell[sizeof(IPK__SHM_DIR) + NAME_MAX + 1];
};

static void ring_files_init(struct ring_files *f, const char *name, struct ipk__namewait *w)
{
	/* ipk_ring_open() refuses a longer name before anything waits */
	(void)snprintf(f->feed, sizeof(f->feed), "%s%.*s", IPK__SHM_DIR, NAME_MAX, name);
	(void)snprintf(f->bell, sizeof(f->bell), "%.*s-bell", (int)(sizeof(f->bell) - 6), f->feed);
	ipk__namewait_init(w, f->feed, IPK__NAMEWAIT_PREFIX, 0);
	f->w = w;
}

/*
 * A ring being made shows its feed at the name first, its doorbell a moment
 * later, and becomes valid (its header stored) after both. An open that
 * looked for the doorbell before it was there and found the header stored
 * would subscribe without one, waking every millisecond for good; so while
 * only the feed is there, wait for the doorbell's name first.
 */
static bool half_made(const struct ring_files *f)
{
	struct stat st;

	return lstat(f->feed, &st) == 0 && lstat(f->bell, &st) < 0 && errno == ENOENT;
}

/* After ipk_ring_open() said @r (-ENOENT or -EAGAIN): wait until it is
 * worth trying again. Return: >= 0 to try; -ETIMEDOUT; -errno. */
static int ring_wait(struct ring_files *f, int r, int64_t deadline_ns)
{
	if (r == -EAGAIN && !half_made(f)) /* no event marks a header stored */
		return ipk__namewait_soon(f->w, deadline_ns);
	do
		r = ipk__namewait(f->w, deadline_ns);
	while (r == 1 && half_made(f));
	return r;
}

/* A subscriber waits for the ring to appear, as a connector waits for its
 * server: a missing name, or one whose publisher has not finished setting
 * it up (-EAGAIN), is retried until the deadline (-ETIMEDOUT); with none,
 * the first answer counts. Anything else at the name fails at once. One
 * that waited, and has no from=, starts at the ring's first message: it
 * was there before the publisher, so it misses nothing. It waits on the
 * name through inotify (ipk__namewait()), and opens within microseconds
 * of the ring becoming valid; the instance is closed with the channel,
 * since closing it now could take milliseconds. */
static int open_sub(struct ipk_chan *ch, struct shm_chan *t, const struct ipk_url *url,
		    int64_t deadline_ns)
{
	struct ipk_ring_sub_opts o = { .flags = t->queue ? IPK_RING_CONSUMER : 0 };
	struct ipk_ring_counts c;
	struct ring_files f;
	int r;

	if (ch->flags & (IPK_CHAN_WRONLY | IPK_CHAN_EXCL | IPK_CHAN_KEEP))
		return -EINVAL; /* a subscriber only receives, and creates nothing */
	ipk__ring_start(url, &o);
	ring_files_init(&f, url->path, &t->wait);
	for (;;) {
		r = ipk_ring_open(url->path, &o, &t->sub);
		if ((r != -ENOENT && r != -EAGAIN) || deadline_ns == IPK__NOWAIT)
			break;
		if (!url->set[IPK__OPT_FROM]) {
			o.from = IPK_RING_FROM_SEQ;
			o.from_seq = 0;
		}
		r = ring_wait(&f, r, deadline_ns); /* -ETIMEDOUT at the end */
		if (r < 0)
			break;
	}
	ipk__namewait_stop(&t->wait); /* closed with the channel: no time lost now */
	if (r < 0)
		return r;
	ch->max_msg = ipk_ring_sub_max_msg(t->sub);
	(void)ipk_ring_counts(t->sub, &c);
	ch->skipped = c.skipped;
	return 0;
}

static int shm_open_chan(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	uint64_t kind = ipk__url_num(url, IPK__OPT_KIND, IPK__SHM_RING);
	struct shm_chan *t;
	int r;

	if (kind == IPK__SHM_MPSC) { /* another object: its own ops (shm_mpsc.c) */
		ch->tp = &ipk__transport_shm_mpsc;
		return ch->tp->open(ch, url, deadline_ns);
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ipk__namewait_init(&t->wait, NULL, 0, 0);
	t->queue = kind == IPK__SHM_QUEUE;
	if (ch->flags & IPK_CHAN_CREATE)
		r = open_pub(ch, t, url);
	else
		r = open_sub(ch, t, url, deadline_ns);
	if (r < 0) {
		shm_free(t);
		return r;
	}
	ch->t = t;
	return 0;
}

static int shm_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		    int64_t deadline_ns)
{
	struct shm_chan *t = ch->t;
	const void *buf = iovcnt > 0 ? iov[0].iov_base : "";

	if (!t->pub)
		return -EBADF; /* a subscriber's end */
	if (iovcnt > 1) {
		ipk__iov_gather(t->gather, iov, iovcnt);
		buf = t->gather;
	}
	if (!t->queue)
		return ipk_ring_publish(t->pub, buf, len); /* never waits */
	return ipk_ring_publish_wait(t->pub, buf, len, ipk__timeout_of(deadline_ns));
}

/*
 * A batch goes to ipk_ring_publish_batch() (committed together), cut
 * before the first message a send would refuse; a full queue is waited on
 * for the next message as ipk_chan_send() would.
 */
static int shm_send_batch(struct ipk_chan *ch, const struct ipk_msg *m, unsigned n,
			  int64_t deadline_ns)
{
	struct shm_chan *t = ch->t;
	unsigned done = 0;

	if (!t->pub)
		return -EBADF;
	while (done < n) {
		const struct ipk_msg *next = m + done;
		unsigned k = 0;
		int r;

		while (done + k < n && next[k].len <= ch->max_msg &&
		       (next[k].buf || next[k].len == 0))
			k++;
		if (k == 0)
			return done ? (int)done : -EMSGSIZE;
		r = ipk_ring_publish_batch(t->pub, next, k);
		if (r == -EAGAIN && t->queue) {
			r = ipk_ring_publish_wait(t->pub, next->buf, next->len,
						  ipk__timeout_of(deadline_ns));
			r = r < 0 ? r : 1;
		}
		if (r < 0)
			return done ? (int)done : r;
		done += (unsigned)r;
	}
	return (int)n;
}

/* After a receive that returned @r: the channel's loss count, and the
 * size of a message refused with -EMSGSIZE. */
static ssize_t received(struct ipk_chan *ch, ssize_t r)
{
	struct shm_chan *t = ch->t;
	struct ipk_ring_counts c;

	(void)ipk_ring_counts(t->sub, &c);
	ch->lost = c.lost;
	ch->skipped = c.skipped; /* a start learnt from the first message */
	if (r == -EMSGSIZE)
		ch->next_len = ipk_ring_msg_len(t->sub);
	return r;
}

static ssize_t shm_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	struct shm_chan *t = ch->t;

	if (!t->sub)
		return -EBADF; /* the publisher's end */
	return received(ch, ipk_ring_recv(t->sub, buf, len, ipk__timeout_of(deadline_ns)));
}

static int shm_recv_batch(struct ipk_chan *ch, struct ipk_msg *m, unsigned n, int64_t deadline_ns)
{
	struct shm_chan *t = ch->t;

	if (!t->sub)
		return -EBADF; /* the publisher's end */
	return (int)received(ch, ipk_ring_recv_batch(t->sub, m, n, ipk__timeout_of(deadline_ns)));
}

static int shm_fd(struct ipk_chan *ch)
{
	struct shm_chan *t = ch->t;

	/* The publisher never waits for anyone: there is nothing to poll. */
	return t->sub ? ipk_ring_fd(t->sub) : -EOPNOTSUPP;
}

/* The publisher's end: its ring's subscribers (ipk_ring_subscribers()). */
static int shm_subscribers(struct ipk_chan *ch)
{
	struct shm_chan *t = ch->t;

	return t->pub ? ipk_ring_subscribers(t->pub) : -EOPNOTSUPP;
}

static void shm_close(struct ipk_chan *ch)
{
	shm_free(ch->t);
	ch->t = NULL;
}

const struct ipk_transport ipk__transport_shm = {
	.scheme = "shm",
	.open = shm_open_chan,
	.send = shm_send,
	.recv = shm_recv,
	.send_tag = ipk__send_untagged,
	.recv_tag = ipk__recv_untagged,
	.send_batch = shm_send_batch,
	.recv_batch = shm_recv_batch,
	.flush = ipk__no_flush,
	.fd = shm_fd,
	.close = shm_close,
	.subscribers = shm_subscribers,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};

/* The URL: scheme, address, options (url_parse.h). */
const struct ipk__scheme ipk__scheme_shm = {
	.name = "shm",
	.addr = IPK__ADDR_POSIX,
	.opts = IPK__OPT(IPK__OPT_MSGSIZE) | IPK__OPT(IPK__OPT_CAPACITY) | IPK__OPT(IPK__OPT_KIND) |
		IPK__OPT(IPK__OPT_PERM) | IPK__OPT(IPK__OPT_FROM) | IPK__OPT(IPK__OPT_WAIT),
	.obj = IPK__OBJ_SLASH,
	.tp = &ipk__transport_shm,
};
