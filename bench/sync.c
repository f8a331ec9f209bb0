/* SPDX-License-Identifier: MIT */
/*
 * bench/sync.c - the sync module's rows (mutex.h, sem.h, flock.h): for
 * each primitive (mutex, posix-sem, unnamed-sem, sysv-sem, flock, fcntl,
 * ofd) two rows, round trips only:
 *
 *   PRIM-lock     uncontended lock + unlock in one process: side A takes
 *                 and releases the lock once per "round trip", side B does
 *                 nothing. Size-independent, so only sizes up to 64 bytes.
 *   PRIM-handoff  the lock as a channel between the two processes: the
 *                 message is copied into shared memory under the lock and
 *                 the lock hand-off wakes the peer, which copies it out.
 *                 A round trip is two hand-offs.
 *
 * Semaphores hand off with two semaphores (one per direction, starting at
 * 0): post to send, wait to receive. Locks that have an owner (the mutex,
 * file locks) cannot be released by the peer, so they rotate through
 * three: message k moves lock k mod 3 from sender to receiver. Side A
 * starts holding locks 0 and 2, side B lock 1; each side then always holds
 * the lock the peer will wait for next (k + 1 mod 3) before it releases
 * lock k. File locks are three byte ranges of one file (fcntl, OFD) or
 * three files (flock); their waits block in the kernel (IPK_FOREVER: a
 * timed wait would poll), and the engine kills a side that hangs.
 *
 * No raw twins: these rows measure the primitives themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <ipckit/flock.h>
#include <ipckit/mutex.h>
#include <ipckit/sem.h>

#include "bench.h"

enum prim { P_MUTEX, P_PSEM, P_USEM, P_SYSV, P_FLOCK, P_FCNTL, P_OFD };

struct row {
	enum prim prim;
	bool handoff; /* false: the uncontended lock row */
};

#define NLOCKS 3 /* the rotation of owned locks */
#define NSEMS 2  /* one semaphore per direction */

/* The shared page: in-memory locks, then the message buffer. */
struct page {
	_Alignas(64) unsigned char mutex[NLOCKS][IPK_MUTEX_SIZE];
	_Alignas(64) unsigned char usem[NSEMS][IPK_SEM_SIZE];
	_Alignas(64) unsigned char buf[];
};

struct sync_shared {
	struct page *page;
	size_t len;
	ipk_sem *sem[NSEMS]; /* the supervisor's: removed at destroy */
	char names[NSEMS][64];
	int semid;
	char path[NLOCKS][128]; /* lock files */
	int nfiles;
};

struct sync_end {
	const struct row *row;
	struct sync_shared *sh;
	enum bench_side me;
	uint64_t k; /* messages moved so far, both directions */
	int64_t timeout_ns;
	ipk_mutex *m[NLOCKS];
	ipk_sem *s[NSEMS];
	ipk_flock *fl[NLOCKS];
};

static enum ipk_flock_kind fkind(enum prim p)
{
	return p == P_FLOCK ? IPK_FLOCK_FLOCK : p == P_FCNTL ? IPK_FLOCK_POSIX : IPK_FLOCK_OFD;
}

static bool is_sem(enum prim p)
{
	return p == P_PSEM || p == P_USEM || p == P_SYSV;
}

static int sync_check(const struct bench_env *env)
{
	const struct row *row = env->mech->arg;

	if (env->kind != BENCH_RTT)
		return bench_na(env, "round trips only");
	if (!row->handoff && env->size > 64)
		return bench_na(env, "lock + unlock costs the same at every size: 64 bytes only");
	return 0;
}

static void sync_destroy(const struct bench_env *env, void *shared)
{
	struct sync_shared *sh = shared;

	(void)env;
	if (!sh)
		return;
	for (int i = 0; i < NSEMS; i++)
		ipk_sem_free(sh->sem[i]);
	for (int i = 0; i < sh->nfiles; i++)
		(void)unlink(sh->path[i]);
	if (sh->page)
		munmap(sh->page, sh->len);
	free(sh);
}

static struct ipk_sem_ref sem_ref(struct sync_shared *sh, enum prim p, int i)
{
	struct ipk_sem_ref r = { .kind = IPK_SEM_POSIX, .name = sh->names[i] };

	if (p == P_USEM)
		r = (struct ipk_sem_ref){ .kind = IPK_SEM_UNNAMED, .mem = sh->page->usem[i] };
	else if (p == P_SYSV)
		r = (struct ipk_sem_ref){
			.kind = IPK_SEM_SYSV, .key = IPC_PRIVATE, .id = sh->semid, .nsems = 1
		};
	return r;
}

static int sync_prepare(const struct bench_env *env, void **shared)
{
	const struct row *row = env->mech->arg;
	struct sync_shared *sh = calloc(1, sizeof(*sh));
	unsigned value = row->handoff ? 0 : 1; /* the lock rows: a free lock */
	ipk_mutex *m;
	int r = 0;

	if (!sh)
		return -ENOMEM;
	sh->len = sizeof(struct page) + env->size;
	sh->page = mmap(NULL, sh->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh->page == MAP_FAILED) {
		sh->page = NULL;
		r = bench_neg_errno();
		goto fail;
	}
	switch (row->prim) {
	case P_MUTEX:
		for (int i = 0; i < NLOCKS && !r; i++)
			r = ipk_mutex_init(sh->page->mutex[i], IPK_MUTEX_SIZE, 0, &m);
		break;
	case P_PSEM:
	case P_USEM:
		for (int i = 0; i < NSEMS && !r; i++) {
			struct ipk_sem_ref ref;

			snprintf(sh->names[i], sizeof(sh->names[i]), "/%s-%d", env->tag, i);
			ref = sem_ref(sh, row->prim, i);
			r = ipk_sem_create(&ref, value, 0, IPK_SEM_EXCL, &sh->sem[i]);
		}
		break;
	case P_SYSV:
		for (int i = 0; i < NSEMS && !r; i++) {
			/* two one-semaphore sets: a post wakes only its direction */
			struct ipk_sem_ref ref = { .kind = IPK_SEM_SYSV, .key = IPC_PRIVATE };

			r = ipk_sem_create(&ref, value, 0, 0, &sh->sem[i]);
		}
		break;
	default:
		sh->nfiles = row->prim == P_FLOCK ? NLOCKS : 1;
		for (int i = 0; i < sh->nfiles && !r; i++) {
			ipk_flock *l;

			snprintf(sh->path[i], sizeof(sh->path[i]), "/tmp/%s-%d.lock", env->tag, i);
			r = ipk_flock_open(sh->path[i], fkind(row->prim), 0, IPK_FLOCK_CREATE, &l);
			ipk_flock_free(l);
		}
		break;
	}
	if (r < 0)
		goto fail;
	*shared = sh;
	return 0;
fail:
	sync_destroy(env, sh);
	return r;
}

/* Lock @i of the rotation (or the single lock of a lock row). */
static int take(struct sync_end *e, int i, int64_t timeout)
{
	switch (e->row->prim) {
	case P_MUTEX:
		return ipk_mutex_lock(e->m[i], timeout);
	case P_FLOCK:
		return ipk_flock_lock(e->fl[i], IPK_FLOCK_EXCL, 0, 0, IPK_FOREVER);
	case P_FCNTL:
	case P_OFD:
		return ipk_flock_lock(e->fl[0], IPK_FLOCK_EXCL, i, 1, IPK_FOREVER);
	default:
		return ipk_sem_wait(e->s[i], timeout);
	}
}

static int give(struct sync_end *e, int i)
{
	switch (e->row->prim) {
	case P_MUTEX:
		return ipk_mutex_unlock(e->m[i]);
	case P_FLOCK:
		return ipk_flock_unlock(e->fl[i], 0, 0);
	case P_FCNTL:
	case P_OFD:
		return ipk_flock_unlock(e->fl[0], i, 1);
	default:
		return ipk_sem_post(e->s[i]);
	}
}

static void sync_close(void *end, enum bench_side side)
{
	struct sync_end *e = end;

	(void)side;
	if (!e)
		return;
	for (int i = 0; i < NSEMS; i++)
		ipk_sem_free(e->s[i]);
	for (int i = 0; i < NLOCKS; i++)
		ipk_flock_free(e->fl[i]);
	free(e);
}

static int sync_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const struct row *row = env->mech->arg;
	struct sync_shared *sh = shared;
	struct sync_end *e = calloc(1, sizeof(*e));
	int r = 0;

	if (!e)
		return -ENOMEM;
	e->row = row;
	e->sh = sh;
	e->me = side;
	e->timeout_ns = env->timeout_ns;
	if (row->prim == P_MUTEX) {
		for (int i = 0; i < NLOCKS && !r; i++)
			r = ipk_mutex_attach(sh->page->mutex[i], IPK_MUTEX_SIZE, &e->m[i]);
	} else if (is_sem(row->prim)) {
		for (int i = 0; i < NSEMS && !r; i++) {
			struct ipk_sem_ref ref = sem_ref(sh, row->prim, i);

			if (row->prim == P_SYSV)
				ref.id = ipk_sem_sysv_id(sh->sem[i]);
			r = ipk_sem_open(&ref, 0, &e->s[i]);
		}
	} else {
		for (int i = 0; i < sh->nfiles && !r; i++)
			r = ipk_flock_open(sh->path[i], fkind(row->prim), 0, 0, &e->fl[i]);
	}
	/* The rotation's starting hands: A holds 0 and 2, B holds 1. */
	if (!r && row->handoff && !is_sem(row->prim)) {
		if (side == BENCH_A) {
			r = take(e, 0, 0);
			if (!r)
				r = take(e, 2, 0);
		} else {
			r = take(e, 1, 0);
		}
	}
	if (r < 0) {
		sync_close(e, side);
		return r;
	}
	*end = e;
	return 0;
}

static int sync_send(void *end, const void *buf, size_t len)
{
	struct sync_end *e = end;
	int i;

	if (!e->row->handoff) {
		int r;

		if (e->me != BENCH_A)
			return 0;
		r = take(e, 0, e->timeout_ns);
		if (r < 0)
			return r;
		return give(e, 0);
	}
	memcpy(e->sh->page->buf, buf, len);
	/* semaphores: my direction's; owned locks: lock k of the rotation */
	i = is_sem(e->row->prim) ? (int)e->me : (int)(e->k % NLOCKS);
	e->k++;
	return give(e, i);
}

static int sync_recv(void *end, void *buf, size_t len)
{
	struct sync_end *e = end;
	int i, r;

	if (!e->row->handoff)
		return 0;
	i = is_sem(e->row->prim) ? (int)!e->me : (int)(e->k % NLOCKS);
	e->k++;
	r = take(e, i, e->timeout_ns);
	if (r < 0)
		return r;
	if (r > 0)
		return -EOWNERDEAD; /* the peer died holding it: not a measurement */
	memcpy(buf, e->sh->page->buf, len);
	return 0;
}

static const struct bench_ops ops = {
	.check = sync_check,
	.prepare = sync_prepare,
	.open = sync_open,
	.send = sync_send,
	.recv = sync_recv,
	.close = sync_close,
	.destroy = sync_destroy,
};

#define ROWS(p, pname, what)                                                             \
	{ .name = pname "-lock",                                                         \
	  .kinds = BENCH_RTT,                                                            \
	  .desc = what ": uncontended lock + unlock (side A alone)",                     \
	  .ops = &ops,                                                                   \
	  .arg = &(const struct row){ .prim = (p), .handoff = false } },                 \
	{                                                                                \
		.name = pname "-handoff", .kinds = BENCH_RTT,                            \
		.desc = what ": message copied under the lock, hand-off wakes the peer", \
		.ops = &ops, .arg = &(const struct row)                                  \
		{                                                                        \
			.prim = (p), .handoff = true                                     \
		}                                                                        \
	}

static const struct bench_mech mechs[] = {
	ROWS(P_MUTEX, "mutex", "ipk_mutex, robust pthread mutex in shared memory"),
	ROWS(P_PSEM, "posix-sem", "ipk_sem, POSIX named semaphores"),
	ROWS(P_USEM, "unnamed-sem", "ipk_sem, POSIX unnamed semaphores in shared memory"),
	ROWS(P_SYSV, "sysv-sem", "ipk_sem, System V semaphores"),
	ROWS(P_FLOCK, "flock", "ipk_flock, flock(2)"),
	ROWS(P_FCNTL, "fcntl", "ipk_flock, fcntl(2) record locks"),
	ROWS(P_OFD, "ofd", "ipk_flock, open-file-description locks"),
};

BENCH_DEFINE_MODULE(sync, mechs);
