/* SPDX-License-Identifier: MIT */
/*
 * bench/rawchan.c - the raw twins of the channel rows: the same message
 * loop in plain system calls, no ipckit. What the kernel allows, so the
 * table can show what the library adds.
 *
 * Byte streams carry exactly @size bytes per message (no frame header);
 * datagrams and queues one kernel message each. Descriptors are blocking,
 * except for the busy-polling row, which spins on MSG_DONTWAIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "bench.h"

#define BATCH 32

enum how {
	R_PIPE,
	R_FIFO,
	R_PAIR, /* socketpair of .type */
	R_TCP,
	R_MQ,
	R_SYSVMQ,
};

struct row {
	enum how how;
	int type; /* R_PAIR: SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	bool batch;
	bool busy;
};

struct shared {
	int fd[2][2]; /* pipes [A->B, B->A][rd, wr]; socketpair [0][A, B]; tcp [0][0] listener */
	int msqid[2];
	char path[2][128]; /* FIFOs, mq names */
	struct sockaddr_in addr;
};

struct end {
	const struct row *w;
	int tx, rx; /* fds */
	mqd_t mtx, mrx;
	int qtx, qrx; /* System V ids */
	size_t size;
	char *scratch; /* System V: type + payload; batch: BATCH buffers */
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
};

static const struct row *row_of(const struct bench_env *env)
{
	return env->mech->arg;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int raw_check(const struct bench_env *env)
{
	long v;

	if (row_of(env)->how != R_SYSVMQ)
		return 0;
	v = read_long("/proc/sys/kernel/msgmax");
	if (v >= 0 && (long)env->size > v)
		return bench_na(
			env, "kernel.msgmax is %ld bytes (sysctl -w kernel.msgmax=N to raise it)",
			v);
	v = read_long("/proc/sys/kernel/msgmnb");
	if (v >= 0 && (long)env->size > v)
		return bench_na(
			env, "kernel.msgmnb is %ld bytes (sysctl -w kernel.msgmnb=N to raise it)",
			v);
	return 0;
}

static void raw_destroy(const struct bench_env *env, void *p)
{
	struct shared *sh = p;
	int i, j;

	(void)env;
	if (!sh)
		return;
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++)
			close_fd(&sh->fd[i][j]);
		if (sh->msqid[i] >= 0)
			(void)msgctl(sh->msqid[i], IPC_RMID, NULL);
		if (sh->path[i][0] == '/' && row_of(env)->how == R_MQ)
			(void)mq_unlink(sh->path[i]);
		else if (sh->path[i][0] == '/')
			(void)unlink(sh->path[i]);
	}
	free(sh);
}

static int raw_prepare(const struct bench_env *env, void **ret)
{
	const struct row *w = row_of(env);
	struct shared *sh;
	socklen_t alen = sizeof(sh->addr);
	int i, j, r;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++)
			sh->fd[i][j] = -1;
		sh->msqid[i] = -1;
	}
	switch (w->how) {
	case R_PIPE:
		for (i = 0; i < 2; i++)
			if (pipe2(sh->fd[i], O_CLOEXEC) < 0)
				goto fail_errno;
		break;
	case R_FIFO:
		for (i = 0; i < 2; i++) {
			snprintf(sh->path[i], sizeof(sh->path[i]), "/tmp/%s-raw%d", env->tag, i);
			if (mkfifo(sh->path[i], 0600) < 0) {
				sh->path[i][0] = 0;
				goto fail_errno;
			}
		}
		break;
	case R_PAIR:
		if (socketpair(AF_UNIX, w->type | SOCK_CLOEXEC, 0, sh->fd[0]) < 0)
			goto fail_errno;
		break;
	case R_TCP:
		sh->addr.sin_family = AF_INET;
		sh->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sh->fd[0][0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sh->fd[0][0] < 0 ||
		    bind(sh->fd[0][0], (struct sockaddr *)&sh->addr, sizeof(sh->addr)) < 0 ||
		    listen(sh->fd[0][0], 1) < 0 ||
		    getsockname(sh->fd[0][0], (struct sockaddr *)&sh->addr, &alen) < 0)
			goto fail_errno;
		break;
	case R_MQ:
		for (i = 0; i < 2; i++) {
			struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = (long)env->size };
			mqd_t q;

			snprintf(sh->path[i], sizeof(sh->path[i]), "/%s-raw%d", env->tag, i);
			q = mq_open(sh->path[i], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
			if (q == (mqd_t)-1) {
				r = bench_neg_errno();
				sh->path[i][0] = 0;
				raw_destroy(env, sh);
				if (r == -EINVAL || r == -EMFILE || r == -ENOMEM)
					return bench_na(
						env,
						"mq_open(msgsize=%zu, maxmsg=10): %s (limits: "
						"fs.mqueue.msgsize_max, fs.mqueue.msg_max, "
						"RLIMIT_MSGQUEUE)",
						env->size, strerror(-r));
				return r;
			}
			mq_close(q);
		}
		break;
	case R_SYSVMQ:
		for (i = 0; i < 2; i++)
			if ((sh->msqid[i] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
				goto fail_errno;
		break;
	}
	*ret = sh;
	return 0;
fail_errno:
	r = bench_neg_errno();
	snprintf(env->why, BENCH_WHY_MAX, "%s", env->mech->name);
	raw_destroy(env, sh);
	return r;
}

static void raw_close(void *p, enum bench_side side)
{
	struct end *e = p;

	(void)side;
	if (!e)
		return;
	if (e->rx != e->tx)
		close_fd(&e->rx);
	close_fd(&e->tx);
	if (e->mtx != (mqd_t)-1)
		mq_close(e->mtx);
	if (e->mrx != (mqd_t)-1)
		mq_close(e->mrx);
	free(e->scratch);
	free(e);
}

static int open_fifos(const struct shared *sh, int me, struct end *e)
{
	int fl;

	/* Read end first, without waiting for a writer; then the write end,
	 * which waits until the peer has done the same: no order deadlocks. */
	e->rx = open(sh->path[!me], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (e->rx < 0)
		return bench_neg_errno();
	e->tx = open(sh->path[me], O_WRONLY | O_CLOEXEC);
	if (e->tx < 0)
		return bench_neg_errno();
	fl = fcntl(e->rx, F_GETFL);
	if (fl < 0 || fcntl(e->rx, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return bench_neg_errno();
	return 0;
}

static int open_tcp(struct shared *sh, enum bench_side side, struct end *e)
{
	int one = 1, fd;

	if (side == BENCH_B) {
		fd = accept4(sh->fd[0][0], NULL, NULL, SOCK_CLOEXEC);
	} else {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sh->addr, sizeof(sh->addr)) < 0) {
			int r = bench_neg_errno();

			close(fd);
			return r;
		}
	}
	if (fd < 0)
		return bench_neg_errno();
	e->tx = e->rx = fd;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return bench_neg_errno();
	return 0;
}

static int raw_open(const struct bench_env *env, void *p, enum bench_side side, void **ret)
{
	const struct row *w = row_of(env);
	struct shared *sh = p;
	struct end *e;
	int r = 0, i, me = side == BENCH_A ? 0 : 1;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->w = w;
	e->tx = e->rx = -1;
	e->mtx = e->mrx = (mqd_t)-1;
	e->size = env->size;
	switch (w->how) {
	case R_PIPE:
		e->tx = sh->fd[me][1];
		e->rx = sh->fd[!me][0];
		close_fd(&sh->fd[me][0]);
		close_fd(&sh->fd[!me][1]);
		break;
	case R_FIFO:
		r = open_fifos(sh, me, e);
		break;
	case R_PAIR:
		e->tx = e->rx = sh->fd[0][me];
		close_fd(&sh->fd[0][!me]);
		break;
	case R_TCP:
		r = open_tcp(sh, side, e);
		break;
	case R_MQ:
		e->mtx = mq_open(sh->path[me], O_WRONLY | O_CLOEXEC);
		e->mrx = mq_open(sh->path[!me], O_RDONLY | O_CLOEXEC);
		if (e->mtx == (mqd_t)-1 || e->mrx == (mqd_t)-1)
			r = bench_neg_errno();
		break;
	case R_SYSVMQ:
		e->qtx = sh->msqid[me];
		e->qrx = sh->msqid[!me];
		e->scratch = malloc(sizeof(long) + env->size);
		if (!e->scratch)
			r = -ENOMEM;
		break;
	}
	if (r == 0 && w->batch) {
		e->scratch = malloc(BATCH * env->size);
		if (!e->scratch)
			r = -ENOMEM;
		for (i = 0; r == 0 && i < BATCH; i++) {
			e->iov[i].iov_len = env->size;
			e->mm[i].msg_hdr.msg_iov = &e->iov[i];
			e->mm[i].msg_hdr.msg_iovlen = 1;
		}
	}
	if (r < 0) {
		raw_close(e, side);
		return r;
	}
	*ret = e;
	return 0;
}

static int raw_send(void *p, const void *buf, size_t len)
{
	struct end *e = p;
	ssize_t n;

	switch (e->w->how) {
	case R_PIPE:
	case R_FIFO:
	case R_TCP:
		return bench_write_all(e->tx, buf, len);
	case R_PAIR:
		if (e->w->type == SOCK_STREAM)
			return bench_write_all(e->tx, buf, len);
		while ((n = send(e->tx, buf, len, 0)) < 0 && errno == EINTR)
			;
		if (n < 0)
			return bench_neg_errno();
		return (size_t)n == len ? 0 : -EPROTO;
	case R_MQ:
		while (mq_send(e->mtx, buf, len, 0) < 0)
			if (errno != EINTR)
				return bench_neg_errno();
		return 0;
	case R_SYSVMQ:
		*(long *)(void *)e->scratch = 1;
		memcpy(e->scratch + sizeof(long), buf, len);
		while (msgsnd(e->qtx, e->scratch, len, 0) < 0)
			if (errno != EINTR)
				return bench_neg_errno();
		return 0;
	}
	return -EINVAL;
}

static int raw_recv(void *p, void *buf, size_t len)
{
	struct end *e = p;
	ssize_t n;

	switch (e->w->how) {
	case R_PIPE:
	case R_FIFO:
	case R_TCP:
		return bench_read_all(e->rx, buf, len);
	case R_PAIR:
		if (e->w->type == SOCK_STREAM)
			return bench_read_all(e->rx, buf, len);
		for (;;) {
			n = recv(e->rx, buf, len, e->w->busy ? MSG_DONTWAIT : 0);
			if (n >= 0 || (errno != EINTR && errno != EAGAIN))
				break;
		}
		break;
	case R_MQ:
		/* mq_receive wants a buffer of the queue's msgsize: len. */
		while ((n = mq_receive(e->mrx, buf, len, NULL)) < 0 && errno == EINTR)
			;
		break;
	case R_SYSVMQ:
		while ((n = msgrcv(e->qrx, e->scratch, len, 0, 0)) < 0 && errno == EINTR)
			;
		if (n > 0)
			memcpy(buf, e->scratch + sizeof(long), (size_t)n);
		break;
	default:
		return -EINVAL;
	}
	if (n < 0)
		return bench_neg_errno();
	return (size_t)n == len ? 0 : -EPROTO;
}

static int raw_send_many(void *p, const void *buf, size_t len, unsigned long n)
{
	struct end *e = p;
	int i;

	for (i = 0; i < BATCH; i++) {
		e->iov[i].iov_base = (void *)(uintptr_t)buf;
		e->iov[i].iov_len = len;
	}
	while (n > 0) {
		unsigned k = n < BATCH ? (unsigned)n : BATCH;
		int r = sendmmsg(e->tx, e->mm, k, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bench_neg_errno();
		n -= (unsigned long)r;
	}
	return 0;
}

static int raw_recv_many(void *p, void *buf, size_t len, unsigned long n)
{
	struct end *e = p;
	int i;

	(void)buf;
	for (i = 0; i < BATCH; i++) {
		e->iov[i].iov_base = e->scratch + (size_t)i * len;
		e->iov[i].iov_len = len;
	}
	while (n > 0) {
		unsigned k = n < BATCH ? (unsigned)n : BATCH;
		/* Block for the first, then take what is there. */
		int r = recvmmsg(e->rx, e->mm, k, MSG_WAITFORONE, NULL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bench_neg_errno();
		for (i = 0; i < r; i++)
			if (e->mm[i].msg_len != len)
				return -EPROTO;
		n -= (unsigned long)r;
	}
	return 0;
}

static const struct bench_ops ops = {
	.check = raw_check,
	.prepare = raw_prepare,
	.open = raw_open,
	.send = raw_send,
	.recv = raw_recv,
	.close = raw_close,
	.destroy = raw_destroy,
};

static const struct bench_ops batch_ops = {
	.check = raw_check,
	.prepare = raw_prepare,
	.open = raw_open,
	.send = raw_send,
	.recv = raw_recv,
	.send_many = raw_send_many,
	.recv_many = raw_recv_many,
	.close = raw_close,
	.destroy = raw_destroy,
};

static const struct row pipe_row = { .how = R_PIPE }, fifo_row = { .how = R_FIFO },
			stream_row = { .how = R_PAIR, .type = SOCK_STREAM },
			dgram_row = { .how = R_PAIR, .type = SOCK_DGRAM },
			seqp_row = { .how = R_PAIR, .type = SOCK_SEQPACKET },
			dgram_batch = { .how = R_PAIR, .type = SOCK_DGRAM, .batch = true },
			seqp_batch = { .how = R_PAIR, .type = SOCK_SEQPACKET, .batch = true },
			dgram_busy = { .how = R_PAIR, .type = SOCK_DGRAM, .busy = true },
			tcp_row = { .how = R_TCP }, mq_row = { .how = R_MQ },
			sysv_row = { .how = R_SYSVMQ };

#define ROW(n, k, d, o, a)                                                               \
	{                                                                                \
		.name = n, .flags = BENCH_RAW, .kinds = k, .desc = d, .ops = o, .arg = a \
	}
#define BOTH (BENCH_RTT | BENCH_TPUT)

static const struct bench_mech mechs[] = {
	ROW("pipe-raw", BOTH | BENCH_RATE, "pipe2, write/read", &ops, &pipe_row),
	ROW("fifo-raw", BOTH | BENCH_RATE, "mkfifo, open, write/read", &ops, &fifo_row),
	ROW("unix-stream-raw", BOTH | BENCH_RATE, "socketpair(SOCK_STREAM), write/read", &ops,
	    &stream_row),
	ROW("unix-dgram-raw", BOTH | BENCH_RATE, "socketpair(SOCK_DGRAM), send/recv", &ops,
	    &dgram_row),
	ROW("unix-seqpacket-raw", BOTH | BENCH_RATE, "socketpair(SOCK_SEQPACKET), send/recv", &ops,
	    &seqp_row),
	ROW("unix-dgram-batch-raw", BENCH_TPUT, "socketpair(SOCK_DGRAM), sendmmsg/recvmmsg x32",
	    &batch_ops, &dgram_batch),
	ROW("unix-seqpacket-batch-raw", BENCH_TPUT,
	    "socketpair(SOCK_SEQPACKET), sendmmsg/recvmmsg x32", &batch_ops, &seqp_batch),
	ROW("unix-dgram-busy-raw", BOTH | BENCH_RATE,
	    "socketpair(SOCK_DGRAM), recv(MSG_DONTWAIT) spinning", &ops, &dgram_busy),
	ROW("tcp-raw", BOTH | BENCH_RATE, "127.0.0.1, TCP_NODELAY, write/read", &ops, &tcp_row),
	ROW("mq-raw", BOTH | BENCH_RATE, "mq_open, mq_send/mq_receive", &ops, &mq_row),
	ROW("sysvmq-raw", BOTH | BENCH_RATE, "msgget(IPC_PRIVATE), msgsnd/msgrcv", &ops, &sysv_row),
};

BENCH_DEFINE_MODULE(rawchan, mechs);
