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
 *   shm-mpsc-2       stream only: two producers into one spinning consumer,
 *                    the second a thread of side A with a lane of its own,
 *                    so both producers share A's CPU and the consumer has
 *                    B's; each sends half of every batch. Raw twin limit
 *
 * How fairly more producers are served cannot be said with two sides:
 * tests/mpsc/fairness.c measures that (build-dir/tests/mpsc/mpsc-fairness).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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
	MPSC_TWO, /* spinning, two producers */
};

/* shm-mpsc-2: the second producer, a thread sending what it is given. */
struct second {
	pthread_t thread;
	ipk_mpsc_prod *prod;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const void *buf;
	size_t len;
	unsigned long todo; /* > 0: a batch to send */
	bool quit;
	int rc; /* the last batch's */
};

struct mpsc_end {
	ipk_mpsc *cons;      /* our queue */
	ipk_mpsc_prod *prod; /* into the peer's */
	struct second *two;  /* shm-mpsc-2, side A: the second producer */
};

static void *second_main(void *arg)
{
	struct second *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int r = 0;

		while (!s->todo && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit)
			break;
		pthread_mutex_unlock(&s->mu);
		for (unsigned long i = 0; i < s->todo && r == 0; i++)
			r = ipk_mpsc_send(s->prod, s->buf, s->len, IPK_FOREVER);
		pthread_mutex_lock(&s->mu);
		s->rc = r;
		s->todo = 0;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void second_stop(struct second *s)
{
	if (!s)
		return;
	if (s->prod) {
		pthread_mutex_lock(&s->mu);
		s->quit = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		ipk_mpsc_prod_close(s->prod);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Connects the second producer to @name and starts its thread. */
static int second_start(const char *name, const struct ipk_mpsc_prod_opts *po, struct second **ret)
{
	struct second *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	r = ipk_mpsc_connect(name, po, 0, &s->prod);
	if (r == 0 && (r = -pthread_create(&s->thread, NULL, second_main, s)) != 0) {
		ipk_mpsc_prod_close(s->prod);
		s->prod = NULL;
	}
	if (r < 0) {
		second_stop(s);
		return r;
	}
	*ret = s;
	return 0;
}

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
	const enum mpsc_mode *mode = env->mech->arg;

	if (env->kind != BENCH_RTT && env->kind != BENCH_TPUT)
		return bench_na(env, "round trip and stream only");
	if (*mode == MPSC_TWO && env->kind != BENCH_TPUT)
		return bench_na(env, "a stream only: two producers take no round trip");
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
	second_stop(e->two);
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
	if (*mode != MPSC_SLEEP)
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
	if (r == 0 && *mode == MPSC_TWO && side == BENCH_A)
		r = second_start(theirs, &po, &e->two);
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

/* shm-mpsc-2: half of the batch from each producer, the two at once. */
static int mpsc_send_many(void *end, const void *buf, size_t len, unsigned long n)
{
	struct mpsc_end *e = end;
	struct second *s = e->two;
	unsigned long half = n / 2;
	int r = 0, r2;

	if (!s) { /* side B: its acknowledgements */
		for (unsigned long i = 0; i < n && r == 0; i++)
			r = ipk_mpsc_send(e->prod, buf, len, IPK_FOREVER);
		return r;
	}
	pthread_mutex_lock(&s->mu);
	s->buf = buf;
	s->len = len;
	s->todo = half;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (unsigned long i = half; i < n && r == 0; i++)
		r = ipk_mpsc_send(e->prod, buf, len, IPK_FOREVER);
	pthread_mutex_lock(&s->mu);
	while (s->todo)
		pthread_cond_wait(&s->cv, &s->mu);
	r2 = s->rc;
	pthread_mutex_unlock(&s->mu);
	return r ? r : r2;
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

static const struct bench_ops two_ops = {
	.check = mpsc_check,
	.open = mpsc_open,
	.send = mpsc_send,
	.recv = mpsc_recv,
	.send_many = mpsc_send_many,
	.close = mpsc_close,
	.destroy = mpsc_destroy,
};

static const enum mpsc_mode sleep_mode = MPSC_SLEEP, spin_mode = MPSC_SPIN, two_mode = MPSC_TWO;

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
	{ .name = "shm-mpsc-2",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_TPUT,
	  .desc = "many-to-one queue (ipk_mpsc), two producers sharing CPU A, consumer spinning",
	  .ops = &two_ops,
	  .arg = &two_mode },
};

BENCH_DEFINE_MODULE(mpsc, mechs);
