/* SPDX-License-Identifier: MIT */
/*
 * bench/mpsc.c - rows for ipk_mpsc (many producers, one consumer), with
 * one producer here since the engine has two sides:
 *
 *   shm-mpsc         round trip and one-way stream; each side consumes
 *                    its own queue and produces into the other's, the
 *                    consumer sleeping on the doorbell (futex); raw twin
 *                    futex-raw (an SPSC stream whose sides sleep on a futex)
 *   shm-mpsc-spin    the same with the consumer spinning (IPK_MPSC_SPIN);
 *                    raw twin limit. Its one-way stream is lossless by
 *                    construction (the lane's backpressure), to read beside
 *                    shm-ring-stream (the broadcast ring as a stream)
 *
 * Several producers sharing the CPUs, and how fairly they are served,
 * cannot be said with two sides: tests/mpsc/fairness.c measures that
 * (build-dir/tests/mpsc/mpsc-fairness).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include <ipckit/mpsc.h>

#include "bench.h"

enum mpsc_mode {
	MPSC_SLEEP,
	MPSC_SPIN,
};

struct mpsc_end {
	ipk_mpsc *cons;      /* our queue */
	ipk_mpsc_prod *prod; /* into the peer's */
};

static void queue_name(const struct bench_env *env, enum bench_side side, char *buf, size_t len)
{
	snprintf(buf, len, "/%s-m%c", env->tag, side == BENCH_A ? 'a' : 'b');
}

/* A lane with room for 16 of the largest messages, 256 KiB at least. */
static uint64_t lane_for(size_t size)
{
	uint64_t cap = (uint64_t)256 << 10;

	while (cap / 16 < size + 32)
		cap <<= 1;
	return cap;
}

static int mpsc_check(const struct bench_env *env)
{
	if (env->kind != BENCH_RTT && env->kind != BENCH_TPUT)
		return bench_na(env, "round trip and stream only");
	if (lane_for(env->size) > ((uint64_t)1 << 30))
		return bench_na(env, "larger than a lane can hold");
	return 0;
}

static void mpsc_close(void *end, enum bench_side side)
{
	struct mpsc_end *e = end;

	(void)side;
	if (!e)
		return;
	ipk_mpsc_prod_close(e->prod);
	ipk_mpsc_close(e->cons);
	free(e);
}

static int mpsc_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const enum mpsc_mode *mode = env->mech->arg;
	struct ipk_mpsc_opts co = { .flags = IPK_MPSC_EXCL };
	struct ipk_mpsc_prod_opts po = { .capacity = lane_for(env->size) };
	int64_t deadline = bench_deadline(env->timeout_ns);
	char mine[96], theirs[96];
	struct mpsc_end *e;
	int r = 0;

	(void)shared;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (*mode == MPSC_SPIN)
		co.flags |= IPK_MPSC_SPIN;
	queue_name(env, side, mine, sizeof(mine));
	queue_name(env, (enum bench_side) !side, theirs, sizeof(theirs));
	/* Both directions in every case: the engine's acknowledgements
	 * travel back from B to A. */
	r = ipk_mpsc_create(mine, &co, &e->cons);
	if (r < 0)
		goto fail;
	/* The peer creates its queue at the same time: wait for it. Timeout
	 * 0: the consumer admits us in its first receive. */
	for (;;) {
		struct timespec ts = { 0, 100000 };

		r = ipk_mpsc_connect(theirs, &po, 0, &e->prod);
		if ((r != -ENOENT && r != -EAGAIN && r != -ECONNREFUSED) ||
		    bench_now_ns() > deadline)
			break;
		nanosleep(&ts, NULL);
	}
	if (r < 0)
		goto fail;
	*end = e;
	return 0;
fail:
	mpsc_close(e, side);
	return r;
}

static int mpsc_send(void *end, const void *buf, size_t len)
{
	struct mpsc_end *e = end;

	return ipk_mpsc_send(e->prod, buf, len, IPK_FOREVER);
}

static int mpsc_recv(void *end, void *buf, size_t len)
{
	struct mpsc_end *e = end;
	ssize_t n = ipk_mpsc_recv(e->cons, buf, len, NULL, IPK_FOREVER);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EPROTO;
}

/* Removes what a killed side may have left. */
static void mpsc_destroy(const struct bench_env *env, void *shared)
{
	char name[96], door[128];

	(void)shared;
	for (int side = 0; side < 2; side++) {
		queue_name(env, (enum bench_side)side, name, sizeof(name));
		snprintf(door, sizeof(door), "%s-door", name);
		(void)shm_unlink(name);
		(void)shm_unlink(door);
	}
}

static const struct bench_ops ops = {
	.check = mpsc_check,
	.open = mpsc_open,
	.send = mpsc_send,
	.recv = mpsc_recv,
	.close = mpsc_close,
	.destroy = mpsc_destroy,
};

static const enum mpsc_mode sleep_mode = MPSC_SLEEP, spin_mode = MPSC_SPIN;

static const struct bench_mech mechs[] = {
	{ .name = "shm-mpsc",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "many-to-one queue (ipk_mpsc), one producer, consumer sleeping on a futex",
	  .ops = &ops,
	  .arg = &sleep_mode },
	{ .name = "shm-mpsc-spin",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "many-to-one queue (ipk_mpsc), one producer, consumer spinning; lossless stream",
	  .ops = &ops,
	  .arg = &spin_mode },
};

BENCH_DEFINE_MODULE(mpsc, mechs);
