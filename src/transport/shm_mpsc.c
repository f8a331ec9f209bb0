/* SPDX-License-Identifier: MIT */
/*
 * transport/shm_mpsc.c - shm:/name?mode=mpsc, many producers into one
 * consumer (mpsc.h) as a channel.
 *
 * The creating end (IPK_CHAN_CREATE) is the consumer and only receives;
 * every other end is a producer of its own and only sends. shm.c hands a
 * channel over here when the URL says mode=mpsc. As with the ring, nothing
 * here touches shared memory: it is all ipk_mpsc calls.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <ipckit/mpsc.h>

#include "internal.h"
#include "shmname.h"
#include "transport.h"

/* A consumer without msgsize= takes messages up to the default lane's
 * largest (ipk_mpsc_prod_opts: 256 KiB / 4 - 16), rounded up. */
#define CONSUMER_MAX_DEFAULT ((size_t)64 * 1024)

struct mpsc_chan {
	ipk_mpsc *cons;            /* the consumer's end, or NULL */
	ipk_mpsc_prod *prod;       /* a producer's end, or NULL */
	char *gather;              /* max_msg bytes for multi-part sends (producer) */
	struct ipk__namewait wait; /* a producer's wait for the name */
};

static void mpsc_free(struct mpsc_chan *t)
{
	if (!t)
		return;
	ipk_mpsc_close(t->cons);
	ipk_mpsc_prod_close(t->prod);
	ipk__namewait_end(&t->wait);
	free(t->gather);
	free(t);
}

static int open_consumer(struct ipk_chan *ch, struct mpsc_chan *t, const struct ipk_url *url)
{
	struct ipk_mpsc_opts o = { .mode = ipk__url_mode(url) };

	if (ch->flags & IPK_CHAN_WRONLY)
		return -EINVAL; /* the consumer only receives */
	if (url->set[IPK__OPT_CAPACITY])
		return -EINVAL; /* a lane's size is its producer's choice */
	switch (ipk__url_num(url, IPK__OPT_WAIT, IPK__WAIT_FUTEX)) {
	case IPK__WAIT_SPIN:
		o.flags |= IPK_MPSC_SPIN;
		break;
	case IPK__WAIT_ADAPTIVE:
		return -EINVAL; /* the queue's consumer spins or sleeps */
	}
	if (ch->flags & IPK_CHAN_EXCL)
		o.flags |= IPK_MPSC_EXCL;
	if (ch->flags & IPK_CHAN_KEEP)
		o.flags |= IPK_MPSC_KEEP;
	ch->max_msg = url->set[IPK__OPT_MSGSIZE] ? (size_t)url->num[IPK__OPT_MSGSIZE]
						 : CONSUMER_MAX_DEFAULT;
	return ipk_mpsc_create(url->path, &o, &t->cons);
}

/* A producer waits for the queue to appear, as a connector waits for its
 * server: a missing name is retried until the deadline (-ETIMEDOUT); with
 * none, the first answer counts. The wait is on the name (inotify). */
static int open_producer(struct ipk_chan *ch, struct mpsc_chan *t, const struct ipk_url *url,
			 int64_t deadline_ns)
{
	struct ipk_mpsc_prod_opts o = { .capacity = ipk__url_num(url, IPK__OPT_CAPACITY, 0) };
	char path[sizeof(IPK__SHM_DIR) + NAME_MAX + 1];
	int r;

	if (ch->flags & (IPK_CHAN_RDONLY | IPK_CHAN_EXCL | IPK_CHAN_KEEP))
		return -EINVAL; /* a producer only sends, and creates nothing */
	if (url->set[IPK__OPT_MSGSIZE]) {
		if (url->num[IPK__OPT_MSGSIZE] > UINT32_MAX)
			return -EINVAL;
		o.max_msg = (uint32_t)url->num[IPK__OPT_MSGSIZE];
	}
	/* ipk_mpsc_connect() refuses a longer name before anything waits */
	(void)snprintf(path, sizeof(path), "%s%.*s", IPK__SHM_DIR, NAME_MAX, url->path);
	ipk__namewait_init(&t->wait, path, 0, 0);
	for (;;) {
		r = ipk_mpsc_connect(url->path, &o, ipk__timeout_of(deadline_ns), &t->prod);
		if (r != -ENOENT || deadline_ns == IPK__NOWAIT)
			break;
		r = ipk__namewait(&t->wait, deadline_ns); /* -ETIMEDOUT at the end */
		if (r < 0)
			break;
	}
	ipk__namewait_stop(&t->wait);
	if (r < 0)
		return r;
	ch->max_msg = ipk_mpsc_prod_max_msg(t->prod);
	t->gather = malloc(ch->max_msg ? ch->max_msg : 1);
	return t->gather ? 0 : -ENOMEM;
}

static int mpsc_open(struct ipk_chan *ch, const struct ipk_url *url, int64_t deadline_ns)
{
	struct mpsc_chan *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	ipk__namewait_init(&t->wait, NULL, 0, 0);
	if (ch->flags & IPK_CHAN_CREATE)
		r = open_consumer(ch, t, url);
	else
		r = open_producer(ch, t, url, deadline_ns);
	if (r < 0) {
		mpsc_free(t);
		return r;
	}
	ch->t = t;
	return 0;
}

static int mpsc_send(struct ipk_chan *ch, const struct iovec *iov, int iovcnt, size_t len,
		     int64_t deadline_ns)
{
	struct mpsc_chan *t = ch->t;
	const void *buf = iovcnt > 0 ? iov[0].iov_base : "";

	if (!t->prod)
		return -EBADF; /* the consumer's end */
	if (len > ch->max_msg)
		return -EMSGSIZE;
	if (iovcnt > 1) {
		ipk__iov_gather(t->gather, iov, iovcnt);
		buf = t->gather;
	}
	return ipk_mpsc_send(t->prod, buf, len, ipk__timeout_of(deadline_ns));
}

static ssize_t mpsc_recv(struct ipk_chan *ch, void *buf, size_t len, int64_t deadline_ns)
{
	struct mpsc_chan *t = ch->t;
	struct ipk_mpsc_stats st;
	ssize_t r;

	if (!t->cons)
		return -EBADF; /* a producer's end */
	r = ipk_mpsc_recv(t->cons, buf, len, NULL, ipk__timeout_of(deadline_ns));
	if (r == -EMSGSIZE)
		ch->next_len = ipk_mpsc_msg_len(t->cons);
	/* records whose producer died while writing them: never delivered */
	if (ipk_mpsc_stats(t->cons, &st) == 0)
		ch->lost = st.skipped;
	return r;
}

static int mpsc_fd(struct ipk_chan *ch)
{
	struct mpsc_chan *t = ch->t;

	/* A producer waits only for room, in its sends: nothing to poll. */
	return t->cons ? ipk_mpsc_fd(t->cons) : -EOPNOTSUPP;
}

static void mpsc_close(struct ipk_chan *ch)
{
	mpsc_free(ch->t);
	ch->t = NULL;
}

const struct ipk_transport ipk__transport_shm_mpsc = {
	.scheme = "shm",
	.open = mpsc_open,
	.send = mpsc_send,
	.recv = mpsc_recv,
	.send_tag = ipk__send_untagged,
	.recv_tag = ipk__recv_untagged,
	.send_batch = ipk__send_batch_loop,
	.recv_batch = ipk__recv_batch_loop,
	.flush = ipk__no_flush,
	.fd = mpsc_fd,
	.close = mpsc_close,
	.subscribers = ipk__no_subscribers,
	.listen = ipk__no_listen,
	.accept = ipk__no_accept,
};
