/* SPDX-License-Identifier: MIT */
/*
 * bench/ring.c - the shared-memory ring rows (ipk_ring, ring.h).
 *
 *   shm-ring       broadcast ring, subscriber sleeps on the futex at once
 *                  (the default); raw twin futex-raw
 *   shm-ring-spin  broadcast ring, subscriber spins (IPK_RING_SPIN); raw
 *                  twin limit
 *   shm-ring-spinsleep  broadcast ring, subscriber spins 50 us, then sleeps
 *                  on the futex (spin_ns); raw twin futex-raw
 *   shm-ring-adaptive  broadcast ring, subscriber waits adaptively
 *                  (IPK_RING_ADAPTIVE: spins when a message is due, sleeps
 *                  on a timer or the futex otherwise); raw twin futex-raw.
 *                  Paced (BENCH_RATE), these four give the curve of the
 *                  subscriber's CPU time against latency per waiting mode.
 *   shm-queue      the lossless queue (IPK_RING_QUEUE, one consumer),
 *                  publish_wait, consumer sleeping; raw twin futex-raw
 *                  (an SPSC stream whose sides sleep on a futex)
 *   shm-ring-stream  one-way only: the broadcast ring as a stream, message
 *                  by message, subscriber spinning and copying every
 *                  message out; raw twin limit (an SPSC stream of slots)
 *   shm-ring-batch one-way only: the same through ipk_ring_publish_batch()
 *                  and ipk_ring_recv_batch(), BATCH_N messages a call
 *                  (small ones packed into one record); raw twin limit
 *   shm-ring-queue one-way only: the lossless queue as a stream, message
 *                  by message (publish_wait, ipk_ring_recv), consumer
 *                  spinning; raw twin limit
 *   shm-ring-queue-batch  one-way only: the same queue in batches of
 *                  BATCH_N (ipk_ring_publish_batch, ipk_ring_recv_batch):
 *                  what shm-ring-queue is measured against
 *
 * A round trip uses two rings, one published by each side. The broadcast
 * ring never waits for a subscriber, so a one-way stream through it
 * measures how much the subscriber loses as much as a throughput: the
 * round-trip rows' throughput cases are "n/a", and shm-queue is the ring's
 * lossless stream. The two stream rows give the broadcast ring room
 * (STREAM_CAP, and the default max_msg, so that batches pack) and hold
 * the publisher back outside the ring, as the limit's stream holds its
 * producer: the subscriber tells how many it took through a shared
 * counter (struct flow), every FLOW_EVERY messages or fewer, and the publisher
 * waits while half the ring's worth is unread. So nothing is lost and the
 * figure is what the subscriber received; a loss would fail the case.
 */
#include <errno.h>
#include <stdatomic.h>
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
	RING_STREAM,    /* spinning, one-way, a roomy ring */
	RING_BATCH,     /* RING_STREAM in batches */
	RING_SPINSLEEP, /* spin_ns, then the futex */
	RING_ADAPTIVE,  /* IPK_RING_ADAPTIVE */
	RING_QSTREAM,   /* the queue, one-way, consumer spinning, one by one */
	RING_QBATCH,    /* RING_QSTREAM in batches */
};

#define STREAM_CAP ((uint64_t)8 << 20)
#define BATCH_N 32     /* messages per batch call, on either side */
#define FLOW_EVERY 256 /* most messages between the subscriber's reports */

/* The stream rows' flow control, shared by both sides (MAP_SHARED). */
struct flow {
	_Alignas(64) _Atomic uint64_t taken; /* by the subscriber, so far */
};

struct ring_end {
	ipk_ring *pub;
	ipk_ring_sub *sub;
	bool queue;
	unsigned char *batch; /* RING_BATCH: BATCH_N messages, one after the other */
	struct ipk_msg msgs[BATCH_N];
	uint64_t asked, taken; /* stream rows' subscriber: see still_due() */
	struct flow *flow;     /* stream rows, side A publishing: the shared counter */
	uint64_t sent, window; /* stream rows' publisher: sent, most unread */
	struct flow *report;   /* stream rows, side B: where it says what it took */
	uint64_t every;        /* stream rows: messages between B's reports */
};

static int ring_check(const struct bench_env *env)
{
	const enum ring_mode *mode = env->mech->arg;

	if (env->kind == BENCH_TPUT && *mode != RING_QUEUE && *mode != RING_STREAM &&
	    *mode != RING_BATCH && *mode != RING_QSTREAM && *mode != RING_QBATCH)
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

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->queue = *mode == RING_QUEUE || *mode == RING_QSTREAM || *mode == RING_QBATCH;
	if (e->queue) {
		ro.flags |= IPK_RING_QUEUE;
		so.flags |= IPK_RING_CONSUMER;
	}
	if (*mode == RING_SPIN || *mode == RING_STREAM || *mode == RING_BATCH ||
	    *mode == RING_QSTREAM || *mode == RING_QBATCH)
		so.flags |= IPK_RING_SPIN;
	if (*mode == RING_SPINSLEEP)
		so.spin_ns = 50 * IPK_USEC;
	if (*mode == RING_ADAPTIVE)
		so.flags |= IPK_RING_ADAPTIVE;
	/* capacity / 4 - 16: a batch of small ones packs, and is committed
	 * together (batch_room() grows with max_msg) */
	if (*mode == RING_STREAM || *mode == RING_BATCH || *mode == RING_QSTREAM ||
	    *mode == RING_QBATCH)
		ro.max_msg = 0;
	if (*mode == RING_STREAM || *mode == RING_BATCH) {
		e->flow = side == BENCH_A ? shared : NULL; /* A streams, B acknowledges */
		e->report = side == BENCH_B ? shared : NULL;
		/* half the ring, counting each message's 16-byte header */
		e->window = ro.capacity / 2 / (((uint64_t)env->size + 16 + 7) & ~(uint64_t)7);
		/* reports often enough that the window never runs dry */
		e->every = e->window / 4 < FLOW_EVERY ? e->window / 4 + 1 : FLOW_EVERY;
	}
	if (*mode == RING_BATCH || *mode == RING_QBATCH) {
		e->batch = calloc(BATCH_N, env->size);
		if (!e->batch) {
			r = -ENOMEM;
			goto fail;
		}
	}
	ring_name(env, side, mine, sizeof(mine));
	ring_name(env, (enum bench_side) !side, theirs, sizeof(theirs));
	/* Fan-out: A only publishes, each subscriber only subscribes. */
	r = env->kind == BENCH_FANOUT && side == BENCH_B ? 0 : ipk_ring_create(mine, &ro, &e->pub);
	if (r < 0)
		goto fail;
	/* The peer creates its ring at the same time: wait for it. */
	while (env->kind != BENCH_FANOUT || side == BENCH_B) {
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

/* The stream rows' publisher: wait until @n more messages leave no more
 * than the window unread. */
static void flow_wait(struct ring_end *e, uint64_t n)
{
	unsigned spins = 0;

	/* Acquire: pairs with the subscriber's release of what it took. */
	while (e->sent + n >
	       atomic_load_explicit(&e->flow->taken, memory_order_acquire) + e->window)
		bench_spin(&spins);
	e->sent += n;
}

/* The stream rows' subscriber: report what it took, every e->every. */
static void flow_report(struct ring_end *e, uint64_t before)
{
	if (e->report && e->taken / e->every != before / e->every)
		atomic_store_explicit(&e->report->taken, e->taken, memory_order_release);
}

static int ring_send(void *end, const void *buf, size_t len)
{
	struct ring_end *e = end;

	if (e->flow)
		flow_wait(e, 1);
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
	if (ipk_ring_lost(e->sub) != 0)
		return -ENOBUFS; /* a ring behind: see bench.h */
	return (size_t)n == len ? 0 : -EPROTO;
}

/* The stream rows' subscriber: how many more messages this call waits for
 * (counted over the whole case); -EPROTO once one was lost, which the flow
 * control rules out. */
static long still_due(struct ring_end *e)
{
	if (ipk_ring_lost(e->sub) != 0)
		return -EPROTO;
	return e->taken < e->asked ? (long)(e->asked - e->taken) : 0;
}

/* RING_STREAM: @n messages of @len bytes into @buf. */
static int ring_recv_stream(void *end, void *buf, size_t len, unsigned long n)
{
	struct ring_end *e = end;

	long left;

	e->asked += n;
	while ((left = still_due(e)) > 0) {
		ssize_t r = ipk_ring_recv(e->sub, buf, len, IPK_FOREVER);

		if (r < 0)
			return (int)r;
		if ((size_t)r != len)
			return -EPROTO;
		flow_report(e, e->taken++);
	}
	return (int)left;
}

/* The stream rows: @n messages of @len bytes one by one, in one loop, as a
 * program that streams would send them (the batch rows' send_many is a
 * loop too: an indirect call per message would weigh on these rows only). */
static int ring_send_each(void *end, const void *buf, size_t len, unsigned long n)
{
	struct ring_end *e = end;
	int r = 0;

	for (; n > 0 && r >= 0; n--) {
		if (e->flow)
			flow_wait(e, 1);
		r = e->queue ? ipk_ring_publish_wait(e->pub, buf, len, IPK_FOREVER)
			     : ipk_ring_publish(e->pub, buf, len);
	}
	return r < 0 ? r : 0;
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
		if (e->flow)
			flow_wait(e, k);
		r = ipk_ring_publish_batch(e->pub, e->msgs, k);
		if (r == -EAGAIN && e->queue) { /* full: wait for room for one */
			r = ipk_ring_publish_wait(e->pub, e->msgs[0].buf, len, IPK_FOREVER);
			r = r < 0 ? r : 1;
		}
		if (r < 0)
			return r;
		if ((unsigned)r < k && e->flow)
			e->sent -= k - (unsigned)r; /* counted in flow_wait() */
		n -= (unsigned long)r;
	}
	return 0;
}

static int ring_recv_many(void *end, void *buf, size_t len, unsigned long n)
{
	struct ring_end *e = end;
	long left;

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
		flow_report(e, e->taken - (uint64_t)r);
	}
	return (int)left;
}

/* The stream rows: the flow counter both sides inherit. */
static int ring_prepare(const struct bench_env *env, void **shared)
{
	const enum ring_mode *mode = env->mech->arg;
	void *p;

	if (*mode != RING_STREAM && *mode != RING_BATCH)
		return 0;
	p = mmap(NULL, sizeof(struct flow), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		return bench_neg_errno();
	*shared = p;
	return 0;
}

/* Removes what a killed side may have left. */
static void ring_destroy(const struct bench_env *env, void *shared)
{
	char name[96];
	int side;

	if (shared)
		(void)munmap(shared, sizeof(struct flow));
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
	.prepare = ring_prepare,
	.open = ring_open,
	.send = ring_send,
	.recv = ring_recv,
	.send_many = ring_send_each,
	.recv_many = ring_recv_stream,
	.close = ring_close,
	.destroy = ring_destroy,
};

static const struct bench_ops batch_ops = {
	.check = ring_check,
	.prepare = ring_prepare,
	.open = ring_open,
	.send = ring_send,
	.recv = ring_recv,
	.send_many = ring_send_many,
	.recv_many = ring_recv_many,
	.close = ring_close,
	.destroy = ring_destroy,
};

static const enum ring_mode sleep_mode = RING_SLEEP, spin_mode = RING_SPIN, queue_mode = RING_QUEUE,
			    spinsleep_mode = RING_SPINSLEEP, adaptive_mode = RING_ADAPTIVE,
			    stream_mode = RING_STREAM, batch_mode = RING_BATCH,
			    qstream_mode = RING_QSTREAM, qbatch_mode = RING_QBATCH;

static const struct bench_mech mechs[] = {
	{ .name = "shm-ring-spin",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE | BENCH_FANOUT,
	  .desc = "broadcast ring (ipk_ring), subscriber spinning",
	  .ops = &ops,
	  .arg = &spin_mode },
	{ .name = "shm-ring",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE | BENCH_FANOUT,
	  .desc = "broadcast ring (ipk_ring), subscriber sleeping on the futex",
	  .ops = &ops,
	  .arg = &sleep_mode },
	{ .name = "shm-ring-spinsleep",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_RATE | BENCH_FANOUT,
	  .desc = "broadcast ring (ipk_ring), subscriber spinning 50 us, then sleeping",
	  .ops = &ops,
	  .arg = &spinsleep_mode },
	{ .name = "shm-ring-adaptive",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_RATE | BENCH_FANOUT,
	  .desc = "broadcast ring (ipk_ring), subscriber waiting adaptively (IPK_RING_ADAPTIVE)",
	  .ops = &ops,
	  .arg = &adaptive_mode },
	{ .name = "shm-queue",
	  .raw = "futex-raw",
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
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
	{ .name = "shm-ring-queue",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_TPUT,
	  .desc = "lossless ring queue as a one-way stream, message by message, consumer spinning",
	  .ops = &stream_ops,
	  .arg = &qstream_mode },
	{ .name = "shm-ring-queue-batch",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_TPUT,
	  .desc = "lossless ring queue stream in batches (publish_batch, recv_batch)",
	  .ops = &batch_ops,
	  .arg = &qbatch_mode },
};

BENCH_DEFINE_MODULE(ring, mechs);
