/* SPDX-License-Identifier: MIT */
/*
 * tests/notify/sig_limit.c - a full signal queue (RLIMIT_SIGPENDING) is
 * -EAGAIN at the sender, and ipk_sig_limit_hint() names the limit.
 */
#include <signal.h>
#include <sys/resource.h>

#include "../harness.h"

#define LIMIT 8

/* The receiver is this child itself: its own RLIMIT_SIGPENDING is the one
 * the kernel checks when a signal is queued to it. */
static int fill(void *arg)
{
	struct rlimit rl = { LIMIT, LIMIT };
	const char *hint;
	sigset_t set;
	int i, r = 0;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	T_OK(ipk_sig_block(&set));
	T_SYS(setrlimit(RLIMIT_SIGPENDING, &rl));
	for (i = 0; i < 100000; i++) {
		r = ipk_sig_send(getpid(), SIGRTMIN, i);
		if (r < 0)
			break;
	}
	T_EQ(r, -EAGAIN);
	/* The user's other pending signals count too: at most LIMIT fit. */
	T_TRUE(i <= LIMIT);
	hint = ipk_sig_limit_hint(r);
	T_TRUE(hint && strstr(hint, "RLIMIT_SIGPENDING"));
	T_TRUE(strstr(hint, "ulimit -i"));
	T_EQ(ipk_sig_limit_hint(-ESRCH) == NULL, 1);
	printf("queued %d, then %s: limit: %s\n", i, ipk_errname(r), hint);
	fflush(stdout);
	return 0;
}

int main(void)
{
	t_wait_exit(t_fork(fill, NULL), 0);
	return 0;
}
