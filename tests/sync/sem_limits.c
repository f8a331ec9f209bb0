/* SPDX-License-Identifier: MIT */
/*
 * sem_limits.c - the System V semaphore limits behind an error are named
 * by ipk_sem_limit_hint(): SEMMSL (semaphores per set), SEMOPM (operations
 * per semop), SEMMNI (sets) and SEMMNS (semaphores in the system). The
 * test lowers kernel.sem inside a private IPC namespace, so it neither
 * waits for the real limits nor touches anyone else's; without the
 * privilege to make one it skips.
 */
#include <sched.h>

#include "synct.h"

static void set_limits(const char *v)
{
	FILE *f = fopen("/proc/sys/kernel/sem", "w");

	if (!f)
		T_FAIL("/proc/sys/kernel/sem: %s", strerror(errno));
	T_TRUE(fputs(v, f) >= 0);
	T_EQ(fclose(f), 0);
}

static void expect_hint(int err, const struct ipk_sem_ref *ref, const char *limit)
{
	const char *h = ipk_sem_limit_hint(err, ref);

	if (!h || !strstr(h, limit))
		T_FAIL("hint for %s: \"%s\", want %s", ipk_errname(err), h ? h : "(null)", limit);
	fprintf(stderr, "%s: %s\n", ipk_errname(err), h);
}

static int in_namespace(void *arg)
{
	struct ipk_sem_ref ref = { .kind = IPK_SEM_SYSV, .key = IPC_PRIVATE };
	struct ipk_sem_op ops[5] = { { 0, 1 }, { 0, 1 }, { 0, 1 }, { 1, 1 }, { 1, 1 } };
	ipk_sem *sets[4] = { NULL };
	ipk_sem *s = (void *)0x1;

	(void)arg;
	if (unshare(CLONE_NEWIPC) < 0)
		return 77;
	/* SEMMSL SEMMNS SEMOPM SEMMNI */
	set_limits("8 100 4 3");

	ref.nsems = 9;
	T_EQ(ipk_sem_create(&ref, 0, 0, 0, &s), -EINVAL);
	expect_hint(-EINVAL, &ref, "SEMMSL");
	ref.nsems = 8;
	T_OK(ipk_sem_create(&ref, 0, 0, 0, &sets[0]));
	T_EQ(ipk_sem_op(sets[0], ops, 5, 0), -E2BIG);
	expect_hint(-E2BIG, &ref, "SEMOPM");
	T_EQ(ipk_sem_op(sets[0], ops, 4, 0), 0);
	T_EQ(ipk_sem_value_at(sets[0], 0), 3);

	ref.nsems = 1;
	T_OK(ipk_sem_create(&ref, 0, 0, 0, &sets[1]));
	T_OK(ipk_sem_create(&ref, 0, 0, 0, &sets[2]));
	T_EQ(ipk_sem_create(&ref, 0, 0, 0, &s), -ENOSPC);
	expect_hint(-ENOSPC, &ref, "SEMMNI");
	T_TRUE(s == (void *)0x1);
	for (int i = 0; i < 3; i++)
		ipk_sem_free(sets[i]);

	/* SEMMNS: 10 semaphores in all, sets of 8 */
	set_limits("8 10 4 32");
	ref.nsems = 8;
	T_OK(ipk_sem_create(&ref, 0, 0, 0, &sets[0]));
	T_EQ(ipk_sem_create(&ref, 0, 0, 0, &s), -ENOSPC);
	expect_hint(-ENOSPC, &ref, "SEMMNS");
	ipk_sem_free(sets[0]);

	/* errors no limit explains */
	T_TRUE(ipk_sem_limit_hint(-EACCES, &ref) == NULL);
	T_TRUE(ipk_sem_limit_hint(-E2BIG, NULL) == NULL);
	return 0;
}

int main(void)
{
	int st;
	pid_t pid = t_fork(in_namespace, NULL);

	T_SYS(waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		T_SKIP("cannot make an IPC namespace (unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN)");
	T_TRUE(WIFEXITED(st));
	T_EQ(WEXITSTATUS(st), 0);
	return 0;
}
