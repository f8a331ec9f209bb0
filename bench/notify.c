/* SPDX-License-Identifier: MIT */
/*
 * bench/notify.c - the notify module's rows (notify.h, sig.h).
 *
 *   eventfd         a one-slot mailbox per direction in shared memory, the
 *                   sleeping side woken through ipk_event; raw twin
 *                   eventfd-raw (bench/wake.c)
 *   rtsig           the same mailbox, woken by ipk_sig_send(SIGRTMIN) and
 *                   taken with ipk_sig_wait(); raw twin rtsig-raw
 *   memfd-blob      each message is a sealed memfd (ipk_blob): create, copy
 *                   in, seal, pass over a Unix socket, verify, map, copy
 *                   out; raw twin memfd-blob-raw. Compare it with
 *                   unix-stream at large sizes (64 MiB: --sizes 67108864).
 *   memfd-blob-raw  the same with memfd_create, fcntl and sendmsg only.
 *
 * All four measure round trips only. The mailbox rows carry one message at
 * a time in each direction: a stream would overwrite a slot before it is
 * read. The memfd rows could stream, but every message in flight is a
 * whole memfd held by the socket: at 64 MiB a stream would pin gigabytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ipckit/notify.h>
#include <ipckit/sig.h>

#include "bench.h"

enum wake {
	WAKE_EVENT,
	WAKE_SIGNAL,
};

/* --- one-slot mailboxes, woken by an eventfd or a signal ---------------- */

struct mbox_shared {
	unsigned char *region; /* slot[A->B] then slot[B->A], env->size each */
	size_t len;
	ipk_event *ev[2]; /* the doorbell of side A, of side B */
};

struct mbox_end {
	const struct mbox_shared *sh;
	enum wake wake;
	enum bench_side me;
	pid_t peer;
	int64_t timeout_ns;
	size_t size;
	sigset_t sigs;
};

static int mbox_check(const struct bench_env *env)
{
	if (env->kind == BENCH_TPUT)
		return bench_na(env, "one message in flight per direction: round trips only");
	return 0;
}

static void mbox_destroy(const struct bench_env *env, void *shared)
{
	struct mbox_shared *sh = shared;

	(void)env;
	if (!sh)
		return;
	if (sh->region)
		munmap(sh->region, sh->len);
	ipk_event_free(sh->ev[0]);
	ipk_event_free(sh->ev[1]);
	free(sh);
}

static int mbox_prepare(const struct bench_env *env, void **shared)
{
	const enum wake *w = env->mech->arg;
	struct mbox_shared *sh;
	void *m;
	int r;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->len = 2 * env->size;
	m = mmap(NULL, sh->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		r = bench_neg_errno();
		goto fail;
	}
	sh->region = m;
	if (*w == WAKE_EVENT) {
		r = ipk_event_new(0, &sh->ev[0]);
		if (r == 0)
			r = ipk_event_new(0, &sh->ev[1]);
		if (r < 0)
			goto fail;
	}
	*shared = sh;
	return 0;

fail:
	mbox_destroy(env, sh);
	return r;
}

static int mbox_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const enum wake *w = env->mech->arg;
	struct mbox_end *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->sh = shared;
	e->wake = *w;
	e->me = side;
	e->peer = env->peer;
	e->timeout_ns = env->timeout_ns;
	e->size = env->size;
	sigemptyset(&e->sigs);
	sigaddset(&e->sigs, SIGRTMIN);
	/* Blocked before the engine lets the first message go (it waits for
	 * both opens), so the peer's signal is always queued, never fatal. */
	if (e->wake == WAKE_SIGNAL)
		(void)ipk_sig_block(&e->sigs);
	*end = e;
	return 0;
}

static int mbox_send(void *end, const void *buf, size_t len)
{
	struct mbox_end *e = end;
	unsigned char *slot = e->sh->region + (e->me == BENCH_A ? 0 : e->size);

	memcpy(slot, buf, len);
	/* The system call is the barrier: the peer's wait returns after it. */
	if (e->wake == WAKE_EVENT)
		return ipk_event_signal(e->sh->ev[!e->me], 1);
	return ipk_sig_send(e->peer, SIGRTMIN, (intptr_t)len);
}

static int mbox_recv(void *end, void *buf, size_t len)
{
	struct mbox_end *e = end;
	const unsigned char *slot = e->sh->region + (e->me == BENCH_A ? e->size : 0);
	struct ipk_siginfo si;
	int r;

	if (e->wake == WAKE_EVENT) {
		r = ipk_event_wait(e->sh->ev[e->me], e->timeout_ns, NULL);
	} else {
		r = ipk_sig_wait(&e->sigs, e->timeout_ns, &si);
		if (r == 0 && (size_t)si.value != len)
			r = -EPROTO;
	}
	if (r < 0)
		return r;
	memcpy(buf, slot, len);
	return 0;
}

static void mbox_close(void *end, enum bench_side side)
{
	(void)side;
	free(end);
}

static const struct bench_ops mbox_ops = {
	.check = mbox_check,
	.prepare = mbox_prepare,
	.open = mbox_open,
	.send = mbox_send,
	.recv = mbox_recv,
	.close = mbox_close,
	.destroy = mbox_destroy,
};

/* --- sealed memfd per message ---------------------------------------------- */

struct blob_shared {
	int sv[2]; /* side A's socket, side B's socket */
};

struct blob_end {
	int sock;
	int64_t timeout_ns;
};

static void blob_destroy(const struct bench_env *env, void *shared)
{
	struct blob_shared *sh = shared;

	(void)env;
	if (!sh)
		return;
	if (sh->sv[0] >= 0)
		close(sh->sv[0]);
	if (sh->sv[1] >= 0)
		close(sh->sv[1]);
	free(sh);
}

static int blob_prepare(const struct bench_env *env, void **shared)
{
	struct blob_shared *sh;
	int r;

	(void)env;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sh->sv) < 0) {
		r = bench_neg_errno();
		free(sh);
		return r;
	}
	*shared = sh;
	return 0;
}

static int blob_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	struct blob_shared *sh = shared;
	struct blob_end *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->sock = sh->sv[side];
	e->timeout_ns = env->timeout_ns;
	close(sh->sv[!side]);
	*end = e;
	return 0;
}

static void blob_close(void *end, enum bench_side side)
{
	struct blob_end *e = end;

	(void)side;
	if (!e)
		return;
	close(e->sock);
	free(e);
}

static int blob_send(void *end, const void *buf, size_t len)
{
	struct blob_end *e = end;
	ipk_blob *b;
	int r;

	r = ipk_blob_create(len, &b);
	if (r < 0)
		return r;
	memcpy(ipk_blob_data(b), buf, len);
	r = ipk_blob_seal(b);
	if (r == 0)
		r = ipk_blob_send(b, e->sock, e->timeout_ns);
	ipk_blob_free(b);
	return r;
}

static int blob_recv(void *end, void *buf, size_t len)
{
	struct blob_end *e = end;
	ipk_blob *b;
	int r;

	r = ipk_blob_recv(e->sock, len, e->timeout_ns, &b);
	if (r < 0)
		return r;
	if (ipk_blob_size(b) == len)
		memcpy(buf, ipk_blob_view(b), len);
	else
		r = -EPROTO;
	ipk_blob_free(b);
	return r;
}

static const struct bench_ops blob_ops = {
	.prepare = blob_prepare,
	.open = blob_open,
	.send = blob_send,
	.recv = blob_recv,
	.close = blob_close,
	.destroy = blob_destroy,
};

/* The raw twin: the same steps with plain system calls. */

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static int raw_send(void *end, const void *buf, size_t len)
{
	struct blob_end *e = end;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t size = len;
	struct iovec iov = { &size, sizeof(size) };
	struct msghdr mh;
	struct cmsghdr *c;
	void *m;
	int fd, r = 0;

	fd = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return bench_neg_errno();
	if (ftruncate(fd, (off_t)len) < 0)
		goto fail;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail;
	memcpy(m, buf, len);
	munmap(m, len);
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
		goto fail;
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(e->sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(size))
		goto fail;
	close(fd);
	return 0;

fail:
	r = bench_neg_errno();
	close(fd);
	return r;
}

static int raw_recv(void *end, void *buf, size_t len)
{
	struct blob_end *e = end;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t size = 0;
	struct iovec iov = { &size, sizeof(size) };
	struct msghdr mh;
	struct cmsghdr *c;
	struct stat st;
	void *m;
	int fd = -1, r = -EPROTO;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	do
		n = recvmsg(e->sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return bench_neg_errno();
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd < 0 || n != (ssize_t)sizeof(size) || (mh.msg_flags & MSG_CTRUNC) || size != len)
		goto out;
	/* The receiver's checks, as ipk_blob_recv() makes them. */
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size ||
	    (fcntl(fd, F_GET_SEALS) & SEALS) != SEALS)
		goto out;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		r = bench_neg_errno();
		goto out;
	}
	memcpy(buf, m, len);
	munmap(m, len);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static const struct bench_ops raw_ops = {
	.prepare = blob_prepare,
	.open = blob_open,
	.send = raw_send,
	.recv = raw_recv,
	.close = blob_close,
	.destroy = blob_destroy,
};

static const enum wake by_event = WAKE_EVENT, by_signal = WAKE_SIGNAL;

static const struct bench_mech mechs[] = {
	{ .name = "eventfd",
	  .raw = "eventfd-raw",
	  .kinds = BENCH_RTT,
	  .desc = "shared-memory mailbox, the sleeper woken through ipk_event (eventfd)",
	  .ops = &mbox_ops,
	  .arg = &by_event },
	{ .name = "rtsig",
	  .raw = "rtsig-raw",
	  .kinds = BENCH_RTT,
	  .desc = "shared-memory mailbox, woken by ipk_sig_send(SIGRTMIN) + ipk_sig_wait",
	  .ops = &mbox_ops,
	  .arg = &by_signal },
	{ .name = "memfd-blob",
	  .raw = "memfd-blob-raw",
	  .kinds = BENCH_RTT,
	  .desc = "a sealed memfd per message over a Unix socket (ipk_blob), verified, mapped",
	  .ops = &blob_ops },
	{ .name = "memfd-blob-raw",
	  .flags = BENCH_RAW,
	  .kinds = BENCH_RTT,
	  .desc = "memfd_create, seal, SCM_RIGHTS, fstat + F_GET_SEALS, mmap",
	  .ops = &raw_ops },
};

BENCH_DEFINE_MODULE(notify, mechs);
