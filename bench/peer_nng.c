/* SPDX-License-Identifier: MIT */
/*
 * bench/peer_nng.c - nng (nanomsg-next-gen) as a peer row.
 *
 *   nng-ipc       a pair0 socket in each process over ipc:// (a Unix stream
 *                 socket), nng_send() and a blocking nng_recvmsg()
 *   nng-ipc-poll  the same, but the receiver polls: nng_recvmsg() with
 *                 NNG_FLAG_NONBLOCK in a spin loop (nng's own threads still
 *                 move the bytes)
 *
 * pair0 is nng's protocol for exactly two peers. Side B listens; side A
 * dials synchronously, again every 100 us until B listens, so its end is
 * connected when .open returns. The receiver takes the message as an
 * nng_msg (its length is exact, nothing is cut), copies it out and frees
 * it; nng_send() copies the engine's buffer into a new message: one copy
 * each way, as nng_recv()/nng_send() make themselves. The receive limit
 * (NNG_OPT_RECVMAXSZ, 1 MiB by default) is raised to the case's size, so
 * that large messages are not dropped. A stream relies on pair0's blocking
 * send: nothing is lost. nng_close() drops messages not yet written, so the
 * side that sent last waits for the peer to hang up before it closes.
 * Built without nng, both rows are n/a.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peer.h"

#ifdef IPK_HAVE_NNG
#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>

#define QUEUE_DEPTH 1000 /* messages; ZeroMQ's default ZMQ_SNDHWM and ZMQ_RCVHWM */

enum nng_mode {
	NM_BLOCK,
	NM_POLL,
};

struct nng_end {
	nng_socket sock;
	bool open;
	enum nng_mode mode;
	bool sent_last;         /* the last call was a send: see nng_end_close() */
	_Atomic bool peer_gone; /* set by nng's thread when the peer's pipe goes */
	int64_t close_wait_ns;  /* how long close waits for that */
};

static const char *nng_ver(void)
{
	static char buf[32];

	if (!buf[0])
		snprintf(buf, sizeof(buf), "nng %s", nng_version());
	return buf;
}

/* nng's error codes as negative errno. */
static int nng_errno(int rv)
{
	static const int map[][2] = {
		{ NNG_EINTR, EINTR },           { NNG_ENOMEM, ENOMEM },
		{ NNG_EINVAL, EINVAL },         { NNG_EBUSY, EBUSY },
		{ NNG_ETIMEDOUT, ETIMEDOUT },   { NNG_ECONNREFUSED, ECONNREFUSED },
		{ NNG_ECLOSED, EPIPE },         { NNG_EAGAIN, EAGAIN },
		{ NNG_ENOTSUP, EOPNOTSUPP },    { NNG_EADDRINUSE, EADDRINUSE },
		{ NNG_ENOENT, ENOENT },         { NNG_EPROTO, EPROTO },
		{ NNG_EMSGSIZE, EMSGSIZE },     { NNG_ECONNABORTED, ECONNABORTED },
		{ NNG_ECONNRESET, ECONNRESET }, { NNG_ECONNSHUT, EPIPE },
		{ NNG_EPERM, EPERM },           { NNG_ENOFILES, EMFILE },
		{ NNG_ENOSPC, ENOSPC },
	};
	size_t i;

	if (rv & NNG_ESYSERR)
		return -(rv & ~NNG_ESYSERR);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i][0] == rv)
			return -map[i][1];
	return -EIO;
}

/* nng's thread: the connection to the peer is gone. */
static void peer_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct nng_end *e = arg;

	(void)p;
	(void)ev;
	/* Release: pairs with the acquire in nng_end_close(). */
	atomic_store_explicit(&e->peer_gone, true, memory_order_release);
}

static void nng_end_close(void *end, enum bench_side side)
{
	struct nng_end *e = end;

	(void)side;
	if (!e)
		return;
	/*
	 * nng_close() drops what nng has not yet written to the socket, and
	 * nng has no linger: the side that sent the last message waits until
	 * the peer, having received it, closes its end (bounded).
	 */
	if (e->sent_last) {
		int64_t deadline = bench_deadline(e->close_wait_ns);
		struct timespec ts = { 0, 100000 };

		while (!atomic_load_explicit(&e->peer_gone, memory_order_acquire) &&
		       bench_now_ns() < deadline)
			nanosleep(&ts, NULL);
	}
	if (e->open)
		(void)nng_close(e->sock);
	free(e);
}

static int nng_end_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const enum nng_mode *mode = env->mech->arg;
	int64_t deadline = bench_deadline(env->timeout_ns);
	struct peer_sock *s = shared;
	struct nng_end *e;
	int rv;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->mode = *mode;
	if ((rv = nng_pair0_open(&e->sock)) != 0)
		goto fail;
	e->open = true;
	e->close_wait_ns = env->timeout_ns;
	if ((rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_REM_POST, peer_removed, e)) != 0)
		goto fail;
	if ((rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, env->size)) != 0)
		goto fail;
	/* Queues as deep as ZeroMQ's high-water mark, or every message of
	 * a stream waits for the one before it to be taken. */
	if ((rv = nng_socket_set_int(e->sock, NNG_OPT_SENDBUF, QUEUE_DEPTH)) != 0 ||
	    (rv = nng_socket_set_int(e->sock, NNG_OPT_RECVBUF, QUEUE_DEPTH)) != 0)
		goto fail;
	if (side == BENCH_B) {
		rv = nng_listen(e->sock, s->url, NULL, 0);
	} else {
		/* B listens at the same time: retry until it does. */
		while ((rv = nng_dial(e->sock, s->url, NULL, 0)) == NNG_ECONNREFUSED ||
		       rv == NNG_ENOENT) {
			struct timespec ts = { 0, 100000 };

			if (bench_now_ns() > deadline)
				break;
			nanosleep(&ts, NULL);
		}
	}
	if (rv != 0)
		goto fail;
	*end = e;
	return 0;
fail:
	nng_end_close(e, side);
	return nng_errno(rv);
}

static int nng_end_send(void *end, const void *buf, size_t len)
{
	struct nng_end *e = end;
	int rv;

	/* nng_send() copies @buf (no NNG_FLAG_ALLOC). */
	e->sent_last = true;
	while ((rv = nng_send(e->sock, (void *)buf, len, 0)) == NNG_EINTR)
		;
	return rv ? nng_errno(rv) : 0;
}

static int nng_end_recv(void *end, void *buf, size_t len)
{
	struct nng_end *e = end;
	int flags = e->mode == NM_POLL ? NNG_FLAG_NONBLOCK : 0;
	unsigned spins = 0;
	nng_msg *m;
	int rv, r = 0;

	e->sent_last = false;
	while ((rv = nng_recvmsg(e->sock, &m, flags)) != 0) {
		if (rv == NNG_EAGAIN && e->mode == NM_POLL)
			bench_spin(&spins);
		else if (rv != NNG_EINTR)
			return nng_errno(rv);
	}
	if (nng_msg_len(m) == len)
		memcpy(buf, nng_msg_body(m), len);
	else
		r = -EPROTO;
	nng_msg_free(m);
	return r;
}

static const struct bench_ops nng_ops = {
	.prepare = peer_sock_prepare,
	.open = nng_end_open,
	.send = nng_end_send,
	.recv = nng_end_recv,
	.close = nng_end_close,
	.destroy = peer_sock_destroy,
};

static const enum nng_mode blocking = NM_BLOCK, polling = NM_POLL;
#define ROW_OPS (&nng_ops)
#define ROW_VERSION nng_ver
#define ROW_ARG(m) (&(m))
#else
static int nng_missing(const struct bench_env *env)
{
	return bench_na(env, "built without nng: install libnng-dev and rebuild");
}

static const struct bench_ops nng_ops = { .check = nng_missing };
#define ROW_OPS (&nng_ops)
#define ROW_VERSION NULL
#define ROW_ARG(m) NULL
#endif

static const struct bench_mech mechs[] = {
	{ .name = "nng-ipc",
	  .flags = BENCH_PEER,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "nng pair0 over ipc://, blocking nng_recvmsg",
	  .ops = ROW_OPS,
	  .arg = ROW_ARG(blocking),
	  .version = ROW_VERSION },
	{ .name = "nng-ipc-poll",
	  .flags = BENCH_PEER | BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "nng pair0 over ipc://, nng_recvmsg(NNG_FLAG_NONBLOCK) spinning",
	  .ops = ROW_OPS,
	  .arg = ROW_ARG(polling),
	  .version = ROW_VERSION },
};

BENCH_DEFINE_MODULE(nng, mechs);
