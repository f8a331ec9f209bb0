/* SPDX-License-Identifier: MIT */
/*
 * bench/unix.c - descriptor passing (unix.h): every message carries one
 * descriptor in SCM_RIGHTS on a SOCK_SEQPACKET socketpair, and the
 * receiver closes the one it got, as a server taking connections from an
 * acceptor process would. fdpass goes through ipk_fd_send/ipk_fd_recv;
 * fdpass-raw is the same loop with sendmsg/recvmsg. Unix stream against
 * TCP at each size are the unix-stream and tcp rows of bench/chan.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <ipckit/unix.h>

#include "bench.h"

/* A seqpacket message must fit the send buffer (net.core.wmem_default). */
#define MAX_SIZE ((size_t)131072)

struct shared {
	int sv[2];
	int passfd; /* what every message carries */
};

struct end {
	int sock, passfd;
	bool raw;
	int64_t timeout_ns;
};

static int fd_check(const struct bench_env *env)
{
	if (env->size > MAX_SIZE)
		return bench_na(env,
				"one seqpacket message of %zu bytes exceeds the %zu-byte "
				"socket buffer this row uses",
				env->size, MAX_SIZE);
	return 0;
}

static int fd_prepare(const struct bench_env *env, void **shared)
{
	struct shared *sh = calloc(1, sizeof(*sh));
	int want = (int)(MAX_SIZE * 2);

	(void)env;
	if (!sh)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sh->sv) < 0) {
		free(sh);
		return bench_neg_errno();
	}
	(void)setsockopt(sh->sv[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	(void)setsockopt(sh->sv[1], SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	sh->passfd = dup(0);
	if (sh->passfd < 0) {
		int r = bench_neg_errno();

		close(sh->sv[0]);
		close(sh->sv[1]);
		free(sh);
		return r;
	}
	*shared = sh;
	return 0;
}

static int fd_open(const struct bench_env *env, void *shared, enum bench_side side, void **ret)
{
	struct shared *sh = shared;
	struct end *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->sock = sh->sv[side == BENCH_A ? 0 : 1];
	close(sh->sv[side == BENCH_A ? 1 : 0]);
	e->passfd = sh->passfd;
	e->raw = *(const bool *)env->mech->arg;
	e->timeout_ns = env->timeout_ns;
	*ret = e;
	return 0;
}

static int raw_send(struct end *e, const void *buf, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &e->passfd, sizeof(int));
	for (;;) {
		ssize_t n = sendmsg(e->sock, &mh, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (errno != EINTR)
			return bench_neg_errno();
	}
}

static int raw_recv(struct end *e, void *buf, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;
	int fd = -1;

	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	while ((n = recvmsg(e->sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return bench_neg_errno();
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd >= 0)
		close(fd);
	return (size_t)n == len && fd >= 0 && !(mh.msg_flags & MSG_CTRUNC) ? 0 : -EPROTO;
}

static int fd_send(void *end, const void *buf, size_t len)
{
	struct end *e = end;

	if (e->raw)
		return raw_send(e, buf, len);
	return ipk_fd_send(e->sock, buf, len, &e->passfd, 1, e->timeout_ns);
}

static int fd_recv(void *end, void *buf, size_t len)
{
	struct end *e = end;
	int fd = -1;
	struct ipk_fdmsg m = { .fds = &fd, .max_fds = 1 };
	ssize_t n;

	if (e->raw)
		return raw_recv(e, buf, len);
	n = ipk_fd_recv(e->sock, buf, len, &m, e->timeout_ns);
	if (n < 0)
		return (int)n;
	if (m.nfds == 1)
		close(fd);
	return (size_t)n == len && m.nfds == 1 ? 0 : -EPROTO;
}

static void fd_close(void *end, enum bench_side side)
{
	struct end *e = end;

	(void)side;
	if (!e)
		return;
	close(e->sock);
	close(e->passfd);
	free(e);
}

static void fd_destroy(const struct bench_env *env, void *shared)
{
	struct shared *sh = shared;

	(void)env;
	if (!sh)
		return;
	close(sh->sv[0]);
	close(sh->sv[1]);
	close(sh->passfd);
	free(sh);
}

static const struct bench_ops ops = {
	.check = fd_check,
	.prepare = fd_prepare,
	.open = fd_open,
	.send = fd_send,
	.recv = fd_recv,
	.close = fd_close,
	.destroy = fd_destroy,
};

static const bool lib = false, raw = true;

static const struct bench_mech mechs[] = {
	{ .name = "fdpass",
	  .raw = "fdpass-raw",
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "one descriptor per message, SCM_RIGHTS on seqpacket (ipk_fd_send/recv)",
	  .ops = &ops,
	  .arg = &lib },
	{ .name = "fdpass-raw",
	  .flags = BENCH_RAW,
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "one descriptor per message, sendmsg/recvmsg with SCM_RIGHTS",
	  .ops = &ops,
	  .arg = &raw },
};

BENCH_DEFINE_MODULE(fdpass, mechs);
