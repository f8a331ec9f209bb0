/* SPDX-License-Identifier: MIT */
/*
 * mutex.c - ipk_mutex between real processes: mutual exclusion, try and
 * timed locks, the owner checks (-EPERM, -EDEADLK), a holder that dies
 * (IPK_MUTEX_OWNER_DIED, repair, consistent), a repair that never comes
 * (-ENOTRECOVERABLE for everyone until re-initialised), and bad input.
 * `test-sync_mutex pi` runs the same with priority inheritance and skips
 * (77) where the kernel has no PI futexes. The mutex lives in a POSIX
 * ipk_shm object that each child opens and maps at its own address.
 */
#include "synct.h"

#define SIZE 4096
#define PROCS 4
#define INCS 20000

struct shared {
	_Alignas(IPK_MUTEX_ALIGN) unsigned char mutex[IPK_MUTEX_SIZE];
	_Atomic uint32_t step; /* handshakes between parent and child */
	uint64_t counter;      /* plain memory: only the mutex protects it */
};

static char shm_name[64];

/* A child's view: open the object by name, map it, attach to the mutex. */
static struct shared *child_map(ipk_shm **shm, ipk_mutex **m)
{
	struct ipk_shm_ref ref = { .kind = IPK_SHM_POSIX, .name = shm_name };
	struct shared *sh;
	void *base;

	T_OK(ipk_shm_open(&ref, SIZE, 0, shm));
	T_OK(ipk_shm_map(*shm, 0, &base));
	sh = base;
	T_OK(ipk_mutex_attach(sh->mutex, sizeof(sh->mutex), m));
	return sh;
}

static int incrementer(void *arg)
{
	ipk_shm *shm;
	ipk_mutex *m;
	struct shared *sh = child_map(&shm, &m);

	(void)arg;
	for (int i = 0; i < INCS; i++) {
		T_EQ(ipk_mutex_lock(m, IPK_FOREVER), 0);
		sh->counter++; /* a lost update shows in the total */
		T_EQ(ipk_mutex_unlock(m), 0);
	}
	ipk_shm_free(shm);
	return 0;
}

/* Lock, tell the parent, wait for its checks, then do what @arg says:
 * 0 unlock and exit, 1 exit holding it, 2 wait to be killed. */
static int holder(void *arg)
{
	int what = (int)(intptr_t)arg;
	ipk_shm *shm;
	ipk_mutex *m;
	struct shared *sh = child_map(&shm, &m);

	T_EQ(ipk_mutex_lock(m, IPK_FOREVER), 0);
	sh->counter = 1000; /* half-done work the next owner must repair */
	atomic_store_explicit(&sh->step, 1, memory_order_release);
	if (what == 2)
		for (;;)
			pause();
	synct_await(&sh->step, 2);
	if (what == 0)
		T_EQ(ipk_mutex_unlock(m), 0);
	_exit(0); /* what == 1: dies holding it; exit releases nothing */
}

/* Checks made from another process while the parent holds the mutex. */
static int while_parent_holds(void *arg)
{
	ipk_shm *shm;
	ipk_mutex *m;
	int64_t t0;

	(void)arg;
	(void)child_map(&shm, &m);
	T_EQ(ipk_mutex_unlock(m), -EPERM); /* not ours: nothing changes */
	T_EQ(ipk_mutex_trylock(m), -EAGAIN);
	T_EQ(ipk_mutex_lock(m, 0), -EAGAIN);
	t0 = synct_now_ns();
	T_EQ(ipk_mutex_lock(m, 50 * IPK_MSEC), -ETIMEDOUT);
	T_TRUE(synct_now_ns() - t0 >= 50 * IPK_MSEC);
	T_EQ(ipk_mutex_destroy(m), -EBUSY);
	ipk_shm_free(shm);
	return 0;
}

static int expect_notrecoverable(void *arg)
{
	ipk_shm *shm;
	ipk_mutex *m;

	(void)arg;
	(void)child_map(&shm, &m);
	T_EQ(ipk_mutex_lock(m, IPK_FOREVER), -ENOTRECOVERABLE);
	T_EQ(ipk_mutex_lock(m, 10 * IPK_MSEC), -ENOTRECOVERABLE);
	T_EQ(ipk_mutex_trylock(m), -ENOTRECOVERABLE);
	ipk_shm_free(shm);
	return 0;
}

static void bad_input(struct shared *sh)
{
	unsigned char zero[2 * IPK_MUTEX_SIZE] __attribute__((aligned(16))) = { 0 };
	ipk_mutex *m = (void *)0x1;

	T_EQ(ipk_mutex_init(NULL, IPK_MUTEX_SIZE, 0, &m), -EINVAL);
	T_EQ(ipk_mutex_init(sh->mutex, IPK_MUTEX_SIZE - 1, 0, &m), -EINVAL);
	T_EQ(ipk_mutex_init(zero + 4, IPK_MUTEX_SIZE, 0, &m), -EINVAL); /* misaligned */
	T_EQ(ipk_mutex_init(sh->mutex, IPK_MUTEX_SIZE, 0x80, &m), -EINVAL);
	T_EQ(ipk_mutex_init(sh->mutex, IPK_MUTEX_SIZE, 0, NULL), -EINVAL);
	T_EQ(ipk_mutex_attach(zero, sizeof(zero), &m), -EPROTO); /* nothing there */
	T_EQ(ipk_mutex_attach(zero, IPK_MUTEX_SIZE - 8, &m), -EINVAL);
	T_TRUE(m == (void *)0x1); /* outputs only on success */
	T_EQ(ipk_mutex_lock(NULL, 0), -EINVAL);
	T_EQ(ipk_mutex_unlock(NULL), -EINVAL);
	T_EQ(ipk_mutex_consistent(NULL), -EINVAL);
	T_EQ(ipk_mutex_destroy(NULL), -EINVAL);
}

/* A holder exits (or is killed) holding the lock; the next locker is told,
 * repairs, and the mutex goes on working. */
static void owner_died(struct shared *sh, ipk_mutex *m, bool killed)
{
	pid_t pid;
	int r;

	sh->counter = 0;
	atomic_store(&sh->step, 0);
	pid = t_fork(holder, (void *)(intptr_t)(killed ? 2 : 1));
	synct_await(&sh->step, 1);
	if (killed) {
		T_SYS(kill(pid, SIGKILL));
		synct_wait_signal(pid, SIGKILL);
	} else {
		atomic_store(&sh->step, 2);
		t_wait_exit(pid, 0);
	}
	r = ipk_mutex_lock(m, IPK_SEC);
	T_EQ(r, IPK_MUTEX_OWNER_DIED);
	T_EQ(sh->counter, 1000); /* the dead owner's half-done work */
	sh->counter = 0;         /* repaired */
	T_EQ(ipk_mutex_consistent(m), 0);
	T_EQ(ipk_mutex_consistent(m), -EINVAL); /* nothing left to acknowledge */
	T_EQ(ipk_mutex_unlock(m), 0);
	T_EQ(ipk_mutex_lock(m, 0), 0); /* plain again */
	T_EQ(ipk_mutex_unlock(m), 0);
}

/* A waiter already blocked in lock() is the one told. */
static int blocked_waiter(void *arg)
{
	ipk_shm *shm;
	ipk_mutex *m;
	struct shared *sh = child_map(&shm, &m);

	(void)arg;
	atomic_store_explicit(&sh->step, 3, memory_order_release);
	T_EQ(ipk_mutex_lock(m, 10 * IPK_SEC), IPK_MUTEX_OWNER_DIED);
	sh->counter = 7;
	T_EQ(ipk_mutex_consistent(m), 0);
	T_EQ(ipk_mutex_unlock(m), 0);
	ipk_shm_free(shm);
	return 0;
}

static void waiter_told(struct shared *sh, ipk_mutex *m)
{
	pid_t h, w;
	int r;

	atomic_store(&sh->step, 0);
	h = t_fork(holder, (void *)2);
	synct_await(&sh->step, 1);
	w = t_fork(blocked_waiter, NULL);
	synct_await(&sh->step, 3);
	synct_await_asleep(w); /* blocked in the lock */
	T_SYS(kill(h, SIGKILL));
	synct_wait_signal(h, SIGKILL);
	t_wait_exit(w, 0);
	r = ipk_mutex_lock(m, IPK_SEC);
	T_EQ(r, 0);
	T_EQ(sh->counter, 7);
	T_EQ(ipk_mutex_unlock(m), 0);
}

/* Nobody repairs: everyone gets -ENOTRECOVERABLE until re-initialised. */
static void not_recovered(struct shared *sh, ipk_mutex **m, unsigned flags)
{
	pid_t pid;
	int r;

	atomic_store(&sh->step, 0);
	pid = t_fork(holder, (void *)1);
	synct_await(&sh->step, 1);
	atomic_store(&sh->step, 2);
	t_wait_exit(pid, 0);
	r = ipk_mutex_lock(*m, IPK_SEC);
	T_EQ(r, IPK_MUTEX_OWNER_DIED);
	/* The careless unlock is reported, and poisons the mutex. */
	T_EQ(ipk_mutex_unlock(*m), -ENOTRECOVERABLE);
	T_EQ(ipk_mutex_lock(*m, IPK_FOREVER), -ENOTRECOVERABLE);
	t_wait_exit(t_fork(expect_notrecoverable, NULL), 0);
	T_EQ(ipk_mutex_unlock(*m), -EPERM);
	/* The way out: destroy, repair, initialise again. */
	T_EQ(ipk_mutex_destroy(*m), 0);
	T_EQ(ipk_mutex_attach(sh->mutex, sizeof(sh->mutex), m), -EPROTO);
	T_OK(ipk_mutex_init(sh->mutex, sizeof(sh->mutex), flags, m));
	T_EQ(ipk_mutex_lock(*m, 0), 0);
	T_EQ(ipk_mutex_unlock(*m), 0);
}

static void owner_checks(struct shared *sh, ipk_mutex *m)
{
	T_EQ(ipk_mutex_unlock(m), -EPERM); /* not held by anyone */
	T_EQ(ipk_mutex_consistent(m), -EINVAL);
	T_EQ(ipk_mutex_lock(m, IPK_FOREVER), 0);
	T_EQ(ipk_mutex_lock(m, IPK_FOREVER), -EDEADLK);
	T_EQ(ipk_mutex_lock(m, 10 * IPK_MSEC), -EDEADLK);
	T_EQ(ipk_mutex_trylock(m), -EDEADLK);
	T_EQ(ipk_mutex_destroy(m), -EBUSY);
	t_wait_exit(t_fork(while_parent_holds, NULL), 0);
	T_EQ(ipk_mutex_unlock(m), 0);
	T_EQ(ipk_mutex_unlock(m), -EPERM);
	(void)sh;
}

static void exclusion(struct shared *sh)
{
	pid_t pids[PROCS];

	sh->counter = 0;
	for (int i = 0; i < PROCS; i++)
		pids[i] = t_fork(incrementer, NULL);
	for (int i = 0; i < PROCS; i++)
		t_wait_exit(pids[i], 0);
	T_EQ(sh->counter, (uint64_t)PROCS * INCS);
}

static void run(unsigned flags)
{
	struct ipk_shm_ref ref = { .kind = IPK_SHM_POSIX, .name = shm_name };
	struct shared *sh;
	ipk_mutex *m, *again;
	ipk_shm *shm;
	void *base;
	int r;

	synct_need_robust_lists();
	snprintf(shm_name, sizeof(shm_name), "/ipk-mutex-%d", (int)getpid());
	T_OK(ipk_shm_create(&ref, SIZE, 0, IPK_SHM_EXCL, &shm));
	T_OK(ipk_shm_map(shm, 0, &base));
	sh = base;
	r = ipk_mutex_init(sh->mutex, sizeof(sh->mutex), flags, &m);
	if (r == -EOPNOTSUPP && (flags & IPK_MUTEX_PI)) {
		ipk_shm_free(shm);
		T_SKIP("no priority-inheritance futexes here: ipk_mutex_init(IPK_MUTEX_PI) is "
		       "-EOPNOTSUPP");
	}
	T_EQ(r, 0);
	T_TRUE((void *)m == (void *)sh->mutex);
	T_OK(ipk_mutex_attach(sh->mutex, sizeof(sh->mutex), &again));
	T_TRUE(again == m);

	if (!flags)
		bad_input(sh);
	owner_checks(sh, m);
	exclusion(sh);
	owner_died(sh, m, false);
	owner_died(sh, m, true);
	waiter_told(sh, m);
	not_recovered(sh, &m, flags);
	T_EQ(ipk_mutex_destroy(m), 0);
	ipk_shm_free(shm);
}

/* `test-sync_mutex pi`: the same with IPK_MUTEX_PI, a skip without PI futexes. */
int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "pi"))
		run(IPK_MUTEX_PI);
	else if (argc == 1)
		run(0);
	else
		T_FAIL("usage: %s [pi]", argv[0]);
	printf("ok\n");
	return 0;
}
