/* SPDX-License-Identifier: MIT */
/*
 * bench/shmq.c - raw shared-memory queues with pluggable waiting (shmq.h).
 *
 * Region layout, every control word on its own cache line:
 *   line 0..1   sleep[A], sleep[B]: "I am about to block, ring me"
 *   line 2..3   bell[A], bell[B]: futex counters (SHMQ_FUTEX)
 *   queue A->B: head line, tail line, slots
 *   queue B->A: head line, tail line, slots
 * head and tail are free-running 32-bit counters (a slot count far below
 * 2^31 keeps the unsigned differences right).
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "shmq.h"

#define LINE 64

struct queue_ctl {
	_Alignas(LINE) _Atomic uint32_t head; /* producer writes */
	_Alignas(LINE) _Atomic uint32_t tail; /* consumer writes */
};

struct region_ctl {
	_Alignas(LINE) _Atomic uint32_t sleep[2][LINE / 4]; /* [side][0] used */
	_Alignas(LINE) _Atomic uint32_t bell[2][LINE / 4];
};

struct end {
	enum shmq_wait wait;
	enum bench_side me;
	pid_t peer;
	int efd[2];
	struct region_ctl *ctl;
	struct queue_ctl *tx, *rx;
	unsigned char *tx_slots, *rx_slots;
	uint32_t tx_head, tx_tail_seen; /* producer's copies */
	uint32_t rx_tail, rx_head_seen; /* consumer's copies */
	uint32_t slots;
	size_t slot;
	sigset_t sigs;
};

static size_t slot_bytes(size_t size)
{
	return (size + LINE - 1) & ~(size_t)(LINE - 1);
}

/* A round trip needs one slot; a stream about 1 MiB of them. */
static uint32_t slot_count(const struct bench_env *env)
{
	size_t n;

	if (env->kind == BENCH_RTT)
		return 1;
	n = ((size_t)1 << 20) / slot_bytes(env->size);
	return n < 2 ? 2 : n > 256 ? 256 : (uint32_t)n;
}

static size_t queue_bytes(const struct bench_env *env)
{
	return sizeof(struct queue_ctl) + slot_count(env) * slot_bytes(env->size);
}

size_t shmq_region_size(const struct bench_env *env)
{
	size_t n = sizeof(struct region_ctl) + 2 * queue_bytes(env);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

void shmq_init(const struct bench_env *env, void *region)
{
	memset(region, 0, sizeof(struct region_ctl) + 2 * queue_bytes(env));
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	/* Not FUTEX_PRIVATE: the word is shared between two processes. */
	return syscall(SYS_futex, (uint32_t *)word, op, val, NULL, NULL, 0);
}

/* Wake the peer if it said it sleeps. */
static int ring_peer(struct end *e)
{
	enum bench_side p = (enum bench_side) !e->me;
	uint64_t one = 1;

	/* seq_cst: pairs with the peer's seq_cst store of its flag and its
	 * re-check of our counter (Dekker: one of the two sees the other). */
	if (!atomic_exchange(&e->ctl->sleep[p][0], 0))
		return 0;
	switch (e->wait) {
	case SHMQ_FUTEX:
		atomic_fetch_add(&e->ctl->bell[p][0], 1);
		if (futex(&e->ctl->bell[p][0], FUTEX_WAKE, 1) < 0)
			return bench_neg_errno();
		return 0;
	case SHMQ_EVENTFD:
		return write(e->efd[p], &one, sizeof(one)) == sizeof(one) ? 0 : bench_neg_errno();
	case SHMQ_SIGNAL: {
		union sigval v = { .sival_int = (int)e->me };

		return sigqueue(e->peer, SIGRTMIN, v) < 0 ? bench_neg_errno() : 0;
	}
	case SHMQ_SPIN:
		break;
	}
	return 0;
}

/* Block until rung (or a spurious wake: the caller checks again). */
static int block(struct end *e, uint32_t bell)
{
	uint64_t cnt;
	siginfo_t si;

	switch (e->wait) {
	case SHMQ_FUTEX:
		if (futex(&e->ctl->bell[e->me][0], FUTEX_WAIT, bell) < 0 && errno != EAGAIN &&
		    errno != EINTR)
			return bench_neg_errno();
		return 0;
	case SHMQ_EVENTFD:
		if (read(e->efd[e->me], &cnt, sizeof(cnt)) < 0 && errno != EINTR)
			return bench_neg_errno();
		return 0;
	case SHMQ_SIGNAL:
		if (sigwaitinfo(&e->sigs, &si) < 0 && errno != EINTR)
			return bench_neg_errno();
		return 0;
	case SHMQ_SPIN:
		break;
	}
	return 0;
}

/* Waits until *@word differs from @old; returns its new value in *@now. */
static int wait_change(struct end *e, _Atomic uint32_t *word, uint32_t old, uint32_t *now)
{
	unsigned spins = 0;
	int r;

	for (;;) {
		uint32_t bell, v;

		/* Acquire: pairs with the release store that moved the word,
		 * so the slot's bytes (or its emptiness) are seen too. */
		v = atomic_load_explicit(word, memory_order_acquire);
		if (v != old) {
			*now = v;
			return 0;
		}
		if (e->wait == SHMQ_SPIN) {
			bench_spin(&spins);
			continue;
		}
		bell = atomic_load(&e->ctl->bell[e->me][0]);
		atomic_store(&e->ctl->sleep[e->me][0], 1);
		v = atomic_load(word);
		if (v != old) {
			/* Whoever took the flag down has rung or will: a
			 * spurious wake later, harmless. */
			atomic_store(&e->ctl->sleep[e->me][0], 0);
			*now = v;
			return 0;
		}
		if ((r = block(e, bell)) < 0)
			return r;
	}
}

int shmq_send(void *end, const void *buf, size_t len)
{
	struct end *e = end;
	int r;

	while (e->tx_head - e->tx_tail_seen >= e->slots)
		if ((r = wait_change(e, &e->tx->tail, e->tx_tail_seen, &e->tx_tail_seen)) < 0)
			return r;
	memcpy(e->tx_slots + (size_t)(e->tx_head % e->slots) * e->slot, buf, len);
	e->tx_head++;
	if (e->wait == SHMQ_SPIN) {
		/* Release: pairs with the consumer's acquire of head. */
		atomic_store_explicit(&e->tx->head, e->tx_head, memory_order_release);
		return 0;
	}
	atomic_store(&e->tx->head, e->tx_head);
	return ring_peer(e);
}

int shmq_recv(void *end, void *buf, size_t len)
{
	struct end *e = end;
	int r;

	while (e->rx_head_seen == e->rx_tail)
		if ((r = wait_change(e, &e->rx->head, e->rx_tail, &e->rx_head_seen)) < 0)
			return r;
	memcpy(buf, e->rx_slots + (size_t)(e->rx_tail % e->slots) * e->slot, len);
	e->rx_tail++;
	if (e->wait == SHMQ_SPIN) {
		/* Release: the producer may reuse the slot once it sees it. */
		atomic_store_explicit(&e->rx->tail, e->rx_tail, memory_order_release);
		return 0;
	}
	atomic_store(&e->rx->tail, e->rx_tail);
	return ring_peer(e);
}

int shmq_open(const struct bench_env *env, const struct shmq_shared *sh, void *region,
	      enum bench_side side, void **ret)
{
	unsigned char *q0 = (unsigned char *)region + sizeof(struct region_ctl);
	unsigned char *q1 = q0 + queue_bytes(env);
	struct end *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->wait = sh->wait;
	e->me = side;
	e->peer = env->peer;
	e->efd[0] = sh->efd[0];
	e->efd[1] = sh->efd[1];
	e->ctl = region;
	e->slots = slot_count(env);
	e->slot = slot_bytes(env->size);
	e->tx = (struct queue_ctl *)(side == BENCH_A ? q0 : q1);
	e->rx = (struct queue_ctl *)(side == BENCH_A ? q1 : q0);
	e->tx_slots = (unsigned char *)e->tx + sizeof(struct queue_ctl);
	e->rx_slots = (unsigned char *)e->rx + sizeof(struct queue_ctl);
	if (e->wait == SHMQ_SIGNAL) {
		/* Blocked before the engine's open barrier: the peer's first
		 * signal waits queued for sigwaitinfo(). */
		sigemptyset(&e->sigs);
		sigaddset(&e->sigs, SIGRTMIN);
		if (sigprocmask(SIG_BLOCK, &e->sigs, NULL) < 0) {
			int r = bench_neg_errno();

			free(e);
			return r;
		}
	}
	*ret = e;
	return 0;
}

void shmq_close(void *end, enum bench_side side)
{
	(void)side;
	free(end);
}

int shmq_anon_prepare(const struct bench_env *env, void **shared)
{
	const enum shmq_wait *wait = env->mech->arg;
	struct shmq_shared *sh;
	int r, i;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->wait = *wait;
	sh->efd[0] = sh->efd[1] = -1;
	sh->region = mmap(NULL, shmq_region_size(env), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh->region == MAP_FAILED) {
		sh->region = NULL;
		goto fail_errno;
	}
	shmq_init(env, sh->region);
	if (sh->wait == SHMQ_EVENTFD)
		for (i = 0; i < 2; i++)
			if ((sh->efd[i] = eventfd(0, EFD_CLOEXEC)) < 0)
				goto fail_errno;
	*shared = sh;
	return 0;
fail_errno:
	r = bench_neg_errno();
	shmq_anon_destroy(env, sh);
	return r;
}

int shmq_anon_open(const struct bench_env *env, void *shared, enum bench_side side, void **end)
{
	const struct shmq_shared *sh = shared;

	return shmq_open(env, sh, sh->region, side, end);
}

void shmq_anon_destroy(const struct bench_env *env, void *shared)
{
	struct shmq_shared *sh = shared;
	int i;

	if (!sh)
		return;
	if (sh->region)
		munmap(sh->region, shmq_region_size(env));
	for (i = 0; i < 2; i++)
		if (sh->efd[i] >= 0)
			close(sh->efd[i]);
	free(sh);
}
