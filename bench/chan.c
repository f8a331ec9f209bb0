/* SPDX-License-Identifier: MIT */
/*
 * bench/chan.c - the library's channel rows (ipk_chan, chan.h): every
 * transport opened by URL the way an application opens it, messages sent
 * and received with the public calls. Each row's raw twin is in
 * bench/rawchan.c.
 *
 * Row variants: -batch sends and receives up to BATCH messages per call
 * (ipk_chan_send_batch/recv_batch: sendmmsg/recvmmsg), throughput only;
 * -busy receives with timeout 0 in a loop (busy polling, never sleeping);
 * sysvmq-poll waits on ipk_chan_fd() (the System V queue's eventfd and its
 * watcher thread) and then receives with timeout 0, as an event loop does.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipckit/chan.h>
#include <ipckit/mq.h>

#include "bench.h"

#define BATCH 32

enum how {
	H_PIPE,
	H_FIFO,
	H_LISTEN, /* unix, unix+seqpacket, tcp: a listener made in prepare */
	H_DGRAM,
	H_MQ,
	H_SYSVMQ,
};

enum wait {
	W_BLOCK,
	W_BUSY,
	W_POLL,
};

struct row {
	enum how how;
	const char *scheme; /* H_LISTEN, H_DGRAM */
	bool batch;
	enum wait wait;
};

struct shared {
	ipk_chan *pipe[2][2]; /* [direction A->B, B->A][read end, write end] */
	ipk_listener *l;
	ipk_chan *q[2];   /* the supervisor's mq:/sysvmq: handles (creator) */
	char url[2][160]; /* what the sides open: [A->B], [B->A] or [0] alone */
};

struct end {
	ipk_chan *tx, *rx;
	enum wait wait;
	int fd; /* W_POLL */
	char *bufs;
	struct ipk_msg msgs[BATCH];
};

static const struct row *row_of(const struct bench_env *env)
{
	return env->mech->arg;
}

static int na_limit(const struct bench_env *env, const char *url, int r, enum ipk_mq_op op)
{
	const char *hint = ipk_mq_limit_hint(r, url, op);

	if (!hint)
		return r;
	return bench_na(env, "%s: %s; limit: %s", url, strerror(-r), hint);
}

static int chan_check(const struct bench_env *env)
{
	const struct row *w = row_of(env);
	struct ipk_mq_limits lim;

	if (w->how != H_SYSVMQ || ipk_mq_limits(&lim) < 0)
		return 0;
	if (lim.msgmax >= 0 && (int64_t)env->size > lim.msgmax)
		return bench_na(
			env, "kernel.msgmax is %lld bytes (sysctl -w kernel.msgmax=N to raise it)",
			(long long)lim.msgmax);
	if (lim.msgmnb >= 0 && (int64_t)env->size > lim.msgmnb)
		return bench_na(
			env, "kernel.msgmnb is %lld bytes (sysctl -w kernel.msgmnb=N to raise it)",
			(long long)lim.msgmnb);
	return 0;
}

static void chan_destroy(const struct bench_env *env, void *p)
{
	struct shared *sh = p;
	char path[128];
	int i, j;

	if (row_of(env)->how == H_FIFO) {
		/* A killed side leaves its FIFO behind. */
		for (i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "/tmp/%s-%d", env->tag, i);
			(void)unlink(path);
		}
	}
	if (!sh)
		return;
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++)
			ipk_chan_close(sh->pipe[i][j]);
		ipk_chan_close(sh->q[i]); /* removes the queue */
	}
	ipk_listener_close(sh->l);
	free(sh);
}

static int chan_prepare(const struct bench_env *env, void **ret)
{
	const struct row *w = row_of(env);
	struct shared *sh;
	char url[160];
	int r = 0, i, try;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	switch (w->how) {
	case H_PIPE:
		snprintf(url, sizeof(url), "pipe:?msgsize=%zu", env->size);
		for (i = 0; i < 2 && r == 0; i++)
			r = ipk_chan_pipe(url, 0, &sh->pipe[i][0], &sh->pipe[i][1]);
		break;
	case H_FIFO:
		for (i = 0; i < 2; i++)
			snprintf(sh->url[i], sizeof(sh->url[i]), "fifo:/tmp/%s-%d?msgsize=%zu",
				 env->tag, i, env->size);
		break;
	case H_LISTEN:
		if (!strcmp(w->scheme, "tcp"))
			snprintf(url, sizeof(url), "tcp:127.0.0.1:0?msgsize=%zu", env->size);
		else
			snprintf(url, sizeof(url), "%s:@%s?msgsize=%zu", w->scheme, env->tag,
				 env->size);
		r = ipk_listen(url, 0, &sh->l);
		if (r == 0)
			r = ipk_listener_url(sh->l, sh->url[0], sizeof(sh->url[0]));
		if (r > 0)
			r = 0;
		break;
	case H_DGRAM:
		snprintf(sh->url[0], sizeof(sh->url[0]), "%s:@%s?msgsize=%zu", w->scheme, env->tag,
			 env->size);
		break;
	case H_MQ:
		for (i = 0; i < 2 && r == 0; i++) {
			snprintf(sh->url[i], sizeof(sh->url[i]), "mq:/%s-%d?msgsize=%zu", env->tag,
				 i, env->size);
			/* maxmsg: the default of 10 fits fs.mqueue.msg_max and,
			 * at 64 KiB, RLIMIT_MSGQUEUE's default 800 KiB. */
			snprintf(url, sizeof(url), "%s&maxmsg=10", sh->url[i]);
			r = ipk_chan_open(url, IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0, &sh->q[i]);
			if (r < 0)
				r = na_limit(env, url, r, IPK_MQ_OP_OPEN);
		}
		break;
	case H_SYSVMQ:
		for (i = 0; i < 2 && r == 0; i++) {
			/* A key of our own: the pid, the case, the direction. */
			for (try = 0; try < 64; try++) {
				unsigned key = 0x49000000u | ((unsigned)getpid() & 0xffff) << 8 |
					       (unsigned)(try * 2 + i);

				snprintf(sh->url[i], sizeof(sh->url[i]), "sysvmq:%u?msgsize=%zu",
					 key, env->size);
				r = ipk_chan_open(sh->url[i], IPK_CHAN_CREATE | IPK_CHAN_EXCL, 0,
						  &sh->q[i]);
				if (r != -EEXIST)
					break;
			}
			if (r < 0)
				r = na_limit(env, sh->url[i], r, IPK_MQ_OP_OPEN);
		}
		break;
	}
	if (r != 0) {
		if (r < 0)
			snprintf(env->why, BENCH_WHY_MAX, "%s", env->mech->name);
		chan_destroy(env, sh);
		return r;
	}
	*ret = sh;
	return 0;
}

static void chan_close(void *p, enum bench_side side)
{
	struct end *e = p;

	(void)side;
	if (!e)
		return;
	if (e->rx != e->tx)
		ipk_chan_close(e->rx);
	ipk_chan_close(e->tx);
	free(e->bufs);
	free(e);
}

static int chan_open(const struct bench_env *env, void *p, enum bench_side side, void **ret)
{
	const struct row *w = row_of(env);
	struct shared *sh = p;
	int64_t t = env->timeout_ns;
	struct end *e;
	int r = 0, i, me = side == BENCH_A ? 0 : 1;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->wait = w->wait;
	e->fd = -1;
	switch (w->how) {
	case H_PIPE:
		/* Direction 0 is A -> B: A writes it, B reads it. */
		e->tx = sh->pipe[me][1];
		e->rx = sh->pipe[!me][0];
		ipk_chan_close(sh->pipe[me][0]);
		ipk_chan_close(sh->pipe[!me][1]);
		break;
	case H_FIFO:
		/* Each side creates the FIFO it reads (a reader's open never
		 * waits), then opens the other's, which waits for its reader. */
		r = ipk_chan_open(sh->url[!me], IPK_CHAN_CREATE | IPK_CHAN_RDONLY, t, &e->rx);
		if (r == 0)
			r = ipk_chan_open(sh->url[me], IPK_CHAN_WRONLY, t, &e->tx);
		break;
	case H_LISTEN:
		if (side == BENCH_B)
			r = ipk_accept(sh->l, t, &e->tx);
		else
			r = ipk_chan_open(sh->url[0], 0, t, &e->tx);
		e->rx = e->tx;
		break;
	case H_DGRAM:
		/* B binds; A connects (retrying until B is there); B answers
		 * whoever sent last. */
		r = ipk_chan_open(sh->url[0], side == BENCH_B ? IPK_CHAN_CREATE : 0, t, &e->tx);
		e->rx = e->tx;
		break;
	case H_MQ:
	case H_SYSVMQ:
		r = ipk_chan_open(sh->url[me], 0, t, &e->tx);
		if (r == 0)
			r = ipk_chan_open(sh->url[!me], 0, t, &e->rx);
		break;
	}
	if (r < 0)
		goto fail;
	if (e->wait == W_POLL) {
		e->fd = ipk_chan_fd(e->rx);
		if (e->fd < 0) {
			r = e->fd;
			goto fail;
		}
	}
	if (w->batch) {
		e->bufs = malloc(BATCH * env->size);
		if (!e->bufs) {
			r = -ENOMEM;
			goto fail;
		}
		for (i = 0; i < BATCH; i++)
			e->msgs[i].buf = e->bufs + (size_t)i * env->size;
	}
	*ret = e;
	return 0;
fail:
	chan_close(e, side);
	return r;
}

static int chan_send(void *p, const void *buf, size_t len)
{
	struct end *e = p;

	return ipk_chan_send(e->tx, buf, len, IPK_FOREVER);
}

static int chan_recv(void *p, void *buf, size_t len)
{
	struct end *e = p;
	ssize_t n;

	for (;;) {
		n = ipk_chan_recv(e->rx, buf, len, e->wait == W_BLOCK ? IPK_FOREVER : 0);
		if (n != -EAGAIN)
			break;
		if (e->wait == W_POLL) {
			struct pollfd pf = { .fd = e->fd, .events = POLLIN };

			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				return bench_neg_errno();
		}
	}
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EPROTO;
}

static int chan_send_many(void *p, const void *buf, size_t len, unsigned long n)
{
	struct end *e = p;
	struct ipk_msg m[BATCH];
	unsigned i;

	for (i = 0; i < BATCH; i++)
		m[i] = (struct ipk_msg){ .buf = (void *)(uintptr_t)buf, .len = len };
	while (n > 0) {
		unsigned k = n < BATCH ? (unsigned)n : BATCH;
		int r = ipk_chan_send_batch(e->tx, m, k, IPK_FOREVER);

		if (r < 0)
			return r;
		n -= (unsigned long)r;
	}
	return 0;
}

static int chan_recv_many(void *p, void *buf, size_t len, unsigned long n)
{
	struct end *e = p;
	int i;

	(void)buf;
	while (n > 0) {
		unsigned k = n < BATCH ? (unsigned)n : BATCH;
		int r;

		for (i = 0; i < (int)k; i++)
			e->msgs[i].len = len;
		r = ipk_chan_recv_batch(e->rx, e->msgs, k, IPK_FOREVER);
		if (r < 0)
			return r;
		for (i = 0; i < r; i++)
			if (e->msgs[i].len != len)
				return -EPROTO;
		n -= (unsigned long)r;
	}
	return 0;
}

static const struct bench_ops ops = {
	.check = chan_check,
	.prepare = chan_prepare,
	.open = chan_open,
	.send = chan_send,
	.recv = chan_recv,
	.close = chan_close,
	.destroy = chan_destroy,
};

static const struct bench_ops batch_ops = {
	.check = chan_check,
	.prepare = chan_prepare,
	.open = chan_open,
	.send = chan_send,
	.recv = chan_recv,
	.send_many = chan_send_many,
	.recv_many = chan_recv_many,
	.close = chan_close,
	.destroy = chan_destroy,
};

static const struct row pipe_row = { .how = H_PIPE }, fifo_row = { .how = H_FIFO },
			unix_row = { .how = H_LISTEN, .scheme = "unix" },
			dgram_row = { .how = H_DGRAM, .scheme = "unix+dgram" },
			seqp_row = { .how = H_LISTEN, .scheme = "unix+seqpacket" },
			dgram_batch = { .how = H_DGRAM, .scheme = "unix+dgram", .batch = true },
			seqp_batch = { .how = H_LISTEN, .scheme = "unix+seqpacket", .batch = true },
			dgram_busy = { .how = H_DGRAM, .scheme = "unix+dgram", .wait = W_BUSY },
			tcp_row = { .how = H_LISTEN, .scheme = "tcp" }, mq_row = { .how = H_MQ },
			sysv_row = { .how = H_SYSVMQ },
			sysv_poll = { .how = H_SYSVMQ, .wait = W_POLL };

#define ROW(n, r, k, d, o, a)                                                  \
	{                                                                      \
		.name = n, .raw = r, .kinds = k, .desc = d, .ops = o, .arg = a \
	}
#define BOTH (BENCH_RTT | BENCH_TPUT)

static const struct bench_mech mechs[] = {
	ROW("pipe", "pipe-raw", BOTH | BENCH_RATE, "anonymous pipes, framed (ipk_chan_pipe)", &ops,
	    &pipe_row),
	ROW("fifo", "fifo-raw", BOTH | BENCH_RATE, "named pipes, one per direction (fifo:)", &ops,
	    &fifo_row),
	ROW("unix-stream", "unix-stream-raw", BOTH | BENCH_RATE,
	    "Unix stream socket, framed (unix:@)", &ops, &unix_row),
	ROW("unix-dgram", "unix-dgram-raw", BOTH | BENCH_RATE,
	    "Unix datagram socket (unix+dgram:@)", &ops, &dgram_row),
	ROW("unix-seqpacket", "unix-seqpacket-raw", BOTH | BENCH_RATE,
	    "Unix seqpacket socket (unix+seqpacket:@)", &ops, &seqp_row),
	ROW("unix-dgram-batch", "unix-dgram-batch-raw", BENCH_TPUT,
	    "Unix datagrams, 32 per call (sendmmsg/recvmmsg through the batch calls)", &batch_ops,
	    &dgram_batch),
	ROW("unix-seqpacket-batch", "unix-seqpacket-batch-raw", BENCH_TPUT,
	    "Unix seqpacket, 32 per call (sendmmsg/recvmmsg through the batch calls)", &batch_ops,
	    &seqp_batch),
	ROW("unix-dgram-busy", "unix-dgram-busy-raw", BOTH | BENCH_RATE,
	    "Unix datagrams, receiver busy-polling (timeout 0 in a loop)", &ops, &dgram_busy),
	ROW("tcp", "tcp-raw", BOTH | BENCH_RATE, "TCP over 127.0.0.1, TCP_NODELAY, framed", &ops,
	    &tcp_row),
	ROW("mq", "mq-raw", BOTH | BENCH_RATE, "POSIX message queues, one per direction (mq:)",
	    &ops, &mq_row),
	ROW("sysvmq", "sysvmq-raw", BOTH | BENCH_RATE,
	    "System V message queues, one per direction (sysvmq:)", &ops, &sysv_row),
	ROW("sysvmq-poll", "sysvmq-raw", BOTH | BENCH_RATE,
	    "System V queues, receiver polling ipk_chan_fd() (watcher thread + eventfd)", &ops,
	    &sysv_poll),
};

BENCH_DEFINE_MODULE(chan, mechs);
