/* SPDX-License-Identifier: MIT */
/*
 * sem_crash.c - a System V semaphore with SEM_UNDO (IPK_SEM_UNDO) used as
 * a lock, under SIGKILL: 1,000 rounds (or IPK_SYNC_ROUNDS) of crash.h.
 * The kernel must undo every killed holder's wait, so the survivors never
 * deadlock, and the value is 1 again at the end. The semaphore tells
 * nobody about the death: the pending marker does (see crash.h).
 */
#include "crash.h"

static ipk_sem *sem;

static int s_lock(int64_t timeout_ns)
{
	return ipk_sem_wait(sem, timeout_ns);
}

static int s_consistent(void)
{
	return 0;
}

static int s_unlock(void)
{
	return ipk_sem_post(sem);
}

static const struct crash_ops sem_ops = {
	.name = "SEM_UNDO semaphore",
	.tells = false,
	.lock = s_lock,
	.consistent = s_consistent,
	.unlock = s_unlock,
};

int main(void)
{
	struct ipk_sem_ref ref = { .kind = IPK_SEM_SYSV, .key = IPC_PRIVATE, .nsems = 1 };

	T_OK(ipk_sem_create(&ref, 1, 0, IPK_SEM_UNDO, &sem));
	crash_run(&sem_ops, synct_rounds("IPK_SYNC_ROUNDS", 1000));
	T_EQ(ipk_sem_value(sem), 1);
	ipk_sem_free(sem);
	return 0;
}
