/* SPDX-License-Identifier: MIT */
/*
 * mutex_crash.c - the robust mutex under SIGKILL: 1,000 rounds (or
 * IPK_SYNC_ROUNDS) of crash.h, each killing a random holder at a random
 * point; every death must come back as IPK_MUTEX_OWNER_DIED to exactly one
 * next holder, who repairs the counter.
 */
#include "crash.h"

static ipk_mutex *mx;

static int m_lock(int64_t timeout_ns)
{
	return ipk_mutex_lock(mx, timeout_ns);
}

static int m_consistent(void)
{
	return ipk_mutex_consistent(mx);
}

static int m_unlock(void)
{
	return ipk_mutex_unlock(mx);
}

static const struct crash_ops mutex_ops = {
	.name = "robust mutex",
	.tells = true,
	.lock = m_lock,
	.consistent = m_consistent,
	.unlock = m_unlock,
};

int main(void)
{
	void *mem;

	synct_need_robust_lists();
	mem = synct_shared(4096);
	T_OK(ipk_mutex_init(mem, 4096, 0, &mx));
	crash_run(&mutex_ops, synct_rounds("IPK_SYNC_ROUNDS", 1000));
	T_EQ(ipk_mutex_destroy(mx), 0);
	return 0;
}
