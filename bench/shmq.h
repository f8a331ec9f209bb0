/* SPDX-License-Identifier: MIT */
/*
 * bench/shmq.h - raw shared-memory message passing for the reference and
 * wake-up rows: two single-producer single-consumer queues (A -> B and
 * B -> A) of fixed-size slots in one shared region, and a choice of how a
 * side waits for the other: spinning (the hardware limit), a futex, an
 * eventfd or a real-time signal (what each wake-up costs the kernel).
 *
 * With a doorbell, a side that is about to sleep raises its flag and checks
 * again; the other side rings only when it takes the flag down (Dekker, with
 * sequentially consistent store and exchange on both sides), so a message is
 * never left unnoticed and nobody makes a system call while the peer is
 * awake. Raw rows: only libc and system calls, no ipckit.
 */
#ifndef IPCKIT_BENCH_SHMQ_H
#define IPCKIT_BENCH_SHMQ_H

#include "bench.h"

enum shmq_wait {
	SHMQ_SPIN,
	SHMQ_FUTEX,
	SHMQ_EVENTFD,
	SHMQ_SIGNAL,
};

/* Bytes of shared memory a case needs (a page multiple). */
size_t shmq_region_size(const struct bench_env *env);

/* What both sides share; made in .prepare. */
struct shmq_shared {
	enum shmq_wait wait;
	void *region; /* MAP_SHARED, shmq_region_size() bytes, or NULL: see base */
	int efd[2];   /* SHMQ_EVENTFD: the doorbell of side A, of side B */
};

/* Initialises @region (zeroed) for @env. */
void shmq_init(const struct bench_env *env, void *region);

/* One side's end over @region (its own mapping of the shared region). */
int shmq_open(const struct bench_env *env, const struct shmq_shared *sh, void *region,
	      enum bench_side side, void **end);
int shmq_send(void *end, const void *buf, size_t len);
int shmq_recv(void *end, void *buf, size_t len);
void shmq_close(void *end, enum bench_side side);

/* For rows whose region is a MAP_SHARED anonymous mapping made in
 * .prepare: prepare, open and destroy that use it. @wait comes from
 * env->mech->arg (a const enum shmq_wait *). */
int shmq_anon_prepare(const struct bench_env *env, void **shared);
int shmq_anon_open(const struct bench_env *env, void *shared, enum bench_side side, void **end);
void shmq_anon_destroy(const struct bench_env *env, void *shared);

#endif /* IPCKIT_BENCH_SHMQ_H */
