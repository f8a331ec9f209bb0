/* SPDX-License-Identifier: MIT */
/*
 * bench/ring.c - the shared-memory ring rows (ipk_ring, ring.h).
 *
 *   shm-ring       broadcast ring, subscriber sleeps on the futex at once
 *                  (the default); raw twin futex-raw
 *   shm-ring-spin  broadcast ring, subscriber spins (IPK_RING_SPIN); raw
 *                  twin limit
 *   shm-queue      the lossless queue (IPK_RING_QUEUE, one consumer),
 *                  publish_wait, consumer sleeping; raw twin futex-raw
 *                  (an SPSC stream whose sides sleep on a futex)
 *   shm-ring-stream  one-way only: the broadcast ring as a stream, message
 *                  by message, subscriber spinning and copying every
 *                  message out; raw twin limit (an SPSC stream of slots)
 *   shm-ring-batch one-way only: the same through ipk_ring_publish_batch()
 *                  and ipk_ring_recv_batch(), BATCH_N messages a call
 *                  (small ones packed into one record); raw twin limit
 *
 * A round trip uses two rings, one published by each side. The broadcast
 * ring never waits for a subscriber, so a one-way stream through it
 * measures how much the subscriber loses as much as a throughput: the
 * round-trip rows' throughput cases are "n/a", and shm-queue is the ring's
 * lossless stream. The two stream rows give the broadcast ring room
 * (STREAM_CAP, and the default max_msg, so that batches pack), and their
 * subscriber counts a message it lost (lapped: a busy machine took its CPU
 * away) as passed, so that the case ends rather than waits for it: their
 * figure is the rate of the stream through a subscriber that keeps up,
 * and the publisher's alone where it does not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include <ipckit/ring.h>

#include "bench.h"

enum ring_mode {
	RING_SLEEP,
	RING_SPIN,
	RING_QUEUE,
	RING_STREAM, /* spinning, one-way, a roomy ring */
	RING_BATCH,  /* RING_STREAM in batches */
};

#define STREAM_CAP ((uint64_t)8 << 20)
#define BATCH_N 32 /* messages per batch call, on either side */

struct ring_end {
	ipk_ring *pub;
	ipk_ring_sub *sub;
	bool queue;
	unsigned char *batch; /* RING_BATCH: BATCH_N messages, one after the other */
	struct ipk_msg msgs[BATCH_N];
	uint64_t asked, taken; /* stream rows' subscriber: see still_due() */
};

static int ring_check(const struct bench_env *env)
{
	const enum ring_mode *mode = env->mech->arg;

	if (env->kind == BENCH_TPUT && *mode != RING_QUEUE && *mode != RING_STREAM &&
	    *mode != RING_BATCH)
		return bench_na(env, "the broadcast ring never waits for a subscriber: a stream "
				     "measures losses (see shm-queue)");
	return 0;
}

static void ring_name(const struct bench_env *env, enum bench_side side, char *buf, size_t len)
{
	snprintf(buf, len, "/%s-%c", env->tag, side == BENCH_A ? 'a' : 'b');
}

/*
 * Every message walks on through the ring, so its capacity is the working
 * set. Streams get room for bursts (1 MiB, more for big messages); round
 * trips of messages over 1 KiB get 16 records' worth, so that the rings a
 * process touches stay in its cache (with 1 MiB rings the 4 KiB p99 is 2-3
 * times the limit's on a 512 KiB L2), small ones 1 MiB (a tail step of 64
 * KiB keeps the overwrite mark still for hundreds of messages).
 */
static uint64_t capacity_for(const struct bench_env *env)
{
	uint64_t rec = ((uint64_t)env->size + 31) & ~(uint64_t)15; /* record + slack */
	const enum ring_mode *mode = env->mech->arg;
	uint64_t cap = *mode == RING_STREAM || *mode == RING_BATCH ? STREAM_CAP : (uint64_t)1 << 20;

	if (env->kind == BENCH_RTT && env->size > 1024)
		cap = (uint64_t)64 << 10;
	/* 16 records (4 of the huge ones); max_msg may be at most
	 * capacity / 2 - 16. */
	while (cap / (env->size <= 65536 ? 16 : 4) < rec)
		cap <<= 1;
	return cap;
}

static void ring_close(void *end, enum bench_side side)
{
	struct ring_end *e = end;

	(void)side;
	if (!e)
		return;
	ipk_ring_sub_close(e->sub);
	ipk_ring_close(e->pub);
	free(e->batch);
	free(e);
}

static int ring_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const enum ring_mode *mode = env->mech->arg;
	struct ipk_ring_opts ro = { .capacity = capacity_for(env),
				    .max_msg = (uint32_t)env->size,
				    .flags = IPK_RING_EXCL };
	struct ipk_ring_sub_opts so = { 0 };
	int64_t deadline = bench_deadline(env->timeout_ns);
	char mine[96], theirs[96];
	struct ring_end *e;
	int r;

	(void)shared;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->queue = *mode == RING_QUEUE;
	if (e->queue) {
		ro.flags |= IPK_RING_QUEUE;
		so.flags |= IPK_RING_CONSUMER;
	}
	if (*mode == RING_SPIN || *mode == RING_STREAM || *mode == RING_BATCH)
		so.flags |= IPK_RING_SPIN;
	if (*mode == RING_STREAM || *mode == RING_BATCH)
		ro.max_msg = 0; /* capacity / 4 - 16: a batch of small ones packs */
	if (*mode == RING_BATCH) {
		e->batch = calloc(BATCH_N, env->size);
		if (!e->batch) {
			r = -ENOMEM;
			goto fail;
		}
	}
	ring_name(env, side, mine, sizeof(mine));
	ring_name(env, (enum bench_side) !side, theirs, sizeof(theirs));
	r = ipk_ring_create(mine, &ro, &e->pub);
	if (r < 0)
		goto fail;
	/* The peer creates its ring at the same time: wait for it. */
	for (;;) {
		struct timespec ts = { 0, 100000 };

		r = ipk_ring_open(theirs, &so, &e->sub);
		/* Not there yet, or linked but not yet set up: retry until
		 * the deadline, and report the last answer then. */
		if (r != -ENOENT && r != -EAGAIN)
			break;
		if (bench_now_ns() > deadline)
			break;
		nanosleep(&ts, NULL);
	}
	if (r < 0)
		goto fail;
	*end = e;
	return 0;
fail:
	ring_close(e, side);
	return r;
}

static int ring_send(void *end, const void *buf, size_t len)
{
	struct ring_end *e = end;

	if (e->queue)
		return ipk_ring_publish_wait(e->pub, buf, len, IPK_FOREVER);
	return ipk_ring_publish(e->pub, buf, len);
}

static int ring_recv(void *end, void *buf, size_t len)
{
	struct ring_end *e = end;
	ssize_t n = ipk_ring_recv(e->sub, buf, len, IPK_FOREVER);

	if (n < 0)
		return (int)n;
	if ((size_t)n != len || ipk_ring_lost(e->sub) != 0)
		return -EPROTO;
	return 0;
}

/*
 * The stream rows' subscriber: how many more messages this call waits for,
 * @n asked for now. Counted over the whole case (taken + lost against all
 * that was asked for), as one receive can pass the end of a call's share
 * when it learns of a loss; the publisher has sent all that was asked for
 * whenever the engine waits for an acknowledgement, so the count is exact.
 */
static unsigned long still_due(struct ring_end *e)
{
	uint64_t passed = e->taken + ipk_ring_lost(e->sub);

	return passed < e->asked ? (unsigned long)(e->asked - passed) : 0;
}

/* RING_STREAM: @n messages of @len bytes into @buf. */
static int ring_recv_stream(void *end, void *buf, size_t len, unsigned long n)
{
	struct ring_end *e = end;

	e->asked += n;
	while (still_due(e) > 0) {
		ssize_t r = ipk_ring_recv(e->sub, buf, len, IPK_FOREVER);

		if (r < 0)
			return (int)r;
		if ((size_t)r != len)
			return -EPROTO;
		e->taken++;
	}
	return 0;
}

/* RING_BATCH: @n messages of @len bytes, BATCH_N a call. */
static int ring_send_many(void *end, const void *buf, size_t len, unsigned long n)
{
	struct ring_end *e = end;

	(void)buf; /* the batch area holds the messages, one after the other */
	while (n > 0) {
		unsigned k = n < BATCH_N ? (unsigned)n : BATCH_N;
		int r;

		for (unsigned j = 0; j < k; j++)
			e->msgs[j] = (struct ipk_msg){ .buf = e->batch + j * len, .len = len };
		r = ipk_ring_publish_batch(e->pub, e->msgs, k);
		if (r < 0)
			return r;
		n -= (unsigned long)r;
	}
	return 0;
}

static int ring_recv_many(void *end, void *buf, size_t len, unsigned long n)
{
	struct ring_end *e = end;
	unsigned long left;

	(void)buf;
	e->asked += n;
	while ((left = still_due(e)) > 0) {
		unsigned k = left < BATCH_N ? (unsigned)left : BATCH_N;
		int r;

		for (unsigned j = 0; j < k; j++)
			e->msgs[j] = (struct ipk_msg){ .buf = e->batch + j * len, .len = len };
		r = ipk_ring_recv_batch(e->sub, e->msgs, k, IPK_FOREVER);
		if (r < 0)
			return r;
		for (int j = 0; j < r; j++)
			if (e->msgs[j].len != len)
				return -EPROTO;
		e->taken += (uint64_t)r;
	}
	return 0;
}

/* Removes what a killed side may have left. */
static void ring_destroy(const struct bench_env *env, void *shared)
{
	char name[96];
	int side;

	(void)shared;
	for (side = 0; side < 2; side++) {
		ring_name(env, (enum bench_side)side, name, sizeof(name));
		bench_ring_unlink(name);
	}
}

static const struct bench_ops ops = {
	.check = ring_check,
	.open = ring_open,
	.send = ring_send,
	.recv = ring_recv,
	.close = ring_close,
	.destroy = ring_destroy,
};

static const struct bench_ops stream_ops = {
	.check = ring_check,
	.open = ring_open,
	.send = ring_send,
	.recv = ring_recv,
	.recv_many = ring_recv_stream,
	.close = ring_close,
	.destroy = ring_destroy,
};

static const struct bench_ops batch_ops = {
	.check = ring_check,
	.open = ring_open,
	.send = ring_send,
	.recv = ring_recv,
	.send_many = ring_send_many,
	.recv_many = ring_recv_many,
	.close = ring_close,
	.destroy = ring_destroy,
};

static const enum ring_mode sleep_mode = RING_SLEEP, spin_mode = RING_SPIN, queue_mode = RING_QUEUE,
			    stream_mode = RING_STREAM, batch_mode = RING_BATCH;

static const struct bench_mech mechs[] = {
	{ .name = "shm-ring-spin",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "broadcast ring (ipk_ring), subscriber spinning",
	  .ops = &ops,
	  .arg = &spin_mode },
	{ .name = "shm-ring",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "broadcast ring (ipk_ring), subscriber sleeping on the futex",
	  .ops = &ops,
	  .arg = &sleep_mode },
	{ .name = "shm-queue",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "lossless ring queue (IPK_RING_QUEUE), consumer sleeping",
	  .ops = &ops,
	  .arg = &queue_mode },
	{ .name = "shm-ring-stream",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_TPUT,
	  .desc = "broadcast ring (ipk_ring) as a one-way stream, subscriber spinning",
	  .ops = &stream_ops,
	  .arg = &stream_mode },
	{ .name = "shm-ring-batch",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_TPUT,
	  .desc = "broadcast ring stream in batches (ipk_ring_publish_batch, ipk_ring_recv_batch)",
	  .ops = &batch_ops,
	  .arg = &batch_mode },
};

BENCH_DEFINE_MODULE(ring, mechs);
