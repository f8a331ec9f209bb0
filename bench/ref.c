/* SPDX-License-Identifier: MIT */
/*
 * bench/ref.c - the reference rows: what the hardware allows.
 *
 *   limit      two processes spinning on shared memory (MAP_SHARED
 *              anonymous, plain atomics): the round trip of a message of
 *              the case's size through the caches of the two CPUs, and
 *              (throughput) a single-producer single-consumer stream of
 *              slots. Nothing can move a message between the two faster.
 *   shm-posix  the same loop in a POSIX shared-memory object (ipk_shm,
 *              shm_open: tmpfs), opened and mapped by name in each process
 *   file-mmap  the same loop in a regular file on disk (ipk_shm,
 *              IPK_SHM_FILE in /var/tmp): the seed's FAQ Q1, shm_open or a
 *              mapped file; their raw twin is limit
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <ipckit/shm.h>

#include "shmq.h"

static const enum shmq_wait spin = SHMQ_SPIN;

static const struct bench_ops limit_ops = {
	.prepare = shmq_anon_prepare,
	.open = shmq_anon_open,
	.send = shmq_send,
	.recv = shmq_recv,
	.close = shmq_close,
	.destroy = shmq_anon_destroy,
};

/* shm-posix and file-mmap: the object is created in the supervisor and
 * opened by name in each side, as unrelated processes would. */
struct obj {
	struct shmq_shared sh;
	struct ipk_shm_ref ref;
	char name[96];
	ipk_shm *shm; /* the supervisor's (creator's) handle */
};

struct obj_end {
	ipk_shm *shm;
	void *q;
};

static void obj_destroy(const struct bench_env *env, void *shared)
{
	struct obj *o = shared;

	(void)env;
	if (!o)
		return;
	ipk_shm_free(o->shm); /* the creator's handle removes the name */
	free(o);
}

static int obj_prepare(const struct bench_env *env, void **shared)
{
	const enum ipk_shm_kind *kind = env->mech->arg;
	size_t size = shmq_region_size(env);
	struct obj *o;
	void *addr;
	int r;

	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->sh.wait = SHMQ_SPIN;
	o->sh.efd[0] = o->sh.efd[1] = -1;
	o->ref.kind = *kind;
	if (*kind == IPK_SHM_POSIX)
		snprintf(o->name, sizeof(o->name), "/%s", env->tag);
	else
		snprintf(o->name, sizeof(o->name), "/var/tmp/%s.bench", env->tag);
	o->ref.name = o->name;
	r = ipk_shm_create(&o->ref, size, 0600, IPK_SHM_EXCL, &o->shm);
	if (r < 0)
		goto fail;
	r = ipk_shm_map(o->shm, 0, &addr);
	if (r < 0)
		goto fail;
	shmq_init(env, addr);
	/* The sides map their own; this mapping is not needed any more. */
	(void)ipk_shm_unmap(o->shm);
	*shared = o;
	return 0;
fail:
	snprintf(env->why, BENCH_WHY_MAX, "ipk_shm %s", o->name);
	obj_destroy(env, o);
	return r;
}

static int obj_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	struct obj *o = shared;
	struct obj_end *e;
	void *addr;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = ipk_shm_open(&o->ref, shmq_region_size(env), 0, &e->shm);
	if (r < 0)
		goto fail;
	/* Fault the pages in now, not in the first timed round trips. */
	r = ipk_shm_map(e->shm, IPK_SHM_PREFAULT, &addr);
	if (r < 0)
		goto fail;
	r = shmq_open(env, &o->sh, addr, side, &e->q);
	if (r < 0)
		goto fail;
	*end = e;
	return 0;
fail:
	ipk_shm_free(e->shm);
	free(e);
	return r;
}

static int obj_send(void *end, const void *buf, size_t len)
{
	return shmq_send(((struct obj_end *)end)->q, buf, len);
}

static int obj_recv(void *end, void *buf, size_t len)
{
	return shmq_recv(((struct obj_end *)end)->q, buf, len);
}

static void obj_close(void *end, enum bench_side side)
{
	struct obj_end *e = end;

	if (!e)
		return;
	shmq_close(e->q, side);
	ipk_shm_free(e->shm); /* not the creator: removes nothing */
	free(e);
}

static const struct bench_ops obj_ops = {
	.prepare = obj_prepare,
	.open = obj_open,
	.send = obj_send,
	.recv = obj_recv,
	.close = obj_close,
	.destroy = obj_destroy,
};

static const enum ipk_shm_kind posix = IPK_SHM_POSIX, file = IPK_SHM_FILE;

static const struct bench_mech mechs[] = {
	{ .name = "limit",
	  .flags = BENCH_REF | BENCH_RAW | BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT | BENCH_RATE,
	  .desc = "hardware limit: spinning on anonymous shared memory (rtt), SPSC slot stream "
		  "(throughput)",
	  .ops = &limit_ops,
	  .arg = &spin },
	{ .name = "shm-posix",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "the limit's loop in a POSIX shm object (ipk_shm, shm_open, tmpfs)",
	  .ops = &obj_ops,
	  .arg = &posix },
	{ .name = "file-mmap",
	  .raw = "limit",
	  .flags = BENCH_SPIN,
	  .kinds = BENCH_RTT | BENCH_TPUT,
	  .desc = "the limit's loop in a mapped regular file on disk (ipk_shm, /var/tmp)",
	  .ops = &obj_ops,
	  .arg = &file },
};

BENCH_DEFINE_MODULE(ref, mechs);
