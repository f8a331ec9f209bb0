/* SPDX-License-Identifier: MIT */
/*
 * bench/peer_zmq.c - ZeroMQ (libzmq) as a peer row.
 *
 *   zmq-ipc       a ZMQ_PAIR socket in each process over ipc:// (a Unix
 *                 stream socket), zmq_send() and a blocking zmq_recv()
 *   zmq-ipc-poll  the same, but the receiver polls: zmq_recv() with
 *                 ZMQ_DONTWAIT in a spin loop (the application thread never
 *                 sleeps; libzmq's I/O thread still moves the bytes)
 *
 * PAIR is ZeroMQ's socket for exactly two peers; inproc:// would be faster
 * but only works inside one process. Side B binds, side A connects (with a
 * 1 ms reconnect interval, so an early connect does not wait 100 ms).
 * Messages go through zmq_send()/zmq_recv() on the engine's buffer: one
 * copy each way, as in libzmq's own perf/local_lat and remote_lat. A
 * one-way stream relies on PAIR's blocking send at the high-water mark
 * (1000 messages): nothing is dropped. ZMQ_LINGER is the case's timeout, so
 * that closing does not drop the last message sent. Built without libzmq, both rows are
 * n/a with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "peer.h"

#ifdef IPK_HAVE_ZMQ
#include <zmq.h>

enum zmq_mode {
	ZM_BLOCK,
	ZM_POLL,
};

struct zmq_end {
	void *ctx;
	void *sock;
	enum zmq_mode mode;
};

static const char *zmq_ver(void)
{
	static char buf[32];
	int a, b, c;

	if (!buf[0]) {
		zmq_version(&a, &b, &c);
		snprintf(buf, sizeof(buf), "libzmq %d.%d.%d", a, b, c);
	}
	return buf;
}

static void zmq_end_close(void *end, enum bench_side side)
{
	struct zmq_end *e = end;

	(void)side;
	if (!e)
		return;
	if (e->sock)
		(void)zmq_close(e->sock);
	if (e->ctx)
		(void)zmq_ctx_term(e->ctx); /* waits for the linger */
	free(e);
}

static int zmq_end_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const enum zmq_mode *mode = env->mech->arg;
	struct peer_sock *s = shared;
	int linger = (int)(env->timeout_ns / 1000000), ivl = 1, r;
	struct zmq_end *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->mode = *mode;
	e->ctx = zmq_ctx_new();
	if (!e->ctx)
		goto fail_errno;
	e->sock = zmq_socket(e->ctx, ZMQ_PAIR);
	if (!e->sock)
		goto fail_errno;
	/* The last message (B's echo or acknowledgement) must still leave
	 * after zmq_close(): linger until it did, but not forever. */
	if (zmq_setsockopt(e->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_setsockopt(e->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) < 0)
		goto fail_errno;
	if (side == BENCH_B ? zmq_bind(e->sock, s->url) < 0 : zmq_connect(e->sock, s->url) < 0)
		goto fail_errno;
	*end = e;
	return 0;
fail_errno:
	r = bench_neg_errno();
	zmq_end_close(e, side);
	return r;
}

static int zmq_end_send(void *end, const void *buf, size_t len)
{
	struct zmq_end *e = end;
	int n;

	while ((n = zmq_send(e->sock, buf, len, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return bench_neg_errno();
	return (size_t)n == len ? 0 : -EPROTO;
}

static int zmq_end_recv(void *end, void *buf, size_t len)
{
	struct zmq_end *e = end;
	int flags = e->mode == ZM_POLL ? ZMQ_DONTWAIT : 0;
	unsigned spins = 0;
	int n;

	/* zmq_recv() returns the message's whole size, also when it had to
	 * cut it to @len: a size other than @len is a wrong message. */
	while ((n = zmq_recv(e->sock, buf, len, flags)) < 0) {
		if (errno == EAGAIN && e->mode == ZM_POLL)
			bench_spin(&spins);
		else if (errno != EINTR)
			return bench_neg_errno();
	}
	return (size_t)n == len ? 0 : -EPROTO;
}

static const struct bench_ops zmq_ops = {
	.prepare = peer_sock_prepare,
	.open = zmq_end_open,
	.send = zmq_end_send,
	.recv = zmq_end_recv,
	.close = zmq_end_close,
	.destroy = peer_sock_destroy,
};

static const enum zmq_mode blocking = ZM_BLOCK, polling = ZM_POLL;
#define ROW_OPS (&zmq_ops)
#define ROW_VERSION zmq_ver
#define ROW_ARG(m) (&(m))
#else
static int zmq_missing(const struct bench_env *env)
{
	return bench_na(env, "built without libzmq: install libzmq3-dev and rebuild");
}

static const struct bench_ops zmq_ops = { .check = zmq_missing };
#define ROW_OPS (&zmq_ops)
#define ROW_VERSION NULL
#define ROW_ARG(m) NULL
#endif

static const struct bench_mech mechs[] = {
	{ .name = "zmq-ipc",
	  .flags = BENCH_PEER,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "ZeroMQ PAIR over ipc://, blocking zmq_recv",
	  .ops = ROW_OPS,
	  .arg = ROW_ARG(blocking),
	  .version = ROW_VERSION },
	{ .name = "zmq-ipc-poll",
	  .flags = BENCH_PEER | BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "ZeroMQ PAIR over ipc://, zmq_recv(ZMQ_DONTWAIT) spinning",
	  .ops = ROW_OPS,
	  .arg = ROW_ARG(polling),
	  .version = ROW_VERSION },
};

BENCH_DEFINE_MODULE(zmq, mechs);
