/* SPDX-License-Identifier: MIT */
/*
 * bench/wake.c - raw wake-up rows: the message in shared memory, the
 * sleeping side woken by a futex, an eventfd or a real-time signal
 * (sigqueue to the peer, sigwaitinfo). Each wakes a side only when it said
 * it sleeps (shmq.h), as a library would. These are the raw twins for the
 * library rows of the notify and sync modules; shm-ring's blocking row
 * compares itself with futex-raw.
 */
#include "shmq.h"

static const enum shmq_wait futex = SHMQ_FUTEX, efd = SHMQ_EVENTFD, sig = SHMQ_SIGNAL;

static const struct bench_ops ops = {
	.prepare = shmq_anon_prepare,
	.open = shmq_anon_open,
	.send = shmq_send,
	.recv = shmq_recv,
	.close = shmq_close,
	.destroy = shmq_anon_destroy,
};

static const struct bench_mech mechs[] = {
	{ .name = "futex-raw",
	  .flags = BENCH_RAW,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "shared memory, a sleeping side woken by FUTEX_WAKE",
	  .ops = &ops,
	  .arg = &futex },
	{ .name = "eventfd-raw",
	  .flags = BENCH_RAW,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "shared memory, a sleeping side woken through an eventfd",
	  .ops = &ops,
	  .arg = &efd },
	{ .name = "rtsig-raw",
	  .flags = BENCH_RAW,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "shared memory, a sleeping side woken by sigqueue(SIGRTMIN)",
	  .ops = &ops,
	  .arg = &sig },
};

BENCH_DEFINE_MODULE(wake, mechs);
