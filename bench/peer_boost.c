/* SPDX-License-Identifier: MIT */
/*
 * bench/peer_boost.c - Boost.Interprocess message_queue as a peer row.
 *
 *   boost-mq       two message_queues (one per direction) in POSIX shared
 *                  memory, send() and a blocking receive() (a process-shared
 *                  mutex and condition variable)
 *   boost-mq-poll  the same, but the receiver polls try_receive() in a spin
 *                  loop
 *
 * The queues are created by name in .prepare, opened by name in each side,
 * as unrelated processes would, and removed in .destroy. Their slots are
 * exactly the case's size; a round trip needs one, a stream gets up to
 * STREAM_DEPTH (fewer for big messages). The C++ lives in peer_boost.cpp;
 * built without Boost or a matching C++ compiler, both rows are n/a with
 * the reason.
 */
#include <errno.h>
#include <stdint.h>

#include "bench.h"

#ifdef IPK_HAVE_BOOST
#include "peer_boost.h"

#define STREAM_DEPTH 256
#define MAX_QUEUE ((size_t)64 << 20) /* bytes of slots per queue */

static int boost_prepare(const struct bench_env *env, void **shared)
{
	size_t depth = env->kind != BENCH_RTT ? MAX_QUEUE / env->size : 1;

	if (depth > STREAM_DEPTH)
		depth = STREAM_DEPTH;
	if (depth < 1)
		return bench_na(env, "a message_queue slot over %zu MiB", MAX_QUEUE >> 20);
	*shared = NULL;
	return peer_boost_create(env->tag, env->size, depth, env->why, BENCH_WHY_MAX);
}

static int boost_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	(void)shared;
	return peer_boost_open(env->tag, side == BENCH_B, end);
}

static int boost_recv_block(void *end, void *buf, size_t len)
{
	return peer_boost_recv(end, buf, len, false);
}

static int boost_recv_poll(void *end, void *buf, size_t len)
{
	return peer_boost_recv(end, buf, len, true);
}

static void boost_close(void *end, enum bench_side side)
{
	(void)side;
	peer_boost_close(end);
}

static void boost_destroy(const struct bench_env *env, void *shared)
{
	(void)shared;
	peer_boost_remove(env->tag);
}

static const struct bench_ops block_ops = {
	.prepare = boost_prepare,
	.open = boost_open,
	.send = peer_boost_send,
	.recv = boost_recv_block,
	.close = boost_close,
	.destroy = boost_destroy,
};

static const struct bench_ops poll_ops = {
	.prepare = boost_prepare,
	.open = boost_open,
	.send = peer_boost_send,
	.recv = boost_recv_poll,
	.close = boost_close,
	.destroy = boost_destroy,
};

#define ROW_VERSION peer_boost_version
#else
static int boost_missing(const struct bench_env *env)
{
	/* IPK_BOOST_MISSING: why, and what to do (bench/meson.build) */
	return bench_na(env, "built without Boost.Interprocess: %s", IPK_BOOST_MISSING);
}

static const struct bench_ops block_ops = { .check = boost_missing };
static const struct bench_ops poll_ops = { .check = boost_missing };
#define ROW_VERSION NULL
#endif

static const struct bench_mech mechs[] = {
	{ .name = "boost-mq",
	  .flags = BENCH_PEER,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "Boost.Interprocess message_queue, blocking receive",
	  .ops = &block_ops,
	  .version = ROW_VERSION },
	{ .name = "boost-mq-poll",
	  .flags = BENCH_PEER | BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "Boost.Interprocess message_queue, try_receive spinning",
	  .ops = &poll_ops,
	  .version = ROW_VERSION },
};

BENCH_DEFINE_MODULE(boost, mechs);
