/* SPDX-License-Identifier: MIT */
/*
 * bench/svc.c - the request/reply rows (ipk_svc, svc.h): side A is the
 * client and times ipk_svc_call_start() + ipk_svc_call_wait(), side B the
 * server, which answers each request with its own bytes
 * (ipk_svc_recv() + ipk_svc_reply()).
 *
 *   svc-spin  both sides spin (IPK_SVC_SPIN): the round trip through the
 *             two shared-memory queues; raw twin limit
 *   svc       both sides sleep at once: each call wakes the server and
 *             the reply wakes the client, through eventfds; raw twin
 *             eventfd-raw
 *
 * Round trips only: a call is a round trip. Compare with unix-seqpacket
 * (a request/reply over a socket) and dbus-call (a D-Bus method call).
 * The server listens on an abstract name (no file to remove).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <ipckit/svc.h>

#include "bench.h"

struct shared {
	char name[96];
};

struct end {
	ipk_svc *srv;
	ipk_svc_client *cl;
	uint64_t id; /* A: the call in flight; B: the request to answer */
	int64_t timeout_ns;
};

static int svc_prepare(const struct bench_env *env, void **shared)
{
	struct shared *sh = calloc(1, sizeof(*sh));

	if (!sh)
		return -ENOMEM;
	snprintf(sh->name, sizeof(sh->name), "@%s-svc", env->tag);
	*shared = sh;
	return 0;
}

static int svc_open(const struct bench_env *env, void *shared, enum bench_side side, void **ret)
{
	const uint32_t *flags = env->mech->arg;
	struct shared *sh = shared;
	struct end *e = calloc(1, sizeof(*e));
	int64_t deadline = bench_deadline(env->timeout_ns);
	int r;

	if (!e)
		return -ENOMEM;
	e->timeout_ns = env->timeout_ns;
	if (side == BENCH_A) {
		struct ipk_svc_client_opts co = { .flags = *flags };

		r = ipk_svc_connect(sh->name, &co, env->timeout_ns, &e->cl);
	} else {
		struct ipk_svc_opts so = { .flags = *flags, .max_msg = (uint32_t)env->size };

		r = ipk_svc_create(sh->name, &so, &e->srv);
		/* The client's handshake is answered inside ipk_svc_recv():
		 * serve until it is connected, before the engine's start. */
		while (r == 0 && ipk_svc_clients(e->srv) == 0) {
			struct ipk_svc_req req;
			char b;

			r = (int)ipk_svc_recv(e->srv, &b, 1, &req, 10 * 1000 * 1000);
			if (r == -ETIMEDOUT || r == -EAGAIN)
				r = bench_now_ns() < deadline ? 0 : -ETIMEDOUT;
			else if (r >= 0)
				r = -EPROTO; /* nothing may come before the start */
		}
	}
	if (r < 0) {
		ipk_svc_client_close(e->cl);
		ipk_svc_close(e->srv);
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static int svc_send(void *end, const void *buf, size_t len)
{
	struct end *e = end;

	if (e->cl)
		return ipk_svc_call_start(e->cl, buf, len, &e->id, 0);
	return ipk_svc_reply(e->srv, e->id, buf, len);
}

static int svc_recv(void *end, void *buf, size_t len)
{
	struct end *e = end;
	struct ipk_svc_req req;
	ssize_t n;

	if (e->cl) {
		n = ipk_svc_call_wait(e->cl, e->id, buf, len, e->timeout_ns);
	} else {
		n = ipk_svc_recv(e->srv, buf, len, &req, e->timeout_ns);
		e->id = req.id;
	}
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EPROTO;
}

static void svc_close(void *end, enum bench_side side)
{
	struct end *e = end;

	(void)side;
	if (!e)
		return;
	ipk_svc_client_close(e->cl);
	ipk_svc_close(e->srv);
	free(e);
}

static void svc_destroy(const struct bench_env *env, void *shared)
{
	(void)env;
	free(shared);
}

static const struct bench_ops ops = {
	.prepare = svc_prepare,
	.open = svc_open,
	.send = svc_send,
	.recv = svc_recv,
	.close = svc_close,
	.destroy = svc_destroy,
};

static const uint32_t spin_flags = IPK_SVC_SPIN, sleep_flags = 0;

static const struct bench_mech mechs[] = {
	{ .name = "svc-spin",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_RTT,
	  .desc = "request/reply call (ipk_svc), client and server spinning",
	  .ops = &ops,
	  .arg = &spin_flags },
	{ .name = "svc",
	  .raw = "eventfd-raw",
	  .kinds = BENCH_RTT,
	  .desc = "request/reply call (ipk_svc), both sides sleeping (eventfd doorbells)",
	  .ops = &ops,
	  .arg = &sleep_flags },
};

BENCH_DEFINE_MODULE(svc, mechs);
